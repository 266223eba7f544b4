"""Core records (Document, Mention, Entity, Fact with Evidence) and their Arrow table schemas.

Records are plain slotted dataclasses because extraction creates millions of them; the Arrow schemas
below are the contract between extraction, the Parquet bundle and every store projection.

Table contract (one Parquet file per table per batch in the bundle):

* ``documents``: one row per kept document.
* ``mentions``: one row per entity mention, with sentence index and character offsets in the document.
* ``entities``: canonical entities (merged across batches by id; aliases are unioned).
* ``evidence``: one row per (fact, supporting sentence). A fact is live while at least one evidence
  row from a live (non-retracted) document supports it, or when its source is not ``extracted``.
* ``facts``: the aggregated view of ``evidence`` (one row per fact id) that stores load, with the
  latest live ``plausibility`` score and the ``model`` that gave it (null until ``kg complete`` ran).
* ``scores``: plausibility of facts from a link predictor (``kg complete``); the latest live row wins.
* ``retractions``: batches withdrawn as a whole (``kg complete --remove BATCH``): their inferred facts
  and scores no longer count.

Inferred facts (``kg complete``) are evidence rows without a document: ``source`` is ``inferred``,
``extractor`` names the model (``name@version``) and ``confidence`` is its calibrated score.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

import pyarrow as pa

FactSource = Literal["extracted", "inferred", "imported"]


@dataclass(slots=True)
class Document:
    """A cleaned corpus document."""

    id: str
    text: str
    lang: str = "und"
    source: str = ""
    meta: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Mention:
    """An entity mention: document, sentence index, char offsets in the document text."""

    doc_id: str
    sentence: int
    start: int
    end: int
    text: str
    type: str
    entity_id: str = ""
    extractor: str = ""
    confidence: float = 1.0


@dataclass(slots=True)
class Entity:
    """A canonical entity after resolution."""

    id: str
    name: str
    type: str
    aliases: list[str] = field(default_factory=list)
    lang: str = "und"
    description: str = ""


@dataclass(slots=True)
class Evidence:
    """Where a fact was read: document, sentence index and text, char span, extractor, confidence."""

    doc_id: str
    sentence: int
    start: int
    end: int
    text: str
    extractor: str
    confidence: float


@dataclass(slots=True)
class Fact:
    """A (subject, predicate, object) fact between canonical entity ids, with provenance."""

    subject: str
    predicate: str
    object: str
    confidence: float = 1.0
    source: FactSource = "extracted"
    evidence: list[Evidence] = field(default_factory=list)
    batch: str = ""
    open: bool = False  # True when the predicate is an open relation (verb lemma), not a schema type

    def as_dict(self) -> dict:
        """Return the fact as a plain dict (evidence included)."""
        return asdict(self)


DOCUMENTS = pa.schema([
    ("id", pa.string()), ("source", pa.string()), ("lang", pa.string()), ("text", pa.string()),
    ("title", pa.string()), ("meta", pa.string()), ("batch", pa.string()),
])
MENTIONS = pa.schema([
    ("doc_id", pa.string()), ("sentence", pa.int32()), ("start", pa.int64()), ("end", pa.int64()),
    ("text", pa.string()), ("type", pa.string()), ("entity_id", pa.string()),
    ("extractor", pa.string()), ("confidence", pa.float64()), ("batch", pa.string()),
])
ENTITIES = pa.schema([
    ("id", pa.string()), ("name", pa.string()), ("type", pa.string()),
    ("aliases", pa.list_(pa.string())), ("lang", pa.string()), ("description", pa.string()),
    ("batch", pa.string()),
])
EVIDENCE = pa.schema([
    ("fact_id", pa.string()), ("subject", pa.string()), ("predicate", pa.string()),
    ("object", pa.string()), ("open", pa.bool_()), ("source", pa.string()),
    ("doc_id", pa.string()), ("sentence", pa.int32()), ("start", pa.int64()), ("end", pa.int64()),
    ("text", pa.string()), ("extractor", pa.string()), ("confidence", pa.float64()),
    ("batch", pa.string()),
])
FACTS = pa.schema([
    ("id", pa.string()), ("subject", pa.string()), ("predicate", pa.string()),
    ("object", pa.string()), ("open", pa.bool_()), ("source", pa.string()),
    ("confidence", pa.float64()), ("evidence_count", pa.int64()), ("batch", pa.string()),
    ("plausibility", pa.float64()), ("model", pa.string()),
])
TOMBSTONES = pa.schema([("doc_id", pa.string()), ("batch", pa.string())])
SCORES = pa.schema([
    ("fact_id", pa.string()), ("plausibility", pa.float64()), ("model", pa.string()), ("batch", pa.string()),
])
RETRACTIONS = pa.schema([("retracted", pa.string()), ("batch", pa.string())])

TABLES: dict[str, pa.Schema] = {
    "documents": DOCUMENTS, "mentions": MENTIONS, "entities": ENTITIES,
    "evidence": EVIDENCE, "tombstones": TOMBSTONES, "scores": SCORES, "retractions": RETRACTIONS,
}
