"""Neo4j backend: the GraphStore conformance suite over Bolt, plus connection and safety behaviour.

The server is ArcadeDB with its Neo4j-compatible Bolt plugin (``arcadedb`` fixture in
tests/servers/arcadedb.py): no Neo4j server can be installed on the test machines. The store's code
follows Neo4j 5; where ArcadeDB 26.10 behaves differently the test says so:

* ArcadeDB accepts a READ access mode but runs writes anyway, so the store checks read queries for
  write clauses itself on such servers (real Neo4j refuses with ``Neo.ClientError.Statement.AccessMode``,
  which the store turns into the same QueryError).
* ArcadeDB announces itself as ``Neo4j/5.26.0 compatible (ArcadeDB …)``; that is how the store tells it
  from Neo4j (``enforces_read_transactions``).
* ArcadeDB's element ids look like ``#1:0``; Neo4j's like ``4:…:0``. Tests never compare them to text.
* ArcadeDB accepts the Neo4j 5 ``CREATE CONSTRAINT … IF NOT EXISTS`` and ``CREATE INDEX … IF NOT EXISTS``
  statements (node and relationship indexes) and lists them in ``SHOW CONSTRAINTS``; if a future
  version did not, the store goes on without them (see ``test_schema_statements_tolerated``).
"""

from __future__ import annotations

import datetime as dt

import pytest

from kg.errors import QueryError, StoreError
from kg.graph import GraphView
from kg.stores import graph_store
from kg.stores.neo4j import Neo4jStore, enforces_read_transactions, to_python

try:  # tests may or may not be a package, depending on how pytest is configured
    from .conformance import NASTY, GraphStoreContract, nasty_view, sample_view
except ImportError:
    from conformance import NASTY, GraphStoreContract, nasty_view, sample_view

pytest.importorskip("neo4j", reason="pip install 'kg[server]' for the Neo4j driver")

server = pytest.mark.server


@pytest.fixture
def store(arcadedb, arcadedb_database):
    """A fresh, open Neo4jStore on an empty ArcadeDB database (tiny batches exercise batching)."""
    with Neo4jStore(**arcadedb.settings(arcadedb_database, batch_size=3)) as opened:
        yield opened


@server
class TestNeo4jConformance(GraphStoreContract):
    """Every GraphStore contract test, against a Bolt server."""


# -- unit tests (no server) --------------------------------------------------------------------------


def test_registry_builds_neo4j_without_connecting() -> None:
    store = graph_store("neo4j", uri="bolt://127.0.0.1:1", password="x")
    assert isinstance(store, Neo4jStore)
    assert not store.is_open  # constructors do no I/O: nothing listens on port 1
    assert repr(store) == "<Neo4jStore bolt://127.0.0.1:1 closed>"


def test_constructor_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        Neo4jStore(batch_size=0)
    with pytest.raises(ValueError, match="timeout"):
        Neo4jStore(timeout=0)


@pytest.mark.parametrize(
    ("agent", "enforces"),
    [
        ("Neo4j/5.26.0", True),
        ("Neo4j/5.13-aura", True),
        ("Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)", False),
        ("Neo4j/v5.11.0 compatible graph database server - Memgraph", False),
        ("", False),
    ],
)
def test_which_servers_enforce_read_transactions(agent: str, enforces: bool) -> None:
    assert enforces_read_transactions(agent) is enforces


def test_invalid_uri_is_store_error() -> None:
    with pytest.raises(StoreError, match=r"\[neo4j\] uri"):
        Neo4jStore("http://127.0.0.1:7474").open()
    with pytest.raises(StoreError, match=r"\[neo4j\] uri"):
        Neo4jStore("bolt://127.0.0.1:notaport").open()


def test_server_down_says_how_to_fix() -> None:
    from tests.servers.arcadedb import free_port

    uri = f"bolt://127.0.0.1:{free_port()}"
    store = Neo4jStore(uri, password="x", timeout=5)
    with pytest.raises(StoreError) as info:
        store.open()
    message = str(info.value)
    assert f"cannot reach Neo4j at {uri}" in message
    assert "start it or fix [neo4j] uri in kg.toml" in message
    assert "\n" not in message
    assert not store.is_open


def test_values_convert_to_plain_python() -> None:
    from neo4j import time as ntime

    assert to_python([1, {"a": ntime.Date(2020, 1, 2)}]) == [1, {"a": dt.date(2020, 1, 2)}]
    assert to_python(ntime.Duration(days=1, seconds=2)) == dt.timedelta(days=1, seconds=2)
    assert to_python(ntime.Duration(months=1)) == "P1M"


# -- against the server ------------------------------------------------------------------------------


@server
def test_wrong_password_names_user_and_fix(arcadedb) -> None:
    store = Neo4jStore(**arcadedb.settings(password="not-the-password"))
    with pytest.raises(StoreError) as info:
        store.open()
    message = str(info.value)
    assert repr(arcadedb.user) in message
    assert "[neo4j] user/password" in message and "KG_NEO4J_PASSWORD" in message
    assert not store.is_open


@server
def test_unknown_database_says_how_to_fix(arcadedb) -> None:
    with pytest.raises(StoreError, match=r"no database 'nope'.*\[neo4j\] database"):
        Neo4jStore(**arcadedb.settings("nope")).open()


@server
def test_server_agent_is_recorded(store: Neo4jStore) -> None:
    # ArcadeDB: "Neo4j/5.26.0 compatible (ArcadeDB 26.10.2)"; Neo4j 5: "Neo4j/5.x.y".
    assert store.server_agent.startswith("Neo4j/")


@server
@pytest.mark.parametrize(
    "statement",
    [
        "MATCH (n) DETACH DELETE n",
        "MATCH (e:Entity {id: 'ada'}) SET e.name = 'x'",
        "MATCH (e:Entity) WITH e LIMIT 1 REMOVE e.name",
        "MERGE (x:Entity {id: 'new'})",
        "CREATE (x:Entity {id: 'new'})",
        "MATCH (e:Entity) FOREACH (i IN [1] | CREATE (:Entity {id: 'y'}))",
        "UNWIND [1] AS i CALL { CREATE (:Entity {id: 'z'}) } RETURN i",
        "DROP CONSTRAINT kg_entity_id",
        "/* hidden */ match (n) detach delete n",
        "MATCH (e:Entity) RETURN e.name; MATCH (n) DETACH DELETE n",
        "LOAD CSV FROM 'file:///etc/passwd' AS line RETURN line",
        "CALL db.createLabel('X')",
        "CALL `db`.`createLabel`('X')",
    ],
)
def test_read_queries_refuse_writes(store: Neo4jStore, statement: str) -> None:
    # ArcadeDB runs writes in READ transactions, so this is the store's own check; Neo4j 5 would
    # also refuse them itself (Neo.ClientError.Statement.AccessMode -> the same QueryError).
    store.load(sample_view())
    before = (store.counts(), store.query("MATCH (e:Entity {id: 'ada'}) RETURN e.name").rows)
    with pytest.raises(QueryError, match="write=True"):
        store.query(statement)
    assert (store.counts(), store.query("MATCH (e:Entity {id: 'ada'}) RETURN e.name").rows) == before


@server
def test_keywords_in_strings_names_and_properties_are_reads(store: Neo4jStore) -> None:
    store.load(sample_view())
    rows = store.query(
        "MATCH (e:Entity) WHERE e.name <> 'x; DETACH DELETE y; SET z' AND e.id <> $set "
        "// DELETE in a comment\nRETURN count(e) AS `delete`",
        {"set": "nobody"},
    ).rows
    assert rows == [(6,)]
    query = "MATCH (e:Entity) RETURN {set: e.id, create: 1}.set AS id ORDER BY id LIMIT 1"
    assert store.query(query).rows == [("ada",)]
    assert store.query("UNWIND [1, 2] AS x CALL { WITH x RETURN x * 2 AS y } RETURN sum(y)").rows == [(6,)]


@server
def test_read_only_store_reads_and_refuses_writes(arcadedb, arcadedb_database) -> None:
    with Neo4jStore(**arcadedb.settings(arcadedb_database)) as writer:
        writer.load(sample_view())
    with Neo4jStore(**arcadedb.settings(arcadedb_database, read_only=True)) as reader:
        assert reader.counts()["entities"] == 6
        for action in (
            lambda: reader.load(sample_view()),
            lambda: reader.upsert(sample_view()),
            lambda: reader.retract_documents(["d1"]),
            lambda: reader.query("MATCH (n) DETACH DELETE n", write=True),
        ):
            with pytest.raises(StoreError, match="read_only"):
                action()
        with pytest.raises(QueryError, match="write=True"):
            reader.query("MATCH (n) DETACH DELETE n")
        assert reader.counts()["entities"] == 6


@server
def test_nasty_parameters_are_values_not_code(store: Neo4jStore) -> None:
    store.load(sample_view())
    for text in NASTY:
        store.query(
            "MATCH (e:Entity {id: $id}) SET e.description = $text", {"id": "ada", "text": text}, write=True
        )
        assert store.query("MATCH (e:Entity {id: 'ada'}) RETURN e.description").rows == [(text,)]
        assert store.query("RETURN $x AS x, size($x) AS n", {"x": text}).rows == [(text, len(text))]
    nested = {"list": NASTY, "map": {"k": NASTY[2]}}
    assert store.query("RETURN $p AS p", {"p": nested}).rows == [(nested,)]
    assert store.counts()["entities"] == 6


@server
def test_nodes_relationships_and_paths_come_back_as_dicts(store: Neo4jStore) -> None:
    store.load(sample_view())
    node, rel = store.query(
        "MATCH (e:Entity {id: 'babbage'})-[r:RELATION {id: 'f2'}]->() RETURN e, r"
    ).rows[0]
    assert node["_LABEL"] == "Entity" and node["name"] == "Charles Babbage"
    assert node["description"] is None  # unset model properties are listed, as in LadybugDB
    assert rel["_LABEL"] == "RELATION" and rel["predicate"] == "born_in" and rel["evidence_count"] == 1
    assert rel["_SRC"] == node["_ID"]
    (path,) = store.query("MATCH p = (:Entity {id: 'libai'})-[:RELATION {id: 'f3'}]->() RETURN p").rows[0]
    assert [n["name"] for n in path["_NODES"]] == ["李白", "长安"]
    assert [r["id"] for r in path["_RELS"]] == ["f3"]


@server
def test_evidence_is_linked_to_documents_and_subjects(store: Neo4jStore) -> None:
    store.load(sample_view())
    rows = store.query(
        "MATCH (s:Entity)-[r:RELATION]->(o:Entity), "
        "(s)<-[:ABOUT]-(v:Evidence)-[:FROM_DOCUMENT]->(d:Document) "
        "WHERE v.fact_id = r.id RETURN r.id, d.id ORDER BY r.id, d.id"
    ).rows
    assert rows == [("f1", "d1"), ("f1", "d2"), ("f2", "d1"), ("f3", "d3"), ("f5", "d2")]
    mentions = store.query(
        "MATCH (e:Entity)-[m:MENTIONED_IN]->(d:Document {id: 'd3'}) RETURN e.name, m.start_char "
        "ORDER BY m.start_char"
    ).rows
    assert mentions == [("李白", 0), ("长安", 6)]
    assert store.counts()["mentions"] == 4


@server
def test_write_query_returns_rows(store: Neo4jStore) -> None:
    store.load(sample_view())
    result = store.query(
        "MATCH (e:Entity {id: $id}) SET e.description = $d RETURN e.id AS id",
        {"id": "ada", "d": "mathematician"},
        write=True,
    )
    assert result.dicts() == [{"id": "ada"}]


@server
def test_load_leaves_other_labels_alone(store: Neo4jStore) -> None:
    store.query("CREATE (:Note {text: 'keep me'})", write=True)
    store.load(nasty_view())
    store.load(sample_view())
    assert store.query("MATCH (n:Note) RETURN n.text").rows == [("keep me",)]


@server
def test_schema_statements_tolerated(store: Neo4jStore, arcadedb, arcadedb_database) -> None:
    # Opening twice runs every IF NOT EXISTS statement again; ArcadeDB 26.10 accepts them all.
    with Neo4jStore(**arcadedb.settings(arcadedb_database)) as again:
        assert again.counts()["entities"] == 0
    names = {row[0] for row in store.query("SHOW CONSTRAINTS YIELD name RETURN name").rows}
    assert {"kg_entity_id", "kg_document_id", "kg_evidence_id"} <= names


@server
def test_query_errors_are_one_line(store: Neo4jStore) -> None:
    with pytest.raises(QueryError, match="syntax error") as info:
        store.query("MATCH (e:Entity RETURN e")
    assert "\n" not in str(info.value)
    with pytest.raises(QueryError, match="fix the query"):
        store.query("RETURN nosuchfunction(1)")


@server
def test_upsert_in_batches_matches_load(arcadedb, arcadedb_database) -> None:
    per_type = "MATCH ()-[r]->() RETURN type(r), count(*) ORDER BY type(r)"
    with Neo4jStore(**arcadedb.settings(arcadedb_database, batch_size=1)) as store:
        store.upsert(sample_view())
        upserted = store.counts(), store.query(per_type).rows
        store.load(sample_view())
        loaded = store.counts(), store.query(per_type).rows
        assert upserted == loaded
        store.upsert(GraphView.empty())
        assert store.counts() == loaded[0]


@server
@pytest.mark.parametrize("value", [{1, 2}, 2**70, object()])
def test_parameters_bolt_cannot_carry_are_query_errors(store: Neo4jStore, value: object) -> None:
    with pytest.raises(QueryError, match="parameter"):
        store.query("RETURN $x", {"x": value})


@server
def test_temporal_values_come_back_as_datetime(store: Neo4jStore) -> None:
    rows = store.query("RETURN date('2020-01-02') AS d, duration('P1DT2H') AS du").rows
    assert rows == [(dt.date(2020, 1, 2), dt.timedelta(days=1, hours=2))]
