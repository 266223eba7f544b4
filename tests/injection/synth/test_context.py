"""Per-unit randomness and sharding: any split of the units over workers merges to the one-process output."""

from __future__ import annotations

import heapq
from operator import itemgetter

import pytest

from injection.synth import cpt, factuality
from injection.synth.context import BUCKETS, Context, bucket
from injection.synth.splits import SplitPlan

GENERATORS = {"cpt": lambda c: cpt.generate(c, paths=60), "qa": factuality.generate_qa,
              "tf": factuality.generate_tf, "mc": factuality.generate_mc,
              "refusal": factuality.generate_refusals}


def _ctx(graph, seed: int = 2) -> Context:
    return Context(graph=graph, plan=SplitPlan(seed=seed, eval_ratio=0.2, heldout_ratio=0.1), seed=seed)


def _sharded(graph, kind: str, count: int) -> list[dict]:
    """Each shard generated on its own context, merged by position like the pipeline does."""
    parts = []
    for index in range(count):
        local = _ctx(graph).sharded(index, count)
        parts.append([(local.position, r.to_dict()) for r in GENERATORS[kind](local)])
    return [record for _, record in heapq.merge(*parts, key=itemgetter(0))]


@pytest.mark.parametrize("kind", list(GENERATORS))
def test_shards_merge_to_the_unsharded_records(example_graph, kind):
    whole = [r.to_dict() for r in GENERATORS[kind](_ctx(example_graph))]
    assert whole
    for count in (2, 3):
        assert _sharded(example_graph, kind, count) == whole, (kind, count)


def test_units_split_items_and_keep_draws_per_unit(example_graph):
    ctx = _ctx(example_graph)
    items = [f"entity{i}" for i in range(500)]
    whole = [(item, rng.random()) for item, rng in ctx.units(items, "test", key=lambda x: x)]
    assert [item for item, _ in whole] == items
    shards = [list(_ctx(example_graph).sharded(i, 3).units(items, "test", key=lambda x: x)) for i in range(3)]
    seen = sorted((item, rng.random()) for shard in shards for item, rng in shard)
    assert seen == sorted(whole)  # every unit once, with the same draw
    assert all(bucket(item) % 3 == i for i, shard in enumerate(shards) for item, _ in shard)
    # another seed or purpose draws differently
    assert [r.random() for _, r in _ctx(example_graph, seed=3).units(items, "test", key=lambda x: x)] != \
        [x for _, x in whole]


def test_positions_count_calls_and_items(example_graph):
    ctx = _ctx(example_graph).sharded(1, 2)
    got = []
    for section in range(2):
        for item, _ in ctx.units(range(6), f"s{section}"):
            got.append((ctx.position, item))
    assert got == [((0, 1), 1), ((0, 3), 3), ((0, 5), 5), ((1, 1), 1), ((1, 3), 3), ((1, 5), 5)]
    assert bucket(BUCKETS + 5) == 5 and bucket("abc") == bucket("abc")


def test_bad_shard_is_refused(example_graph):
    with pytest.raises(ValueError, match="shard"):
        _ctx(example_graph).sharded(2, 2)
