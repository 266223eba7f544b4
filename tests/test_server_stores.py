"""`kg build`, `kg sync` and `kg import` end to end with server backends configured through KG_* env."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kg.build import build
from kg.errors import StoreError
from kg.graph_import import import_graph
from kg.sync import open_store, sync_stores
from kg.workspace import Workspace
from tests.conftest import EXAMPLES
from tests.servers.arcadedb import free_port

pytest.importorskip("neo4j", reason="pip install 'kg[server]' for the Neo4j driver")
pytestmark = [pytest.mark.server, pytest.mark.slow]


def _neo4j_env(monkeypatch: pytest.MonkeyPatch, settings: dict) -> None:
    for key, value in settings.items():
        monkeypatch.setenv(f"KG_NEO4J_{key.upper()}", str(value))


def _ws(path: Path, graph: str, rdf: str = "") -> Workspace:
    ws = Workspace(path).open(create=True)
    ws.config.extraction.schema_path = str(EXAMPLES / "schema.yaml")
    ws.config.stores.graph, ws.config.stores.rdf = graph, rdf
    ws.save_config()
    return ws


def _fact_rows(store) -> set[tuple]:
    result = store.query("MATCH (s:Entity)-[r:RELATION]->(o:Entity) RETURN s.name, r.predicate, o.name, r.id")
    return set(result.rows)


def test_build_into_neo4j_then_import_back(tmp_path: Path, arcadedb, arcadedb_database,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    _neo4j_env(monkeypatch, arcadedb.settings(arcadedb_database))
    ws = _ws(tmp_path / "ws", "neo4j")
    report = build(ws, [EXAMPLES / "corpus"])
    assert report.stores == {"graph": "synced", "rdf": "disabled"}
    view = ws.bundle.view()
    store = open_store(ws, "graph", read_only=True)
    try:
        counts = store.counts()
        facts = _fact_rows(store)
    finally:
        store.close()
    assert counts["entities"] == view.entities.num_rows and counts["facts"] == view.facts.num_rows > 100
    assert ("Tencent", "founded_by", "Pony Ma") in {row[:3] for row in facts}
    assert {row[3] for row in facts} == set(view.facts["id"].to_pylist())

    # kg sync pushes the same bundle again without duplicating anything
    assert sync_stores(ws, force=True) == {"graph": "synced", "rdf": "disabled"}
    store = open_store(ws, "graph", read_only=True)
    try:
        assert store.counts() == counts
    finally:
        store.close()

    # and the Neo4j graph comes back into a fresh workspace with the same ids
    copy = _ws(tmp_path / "copy", "")
    copy.lock()
    try:
        summary = import_graph(copy, "neo4j")
    finally:
        copy.unlock()
    assert summary.batch == "b000001" and summary.facts == view.facts.num_rows
    imported = copy.bundle.view()
    assert set(imported.facts["id"].to_pylist()) == set(view.facts["id"].to_pylist())
    assert set(imported.entities["id"].to_pylist()) == set(view.entities["id"].to_pylist())


def test_server_down_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KG_NEO4J_URI", f"bolt://127.0.0.1:{free_port()}")
    ws = _ws(tmp_path / "ws", "neo4j", "oxigraph")
    with pytest.raises(StoreError, match="cannot reach|start it|uri"):
        build(ws, [EXAMPLES / "corpus"])
    assert not (ws.bundle.manifest_path.exists() and ws.bundle.batches), "nothing half-written"
    assert not list(ws.staging_dir.glob("**/*.pkl")), "no extraction work was started"


def test_wrong_password_names_the_setting(tmp_path: Path, arcadedb, monkeypatch: pytest.MonkeyPatch) -> None:
    _neo4j_env(monkeypatch, arcadedb.settings(password="not-the-password"))
    ws = _ws(tmp_path / "ws", "neo4j")
    with pytest.raises(StoreError, match="password|KG_NEO4J_PASSWORD"):
        build(ws, [EXAMPLES / "corpus"])


def _sparql_env(monkeypatch: pytest.MonkeyPatch, settings: dict) -> None:
    for key, value in settings.items():
        monkeypatch.setenv(f"KG_SPARQL_{key.upper()}", str(value))


def test_cli_build_into_neo4j_and_a_sparql_endpoint(tmp_path: Path, arcadedb, arcadedb_database, oxigraph_http,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from kg.cli import app

    _neo4j_env(monkeypatch, arcadedb.settings(arcadedb_database))
    _sparql_env(monkeypatch, oxigraph_http.settings())
    oxigraph_http.clear()
    path = tmp_path / "ws"
    args = ["build", str(EXAMPLES / "corpus"), "-w", str(path), "--schema", str(EXAMPLES / "schema.yaml"),
            "--store", "neo4j", "--rdf", "sparql", "-q"]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    ws = Workspace(path).open()
    view = ws.bundle.view()
    expected = {"entities": view.entities.num_rows, "facts": view.facts.num_rows}
    for kind in ("graph", "rdf"):
        store = open_store(ws, kind, read_only=True)
        try:
            counts = store.counts()
        finally:
            store.close()
        assert {k: counts[k] for k in expected} == expected, kind

    # the library runs on both servers and they agree
    run = ["query", "run", "neighbours", "-w", str(path), "-p", "entity=Tencent", "--format", "json"]
    rows = {lang: json.loads(CliRunner().invoke(app, [*run, "--lang", lang], catch_exceptions=False).output)
            for lang in ("cypher", "sparql")}
    assert rows["cypher"] and {r["neighbour"] for r in rows["cypher"]} == {r["neighbour"] for r in rows["sparql"]}
    assert "Pony Ma" in {r["neighbour"] for r in rows["cypher"]}

    # the endpoint's graph comes back into a fresh workspace with the same ids
    copy = _ws(tmp_path / "copy", "")
    copy.lock()
    try:
        summary = import_graph(copy, "sparql")
    finally:
        copy.unlock()
    assert summary.facts == view.facts.num_rows
    assert set(copy.bundle.view().facts["id"].to_pylist()) == set(view.facts["id"].to_pylist())


def test_build_into_jena_then_sync_is_idempotent(tmp_path: Path, jena) -> None:
    ws = _ws(tmp_path / "ws", "", "jena")
    ws.config.jena.jena_jars, ws.config.jena.java = str(jena.jars), jena.java
    ws.save_config()
    report = build(ws, [EXAMPLES / "corpus"])
    assert report.stores == {"graph": "disabled", "rdf": "synced"}
    view = ws.bundle.view()

    def counts() -> dict[str, int]:
        store = open_store(ws, "rdf", read_only=True)
        try:
            return store.counts()
        finally:
            store.close()

    first = counts()
    assert first["entities"] == view.entities.num_rows and first["facts"] == view.facts.num_rows > 100
    assert sync_stores(ws, force=True) == {"graph": "disabled", "rdf": "synced"}
    assert counts() == first


def test_sparql_endpoint_down_fails_before_any_work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    port = free_port()
    monkeypatch.setenv("KG_SPARQL_QUERY_URL", f"http://127.0.0.1:{port}/query")
    monkeypatch.setenv("KG_SPARQL_UPDATE_URL", f"http://127.0.0.1:{port}/update")
    monkeypatch.setenv("KG_SPARQL_DATA_URL", f"http://127.0.0.1:{port}/store")
    ws = _ws(tmp_path / "ws", "ladybug", "sparql")
    with pytest.raises(StoreError, match=f"127.0.0.1:{port}"):
        build(ws, [EXAMPLES / "corpus"])
    assert not (ws.bundle.manifest_path.exists() and ws.bundle.batches), "nothing half-written"


def test_sync_state_follows_the_server(tmp_path: Path, arcadedb, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = arcadedb.new_database("first"), arcadedb.new_database("second")
    _neo4j_env(monkeypatch, arcadedb.settings(first))
    ws = _ws(tmp_path / "ws", "neo4j")
    build(ws, [EXAMPLES / "corpus"])
    assert sync_stores(ws) == {"graph": "up to date", "rdf": "disabled"}
    # pointing the workspace at another database is not "up to date": the new one gets loaded
    monkeypatch.setenv("KG_NEO4J_DATABASE", second)
    assert sync_stores(ws) == {"graph": "synced", "rdf": "disabled"}
    store = open_store(ws, "graph", read_only=True)
    try:
        assert store.counts()["facts"] == ws.bundle.view().facts.num_rows
    finally:
        store.close()
