"""The filtered-rank evaluator against ranks computed by hand on a tiny graph."""

import pytest
import torch

from gnn.data import KGData
from gnn.evaluation import FilterIndex, evaluate, realistic_rank
from gnn.models import LinkPredictor


def _data(train, valid, test, n=5, relations=("r",)):
    t = lambda rows: torch.tensor(rows, dtype=torch.long).view(-1, 3)
    return KGData(entities=[f"e{i}" for i in range(n)], relations=list(relations), types=["Thing"],
                  entity_type=torch.zeros(n, dtype=torch.long), train=t(train), valid=t(valid), test=t(test))


class TableModel(LinkPredictor):
    """Fixed scores: ``table[(anchor, query relation)]`` is the row of candidate scores."""

    def __init__(self, n, num_relations, table):
        super().__init__(n, num_relations, reciprocal=True)
        self.table = table
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    def encode_all(self, data, device=None):
        return None

    def score_tails(self, h, r, z):
        return torch.tensor([self.table[(a, q)] for a, q in zip(h.tolist(), r.tolist())])


def test_realistic_rank_counts_greater_and_half_the_ties():
    scores = torch.tensor([[0.1, 0.9, 0.8, 0.5, 0.5],
                           [0.7, 0.7, 0.2, 0.0, 0.7],
                           [1.0, 1.0, 1.0, 1.0, 1.0]])
    target = torch.tensor([3, 0, 2])
    assert realistic_rank(scores, target).tolist() == [3.5, 2.0, 3.0]
    mask = torch.zeros(3, 5, dtype=torch.bool)
    mask[0, [1, 2, 3]] = True  # the target itself (3) is never filtered
    assert realistic_rank(scores, target, mask).tolist() == [1.5, 2.0, 3.0]


def test_nan_scores_rank_last_not_first():
    scores = torch.tensor([[float("nan"), 0.2, 0.1]])
    assert realistic_rank(scores, torch.tensor([0])).item() == 3.0


def test_filter_index_lists_known_answers_both_directions():
    triples = torch.tensor([[0, 0, 1], [0, 0, 2], [3, 0, 1], [0, 1, 4]])
    index = FilterIndex(triples, num_entities=5, num_relations=2)
    mask = index.mask(torch.tensor([0, 1, 4, 2]), torch.tensor([0, 2, 3, 0]))
    assert mask[0].nonzero().view(-1).tolist() == [1, 2]      # (0, r0, ?) -> 1, 2
    assert mask[1].nonzero().view(-1).tolist() == [0, 3]      # (?, r0, 1) = (1, r0^-1, ?) -> 0, 3
    assert mask[2].nonzero().view(-1).tolist() == [0]         # (?, r1, 4) -> 0
    assert not mask[3].any()                                  # (2, r0, ?) has no known answer


def test_evaluate_matches_hand_computed_filtered_and_raw_ranks():
    # known: (0,r,1) (0,r,2) in train, (0,r,3) in test.
    data = _data(train=[[0, 0, 1], [0, 0, 2]], valid=[], test=[[0, 0, 3]])
    table = {
        (0, 0): [0.1, 0.9, 0.8, 0.5, 0.5],   # tail query (0, r, ?), target 3
        (3, 1): [0.7, 0.7, 0.2, 0.0, 0.7],   # head query (?, r, 3) asked as (3, r^-1, ?), target 0
    }
    model = TableModel(5, 1, table)
    raw = evaluate(model, data, "test", filtered=False)
    filt = evaluate(model, data, "test", filtered=True)
    # tail: raw 1 + 2 greater (e1, e2) + 1 tie (e4) / 2 = 3.5; filtered drops e1, e2 -> 1.5
    # head: 0 greater, ties e1 and e4 -> 1 + 2/2 = 2.0; nothing to filter (e0 is the only true head)
    assert raw.tail_ranks.tolist() == [3.5] and raw.head_ranks.tolist() == [2.0]
    assert filt.tail_ranks.tolist() == [1.5] and filt.head_ranks.tolist() == [2.0]
    assert filt.mrr == pytest.approx((1 / 1.5 + 1 / 2) / 2)
    assert raw.mrr == pytest.approx((1 / 3.5 + 1 / 2) / 2)
    assert filt.both.hits[1] == 0.0 and filt.both.hits[3] == 1.0
    assert raw.both.hits[3] == 0.5 and raw.tail.hits[10] == 1.0
    assert filt.both.mean_rank == pytest.approx(1.75)
    assert set(filt.per_relation) == {"r"} and filt.per_relation["r"].count == 2


def test_per_relation_breakdown_and_head_tail_split():
    data = _data(train=[[0, 0, 1], [1, 1, 2]], valid=[], test=[[0, 0, 2], [2, 1, 0]],
                 n=3, relations=("a", "b"))
    # perfect answers for relation a, worst answers for relation b
    table = {(0, 0): [0.0, 0.0, 1.0], (2, 2): [1.0, 0.0, 0.0],
             (2, 1): [0.0, 1.0, 1.0], (0, 3): [1.0, 1.0, 0.0]}
    result = evaluate(TableModel(3, 2, table), data, "test", filtered=False)
    assert result.per_relation["a"].mrr == 1.0
    assert result.per_relation["b"].mrr == pytest.approx(1 / 3)
    assert [row["scope"] for row in result.rows()] == ["both", "head", "tail", "relation:a", "relation:b"]


def test_constant_scores_give_the_middle_rank():
    n = 9
    data = _data(train=[[0, 0, 1]], valid=[], test=[[2, 0, 3]], n=n)

    class Flat(TableModel):
        def score_tails(self, h, r, z):
            return torch.zeros(len(h), n)

    result = evaluate(Flat(n, 1, {}), data, "test", filtered=False)
    assert result.head_ranks.tolist() == [5.0] and result.tail_ranks.tolist() == [5.0]
