"""Oxigraph backend: the TripleStore conformance suite plus store-specific behaviour."""

from __future__ import annotations

from pathlib import Path

import pytest

from kg.errors import ConfigError, QueryError, StoreError, UnknownComponentError
from kg.stores import TRIPLE_STORES, triple_store
from kg.stores.oxigraph import OxigraphStore

try:  # tests may or may not be a package, depending on how pytest is configured
    from .conformance import TripleStoreContract, sample_view
except ImportError:
    from conformance import TripleStoreContract, sample_view


@pytest.fixture(params=["disk", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, open OxigraphStore on disk or in memory."""
    path = tmp_path / "oxigraph" if request.param == "disk" else None
    with OxigraphStore(path) as opened:
        yield opened


class TestOxigraphConformance(TripleStoreContract):
    """Every TripleStore contract test, against Oxigraph."""


def test_registry_builds_oxigraph(tmp_path: Path) -> None:
    store = triple_store("oxigraph", path=tmp_path / "ox", base_iri="http://example.com/kg/")
    assert isinstance(store, OxigraphStore)
    assert store.mapping.entity("a b").value == "http://example.com/kg/entity/a%20b"
    assert not (tmp_path / "ox").exists()  # constructors do no I/O


def test_registry_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(UnknownComponentError) as info:
        triple_store("fuseki-typo")
    assert "oxigraph" in str(info.value)
    assert set(TRIPLE_STORES) <= set(str(info.value).replace(",", " ").split())


def test_bad_base_iri_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="base IRI"):
        OxigraphStore(None, base_iri="not an iri")


def test_content_survives_reopen_and_read_only(tmp_path: Path) -> None:
    path = tmp_path / "ox"
    with OxigraphStore(path) as store:
        store.load(sample_view())
    with OxigraphStore(path, read_only=True) as reader:
        assert reader.counts()["facts"] == 5
        with pytest.raises(StoreError, match="read_only"):
            reader.upsert(sample_view())
        with pytest.raises(QueryError, match="write=True"):
            reader.query("CLEAR ALL")


def test_update_runs_with_write_flag() -> None:
    with OxigraphStore() as store:
        store.load(sample_view())
        store.query(
            "PREFIX kg: <https://kg.example.org/vocab/> DELETE WHERE { ?d a kg:Document ; ?p ?o }", write=True
        )
        assert store.counts()["documents"] == 0
        assert store.counts()["entities"] == 6


@pytest.mark.parametrize(
    "text",
    [
        "INSERT DATA { <http://a> <http://b> <http://c> }",
        "PREFIX ex: <http://ex/>\n# SELECT in a comment\nDELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "  load <http://example.com/data.ttl>",
        "WITH <http://g> DELETE { ?s ?p ?o } WHERE { ?s ?p ?o }",
        "CLEAR DEFAULT",
    ],
)
def test_updates_are_refused_without_write(text: str) -> None:
    with OxigraphStore() as store:
        store.load(sample_view())
        with pytest.raises(QueryError, match="UPDATE"):
            store.query(text)
        assert store.counts()["entities"] == 6


def test_ask_and_construct_results() -> None:
    with OxigraphStore() as store:
        store.load(sample_view())
        assert store.query("ASK { ?s ?p ?o }").rows == [(True,)]
        result = store.query(
            "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
            "CONSTRUCT { ?e rdfs:label ?l } WHERE { ?e rdfs:label ?l FILTER(?l = '长安'@zh) }"
        )
        assert result.columns == ["subject", "predicate", "object"]
        assert result.rows == [
            (store.mapping.entity("changan").value, "http://www.w3.org/2000/01/rdf-schema#label", "长安")
        ]


def test_parameter_must_be_projected() -> None:
    with OxigraphStore() as store, pytest.raises(QueryError, match="SELECT"):
        store.query("SELECT ?s WHERE { ?s ?p ?o FILTER(?o = ?v) }", {"v": "x"})


def test_unsupported_parameter_type() -> None:
    with OxigraphStore() as store, pytest.raises(QueryError, match="cannot bind"):
        store.query("SELECT ?v WHERE { ?s ?p ?v }", {"v": object()})


def test_typed_values_come_back_as_python() -> None:
    with OxigraphStore() as store:
        store.load(sample_view())
        rows = store.query(
            "PREFIX kg: <https://kg.example.org/vocab/> "
            "SELECT ?c ?n ?open WHERE { "
            "?f kg:confidence ?c ; kg:evidenceCount ?n ; kg:open ?open ; kg:source 'inferred' }"
        ).rows
        assert rows == [(0.4, 0, False)]
