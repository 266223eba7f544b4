"""Graph -> tensors: id maps, leak-free deterministic splits, reports, bad inputs, benchmark loaders."""

import importlib.util

import numpy as np
import pytest
import torch

from gnn.data import (
    MIN_SPLIT_FACTS,
    detect_inverse_relations,
    find_leaks,
    from_graph,
    load_pykeen_dataset,
    split_triples,
)
from kg.errors import GraphDataError, UnknownComponentError
from kg.graph import GraphView
from kg.schema import Schema
from tests.conftest import SMALL_SCHEMA


def _view(facts, entities=None):
    ents = entities if entities is not None else sorted({f[0] for f in facts} | {f[2] for f in facts})
    entity_rows = [e if isinstance(e, dict) else {"id": e, "name": e.upper(), "type": "Person"} for e in ents]
    fact_rows = [{"id": f"f{i}", "subject": s, "predicate": p, "object": o,
                  "source": f[3] if len(f) > 3 else "extracted",
                  "confidence": 0.9}
                 for i, f in enumerate(facts) for s, p, o in [f[:3]]]
    return GraphView.from_pylist(entities=entity_rows, facts=fact_rows)


def _random_facts(n_entities=30, n_facts=300, n_rel=4, seed=0, symmetric=("knows",)):
    rng = np.random.default_rng(seed)
    facts = set()
    while len(facts) < n_facts:
        h, t = rng.choice(n_entities, size=2, replace=False)
        r = f"rel{rng.integers(n_rel)}"
        facts.add((f"e{h:02d}", r, f"e{t:02d}"))
        if rng.random() < 0.2:  # symmetric pairs and an exact inverse relation pair
            facts.add((f"e{h:02d}", symmetric[0], f"e{t:02d}"))
            facts.add((f"e{t:02d}", symmetric[0], f"e{h:02d}"))
            facts.add((f"e{h:02d}", "parent_of", f"e{t:02d}"))
            facts.add((f"e{t:02d}", "child_of", f"e{h:02d}"))
    return sorted(facts)


def test_split_is_deterministic_and_leak_free():
    facts = _random_facts()
    a = from_graph(_view(facts), seed=3)
    b = from_graph(_view(list(reversed(facts))), seed=3)  # input order does not matter
    c = from_graph(_view(facts), seed=4)
    assert torch.equal(a.test, b.test) and torch.equal(a.train, b.train)
    assert not torch.equal(a.test, c.test)
    assert a.entities == sorted(a.entities) and a.relations == sorted(a.relations)
    assert len(a.train) + len(a.valid) + len(a.test) == len(set(facts))
    assert len(a.test) >= 1 and len(a.valid) >= 1
    pairs = [(a.relations.index(x), a.relations.index(y)) for x, y in a.report.inverse_relations]
    assert ("child_of", "parent_of") in a.report.inverse_relations
    pairs += [(y, x) for x, y in pairs]
    train = set(map(tuple, a.train.tolist()))
    for split in (a.valid, a.test):
        assert find_leaks(a.train, split, pairs) == []
        for h, r, t in split.tolist():
            assert (h, r, t) not in train and (t, r, h) not in train
            for x, y in pairs:
                if x == r:
                    assert (t, y, h) not in train
    assert a.report.leaks == []
    assert a.report.unseen_entities == {"valid": [], "test": []}
    # every entity and relation keeps a training triple
    seen = a.seen_in_train()
    used = torch.unique(a.all_triples()[:, [0, 2]])
    assert bool(seen[used].all())
    assert set(a.train[:, 1].tolist()) == set(range(a.num_relations))


def test_find_leaks_reports_reverse_and_duplicate_triples():
    train = torch.tensor([[0, 0, 1], [2, 1, 3]])
    held = torch.tensor([[1, 0, 0], [2, 1, 3], [4, 0, 5], [3, 2, 2]])
    assert find_leaks(train, held) == [0, 1]
    assert find_leaks(train, held, inverse_pairs=[(2, 1), (1, 2)]) == [0, 1, 3]


def test_detect_inverse_relations():
    triples = np.array([[0, 0, 1], [1, 1, 0], [2, 0, 3], [3, 1, 2], [4, 2, 5]])
    assert detect_inverse_relations(triples) == [(0, 1), (1, 0)]
    assert detect_inverse_relations(triples, threshold=1.1) == []


def test_inferred_facts_are_not_training_data_and_duplicates_collapse():
    facts = _random_facts(n_facts=60)
    view = _view([*facts, ("e00", "guess", "e01", "inferred"), ("e02", "guess", "e03", "inferred"),
                  facts[0]])
    data = from_graph(view)
    assert "guess" not in data.relations
    assert data.report.inferred_skipped == 2 and data.report.facts_total == len(facts) + 3
    assert data.report.facts_used == len(facts)


def test_graph_too_small_to_split_names_the_minimum():
    facts = [("a", "r", "b"), ("b", "r", "c"), ("c", "r", "a")]
    with pytest.raises(GraphDataError, match=f"at least {MIN_SPLIT_FACTS}"):
        from_graph(_view(facts))
    with pytest.raises(GraphDataError, match=f"at least {MIN_SPLIT_FACTS}"):
        from_graph(_view([*facts, *[(f"x{i}", "r", "y", "inferred") for i in range(20)]]))


def test_tree_graph_that_cannot_hold_anything_out_says_why():
    star = [("hub", "r", f"leaf{i}") for i in range(20)]  # every fact is its leaf's only link
    with pytest.raises(GraphDataError, match="only link"):
        from_graph(_view(star))


def test_awkward_graphs_are_reported_not_fatal():
    facts = _random_facts(n_facts=80)
    facts += [("e00", "rare", "e01"), ("e03", "self", "e03")]
    entities = sorted({f[0] for f in facts} | {f[2] for f in facts}) + ["lonely"]
    data = from_graph(_view(facts, entities=entities))
    assert data.report.isolated_entities == ["lonely"]
    assert "lonely" in data.entities  # kept in the id map
    assert data.report.self_loops == 1
    assert {"rare", "self"} <= set(data.report.single_triple_relations)
    rare = data.relations.index("rare")
    assert (data.train[:, 1] == rare).sum() == 1  # a one-triple relation stays in train
    assert any("isolated" in line for line in data.report.lines())


def test_schema_types_drive_candidate_pools():
    schema = Schema.model_validate(SMALL_SCHEMA)
    people = [{"id": f"p{i}", "name": f"P{i}", "type": "Person"} for i in range(6)]
    orgs = [{"id": f"o{i}", "name": f"O{i}", "type": "Organization"} for i in range(6)]
    facts = [(f"o{i}", "founded_by", f"p{(i + k) % 6}") for i in range(6) for k in range(3)]
    data = from_graph(_view(facts, entities=people + orgs), schema=schema)
    assert data.types == ["Location", "Organization", "Person"]
    ptr, ids = data.candidate_pools(source="schema")
    r = data.relations.index("founded_by")
    tails = {data.entities[i] for i in ids[ptr[r]:ptr[r + 1]].tolist()}
    heads = {data.entities[i] for i in ids[ptr[r + 1]:ptr[r + 2]].tolist()}
    assert tails == {f"p{i}" for i in range(6)} and heads == {f"o{i}" for i in range(6)}
    observed = data.candidate_pools(source="observed")
    assert torch.equal(observed[1], ids)
    assert from_graph(_view(facts, entities=people + orgs)).candidate_pools(source="schema") is None


def test_text_embedder_hook_and_label_round_trip():
    facts = _random_facts(n_facts=60)
    data = from_graph(_view(facts), text_embedder=lambda texts: np.array([[len(t), 1.0] for t in texts]))
    assert data.text_features.shape == (data.num_entities, 2)
    triples = data.decode_triples(data.test)
    assert torch.equal(data.encode_triples(triples), data.test)
    with pytest.raises(GraphDataError, match="retrain"):
        data.encode_triples([("nobody", "rel0", "e00")])
    with pytest.raises(GraphDataError, match="one feature row"):
        from_graph(_view(facts), text_embedder=lambda texts: np.zeros((1, 2)))


def test_message_graph_has_both_directions():
    data = from_graph(_view(_random_facts(n_facts=60)))
    edge_index, edge_type = data.message_graph()
    T, R = len(data.train), data.num_relations
    assert edge_index.shape == (2, 2 * T)
    h, r, t = data.train[0].tolist()
    assert edge_index[:, 0].tolist() == [h, t] and edge_type[0] == r
    assert edge_index[:, T].tolist() == [t, h] and edge_type[T] == r + R


def test_split_triples_directly_rejects_tiny_input():
    with pytest.raises(GraphDataError):
        split_triples(np.array([[0, 0, 1]]), num_entities=2)


needs_pykeen = pytest.mark.skipif(importlib.util.find_spec("pykeen") is None,
                                  reason="the datasets ship inside the pykeen wheel: pip install -e '.[test]'")


@needs_pykeen
@pytest.mark.parametrize("name,sizes", [("nations", (14, 55, 1592, 199, 201)),
                                        ("kinships", (104, 25, 8544, 1068, 1074)),
                                        ("umls", (135, 46, 5216, 652, 661))])
def test_pykeen_shipped_datasets_load_without_download(name, sizes):
    data = load_pykeen_dataset(name)
    assert (data.num_entities, data.num_relations, len(data.train), len(data.valid), len(data.test)) == sizes
    assert data.report.unseen_entities == {"valid": [], "test": []}


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(UnknownComponentError, match="kinships, nations, umls"):
        load_pykeen_dataset("fb15k")
