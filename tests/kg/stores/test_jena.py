"""Apache Jena TDB2 backend: the TripleStore conformance suite through Jena's tools, plus set-up errors.

Needs Debian's ``libapache-jena-java`` (the ``jena`` fixture in tests/servers/jena.py skips, with the
reason, when it is missing). Every store call starts a JVM, so this file is slower than the others.
"""

from __future__ import annotations

import subprocess
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kg.errors import QueryError, StoreError
from kg.stores import triple_store
from kg.stores.jena import JenaStore, JenaTools, find_jena

try:  # tests may or may not be a package, depending on how pytest is configured
    from .conformance import TripleStoreContract, nasty_view, sample_view
    from .test_sparql_endpoint import PARITY_QUERIES, assert_same_answers, check_library_queries
except ImportError:
    from conformance import TripleStoreContract, nasty_view, sample_view
    from test_sparql_endpoint import PARITY_QUERIES, assert_same_answers, check_library_queries

server = pytest.mark.server


def _store(jena: JenaTools, path: Path, **settings: Any) -> JenaStore:
    return JenaStore(path, jena_jars=str(jena.jars), java=jena.java, **settings)


@pytest.fixture
def store(jena: JenaTools, tmp_path: Path) -> Iterator[JenaStore]:
    """A fresh, open JenaStore in a temporary TDB2 folder."""
    with _store(jena, tmp_path / "tdb2") as opened:
        yield opened


@server
class TestJenaConformance(TripleStoreContract):
    """Every TripleStore contract test, against Jena TDB2."""


@server
@pytest.mark.parametrize(("case", "text", "params"), PARITY_QUERIES, ids=[c[0] for c in PARITY_QUERIES])
def test_same_answers_as_oxigraph(store: JenaStore, case: str, text: str, params: dict) -> None:
    store.load(sample_view())
    assert_same_answers(store, text, params)


@server
def test_library_queries_give_oxigraph_answers(store: JenaStore) -> None:
    check_library_queries(store)


@server
def test_one_jvm_per_upsert_and_retract(store: JenaStore, monkeypatch: pytest.MonkeyPatch) -> None:
    store.load(sample_view())
    calls: list[str] = []
    original = JenaTools.run

    def counting(self: JenaTools, main: str, *args: str, **kwargs: Any) -> subprocess.CompletedProcess:
        calls.append(main)
        return original(self, main, *args, **kwargs)

    monkeypatch.setattr(JenaTools, "run", counting)
    store.upsert(nasty_view())  # a complete view: no lookups, one update
    store.retract_documents(["d1", "d2", "dn"])
    assert calls == ["tdb2.tdbupdate", "tdb2.tdbupdate"]


@server
def test_content_survives_reopen_and_read_only(jena: JenaTools, tmp_path: Path) -> None:
    path = tmp_path / "tdb2"
    with _store(jena, path) as writer:
        writer.load(sample_view())
    with _store(jena, path, read_only=True) as reader:
        assert reader.counts()["facts"] == 5
        with pytest.raises(StoreError, match="read_only"):
            reader.upsert(sample_view())
        with pytest.raises(QueryError, match="write=True"):
            reader.query("CLEAR ALL")


@server
def test_update_syntax_error_is_one_line(store: JenaStore) -> None:
    with pytest.raises(QueryError, match=r"SPARQL syntax error: .*fix the update") as info:
        store.query("INSERT DATA { <urn:a> ", write=True)
    assert "\n" not in str(info.value)


@server
def test_ill_typed_literal_needs_the_xerces_messages(store: JenaStore, jena: JenaTools) -> None:
    # Jena reports an ill-typed xsd:integer through Xerces' message bundles, which Debian misplaces.
    ill_typed = '"abc"^^<http://www.w3.org/2001/XMLSchema#integer>'
    store.query(f"INSERT DATA {{ <urn:a> <urn:p> {ill_typed} }}", write=True)
    assert store.query("SELECT ?o WHERE { <urn:a> <urn:p> ?o }").rows == [("abc",)]
    fix = jena.classpath[-1]
    assert fix.parent == jena.cache
    with zipfile.ZipFile(fix) as jar:
        assert "xerces/impl/msg/XMLSchemaMessages.properties" in jar.namelist()


def test_classpath_lists_jars_one_by_one(jena: JenaTools) -> None:
    names = [path.name for path in jena.classpath]
    assert all(name.endswith(".jar") and "*" not in name for name in names)
    bindings = ("slf4j-simple", "slf4j-jdk14", "slf4j-nop", "slf4j-log4j", "log4j-slf4j")
    assert sum(name.startswith(bindings) for name in names) == 1  # several bindings conflict
    modules = ("jena-arq", "jena-tdb2", "jena-cmds")
    assert all(any(name.startswith(module) for name in names) for module in modules)


def test_missing_jena_says_how_to_install(tmp_path: Path) -> None:
    for jars in (tmp_path / "nowhere", tmp_path):
        store = JenaStore(tmp_path / "tdb2", jena_jars=str(jars))
        with pytest.raises(StoreError, match=r"apt-get install libapache-jena-java.*\[jena\] jena_jars"):
            store.open()
        assert not store.is_open
    assert not (tmp_path / "tdb2").exists()


def test_missing_java_names_the_setting(jena: JenaTools, tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"no Java runtime.*\[jena\] java"):
        JenaStore(tmp_path / "tdb2", jena_jars=str(jena.jars), java=str(tmp_path / "no-java")).open()


def test_folder_that_is_not_a_database_is_refused(jena: JenaTools, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(StoreError, match="not a Jena TDB2 database"):
        _store(jena, tmp_path).open()
    with pytest.raises(StoreError, match="no Jena TDB2 database"):
        _store(jena, tmp_path / "absent", read_only=True).open()
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_registry_builds_jena_without_io(tmp_path: Path) -> None:
    store = triple_store("jena", path=tmp_path / "tdb2", base_iri="http://example.com/kg/")
    assert isinstance(store, JenaStore) and not store.is_open
    assert store.mapping.entity("a b").value == "http://example.com/kg/entity/a%20b"
    assert not (tmp_path / "tdb2").exists()  # constructors do no I/O


def test_find_jena_is_cached(jena: JenaTools) -> None:
    assert find_jena(jena.jars, jena.java) is find_jena(str(jena.jars), jena.java)
