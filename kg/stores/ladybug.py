"""LadybugDB (embedded Cypher) projection of the graph.

Property-graph model
--------------------
Facts are relationships, so Cypher reads like the graph::

    MATCH (p:Entity {type: 'Person'})-[r:RELATION]->(o:Entity) RETURN p.name, r.predicate, o.name

Node tables:

* ``Entity(id PK, name, type, aliases STRING[], lang, description)`` — canonical entities.
* ``Document(id PK, source, lang, title, text, batch)`` — live corpus documents.
* ``Evidence(id PK, fact_id, doc_id, sentence, start_char, end_char, text, extractor, confidence)`` — one
  node per (fact, supporting sentence). ``id`` is ``fact~doc~sentence~start~end~extractor``.

Relationship tables:

* ``RELATION(FROM Entity TO Entity, id, predicate, open BOOL, source, confidence DOUBLE,
  evidence_count INT64, batch, plausibility DOUBLE, model)`` — one per fact; ``id`` is the fact id,
  ``open`` marks an open relation (verb lemma) as opposed to a schema relation type, ``source`` is
  extracted | inferred | imported; ``plausibility`` and ``model`` are set once ``kg complete`` scored it.
* ``MENTIONED_IN(FROM Entity TO Document, sentence, start_char, end_char, text)`` — resolved mentions.
* ``FROM_DOCUMENT(FROM Evidence TO Document)`` — where an evidence sentence was read.
* ``ABOUT(FROM Evidence TO Entity)`` — the subject of the fact the evidence supports, so the evidence of
  a fact is reached from its subject: ``MATCH (s)-[r:RELATION]->(o), (s)<-[:ABOUT]-(v:Evidence)
  WHERE v.fact_id = r.id``.

Character offsets are ``start_char``/``end_char`` because ``END`` is a reserved word in Cypher.

Behaviour
---------
* ``load`` drops and recreates every table and bulk-copies Arrow tables with ``COPY <table> FROM $t``
  (the table travels as a parameter, no file paths or values in the text) inside one transaction, so a
  failed load leaves the previous content.
* ``upsert`` merges in batches with ``LOAD FROM $rows MERGE ...``: the batch is a typed Arrow table
  passed as a parameter. Unlike ``UNWIND $rows`` over Python dicts it keeps column types when a batch is
  all nulls or empty lists, and it is an order of magnitude faster.
* Read queries run inside ``BEGIN TRANSACTION READ ONLY`` (the engine refuses any write), and statements
  that touch files or the session (``COPY``, ``EXPORT``, ``INSTALL``, ``ATTACH``, transaction control …)
  are refused before they run. ``LadybugStore(path, read_only=True)`` opens the database file read-only;
  several processes may do so at once (LadybugDB 0.22 also lets them open while a writer has the file).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import pyarrow as pa

from kg.errors import QueryError, StoreError
from kg.graph import GraphView
from kg.stores.base import GraphStore, QueryResult
from kg.stores.cypher import COUNT_QUERIES, arrow_tables, cypher_statements, read_refusal
from kg.stores.cypher import first_line as _first_line

# Creation order matters: relationship tables need their node tables.
NODE_TABLES: dict[str, str] = {
    "Entity": "id STRING, name STRING, type STRING, aliases STRING[], lang STRING, description STRING, "
    "PRIMARY KEY (id)",
    "Document": "id STRING, source STRING, lang STRING, title STRING, text STRING, batch STRING, "
    "PRIMARY KEY (id)",
    "Evidence": "id STRING, fact_id STRING, doc_id STRING, sentence INT64, start_char INT64, end_char INT64, "
    "text STRING, extractor STRING, confidence DOUBLE, PRIMARY KEY (id)",
}
REL_TABLES: dict[str, str] = {
    "RELATION": "FROM Entity TO Entity, id STRING, predicate STRING, open BOOLEAN, source STRING, "
    "confidence DOUBLE, evidence_count INT64, batch STRING, plausibility DOUBLE, model STRING",
    "MENTIONED_IN": "FROM Entity TO Document, sentence INT64, start_char INT64, end_char INT64, text STRING",
    "FROM_DOCUMENT": "FROM Evidence TO Document",
    "ABOUT": "FROM Evidence TO Entity",
}
_TABLES = {**NODE_TABLES, **REL_TABLES}

# Upsert statements: `LOAD FROM $rows` scans an Arrow table parameter; column names are the variables.
_UPSERT: dict[str, str] = {
    "Entity": "LOAD FROM $rows MERGE (e:Entity {id: id}) SET e.name = name, e.type = type, "
    "e.aliases = aliases, e.lang = lang, e.description = description",
    "Document": "LOAD FROM $rows MERGE (d:Document {id: id}) SET d.source = source, d.lang = lang, "
    "d.title = title, d.text = text, d.batch = batch",
    "RELATION": "LOAD FROM $rows MATCH (s:Entity {id: subject}), (o:Entity {id: object}) "
    "MERGE (s)-[r:RELATION {id: id}]->(o) SET r.predicate = predicate, r.open = open, "
    "r.source = source, r.confidence = confidence, r.evidence_count = evidence_count, r.batch = batch, "
    "r.plausibility = plausibility, r.model = model",
    "Evidence": "LOAD FROM $rows MERGE (v:Evidence {id: id}) SET v.fact_id = fact_id, v.doc_id = doc_id, "
    "v.sentence = sentence, v.start_char = start_char, v.end_char = end_char, v.text = text, "
    "v.extractor = extractor, v.confidence = confidence",
    "FROM_DOCUMENT": "LOAD FROM $rows MATCH (v:Evidence {id: id}), (d:Document {id: doc_id}) "
    "MERGE (v)-[:FROM_DOCUMENT]->(d)",
    "ABOUT": "LOAD FROM $rows MATCH (v:Evidence {id: id}), (s:Entity {id: subject}) MERGE (v)-[:ABOUT]->(s)",
    "MENTIONED_IN": "LOAD FROM $rows MATCH (e:Entity {id: entity_id}), (d:Document {id: doc_id}) "
    "MERGE (e)-[m:MENTIONED_IN {sentence: sentence, start_char: start_char, end_char: end_char}]->(d) "
    "SET m.text = text",
}

# Statements that a read query may not contain even inside a read-only transaction: they write files
# (COPY TO, EXPORT), fetch code (INSTALL, LOAD EXTENSION), or end our transaction (COMMIT ...).
_SIDE_EFFECT_KEYWORDS = frozenset(
    "COPY EXPORT IMPORT INSTALL UNINSTALL UPDATE ATTACH DETACH USE CHECKPOINT BEGIN COMMIT ROLLBACK "
    "CREATE DROP ALTER".split()
)


class LadybugStore(GraphStore):
    """Embedded LadybugDB graph store (the default Cypher backend).

    Args:
        path: database file; created with its parent folders on :meth:`open`. ``None`` keeps the
            database in memory.
        read_only: open the database read-only (queries only; several readers may share the file).
        batch_size: rows per ``MERGE`` batch in :meth:`upsert`.
        buffer_pool_size: LadybugDB buffer pool in bytes; 0 lets the engine choose (~80% of RAM).
        num_threads: engine threads per query; 0 uses every core.
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        read_only: bool = False,
        batch_size: int = 50_000,
        buffer_pool_size: int = 0,
        num_threads: int = 0,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self.batch_size = batch_size
        self.buffer_pool_size = buffer_pool_size
        self.num_threads = num_threads
        self._db: Any = None
        self._conn: Any = None

    def __repr__(self) -> str:
        where = str(self.path) if self.path else ":memory:"
        state = ("open" if self.is_open else "closed") + (" read-only" if self.read_only else "")
        return f"<LadybugStore {where} {state}>"

    # -- lifecycle ---------------------------------------------------------------------------------

    def _open(self) -> None:
        import ladybug  # local: importing the engine is only paid by code that opens this store

        if self.read_only and (self.path is None or not self.path.exists()):
            raise StoreError(
                f"no LadybugDB database at {self.path or ':memory:'} to open read-only; "
                "build it first (kg sync)"
            )
        if self.path is not None and not self.read_only:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = ladybug.Database(
                str(self.path) if self.path else ":memory:",
                read_only=self.read_only,
                buffer_pool_size=self.buffer_pool_size,
                max_num_threads=self.num_threads,
            )
            self._conn = ladybug.Connection(self._db)
        except RuntimeError as exc:
            self._db = self._conn = None
            raise StoreError(
                f"cannot open LadybugDB at {self.path}: {_first_line(exc)}; "
                "check that no other process writes to it and that it was written by ladybug"
            ) from exc
        if not self.read_only:
            self._ensure_schema()

    def _close(self) -> None:
        try:
            if self._conn is not None:
                self._conn.close()
            if self._db is not None:
                self._db.close()
        finally:
            self._conn = self._db = None

    def _ensure_schema(self) -> None:
        existing = {row[0] for row in self._run("CALL show_tables() RETURN name").get_all()}
        for name, columns in _TABLES.items():
            if name not in existing:
                self._run(f"CREATE {_kind(name)} TABLE {name}({columns})")

    # -- load / upsert -----------------------------------------------------------------------------

    def _load(self, view: GraphView) -> None:
        self._require_writable("load")
        tables = arrow_tables(view)

        def work() -> None:
            for name in reversed(_TABLES):  # relationships first: a node table with rels cannot be dropped
                self._run(f"DROP TABLE IF EXISTS {name}")
            for name, columns in _TABLES.items():
                self._run(f"CREATE {_kind(name)} TABLE {name}({columns})")
            for name in _TABLES:
                if tables[name].num_rows:
                    self._run(f"COPY {name} FROM $rows", {"rows": tables[name]})

        self._transaction(work, "load")

    def _upsert(self, view: GraphView) -> None:
        self._require_writable("upsert")
        tables = arrow_tables(view, missing_subject=self._subjects_of_facts)
        rel_params = {  # MERGE needs the key columns by their variable names
            "RELATION": tables["RELATION"].rename_columns(
                ["subject", "object", *tables["RELATION"].column_names[2:]]
            ),
            "FROM_DOCUMENT": tables["FROM_DOCUMENT"].rename_columns(["id", "doc_id"]),
            "ABOUT": tables["ABOUT"].rename_columns(["id", "subject"]),
            "MENTIONED_IN": tables["MENTIONED_IN"].rename_columns(
                ["entity_id", "doc_id", *tables["MENTIONED_IN"].column_names[2:]]
            ),
        }

        def work() -> None:
            for name in (
                "Entity",
                "Document",
                "RELATION",
                "Evidence",
                "FROM_DOCUMENT",
                "ABOUT",
                "MENTIONED_IN",
            ):
                table = rel_params.get(name, tables[name])
                for start in range(0, table.num_rows, self.batch_size):
                    self._run(_UPSERT[name], {"rows": table.slice(start, self.batch_size)})

        self._transaction(work, "upsert")

    def _subjects_of_facts(self, fact_ids: list[str]) -> dict[str, str]:
        """Subject entity id of facts already in the store (for evidence whose fact is not in the view)."""
        rows = self._run(
            "MATCH (s:Entity)-[r:RELATION]->() WHERE r.id IN $ids RETURN r.id, s.id", {"ids": fact_ids}
        ).get_all()
        return {fact: subject for fact, subject in rows}

    # -- retract -----------------------------------------------------------------------------------

    def _retract(self, doc_ids: list[str]) -> None:
        self._require_writable("retract documents")
        ids = {"ids": doc_ids}

        def work() -> None:
            affected = self._run(
                "UNWIND $ids AS i "
                "MATCH (d:Document {id: i})<-[:FROM_DOCUMENT]-(v:Evidence)-[:ABOUT]->(s:Entity) "
                "RETURN DISTINCT v.fact_id, s.id",
                ids,
            ).get_all()
            self._run(
                "UNWIND $ids AS i MATCH (d:Document {id: i})<-[:FROM_DOCUMENT]-(v:Evidence) DETACH DELETE v",
                ids,
            )
            self._run("UNWIND $ids AS i MATCH (d:Document {id: i}) DETACH DELETE d", ids)
            if affected:
                self._recount(pa.table({"id": [f for f, _ in affected], "subject": [s for _, s in affected]}))

        self._transaction(work, "retract documents")

    def _recount(self, facts: pa.Table) -> None:
        """Set evidence_count of ``facts`` (id, subject) to the evidence left; drop unsupported ones."""
        remaining = dict(
            self._run(
                "LOAD FROM $rows MATCH (s:Entity {id: subject})<-[:ABOUT]-(v:Evidence) WHERE v.fact_id = id "
                "RETURN id, count(v)",
                {"rows": facts},
            ).get_all()
        )
        counts = pa.array([remaining.get(fact, 0) for fact in facts.column("id").to_pylist()], pa.int64())
        rows = facts.append_column("n", counts)
        self._run(
            "LOAD FROM $rows MATCH (s:Entity {id: subject})-[r:RELATION]->() WHERE r.id = id "
            "SET r.evidence_count = n",
            {"rows": rows},
        )
        self._run(
            "LOAD FROM $rows MATCH (s:Entity {id: subject})-[r:RELATION]->() "
            "WHERE r.id = id AND n = 0 AND r.source = $extracted DELETE r",
            {"rows": rows, "extracted": "extracted"},
        )

    # -- reads -------------------------------------------------------------------------------------

    def _query(self, text: str, params: dict[str, Any], write: bool) -> QueryResult:
        if write:
            self._require_writable("run a write query")
            return self._collect(text, params)
        _refuse_side_effects(text)
        self._run("BEGIN TRANSACTION READ ONLY")
        try:
            return self._collect(text, params)
        finally:
            self._rollback_quietly()

    def _collect(self, text: str, params: dict[str, Any]) -> QueryResult:
        try:
            result = self._conn.execute(text, params)
            if isinstance(result, list):  # several statements: the last one answers
                result = result[-1]
            columns = list(result.get_column_names())
            rows = [tuple(row) for row in result.get_all()]
        except (RuntimeError, TypeError, ValueError) as exc:
            raise QueryError(_cypher_message(exc)) from exc
        return QueryResult(columns, rows)

    def _counts(self) -> dict[str, int]:
        return {name: int(self._run(q).get_all()[0][0]) for name, q in COUNT_QUERIES.items()}

    def _missing(self, kind: str, ids: list[str]) -> list[str]:
        query = {
            "entities": "UNWIND $ids AS i MATCH (e:Entity {id: i}) RETURN e.id",
            "documents": "UNWIND $ids AS i MATCH (d:Document {id: i}) RETURN d.id",
            "facts": "MATCH ()-[r:RELATION]->() WHERE r.id IN $ids RETURN r.id",
        }[kind]
        present = {row[0] for row in self._run(query, {"ids": ids}).get_all()}
        return [i for i in ids if i not in present]

    # -- backend plumbing --------------------------------------------------------------------------

    def _run_raw(self, text: str, params: dict[str, Any] | None = None) -> Any:
        return self._conn.execute(text, params or {})

    def _run(self, text: str, params: dict[str, Any] | None = None) -> Any:
        """Execute one of our own statements; engine failures become StoreError."""
        try:
            return self._run_raw(text, params)
        except RuntimeError as exc:
            raise StoreError(f"LadybugDB failed: {_first_line(exc)}") from exc

    def _transaction(self, work: Any, what: str) -> None:
        """Run ``work`` in one write transaction; roll back and raise StoreError if it fails."""
        self._run("BEGIN TRANSACTION")
        try:
            work()
        except BaseException:
            self._rollback_quietly()
            raise
        self._run("COMMIT")

    def _rollback_quietly(self) -> None:
        # The engine already rolled back when a statement failed inside the transaction.
        with contextlib.suppress(RuntimeError):
            self._run_raw("ROLLBACK")

    def _require_writable(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"cannot {what}: {self!r} was opened read_only=True; open it without read_only")


# -- query text checks and messages ------------------------------------------------------------------


def _refuse_side_effects(text: str) -> None:
    """Refuse statements that a read-only transaction would not stop (file writes, tx control)."""
    for words in cypher_statements(text):
        first = words[0].upper()
        loads_extension = first == "LOAD" and (len(words) < 2 or words[1].upper() not in {"FROM", "WITH"})
        if first in _SIDE_EFFECT_KEYWORDS or loads_extension:
            raise read_refusal(f"{first} statements")


def _cypher_message(exc: BaseException) -> str:
    message = _first_line(exc)
    if "read-only transaction" in message or "read-only database" in message:
        return "this Cypher query writes to the graph; pass write=True (CLI: --write) if you mean it"
    if message.startswith("Parser exception"):
        detail = message.removeprefix("Parser exception:").strip()
        return f"Cypher syntax error: {detail}; fix the query at that position and re-run"
    if message.startswith("Binder exception"):
        detail = message.removeprefix("Binder exception:").strip()
        return (
            f"Cypher error: {detail}; tables are Entity, Document, Evidence, RELATION, MENTIONED_IN, "
            "FROM_DOCUMENT, ABOUT — check names and properties"
        )
    return f"Cypher query failed: {message}; fix the query and re-run"


def _kind(table: str) -> str:
    return "NODE" if table in NODE_TABLES else "REL"


__all__ = ["NODE_TABLES", "REL_TABLES", "LadybugStore", "arrow_tables"]
