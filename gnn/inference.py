"""Inference: score facts, propose missing ones, and calibrate scores into probabilities.

A model's raw scores (logits) rank well but are not probabilities: ``sigmoid(logit) = 0.9`` need not
mean that 90% of such facts are true. :func:`fit_calibrator` fits a monotone map on the validation
split (Platt scaling, temperature scaling, or isotonic regression; Safavi et al., 2020, "Evaluating the
Calibration of Knowledge Graph Embeddings") so that, on facts like the ones the model is asked about,
a calibrated 0.9 is right about 90% of the time. :func:`reliability` and
:func:`expected_calibration_error` measure that on held-out data.

Calibration data: each held-out true triple is a positive; for each positive, ``negatives`` triples
with a corrupted head or tail are negatives. Negatives are drawn from the model's own score
distribution over candidates that are not known facts (``"model"``, the hard cases a proposal list
contains) or uniformly (``"uniform"``). In an incomplete graph some "negatives" are true but unknown,
so calibrated probabilities are, if anything, conservative.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from gnn.evaluation import FilterIndex
from kg.errors import ConfigError, GraphDataError


def _as_triples(data, triples) -> Tensor:
    if isinstance(triples, Tensor):
        return triples.long().view(-1, 3)
    return data.encode_triples(triples)


@torch.no_grad()
def score_facts(model, data, triples, *, calibrator: Calibrator | None = None, batch_size: int = 65536,
                z: Tensor | None = None) -> Tensor:
    """Plausibility of each triple.

    Args:
        model: a trained :class:`gnn.models.LinkPredictor`.
        data: the :class:`gnn.data.KGData` it was trained on.
        triples: ``LongTensor[T, 3]`` ids or an iterable of ``(subject, predicate, object)`` labels.
        calibrator: turns logits into probabilities; without one, raw logits are returned.
        z: precomputed entity representations.

    Returns:
        ``FloatTensor[T]`` (probabilities with a calibrator, logits otherwise), on the CPU.

    Raises:
        GraphDataError: a label is unknown to the model.
    """
    triples = _as_triples(data, triples)
    model.eval()
    device = next(model.parameters()).device
    z = model.encode_all(data, device) if z is None else z
    out = [model.score_triples(*b.to(device).t(), z).float().cpu() for b in triples.split(batch_size)]
    logits = torch.cat(out) if out else torch.empty(0)
    return calibrator(logits) if calibrator is not None else logits


@dataclass
class Proposal:
    """A proposed fact with its score (calibrated probability when a calibrator was given)."""

    subject: str
    predicate: str
    object: str
    score: float
    logit: float


def _pool(pools, q: int, num_entities: int) -> Tensor:
    if pools is None:
        return torch.arange(num_entities)
    ptr, ids = pools
    return ids[ptr[q]:ptr[q + 1]]


@torch.no_grad()
def propose(model, data, relation: str | int, k: int = 10, threshold: float = 0.5, filter_known: bool = True,
            *, calibrator: Calibrator | None = None, candidates: str = "observed", allow_self_loops: bool | None = None,
            chunk: int = 1024, z: Tensor | None = None) -> list[Proposal]:
    """Top-``k`` new ``(head, relation, tail)`` facts scoring at least ``threshold``.

    Args:
        relation: relation label or id.
        k: most proposals returned.
        threshold: minimum score (calibrated probability with a calibrator, else ``sigmoid(logit)``).
        filter_known: skip triples already in the graph (train, valid and test).
        candidates: which heads/tails to consider: ``"observed"`` (entities of the types seen with
            this relation), ``"typed"`` (schema domain/range), or ``"all"``. Entities that never
            occur in training are skipped (their embeddings are untrained).
        allow_self_loops: propose ``(e, r, e)``; default: only if the relation has self-loops.
        chunk: heads scored per step (memory ``chunk x tails``).

    Returns:
        Proposals sorted by score, best first.
    """
    if isinstance(relation, str) and relation not in data.relations:
        raise GraphDataError(f"unknown relation {relation!r}; known: {', '.join(data.relations[:20])}")
    rel = data.relations.index(relation) if isinstance(relation, str) else int(relation)
    if candidates not in ("observed", "typed", "all"):
        raise ConfigError(f"unknown candidates {candidates!r}; use observed, typed or all")
    pools = None if candidates == "all" else data.candidate_pools(source="schema" if candidates == "typed"
                                                                   else "observed")
    R, N = data.num_relations, data.num_entities
    seen = data.seen_in_train()
    heads = _pool(pools, rel + R, N)
    tails = _pool(pools, rel, N)
    heads, tails = heads[seen[heads]], tails[seen[tails]]
    if len(heads) == 0 or len(tails) == 0:
        return []
    known = data.all_triples()
    if allow_self_loops is None:
        allow_self_loops = bool(((known[:, 1] == rel) & (known[:, 0] == known[:, 2])).any())
    index = FilterIndex(known, N, R) if filter_known else None
    model.eval()
    device = next(model.parameters()).device
    z = model.encode_all(data, device) if z is None else z
    tails_d = tails.to(device)
    best_logit = torch.empty(0)
    best_pairs = torch.empty(0, 2, dtype=torch.long)
    for head_chunk in heads.split(chunk):
        logits = model.score_pairs(head_chunk.to(device), rel, tails_d, z).float().cpu()
        if index is not None:
            known_mask = index.mask(head_chunk, torch.full_like(head_chunk, rel))[:, tails]
            logits[known_mask] = float("-inf")
        if not allow_self_loops:
            logits[head_chunk.unsqueeze(1) == tails.unsqueeze(0)] = float("-inf")
        flat = logits.flatten()
        top = torch.topk(flat, min(k, len(flat)))
        pairs = torch.stack([head_chunk[top.indices // len(tails)], tails[top.indices % len(tails)]], 1)
        best_logit = torch.cat([best_logit, top.values])
        best_pairs = torch.cat([best_pairs, pairs])
        keep = torch.topk(best_logit, min(k, len(best_logit))).indices
        best_logit, best_pairs = best_logit[keep], best_pairs[keep]
    finite = torch.isfinite(best_logit)
    best_logit, best_pairs = best_logit[finite], best_pairs[finite]
    scores = calibrator(best_logit) if calibrator is not None else torch.sigmoid(best_logit)
    out = [Proposal(data.entities[h], data.relations[rel], data.entities[t], float(s), float(lg))
           for (h, t), s, lg in zip(best_pairs.tolist(), scores, best_logit) if s >= threshold]
    return sorted(out, key=lambda p: -p.score)


# --- calibration -------------------------------------------------------------------------------------


def _isotonic(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pool-adjacent-violators: non-decreasing fit of ``y`` over ``x``.

    Returns:
        Knots ``(kx, ky)``: each pooled block contributes its first and last ``x`` at its mean ``y``,
        so ``np.interp`` is flat inside blocks and linear between them.
    """
    order = np.argsort(x, kind="stable")
    x, y = x[order], y[order].astype(float)
    blocks: list[list[float]] = []  # [sum_y, count, x_first, x_last]
    for xi, yi in zip(x.tolist(), y.tolist()):
        blocks.append([yi, 1.0, xi, xi])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            last = blocks.pop()
            blocks[-1][0] += last[0]
            blocks[-1][1] += last[1]
            blocks[-1][3] = last[3]
    kx = np.array([[b[2], b[3]] for b in blocks]).reshape(-1)
    ky = np.repeat([b[0] / b[1] for b in blocks], 2)
    return kx, ky


class Calibrator:
    """A fitted monotone map from logits to probabilities.

    Methods: ``platt`` (``sigmoid(a * s + b)``), ``temperature`` (``sigmoid(s / T)``), ``isotonic``
    (step function fitted by pool-adjacent-violators, interpolated between knots), ``identity``
    (``sigmoid(s)``, the uncalibrated baseline).
    """

    def __init__(self, method: str, params: dict) -> None:
        self.method, self.params = method, params

    def __call__(self, logits: Tensor) -> Tensor:
        s = logits.double().cpu()
        if self.method == "identity":
            return torch.sigmoid(s).float()
        if self.method in ("platt", "temperature"):
            return torch.sigmoid(self.params["a"] * s + self.params["b"]).float()
        if self.method == "isotonic":
            kx, ky = np.asarray(self.params["x"]), np.asarray(self.params["y"])
            return torch.from_numpy(np.interp(s.numpy(), kx, ky)).float()
        raise ConfigError(f"unknown calibration method {self.method!r}")

    def to_dict(self) -> dict:
        return {"method": self.method, "params": self.params}

    @classmethod
    def from_dict(cls, raw: dict) -> Calibrator:
        return cls(raw["method"], raw["params"])

    def save(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict()), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> Calibrator:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


@torch.no_grad()
def calibration_set(model, data, split: str = "valid", *, negatives: int = 2, sampling: str = "model",
                    seed: int = 0, max_positives: int | None = 20_000) -> tuple[Tensor, Tensor]:
    """Logits and 0/1 labels of held-out positives plus corrupted negatives (see module docstring).

    Args:
        split: "valid" to fit, "test" to measure.
        negatives: negatives per positive, alternating tail and head corruption.
        sampling: ``"model"`` (from the model's softmax over unknown candidates) or ``"uniform"``.

    Returns:
        ``logits[M]`` and ``labels[M]`` (float 0/1).
    """
    positives = getattr(data, split)
    gen = torch.Generator().manual_seed(seed)
    if max_positives is not None and len(positives) > max_positives:
        positives = positives[torch.randperm(len(positives), generator=gen)[:max_positives]]
    model.eval()
    device = next(model.parameters()).device
    z = model.encode_all(data, device)
    index = FilterIndex(data.all_triples(), data.num_entities, data.num_relations)
    R = data.num_relations
    allowed = data.seen_in_train()
    neg_rows = []
    for i in range(negatives):
        h, r, t = positives.t()
        anchor, q = (h, r) if i % 2 == 0 else (t, r + R)
        logits = model.score_tails(anchor.to(device), q.to(device), z).float().cpu()
        bad = index.mask(anchor, q) | ~allowed.unsqueeze(0)
        if sampling == "model":
            weights = torch.softmax(logits.masked_fill(bad, float("-inf")), dim=1)
        elif sampling == "uniform":
            weights = (~bad).float()
        else:
            raise ConfigError(f"unknown negative sampling {sampling!r}; use model or uniform")
        ok = weights.sum(1) > 0
        if not ok.any():
            continue
        weights = torch.nan_to_num(weights[ok], nan=0.0)
        pick = torch.multinomial(weights, 1, generator=gen).view(-1)
        a, qq = anchor[ok], q[ok]
        neg_rows.append(torch.stack([a, qq, pick], 1) if i % 2 == 0 else torch.stack([pick, qq - R, a], 1))
    negs = torch.cat(neg_rows) if neg_rows else torch.empty(0, 3, dtype=torch.long)
    logits = torch.cat([score_facts(model, data, positives, z=z), score_facts(model, data, negs, z=z)])
    labels = torch.cat([torch.ones(len(positives)), torch.zeros(len(negs))])
    return logits, labels


def fit_calibrator(model, data, method: str = "platt", *, split: str = "valid", negatives: int = 2,
                   sampling: str = "model", seed: int = 0) -> Calibrator:
    """Fit a :class:`Calibrator` on ``split`` (validation by default; never the test split you report).

    Raises:
        ConfigError: unknown method.
    """
    if method == "identity":
        return Calibrator("identity", {})
    if method not in ("platt", "temperature", "isotonic"):
        raise ConfigError(f"unknown calibration method {method!r}; use platt, temperature, isotonic or identity")
    logits, labels = calibration_set(model, data, split, negatives=negatives, sampling=sampling, seed=seed)
    return fit_calibrator_from_scores(logits, labels, method)


def fit_calibrator_from_scores(logits: Tensor, labels: Tensor, method: str = "platt") -> Calibrator:
    """Fit on given ``logits[M]`` and 0/1 ``labels[M]``."""
    if method == "isotonic":
        kx, ky = _isotonic(logits.double().numpy(), labels.double().numpy())
        return Calibrator("isotonic", {"x": kx.tolist(), "y": ky.tolist()})
    s, y = logits.double(), labels.double()
    if method == "temperature":
        return Calibrator("temperature", {"a": _fit_temperature(s, y), "b": 0.0})
    # standardize so LBFGS is well conditioned whatever the logit scale
    mu, sd = float(s.mean()), float(s.std().clamp_min(1e-6))
    x = (s - mu) / sd
    a = torch.ones((), dtype=torch.float64, requires_grad=True)
    b = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([a, b], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(a * x + b, y)
        loss.backward()
        return loss

    opt.step(closure)
    a_, b_ = a.item(), b.item()
    return Calibrator("platt", {"a": a_ / sd, "b": b_ - a_ * mu / sd})


def _fit_temperature(s: Tensor, y: Tensor) -> float:
    log_a = torch.zeros((), dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([log_a], max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(log_a.exp() * s, y)
        loss.backward()
        return loss

    opt.step(closure)
    return log_a.exp().item()


def reliability(probs: Tensor, labels: Tensor, bins: int = 10) -> list[dict[str, float]]:
    """Reliability diagram rows: per equal-width probability bin, mean prediction, observed rate, count."""
    probs, labels = probs.double(), labels.double()
    idx = torch.clamp((probs * bins).long(), max=bins - 1)
    rows = []
    for b in range(bins):
        sel = idx == b
        n = int(sel.sum())
        if n:
            rows.append({"bin": b, "low": b / bins, "high": (b + 1) / bins, "mean_predicted": float(probs[sel].mean()),
                         "observed": float(labels[sel].mean()), "count": n})
    return rows


def expected_calibration_error(probs: Tensor, labels: Tensor, bins: int = 10) -> float:
    """ECE: count-weighted mean of ``|mean predicted - observed|`` over equal-width bins."""
    rows = reliability(probs, labels, bins)
    total = sum(r["count"] for r in rows)
    return sum(r["count"] * abs(r["mean_predicted"] - r["observed"]) for r in rows) / total if total else math.nan
