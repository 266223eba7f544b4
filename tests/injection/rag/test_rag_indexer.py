"""`kg index` on the example graph with the real packaged models: build, search, incremental updates,
the exact/HNSW switch, bad models, and a killed write."""

from __future__ import annotations

import json

import pyarrow as pa
import pytest
from typer.testing import CliRunner

from injection.rag.index import RagIndex, VectorIndex, index_dir, read_manifest
from injection.rag.indexer import build_index
from kg.bundle import inferred_tables
from kg.cli import app
from kg.errors import ConfigError, WorkspaceError
from kg.ids import fact_id
from kg.model import TOMBSTONES
from kg.workspace import Workspace

runner = CliRunner()


def kg(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def all_items(index: RagIndex) -> list[dict]:
    return [row for space in index.spaces.values() for row in space.items.to_pylist()]


def files_state(ws: Workspace) -> dict[str, tuple[int, bytes]]:
    folder = index_dir(ws)
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir() if p.is_file()}


def _new_fact(ws: Workspace) -> tuple[str, str, str]:
    """A founded_by fact between two live entities that the graph does not hold yet."""
    view = ws.bundle.view()
    entities = {row["id"]: row for row in view.entities.to_pylist()}
    known = set(view.facts["id"].to_pylist())
    subject = next(e for e, row in sorted(entities.items()) if row["name"] == "Huawei")
    obj = next(e for e, row in sorted(entities.items()) if row["name"] == "Jack Ma")
    assert fact_id(subject, "founded_by", obj) not in known
    return subject, "founded_by", obj


def _commit_inferred(ws: Workspace, triple: tuple[str, str, str]) -> str:
    batch = ws.bundle.next_batch_id()
    subject, predicate, obj = triple
    proposal = {"subject": subject, "predicate": predicate, "object": obj, "open": False, "score": 0.9}
    ws.bundle.commit(batch, inferred_tables(batch, "test@1", [proposal], {}))
    return batch


# -- building and searching ----------------------------------------------------------------------------

def test_index_holds_every_kind_in_two_language_spaces(indexed_example):
    ws = Workspace(indexed_example).open()
    index = RagIndex.open(ws)
    manifest = index.manifest
    assert manifest["bundle_version"] == ws.bundle.version
    assert set(index.spaces) == {"minilm", "e5-small"}  # the defaults: English MiniLM, Chinese E5
    assert index.spaces["minilm"].langs == ["en"] and index.spaces["e5-small"].langs == ["zh"]
    for name, space in index.spaces.items():
        meta = manifest["spaces"][name]
        assert meta["type"] == "flat" and meta["dim"] == 384 == space.dim
        assert len(space.index) == space.items.num_rows == meta["items"]  # one vector per item
        kinds = set(space.items.column("kind").to_pylist())
        assert kinds == {"fact", "entity", "chunk"}
    items = all_items(index)
    facts = ws.bundle.view().facts
    assert {r["key"] for r in items if r["kind"] == "fact"} == set(facts["id"].to_pylist())
    assert index.space_for("zh").name == "e5-small" and index.space_for("fr").name == "e5-small"
    index.check_fresh(ws)  # just built: not stale


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_facts_own_text_retrieves_that_fact_first(indexed_example, lang):
    index = RagIndex.open(Workspace(indexed_example).open())
    space = index.space_for(lang)
    facts = [r for r in space.items.to_pylist() if r["kind"] == "fact" and r["lang"] == lang]
    sample = facts[:: max(1, len(facts) // 12)][:12]
    hits = space.search([r["text"] for r in sample], k=3)
    for row, found in zip(sample, hits, strict=True):
        score, best = found[0]
        assert best["id"] == row["id"] and best["key"] == row["key"], (row["text"], best["text"])
        # MiniLM embeds queries like documents (cosine 1); E5 prefixes "query: " and "passage: "
        assert score == pytest.approx(1.0, abs=1e-3) if lang == "en" else score > 0.9
        assert best["source"] == "extracted" and best["batch"] == "b000001"


def test_a_question_finds_its_fact_in_either_language(indexed_example):
    index = RagIndex.open(Workspace(indexed_example).open())
    items = all_items(index)
    founders_of_tencent = {r["key"] for r in items if r["kind"] == "fact" and r["predicate"] == "founded_by"
                           and "Tencent" in r["text"]}
    assert founders_of_tencent
    english = index.search("Who founded Tencent?", k=10)
    chinese = index.search("谁创立了腾讯？", k=10)
    assert any(item["key"] in founders_of_tencent for _, item in english)
    assert any(item["key"] in founders_of_tencent for _, item in chinese)
    assert all(item["lang"] == "zh" for _, item in chinese)  # the query's script picks the space


# -- incremental updates -------------------------------------------------------------------------------

def test_second_run_embeds_nothing_and_writes_nothing(ws):
    before = files_state(ws)
    report = build_index(ws)
    assert report.embedded == 0 and report.cached == 0
    assert sum(report.total("added").values()) == sum(report.total("removed").values()) == 0
    assert sum(report.total("unchanged").values()) == sum(s.items for s in report.spaces) > 900
    assert not any(s.rebuilt for s in report.spaces)
    assert files_state(ws) == before  # not even rewritten with the same bytes


def test_an_added_batch_adds_only_its_items_and_removing_it_removes_them(ws):
    triple = _new_fact(ws)
    batch = _commit_inferred(ws, triple)
    with pytest.raises(WorkspaceError, match="kg index"):
        RagIndex.open(ws).check_fresh(ws)  # the bundle moved on

    report = build_index(ws)
    added = report.total("added")
    assert added == {"fact": 2}  # the new fact, phrased in English and Chinese; nothing else changed
    assert sum(report.total("removed").values()) == 0 and report.embedded == 2
    index = RagIndex.open(ws)
    index.check_fresh(ws)
    new = [r for r in all_items(index) if r["key"] == fact_id(*triple)]
    assert {r["lang"] for r in new} == {"en", "zh"}
    assert all(r["source"] == "inferred" and r["batch"] == batch for r in new)
    english = next(r for r in new if r["lang"] == "en")
    assert english["text"] == "Huawei was founded by Jack Ma."
    assert index.search(english["text"], k=1)[0][1]["id"] == english["id"]

    from gnn.complete import remove_batch

    remove_batch(ws, batch)
    report = build_index(ws)
    assert report.total("removed") == {"fact": 2} and sum(report.total("added").values()) == 0
    index = RagIndex.open(ws)
    assert not [r for r in all_items(index) if r["key"] == fact_id(*triple)]
    assert all(len(s.index) == s.items.num_rows for s in index.spaces.values())
    assert index.search(english["text"], k=1)[0][1]["key"] != fact_id(*triple)

    _commit_inferred(ws, triple)  # the same fact again: its vectors come from the cache
    report = build_index(ws)
    assert report.total("added") == {"fact": 2} and report.embedded == 0 and report.cached == 2


def test_a_retracted_document_takes_its_chunks_and_facts_along(ws):
    view = ws.bundle.view()
    doc = next(d for d in view.documents.to_pylist() if d["source"].endswith("alibaba.txt"))
    only_there = set(view.evidence.filter(pa.compute.equal(view.evidence["doc_id"], doc["id"]))["fact_id"]
                     .to_pylist()) - set(view.evidence.filter(pa.compute.not_equal(view.evidence["doc_id"],
                                                                                    doc["id"]))["fact_id"]
                                         .to_pylist())
    assert only_there
    batch = ws.bundle.next_batch_id()  # what `kg build` commits when a document left the corpus
    ws.bundle.commit(batch, {"tombstones": pa.Table.from_pylist([{"doc_id": doc["id"], "batch": batch}],
                                                                schema=TOMBSTONES)})
    report = build_index(ws)
    removed = report.total("removed")
    assert removed["chunk"] >= 1 and removed["fact"] >= len(only_there)
    assert report.embedded == 0  # removing embeds nothing
    keys = {r["key"] for r in all_items(RagIndex.open(ws))}
    assert doc["id"] not in keys and not only_there & keys


# -- exact vs HNSW ---------------------------------------------------------------------------------------

def test_spaces_switch_to_hnsw_at_the_threshold_without_re_embedding(ws):
    manifest = read_manifest(index_dir(ws))
    sizes = {name: meta["items"] for name, meta in manifest["spaces"].items()}
    small, large = sorted(sizes, key=sizes.get)
    ws.config.index.hnsw_threshold = sizes[large]  # the larger space reaches it, the smaller does not
    report = build_index(ws)
    types = {s.name: s.type for s in report.spaces}
    assert types == {large: "hnsw", small: "flat"}
    assert report.embedded == 0 and report.cached == sizes[large]  # rebuilt from cached vectors
    assert "flat -> hnsw" in next(s.rebuilt for s in report.spaces if s.name == large)
    index = RagIndex.open(ws)
    assert index.manifest["spaces"][large]["deleted_file"]
    space = index.spaces[large]
    facts = [r for r in space.items.to_pylist() if r["kind"] == "fact"][:5]
    for row, hits in zip(facts, space.search([r["text"] for r in facts], k=1), strict=True):
        assert hits[0][1]["id"] == row["id"]

    # removing from HNSW: the ids go onto the deleted list and searches skip them
    triple = _new_fact(ws)
    batch = _commit_inferred(ws, triple)
    build_index(ws)
    from gnn.complete import remove_batch

    remove_batch(ws, batch)
    report = build_index(ws)
    index = RagIndex.open(ws)
    hnsw = index.spaces[large]
    assert not next(s for s in report.spaces if s.name == large).rebuilt
    assert len(hnsw.index.deleted) == 1 and hnsw.index.ntotal == hnsw.items.num_rows + 1
    text = "Huawei was founded by Jack Ma." if large == "minilm" else "华为由马云创立。"
    hit_ids = {item["key"] for _, item in hnsw.search([text], k=20)[0]}
    assert fact_id(*triple) not in hit_ids

    ws.config.index.hnsw_threshold = 10**6  # and back to exact search
    report = build_index(ws)
    assert {s.type for s in report.spaces} == {"flat"} and report.embedded == 0


def test_vector_index_hnsw_deleted_ids_come_back_when_re_added():
    import numpy as np

    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(50, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    ids = np.arange(100, 150, dtype=np.int64)
    for kind in ("flat", "hnsw"):
        index = VectorIndex.create(8, kind)
        index.add(ids, vectors)
        index.remove([100, 101])
        assert len(index) == 48
        _, found = index.search(vectors[:2], 1)
        assert 100 not in found and 101 not in found
        index.add(ids[:1], vectors[:1])
        _, found = index.search(vectors[:1], 1)
        assert found[0, 0] == 100 and len(index) == 49


# -- bad models and killed writes ------------------------------------------------------------------------

def test_a_bad_model_path_is_a_clear_error_and_changes_nothing(ws, tmp_path):
    before, config = files_state(ws), (ws.path / "kg.toml").read_text()
    result = kg("index", "-w", ws.path, "--model", tmp_path / "no-such-model", "-q")
    assert result.exit_code == 2
    assert "--model" in result.output and "no-such-model" in result.output
    not_a_model = tmp_path / "empty-folder"
    not_a_model.mkdir()
    (not_a_model / "notes.txt").write_text("not a model")
    ws.config.index.models = {}
    ws.config.index.model = str(not_a_model)
    with pytest.raises(ConfigError, match="cannot load embedding model"):
        build_index(ws)
    assert files_state(ws) == before and (ws.path / "kg.toml").read_text() == config


def test_a_killed_write_leaves_the_previous_index_readable(ws, monkeypatch):
    _commit_inferred(ws, _new_fact(ws))
    real_save = VectorIndex.save

    def killed(self, path, deleted_path=None):
        path.with_name(path.name + ".tmp").write_bytes(b"half an index")  # what a kill mid-write leaves
        raise KeyboardInterrupt

    monkeypatch.setattr(VectorIndex, "save", killed)
    with pytest.raises(KeyboardInterrupt):
        build_index(ws)
    index = RagIndex.open(ws)  # the previous generation, intact
    assert index.manifest["generation"] == 1 and index.is_stale(ws)
    row = next(r for r in all_items(index) if r["kind"] == "fact" and r["lang"] == "en")
    assert index.search(row["text"], k=1)[0][1]["id"] == row["id"]

    monkeypatch.setattr(VectorIndex, "save", real_save)
    report = build_index(ws)  # the next run cleans up and finishes the job
    assert report.total("added") == {"fact": 2}
    # the English space embedded and cached its text before the kill; only the Chinese one is left
    assert report.embedded == 1 and report.cached == 1
    manifest = read_manifest(index_dir(ws))
    assert manifest["generation"] == 2
    left = {p.name for p in index_dir(ws).iterdir() if p.is_file()}
    named = {meta[k] for meta in manifest["spaces"].values() for k in ("index_file", "items_file") if meta[k]}
    assert left == named | {"manifest.json"}  # the debris is gone, the old generation too


def test_cli_prints_counts_and_keeps_the_model_choice(ws):
    result = kg("index", "-w", ws.path, "--model", "zh=static-multilingual")
    assert result.exit_code == 0, result.output
    output = " ".join(result.output.split())  # rich wraps long lines
    assert "static-multilingual (zh): flat" in output and "minilm (en): flat" in output
    assert "model changed" not in output and "rebuilt: new" in output
    assert "e5-small (zh): flat, 0 items" in output and "no longer used" in output
    for kind in ("fact", "entity", "chunk"):
        assert kind in output
    config = Workspace(ws.path).open().config.index
    assert config.models["zh"] == "static-multilingual" and config.models["en"] == "minilm"
    manifest = json.loads((index_dir(ws) / "manifest.json").read_text())
    static = manifest["spaces"]["static-multilingual"]
    assert manifest["languages"]["zh"] == "static-multilingual" and static["dim"] == 64
    assert f"embedded {static['items']:,} texts" in output  # the new space's items, and only those
