"""Workspace glue for ``kg complete``: data from the bundle, train-or-load in ``ws/models/gnn``, calibrate.

The CLI command stays a thin wrapper::

    data, model, calibrator, result = train_or_load(ws, TrainConfig(...), retrain=retrain)
    metrics = evaluate(model, data, "test")            # --evaluate
    scores = score_facts(model, data, data.all_triples(), calibrator=calibrator)
    proposals = propose(model, data, relation, k, threshold, calibrator=calibrator)

Writing scores and inferred facts into the bundle and the stores is the caller's job.
"""

from __future__ import annotations

from pathlib import Path

from gnn.data import KGData, TextEmbedder, from_graph
from gnn.inference import Calibrator, fit_calibrator
from gnn.models import LinkPredictor
from gnn.training import TrainConfig, TrainResult, load_model, train

MODEL_DIR = Path("models") / "gnn"
CALIBRATION_FILE = "calibration.json"


def model_dir(ws) -> Path:
    """Where a workspace keeps its link-prediction checkpoints (``ws/models/gnn``)."""
    return Path(ws.path) / MODEL_DIR


def workspace_data(ws, *, seed: int = 0, text_embedder: TextEmbedder | None = None) -> KGData:
    """Split link-prediction data of a workspace's live graph (extracted and imported facts only).

    Raises:
        GraphDataError: the graph is too small to split (the message names the minimum).
    """
    from kg.build import load_workspace_schema

    return from_graph(ws.bundle.view(), schema=load_workspace_schema(ws), seed=seed,
                      text_embedder=text_embedder, name=str(ws.path))


def train_or_load(ws, config: TrainConfig | None = None, *, retrain: bool = False, progress: bool = True,
                  calibration: str = "platt") -> tuple[KGData, LinkPredictor, Calibrator, TrainResult | None]:
    """Load the workspace's trained model, or train one (resuming an interrupted run), then calibrate.

    Args:
        ws: an opened :class:`kg.workspace.Workspace`.
        config: training settings (its ``seed`` also fixes the split).
        retrain: ignore existing checkpoints and train from scratch.
        calibration: ``platt``, ``isotonic``, ``temperature`` or ``identity``; fitted on validation
            and saved next to the checkpoints.

    Returns:
        ``(data, model, calibrator, result)``; ``result`` is None when a finished model was loaded.

    Raises:
        CheckpointError: the saved model was trained on another version of the graph (pass
            ``retrain=True``).
        GraphDataError, TrainingError, ConfigError: see :func:`gnn.training.train`.
    """
    config = config or TrainConfig()
    data = workspace_data(ws, seed=config.seed)
    folder = model_dir(ws)
    finished = (folder / "best.pt").exists() and not (folder / "last.pt").exists()
    result = None
    if finished and not retrain:
        model = load_model(folder, data)
    else:
        result = train(data, config, checkpoint_dir=folder, resume=not retrain, progress=progress)
        model = result.model
        (folder / "last.pt").unlink(missing_ok=True)  # finished: the next run loads best.pt
    calibration_path = folder / CALIBRATION_FILE
    if calibration_path.exists() and result is None:
        calibrator = Calibrator.load(calibration_path)
    else:
        calibrator = fit_calibrator(model, data, calibration, seed=config.seed)
        calibrator.save(calibration_path)
    return data, model, calibrator, result
