"""End-to-end `kg build` behaviour: incremental add/remove, resume after a kill, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.compute as pc
import pytest

from kg.build import build
from kg.workspace import Workspace
from tests.conftest import write_corpus

COMPANIES = ["Alibaba", "Huawei", "Tencent", "Baidu", "Xiaomi", "Lenovo", "Oracle", "Intel", "Cisco",
             "Adobe", "Nvidia", "Samsung"]
PEOPLE = ["Jack Ma", "Ren Zhengfei", "Pony Ma", "Robin Li", "Lei Jun", "Larry Ellison", "Gordon Moore",
          "John Chambers", "John Warnock", "Jensen Huang", "Lee Byung-chul", "Liu Chuanzhi"]
CITIES = ["Hangzhou", "Shenzhen", "Beijing", "Austin", "Seattle", "Boston", "Chicago", "Denver"]


def en_doc(i: int) -> str:
    c, p, city = COMPANIES[i % 12], PEOPLE[(i * 7) % 12], CITIES[i % 8]
    return (f"{c} was founded by {p} in {1970 + i}. Report number {i} describes how {p} visited "
            f"{city} to meet engineers and customers. The company later opened a research office in "
            f"{city}, where analysts study markets, supply chains and the software that runs modern "
            f"factories, warehouses and offices around the world. Item {i} ends here.")


def make_ws(tmp_path: Path, schema_file: Path, *, stores: bool = False, **extraction) -> Workspace:
    ws = Workspace(tmp_path / "ws").open(create=True)
    ws.config.extraction.schema_path = str(schema_file)
    for key, value in extraction.items():
        setattr(ws.config.extraction, key, value)
    if not stores:
        ws.config.stores.graph = ""
        ws.config.stores.rdf = ""
    ws.save_config()
    return ws


def fact_keys(ws: Workspace) -> list[tuple[str, str, str]]:
    view = ws.bundle.view()
    return sorted(zip(view.facts["subject"].to_pylist(), view.facts["predicate"].to_pylist(),
                      view.facts["object"].to_pylist()))


def test_incremental_add_change_remove(tmp_path, small_schema_file):
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": en_doc(0), "b.txt": en_doc(1)})
    ws = make_ws(tmp_path, small_schema_file)
    first = build(ws, [corpus])
    assert first.new == 2 and first.batch == "b000001"
    facts_before = fact_keys(ws)
    assert any(p == "founded_by" for _, p, _ in facts_before)

    # nothing changed: no new batch, nothing reprocessed
    again = build(ws, [corpus])
    assert again.batch is None and again.unchanged == 2 and again.new == 0
    assert fact_keys(ws) == facts_before

    # add a document that repeats a fact of a.txt, then remove a.txt: the shared fact stays
    (corpus / "c.txt").write_text(en_doc(0).replace("Report number 0", "Another report, number 99"))
    grown = build(ws, [corpus])
    assert grown.new == 1
    view = ws.bundle.view()
    shared = [r for r in view.facts.to_pylist() if r["predicate"] == "founded_by"
              and r["evidence_count"] == 2]
    assert shared, "the fact stated in a.txt and c.txt has two pieces of evidence"

    (corpus / "a.txt").unlink()
    shrunk = build(ws, [corpus])
    assert shrunk.retracted == 1
    view = ws.bundle.view()
    still = {r["id"]: r for r in view.facts.to_pylist()}
    assert shared[0]["id"] in still and still[shared[0]["id"]]["evidence_count"] == 1
    assert view.documents.num_rows == 2
    # a.txt's own sentences are gone from the evidence
    assert "Report number 0 " not in " ".join(view.evidence["text"].to_pylist())

    # changing a document retracts the old version and adds the new one
    (corpus / "b.txt").write_text(en_doc(5))
    changed = build(ws, [corpus])
    assert changed.new == 1 and changed.retracted == 1
    assert ws.bundle.view().documents.num_rows == 2


def test_bad_inputs_are_reported_and_the_rest_is_built(tmp_path, small_schema_file):
    corpus = write_corpus(tmp_path / "corpus", {
        "good.txt": en_doc(3), "bin.txt": b"\x00\x01\x02\x03PK", "latin1.txt": "café ".encode("latin-1") * 20,
        "empty.md": "", "broken.html": f"<html><body><p>{en_doc(4)}<div><span>unclosed",
        "dup.txt": en_doc(3),
    })
    ws = make_ws(tmp_path, small_schema_file)
    report = build(ws, [corpus])
    assert report.new == 2  # good.txt and broken.html
    reasons = {Path(d["source"]).name: d["reason"] for d in report.drops}
    # files are read in sorted order, so dup.txt is kept and good.txt is its duplicate
    assert set(reasons) == {"bin.txt", "latin1.txt", "empty.md", "good.txt"}
    assert reasons["good.txt"].startswith("exact duplicate of") and reasons["good.txt"].endswith("dup.txt")
    assert "UTF-8" in reasons["latin1.txt"] and "binary" in reasons["bin.txt"]
    saved = json.loads((ws.reports_dir / "latest.json").read_text())
    assert len(saved["drops"]) == 4 and saved["dropped"]["read"] == 3


NASTY = ["O'Brien \"Quote\" {Brace}", "'; MATCH (n) DETACH DELETE n", "} ; DROP ALL"]


def nasty_schema(tmp_path: Path) -> Path:
    import yaml

    from tests.conftest import SMALL_SCHEMA

    data = json.loads(json.dumps(SMALL_SCHEMA))
    data["entity_types"]["Person"]["gazetteer"] += [{"name": n} for n in NASTY]
    path = tmp_path / "nasty.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def nasty_text() -> str:
    return (f"Huawei was founded by {NASTY[0]}. Alibaba was founded by {NASTY[1]} and {NASTY[2]}. "
            "The companies grew quickly in Shenzhen and many other cities in the following years, "
            "building networks and phones for customers in many countries of the world.")


def test_nasty_names_are_stored_verbatim(tmp_path):
    from kg.sync import open_store

    corpus = write_corpus(tmp_path / "corpus", {"a.txt": nasty_text()})
    ws = make_ws(tmp_path, nasty_schema(tmp_path), stores=True)
    build(ws, [corpus])
    view = ws.bundle.view()
    names = set(view.entities["name"].to_pylist())
    assert set(NASTY) <= names
    assert view.documents["text"].to_pylist() == [nasty_text()]
    graph = open_store(ws, "graph", read_only=True)
    try:
        stored = set(graph.query("MATCH (e:Entity) RETURN e.name").column("e.name"))
        assert set(NASTY) <= stored
        assert graph.counts()["entities"] == view.entities.num_rows
    finally:
        graph.close()
    rdf = open_store(ws, "rdf", read_only=True)
    try:
        labels = {str(getattr(v, "value", v)) for v in rdf.query(
            "SELECT ?l WHERE { ?e a <https://kg.example.org/schema/Person> ; "
            "<http://www.w3.org/2000/01/rdf-schema#label> ?l }").column("l")}
        assert set(NASTY) <= labels
    finally:
        rdf.close()


@pytest.mark.slow
def test_two_workers_give_the_same_graph(tmp_path, small_schema_file):
    corpus = write_corpus(tmp_path / "corpus", {f"d{i:03d}.txt": en_doc(i) for i in range(24)})
    one = make_ws(tmp_path / "one", small_schema_file, shard_size=4, workers=1)
    two = make_ws(tmp_path / "two", small_schema_file, shard_size=4, workers=2)
    build(one, [corpus])
    build(two, [corpus])
    assert fact_keys(one) == fact_keys(two) and fact_keys(one)


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _graph_rows(ws_path: Path) -> tuple[list, list]:
    view = Workspace(ws_path).open().bundle.view()
    facts = sorted(zip(*(view.facts[c].to_pylist() for c in ("id", "subject", "predicate", "object"))))
    entities = sorted(zip(*(view.entities[c].to_pylist() for c in ("id", "name", "type"))))
    return facts, entities


@pytest.mark.slow
def test_ids_do_not_depend_on_the_process(tmp_path):
    """Same input, same ids, in processes with different string-hash seeds (set order differs)."""
    graphs = []
    for seed in ("1", "2"):
        ws = Workspace(tmp_path / f"ws{seed}").open(create=True)
        ws.config.stores.graph = ws.config.stores.rdf = ""
        ws.save_config()
        run = subprocess.run([*_build_cmd(ws.path, EXAMPLES / "corpus"), "--schema",
                              str(EXAMPLES / "schema.yaml")], capture_output=True, text=True,
                             timeout=600, env={**os.environ, "PYTHONHASHSEED": seed})
        assert run.returncode == 0, run.stderr
        graphs.append(_graph_rows(ws.path))
    (facts1, entities1), (facts2, entities2) = graphs
    assert len(facts1) > 50 and any(p.isascii() for _, _, p, _ in facts1) \
        and any(not p.isascii() for _, _, p, _ in facts1), "both languages contribute facts"
    assert entities1 == entities2
    assert facts1 == facts2


def _build_cmd(ws: Path, corpus: Path) -> list[str]:
    return [sys.executable, "-m", "kg", "build", str(corpus), "-w", str(ws), "--quiet"]


@pytest.mark.slow
def test_killed_build_resumes_without_duplicates(tmp_path, small_schema_file):
    corpus = write_corpus(tmp_path / "corpus", {f"d{i:03d}.txt": en_doc(i) for i in range(160)})
    ws = make_ws(tmp_path, small_schema_file, shard_size=4, workers=1)
    shards = ws.staging_dir / "shards"
    proc = subprocess.Popen(_build_cmd(ws.path, corpus), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.time() + 240
    while time.time() < deadline and len(list(shards.glob("*.pkl"))) < 3 and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = {p.name for p in shards.glob("*.pkl")}
    assert 3 <= len(finished) < 40, "the kill must land mid-way through the 40 shards"
    assert ws.bundle.batches == [] if (ws.bundle.root / "manifest.json").exists() else True

    resumed = subprocess.run(_build_cmd(ws.path, corpus), capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads((ws.reports_dir / "latest.json").read_text())
    assert report["resumed_shards"] == len(finished)

    fresh = make_ws(tmp_path / "fresh", small_schema_file, shard_size=4)
    fresh_report = build(fresh, [corpus])
    assert report["new"] == fresh_report.new > 140  # generated docs repeat a little: a few near-dups
    resumed_ws = Workspace(ws.path).open()
    assert fact_keys(resumed_ws) == fact_keys(fresh)
    view = resumed_ws.bundle.view()
    assert view.documents.num_rows == fresh_report.new
    ids = view.evidence["fact_id"]
    pairs = pc.binary_join_element_wise(ids, view.evidence["doc_id"], "|")
    assert len(pc.unique(pairs)) == view.evidence.num_rows, "no evidence row is duplicated"
    assert not list(shards.glob("*.pkl")), "staging is cleared after the commit"


def test_failed_store_load_keeps_old_store_and_is_redone(tmp_path, small_schema_file, monkeypatch):
    from kg.stores.ladybug import LadybugStore
    from kg.sync import open_store

    corpus = write_corpus(tmp_path / "corpus", {"a.txt": en_doc(0)})
    ws = make_ws(tmp_path, small_schema_file, stores=True)
    build(ws, [corpus])
    before = ws.bundle.view().counts()["facts"]

    (corpus / "b.txt").write_text(en_doc(1))

    def broken_load(self, graph):
        raise RuntimeError("disk full")

    monkeypatch.setattr(LadybugStore, "load", broken_load)
    with pytest.raises(RuntimeError, match="disk full"):
        build(ws, [corpus])
    assert ws.synced_version("graph") is None  # marked out of date
    store = open_store(ws, "graph", read_only=True)
    try:
        assert store.counts()["facts"] == before  # the previous projection is intact
    finally:
        store.close()

    monkeypatch.undo()
    report = build(ws, [corpus])  # nothing new to extract, but the stale store is redone
    assert report.batch is None and report.stores["graph"] == "synced"
    store = open_store(ws, "graph", read_only=True)
    try:
        assert store.counts()["facts"] == ws.bundle.view().counts()["facts"] > before
    finally:
        store.close()
