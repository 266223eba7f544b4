"""`kg build`, `kg sync` and `kg import` end to end with server backends configured through KG_* env."""

from __future__ import annotations

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
