"""Models: decoders agree with torch_geometric's KGE modules, the fast R-GCN layer with RGCNConv,
the registry, negative samplers and the neighbour sampler."""

import pytest
import torch

from gnn.data import KGData
from gnn.models import (
    MODELS,
    RGCN,
    KGEBaseline,
    TypedNegativeSampler,
    _basis_rgcn_conv,
    make_model,
    make_sampler,
)
from gnn.sampling import NeighborSampler
from kg.errors import UnknownComponentError

N, R = 12, 3


def _triples(n=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.stack([torch.randint(N, (n,), generator=g), torch.randint(R, (n,), generator=g),
                        torch.randint(N, (n,), generator=g)], 1)


@pytest.mark.parametrize("kind", ["transe", "distmult", "complex", "rotate"])
@pytest.mark.parametrize("reciprocal", [False, True])
def test_decoders_reproduce_pyg_kge_forward(kind, reciprocal):
    torch.manual_seed(0)
    model = KGEBaseline(N, R, kind=kind, dim=8, reciprocal=reciprocal)
    h, r, t = _triples().t()
    z = model.encode()
    expected = model.kge(h, r, t)
    dec = model.decoder
    zp = dec.prepare(z)
    ours = dec.score(model.query(zp, h, r), zp[t])
    assert torch.allclose(ours, expected, atol=1e-5)
    # 1-N scores equal scoring each candidate one by one
    all_tails = model.score_tails(h, r, z)
    assert torch.allclose(all_tails[torch.arange(len(t)), t], expected, atol=1e-4)
    if not reciprocal:  # head queries use the decoder's head-side form of the same score
        all_heads = model.score_heads(r, t, z)
        assert torch.allclose(all_heads[torch.arange(len(h)), h], expected, atol=1e-4)
        assert torch.allclose(model.score_triples(h, r, t, z), expected, atol=1e-5)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_scores_consistently(name):
    torch.manual_seed(0)
    data = KGData(entities=[str(i) for i in range(N)], relations=["a", "b", "c"], types=["T"],
                  entity_type=torch.zeros(N, dtype=torch.long), train=_triples(), valid=_triples(5, 1),
                  test=_triples(5, 2))
    model = make_model(name, data, dim=8).eval()
    z = model.encode_all(data)
    h, r, t = data.test.t()
    triple = model.score_triples(h, r, t, z)
    pairs = model.score_pairs(h, 1, torch.arange(N), z)
    assert pairs.shape == (len(h), N)
    sel = r == 1
    assert torch.allclose(pairs[sel, t[sel]], triple[sel], atol=1e-4)
    cand = model.score_query_candidates(h, r, torch.stack([t, h], 1), z)
    assert torch.allclose(cand[:, 0], model.score_tails(h, r, z)[torch.arange(len(t)), t], atol=1e-4)
    assert model.spec == {"name": name, "kwargs": {"dim": 8}}


def test_fast_rgcn_layer_equals_pyg_rgcnconv():
    from torch_geometric.nn import RGCNConv

    torch.manual_seed(0)
    x = torch.randn(30, 16, requires_grad=True)
    edge_index, edge_type = torch.randint(30, (2, 200)), torch.randint(6, (200,))
    ref = RGCNConv(16, 16, 6, num_bases=3)
    fast = _basis_rgcn_conv()(16, 16, 6, num_bases=3)
    fast.load_state_dict(ref.state_dict())
    a, b = ref(x, edge_index, edge_type), fast(x, edge_index, edge_type)
    assert torch.allclose(a, b, atol=1e-5)
    ga = torch.autograd.grad(a.square().sum(), [x, ref.comp, ref.weight])
    gb = torch.autograd.grad(b.square().sum(), [x, fast.comp, fast.weight])
    for p, q in zip(ga, gb):
        assert torch.allclose(p, q, atol=1e-3, rtol=1e-4)


def test_rgcn_uses_types_and_text_features():
    types = torch.tensor([0, 1] * (N // 2))
    model = RGCN(N, R, decoder="complex", dim=4, num_types=2, entity_type=types, text_features=torch.randn(N, 5))
    edge_index, edge_type = torch.randint(N, (2, 30)), torch.randint(2 * R, (30,))
    z = model.encode(edge_index, edge_type)
    assert z.shape == (N, 8)
    sub = model.encode(edge_index[:, :0], edge_type[:0], nodes=torch.tensor([3, 5]))
    assert sub.shape == (2, 8)


def test_unknown_names_list_the_valid_ones():
    with pytest.raises(UnknownComponentError, match="complex, distmult, rgcn, rotate, transe"):
        make_model("conve", num_entities=3, num_relations=1)
    with pytest.raises(UnknownComponentError, match="typed"):
        make_sampler("bernoulli", None)


def test_typed_sampler_draws_only_allowed_entities():
    # relation 0: tails from {4, 5}; inverse (heads) from {0, 1, 2}; relation 1 unconstrained
    ptr = torch.tensor([0, 2, 2 + N, 5 + N, 5 + 2 * N])
    ids = torch.cat([torch.tensor([4, 5]), torch.arange(N), torch.tensor([0, 1, 2]), torch.arange(N)])
    sampler = TypedNegativeSampler(N, ptr, ids)
    g = torch.Generator().manual_seed(0)
    tails = sampler(torch.zeros(500, dtype=torch.long), 4, generator=g)
    heads = sampler(torch.full((500,), 2), 4, generator=g)
    assert set(tails.unique().tolist()) == {4, 5}
    assert set(heads.unique().tolist()) == {0, 1, 2}
    assert len(sampler(torch.ones(500, dtype=torch.long), 4, generator=g).unique()) > 5


def test_neighbor_sampler_returns_real_edges_with_fanout_limits():
    g = torch.Generator().manual_seed(0)
    n = 200
    edge_index = torch.randint(n, (2, 3000), generator=g)
    edge_type = torch.randint(4, (3000,), generator=g)
    sampler = NeighborSampler(edge_index, edge_type, n, fanouts=[3, 2])
    seeds = torch.tensor([5, 17, 42])
    nodes, sub_index, sub_type = sampler.sample(seeds, g)
    assert nodes[:3].tolist() == [5, 17, 42] and len(nodes.unique()) == len(nodes)
    real = set(zip(edge_index[0].tolist(), edge_index[1].tolist(), edge_type.tolist()))
    glob = nodes[sub_index]
    for s, d, r in zip(glob[0].tolist(), glob[1].tolist(), sub_type.tolist()):
        assert (s, d, r) in real
    into_seeds = torch.isin(sub_index[1], torch.arange(3))
    assert torch.bincount(sub_index[1][into_seeds], minlength=3).max() <= 3
    # the reused id map is reset: a second call gives a consistent answer
    nodes2, _, _ = sampler.sample(torch.tensor([5]), g)
    assert nodes2[0] == 5 and bool((sampler._local == -1).all())
