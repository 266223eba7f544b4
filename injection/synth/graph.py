"""SynthGraph: the live graph indexed the way every synthesis generator reads it.

Generators never touch Arrow tables: they ask this class for entity names in a language, the facts of
a subject, every known answer of a (subject, relation) pair, entities of a type and degrees. All
iteration orders are sorted by id, so a seed fully determines the output.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass

from kg.graph import GraphView
from kg.schema import Schema

LANGS: tuple[str, ...] = ("en", "zh")
_UNKNOWN = object()  # a name not looked up yet (None means: no name in that language)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def script_lang(text: str) -> str | None:
    """``"zh"`` for text with Han characters, ``"en"`` for Latin-only text, else None."""
    if _CJK.search(text):
        return "zh"
    return "en" if _LATIN.search(text) else None


@dataclass(frozen=True)
class Entity:
    """A live canonical entity."""

    id: str
    name: str
    type: str
    aliases: tuple[str, ...]
    lang: str


@dataclass(frozen=True)
class Fact:
    """A live fact (subject and object are entity ids)."""

    id: str
    subject: str
    predicate: str
    object: str
    open: bool
    source: str
    confidence: float


class SynthGraph:
    """Indexes over a :class:`GraphView` for synthesis.

    Args:
        view: the live graph.
        schema: the domain schema (templates, labels, signatures).
        include_inferred: use inferred facts (``source == "inferred"``) as training material.
        min_score: inferred facts below this confidence are left out even with ``include_inferred``.

    Attributes:
        facts: the facts synthesis may verbalize, sorted by id.
        known: every live fact, inferred ones included: what counts as true when making false
            statements, distractors and refusals (a proposed fact is never presented as false).
    """

    def __init__(self, view: GraphView, schema: Schema, *, include_inferred: bool = False,
                 min_score: float = 0.0) -> None:
        self.schema = schema
        self.entities: dict[str, Entity] = {
            row["id"]: Entity(row["id"], row["name"], row["type"], tuple(row["aliases"] or ()),
                              row["lang"] or "")
            for row in view.entities.to_pylist()
        }
        known = sorted(
            (Fact(r["id"], r["subject"], r["predicate"], r["object"], bool(r["open"]),
                  r["source"] or "extracted", float(r["confidence"] if r["confidence"] is not None else 1.0))
             for r in view.facts.to_pylist()
             if r["subject"] in self.entities and r["object"] in self.entities),
            key=lambda f: f.id,
        )
        self.known: list[Fact] = known
        self.facts: list[Fact] = [
            f for f in known
            if f.source != "inferred" or (include_inferred and f.confidence >= min_score)
        ]
        self.answers: dict[tuple[str, str], frozenset[str]] = {
            key: frozenset(values)
            for key, values in _group(((f.subject, f.predicate), f.object) for f in known).items()
        }
        self.by_subject: dict[str, list[Fact]] = _group((f.subject, f) for f in self.facts)
        self.by_entity: dict[str, list[Fact]] = _group(
            pair for f in self.facts for pair in ((f.subject, f), (f.object, f)))
        self.by_type: dict[str, list[str]] = _group(
            (e.type, e.id) for e in sorted(self.entities.values(), key=lambda e: e.id))
        self.objects_of: dict[str, list[str]] = {
            p: sorted(set(objs)) for p, objs in _group((f.predicate, f.object) for f in known).items()}
        self.degree: Counter[str] = Counter(e for f in self.facts for e in (f.subject, f.object))
        self.relation_count: Counter[str] = Counter(f.predicate for f in self.facts)
        # per language, filled on first use: generators ask for names millions of times
        self._names: dict[str, dict[str, str | None]] = {}

    def name(self, entity_id: str, lang: str) -> str | None:
        """The entity's name written in ``lang``'s script: its name, else its first such alias, else None."""
        names = self._names.get(lang)
        if names is None:
            names = self._names[lang] = {}
        name = names.get(entity_id, _UNKNOWN)
        if name is _UNKNOWN:
            entity = self.entities[entity_id]
            name = names[entity_id] = next(
                (n for n in (entity.name, *entity.aliases) if script_lang(n) == lang), None)
        return name

    def relation_label(self, predicate: str, lang: str) -> str:
        """The relation's label in ``lang`` (schema), else the predicate itself (open relations)."""
        rel = self.schema.relation_types.get(predicate)
        if rel and rel.labels.get(lang):
            return rel.labels[lang]
        return predicate.replace("_", " ")

    def type_label(self, type_name: str, lang: str) -> str:
        """The entity type's label in ``lang``, else its name."""
        etype = self.schema.entity_types.get(type_name)
        return (etype.labels.get(lang) if etype else None) or type_name

    def neighbours(self, entity_id: str) -> list[str]:
        """Entities linked to ``entity_id`` by a fact, either direction, sorted."""
        linked = self.by_entity.get(entity_id, ())
        return sorted({f.object if f.subject == entity_id else f.subject for f in linked})


def _group(pairs) -> dict:
    grouped: dict = defaultdict(list)
    for key, value in pairs:
        grouped[key].append(value)
    return dict(grouped)


__all__ = ["LANGS", "Entity", "Fact", "SynthGraph", "script_lang"]
