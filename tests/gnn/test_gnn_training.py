"""Training on a real dataset (Nations), checkpoints/resume, refusals, NaN handling, calibration."""

import importlib.util

import pytest
import torch

from gnn.data import load_pykeen_dataset
from gnn.evaluation import evaluate
from gnn.inference import (
    Calibrator,
    calibration_set,
    expected_calibration_error,
    fit_calibrator,
    propose,
    score_facts,
)
from gnn.models import make_model
from gnn.training import TrainConfig, load_model, train
from kg.errors import CheckpointError, ConfigError, GraphDataError, TrainingError

if importlib.util.find_spec("pykeen") is None:
    pytest.skip("Nations ships inside the pykeen wheel: pip install -e '.[test]'", allow_module_level=True)

FAST = {"model": "complex", "model_kwargs": {"dim": 32}, "epochs": 30, "batch_size": 256, "lr": 0.1,
        "optimizer": "adagrad", "regularization": 0.01, "eval_every": 5, "patience": 3}


@pytest.fixture(scope="module", autouse=True)
def _one_thread():
    # tiny models: thread hand-offs cost more than they save, badly so on a shared machine
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def nations():
    return load_pykeen_dataset("nations")


@pytest.fixture(scope="module")
def trained(nations):
    return train(nations, TrainConfig(**FAST), progress=False)


def test_training_beats_a_random_model_by_far(nations, trained):
    untrained = make_model("complex", nations, dim=32)
    random_mrr = evaluate(untrained, nations, "test").mrr
    result = evaluate(trained.model, nations, "test")
    assert trained.loss == "1-N" and trained.mode == "full"
    assert result.mrr > 0.65 and result.mrr > random_mrr + 0.25, (result.mrr, random_mrr)
    assert result.both.hits[10] > 0.95
    assert trained.best_valid_mrr > 0.6


def test_rgcn_trains_full_batch_and_on_sampled_subgraphs(nations):
    base = {"model": "rgcn", "model_kwargs": {"dim": 16, "layers": 1, "decoder": "distmult"}, "epochs": 4,
            "eval_every": 2, "batch_size": 512, "optimizer": "adam", "lr": 0.02}
    full = train(nations, TrainConfig(**base), progress=False)
    sampled = train(nations, TrainConfig(**base, mode="sampled", fanouts=[4], num_negatives=8), progress=False)
    assert full.mode == "full" and sampled.mode == "sampled" and sampled.loss == "negatives"
    for result in (full, sampled):
        assert all(torch.isfinite(torch.tensor(row["loss"])) for row in result.history)
        assert 0.0 < result.best_valid_mrr <= 1.0


def test_checkpoints_resume_where_they_stopped(nations, tmp_path):
    cfg = dict(FAST, epochs=4, eval_every=2, patience=10)
    first = train(nations, TrainConfig(**cfg), checkpoint_dir=tmp_path, progress=False)
    assert (tmp_path / "last.pt").exists() and (tmp_path / "best.pt").exists()
    assert [row["epoch"] for row in first.history] == [1, 2, 3, 4]
    resumed = train(nations, TrainConfig(**dict(cfg, epochs=6)), checkpoint_dir=tmp_path, progress=False)
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3, 4, 5, 6]
    loaded = load_model(tmp_path, nations)
    assert evaluate(loaded, nations, "valid").mrr == pytest.approx(resumed.best_valid_mrr)
    with pytest.raises(CheckpointError, match="holds model"):
        train(nations, TrainConfig(**dict(cfg, model_kwargs={"dim": 16})), checkpoint_dir=tmp_path,
              progress=False)


def test_checkpoint_from_another_graph_is_refused(nations, tmp_path):
    train(nations, TrainConfig(**dict(FAST, epochs=1, eval_every=1)), checkpoint_dir=tmp_path, progress=False)
    umls = load_pykeen_dataset("umls")
    with pytest.raises(CheckpointError, match="different graph") as err:
        load_model(tmp_path, umls)
    assert "entities: 14 in the checkpoint vs 135 now" in str(err.value)
    with pytest.raises(CheckpointError, match="retrain"):
        train(umls, TrainConfig(**dict(FAST, epochs=1)), checkpoint_dir=tmp_path, progress=False)
    (tmp_path / "junk").mkdir()
    (tmp_path / "junk" / "best.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="cannot read"):
        load_model(tmp_path / "junk", nations)


def test_nan_loss_stops_with_a_clear_error_and_keeps_the_last_good_checkpoint(nations, tmp_path):
    model = make_model("complex", nations, dim=16)

    def poison(row):
        if row["epoch"] == 2:  # after epoch 2's checkpoint, break the weights
            with torch.no_grad():
                model.kge.node_emb.weight.fill_(float("nan"))

    cfg = TrainConfig(**dict(FAST, model_kwargs={"dim": 16}, epochs=5, eval_every=1))
    with pytest.raises(TrainingError, match="loss became nan at epoch 3") as err:
        train(nations, cfg, checkpoint_dir=tmp_path, progress=False, on_epoch=poison, model=model)
    assert "last good checkpoint" in str(err.value) and "Lower the learning rate" in str(err.value)
    ckpt = torch.load(tmp_path / "last.pt", weights_only=True)
    assert ckpt["epoch"] == 2
    assert all(torch.isfinite(v).all() for v in ckpt["model_state"].values())
    assert evaluate(load_model(tmp_path / "last.pt", nations), nations, "valid").mrr > 0


def test_inconsistent_settings_are_explained(nations):
    with pytest.raises(ConfigError, match="sampled subgraph"):
        train(nations, TrainConfig(**dict(FAST, model="rgcn", model_kwargs={"dim": 8}, mode="sampled",
                                          loss="1-N")), progress=False)
    with pytest.raises(ConfigError, match="reciprocal=False"):
        train(nations, TrainConfig(**dict(FAST, loss="native")), progress=False)


def test_native_pyg_loss_baseline_runs(nations):
    cfg = TrainConfig(model="rotate", model_kwargs={"dim": 16, "reciprocal": False}, loss="native",
                      epochs=2, eval_every=1, optimizer="adam", lr=0.01)
    result = train(nations, cfg, progress=False)
    assert result.loss == "native" and result.best_valid_mrr > 0


def test_calibration_lowers_expected_calibration_error(nations, trained):
    model = trained.model
    test_logits, test_labels = calibration_set(model, nations, "test", seed=1)
    raw = expected_calibration_error(Calibrator("identity", {})(test_logits), test_labels)
    for method in ("platt", "isotonic"):
        calibrator = fit_calibrator(model, nations, method)
        after = expected_calibration_error(calibrator(test_logits), test_labels)
        assert after < raw, (method, after, raw)
    platt = fit_calibrator(model, nations, "platt")
    probs = platt(test_logits)
    assert 0.0 <= float(probs.min()) and float(probs.max()) <= 1.0


def test_score_facts_and_propose(nations, trained, tmp_path):
    model = trained.model
    calibrator = fit_calibrator(model, nations, "platt")
    calibrator.save(tmp_path / "calibration.json")
    calibrator = Calibrator.load(tmp_path / "calibration.json")
    known = nations.decode_triples(nations.test[:20])
    probs = score_facts(model, nations, known, calibrator=calibrator)
    assert probs.shape == (20,) and bool(((probs >= 0) & (probs <= 1)).all())
    logits = score_facts(model, nations, nations.test[:20])
    assert torch.allclose(calibrator(logits), probs)
    proposals = propose(model, nations, "militaryalliance", k=5, threshold=0.0, calibrator=calibrator)
    assert 0 < len(proposals) <= 5
    assert [p.score for p in proposals] == sorted((p.score for p in proposals), reverse=True)
    known_set = set(nations.decode_triples(nations.all_triples()))
    assert all((p.subject, p.predicate, p.object) not in known_set for p in proposals)
    assert all(p.subject != p.object for p in proposals)
    assert propose(model, nations, "militaryalliance", k=5, threshold=1.01, calibrator=calibrator) == []
    with pytest.raises(GraphDataError, match="unknown relation"):
        propose(model, nations, "nope")
