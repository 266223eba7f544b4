"""Context: what every generator receives (graph, split plan, languages, seed, warnings, shard).

Generators draw their randomness per *unit* (a fact, an entity, a question group, a walk index) through
:meth:`Context.units`, never from one stream running through the whole graph. That makes every unit's
records independent of which other units were generated, so a run can be split over processes: a
worker sets :attr:`Context.shard` and generates only its units, and the pipeline merges the workers'
records back into the order one process writes (:attr:`Context.position`). The files are the same
for any number of workers.
"""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

from injection.synth.graph import LANGS, SynthGraph
from injection.synth.splits import SplitPlan
from injection.synth.warns import Warnings

T = TypeVar("T")

BUCKETS = 1024
"""Random streams per purpose. A unit draws from its bucket's stream; a worker owns whole buckets.

Seeding a Mersenne Twister costs about 5 µs, as much as generating a small unit's records, so units
share a bucket's stream instead of each seeding its own. A bucket is chosen by hashing the unit's key,
and its units are drawn in list order in every worker, so results do not depend on the sharding; a
new fact only changes the draws of later units in its bucket.
"""


def bucket(key: Hashable) -> int:
    """The stream bucket of a unit key: stable across processes and runs (unlike ``hash``)."""
    if isinstance(key, int):
        return key % BUCKETS
    return zlib.crc32(str(key).encode("utf-8")) % BUCKETS


@dataclass
class Context:
    """Shared inputs of one synthesis run.

    Attributes:
        graph: the indexed live graph.
        plan: the split plan (held-out entities, eval groups, reserved templates).
        langs: languages to write, in order.
        seed: the run's seed; every random stream derives from it.
        warnings: warnings for the run's summary (see :mod:`injection.synth.warns` for how to count
            them so that sharded runs add up the same).
        shard: ``(index, count)``: this process generates the units of buckets ``b`` with
            ``b % count == index``; ``(0, 1)`` generates everything.
        position: ``(section, index)`` of the unit being generated: the ``units`` call it came from
            (counted from 0 per context) and its place in that call's items. Records yielded while a
            unit is current belong to it; the pipeline sorts merged records by it.
        cache: structures generators build from the graph and the plan alone (never warnings),
            shared with the contexts :meth:`sharded` makes, so workers forked for a later kind
            inherit what the parent built for an earlier one.
    """

    graph: SynthGraph
    plan: SplitPlan
    langs: tuple[str, ...] = LANGS
    seed: int = 0
    warnings: Warnings = field(default_factory=Warnings)
    shard: tuple[int, int] = (0, 1)
    position: tuple[int, int] = field(default=(-1, -1), init=False, compare=False)
    cache: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    _sections: int = field(default=0, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        index, count = self.shard
        if not 0 <= index < count:
            raise ValueError(f"shard must be (index, count) with 0 <= index < count, got {self.shard}")

    def rng(self, purpose: str) -> random.Random:
        """One stream for work every worker does alike (selection, shuffles): same seed, same sequence."""
        return random.Random(f"{self.seed}:{purpose}")

    def sharded(self, index: int, count: int) -> Context:
        """This context for worker ``index`` of ``count``, with its own (empty) warnings."""
        return replace(self, warnings=Warnings(), shard=(index, count))

    def units(self, items: Iterable[T], purpose: str,
              key: Callable[[T], Hashable] | None = None) -> Iterator[tuple[T, random.Random]]:
        """This shard's share of ``items``, each with the random stream to draw its records from.

        Args:
            items: the units, in output order; every worker must pass the same items.
            purpose: names the streams (two purposes never share one).
            key: a unit's stable key (default: its index in ``items``); keys that stay the same
                when the graph grows (ids) keep the other units' draws stable.

        Yields:
            (item, rng) for the units of this shard, in order. A unit's records must be yielded
            before the next unit is drawn (that is what :attr:`position` tells the pipeline), and
            the number of ``units`` calls must not depend on the shard.
        """
        section = self._sections
        self._sections += 1
        return self._units(section, items, purpose, key)

    def _units(self, section: int, items: Iterable[T], purpose: str,
               key: Callable[[T], Hashable] | None) -> Iterator[tuple[T, random.Random]]:
        index, count = self.shard
        streams: dict[int, random.Random] = {}
        for position, item in enumerate(items):
            b = bucket(position if key is None else key(item))
            if b % count != index:
                continue
            rng = streams.get(b)
            if rng is None:
                rng = streams[b] = random.Random(f"{self.seed}:{purpose}:{b}")
            self.position = (section, position)
            yield item, rng


__all__ = ["BUCKETS", "Context", "bucket"]
