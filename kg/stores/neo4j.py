"""Neo4j (Cypher over Bolt) projection of the graph.

The graph model is the one of :mod:`kg.stores.ladybug` — node labels ``Entity``, ``Document``,
``Evidence``; relationship types ``RELATION`` (one per fact, ``id`` = fact id), ``MENTIONED_IN``,
``FROM_DOCUMENT``, ``ABOUT``; the same property names and types — so every analyst query runs on both::

    MATCH (p:Entity {type: 'Person'})-[r:RELATION]->(o:Entity) RETURN p.name, r.predicate, o.name

Neo4j stores no null properties: a null value removes the property, and reading it gives null, as in
LadybugDB. ``Entity.aliases`` is a list of strings.

Behaviour
---------
* ``open`` connects with the official ``neo4j`` driver, checks the credentials and the database, and
  (unless ``read_only``) creates uniqueness constraints on ``Entity.id``, ``Document.id`` and
  ``Evidence.id`` and indexes on ``RELATION.id`` and ``Evidence.fact_id`` with ``IF NOT EXISTS``. A
  server that cannot create one (Bolt-compatible servers differ) is left without it: only speed suffers.
* ``upsert`` runs ``UNWIND $rows AS row MERGE ...`` batches of ``batch_size`` rows, one managed write
  transaction per batch, so the driver retries a batch after a transient error and a retried batch
  changes nothing twice. Values travel only as parameters.
* ``load`` deletes every ``Entity``/``Document``/``Evidence`` node (with its relationships) in batches,
  then upserts the view. Unlike LadybugDB's one-transaction load it is not atomic: a graph too large
  for one transaction must not be loaded in one. If it fails halfway, load again (``kg sync``). Nodes
  with other labels are left alone.
* ``retract_documents`` has LadybugDB's semantics, in one write transaction: documents, their evidence
  and mentions go; a fact's ``evidence_count`` becomes its remaining evidence; an ``extracted`` fact
  left without evidence goes; inferred and imported facts stay.
* ``query`` runs in a managed read transaction (access mode READ) and streams records in chunks of
  ``batch_size``; ``write=True`` uses a write transaction. Neo4j itself refuses writes in a read
  transaction. Bolt-compatible servers that do not (ArcadeDB, Memgraph) get the query checked first:
  write clauses (``CREATE``, ``MERGE``, ``SET``, ``DELETE``, ``REMOVE``, ``DROP``, ``FOREACH``,
  ``LOAD CSV`` …) and procedure calls outside a read-only list are refused before anything runs.
* Nodes, relationships and paths come back as dicts like LadybugDB's: ``_ID``/``_LABEL`` plus the
  properties (``_SRC``/``_DST`` for relationships, ``_NODES``/``_RELS`` for paths); temporal values
  as :mod:`datetime` values.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from typing import Any

import pyarrow as pa

from kg.errors import QueryError, StoreError
from kg.graph import GraphView
from kg.stores.base import GraphStore, QueryResult
from kg.stores.cypher import (
    COUNT_QUERIES,
    arrow_tables,
    blank_noise,
    clause_keyword,
    first_line,
    read_refusal,
)

LABELS = ("Entity", "Document", "Evidence")
"""Node labels of the model; ``load`` deletes exactly these nodes."""

# Properties of each label / type of the model, so a returned node or relationship lists every one
# of them (null when unset) the way a LadybugDB table row does.
PROPERTIES: dict[str, tuple[str, ...]] = {
    "Entity": ("id", "name", "type", "aliases", "lang", "description"),
    "Document": ("id", "source", "lang", "title", "text", "batch"),
    "Evidence": (
        "id", "fact_id", "doc_id", "sentence", "start_char", "end_char", "text", "extractor", "confidence",
    ),
    "RELATION": ("id", "predicate", "open", "source", "confidence", "evidence_count", "batch", "plausibility",
                 "model"),
    "MENTIONED_IN": ("sentence", "start_char", "end_char", "text"),
    "FROM_DOCUMENT": (),
    "ABOUT": (),
}

# Neo4j 5 syntax. Relationship-property indexes exist since Neo4j 4.3.
SCHEMA_STATEMENTS: tuple[str, ...] = (
    "CREATE CONSTRAINT kg_entity_id IF NOT EXISTS FOR (n:Entity) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT kg_document_id IF NOT EXISTS FOR (n:Document) REQUIRE n.id IS UNIQUE",
    "CREATE CONSTRAINT kg_evidence_id IF NOT EXISTS FOR (n:Evidence) REQUIRE n.id IS UNIQUE",
    "CREATE INDEX kg_evidence_fact_id IF NOT EXISTS FOR (n:Evidence) ON (n.fact_id)",
    "CREATE INDEX kg_relation_id IF NOT EXISTS FOR ()-[r:RELATION]-() ON (r.id)",
)

# Upserts in dependency order: relationships MATCH the nodes merged before them.
_UPSERT: dict[str, str] = {
    "Entity": "UNWIND $rows AS row MERGE (e:Entity {id: row.id}) SET e.name = row.name, e.type = row.type, "
    "e.aliases = row.aliases, e.lang = row.lang, e.description = row.description",
    "Document": "UNWIND $rows AS row MERGE (d:Document {id: row.id}) SET d.source = row.source, "
    "d.lang = row.lang, d.title = row.title, d.text = row.text, d.batch = row.batch",
    "RELATION": "UNWIND $rows AS row MATCH (s:Entity {id: row.from}), (o:Entity {id: row.to}) "
    "MERGE (s)-[r:RELATION {id: row.id}]->(o) SET r.predicate = row.predicate, r.open = row.open, "
    "r.source = row.source, r.confidence = row.confidence, r.evidence_count = row.evidence_count, "
    "r.batch = row.batch, r.plausibility = row.plausibility, r.model = row.model",
    "Evidence": "UNWIND $rows AS row MERGE (v:Evidence {id: row.id}) SET v.fact_id = row.fact_id, "
    "v.doc_id = row.doc_id, v.sentence = row.sentence, v.start_char = row.start_char, "
    "v.end_char = row.end_char, v.text = row.text, v.extractor = row.extractor, "
    "v.confidence = row.confidence",
    "FROM_DOCUMENT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (d:Document {id: row.to}) "
    "MERGE (v)-[:FROM_DOCUMENT]->(d)",
    "ABOUT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (s:Entity {id: row.to}) "
    "MERGE (v)-[:ABOUT]->(s)",
    "MENTIONED_IN": "UNWIND $rows AS row MATCH (e:Entity {id: row.from}), (d:Document {id: row.to}) "
    "MERGE (e)-[m:MENTIONED_IN {sentence: row.sentence, start_char: row.start_char, "
    "end_char: row.end_char}]->(d) SET m.text = row.text",
}

# Bulk load into an emptied store: the same rows and properties as _UPSERT, created without lookups.
_CREATE: dict[str, str] = {
    "Entity": "UNWIND $rows AS row CREATE (e:Entity {id: row.id, name: row.name, type: row.type, "
    "aliases: row.aliases, lang: row.lang, description: row.description})",
    "Document": "UNWIND $rows AS row CREATE (d:Document {id: row.id, source: row.source, lang: row.lang, "
    "title: row.title, text: row.text, batch: row.batch})",
    "RELATION": "UNWIND $rows AS row MATCH (s:Entity {id: row.from}), (o:Entity {id: row.to}) "
    "CREATE (s)-[r:RELATION {id: row.id, predicate: row.predicate, open: row.open, source: row.source, "
    "confidence: row.confidence, evidence_count: row.evidence_count, batch: row.batch, "
    "plausibility: row.plausibility, model: row.model}]->(o)",
    "Evidence": "UNWIND $rows AS row CREATE (v:Evidence {id: row.id, fact_id: row.fact_id, "
    "doc_id: row.doc_id, sentence: row.sentence, start_char: row.start_char, end_char: row.end_char, "
    "text: row.text, extractor: row.extractor, confidence: row.confidence})",
    "FROM_DOCUMENT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (d:Document {id: row.to}) "
    "CREATE (v)-[:FROM_DOCUMENT]->(d)",
    "ABOUT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (s:Entity {id: row.to}) "
    "CREATE (v)-[:ABOUT]->(s)",
    "MENTIONED_IN": "UNWIND $rows AS row MATCH (e:Entity {id: row.from}), (d:Document {id: row.to}) "
    "CREATE (e)-[:MENTIONED_IN {sentence: row.sentence, start_char: row.start_char, "
    "end_char: row.end_char, text: row.text}]->(d)",
}
assert _CREATE.keys() == _UPSERT.keys()

# Checked only on servers that do not enforce read transactions (see enforces_read_transactions).
_WRITE_CLAUSES = frozenset("CREATE MERGE SET DELETE DETACH REMOVE DROP FOREACH LOAD".split())
_ADMIN_COMMANDS = frozenset(
    "ALTER GRANT REVOKE DENY START STOP RENAME TERMINATE ENABLE DEALLOCATE REALLOCATE".split()
)
# Procedures that only read, allowed in a read query on such servers; any other CALL needs --write.
_READ_PROCEDURES = frozenset(
    {
        "db.labels",
        "db.relationshipTypes",
        "db.propertyKeys",
        "db.schema.visualization",
        "db.schema.nodeTypeProperties",
        "db.schema.relTypeProperties",
        "dbms.components",
    }
)
_BOLT_SCHEMES = frozenset({"bolt", "bolt+s", "bolt+ssc", "neo4j", "neo4j+s", "neo4j+ssc"})

# `CALL name(...)` but not a subquery `CALL { ... }` / `CALL (x) { ... }`.
_PROCEDURE_CALL = re.compile(r"(?<![\w.$:])CALL\b(?!\s*[{(])\s*([\w.]*)", re.I)


class Neo4jStore(GraphStore):
    """Graph store on a Neo4j 5 server (or a Bolt-compatible one) through the official driver.

    Args:
        uri: Bolt URI of the server (``bolt://``, ``neo4j://``, ``+s`` variants for TLS).
        user: user name.
        password: password (prefer ``KG_NEO4J_PASSWORD`` over writing it into kg.toml).
        database: database name; empty uses the server's default (home) database.
        batch_size: rows per ``UNWIND`` batch and per streamed fetch of query results.
        timeout: seconds to connect, to retry a transaction after transient errors, and per transaction.
        read_only: queries only, in read transactions; load, upsert, retract and ``write=True`` refused.

    Attributes:
        server_agent: the server's Bolt agent string once open, e.g. ``Neo4j/5.26.0``.
    """

    def __init__(
        self,
        uri: str = "bolt://127.0.0.1:7687",
        user: str = "neo4j",
        password: str = "",
        database: str = "",
        batch_size: int = 10_000,
        timeout: float = 60.0,
        read_only: bool = False,
    ) -> None:
        super().__init__()
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if timeout <= 0:
            raise ValueError(f"timeout must be > 0 seconds, got {timeout}")
        self.uri = uri
        self.user = user
        self.password = password
        self.database = database
        self.batch_size = batch_size
        self.timeout = timeout
        self.read_only = read_only
        self._driver: Any = None
        self._enforces_reads = False
        self.server_agent = ""

    def __repr__(self) -> str:
        state = ("open" if self.is_open else "closed") + (" read-only" if self.read_only else "")
        where = f"{self.uri}/{self.database}" if self.database else self.uri
        return f"<Neo4jStore {where} {state}>"

    # -- lifecycle ---------------------------------------------------------------------------------

    def _open(self) -> None:
        import neo4j  # local: the driver is an optional dependency (extra "server")
        from neo4j import exceptions as nx

        scheme = self.uri.partition("://")[0].lower() if "://" in self.uri else ""
        if scheme not in _BOLT_SCHEMES:
            # Driver 6 would also take http:// (its preview Query API); this store speaks Bolt only.
            schemes = ", ".join(sorted(_BOLT_SCHEMES))
            raise StoreError(
                f"invalid Neo4j URI {self.uri!r}: it needs a Bolt scheme ({schemes}); "
                "use e.g. bolt://127.0.0.1:7687 in [neo4j] uri in kg.toml"
            )
        try:
            self._driver = neo4j.GraphDatabase.driver(
                self.uri,
                auth=(self.user, self.password),
                connection_timeout=self.timeout,
                connection_acquisition_timeout=self.timeout,
                max_transaction_retry_time=self.timeout,
            )
            self._driver.verify_connectivity()
            self.server_agent = self._driver.get_server_info().agent
            self._enforces_reads = enforces_read_transactions(self.server_agent)
            self._read(lambda tx: tx.run("RETURN 1").consume())  # the database exists and answers
        except (nx.ConfigurationError, ValueError) as exc:
            self._drop_driver()
            raise StoreError(
                f"invalid Neo4j URI {self.uri!r} ({first_line(exc)}); use e.g. bolt://127.0.0.1:7687 "
                "in [neo4j] uri in kg.toml"
            ) from exc
        except StoreError:
            self._drop_driver()
            raise
        except nx.DriverError as exc:
            self._drop_driver()
            raise self._connection_error(exc) from exc
        except nx.Neo4jError as exc:
            self._drop_driver()
            raise self._server_error(exc) from exc
        if not self.read_only:
            try:
                self._ensure_schema()
            except BaseException:
                self._drop_driver()
                raise

    def _close(self) -> None:
        self._drop_driver()

    def _drop_driver(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            driver.close()

    def _ensure_schema(self) -> None:
        for statement in SCHEMA_STATEMENTS:
            try:
                self._write(lambda tx, s=statement: tx.run(s).consume())
            except StoreError as exc:
                if not isinstance(exc.__cause__, _server_errors()):
                    raise  # connection lost: not a DDL problem
                # The server lacks this DDL (a Bolt-compatible server may): MERGE works without it,
                # only slower. Real Neo4j 5 accepts every statement above.

    # -- load / upsert -----------------------------------------------------------------------------

    def _load(self, view: GraphView) -> None:
        self._require_writable("load")
        tables = arrow_tables(view)
        for label in LABELS:
            self._delete_all(label)
        # the store is empty now and the view has unique ids: CREATE does what MERGE would, without
        # the per-row lookups (about 1.5x faster on a Bolt server)
        self._write_tables(tables, _CREATE)

    def _delete_all(self, label: str) -> None:
        """Delete every node of ``label`` and its relationships, ``batch_size`` nodes per transaction."""
        # The label comes from LABELS, never from input; labels cannot be parameters in Cypher.
        statement = f"MATCH (n:{label}) WITH n LIMIT $limit DETACH DELETE n RETURN count(*) AS deleted"
        while self._write(lambda tx: tx.run(statement, limit=self.batch_size).single()["deleted"]):
            pass

    def _upsert(self, view: GraphView) -> None:
        self._require_writable("upsert")
        self._write_tables(arrow_tables(view, missing_subject=self._subjects_of_facts))

    def _write_tables(self, tables: dict[str, pa.Table], statements: dict[str, str] | None = None) -> None:
        for name, statement in (statements or _UPSERT).items():
            table = tables[name]
            for start in range(0, table.num_rows, self.batch_size):
                rows = table.slice(start, self.batch_size).to_pylist()
                self._write(lambda tx, s=statement, r=rows: tx.run(s, rows=r).consume())

    def _subjects_of_facts(self, fact_ids: list[str]) -> dict[str, str]:
        """Subject entity id of facts already in the store (for evidence whose fact is not in the view)."""
        found: dict[str, str] = {}
        for ids in _chunks(fact_ids, self.batch_size):
            rows = self._read_rows(
                "UNWIND $ids AS i MATCH (s:Entity)-[r:RELATION {id: i}]->() RETURN r.id, s.id", {"ids": ids}
            )
            found.update(rows)
        return found

    # -- retract -----------------------------------------------------------------------------------

    def _retract(self, doc_ids: list[str]) -> None:
        self._require_writable("retract documents")

        def work(tx: Any) -> None:
            affected = [
                (record[0], record[1])
                for record in tx.run(
                    "UNWIND $ids AS i "
                    "MATCH (d:Document {id: i})<-[:FROM_DOCUMENT]-(v:Evidence)-[:ABOUT]->(s:Entity) "
                    "RETURN DISTINCT v.fact_id, s.id",
                    ids=doc_ids,
                )
            ]
            tx.run(
                "UNWIND $ids AS i MATCH (d:Document {id: i})<-[:FROM_DOCUMENT]-(v:Evidence) DETACH DELETE v",
                ids=doc_ids,
            ).consume()
            tx.run("UNWIND $ids AS i MATCH (d:Document {id: i}) DETACH DELETE d", ids=doc_ids).consume()
            for rows in _chunks([{"id": f, "subject": s} for f, s in affected], self.batch_size):
                self._recount(tx, rows)

        # One transaction: a retraction is never half done (the driver retries it whole).
        self._write(work)

    @staticmethod
    def _recount(tx: Any, rows: list[dict[str, str]]) -> None:
        """Set evidence_count of facts ``{id, subject}`` to the evidence left; drop unsupported ones."""
        tx.run(
            "UNWIND $rows AS row MATCH (s:Entity {id: row.subject})-[r:RELATION {id: row.id}]->() "
            "OPTIONAL MATCH (s)<-[:ABOUT]-(v:Evidence {fact_id: row.id}) "
            "WITH r, count(v) AS n SET r.evidence_count = n",
            rows=rows,
        ).consume()
        tx.run(
            "UNWIND $rows AS row MATCH (s:Entity {id: row.subject})-[r:RELATION {id: row.id}]->() "
            "WHERE r.evidence_count = 0 AND r.source = $extracted DELETE r",
            rows=rows,
            extracted="extracted",
        ).consume()

    # -- reads -------------------------------------------------------------------------------------

    def _query(self, text: str, params: dict[str, Any], write: bool) -> QueryResult:
        if write:
            self._require_writable("run a write query")
        elif not self._enforces_reads:
            _refuse_writes(text)

        def work(tx: Any) -> QueryResult:
            result = tx.run(text, params)
            columns = list(result.keys())
            return QueryResult(columns, [tuple(to_python(v) for v in record.values()) for record in result])

        return self._write(work, query=True) if write else self._read(work, query=True)

    def _counts(self) -> dict[str, int]:
        return self._read(lambda tx: {name: int(tx.run(q).single()[0]) for name, q in COUNT_QUERIES.items()})

    def _missing(self, kind: str, ids: list[str]) -> list[str]:
        query = {
            "entities": "UNWIND $ids AS i MATCH (e:Entity {id: i}) RETURN e.id",
            "documents": "UNWIND $ids AS i MATCH (d:Document {id: i}) RETURN d.id",
            "facts": "UNWIND $ids AS i MATCH ()-[r:RELATION {id: i}]->() RETURN r.id",
        }[kind]
        present: set[str] = set()
        for chunk in _chunks(ids, self.batch_size):
            present.update(row[0] for row in self._read_rows(query, {"ids": chunk}))
        return [i for i in ids if i not in present]

    # -- backend plumbing --------------------------------------------------------------------------

    def _read_rows(self, text: str, params: dict[str, Any]) -> list[tuple]:
        return self._read(lambda tx: [tuple(record.values()) for record in tx.run(text, params)])

    def _read(self, work: Callable[[Any], Any], *, query: bool = False) -> Any:
        return self._transaction(work, "READ", query)

    def _write(self, work: Callable[[Any], Any], *, query: bool = False) -> Any:
        return self._transaction(work, "WRITE", query)

    def _transaction(self, work: Callable[[Any], Any], mode: str, query: bool) -> Any:
        """Run ``work(tx)`` in a managed transaction (retried on transient errors).

        Errors of an analyst query (``query=True``) that the query can fix become QueryError; every
        other failure becomes StoreError.
        """
        import neo4j
        from neo4j import exceptions as nx

        work = neo4j.unit_of_work(timeout=self.timeout)(work)
        try:
            with self._driver.session(
                database=self.database or None,
                default_access_mode=neo4j.READ_ACCESS if mode == "READ" else neo4j.WRITE_ACCESS,
                fetch_size=self.batch_size,  # stream records in chunks instead of all at once
            ) as session:
                run = session.execute_read if mode == "READ" else session.execute_write
                return run(work)
        except (nx.ServiceUnavailable, nx.SessionExpired) as exc:
            raise self._connection_error(exc) from exc
        except nx.Neo4jError as exc:
            if query and _query_fault(exc):
                raise QueryError(cypher_message(exc)) from exc
            raise self._server_error(exc) from exc
        except nx.DriverError as exc:
            raise StoreError(f"Neo4j driver failed at {self.uri}: {first_line(exc)}") from exc
        except (TypeError, ValueError, OverflowError) as exc:
            if not query:
                raise
            # The driver packs parameters inside tx.run; it refuses sets, objects and ints beyond 64 bits.
            raise QueryError(
                f"a query parameter cannot be sent over Bolt ({first_line(exc)}); use str, int (64-bit), "
                "float, bool, None, bytes, lists and dicts"
            ) from exc

    def _connection_error(self, exc: Exception) -> StoreError:
        from neo4j import exceptions as nx

        if isinstance(exc, nx.AuthError):
            return self._auth_error()
        return StoreError(
            f"cannot reach Neo4j at {self.uri} ({first_line(exc)}); start it or fix [neo4j] uri in kg.toml"
        )

    def _auth_error(self) -> StoreError:
        return StoreError(
            f"Neo4j at {self.uri} refused user {self.user!r} with the given password; "
            "fix [neo4j] user/password in kg.toml or set KG_NEO4J_PASSWORD"
        )

    def _server_error(self, exc: Exception) -> StoreError:
        from neo4j import exceptions as nx

        code = getattr(exc, "code", "") or ""
        if isinstance(exc, nx.AuthError) or code.startswith("Neo.ClientError.Security.Unauthorized"):
            return self._auth_error()
        if code == "Neo.ClientError.Database.DatabaseNotFound":
            return StoreError(
                f"Neo4j at {self.uri} has no database {self.database!r}; create it or fix "
                "[neo4j] database in kg.toml (empty uses the server's default)"
            )
        return StoreError(f"Neo4j failed: {_message(exc)}; check the server log at {self.uri}")

    def _require_writable(self, what: str) -> None:
        if self.read_only:
            raise StoreError(f"cannot {what}: {self!r} was opened read_only=True; open it without read_only")


# -- query checks and messages ---------------------------------------------------------------------


def enforces_read_transactions(agent: str) -> bool:
    """Whether a server (by its Bolt agent string) refuses writes in a READ transaction.

    Neo4j does (``Neo4j/5.26.0``). Servers that speak Bolt and announce themselves as
    ``Neo4j/… compatible`` (ArcadeDB, Memgraph) accept the access mode but run writes anyway.
    """
    return agent.startswith("Neo4j/") and "compatible" not in agent.lower()


def _refuse_writes(text: str) -> None:
    """Refuse write clauses and non-read procedures before a server that would run them sees them."""
    keyword = clause_keyword(text, _WRITE_CLAUSES, _ADMIN_COMMANDS)
    if keyword:
        raise read_refusal(f"{keyword} clauses")
    for procedure in _procedure_calls(text):
        if procedure not in _READ_PROCEDURES:
            raise read_refusal(f"CALL {procedure or 'of a procedure'} (this server does not enforce reads)")


def _procedure_calls(text: str) -> Iterator[str]:
    """Names of the procedures a query CALLs (``""`` for a name we cannot read); subqueries are skipped."""
    # Backquoted names are blanked, so CALL `x`.y() yields "" and is refused as unknown.
    for match in _PROCEDURE_CALL.finditer(blank_noise(text)):
        yield match.group(1)


def _server_errors() -> tuple[type[Exception], ...]:
    from neo4j.exceptions import ClientError, DatabaseError

    return (ClientError, DatabaseError)


def _query_fault(exc: Exception) -> bool:
    """Whether a server error is the query's own fault (syntax, names, types, access mode, timeout)."""
    code = getattr(exc, "code", "") or ""
    return code.startswith(("Neo.ClientError.Statement.", "Neo.ClientError.Procedure.",
                            "Neo.ClientError.Transaction.TransactionTimedOut", "Neo.ClientError.Schema.",
                            "Neo.ClientError.Security.Forbidden"))


def cypher_message(exc: Exception) -> str:
    """One-line QueryError message for a server error caused by an analyst query."""
    code = getattr(exc, "code", "") or ""
    message = _message(exc)
    if code == "Neo.ClientError.Statement.AccessMode":
        return "this Cypher query writes to the graph; pass write=True (CLI: --write) if you mean it"
    if code.startswith("Neo.ClientError.Security.Forbidden"):
        return f"Neo4j refused the query ({message}); run it as a user with that privilege"
    if code == "Neo.ClientError.Statement.SyntaxError":
        return f"Cypher syntax error: {message}; fix the query at that position and re-run"
    if "TransactionTimedOut" in code:
        return f"the query ran past the timeout ({message}); add a LIMIT or raise [neo4j] timeout"
    return f"Cypher query failed: {message}; fix the query and re-run"


def _message(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return first_line(Exception(message)).rstrip(".")


# -- results as plain Python ------------------------------------------------------------------------


def to_python(value: Any) -> Any:
    """Convert a driver value to plain Python, in the shapes LadybugDB returns.

    Nodes become ``{"_ID", "_LABEL", **properties}`` (``_LABEL`` joins several labels with ``:``),
    relationships ``{"_SRC", "_DST", "_LABEL", "_ID", **properties}``, paths
    ``{"_NODES": [...], "_RELS": [...]}``; properties of the kg model that a node lacks are ``None``.
    Temporal values become :mod:`datetime` values, durations without months :class:`datetime.timedelta`
    (others their ISO text), points ``{"srid", "coordinates"}``.
    """
    from neo4j import graph, spatial, time

    if value is None or isinstance(value, (str, bool, int, float, bytes)):
        return value
    if isinstance(value, list):
        return [to_python(v) for v in value]
    if isinstance(value, dict):
        return {k: to_python(v) for k, v in value.items()}
    if isinstance(value, graph.Node):
        label = ":".join(sorted(value.labels))
        return {"_ID": value.element_id, "_LABEL": label, **_properties(label, value)}
    if isinstance(value, graph.Relationship):
        start, end = value.start_node, value.end_node
        return {
            "_SRC": start.element_id if start is not None else None,
            "_DST": end.element_id if end is not None else None,
            "_LABEL": value.type,
            "_ID": value.element_id,
            **_properties(value.type, value),
        }
    if isinstance(value, graph.Path):
        return {"_NODES": [to_python(n) for n in value.nodes], "_RELS": [to_python(r) for r in value]}
    if isinstance(value, time.Duration):
        if value.months == 0:  # a timedelta cannot hold months, whose length varies
            micros = value.nanoseconds // 1000
            return dt.timedelta(days=value.days, seconds=value.seconds, microseconds=micros)
        return value.iso_format()
    if isinstance(value, (time.Date, time.DateTime, time.Time)):
        return value.to_native()
    if isinstance(value, spatial.Point):
        return {"srid": value.srid, "coordinates": list(value)}
    return value


def _properties(label: str, entity: Any) -> dict[str, Any]:
    props = {name: None for name in PROPERTIES.get(label, ())}
    props.update((k, to_python(v)) for k, v in entity.items())
    return props


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


__all__ = [
    "LABELS",
    "PROPERTIES",
    "SCHEMA_STATEMENTS",
    "Neo4jStore",
    "cypher_message",
    "enforces_read_transactions",
    "to_python",
]
