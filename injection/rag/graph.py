"""The live graph in memory for retrieval: entities, facts, adjacency, evidence, and k-hop expansion.

Built once from the bundle's live view (:meth:`kg.bundle.Bundle.view`, what every store projection
loads), so retrieval needs no store round trip per query and sees exactly the graph the index was built
from. Everything is read-only after construction, so concurrent requests share it without locks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pyarrow.compute as pc

from kg.graph import GraphView

EVIDENCE_PER_FACT = 3
"""Source sentences kept per fact (the first ones by document and position)."""
MAX_JOINED_SEEDS = 6
"""Linked entities beyond which the paths joining them are not searched (pairs grow quadratically)."""
PATHS_PER_PAIR = 8
"""Most shortest paths kept between two linked entities."""


@dataclass(frozen=True, slots=True)
class Node:
    """A live entity."""

    id: str
    name: str
    type: str
    aliases: tuple[str, ...]
    lang: str
    description: str


@dataclass(frozen=True, slots=True)
class Edge:
    """A live fact (subject and object are entity ids).

    Attributes:
        confidence: extraction confidence (noisy-or over its sentences), or a model's calibrated score.
        plausibility: the ``kg complete`` score, when the fact was scored.
    """

    id: str
    subject: str
    predicate: str
    object: str
    open: bool
    source: str
    confidence: float
    plausibility: float | None
    model: str | None
    batch: str

    @property
    def inferred(self) -> bool:
        """Proposed by link prediction, not read from a document."""
        return self.source == "inferred"

    @property
    def score(self) -> float:
        """What an inferred fact is marked with: its plausibility, else its confidence."""
        return self.plausibility if self.plausibility is not None else self.confidence

    def other(self, entity: str) -> str:
        """The endpoint that is not ``entity``."""
        return self.object if self.subject == entity else self.subject


@dataclass(frozen=True, slots=True)
class Sentence:
    """A sentence of a document that supports a fact."""

    doc_id: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class DocumentInfo:
    """What a citation shows about a document."""

    id: str
    source: str
    title: str
    lang: str


@dataclass
class Expansion:
    """The neighbourhood of the linked entities (multi-source breadth-first search).

    Attributes:
        hops: fact id -> hops from the nearest seed (1: touches a seed); 0 for facts on a path that
            joins two different seeds (what a question naming both asks about).
        weight: fact id -> link weight of the seed it was reached from.
        distance: entity id -> edges from its nearest seed.
        parent: entity id -> (fact id, previous entity) on a shortest path from its seed.
        origin: entity id -> the seed it was reached from.
        connections: fact-id paths joining two different seeds, shortest first.
        truncated: the fact budget ran out before every hop was expanded.
    """

    hops: dict[str, int] = field(default_factory=dict)
    weight: dict[str, float] = field(default_factory=dict)
    distance: dict[str, int] = field(default_factory=dict)
    parent: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    origin: dict[str, str] = field(default_factory=dict)
    connections: list[list[str]] = field(default_factory=list)
    truncated: bool = False

    def path_from_seed(self, entity: str) -> list[str]:
        """Fact ids from the seed of ``entity`` to it, in order (empty for a seed)."""
        facts: list[str] = []
        step = self.parent.get(entity)
        while step is not None:
            fact, previous = step
            facts.append(fact)
            step = self.parent.get(previous)
        return facts[::-1]


class MemoryGraph:
    """Indexes over a :class:`~kg.graph.GraphView` for retrieval.

    Args:
        view: the live graph.
        evidence_per_fact: source sentences kept per fact.
    """

    def __init__(self, view: GraphView, evidence_per_fact: int = EVIDENCE_PER_FACT) -> None:
        e = {c: view.entities[c].to_pylist() for c in ("id", "name", "type", "aliases", "lang", "description")}
        self.entities: dict[str, Node] = {
            i: Node(i, n or i, t or "", tuple(a or ()), lang or "", d or "")
            for i, n, t, a, lang, d in zip(e["id"], e["name"], e["type"], e["aliases"], e["lang"],
                                           e["description"], strict=True)}
        f = {c: view.facts[c].to_pylist() for c in ("id", "subject", "predicate", "object", "open", "source",
                                                     "confidence", "plausibility", "model", "batch")}
        self.facts: dict[str, Edge] = {}
        adjacency: dict[str, list[str]] = defaultdict(list)
        for row in zip(*f.values(), strict=True):
            fid, subject, predicate, obj, open_, source, confidence, plausibility, model, batch = row
            if subject not in self.entities or obj not in self.entities:
                continue  # an endpoint without an entity row cannot be named
            self.facts[fid] = Edge(fid, subject, predicate, obj, bool(open_), source or "extracted",
                                   float(1.0 if confidence is None else confidence), plausibility, model,
                                   batch or "")
            adjacency[subject].append(fid)
            if obj != subject:
                adjacency[obj].append(fid)
        # sorted: expansion order (and so the result under a fact budget) never depends on load order
        self.adjacency: dict[str, tuple[str, ...]] = {k: tuple(sorted(v)) for k, v in adjacency.items()}
        self.evidence = self._evidence(view, evidence_per_fact)
        d = {c: view.documents[c].to_pylist() for c in ("id", "source", "title", "lang")}
        self.documents: dict[str, DocumentInfo] = {
            i: DocumentInfo(i, s or "", t or "", lang or "")
            for i, s, t, lang in zip(d["id"], d["source"], d["title"], d["lang"], strict=True)}

    def _evidence(self, view: GraphView, per_fact: int) -> dict[str, tuple[Sentence, ...]]:
        table = view.evidence.select(["fact_id", "doc_id", "start", "end", "text"])
        table = table.filter(pc.is_valid(table["doc_id"]))
        table = table.sort_by([("fact_id", "ascending"), ("doc_id", "ascending"), ("start", "ascending")])
        found: dict[str, list[Sentence]] = defaultdict(list)
        cols = [table[c].to_pylist() for c in ("fact_id", "doc_id", "start", "end", "text")]
        for fact, doc, start, end, text in zip(*cols, strict=True):
            kept = found[fact]
            # one fact is often read twice from one sentence (two patterns): keep distinct sentences
            if len(kept) < per_fact and not any(s.doc_id == doc and s.start == start for s in kept):
                kept.append(Sentence(doc, int(start or 0), int(end or 0), (text or "").strip()))
        return {k: tuple(v) for k, v in found.items()}

    def degree(self, entity: str) -> int:
        """Facts touching ``entity``."""
        return len(self.adjacency.get(entity, ()))

    def expand(self, seeds: dict[str, float], hops: int, max_facts: int = 300,
               prefer: Callable[[], Sequence[str]] | None = None) -> Expansion:
        """Facts within ``hops`` edges of the seeds, breadth first, and the paths joining seeds.

        Args:
            seeds: entity id -> link weight.
            hops: how far to go (0: nothing).
            max_facts: fact budget; a hub's facts beyond it are left out (``truncated``), so one
                popular entity cannot make a query slow.
            prefer: fact ids that match the query best, best first (the retriever's BM25 hits for the
                query's words besides the entity names), asked for only when a linked entity's own
                facts overflow the budget: those of them that touch it come first, then the rest in
                fact-id order. None: fact-id order.

        Returns:
            The :class:`Expansion`.
        """
        out = Expansion()
        frontier = sorted(s for s in seeds if s in self.entities)
        for seed in frontier:
            out.distance[seed], out.parent[seed], out.origin[seed] = 0, None, seed
        for hop in range(1, hops + 1):
            reached: list[str] = []
            for entity in frontier:
                facts = self.adjacency.get(entity, ())
                if hop == 1 and prefer is not None and len(out.hops) + len(facts) > max_facts:
                    # cost bounded by the preferred list, not by the hub's degree
                    first = [f for f in prefer() if f in self.facts and entity in (
                        self.facts[f].subject, self.facts[f].object)]
                    facts = (*first, *facts)  # a fact already taken is skipped below
                for fid in facts:
                    if fid in out.hops:
                        continue
                    if len(out.hops) >= max_facts:
                        out.truncated = True
                        break
                    out.hops[fid] = hop
                    out.weight[fid] = seeds[out.origin[entity]]
                    other = self.facts[fid].other(entity)
                    if other not in out.distance:
                        out.distance[other], out.parent[other] = hop, (fid, entity)
                        out.origin[other] = out.origin[entity]
                        reached.append(other)
            frontier = reached
            if out.truncated:
                break
        if 2 <= len(seeds) <= MAX_JOINED_SEEDS and hops > 0:
            out.connections = self._connections(sorted(s for s in seeds if s in self.entities), hops, max_facts)
            for path in out.connections:
                for fid in path:
                    out.hops[fid] = 0
                    out.weight.setdefault(fid, 1.0)
        return out

    def _distances(self, seed: str, hops: int, budget: int) -> dict[str, int]:
        """Edges from ``seed`` to every entity within ``hops`` (at most ``budget`` facts looked at)."""
        distance, frontier, seen = {seed: 0}, [seed], 0
        for hop in range(1, hops + 1):
            reached = []
            for entity in frontier:
                for fid in self.adjacency.get(entity, ()):
                    seen += 1
                    if seen > budget:
                        return distance
                    other = self.facts[fid].other(entity)
                    if other not in distance:
                        distance[other] = hop
                        reached.append(other)
            frontier = reached
        return distance

    def _connections(self, seeds: list[str], hops: int, budget: int) -> list[list[str]]:
        """Every shortest path (up to :data:`PATHS_PER_PAIR` per pair) between two different seeds.

        Each seed gets its own distances, so a fact lies on a shortest path between seeds S and T
        exactly when ``d_S(a) + 1 + d_T(b)`` is their distance; a question naming both entities
        asks about what joins them (all of it, not just the first path a search happens to find).
        """
        distances = {seed: self._distances(seed, hops, budget) for seed in seeds}
        paths: list[list[str]] = []
        for i, source in enumerate(seeds):
            for target in seeds[i + 1:]:
                ds, dt = distances[source], distances[target]
                length = min((ds[m] + dt[m] for m in ds if m in dt), default=None)
                if length is None or length == 0:
                    continue
                found: list[list[str]] = []
                self._walk(source, [], ds, dt, length, found)
                paths.extend(found)
        paths.sort(key=len)
        return paths

    def _walk(self, entity: str, facts: list[str], ds: dict[str, int], dt: dict[str, int], length: int,
              found: list[list[str]]) -> None:
        if len(found) >= PATHS_PER_PAIR:
            return
        if dt.get(entity) == 0:
            found.append(list(facts))
            return
        step = len(facts) + 1
        for fid in self.adjacency.get(entity, ()):
            other = self.facts[fid].other(entity)
            # on a shortest path the distance to the target falls by one per step (the source's own
            # search may not reach that far: it stopped at ``hops``)
            if dt.get(other) == length - step and ds.get(other, step) == step:
                self._walk(other, [*facts, fid], ds, dt, length, found)

    def path_entities(self, facts: list[str], start: str) -> list[str]:
        """The entities a fact path visits, starting at ``start``."""
        entities = [start]
        for fid in facts:
            entities.append(self.facts[fid].other(entities[-1]))
        return entities


__all__ = ["EVIDENCE_PER_FACT", "MAX_JOINED_SEEDS", "PATHS_PER_PAIR", "DocumentInfo", "Edge", "Expansion", "MemoryGraph", "Node", "Sentence"]
