"""Filtered-rank evaluation of link prediction: MRR and Hits@k, both directions, per relation.

Protocol (Bordes et al., 2013, "filtered" setting): every test triple ``(h, r, t)`` gives a tail query
``(h, r, ?)`` and a head query ``(?, r, t)``. The true answer is ranked against all entities; in the
filtered setting every *other* entity that forms a known true triple (train + valid + test) is
removed from the candidates first, so a model is not punished for ranking another correct answer
higher. The raw setting removes nothing.

Ties get the *realistic* rank, the expected rank under random tie-breaking (Berrendorf et al.,
2020): ``rank = 1 + #greater + #equal / 2`` where ``#equal`` counts other candidates with exactly the
target's score. A model that scores everything the same thus ranks in the middle, not first. NaN
scores count as the worst score.

``MRR = mean(1 / rank)``, ``Hits@k = mean(rank <= k)`` over both directions ("both"), and per
direction and per relation.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from torch import Tensor


def realistic_rank(scores: Tensor, target: Tensor, filter_mask: Tensor | None = None) -> Tensor:
    """Expected rank of each target among its row's candidates.

    Args:
        scores: ``[B, N]`` candidate scores (higher = more plausible).
        target: ``[B]`` column of the true answer in each row.
        filter_mask: optional ``BoolTensor[B, N]``; True marks candidates to drop (other true
            answers). The target itself is never dropped.

    Returns:
        ``FloatTensor[B]`` ranks ``1 + #greater + #equal / 2`` (1 = best).
    """
    scores = torch.nan_to_num(scores.float(), nan=float("-inf"))
    rows = torch.arange(len(target), device=scores.device)
    own = scores[rows, target].unsqueeze(1)
    keep = torch.ones_like(scores, dtype=torch.bool) if filter_mask is None else ~filter_mask
    keep[rows, target] = False  # the target is not its own competitor
    greater = ((scores > own) & keep).sum(1)
    equal = ((scores == own) & keep).sum(1)
    return 1.0 + greater.float() + equal.float() / 2.0


class FilterIndex:
    """All known true answers of every query, as CSR over query keys ``anchor * 2R + q``.

    A triple ``(h, r, t)`` makes ``t`` a true answer of query ``(h, r)`` and ``h`` one of the
    inverse query ``(t, r + R)``.
    """

    def __init__(self, triples: Tensor, num_entities: int, num_relations: int) -> None:
        self.num_entities, self.num_relations = num_entities, num_relations
        h, r, t = triples.t()
        anchors = torch.cat([h, t])
        queries = torch.cat([r, r + num_relations])
        answers = torch.cat([t, h])
        keys = anchors * (2 * num_relations) + queries
        keys, order = torch.sort(keys, stable=True)
        self.answers = answers[order]
        self.keys, counts = torch.unique_consecutive(keys, return_counts=True)
        self.ptr = torch.cat([torch.zeros(1, dtype=torch.long), counts.cumsum(0)])

    def mask(self, anchor: Tensor, q: Tensor) -> Tensor:
        """``BoolTensor[B, N]``: True where the candidate is a known answer of query ``(anchor, q)``."""
        device = anchor.device
        keys = (anchor * (2 * self.num_relations) + q).cpu()
        pos = torch.searchsorted(self.keys, keys).clamp_max(len(self.keys) - 1)
        found = self.keys[pos] == keys
        start = torch.where(found, self.ptr[pos], 0)
        count = torch.where(found, self.ptr[pos + 1] - self.ptr[pos], 0)
        rows = torch.repeat_interleave(torch.arange(len(keys)), count)
        offsets = torch.arange(int(count.sum())) - (count.cumsum(0) - count)[rows]
        cols = self.answers[start[rows] + offsets]
        out = torch.zeros(len(keys), self.num_entities, dtype=torch.bool)
        out[rows, cols] = True
        return out.to(device)


@dataclass
class RankingMetrics:
    """MRR, Hits@k and mean rank over ``count`` ranked queries."""

    mrr: float
    hits: dict[int, float]
    mean_rank: float
    count: int

    @classmethod
    def from_ranks(cls, ranks: Tensor, ks: tuple[int, ...] = (1, 3, 10)) -> RankingMetrics:
        if len(ranks) == 0:
            return cls(float("nan"), {k: float("nan") for k in ks}, float("nan"), 0)
        ranks = ranks.double()
        return cls(mrr=float((1.0 / ranks).mean()), hits={k: float((ranks <= k).double().mean()) for k in ks},
                   mean_rank=float(ranks.mean()), count=len(ranks))

    def as_dict(self) -> dict[str, float]:
        return {"mrr": self.mrr, **{f"hits@{k}": v for k, v in self.hits.items()},
                "mean_rank": self.mean_rank, "count": self.count}


@dataclass
class EvaluationResult:
    """Metrics of one split: both directions, per direction, per relation (both directions)."""

    split: str
    filtered: bool
    both: RankingMetrics
    head: RankingMetrics
    tail: RankingMetrics
    per_relation: dict[str, RankingMetrics] = field(default_factory=dict)
    head_ranks: Tensor | None = None
    tail_ranks: Tensor | None = None

    @property
    def mrr(self) -> float:
        return self.both.mrr

    def rows(self) -> list[dict[str, object]]:
        """Table rows: both / head / tail, then one per relation."""
        out = [{"scope": s, **getattr(self, s).as_dict()} for s in ("both", "head", "tail")]
        out += [{"scope": f"relation:{name}", **m.as_dict()} for name, m in sorted(self.per_relation.items())]
        return out


@torch.no_grad()
def evaluate(
    model,
    data,
    split: str = "test",
    *,
    filtered: bool = True,
    ks: tuple[int, ...] = (1, 3, 10),
    batch_size: int = 512,
    max_triples: int | None = None,
    per_relation: bool = True,
    device: torch.device | str | None = None,
    filter_index: FilterIndex | None = None,
    z: Tensor | None = None,
) -> EvaluationResult:
    """Rank the triples of ``split`` with ``model`` (a :class:`gnn.models.LinkPredictor`).

    Args:
        model: the model (set to eval mode here, restored afterwards).
        data: a :class:`gnn.data.KGData`.
        split: "train", "valid" or "test", or a ``LongTensor[T, 3]`` of triples to rank.
        filtered: drop other known true answers (train + valid + test) before ranking.
        max_triples: rank only a deterministic evenly spaced subset (cheap early stopping on big graphs).
        filter_index: a prebuilt :class:`FilterIndex` over ``data.all_triples()`` (saves rebuilding).
        z: precomputed entity representations.
    """
    triples = split if isinstance(split, Tensor) else getattr(data, split)
    name = "custom" if isinstance(split, Tensor) else split
    if max_triples is not None and len(triples) > max_triples:
        triples = triples[torch.linspace(0, len(triples) - 1, max_triples).long()]
    was_training = model.training
    model.eval()
    try:
        device = torch.device(device) if device is not None else next(model.parameters()).device
        if z is None:
            z = model.encode_all(data, device)
        if filtered and filter_index is None:
            filter_index = FilterIndex(data.all_triples(), data.num_entities, data.num_relations)
        R = data.num_relations
        head_ranks, tail_ranks = [], []
        for batch in triples.split(batch_size):
            h, r, t = batch.to(device).t()
            for anchor, q, target, out in ((h, r, t, tail_ranks), (t, r + R, h, head_ranks)):
                scores = model.score_tails(anchor, q, z)
                mask = filter_index.mask(anchor, q) if filtered else None
                out.append(realistic_rank(scores, target, mask).cpu())
    finally:
        model.train(was_training)
    head = torch.cat(head_ranks) if head_ranks else torch.empty(0)
    tail = torch.cat(tail_ranks) if tail_ranks else torch.empty(0)
    result = EvaluationResult(
        split=name, filtered=filtered, both=RankingMetrics.from_ranks(torch.cat([head, tail]), ks),
        head=RankingMetrics.from_ranks(head, ks), tail=RankingMetrics.from_ranks(tail, ks),
        head_ranks=head, tail_ranks=tail)
    if per_relation:
        rel = triples[:, 1]
        for r in torch.unique(rel).tolist():
            sel = rel == r
            result.per_relation[data.relations[r]] = RankingMetrics.from_ranks(
                torch.cat([head[sel], tail[sel]]), ks)
    return result
