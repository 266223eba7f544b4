"""Training loop: 1-N or negative-sampling losses, early stopping on validation MRR, checkpoints, resume.

* **Losses.** ``1-N``: every training query ``(h, r)`` (and ``(t, r + R)`` for reciprocal models)
  is scored against all entities with a softmax cross-entropy (Lacroix et al., 2018; Ruffinelli et
  al., 2020), plus an optional N3 penalty. ``negatives``: each positive against ``num_negatives``
  corrupted tails (uniform or type-constrained), logistic loss with optional self-adversarial
  weighting (Sun et al., 2019). ``native``: a PyG KGE model's own ``loss``. ``auto`` picks 1-N while
  the entity count is small enough to score every entity per query, negatives otherwise.
* **Full batch vs. sampled.** KGE models train on triple mini-batches. A graph encoder (R-GCN) runs
  over the whole training graph per step while it has at most ``max_full_edges`` message edges; on
  bigger graphs each step encodes only a neighbour-sampled subgraph around the batch
  (:class:`gnn.sampling.NeighborSampler`), so memory depends on batch size and fanouts, not on graph
  size.
* **Checkpoints** (in ``checkpoint_dir``, e.g. the workspace's ``models/`` folder): ``last.pt``
  (model + optimizer + history, written at each evaluation) and ``best.pt`` (best validation MRR).
  Both carry the data fingerprint (entity and relation id maps); resuming or loading against another
  graph is refused with an explanation. A NaN/inf loss stops training with :class:`TrainingError`
  and never overwrites the last good checkpoint.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from gnn.data import KGData
from gnn.evaluation import FilterIndex, evaluate
from gnn.models import LinkPredictor, make_model, make_sampler
from gnn.sampling import NeighborSampler
from kg.errors import CheckpointError, ConfigError, TrainingError

CHECKPOINT_FORMAT = 1


@dataclass
class TrainConfig:
    """Everything that decides how a model is trained (saved in checkpoints).

    Attributes:
        model: registry name (see :data:`gnn.models.MODELS`).
        model_kwargs: constructor arguments (``dim``, ``decoder``, ``layers``, ...).
        epochs: maximum epochs.
        batch_size: training queries per step.
        lr: learning rate.
        optimizer: ``adam``, ``adagrad`` or ``sparse_adam`` (KGE models with ``sparse=True``).
        loss: ``auto``, ``1-N``, ``negatives`` or ``native``.
        num_negatives: corrupted tails per positive (``negatives`` loss).
        sampler: ``uniform``, ``typed`` (schema domain/range) or ``observed`` (types seen in train).
        adversarial_temperature: self-adversarial weighting of negatives (0 = plain average).
        regularization: weight of the N3 penalty.
        label_smoothing: for the 1-N cross-entropy.
        eval_every: epochs between validation runs (early stopping granularity).
        patience: validation runs without improvement before stopping.
        eval_max_triples: validation triples ranked per run (None = all).
        mode: ``auto``, ``full`` or ``sampled`` (graph encoders only).
        fanouts: neighbours sampled per hop in ``sampled`` mode (one per encoder layer).
        max_full_edges: largest message graph trained full-batch in ``auto`` mode.
        max_1n_entities: largest entity count for which ``auto`` picks the 1-N loss.
        max_steps_per_epoch: cap steps per epoch (None = whole epoch); for timing runs.
        seed: seed for initialisation, batching and negatives.
        device: ``cpu``, ``cuda``, ... (None = CUDA when available).
    """

    model: str = "complex"
    model_kwargs: dict[str, Any] = field(default_factory=dict)
    epochs: int = 200
    batch_size: int = 256
    lr: float = 0.1
    optimizer: str = "adagrad"
    loss: str = "auto"
    num_negatives: int = 64
    sampler: str = "uniform"
    adversarial_temperature: float = 1.0
    regularization: float = 0.01
    label_smoothing: float = 0.0
    eval_every: int = 5
    patience: int = 5
    eval_max_triples: int | None = 10_000
    mode: str = "auto"
    fanouts: list[int] = field(default_factory=lambda: [10, 5])
    max_full_edges: int = 1_000_000
    max_1n_entities: int = 20_000
    max_steps_per_epoch: int | None = None
    seed: int = 0
    device: str | None = None


@dataclass
class TrainResult:
    """What :func:`train` did; ``model`` holds the best validation state (eval mode)."""

    model: LinkPredictor
    best_epoch: int
    best_valid_mrr: float
    epochs_run: int
    history: list[dict[str, float]]
    stopped_early: bool
    loss: str
    mode: str
    seconds: float
    checkpoint_dir: Path | None = None


# --- checkpoints -------------------------------------------------------------------------------------


def _data_stamp(data: KGData) -> dict[str, Any]:
    return {"fingerprint": data.fingerprint, "entities": list(data.entities),
            "relations": list(data.relations), "name": data.name}


def check_compatible(stamp: dict[str, Any], data: KGData, path: Path | str) -> None:
    """Refuse a checkpoint trained on another graph, saying what differs.

    Raises:
        CheckpointError: the entity or relation id maps differ.
    """
    if stamp["fingerprint"] == data.fingerprint:
        return
    old_e, new_e = set(stamp["entities"]), set(data.entities)
    old_r, new_r = set(stamp["relations"]), set(data.relations)
    parts = []
    if old_e != new_e:
        parts.append(f"entities: {len(old_e)} in the checkpoint vs {len(new_e)} now "
                     f"({len(new_e - old_e)} new, e.g. {sorted(new_e - old_e)[:3]}; "
                     f"{len(old_e - new_e)} gone, e.g. {sorted(old_e - new_e)[:3]})")
    if old_r != new_r:
        parts.append(f"relations: {len(old_r)} vs {len(new_r)} ({sorted(new_r ^ old_r)[:5]} differ)")
    if not parts:
        parts.append("same labels in a different order")
    raise CheckpointError(
        f"checkpoint {path} was trained on a different graph ({stamp.get('name')!r}): " + "; ".join(parts)
        + ". Its embeddings are indexed by those id maps and cannot be reused; retrain (use a fresh "
        "checkpoint folder or resume=False) on the current graph")


def _atomic_save(obj: dict, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def _read_checkpoint(path: Path) -> dict:
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt/truncated file or not a checkpoint at all
        raise CheckpointError(f"cannot read checkpoint {path} ({exc}); delete it and retrain") from exc
    if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(f"{path} is not a kg model checkpoint (format {CHECKPOINT_FORMAT}); "
                              "delete it and retrain")
    return ckpt


def load_model(path: str | Path, data: KGData, device: str | None = None) -> LinkPredictor:
    """Rebuild a model from ``best.pt``/``last.pt`` (or a folder holding ``best.pt``) for ``data``.

    Raises:
        CheckpointError: missing/unreadable file, or trained on a different graph.
    """
    path = Path(path)
    if path.is_dir():
        path = path / "best.pt"
    if not path.exists():
        raise CheckpointError(f"no checkpoint at {path}; train a model first (`kg complete`)")
    ckpt = _read_checkpoint(path)
    check_compatible(ckpt["data"], data, path)
    model = make_model(ckpt["spec"]["name"], data, **ckpt["spec"]["kwargs"])
    model.load_state_dict(ckpt["model_state"])
    return model.to(device or "cpu").eval()


# --- the loop ----------------------------------------------------------------------------------------


def _resolve(config: TrainConfig, data: KGData, model: LinkPredictor) -> tuple[str, str]:
    mode = config.mode
    if mode == "auto":
        mode = "sampled" if model.uses_graph and 2 * len(data.train) > config.max_full_edges else "full"
    if mode not in ("full", "sampled"):
        raise ConfigError(f"unknown training mode {config.mode!r}; use auto, full or sampled")
    loss = config.loss
    if loss == "auto":
        loss = "1-N" if mode == "full" and data.num_entities <= config.max_1n_entities else "negatives"
    if loss not in ("1-N", "negatives", "native"):
        raise ConfigError(f"unknown loss {config.loss!r}; use auto, 1-N, negatives or native")
    if mode == "sampled" and loss == "1-N":
        raise ConfigError("the 1-N loss scores every entity, which a sampled subgraph does not hold; "
                          "use loss='negatives' (or 'auto') with mode='sampled'")
    if loss == "native" and (model.uses_graph or model.reciprocal):
        raise ConfigError("loss='native' is the PyG KGE models' own loss; it needs a KGE model with "
                          "reciprocal=False")
    return mode, loss


def _optimizer(config: TrainConfig, model: LinkPredictor) -> torch.optim.Optimizer:
    params = [p for p in model.parameters() if p.requires_grad]
    name = config.optimizer.lower()
    if name == "adam":
        return torch.optim.Adam(params, lr=config.lr)
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=config.lr)
    if name == "sparse_adam":
        return torch.optim.SparseAdam(params, lr=config.lr)
    raise ConfigError(f"unknown optimizer {config.optimizer!r}; use adam, adagrad or sparse_adam")


def _negative_loss(pos: torch.Tensor, neg: torch.Tensor, temperature: float) -> torch.Tensor:
    """Logistic loss of ``pos[B]`` against ``neg[B, K]``; self-adversarial weights when temperature > 0."""
    if temperature > 0:
        weights = torch.softmax(neg.detach() * temperature, dim=1)
        neg_term = (weights * F.softplus(neg)).sum(1)
    else:
        neg_term = F.softplus(neg).mean(1)
    return (F.softplus(-pos) + neg_term).mean()


def train(
    data: KGData,
    config: TrainConfig | None = None,
    *,
    checkpoint_dir: str | Path | None = None,
    resume: bool = True,
    progress: bool = True,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
    model: LinkPredictor | None = None,
) -> TrainResult:
    """Train a link predictor on ``data.train`` with early stopping on ``data.valid`` MRR.

    Args:
        data: split link-prediction data.
        config: how to train (defaults: :class:`TrainConfig`).
        checkpoint_dir: folder for ``last.pt``/``best.pt``; None keeps everything in memory.
        resume: continue from ``checkpoint_dir/last.pt`` when it exists.
        progress: show a rich progress bar on stderr.
        on_epoch: called with each history row (epoch, loss, valid_mrr, seconds).
        model: train this instance instead of building ``config.model`` (its ``spec`` is what
            checkpoints record).

    Raises:
        CheckpointError: ``last.pt`` was trained on another graph or with another model.
        TrainingError: the loss became NaN/inf (the last good checkpoint is kept).
        ConfigError: inconsistent settings (the message says which).
    """
    config = config or TrainConfig()
    device = torch.device(config.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    torch.manual_seed(config.seed)
    model = (model if model is not None else make_model(config.model, data, **config.model_kwargs)).to(device)
    mode, loss_name = _resolve(config, data, model)
    optimizer = _optimizer(config, model)
    sampler = make_sampler(config.sampler, data).to(device)
    generator = torch.Generator().manual_seed(config.seed)
    folder = Path(checkpoint_dir) if checkpoint_dir is not None else None

    start_epoch, best_mrr, best_epoch, bad_evals, history = 1, -1.0, 0, 0, []
    best_state = None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        last = folder / "last.pt"
        if resume and last.exists():
            ckpt = _read_checkpoint(last)
            check_compatible(ckpt["data"], data, last)
            if ckpt["spec"] != model.spec:
                raise CheckpointError(
                    f"checkpoint {last} holds model {ckpt['spec']}, not the requested {model.spec}; "
                    "pass the same model settings to resume, or use a fresh folder (resume=False)")
            model.load_state_dict(ckpt["model_state"])
            optimizer.load_state_dict(ckpt["optimizer_state"])
            start_epoch, best_mrr, best_epoch = ckpt["epoch"] + 1, ckpt["best_mrr"], ckpt["best_epoch"]
            bad_evals, history = ckpt["bad_evals"], ckpt["history"]
            generator.set_state(ckpt["generator"])
            torch.set_rng_state(ckpt["torch_rng"])
            if (folder / "best.pt").exists():
                best_state = _read_checkpoint(folder / "best.pt")["model_state"]

    train_triples = data.with_reciprocals(data.train).to(device)
    edge_index, edge_type = data.message_graph()
    edge_index, edge_type = edge_index.to(device), edge_type.to(device)
    neighbor_sampler = NeighborSampler(edge_index, edge_type, data.num_entities, config.fanouts) \
        if mode == "sampled" else None
    filter_index = FilterIndex(data.all_triples(), data.num_entities, data.num_relations)

    def step_loss(batch: torch.Tensor) -> torch.Tensor:
        h, q, t = batch.t()
        if loss_name == "native":
            return model.native_loss(h, q, t)
        B, K = len(h), config.num_negatives
        neg = None
        if loss_name == "negatives":
            neg = torch.randint(data.num_entities, (K,), device=device) if sampler.shared \
                else sampler(q, K, generator=None)
        if mode == "sampled" or (neg is not None and not model.uses_graph):
            # encode only the entities this batch touches (its subgraph, for graph encoders)
            seeds, inverse = torch.unique(torch.cat([h, t, neg.flatten()]), return_inverse=True)
            if model.uses_graph:
                nodes, sub_index, sub_type = neighbor_sampler.sample(seeds, generator)
                z = model.encode(sub_index.to(device), sub_type.to(device), nodes.to(device))
            else:
                z = model.encode(nodes=seeds)
            lh, lt, neg = inverse[:B], inverse[B:2 * B], inverse[2 * B:].view(neg.shape)
        else:
            z = model.encode(edge_index, edge_type) if model.uses_graph else model.encode()
            lh, lt = h, t
        if loss_name == "1-N":
            logits = model.score_tails(lh, q, z)
            loss = F.cross_entropy(logits, lt, label_smoothing=config.label_smoothing)
        else:
            pos = model.score_query_candidates(lh, q, lt.unsqueeze(1), z)[:, 0]
            negs = model.score_query_shared(lh, q, neg, z) if neg.dim() == 1 \
                else model.score_query_candidates(lh, q, neg, z)
            loss = _negative_loss(pos, negs, config.adversarial_temperature)
        if config.regularization:
            loss = loss + config.regularization * model.penalty(lh, q, lt, z)
        return loss

    def save(epoch: int, improved: bool) -> None:
        if folder is None:
            return
        stamp = _data_stamp(data)
        state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
        if improved:
            _atomic_save({"format": CHECKPOINT_FORMAT, "spec": model.spec, "data": stamp, "epoch": epoch,
                          "valid_mrr": best_mrr, "config": asdict(config), "model_state": state},
                         folder / "best.pt")
        _atomic_save({"format": CHECKPOINT_FORMAT, "spec": model.spec, "data": stamp, "epoch": epoch,
                      "config": asdict(config), "model_state": state,
                      "optimizer_state": optimizer.state_dict(), "best_mrr": best_mrr,
                      "best_epoch": best_epoch, "bad_evals": bad_evals, "history": history,
                      "generator": generator.get_state(), "torch_rng": torch.get_rng_state()},
                     folder / "last.pt")

    bar = None
    if progress:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        bar = Progress(TextColumn("train {task.fields[info]}"), BarColumn(), MofNCompleteColumn(),
                       TimeElapsedColumn(), console=Console(stderr=True), transient=False)
        task = bar.add_task("train", total=config.epochs, completed=start_epoch - 1, info="")
        bar.start()
    started = time.perf_counter()
    stopped_early = False
    epoch = start_epoch - 1
    model.train()
    try:
        for epoch in range(start_epoch, config.epochs + 1):
            t0 = time.perf_counter()
            perm = torch.randperm(len(train_triples), generator=generator).to(device)
            batches = train_triples[perm] if loss_name != "native" else data.train.to(device)[
                torch.randperm(len(data.train), generator=generator).to(device)]
            total, steps = 0.0, 0
            for batch in batches.split(config.batch_size):
                loss = step_loss(batch)
                if not torch.isfinite(loss):
                    kept = (f"the last good checkpoint {folder / 'last.pt'} is kept"
                            if folder is not None and (folder / "last.pt").exists()
                            else "no checkpoint had been written yet")
                    raise TrainingError(
                        f"training diverged: loss became {loss.item()} at epoch {epoch}, step {steps + 1}; "
                        f"{kept}. Lower the learning rate (now {config.lr}), add regularization, or "
                        "check the input features for NaN/inf, then train again")
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                total += loss.item()
                steps += 1
                if config.max_steps_per_epoch and steps >= config.max_steps_per_epoch:
                    break
            row = {"epoch": epoch, "loss": total / max(steps, 1), "seconds": time.perf_counter() - t0,
                   "steps": steps}
            evaluate_now = epoch % config.eval_every == 0 or epoch == config.epochs
            if evaluate_now:
                metrics = evaluate(model, data, "valid", per_relation=False, filter_index=filter_index,
                                   max_triples=config.eval_max_triples, device=device)
                row["valid_mrr"] = metrics.mrr
                improved = metrics.mrr > best_mrr
                if improved:
                    best_mrr, best_epoch, bad_evals = metrics.mrr, epoch, 0
                    best_state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
                else:
                    bad_evals += 1
                history.append(row)
                save(epoch, improved)
            else:
                history.append(row)
            if on_epoch is not None:
                on_epoch(row)
            if bar is not None:
                bar.update(task, completed=epoch,
                           info=f"loss {row['loss']:.4f} best valid MRR {max(best_mrr, 0):.3f}")
            if evaluate_now and bad_evals >= config.patience:
                stopped_early = True
                break
    finally:
        if bar is not None:
            bar.stop()
    if best_state is not None:
        model.load_state_dict(best_state)
    model.eval()
    return TrainResult(model=model, best_epoch=best_epoch, best_valid_mrr=best_mrr, epochs_run=epoch,
                       history=history, stopped_early=stopped_early, loss=loss_name, mode=mode,
                       seconds=time.perf_counter() - started, checkpoint_dir=folder)


def random_baseline_mrr(num_entities: int) -> float:
    """Expected MRR of a random ranking over ``num_entities`` candidates (no filtering)."""
    return sum(1.0 / k for k in range(1, num_entities + 1)) / num_entities


__all__ = ["TrainConfig", "TrainResult", "check_compatible", "load_model", "random_baseline_mrr", "train"]
