"""`kg complete` in a workspace: train once then load, refuse a changed graph, write scores and inferred
facts as a batch into the bundle and the embedded stores, replace and remove them, and the CLI on the
example corpus."""

import shutil

import numpy as np
import pyarrow as pa
import pytest
import torch

from typer.testing import CliRunner

from gnn.complete import complete, completion_batches, model_dir, remove_batch, train_or_load, workspace_data
from gnn.training import TrainConfig
from kg import model as kgmodel
from kg.cli import app
from kg.errors import CheckpointError, ConfigError, WorkspaceError
from kg.ids import fact_id
from kg.sync import open_store
from kg.workspace import Workspace
from tests.conftest import EXAMPLES


def _commit(ws, facts, batch, source="imported"):
    """Commit facts read from one document of their own (the way an import lands in the bundle)."""
    entities = sorted({s for s, _, _ in facts} | {o for _, _, o in facts})
    doc = f"doc:{batch}"
    ent = pa.Table.from_pylist([{"id": e, "name": e, "type": "Thing", "aliases": [], "batch": batch}
                                for e in entities], schema=kgmodel.ENTITIES)
    ev = pa.Table.from_pylist([{"fact_id": fact_id(s, p, o), "subject": s, "predicate": p, "object": o,
                                "open": False, "source": source, "doc_id": doc, "sentence": 0, "start": 0, "end": 0,
                                "text": "", "extractor": "test", "confidence": 1.0, "batch": batch}
                               for s, p, o in facts], schema=kgmodel.EVIDENCE)
    docs = pa.Table.from_pylist([{"id": doc, "source": batch, "text": "", "batch": batch}], schema=kgmodel.DOCUMENTS)
    ws.bundle.commit(ws.bundle.next_batch_id(), {"documents": docs, "entities": ent, "evidence": ev})


@pytest.fixture(autouse=True)
def _one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture()
def ws(tmp_path):
    rng = np.random.default_rng(0)
    facts = {(f"e{h}", f"r{(h + t) % 3}", f"e{t}") for h, t in rng.integers(0, 25, (200, 2)) if h != t}
    ws = Workspace(tmp_path / "ws").open(create=True)
    _commit(ws, sorted(facts), "b000001")
    return ws


def test_train_once_then_load_and_refuse_a_changed_graph(ws):
    data = workspace_data(ws)
    assert data.num_relations == 3 and len(data.test) > 0
    config = TrainConfig(model="distmult", model_kwargs={"dim": 8}, epochs=3, eval_every=1)
    _, model, calibrator, result = train_or_load(ws, config, progress=False)
    assert result is not None and (model_dir(ws) / "best.pt").exists()
    assert (model_dir(ws) / "calibration.json").exists() and not (model_dir(ws) / "last.pt").exists()
    _, again, calibrator2, result2 = train_or_load(ws, config, progress=False)
    assert result2 is None and calibrator2.to_dict() == calibrator.to_dict()
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))

    _commit(ws, [("e1", "r0", "newcomer"), ("newcomer", "r1", "e2")], "b000002")
    with pytest.raises(CheckpointError, match="different graph"):
        train_or_load(ws, config, progress=False)
    _, _, _, result3 = train_or_load(ws, config, retrain=True, progress=False)
    assert result3 is not None


# -- scores and inferred facts in the bundle and the stores ------------------------------------------

CONFIG = TrainConfig(model="distmult", model_kwargs={"dim": 16}, epochs=10, eval_every=5)


def _facts(ws, source=None):
    rows = ws.bundle.view().facts.to_pylist()
    return [r for r in rows if source is None or r["source"] == source]


def _store_rows(ws):
    """(inferred facts, scored non-inferred facts) as each embedded store holds them."""
    found = {}
    with open_store(ws, "graph", read_only=True) as graph:
        rows = graph.query("MATCH ()-[r:RELATION]->() RETURN r.id, r.source, r.plausibility, r.model, r.batch").rows
        found["ladybug"] = rows
    with open_store(ws, "rdf", read_only=True) as rdf:
        kg = rdf.mapping.vocab_ns
        statement = "<http://www.w3.org/1999/02/22-rdf-syntax-ns#Statement>"
        query = (f"SELECT ?id ?source ?p ?model ?batch WHERE {{ ?f a {statement} ; <{kg}source> ?source ; "
                 f"<{kg}batch> ?batch . "
                 f"OPTIONAL {{ ?f <{kg}plausibility> ?p }} OPTIONAL {{ ?f <{kg}model> ?model }} "
                 f"BIND(STRAFTER(STR(?f), \"/fact/\") AS ?id) }}")
        found["oxigraph"] = [(r[0].replace("%3A", ":"), *r[1:]) for r in rdf.query(query).rows]
    return {name: {r[0]: r[1:] for r in rows} for name, rows in found.items()}


def test_complete_writes_a_batch_to_bundle_and_stores_then_replaces_and_removes_it(ws):
    before = _facts(ws)
    trained = train_or_load(ws, CONFIG, progress=False)
    summary = complete(ws, k=3, threshold=0.0, trained=trained)
    assert summary.batch == "b000002" and summary.model.startswith("distmult@") and summary.scored == len(before)
    inferred = _facts(ws, "inferred")
    assert len(inferred) == sum(summary.proposed.values()) > 0
    assert all(n <= 3 for n in summary.proposed.values())
    known = {(f["subject"], f["predicate"], f["object"]) for f in before}
    for fact in inferred:
        assert (fact["subject"], fact["predicate"], fact["object"]) not in known  # new facts only
        assert fact["evidence_count"] == 0 and fact["batch"] == summary.batch and fact["model"] == summary.model
        assert fact["plausibility"] == fact["confidence"] and 0.0 <= fact["confidence"] <= 1.0
    scored = _facts(ws, "imported")
    assert len(scored) == len(before) and {f["model"] for f in scored} == {summary.model}
    assert len({f["plausibility"] for f in scored}) > 1 and all(0 <= f["plausibility"] <= 1 for f in scored)

    # every store holds the same facts with provenance
    view = {f["id"]: (f["source"], f["plausibility"], f["model"], f["batch"]) for f in _facts(ws)}
    for name, rows in _store_rows(ws).items():
        assert rows.keys() == view.keys(), name
        for key, (source, plausibility, model, batch) in rows.items():
            assert (source, model, batch) == (view[key][0], view[key][2], view[key][3]), name
            assert plausibility == pytest.approx(view[key][1]), name

    # inferred facts are not training data: the trained model still fits the graph
    assert workspace_data(ws).fingerprint == trained[0].fingerprint
    _, _, _, result = train_or_load(ws, CONFIG, progress=False)
    assert result is None

    # a second run replaces the first run's facts instead of adding to them
    second = complete(ws, k=2, threshold=0.0, trained=trained)
    assert second.replaced == [summary.batch] and completion_batches(ws.bundle) == [second.batch]
    assert len(_facts(ws, "inferred")) == sum(second.proposed.values())
    assert {f["batch"] for f in _facts(ws, "inferred")} == {second.batch}

    record, removed = remove_batch(ws, "all")
    assert removed == [second.batch] and completion_batches(ws.bundle) == []
    assert _facts(ws, "inferred") == [] and {f["plausibility"] for f in _facts(ws)} == {None}
    for name, rows in _store_rows(ws).items():
        assert {r[0] for r in rows.values()} == {"imported"} and {r[1] for r in rows.values()} == {None}, name
    with pytest.raises(WorkspaceError, match="not a batch of inferred facts"):
        remove_batch(ws, "b000001")  # documents are not withdrawn this way
    with pytest.raises(WorkspaceError, match="live completion batches: none"):
        remove_batch(ws, record)


def test_text_support_turns_an_inferred_fact_into_an_extracted_one(ws):
    summary = complete(ws, k=1, threshold=0.0, relations=["r0"], trained=train_or_load(ws, CONFIG, progress=False))
    assert summary.proposed == {"r0": 1}
    (fact,) = _facts(ws, "inferred")
    _commit(ws, [(fact["subject"], fact["predicate"], fact["object"])], ws.bundle.next_batch_id(), "extracted")
    (now,) = [f for f in _facts(ws) if f["id"] == fact["id"]]  # one fact, not two
    assert now["source"] == "extracted" and now["evidence_count"] == 1
    assert completion_batches(ws.bundle) == [summary.batch]  # its scores of the other facts still count


def test_complete_options_are_checked(ws):
    trained = train_or_load(ws, CONFIG, progress=False)
    with pytest.raises(ConfigError, match="unknown relation"):
        complete(ws, relations=["nope"], trained=trained)
    with pytest.raises(ConfigError, match="threshold"):
        complete(ws, threshold=1.5, trained=trained)
    with pytest.raises(ConfigError, match="top-k"):
        complete(ws, k=0, trained=trained)
    assert completion_batches(ws.bundle) == []  # nothing was written


# -- the command on the example corpus ----------------------------------------------------------------

runner = CliRunner()


def kg(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    path = tmp_path_factory.mktemp("complete") / "ws"
    result = kg("build", EXAMPLES / "corpus", "-w", path, "--schema", EXAMPLES / "schema.yaml", "-q")
    assert result.exit_code == 0, result.output
    return path


def test_cli_evaluate_then_complete_list_and_remove(example):
    result = kg("complete", "-w", example, "--evaluate", "--epochs", 30, "-q")
    assert result.exit_code == 0, result.output
    assert "MRR" in result.output and "relation:born_in" in result.output and "random ranking MRR" in result.output
    assert completion_batches(Workspace(example).open().bundle) == []  # --evaluate writes nothing

    result = kg("complete", "-w", example, "--threshold", 0, "--top-k", 2, "-q")
    assert result.exit_code == 0, result.output
    assert "model complex@" in result.output and "added" in result.output
    listed = kg("complete", "-w", example, "--list")
    assert listed.output.split() == ["b000002"]
    found = kg("query", "run", "facts_by_source", "-w", example, "--param", "fact_source=inferred", "--format", "json")
    assert found.exit_code == 0 and '"inferred"' in found.output and "complex@" in found.output
    doubtful = kg("query", "run", "implausible_facts", "-w", example, "--param", "max_plausibility=1.01",
                  "--lang", "sparql", "--format", "json")
    assert doubtful.exit_code == 0 and "complex@" in doubtful.output

    removed = kg("complete", "-w", example, "--remove", "b000002")
    assert removed.exit_code == 0 and "removed" in removed.output
    assert kg("complete", "-w", example, "--list").output.strip() == "no batches of inferred facts"
    again = kg("complete", "-w", example, "--remove", "b000002")
    assert again.exit_code == 3 and "not a batch of inferred facts" in again.output


def test_cli_refuses_a_model_trained_on_another_graph(example, tmp_path):
    copy = tmp_path / "ws"
    shutil.copytree(example, copy)
    assert kg("complete", "-w", copy, "--evaluate", "--epochs", 5, "-q").exit_code == 0  # a trained model
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "new.txt").write_text(
        "Nordlys Robotics was founded by Ingrid Solberg in Oslo in 2015. Ingrid Solberg was born in Bergen and "
        "studied engineering at the Norwegian University of Science and Technology before she started the "
        "company. Nordlys Robotics is headquartered in Oslo, the capital of Norway.", encoding="utf-8")
    built = kg("build", extra, "-w", copy, "-q")
    assert built.exit_code == 0 and "(batch" in built.output, built.output
    result = kg("complete", "-w", copy, "--evaluate", "-q")
    assert result.exit_code == 2 and "different graph" in result.output and "--retrain" in result.output
    assert kg("complete", "-w", copy, "--evaluate", "--epochs", 5, "--retrain", "-q").exit_code == 0
