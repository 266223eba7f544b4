"""Workspace glue for ``kg complete``: train or load a model, write its scores and proposals as a batch.

:func:`complete` is what the command runs::

    train_or_load(ws, config)          # ws/models/gnn: best.pt, calibration.json (resumes last.pt)
    score_facts(...)                   # calibrated plausibility of every extracted/imported fact
    propose(...) per relation          # top-k new facts above the threshold
    commit one batch                   # scores + inferred facts (source=inferred, model=name@version)
    sync the configured stores

A new run replaces the inferred facts of earlier runs (their batches are retracted in the same commit,
so nothing is proposed twice); :func:`remove_batch` withdraws one completion batch (or all of them).
Inferred facts are evidence rows without a document (see :mod:`kg.model`), so they never count as text
support: a later build that reads the same fact from a document turns it into an extracted fact.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow.compute as pc
import pyarrow.parquet as pq

from gnn.data import KGData, TextEmbedder, from_graph
from gnn.inference import Calibrator, fit_calibrator, propose, score_facts
from gnn.models import LinkPredictor
from gnn.training import TrainConfig, TrainResult, load_model, train
from kg.bundle import inferred_tables
from kg.errors import CheckpointError, ConfigError, WorkspaceError

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
    try:
        if finished and not retrain:
            model = load_model(folder, data)
        else:
            result = train(data, config, checkpoint_dir=folder, resume=not retrain, progress=progress)
            model = result.model
            (folder / "last.pt").unlink(missing_ok=True)  # finished: the next run loads best.pt
    except CheckpointError as exc:
        raise CheckpointError(f"{exc}; from the command line: `kg complete -w {ws.path} --retrain`") from None
    calibration_path = folder / CALIBRATION_FILE
    if calibration_path.exists() and result is None:
        calibrator = Calibrator.load(calibration_path)
    else:
        calibrator = fit_calibrator(model, data, calibration, seed=config.seed)
        calibrator.save(calibration_path)
    return data, model, calibrator, result


def model_name(folder: Path, model: LinkPredictor) -> str:
    """``name@version`` of a trained model: its registry name and a digest of its checkpoint."""
    digest = hashlib.sha256((folder / "best.pt").read_bytes()).hexdigest()[:12]
    return f"{model.spec.get('name', type(model).__name__.lower())}@{digest}"


@dataclass
class CompletionSummary:
    """What :func:`complete` wrote.

    Attributes:
        batch: the committed batch id.
        model: ``name@version`` recorded on every score and inferred fact.
        scored: extracted/imported facts given a plausibility score.
        proposed: relation -> inferred facts written.
        best: the highest-scoring inferred facts as (subject name, predicate, object name, score).
        threshold: the lowest score a new fact needed.
        replaced: earlier completion batches retracted by this one.
        stores: store kind -> sync status.
        train: the training run, or None when a trained model was loaded.
    """

    batch: str
    model: str
    scored: int
    threshold: float = 0.7
    proposed: dict[str, int] = field(default_factory=dict)
    best: list[tuple[str, str, str, float]] = field(default_factory=list)
    replaced: list[str] = field(default_factory=list)
    stores: dict[str, str] = field(default_factory=dict)
    train: TrainResult | None = None


def complete(ws, config: TrainConfig | None = None, *, k: int = 10, threshold: float = 0.7,
             relations: Sequence[str] | None = None, open_relations: bool = False, candidates: str = "observed",
             calibration: str = "platt", retrain: bool = False, keep_previous: bool = False,
             progress: bool = True, on_stage: Callable[[str, int, int], None] | None = None,
             trained: tuple[KGData, LinkPredictor, Calibrator, TrainResult | None] | None = None,
             ) -> CompletionSummary:
    """Score every fact and propose new ones as one batch, then sync the configured stores.

    Args:
        ws: an opened workspace, locked by the caller.
        config: training settings (used when no finished model matches the graph, or ``retrain``).
        k: most proposals per relation.
        threshold: lowest calibrated score of a proposal, in [0, 1].
        relations: relations to propose facts for (default: every schema relation of the graph).
        open_relations: also propose facts for open relations (verb lemmas); they are noisy, so
            only on request. Ignored when ``relations`` names them.
        candidates: heads/tails considered: ``observed``, ``typed`` (schema) or ``all``.
        calibration: see :func:`train_or_load`.
        retrain: train from scratch even if a model exists.
        keep_previous: keep the inferred facts of earlier runs instead of replacing them.
        progress: training progress bar.
        on_stage: progress callback ``(stage, done, total)`` for scoring, proposing and syncing.
        trained: the result of an earlier :func:`train_or_load` call, to skip loading again.

    Raises:
        ConfigError: ``k`` or ``threshold`` out of range, an unknown relation.
        GraphDataError, CheckpointError, TrainingError: see :func:`train_or_load`.
    """
    from kg.sync import sync_stores

    if k < 1:
        raise ConfigError(f"--top-k must be at least 1, got {k}")
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"--threshold is a calibrated probability in [0, 1], got {threshold}")
    stage = on_stage or (lambda name, done, total: None)
    data, model, calibrator, result = trained or train_or_load(ws, config, retrain=retrain, progress=progress,
                                                               calibration=calibration)
    view = ws.bundle.view()
    is_open = dict(zip(view.facts["predicate"].to_pylist(), view.facts["open"].to_pylist(), strict=True))
    if relations:
        wanted = list(dict.fromkeys(relations))
        unknown = [r for r in wanted if r not in data.relations]
        if unknown:
            raise ConfigError(f"unknown relation(s) {unknown[:5]}; the graph has: "
                              f"{', '.join(data.relations[:20])}")
    else:
        wanted = [r for r in data.relations if open_relations or not is_open.get(r)]
    name = model_name(model_dir(ws), model)
    batch = ws.bundle.next_batch_id()

    known = view.facts.filter(pc.not_equal(view.facts["source"], "inferred"))
    stage("score facts", 0, known.num_rows)
    triples = list(zip(known["subject"].to_pylist(), known["predicate"].to_pylist(), known["object"].to_pylist(),
                       strict=True))
    device = next(model.parameters()).device
    z = model.encode_all(data, device)
    plausibility = score_facts(model, data, triples, calibrator=calibrator, z=z).tolist()
    stage("score facts", known.num_rows, known.num_rows)

    rows, proposed = [], {}
    for done, relation in enumerate(wanted):
        stage("propose", done, len(wanted))
        found = propose(model, data, relation, k, threshold, calibrator=calibrator, candidates=candidates, z=z)
        proposed[relation] = len(found)
        rows += [{"subject": p.subject, "predicate": p.predicate, "object": p.object,
                  "open": bool(is_open.get(relation)), "score": p.score} for p in found]
    stage("propose", len(wanted), len(wanted))

    replaced = [] if keep_previous else completion_batches(ws.bundle)
    ws.bundle.commit(batch, inferred_tables(batch, name, rows, dict(zip(known["id"].to_pylist(), plausibility,
                                                                        strict=True)), replaced))
    status = sync_stores(ws, progress=stage)
    names = dict(zip(view.entities["id"].to_pylist(), view.entities["name"].to_pylist(), strict=True))
    best = sorted(rows, key=lambda r: (-r["score"], r["subject"], r["predicate"], r["object"]))[:10]
    return CompletionSummary(
        batch=batch, model=name, scored=known.num_rows, threshold=threshold, proposed=proposed, replaced=replaced, stores=status,
        train=result, best=[(names.get(r["subject"], r["subject"]), r["predicate"], names.get(r["object"], r["object"]),
                             r["score"]) for r in best])


def completion_batches(bundle) -> list[str]:
    """Live completion batches: ones that added scores or inferred facts and were not retracted."""
    retracted = bundle.retracted_batches()
    found = []
    for batch in bundle.batches:
        folder = bundle.batches_dir / batch
        rows = {name: pq.ParquetFile(folder / f"{name}.parquet").metadata.num_rows
                for name in ("documents", "tombstones", "scores", "evidence")
                if (folder / f"{name}.parquet").exists()}
        if batch in retracted or rows.get("documents") or rows.get("tombstones") \
                or not (rows.get("scores") or rows.get("evidence")):
            continue
        sources = set(pq.read_table(folder / "evidence.parquet", columns=["source"]).column(0).to_pylist()) \
            if rows.get("evidence") else set()
        if sources <= {"inferred"}:  # evidence of anything else is not ours to withdraw
            found.append(batch)
    return found


def remove_batch(ws, batch: str) -> tuple[str, list[str]]:
    """Withdraw a completion batch (its scores and inferred facts), or ``all`` of them; sync the stores.

    Args:
        ws: an opened workspace, locked by the caller.
        batch: a batch id from ``kg complete`` (see :func:`completion_batches`) or ``all``.

    Returns:
        (the batch that records the removal, the batches removed).

    Raises:
        WorkspaceError: ``batch`` is not a live completion batch (the message lists them).
    """
    from kg.sync import sync_stores

    live = completion_batches(ws.bundle)
    removed = live if batch == "all" else [batch]
    if not live or any(b not in live for b in removed):
        listed = ", ".join(live) or "none"
        raise WorkspaceError(f"{batch!r} is not a batch of inferred facts that can be removed (live completion "
                             f"batches: {listed}); documents are removed by deleting them from the corpus "
                             "and running `kg build` again")
    record = ws.bundle.next_batch_id()
    ws.bundle.commit(record, inferred_tables(record, "", [], {}, removed))
    sync_stores(ws)
    return record, removed
