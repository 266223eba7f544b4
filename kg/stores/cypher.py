"""Helpers shared by the Cypher backends (LadybugDB, Neo4j): the graph's Arrow tables and query checks.

Both backends expose the property-graph model described in :mod:`kg.stores.ladybug`, so the same
analyst queries run on either. This module holds what they share and nothing backend-specific:

* :func:`arrow_tables` shapes a :class:`~kg.graph.GraphView` into one Arrow table per node label /
  relationship type of that model (LadybugDB copies them, Neo4j ``UNWIND``\\ s their rows).
* :func:`cypher_statements` and :func:`clause_keyword` read query text with string literals, escaped
  names and comments blanked out, so a keyword inside ``'...'`` never counts; the backends use them to
  refuse statements a read-only transaction would not stop.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from kg.errors import QueryError, StoreError
from kg.graph import GraphView
from kg.stores.base import evidence_ids

# String literals, escaped names and comments, blanked out before looking at statement keywords.
CYPHER_NOISE = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`[^`]*`|//[^\n]*|/\*.*?\*/", re.S)

# A keyword used as a clause: not a property (`n.set`), parameter (`$set`), label (`:Set`) or map key
# (`{set: 1}`), and followed by a space or `(` as clauses are (so a variable `(set)` does not count).
_CLAUSE_WORD = re.compile(r"(?<![\w.$:])([A-Za-z]+)(?=[\s(])(?!\s*:)")


COUNT_QUERIES: dict[str, str] = {
    "entities": "MATCH (e:Entity) RETURN count(e)",
    "facts": "MATCH ()-[r:RELATION]->() RETURN count(r)",
    "documents": "MATCH (d:Document) RETURN count(d)",
    "evidence": "MATCH (v:Evidence) RETURN count(v)",
    "mentions": "MATCH ()-[m:MENTIONED_IN]->() RETURN count(m)",
}
"""What ``Store.counts()`` reports, as one Cypher count query per key (same graph model everywhere)."""


def blank_noise(text: str) -> str:
    """Return ``text`` with string literals, backquoted names and comments replaced by a space."""
    return CYPHER_NOISE.sub(" ", text)


def cypher_statements(text: str) -> list[list[str]]:
    """Split query text into statements and return the words of each non-empty one.

    String literals, escaped names and comments are blanked first; a leading ``EXPLAIN``/``PROFILE``
    is dropped, so the first word is the statement's own first clause.
    """
    statements = []
    for statement in blank_noise(text).split(";"):
        words = statement.split()
        while words and words[0].upper() in {"EXPLAIN", "PROFILE"}:
            words = words[1:]
        if words:
            statements.append(words)
    return statements


def clause_keyword(text: str, anywhere: Iterable[str], leading: Iterable[str] = ()) -> str | None:
    """Return the first keyword of ``anywhere`` used as a clause, or of ``leading`` starting a statement.

    Args:
        text: Cypher query text.
        anywhere: upper-case clause keywords refused at any position (``SET``, ``DELETE`` ...).
        leading: upper-case keywords refused only as a statement's first word (``GRANT``, ``STOP`` ...),
            where they cannot be a variable name.

    Returns:
        The keyword in upper case, or ``None`` when the text uses none of them.
    """
    anywhere, leading = frozenset(anywhere), frozenset(leading)
    for words in cypher_statements(text):
        if words[0].upper() in leading:
            return words[0].upper()
        for match in _CLAUSE_WORD.finditer(" ".join(words) + " "):
            if match.group(1).upper() in anywhere:
                return match.group(1).upper()
    return None


def read_refusal(what: str) -> QueryError:
    """The error for a read query that would change something: ``what`` names the clause."""
    return QueryError(f"a read query cannot run {what}; pass write=True (CLI: --write) if you mean it")


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (its type name when the message is empty)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


# -- Arrow tables in the shape of the Cypher model ----------------------------------------------------

SubjectLookup = Callable[[list[str]], dict[str, str]]


def arrow_tables(view: GraphView, missing_subject: SubjectLookup | None = None) -> dict[str, pa.Table]:
    """Build one Arrow table per Cypher table, columns in ``COPY`` order (FROM/TO keys first for rels).

    Args:
        view: a normalized view.
        missing_subject: callable ``fact_ids -> {fact_id: subject_id}`` for evidence rows whose fact is
            neither in the view nor carries a subject (used by upsert to ask the store).

    Returns:
        Tables keyed by Cypher table name (node label or relationship type).
    """
    entities, documents, facts, mentions = view.entities, view.documents, view.facts, view.mentions
    evidence = _evidence_table(view, missing_subject)
    resolved = mentions.filter(pc.fill_null(pc.not_equal(mentions.column("entity_id"), ""), False))
    mentioned_in = pa.table(
        {
            "from": resolved.column("entity_id"),
            "to": resolved.column("doc_id"),
            # -1 marks an unknown position; MERGE cannot match on null properties.
            "sentence": pc.fill_null(pc.cast(resolved.column("sentence"), pa.int64()), -1),
            "start_char": pc.fill_null(resolved.column("start"), -1),
            "end_char": pc.fill_null(resolved.column("end"), -1),
            "text": resolved.column("text"),
        }
    )
    return {
        "Entity": entities.select(["id", "name", "type", "aliases", "lang", "description"]),
        "Document": documents.select(["id", "source", "lang", "title", "text", "batch"]),
        "Evidence": evidence.select(
            [
                "id",
                "fact_id",
                "doc_id",
                "sentence",
                "start_char",
                "end_char",
                "text",
                "extractor",
                "confidence",
            ]
        ),
        "RELATION": pa.table(
            {
                "from": facts.column("subject"),
                "to": facts.column("object"),
                "id": facts.column("id"),
                "predicate": facts.column("predicate"),
                "open": pc.fill_null(facts.column("open"), False),
                "source": facts.column("source"),
                "confidence": facts.column("confidence"),
                "evidence_count": facts.column("evidence_count"),
                "batch": facts.column("batch"),
                "plausibility": facts.column("plausibility"),
                "model": facts.column("model"),
            }
        ),
        # Same key as the upsert MERGE, so a repeated mention row is one relationship either way.
        "MENTIONED_IN": first_per_key(mentioned_in, ["from", "to", "sentence", "start_char", "end_char"]),
        "FROM_DOCUMENT": pa.table({"from": evidence.column("id"), "to": evidence.column("doc_id")}),
        "ABOUT": evidence.select(["id", "subject"]).rename_columns(["from", "to"]),
    }


def _evidence_table(view: GraphView, missing_subject: SubjectLookup | None) -> pa.Table:
    """Evidence rows with their id and the subject of their fact, duplicates (same id) dropped."""
    evidence = view.evidence
    ids = evidence_ids(evidence)
    table = pa.table(
        {
            "id": ids,
            "fact_id": evidence.column("fact_id"),
            "doc_id": evidence.column("doc_id"),
            "sentence": pc.cast(evidence.column("sentence"), pa.int64()),
            "start_char": evidence.column("start"),
            "end_char": evidence.column("end"),
            "text": evidence.column("text"),
            "extractor": evidence.column("extractor"),
            "confidence": evidence.column("confidence"),
            "subject": _subjects(view, missing_subject),
        }
    )
    if pc.count_distinct(ids).as_py() != len(ids):
        table = first_per_key(table, ["id"])
    return table


def _subjects(view: GraphView, missing_subject: SubjectLookup | None) -> pa.Array:
    """The subject of each evidence row's fact: from the view's facts, else the row, else the store."""
    evidence, facts = view.evidence, view.facts
    index = pc.index_in(evidence.column("fact_id"), value_set=facts.column("id"))
    from_facts = (
        pc.take(facts.column("subject"), index) if len(facts) else pa.nulls(len(evidence), pa.string())
    )
    subject = pc.coalesce(from_facts, evidence.column("subject"))
    subject = subject.combine_chunks() if isinstance(subject, pa.ChunkedArray) else subject
    if subject.null_count and missing_subject is not None:
        unknown = pc.unique(pc.filter(evidence.column("fact_id"), pc.is_null(subject))).to_pylist()
        found = missing_subject(unknown)
        looked_up = pa.array([found.get(f) for f in evidence.column("fact_id").to_pylist()], pa.string())
        subject = pc.coalesce(subject, looked_up)
    if subject.null_count:
        raise StoreError(
            f"{subject.null_count} evidence row(s) name facts whose subject is unknown; "
            "fill evidence.subject or include the facts in the view"
        )
    return subject


def first_per_key(table: pa.Table, keys: list[str]) -> pa.Table:
    """Keep the first row of each distinct key (rows stay in their original order)."""
    positions = table.append_column("_row", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    first = positions.group_by(keys, use_threads=False).aggregate([("_row", "min")]).column("_row_min")
    if len(first) == table.num_rows:
        return table
    return table.take(pc.take(first, pc.sort_indices(first)))


__all__ = [
    "COUNT_QUERIES",
    "CYPHER_NOISE",
    "arrow_tables",
    "blank_noise",
    "clause_keyword",
    "cypher_statements",
    "first_line",
    "first_per_key",
    "read_refusal",
]
