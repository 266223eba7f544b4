"""Refusals: questions the graph does not support, answered "I don't know" in the question's language.

``round(ratio × usable (subject, relation) groups)`` refusals per language, from two sources, half
each (the second fills in when the first runs short):

* ``unknown_relation``: a real entity asked about a schema relation whose domain is its type, with
  no known fact (inferred ones included) for that (entity, relation) pair.
* ``unknown_entity``: a fabricated name (parts of two real names of one type recombined) that is no
  name or alias of any entity, asked about a relation of that type.

Splits follow the questions': a real pair gets ``heldout`` when its entity is held out, else the
plan's ``pair_split``; a fabricated name is hashed the same way, so train and eval refusals differ and
use training versus reserved question templates.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from injection.synth.candidates import Phrasebook, Pools
from injection.synth.context import Context
from injection.synth.records import Record, template_id
from injection.synth.templates import render
from injection.synth.wording import Wording, fits_lang, normalize, wording
from kg.errors import ConfigError

_ATTEMPTS = 20  # random draws per wanted refusal before a source counts as exhausted


def generate_refusals(ctx: Context, ratio: float = 0.5) -> Iterator[Record]:
    """Refusal records: ``round(ratio × usable (subject, relation) groups)`` per language.

    Fewer come back (warned) when the graph has too few unsupported questions to ask.

    Args:
        ctx: the run's context.
        ratio: refusals per usable (subject, relation) group and language.

    Yields:
        ``refusal`` records, style ``unknown_relation`` or ``unknown_entity``.
    """
    if ratio < 0:
        raise ConfigError(f"ratio must not be negative, got {ratio}")
    graph = ctx.graph
    target = round(ratio * len({(f.subject, f.predicate) for f in graph.facts}))
    relations = [r for r, rel in sorted(graph.schema.relation_types.items()) if graph.by_type.get(rel.domain)]
    if not target or not relations:
        return
    pools, book = Pools.of(ctx), Phrasebook(ctx)
    existing: set[str] = set()
    for entity in graph.entities.values():
        existing.update(normalize(n) for n in (entity.name, *entity.aliases))
    for lang in ctx.langs:
        # choosing is one sequential stream (it must not ask twice), cheap, and alike in every worker;
        # wording the chosen questions is the per-unit part
        chooser = _Chooser(ctx, pools, book, relations, lang)
        questions = chooser.unknown_relations((target + 1) // 2)
        questions += chooser.unknown_entities(target - len(questions), existing)
        for question, rng in ctx.units(questions, f"refusals:{lang}"):
            yield question.record(lang, rng)


@dataclass(frozen=True)
class _Question:
    """An unsupported question chosen for a refusal, with what its wording may draw from."""

    style: str
    relation: str
    subject: str
    split: str
    usable: list[tuple[int, str, str]]
    family: str
    answers: tuple[str, ...]
    entities: list[str] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def record(self, lang: str, rng: random.Random) -> Record:
        """The refusal record, its template and answer drawn from ``rng``."""
        index, template, label = rng.choice(self.usable)
        return Record(kind="refusal", lang=lang, split=self.split, style=self.style,
                      prompt=render(template, self.subject, label=label), answer=rng.choice(self.answers),
                      entities=self.entities, meta=self.meta,
                      templates=[template_id(self.family, self.relation, lang, index)])


class _Chooser:
    """Draws unsupported questions in one language."""

    def __init__(self, ctx: Context, pools: Pools, book: Phrasebook, relations: list[str], lang: str) -> None:
        self.ctx, self.pools, self.book, self.relations, self.lang = ctx, pools, book, relations, lang
        self.words: Wording = wording(lang)
        self.rng = ctx.rng(f"refusals:{lang}")

    def _domain_pool(self) -> tuple[str, list[str]]:
        relation = self.rng.choice(self.relations)
        return relation, self.pools.of_type(self.ctx.graph.schema.relation_types[relation].domain, self.lang)

    def unknown_relations(self, want: int) -> list[_Question]:
        """Real entities asked about a relation of their type that no known fact answers."""
        graph, chosen, seen = self.ctx.graph, [], set()
        for _ in range(want * _ATTEMPTS):
            if len(chosen) >= want:
                break
            relation, pool = self._domain_pool()
            if not pool:
                continue
            entity = pool[self.rng.randrange(len(pool))]
            pair = (entity, relation)
            if pair in seen or pair in graph.answers or self._symmetric(entity, relation):
                continue
            seen.add(pair)
            split = "heldout" if entity in self.pools.heldout else self.ctx.plan.pair_split(entity, relation)
            name = graph.name(entity, self.lang) or ""
            question = self._question("unknown_relation", relation, name, split, self.words.refusals, [entity],
                                      {"relation": relation})
            if question:
                chosen.append(question)
        return chosen

    def unknown_entities(self, want: int, existing: set[str]) -> list[_Question]:
        """Fabricated names, none of them a name or alias (``existing`` keys) of a real entity."""
        graph, chosen, seen = self.ctx.graph, [], set()
        for _ in range(want * _ATTEMPTS):
            if len(chosen) >= want:
                break
            relation, pool = self._domain_pool()
            if len(pool) < 2:
                continue
            first, second = (pool[i] for i in self.rng.sample(range(len(pool)), 2))
            name = fabricate(graph.name(first, self.lang) or "", graph.name(second, self.lang) or "",
                             self.lang)
            key = normalize(name)
            if not key or key in existing or (key, relation) in seen or not fits_lang(name, self.lang):
                continue
            seen.add((key, relation))
            # hashed like a real pair (the name stands in for an id), so train and eval get different names
            split = self.ctx.plan.pair_split(f"unknown:{key}", relation)
            variants = self.words.refusals + self.words.unknown_entity_refusals(name)
            question = self._question("unknown_entity", relation, name, split, variants, [],
                                      {"relation": relation, "fabricated": name, "parts": [first, second]})
            if question:
                chosen.append(question)
        if len(chosen) < want:
            self.ctx.warnings.note(f"refusals: fewer {self.lang} refusals than asked (too few unknowns)")
        return chosen

    def _symmetric(self, entity: str, relation: str) -> bool:
        """Whether a symmetric relation links ``entity`` as object (so the pair is known after all)."""
        rel = self.ctx.graph.schema.relation_types[relation]
        return rel.symmetric and any(f.predicate == relation and f.object == entity
                                     for f in self.ctx.graph.by_entity.get(entity, ()))

    def _question(self, style: str, relation: str, subject: str, split: str, answers: tuple[str, ...],
                  entities: list[str], meta: dict) -> _Question | None:
        usable, family = self.book.questions(relation, self.lang, split)
        if not subject or not usable:
            return None
        return _Question(style, relation, subject, split, usable, family, answers, entities, meta)


def fabricate(first: str, second: str, lang: str) -> str:
    """A new name from two real ones of one type.

    English names with several words take the first words of one and the last of the other
    (``Steve Jobs`` + ``Tim Cook`` -> ``Steve Cook``); single words and Chinese names join a half of
    each (``Google`` + ``Baidu`` -> ``Gooidu``, ``马云`` + ``雷军`` -> ``马军``).
    """
    if lang != "zh":
        head, tail = first.split(), second.split()
        if len(head) > 1 or len(tail) > 1:
            return " ".join(head[:-1] or head) + " " + tail[-1]
    return first[:max(1, len(first) // 2)] + second[len(second) // 2:]


__all__ = ["fabricate", "generate_refusals"]
