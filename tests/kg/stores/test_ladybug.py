"""LadybugDB backend: the GraphStore conformance suite plus engine-specific behaviour."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from kg.errors import QueryError, StoreError, UnknownComponentError
from kg.graph import GraphView
from kg.stores import graph_store
from kg.stores.ladybug import LadybugStore

try:  # tests may or may not be a package, depending on how pytest is configured
    from .conformance import GraphStoreContract, sample_view
except ImportError:
    from conformance import GraphStoreContract, sample_view


@pytest.fixture(params=["disk", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path):
    """A fresh, open LadybugStore on disk or in memory."""
    path = tmp_path / "graph.lbdb" if request.param == "disk" else None
    with LadybugStore(path) as opened:
        yield opened


class TestLadybugConformance(GraphStoreContract):
    """Every GraphStore contract test, against LadybugDB."""


def test_registry_builds_ladybug(tmp_path: Path) -> None:
    store = graph_store("ladybug", path=tmp_path / "g.lbdb")
    assert isinstance(store, LadybugStore)
    assert not store.is_open
    assert not (tmp_path / "g.lbdb").exists()  # constructors do no I/O
    assert graph_store(store) is store
    assert isinstance(graph_store(LadybugStore), LadybugStore)


def test_registry_unknown_name_lists_valid_ones() -> None:
    with pytest.raises(UnknownComponentError, match="ladybug"):
        graph_store("neo5j")


def test_content_survives_reopen(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "graph.lbdb"
    with LadybugStore(path) as store:
        store.load(sample_view())
    with LadybugStore(path) as store:
        assert store.counts()["facts"] == 5


def test_read_only_store_reads_and_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "graph.lbdb"
    with LadybugStore(path) as store:
        store.load(sample_view())
    with LadybugStore(path, read_only=True) as reader, LadybugStore(path, read_only=True) as second:
        assert reader.counts()["entities"] == 6
        assert second.query("MATCH (e:Entity {id: $id}) RETURN e.name", {"id": "ada"}).rows == [
            ("Ada Lovelace",)
        ]
        with pytest.raises(StoreError, match="read_only"):
            reader.load(sample_view())
        with pytest.raises(StoreError, match="read_only"):
            reader.query("MATCH (n) DETACH DELETE n", write=True)
        with pytest.raises(QueryError, match="write=True"):
            reader.query("MATCH (n) DETACH DELETE n")


def test_read_only_needs_an_existing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="kg sync"):
        LadybugStore(tmp_path / "missing.lbdb", read_only=True).open()


@pytest.mark.parametrize(
    "statement",
    [
        "COPY (MATCH (e:Entity) RETURN e.name) TO '{out}'",
        "EXPORT DATABASE '{out}'",
        "MATCH (e:Entity) RETURN e.name; COMMIT; MATCH (n) DETACH DELETE n",
        "/* hidden */ COPY Entity FROM '{out}'",
        "INSTALL json",
        "LOAD EXTENSION json",
        "CREATE NODE TABLE X(id STRING, PRIMARY KEY (id))",
    ],
)
def test_read_queries_refuse_side_effects(tmp_path: Path, statement: str) -> None:
    out = tmp_path / "out.csv"
    with LadybugStore(tmp_path / "g.lbdb") as store:
        store.load(sample_view())
        with pytest.raises(QueryError, match="write=True"):
            store.query(statement.replace("{out}", str(out)))
        assert not out.exists()
        assert store.counts()["entities"] == 6


def test_keywords_inside_strings_are_not_side_effects(tmp_path: Path) -> None:
    with LadybugStore(None) as store:
        store.load(sample_view())
        rows = store.query("MATCH (e:Entity) WHERE e.name <> 'x; COPY y; COMMIT' RETURN count(e)").rows
        assert rows == [(6,)]
        assert store.query(
            "LOAD FROM $t RETURN count(*)", {"t": sample_view().entities.select(["id"])}
        ).rows == [(6,)]


def test_write_query_with_parameters(tmp_path: Path) -> None:
    with LadybugStore(None) as store:
        store.load(sample_view())
        store.query(
            "MATCH (e:Entity {id: $id}) SET e.description = $text",
            {"id": "ada", "text": "} ; DROP ALL"},
            write=True,
        )
        rows = store.query("MATCH (e:Entity {id: 'ada'}) RETURN e.description").rows
        assert rows == [("} ; DROP ALL",)]


def test_unknown_property_names_what_to_check() -> None:
    with LadybugStore(None) as store, pytest.raises(QueryError, match="check names"):
        store.query("MATCH (e:Entity) RETURN e.nope")


def test_evidence_is_linked_to_documents_and_subjects() -> None:
    with LadybugStore(None) as store:
        store.load(sample_view())
        rows = store.query(
            "MATCH (s:Entity)-[r:RELATION]->(o:Entity), "
            "(s)<-[:ABOUT]-(v:Evidence)-[:FROM_DOCUMENT]->(d:Document) "
            "WHERE v.fact_id = r.id RETURN r.id, d.id, v.start_char, v.end_char ORDER BY r.id, d.id"
        ).rows
        assert [row[:2] for row in rows] == [
            ("f1", "d1"),
            ("f1", "d2"),
            ("f2", "d1"),
            ("f3", "d3"),
            ("f5", "d2"),
        ]
        assert rows[0][2:] == (0, len("Ada Lovelace worked with Charles Babbage."))
        mentions = store.query(
            "MATCH (e:Entity)-[m:MENTIONED_IN]->(d:Document {id: 'd3'}) RETURN e.name, m.start_char "
            "ORDER BY m.start_char"
        ).rows
        assert mentions == [("李白", 0), ("长安", 6)]
        assert store.counts()["mentions"] == 4  # the unresolved mention is not a relationship


def test_failed_load_rolls_back(monkeypatch: pytest.MonkeyPatch) -> None:
    with LadybugStore(None) as store:
        store.load(sample_view())
        original = store._run

        def failing(text: str, params: dict | None = None):
            if text.startswith("COPY Evidence"):
                raise StoreError("simulated failure")
            return original(text, params)

        monkeypatch.setattr(store, "_run", failing)
        with pytest.raises(StoreError, match="simulated"):
            store.load(sample_view())
        monkeypatch.undo()
        assert store.counts()["facts"] == 5
        assert store.counts()["evidence"] == 5


def test_upsert_in_small_batches_matches_load() -> None:
    with LadybugStore(None) as loaded, LadybugStore(None, batch_size=2) as upserted:
        loaded.load(sample_view())
        upserted.upsert(sample_view())
        assert loaded.counts() == upserted.counts()
        query = "MATCH (a)-[r]->(b) RETURN label(r), count(*) ORDER BY label(r)"
        assert loaded.query(query).rows == upserted.query(query).rows


def test_empty_view_upsert_is_noop() -> None:
    with LadybugStore(None) as store:
        store.load(sample_view())
        store.upsert(GraphView.empty())
        assert store.counts()["entities"] == 6


def test_repeated_mention_rows_are_one_relationship() -> None:
    view = sample_view()
    doubled = GraphView(
        documents=view.documents,
        entities=view.entities,
        facts=view.facts,
        evidence=view.evidence,
        mentions=pa.concat_tables([view.mentions, view.mentions]),
    )
    with LadybugStore(None) as loaded, LadybugStore(None) as upserted:
        loaded.load(doubled)
        upserted.upsert(doubled)
        assert loaded.counts()["mentions"] == upserted.counts()["mentions"] == 4
