"""Request and response bodies of the retrieval API (pydantic; they make the OpenAPI docs at /docs).

Limits live here so that the documentation, the validation and the 422 messages agree.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_QUERY_CHARS = 2000
"""Longest query (characters)."""
MAX_K = 50
"""Most facts one request may ask for."""
MAX_HOPS = 3
"""Deepest graph expansion one request may ask for."""
MAX_BODY_BYTES = 64 * 1024
"""Largest request body (bytes)."""
LANG_PATTERN = r"^[a-z]{2,3}$"


class RetrieveRequest(BaseModel):
    """What ``POST /v1/retrieve`` takes."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"query": "Who founded Tencent?", "k": 5}, {"query": "谁创立了腾讯？", "hops": 1}]})

    query: str = Field(min_length=1, max_length=MAX_QUERY_CHARS,
                       description=f"The question or search text (1 to {MAX_QUERY_CHARS:,} characters).")
    k: int = Field(8, ge=1, le=MAX_K, description=f"Facts to return (1 to {MAX_K}).")
    hops: int = Field(2, ge=0, le=MAX_HOPS, description="Graph expansion depth from the query's entities.")
    lang: str | None = Field(None, pattern=LANG_PATTERN,
                             description="The query's language; detected when left out.")
    langs: list[str] = Field(default_factory=list, max_length=8,
                             description="Item languages to search; default: the query's language.")
    mode: Literal["hybrid", "vector", "lexical"] = Field(
        "hybrid", description="hybrid: graph-aware fusion; vector or lexical: one signal alone.")
    include_inferred: bool = Field(True, description="Allow facts proposed by `kg complete` (marked).")
    sentences: int = Field(6, ge=0, le=50, description="Most source sentences to return.")
    paths: int = Field(5, ge=0, le=50, description="Most graph paths to return.")
    max_context_chars: int = Field(4000, ge=200, le=50_000, description="Longest `context` string.")

    @field_validator("query")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the query is empty; send the question to retrieve facts for")
        return value

    @field_validator("langs")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        import re

        bad = [x for x in value if not re.fullmatch(LANG_PATTERN, x)]
        if bad:
            raise ValueError(f"not language codes: {', '.join(map(repr, bad))} (use codes such as en, zh)")
        return value


class EntityRef(BaseModel):
    """An entity named in a fact."""

    id: str
    name: str


class FactOut(BaseModel):
    """A retrieved fact. ``citations`` are numbers of ``citations`` entries (documents)."""

    id: str
    subject: EntityRef
    predicate: str
    relation: str = Field(description="The relation's label in the context language.")
    object: EntityRef
    text: str
    source: str = Field(description="extracted, imported or inferred.")
    inferred: bool
    confidence: float = Field(description="Extraction confidence, or the model's score of an inferred fact.")
    score: float = Field(description="Fused rank score (higher is better).")
    signals: dict[str, float | int | None] = Field(
        description="vector: cosine similarity; lexical: BM25; hops: graph distance (0: joins two entities).")
    citations: list[int]
    documents: list[str]


class EntitySummary(BaseModel):
    """An entity's id, names, type and number of facts."""

    id: str
    name: str
    type: str
    aliases: list[str]
    lang: str
    degree: int


class LinkedEntity(EntitySummary):
    """An entity recognized in the query."""

    surface: str
    start: int
    end: int
    weight: float


class PathOut(BaseModel):
    """A path of facts from an entity of the query (``joins``: it ends at another one)."""

    facts: list[str]
    entities: list[str]
    text: str
    joins: bool
    score: float


class SentenceOut(BaseModel):
    """A source sentence (evidence of a fact) or a passage the vector search found."""

    doc_id: str
    text: str
    start: int
    end: int
    citation: int
    facts: list[str]
    kind: Literal["evidence", "passage"]
    score: float | None


class Citation(BaseModel):
    """What a citation number stands for."""

    n: int
    doc_id: str
    source: str
    title: str
    lang: str


class RetrieveResponse(BaseModel):
    """What ``POST /v1/retrieve`` returns."""

    query: str
    lang: str = Field(description="The query's language (given or detected).")
    context_lang: str = Field(description="The language the context is written in.")
    langs: list[str]
    mode: str
    entities: list[LinkedEntity]
    facts: list[FactOut]
    paths: list[PathOut]
    sentences: list[SentenceOut]
    citations: list[Citation]
    context: str = Field(description="Ready to put in front of a model: facts, connections, cited sources.")
    warnings: list[str]
    bundle_version: int
    took_ms: float


class EntityOut(EntitySummary):
    """``GET /v1/entities/{id}``: an entity and its facts."""

    description: str
    facts: list[FactOut]
    facts_total: int


class EntityMatch(EntitySummary):
    """An entity found by name (``exact``: the name is one of its surfaces)."""

    exact: bool


class EntitySearch(BaseModel):
    """``GET /v1/entities?name=``."""

    name: str
    entities: list[EntityMatch]


class Health(BaseModel):
    """``GET /healthz``."""

    status: Literal["ok", "stale"]
    detail: str = ""
    bundle_version: int
    index_generation: int
    facts: int
    entities: int
    spaces: dict[str, list[str]]


class ErrorOut(BaseModel):
    """Every error: a message that says what to do (``errors``: pydantic's list for a 422)."""

    detail: str
    errors: list[dict] = Field(default_factory=list)


__all__ = ["LANG_PATTERN", "MAX_BODY_BYTES", "MAX_HOPS", "MAX_K", "MAX_QUERY_CHARS", "Citation", "EntityMatch", "EntityOut",
           "EntityRef", "EntitySearch", "EntitySummary", "ErrorOut", "FactOut", "Health", "LinkedEntity",
           "PathOut", "RetrieveRequest", "RetrieveResponse", "SentenceOut"]
