"""Workspace glue: data from the bundle, train once then load, refuse a changed graph."""

import numpy as np
import pyarrow as pa
import pytest
import torch

from gnn.complete import model_dir, train_or_load, workspace_data
from gnn.training import TrainConfig
from kg import model as kgmodel
from kg.errors import CheckpointError
from kg.workspace import Workspace


def _commit(ws, facts, batch):
    entities = sorted({s for s, _, _ in facts} | {o for _, _, o in facts})
    ent = pa.Table.from_pylist([{"id": e, "name": e, "type": "Thing", "aliases": [], "batch": batch}
                                for e in entities], schema=kgmodel.ENTITIES)
    ev = pa.Table.from_pylist([{"fact_id": f"{s}|{p}|{o}", "subject": s, "predicate": p, "object": o,
                                "open": False, "source": "imported", "doc_id": None, "sentence": 0,
                                "confidence": 1.0, "batch": batch} for s, p, o in facts],
                              schema=kgmodel.EVIDENCE)
    ws.bundle.commit(ws.bundle.next_batch_id(), {"entities": ent, "evidence": ev})


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
