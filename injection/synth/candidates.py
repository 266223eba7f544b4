"""Candidates for factuality data: question groups, wrong-option pools, template lookups, pickers.

Every question is about one (subject, relation) :class:`Group`. Wrong options and false statements
are drawn from candidate lists built once per run (objects of the same relation, neighbours of the
subject, entities of the same type) by sampling, never by scanning every entity, and are never one of
the known answers (inferred facts included) of the group.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from injection.synth.context import Context
from injection.synth.graph import Fact
from injection.synth.templates import question_templates, statement_templates
from injection.synth.wording import label_for, normalize

TRIES = 48
"""Random draws per candidate list before giving up on it."""


@dataclass(frozen=True)
class Group:
    """The usable facts of one (subject, relation) pair and the split every question about it gets."""

    subject: str
    predicate: str
    facts: tuple[Fact, ...]
    split: str

    def key(self) -> str:
        """Stable unit key of the group (its questions' random stream, see :meth:`Context.units`)."""
        return f"{self.subject}\x1f{self.predicate}"


class Pools:
    """Candidate lists and name keys of one run, built once so that every record samples instead of scanning.

    They depend on the graph and the split plan only (no warnings), so one instance serves every kind
    of a run: see :meth:`of`.

    Args:
        ctx: the run's context.
    """

    def __init__(self, ctx: Context) -> None:
        self.graph, self.plan = ctx.graph, ctx.plan
        self.heldout = frozenset(e for e in ctx.graph.entities if ctx.plan.heldout_entity(e))
        self._types: dict[tuple[str, str], list[str]] = {}
        self._objects: dict[tuple[str, str], list[str]] = {}
        self._related: dict[str, frozenset[str]] = {}
        self._keys: dict[tuple[str, str], str] = {}
        self._groups: list[Group] | None = None

    @classmethod
    def of(cls, ctx: Context) -> Pools:
        """The run's pools, kept in :attr:`Context.cache`: what the parent process built for one kind,
        the workers it forks for the next kinds inherit instead of rebuilding."""
        if "pools" not in ctx.cache:
            ctx.cache["pools"] = cls(ctx)
        return ctx.cache["pools"]

    def of_type(self, type_name: str, lang: str) -> list[str]:
        """Entities of a type that have a name in ``lang``, sorted by id."""
        key = (type_name, lang)
        if key not in self._types:
            self._types[key] = [e for e in self.graph.by_type.get(type_name, ()) if self.graph.name(e, lang)]
        return self._types[key]

    def objects(self, predicate: str, lang: str) -> list[str]:
        """Objects of ``predicate`` (any subject, inferred facts included) that have a name in ``lang``."""
        key = (predicate, lang)
        if key not in self._objects:
            objects = self.graph.objects_of.get(predicate, ())
            self._objects[key] = [e for e in objects if self.graph.name(e, lang)]
        return self._objects[key]

    def key(self, entity: str, lang: str) -> str:
        """:func:`normalize` of the entity's ``lang`` name ("" without one)."""
        cache_key = (entity, lang)
        if cache_key not in self._keys:
            self._keys[cache_key] = normalize(self.graph.name(entity, lang) or "")
        return self._keys[cache_key]

    def taboo(self, group: Group, lang: str) -> frozenset[str]:
        """Name keys of the group's subject and of every known answer: no wrong option may bear one."""
        ids = (group.subject, *self.graph.answers[(group.subject, group.predicate)])
        return frozenset(self.key(e, lang) for e in ids) - {""}

    def related(self, entity: str) -> frozenset[str]:
        """Entities of ``entity``'s type linked to it: wrong options that may well be right after all.

        Same-type relations are containment-like (``located_in``, ``subsidiary_of``): if Hangzhou is
        the answer, Zhejiang is true as well. Covers direct links both ways and the outgoing chain
        (Hangzhou -> Zhejiang -> China) a few steps up.
        """
        if entity not in self._related:
            entities = self.graph.entities
            type_name = entities[entity].type
            found = {f.object if f.subject == entity else f.subject
                     for f in self.graph.by_entity.get(entity, ())
                     if entities[f.subject].type == entities[f.object].type == type_name}
            frontier, seen = {entity}, {entity}
            for _ in range(3):  # outgoing only: walking up a hierarchy stays small, walking down does not
                frontier = {f.object for e in frontier for f in self.graph.by_subject.get(e, ())
                            if entities[f.object].type == type_name} - seen
                seen |= frontier
            self._related[entity] = frozenset((found | seen) - {entity})
        return self._related[entity]

    def groups(self) -> list[Group]:
        """Every (subject, relation) group of usable facts, sorted, with its split (built once)."""
        if self._groups is None:
            self._groups = self._build_groups()
        return self._groups

    def _build_groups(self) -> list[Group]:
        groups = []
        for subject in sorted(self.graph.by_subject):
            by_predicate: dict[str, list[Fact]] = {}
            for fact in self.graph.by_subject[subject]:
                by_predicate.setdefault(fact.predicate, []).append(fact)
            for predicate in sorted(by_predicate):
                facts = tuple(by_predicate[predicate])
                # consistent with SplitPlan.fact_split, decided once for the whole group
                held = subject in self.heldout or any(f.object in self.heldout for f in facts)
                split = "heldout" if held else self.plan.pair_split(subject, predicate)
                groups.append(Group(subject, predicate, facts, split))
        return groups


class Phrasebook:
    """The templates a (relation, language, split) may use, with their labels, looked up once per run.

    Fallbacks and unusable labels are relation issues, noted (recorded once) when a lookup is first
    made: every worker makes it alike, and one line per schema relation or for all open relations
    is what the summary needs, not a count per question.

    Args:
        ctx: the run's context.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cache: dict[tuple[str, str, str, bool], tuple[list[tuple[int, str, str]], str]] = {}

    def questions(self, predicate: str, lang: str, split: str) -> tuple[list[tuple[int, str, str]], str]:
        """(index, template, label) of the question templates ``split`` may use, and their family."""
        return self._lookup("question", predicate, lang, split)

    def statements(self, predicate: str, lang: str, split: str) -> tuple[list[tuple[int, str, str]], str]:
        """(index, template, label) of the verbalization templates ``split`` may use, and their family."""
        return self._lookup("statement", predicate, lang, split)

    def _lookup(self, kind: str, predicate: str, lang: str,
                split: str) -> tuple[list[tuple[int, str, str]], str]:
        key = (kind, predicate, lang, split == "train")
        if key not in self._cache:
            graph, warnings = self.ctx.graph, self.ctx.warnings
            lookup = question_templates if kind == "question" else statement_templates
            templates, family = lookup(graph, predicate, lang, warnings)
            allowed = self.ctx.plan.templates(templates, predicate, lang, split, family)
            facts, is_open = graph.relation_count[predicate], predicate not in graph.schema.relation_types
            if not allowed:
                warnings.relation(f"a single {lang} {kind} template, reserved for evaluation: no training "
                                  f"{kind}s", predicate, facts, open=is_open)
            usable = [(i, t, label) for i, t in allowed
                      if (label := label_for(graph, predicate, lang, t)) is not None]
            if allowed and not usable:
                warnings.relation(f"label not written in {lang}: facts left out of {lang} data", predicate,
                                  facts, open=is_open)
            self._cache[key] = (usable, family)
        return self._cache[key]


def sampled(rng: random.Random, pool: Sequence, tries: int = TRIES) -> Iterator:
    """Items of ``pool`` in random order: all of a small pool, ``tries`` random draws from a large one.

    Lazy: a caller that stops after one item pays for one draw.
    """
    size = len(pool)
    if size > tries:
        for _ in range(tries):
            yield pool[int(rng.random() * size)]
        return
    order = list(pool)
    for i in range(size):  # Fisher-Yates, one step per item consumed
        j = i + int(rng.random() * (size - i))
        order[i], order[j] = order[j], order[i]
        yield order[i]


class Picker:
    """Chooses wrong options for one question: never a known answer, the subject or a repeated name.

    Args:
        pools: the run's pools (names and name keys).
        lang: language of the names.
        group: the question's group.
        taboo: :meth:`Pools.taboo` of the group: a different entity bearing a correct answer's or
            the subject's name would be right too.
        related: sets of entities too close to a correct answer to count as wrong (:meth:`Pools.related`),
            kept apart because a hub's set is large and shared.
    """

    def __init__(self, pools: Pools, lang: str, group: Group, taboo: frozenset[str],
                 related: Sequence[frozenset[str]] = ()) -> None:
        self.pools, self.lang, self.taboo, self.related = pools, lang, taboo, related
        self.known = pools.graph.answers[(group.subject, group.predicate)]
        self.heldout = frozenset() if group.split == "heldout" else pools.heldout
        # only this question's picks: the group's sets are shared, never copied (hub groups are large)
        self.chosen: set[str] = {group.subject}
        self.names: set[str] = set()

    def take(self, candidates: Iterable[str], want: int,
             accept: Callable[[str], bool] = lambda e: True) -> list[str]:
        """Up to ``want`` acceptable candidates, each then excluded from later calls."""
        chosen: list[str] = []
        if want <= 0:
            return chosen
        for entity in candidates:
            if (entity in self.chosen or entity in self.known or entity in self.heldout
                    or any(entity in r for r in self.related) or not accept(entity)):
                continue
            key = self.pools.key(entity, self.lang)
            if not key or key in self.names or key in self.taboo:
                continue
            chosen.append(entity)
            self.chosen.add(entity)
            self.names.add(key)
            if len(chosen) == want:
                break
        return chosen


__all__ = ["TRIES", "Group", "Phrasebook", "Picker", "Pools", "sampled"]
