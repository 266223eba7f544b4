"""Domain schema: entity types, relation types, extraction patterns and templates (YAML, pydantic).

The schema drives extraction (NER label mapping, gazetteers, relation patterns), synthesis
(verbalization and question templates) and the RDFS/OWL export. Without a schema, extraction still
produces open relations.

English relation patterns are dependency paths walked from a trigger token. A path is a
whitespace-separated list of steps:

* ``>dep`` moves to a child attached with dependency ``dep`` (alternatives: ``>nsubj|nsubjpass``);
* ``<dep`` requires the current token to be attached with ``dep`` and moves to its head;
* a step may constrain the lemma of the token it reaches: ``>prep[of|at]``.

Chinese relation patterns are regular expressions over a sentence in which every recognised entity
mention is replaced by a placeholder; ``{subject}`` and ``{object}`` mark the two arguments.
"""

from __future__ import annotations

import difflib
import re
from functools import cached_property
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from kg.errors import SchemaError

Lang = Literal["en", "zh"]
_STEP = re.compile(r"^([<>])([A-Za-z_:|]+)(?:\[([^\]]+)\])?$")


class _Strict(BaseModel):
    # extra="forbid" turns a typo such as `domian:` into an error that names the field.
    model_config = ConfigDict(extra="forbid", frozen=True)


class GazetteerEntry(_Strict):
    """A known entity: canonical name plus aliases (any language) used for NER and resolution."""

    name: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    description: str = ""


class NerMapping(_Strict):
    """Which labels of each NER engine map to this entity type."""

    spacy: list[str] = Field(default_factory=list)
    jieba: list[str] = Field(default_factory=list)
    transformers: list[str] = Field(default_factory=list)
    # the packaged Chinese NER model's labels (PER, LOC, ORG); when no type lists any, they map as
    # jieba's nr / ns / nt do (see extraction.chinese.MODEL_JIEBA_TAGS)
    zh_ner: list[str] = Field(default_factory=list)


class EntityType(_Strict):
    """An entity type such as ``Person``."""

    labels: dict[Lang, str] = Field(default_factory=dict)
    description: str = ""
    ner: NerMapping = Field(default_factory=NerMapping)
    gazetteer: list[GazetteerEntry] = Field(default_factory=list)


class DependencyPattern(_Strict):
    """English pattern: a trigger lemma plus dependency paths to the subject and the object."""

    trigger: list[str] = Field(min_length=1)
    pos: list[str] = Field(default_factory=lambda: ["VERB", "AUX", "NOUN", "PROPN", "ADJ"])
    subject: str
    object: str

    @field_validator("subject", "object")
    @classmethod
    def _check_path(cls, value: str) -> str:
        parse_path(value)
        return value


class SurfacePattern(_Strict):
    """Chinese pattern: a regex with ``{subject}`` and ``{object}`` placeholders."""

    regex: str

    @field_validator("regex")
    @classmethod
    def _check_regex(cls, value: str) -> str:
        if "{subject}" not in value or "{object}" not in value:
            raise ValueError("must contain both {subject} and {object}")
        try:
            re.compile(value.replace("{subject}", "S").replace("{object}", "O"))
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from exc
        return value


class RelationPatterns(_Strict):
    """Extraction patterns per language."""

    en: list[DependencyPattern] = Field(default_factory=list)
    zh: list[SurfacePattern] = Field(default_factory=list)


class RelationType(_Strict):
    """A relation type such as ``founded_by`` with its signature, patterns and templates."""

    labels: dict[Lang, str] = Field(default_factory=dict)
    description: str = ""
    domain: str
    range: str
    functional: bool = False
    symmetric: bool = False
    patterns: RelationPatterns = Field(default_factory=RelationPatterns)
    verbalizations: dict[Lang, list[str]] = Field(default_factory=dict)
    questions: dict[Lang, list[str]] = Field(default_factory=dict)

    @field_validator("verbalizations")
    @classmethod
    def _check_verbalizations(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for lang, templates in value.items():
            for template in templates:
                if "{subject}" not in template or "{object}" not in template:
                    raise ValueError(f"[{lang}] template {template!r} needs {{subject}} and {{object}}")
        return value

    @field_validator("questions")
    @classmethod
    def _check_questions(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for lang, templates in value.items():
            for template in templates:
                if "{subject}" not in template:
                    raise ValueError(f"[{lang}] question {template!r} needs {{subject}}")
        return value


class Schema(_Strict):
    """A validated domain schema."""

    name: str
    version: str = "1"
    description: str = ""
    entity_types: dict[str, EntityType] = Field(min_length=1)
    relation_types: dict[str, RelationType] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_signatures(self) -> Schema:
        for rel_name, rel in self.relation_types.items():
            for role in ("domain", "range"):
                type_name = getattr(rel, role)
                if type_name not in self.entity_types:
                    hint = difflib.get_close_matches(type_name, list(self.entity_types), n=1)
                    tip = f" (did you mean {hint[0]!r}?)" if hint else ""
                    raise ValueError(
                        f"relation_types.{rel_name}.{role}: unknown entity type {type_name!r}{tip}; "
                        f"known types: {', '.join(self.entity_types)}"
                    )
        return self

    @cached_property
    def alias_table(self) -> dict[tuple[str, str], str]:
        """Map (entity type, normalized alias) -> canonical name, from every gazetteer."""
        from kg.ids import normalize_key

        table: dict[tuple[str, str], str] = {}
        for type_name, etype in self.entity_types.items():
            for entry in etype.gazetteer:
                for surface in (entry.name, *entry.aliases):
                    table[(type_name, normalize_key(surface))] = entry.name
        return table

    def type_for_label(self, engine: str, label: str) -> str | None:
        """Return the entity type mapped from an NER engine's label, or None."""
        for type_name, etype in self.entity_types.items():
            if label in getattr(etype.ner, engine):
                return type_name
        return None


def parse_path(path: str) -> list[tuple[str, frozenset[str], frozenset[str] | None]]:
    """Parse a dependency path into ``(direction, deps, lemmas)`` steps.

    Raises:
        ValueError: if a step is malformed.
    """
    steps = []
    for raw in path.split():
        match = _STEP.match(raw)
        if not match:
            raise ValueError(f"bad path step {raw!r}; use '>dep', '<dep' or '>dep[lemma|lemma]'")
        direction, deps, lemmas = match.groups()
        steps.append(
            (direction, frozenset(deps.split("|")), frozenset(lemmas.split("|")) if lemmas else None)
        )
    return steps


def _format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors()[:5]:
        loc = ".".join(str(part) for part in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field (typo?)"
        lines.append(f"{loc}: {msg}")
    return f"invalid schema {source}: " + "; ".join(lines) + " — fix the field(s) named and re-run"


def load_schema(path: str | Path) -> Schema:
    """Load and validate a YAML schema file.

    Raises:
        SchemaError: the file is missing, not YAML, or fails validation (the message names the field).
    """
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"schema file {path} not found; pass an existing --schema path") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise SchemaError(f"schema {path} is not valid YAML ({exc}); fix the syntax and re-run") from exc
    if not isinstance(raw, dict):
        raise SchemaError(f"schema {path} must be a YAML mapping with entity_types/relation_types")
    try:
        return Schema.model_validate(raw)
    except ValidationError as exc:
        raise SchemaError(_format_validation_error(exc, str(path))) from None


OPEN_SCHEMA = Schema(
    name="open",
    entity_types={
        "Person": EntityType(labels={"en": "person", "zh": "人物"},
                             ner=NerMapping(spacy=["PERSON"], jieba=["nr"], transformers=["PER"],
                                            zh_ner=["PER"])),
        "Organization": EntityType(labels={"en": "organization", "zh": "机构"},
                                   ner=NerMapping(spacy=["ORG"], jieba=["nt"], transformers=["ORG"],
                                                  zh_ner=["ORG"])),
        "Location": EntityType(labels={"en": "location", "zh": "地点"},
                               ner=NerMapping(spacy=["GPE", "LOC"], jieba=["ns"], transformers=["LOC"],
                                              zh_ner=["LOC"])),
    },
)
"""Fallback schema used when none is given: three common types and open relations only."""
