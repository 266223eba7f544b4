"""The two store protocols: :class:`GraphStore` (Cypher) and :class:`TripleStore` (SPARQL).

Every store is a projection of the Parquet bundle, so the protocol is small: replace everything
(:meth:`~Store.load`), merge a batch (:meth:`~Store.upsert`), drop documents with the facts only they
supported (:meth:`~Store.retract_documents`), run an analyst query (:meth:`~Store.query`) and count
(:meth:`~Store.counts`).

Public methods validate their input and the store state; the ``_``-prefixed hooks that a backend
implements only talk to the backend. Constructors do no I/O: they remember settings, and
:meth:`~Store.open` (or ``with store:``) connects.

Referential integrity is checked here, once, so every backend behaves the same: in a :meth:`load` the
view must be complete (every fact's subject and object is one of its entities, every evidence row names
one of its facts and documents, every resolved mention one of its entities and documents); in an
:meth:`upsert` a reference may also point at something the store already holds.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, ClassVar, Self

import pyarrow as pa
import pyarrow.compute as pc

from kg import model
from kg.errors import QueryError, StoreError
from kg.graph import GraphView


@dataclass(frozen=True)
class QueryResult:
    """Rows returned by :meth:`Store.query`.

    Attributes:
        columns: column names in order (Cypher ``RETURN`` aliases, SPARQL variables without ``?``).
        rows: one tuple per result row, values converted to plain Python (str, int, float, bool, None,
            lists/dicts for Cypher nodes and lists). SPARQL IRIs come back as their string.
    """

    columns: list[str]
    rows: list[tuple] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.rows)

    def dicts(self) -> list[dict[str, Any]]:
        """Return the rows as dicts keyed by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """Return every value of one column.

        Raises:
            KeyError: the result has no such column.
        """
        if name not in self.columns:
            raise KeyError(f"no column {name!r}; columns are {self.columns}")
        index = self.columns.index(name)
        return [row[index] for row in self.rows]


class Store(abc.ABC):
    """Lifecycle, validation and the public methods shared by both protocols.

    Subclasses implement the ``_open``/``_close``/``_load``/``_upsert``/``_retract``/``_query``/
    ``_counts``/``_missing`` hooks.
    """

    #: Query language of the protocol, for messages ("cypher" or "sparql").
    language: ClassVar[str] = ""

    def __init__(self) -> None:
        self._is_open = False

    # -- lifecycle ---------------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        """Whether :meth:`open` has been called (and :meth:`close` not yet)."""
        return self._is_open

    def open(self) -> Self:
        """Connect to (or create) the backend; calling it on an open store does nothing.

        Returns:
            The store itself, so ``store = LadybugStore(path).open()`` works.

        Raises:
            StoreError: the backend cannot be opened; the message says why.
        """
        if not self._is_open:
            self._open()
            self._is_open = True
        return self

    def close(self) -> None:
        """Release the backend; safe to call twice."""
        if self._is_open:
            try:
                self._close()
            finally:
                self._is_open = False

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- public API --------------------------------------------------------------------------------

    def load(self, graph: GraphView) -> None:
        """Replace all content of the store with ``graph``, in bulk.

        Args:
            graph: a complete view (every reference resolves inside it).

        Raises:
            StoreError: the store is not open, the view is malformed or incomplete, or the backend failed.
        """
        self._require_open()
        view = normalize_view(graph)
        for kind, ids in _references(view).items():
            missing = _not_in(ids, _ids_of(view, kind))
            if missing:
                raise _dangling_error(kind, missing, "load")
        self._load(view)

    def upsert(self, graph: GraphView) -> None:
        """Insert or update the rows of ``graph``; running it twice leaves the same content.

        Scalar properties are overwritten with the view's values; evidence, mentions and their links
        are merged, never duplicated.

        Args:
            graph: rows to merge; references may point at rows of the view or of the store.

        Raises:
            StoreError: the store is not open, the view is malformed, a reference resolves nowhere,
                or the backend failed.
        """
        self._require_open()
        view = normalize_view(graph)
        for kind, ids in _references(view).items():
            outside = _not_in(ids, _ids_of(view, kind))
            missing = self._missing(kind, outside) if outside else []
            if missing:
                raise _dangling_error(kind, missing, "upsert")
        self._upsert(view)

    def retract_documents(self, doc_ids: Iterable[str]) -> None:
        """Remove documents, their mentions and evidence, and the facts left without support.

        A fact with source ``extracted`` that has no evidence left is removed; a fact still supported by
        another document stays, with ``evidence_count`` set to its remaining evidence. Facts with another
        source (inferred, imported) stay. Unknown ids are ignored.

        Args:
            doc_ids: ids of the documents to retract.

        Raises:
            TypeError: ``doc_ids`` is a single string instead of a list of ids.
            StoreError: the store is not open, an id is empty, or the backend failed.
        """
        self._require_open()
        if isinstance(doc_ids, (str, bytes)):
            raise TypeError(
                "retract_documents takes a list of document ids, not one string; wrap it: [doc_id]"
            )
        ids = list(dict.fromkeys(doc_ids))  # dedupe, keep order
        bad = [i for i in ids if not isinstance(i, str) or not i]
        if bad:
            raise StoreError(
                f"document ids must be non-empty strings, got {bad[:3]!r}; pass ids like 'doc:…'"
            )
        if ids:
            self._retract(ids)

    def query(
        self, text: str, params: Mapping[str, Any] | None = None, *, write: bool = False
    ) -> QueryResult:
        """Run a query; read-only unless ``write`` is true.

        Args:
            text: the query text (Cypher for a GraphStore, SPARQL for a TripleStore).
            params: values for the query's parameters (``$name`` in Cypher, ``?name`` in SPARQL).
                Values always travel as parameters, never pasted into the text.
            write: allow the query to change the store.

        Returns:
            The columns and rows of the result (empty for a write without results).

        Raises:
            QueryError: syntax error, unknown name, or a write without ``write=True``; the message says
                what to fix.
            StoreError: the store is not open or the backend failed.
        """
        self._require_open()
        if not isinstance(text, str) or not text.strip():
            raise QueryError(f"the {self.language or 'query'} text is empty; pass a query string")
        if params is not None and not isinstance(params, Mapping):
            raise QueryError("query parameters must be a mapping of name -> value, e.g. {'name': 'Ada'}")
        params = dict(params or {})
        bad = [key for key in params if not isinstance(key, str) or not key.isidentifier()]
        if bad:
            raise QueryError(f"parameter names must be identifiers, got {bad[:3]!r}; use names like 'name'")
        return self._query(text, params, write)

    def counts(self) -> dict[str, int]:
        """Count what the store holds.

        Returns:
            At least ``entities``, ``facts``, ``documents`` and ``evidence``.

        Raises:
            StoreError: the store is not open or the backend failed.
        """
        self._require_open()
        return self._counts()

    # -- backend hooks -----------------------------------------------------------------------------

    @abc.abstractmethod
    def _open(self) -> None: ...

    @abc.abstractmethod
    def _close(self) -> None: ...

    @abc.abstractmethod
    def _load(self, view: GraphView) -> None: ...

    @abc.abstractmethod
    def _upsert(self, view: GraphView) -> None: ...

    @abc.abstractmethod
    def _retract(self, doc_ids: list[str]) -> None: ...

    @abc.abstractmethod
    def _query(self, text: str, params: dict[str, Any], write: bool) -> QueryResult: ...

    @abc.abstractmethod
    def _counts(self) -> dict[str, int]: ...

    @abc.abstractmethod
    def _missing(self, kind: str, ids: list[str]) -> list[str]:
        """Return the ids of ``kind`` ("entities", "documents" or "facts") that the store lacks."""

    # -- helpers -----------------------------------------------------------------------------------

    def _require_open(self) -> None:
        if not self._is_open:
            raise StoreError(f"{type(self).__name__} is not open; call .open() or use it in a `with` block")

    def __repr__(self) -> str:
        state = "open" if self._is_open else "closed"
        return f"<{type(self).__name__} {state}>"


class GraphStore(Store):
    """A property-graph store queried with Cypher (LadybugDB embedded, Neo4j over Bolt)."""

    language: ClassVar[str] = "cypher"


class TripleStore(Store):
    """An RDF store queried with SPARQL 1.1 (Oxigraph embedded, Jena TDB2, any HTTP endpoint).

    Every triple store holds the graph in the mapping of :mod:`kg.rdf`.

    Args:
        base_iri: base of every kg IRI.

    Attributes:
        mapping: the :class:`kg.rdf.RdfMapping` that mints the store's IRIs.
    """

    language: ClassVar[str] = "sparql"

    def __init__(self, base_iri: str | None = None) -> None:
        from kg.rdf import DEFAULT_BASE_IRI, RdfMapping  # kg.rdf needs this module; import late

        super().__init__()
        self.mapping = RdfMapping(base_iri or DEFAULT_BASE_IRI)


# -- view validation (shared by every backend) -------------------------------------------------------

_TABLE_SCHEMAS: dict[str, pa.Schema] = {
    "documents": model.DOCUMENTS,
    "entities": model.ENTITIES,
    "facts": model.FACTS,
    "evidence": model.EVIDENCE,
    "mentions": model.MENTIONS,
}
# Columns that must be non-empty in every row, and the columns that are unique keys.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "documents": ("id",),
    "entities": ("id",),
    "facts": ("id", "subject", "predicate", "object"),
    "evidence": ("fact_id", "doc_id"),
    "mentions": ("doc_id",),
}
_UNIQUE: dict[str, str] = {"documents": "id", "entities": "id", "facts": "id"}


def normalize_view(graph: GraphView) -> GraphView:
    """Check a view and return it with every table in its exact :mod:`kg.model` schema.

    Columns are selected by name and cast, so extra columns are dropped and column order does not matter.

    Raises:
        TypeError: ``graph`` is not a GraphView.
        StoreError: a table lacks a column, has an empty key, or repeats an id.
    """
    if not isinstance(graph, GraphView):
        raise TypeError(
            f"expected a kg.graph.GraphView, got {type(graph).__name__}; build one with GraphView.from_pylist"
        )
    tables = {}
    for name, schema in _TABLE_SCHEMAS.items():
        table = getattr(graph, name)
        if not isinstance(table, pa.Table):
            raise TypeError(f"GraphView.{name} must be a pyarrow.Table, got {type(table).__name__}")
        tables[name] = _cast_table(name, table, schema)
        _check_required(name, tables[name])
    for name, column in _UNIQUE.items():
        ids = tables[name].column(column)
        if pc.count_distinct(ids).as_py() != len(ids):
            dup = pc.value_counts(ids).filter(pc.greater(pc.value_counts(ids).field("counts"), 1))
            raise StoreError(
                f"{name}.{column} repeats {dup[0]['values']}; deduplicate the {name} table first"
            )
    return GraphView(**tables)


def _cast_table(name: str, table: pa.Table, schema: pa.Schema) -> pa.Table:
    missing = [col for col in schema.names if col not in table.column_names]
    if missing:
        raise StoreError(
            f"GraphView.{name} lacks column(s) {missing}; use the kg.model.{name.upper()} schema"
        )
    try:
        return table.select(schema.names).cast(schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise StoreError(
            f"GraphView.{name} does not fit kg.model.{name.upper()} ({exc}); fix the column types"
        ) from exc


def _check_required(name: str, table: pa.Table) -> None:
    for column in _REQUIRED[name]:
        values = table.column(column)
        empty = values.null_count + (pc.sum(pc.fill_null(pc.equal(values, ""), False)).as_py() or 0)
        if empty:
            raise StoreError(f"{name}.{column} is empty in {empty} row(s); every row needs a {column}")


def _ids_of(view: GraphView, kind: str) -> pa.ChunkedArray:
    return getattr(view, kind).column("id")


def _references(view: GraphView) -> dict[str, pa.ChunkedArray]:
    """Every id the view refers to, grouped by the kind of row it must name."""
    mentions = view.mentions.filter(
        pc.invert(pc.fill_null(pc.equal(view.mentions.column("entity_id"), ""), True))
    )
    return {
        "entities": pa.chunked_array(
            view.facts.column("subject").chunks
            + view.facts.column("object").chunks
            + mentions.column("entity_id").chunks,
            type=pa.string(),
        ),
        "documents": pa.chunked_array(
            view.evidence.column("doc_id").chunks + view.mentions.column("doc_id").chunks, type=pa.string()
        ),
        "facts": view.evidence.column("fact_id"),
    }


def _not_in(ids: pa.ChunkedArray, known: pa.ChunkedArray) -> list[str]:
    """Distinct values of ``ids`` that are not in ``known`` (vectorized: safe for millions of rows)."""
    if len(ids) == 0:
        return []
    unique = pc.unique(ids)
    return unique.filter(pc.invert(pc.is_in(unique, value_set=pc.unique(known)))).to_pylist()


def _dangling_error(kind: str, missing: list[str], operation: str) -> StoreError:
    where = "in the view" if operation == "load" else "in the view or the store"
    return StoreError(
        f"{len(missing)} referenced {kind} id(s) exist nowhere {where} (e.g. {missing[:3]}); "
        f"include those {kind} in the GraphView before {operation}"
    )


def evidence_ids(evidence: pa.Table) -> pa.Array:
    """Stable id of each evidence row: ``fact~doc~sentence~start~end~extractor``.

    Readable and free of hashing so it is vectorized; every store uses the same ids, so the Cypher
    ``Evidence.id`` and the RDF evidence IRI name the same row.

    Args:
        evidence: a table in the ``model.EVIDENCE`` schema.

    Returns:
        A string array with one id per row.
    """
    parts = [
        evidence.column(name)
        if evidence.schema.field(name).type == pa.string()
        else pc.cast(evidence.column(name), pa.string())
        for name in ("fact_id", "doc_id", "sentence", "start", "end", "extractor")
    ]
    joined = pc.binary_join_element_wise(*[pc.fill_null(part, "") for part in parts], "~")
    return joined.combine_chunks() if isinstance(joined, pa.ChunkedArray) else joined


__all__ = [
    "GraphStore",
    "QueryResult",
    "Store",
    "TripleStore",
    "evidence_ids",
    "normalize_view",
]
