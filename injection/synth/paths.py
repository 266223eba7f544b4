"""Multi-hop random walks over facts, weighted towards the long tail, drawn per walk index.

Walk ``i`` draws from its own unit stream (:meth:`Context.units` over ``range(n)``), so ``n`` walks
split over several processes are the walks one process makes.
"""

from __future__ import annotations

import itertools
import random
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence

from injection.synth.context import Context
from injection.synth.graph import Fact

_EXACT_STEP = 16  # up to this many edges a walk step filters exactly; beyond, it rejection-samples
_TRIES = 8  # attempts per walk index before the index yields no walk
_PROBES = 1000  # walks tried before a graph counts as having no long enough walks


class PathSampler:
    """Random walks over facts (edges undirected), optionally weighted towards the long tail.

    Args:
        facts: the facts to walk over.
        weighted: start entities weighted ``1 / degree`` and next edges ``1 / (relation count *
            degree of the next entity)``; False: the plain random walk (start on a uniformly drawn
            fact, next edges uniform).
    """

    def __init__(self, facts: Sequence[Fact], *, weighted: bool = True) -> None:
        self.weighted = weighted
        # every worker process builds this, so it is one pass over the facts (counters are C loops)
        degree = Counter(f.subject for f in facts)
        degree.update(f.object for f in facts if f.object != f.subject)
        relations = Counter(f.predicate for f in facts)
        # edges carry their weight, computed once: a walk step then only draws
        self._edges: dict[str, list[tuple[Fact, str, float]]] = defaultdict(list)
        for fact in facts:
            weight = 1.0 / relations[fact.predicate]
            self._edges[fact.subject].append((fact, fact.object, weight / degree[fact.object]))
            if fact.object != fact.subject:
                self._edges[fact.object].append((fact, fact.subject, weight / degree[fact.subject]))
        self._edges = dict(self._edges)
        self._entities = sorted(degree)
        self._start_cum = list(itertools.accumulate(1.0 / degree[e] for e in self._entities))
        self._degree_cum = list(itertools.accumulate(degree[e] for e in self._entities))
        self._edge_cum: dict[str, list[float]] = {}  # hubs only, filled on first visit

    def _start(self, rng: random.Random) -> str:
        if self.weighted:
            return rng.choices(self._entities, cum_weights=self._start_cum)[0]
        # the plain random walk starts on a uniformly drawn fact: entities in proportion to degree
        return rng.choices(self._entities, cum_weights=self._degree_cum)[0]

    def _step(self, entity: str, visited: set[str], rng: random.Random) -> tuple[Fact, str, float] | None:
        edges = self._edges[entity]
        if len(edges) > _EXACT_STEP:
            # a hub: draw from cumulative weights and reject the few edges back into the walk,
            # so a step costs O(log degree) instead of O(degree)
            if self.weighted and entity not in self._edge_cum:
                self._edge_cum[entity] = list(itertools.accumulate(e[2] for e in edges))
            for _ in range(_EXACT_STEP):
                edge = (rng.choices(edges, cum_weights=self._edge_cum[entity])[0] if self.weighted
                        else edges[rng.randrange(len(edges))])
                if edge[1] not in visited:
                    return edge
        candidates = [e for e in edges if e[1] not in visited]
        if not candidates:
            return None
        if self.weighted:
            return rng.choices(candidates, weights=[e[2] for e in candidates])[0]
        return candidates[rng.randrange(len(candidates))]

    def walk(self, rng: random.Random, hops: int) -> list[Fact]:
        """One walk of up to ``hops`` facts without a repeated entity (shorter where it gets stuck)."""
        if not self._entities:
            return []
        entity = self._start(rng)
        visited, walk = {entity}, []
        while len(walk) < hops:
            step = self._step(entity, visited, rng)
            if step is None:
                break
            walk.append(step[0])
            entity = step[1]
            visited.add(entity)
        return walk

    def reaches(self, rng: random.Random, hops: int, probes: int = _PROBES) -> bool:
        """Whether one of ``probes`` walks is ``hops`` long (a graph without such walks is given up on)."""
        return any(len(self.walk(rng, hops)) >= hops for _ in range(probes))

    def walk_between(self, rng: random.Random, min_hops: int, max_hops: int,
                     tries: int = _TRIES) -> list[Fact] | None:
        """A walk of ``min_hops..max_hops`` facts; walks stuck early are retried up to ``tries`` times."""
        for _ in range(tries):
            walk = self.walk(rng, rng.randint(min_hops, max_hops))
            if len(walk) >= min_hops:
                return walk
        return None


def walks(ctx: Context, sampler: PathSampler, n: int, min_hops: int, max_hops: int,
          purpose: str) -> Iterator[tuple[list[Fact], random.Random]]:
    """Up to ``n`` walks of ``min_hops..max_hops`` facts, this shard's share, each with its unit stream.

    Walk index ``i`` yields no walk when ``_TRIES`` attempts all get stuck early; when ``_PROBES``
    probe walks find none long enough, none is tried at all.

    Yields:
        (walk, rng): the rng continues the stream the walk was drawn from (for its wording).
    """
    if n == 0 or not sampler.reaches(ctx.rng(f"{purpose}:probe"), min_hops):
        return
    for _, rng in ctx.units(range(n), purpose):
        walk = sampler.walk_between(rng, min_hops, max_hops)
        if walk is not None:
            yield walk, rng


__all__ = ["PathSampler", "walks"]
