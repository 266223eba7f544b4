"""Entity resolution: mentions -> canonical entities.

Order of evidence, strongest first: the schema's gazetteer (aliases in any language, which also fixes
the type), abbreviation pairs found in the text ("International Business Machines (IBM)"), names and
aliases already known (earlier batches included), a person's surname used after the full name in the
same document, and finally fuzzy matching within a type (rapidfuzz). Keys are normalized with NFKC
(full-width -> half-width) and casefolding, so "ＩＢＭ", "ibm" and "IBM" meet.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from rapidfuzz import fuzz, process

from extraction.analysis import Analysis
from kg.ids import entity_id, normalize_key
from kg.model import Entity, Mention
from kg.schema import Schema

# only sentence punctuation and quotes are trimmed; brackets and braces can belong to a name
_EDGE = re.compile(r"^(?:the\s+)|(?:['’]s)$|^[\s,.;:!?\"“”‘’'`]+|[\s,;:!?\"“”‘’'`]+$",
                   re.IGNORECASE)
_ABBR_AFTER = re.compile(r"\s*[(（]\s*([A-Z][A-Za-z0-9&.\-]{1,11})\s*[)）]")
_STOP = {"of", "and", "the", "for", "&", "de"}


def clean_name(text: str) -> str:
    """Strip a leading "the", a trailing possessive and edge punctuation; collapse whitespace."""
    previous = None
    text = " ".join(text.split())
    while previous != text:
        previous, text = text, _EDGE.sub("", text).strip()
    return text


def _initials_match(long_form: str, abbr: str) -> bool:
    """True when the abbreviation's letters are the initials of the long form's content words."""
    if any("\u3400" <= c <= "\u9fff" for c in long_form):
        return True  # Chinese long forms have no initials; the parenthesis pattern is the evidence
    initials = "".join(w[0] for w in long_form.split() if w.lower() not in _STOP and w[0].isalnum())
    letters = "".join(c for c in abbr if c.isalpha()).upper()
    return initials.upper() == letters or initials.upper().startswith(letters) and len(letters) >= 3


class EntityResolver:
    """Assigns canonical entity ids to mentions, remembering entities across documents and batches.

    Args:
        schema: provides the gazetteer alias table.
        known: entities already in the bundle (earlier batches).
        fuzzy_threshold: rapidfuzz ratio (0-100) above which two names of one type are merged.
        fuzzy_min_length: names shorter than this are never fuzzy-matched (too risky: "Intel"/"Intuit").
    """

    def __init__(self, schema: Schema, known: Iterable[Entity] = (), *, fuzzy_threshold: float = 92,
                 fuzzy_min_length: int = 6) -> None:
        self.schema = schema
        self.fuzzy_threshold = fuzzy_threshold
        self.fuzzy_min_length = fuzzy_min_length
        self.entities: dict[str, Entity] = {}
        self.changed: set[str] = set()
        self._names: dict[tuple[str, str], str] = {}
        self._by_type: dict[str, dict[str, str]] = {}
        # gazetteer: normalized alias -> (type, canonical name), regardless of the NER's type guess
        self._gazetteer: dict[str, tuple[str, str]] = {
            key: (etype, name) for (etype, key), name in schema.alias_table.items()}
        self._descriptions = {(etype, entry.name): entry.description
                              for etype, spec in schema.entity_types.items() for entry in spec.gazetteer}
        for entity in known:
            self.entities[entity.id] = entity
            self._register(entity, entity.name)
            for alias in entity.aliases:
                self._register(entity, alias)

    def _register(self, entity: Entity, surface: str) -> None:
        key = normalize_key(surface)
        self._names.setdefault((entity.type, key), entity.id)
        self._by_type.setdefault(entity.type, {}).setdefault(key, entity.id)

    def _get_or_create(self, etype: str, name: str, lang: str) -> Entity:
        eid = entity_id(etype, name)
        entity = self.entities.get(eid)
        if entity is None:
            entity = Entity(id=eid, name=name, type=etype, lang=lang,
                            description=self._descriptions.get((etype, name), ""))
            self.entities[eid] = entity
            self.changed.add(eid)
            self._register(entity, name)
        return entity

    def _add_alias(self, entity: Entity, surface: str) -> None:
        if surface != entity.name and surface not in entity.aliases:
            entity.aliases.append(surface)
            self.changed.add(entity.id)
        self._register(entity, surface)

    def _fuzzy(self, etype: str, key: str) -> str | None:
        if len(key) < self.fuzzy_min_length:
            return None
        choices = self._by_type.get(etype)
        if not choices:
            return None
        found = process.extractOne(key, choices.keys(), scorer=fuzz.ratio,
                                   score_cutoff=self.fuzzy_threshold)
        return choices[found[0]] if found else None

    def resolve(self, analysis: Analysis, text: str) -> None:
        """Set ``entity_id`` (and the resolved type) on every mention of one document, in place."""
        abbreviations: dict[str, str] = {}
        persons: list[Entity] = []
        for mention in analysis.mentions:
            surface = clean_name(mention.text) or mention.text.strip()
            key = normalize_key(surface)
            entity = None
            # the raw text first: a gazetteer name may itself start or end with punctuation
            gazetteer_key = next((k for k in (normalize_key(mention.text), key) if k in self._gazetteer),
                                 None)
            if gazetteer_key is not None:
                etype, canonical = self._gazetteer[gazetteer_key]
                mention.type = etype
                entity = self._get_or_create(etype, canonical, analysis.lang)
            elif key in abbreviations:
                entity = self.entities[abbreviations[key]]
                mention.type = entity.type
            else:
                eid = self._names.get((mention.type, key))
                if eid is None and mention.type == "Person" and " " not in surface:
                    eid = next((p.id for p in reversed(persons)
                                if normalize_key(p.name).split()[-1:] == [key]), None)
                if eid is None:
                    eid = self._fuzzy(mention.type, key)
                entity = self.entities[eid] if eid else self._get_or_create(
                    mention.type, surface, analysis.lang)
            self._add_alias(entity, surface)
            mention.entity_id = entity.id
            if entity.type == "Person":
                persons.append(entity)
            # "International Business Machines (IBM)": the parenthesised acronym names this entity
            follow = _ABBR_AFTER.match(text, mention.end)
            if follow and _initials_match(surface, follow.group(1)):
                abbr = follow.group(1)
                abbreviations[normalize_key(abbr)] = entity.id
                self._add_alias(entity, abbr)

    def changed_entities(self) -> list[Entity]:
        """Entities created or given new aliases since construction, sorted by id."""
        return [self.entities[eid] for eid in sorted(self.changed)]


def resolve_all(resolver: EntityResolver, items: Iterable[tuple[Analysis, str]]) -> list[Mention]:
    """Resolve many documents; returns all their mentions (with entity ids) in order."""
    mentions: list[Mention] = []
    for analysis, text in items:
        resolver.resolve(analysis, text)
        mentions.extend(analysis.mentions)
    return mentions
