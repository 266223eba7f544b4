"""The analysts' query library: named, parameterized Cypher (``.cypher``) and SPARQL (``.rq``) files.

A library is a folder of query files; ``queries/`` in the repository is the built-in one, and users add
their own folders with ``--library DIR`` or the ``KG_QUERY_LIBRARY`` environment variable (folders
separated by ``os.pathsep``; a query in a later folder replaces a built-in of the same name). A query
has one or two files, ``NAME.cypher`` for the graph store and ``NAME.rq`` for the triple store, and each
file starts with a header of comment lines (``//`` in Cypher, ``#`` in SPARQL)::

    // name: neighbours
    // description: Entities linked to an entity by a relation, both directions.
    // param: entity: str — entity id or name (names match case-insensitively)
    // param: relation: str = "" — only this relation; empty for every relation
    // param: limit: int = 50 — maximum rows
    // sort: name, direction, predicate, neighbour

Header keys (one per line, the header ends at the first line that is not a comment):

* ``name`` — must equal the file name without extension.
* ``description`` — one line.
* ``param: NAME: TYPE [= DEFAULT] — DESCRIPTION`` — ``TYPE`` is ``str``, ``int``, ``float`` or
  ``bool``; a parameter without a default is required. A string default may be quoted (``""`` is the
  empty string). The default ``@functional`` means "every relation marked ``functional: true`` in the
  workspace schema": the query then runs once per such relation and the rows are concatenated.
  The separator before the description may be ``—`` or ``--``.
* ``sort: COLUMN [desc], ...`` — the runner sorts the rows by these columns, so both languages (and
  several runs) give one order. Cypher has no portable way to order a ``UNION``.
* ``decode: COLUMN, ...`` (``.rq`` only) — columns holding IRI local names (relation names, ids) that
  the RDF mapping percent-encodes; the runner decodes them so SPARQL prints what Cypher prints.

Both files of a query must declare the same name, description, parameters and sort order.

Rules the library files follow, and that :func:`execute` relies on:

* Values travel only as parameters: ``$name`` in Cypher, the pre-bound variable ``?name`` in SPARQL
  (SEP-0007 substitution; Oxigraph requires the variable in the ``SELECT`` clause, so every ``.rq``
  projects its parameters and the runner drops those echo columns). A parameter name is therefore
  never also a result column name.
* A parameter named ``limit`` is applied by the runner (SPARQL cannot take ``LIMIT`` from a variable):
  Cypher files also use ``LIMIT $limit`` so the engine stops early; ``.rq`` files do not mention it and
  the runner cuts the sorted rows.
* SPARQL files use the default base IRI (``https://kg.example.org/``) in their ``PREFIX`` lines. When
  a store uses another base IRI (``[rdf] base_iri``), the runner rewrites those ``PREFIX`` IRIs — the
  prologue only, with the validated base of the store; values are never written into the text.
"""

from __future__ import annotations

import difflib
import os
import re
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote

from kg.errors import ConfigError, QueryError, UnknownComponentError

if TYPE_CHECKING:
    from kg.schema import Schema
    from kg.stores.base import QueryResult, Store
    from kg.workspace import Workspace

ParamType = Literal["str", "int", "float", "bool"]
Language = Literal["cypher", "sparql"]

def _builtin_library() -> Path:
    """The shipped library: ``queries/`` of a source checkout, else the wheel's ``share/kg/queries``."""
    checkout = Path(__file__).resolve().parents[1] / "queries"
    if checkout.is_dir():
        return checkout
    return Path(sys.prefix) / "share" / "kg" / "queries"


BUILTIN_LIBRARY = _builtin_library()
"""The library shipped with kg (``queries/`` in the repository)."""

LIBRARY_ENV = "KG_QUERY_LIBRARY"
"""Environment variable with extra library folders (separated by ``os.pathsep``)."""

EXTENSIONS: dict[str, Language] = {".cypher": "cypher", ".rq": "sparql"}
COMMENT: dict[Language, str] = {"cypher": "//", "sparql": "#"}
STORE_KIND: dict[Language, str] = {"cypher": "graph", "sparql": "rdf"}
LANGUAGE_ORDER: tuple[Language, ...] = ("cypher", "sparql")  # default choice: Cypher first

SCHEMA_DEFAULTS = ("functional",)
"""Names usable as ``@name`` defaults: lists of relation names taken from the workspace schema."""

_TYPES: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}
_TRUE = frozenset({"true", "1", "yes", "y", "on"})
_FALSE = frozenset({"false", "0", "no", "n", "off"})
_HEADER_KEYS = ("name", "description", "param", "sort", "decode")
_LINE = re.compile(r"^(?P<key>[A-Za-z_]+)\s*:\s*(?P<value>.*)$")
_PARAM = re.compile(
    r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*:\s*(?P<type>[A-Za-z]+)"
    r"(?:\s*=\s*(?P<default>.*?))?"
    r"\s*(?:(?:—|--)\s*(?P<description>.*))?$"
)
_SORT_ITEM = re.compile(r"^(?P<column>[A-Za-z_][A-Za-z0-9_]*)(?:\s+(?P<order>asc|desc))?$", re.IGNORECASE)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_HEADER_FORMAT = "NAME: TYPE [= DEFAULT] — DESCRIPTION"


class _Required:
    """Sentinel default of a required parameter."""

    def __repr__(self) -> str:
        return "REQUIRED"


REQUIRED: Any = _Required()


@dataclass(frozen=True)
class QueryParam:
    """One declared parameter of a library query.

    Attributes:
        name: parameter name (``$name`` in Cypher, ``?name`` in SPARQL).
        type: declared type; values given as text are converted to it.
        description: what the value means.
        default: value used when none is given; :data:`REQUIRED` when the parameter must be given.
        schema_default: for an ``@name`` default, the schema list it stands for (``"functional"``).
    """

    name: str
    type: ParamType
    description: str = ""
    default: Any = REQUIRED
    schema_default: str | None = None

    @property
    def required(self) -> bool:
        """Whether a value must be given (no default at all)."""
        return self.default is REQUIRED and self.schema_default is None

    def convert(self, value: Any, query: str = "") -> Any:
        """Convert a value (text from the command line, or a Python value) to the declared type.

        Args:
            value: ``"25"``, ``"true"``, or an int/float/bool/str of the right type.
            query: query name, for the error message.

        Raises:
            QueryError: the value does not fit the type; the message shows an example.
        """
        where = f"parameter {self.name!r}" + (f" of query {query!r}" if query else "")
        example = {"str": "text", "int": "25", "float": "0.5", "bool": "true"}[self.type]
        problem = QueryError(
            f"{where} must be {'an' if self.type == 'int' else 'a'} {self.type}, got {value!r}; "
            f"pass e.g. --param {self.name}={example}"
        )
        if isinstance(value, str) and self.type != "str":
            text = value.strip()
            try:
                if self.type == "int":
                    return int(text)
                if self.type == "float":
                    return float(text)
            except ValueError:
                raise problem from None
            if text.lower() in _TRUE:
                return True
            if text.lower() in _FALSE:
                return False
            raise problem
        # Python values: bool is an int subclass, so check it first and never let it pass as a number.
        if self.type == "bool":
            if isinstance(value, bool):
                return value
            raise problem
        if isinstance(value, bool):
            raise problem
        if self.type == "int" and isinstance(value, int):
            return value
        if self.type == "float" and isinstance(value, (int, float)):
            return float(value)
        if self.type == "str" and isinstance(value, str):
            return value
        raise problem

    def signature(self) -> str:
        """``name: type = default`` as shown by ``kg query list``."""
        if self.schema_default is not None:
            return f"{self.name}: {self.type} = @{self.schema_default}"
        if self.default is REQUIRED:
            return f"{self.name}: {self.type}"
        default = f'"{self.default}"' if self.type == "str" else str(self.default).lower() \
            if self.type == "bool" else str(self.default)
        return f"{self.name}: {self.type} = {default}"


@dataclass(frozen=True)
class QueryFile:
    """One file of a library query.

    Attributes:
        language: ``"cypher"`` or ``"sparql"``.
        path: where the file was read.
        text: the whole file (the header is made of comments, so it can be sent as is).
        decode: result columns holding percent-encoded IRI local names (SPARQL only).
    """

    language: Language
    path: Path
    text: str
    decode: tuple[str, ...] = ()


@dataclass(frozen=True)
class LibraryQuery:
    """A named query with its parameters and one file per language.

    Attributes:
        name: the query name (``kg query run NAME``).
        description: one line.
        params: declared parameters in header order.
        sort: ``(column, descending)`` pairs the runner sorts by.
        files: language -> file.
    """

    name: str
    description: str
    params: tuple[QueryParam, ...] = ()
    sort: tuple[tuple[str, bool], ...] = ()
    files: Mapping[Language, QueryFile] = field(default_factory=dict)

    @property
    def languages(self) -> tuple[Language, ...]:
        """Languages this query exists in, Cypher first."""
        return tuple(lang for lang in LANGUAGE_ORDER if lang in self.files)

    def param(self, name: str) -> QueryParam | None:
        """The declared parameter ``name``, or None."""
        return next((p for p in self.params if p.name == name), None)

    def bind(self, values: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Check and convert given values, and fill in defaults.

        Parameters with an ``@schema`` default that were not given are left out: :func:`execute`
        expands them from the schema.

        Args:
            values: name -> value (text, as from ``--param k=v``, or Python values).

        Returns:
            name -> typed value for every parameter except unresolved schema defaults.

        Raises:
            QueryError: unknown parameter (with a did-you-mean), missing required parameter, or a
                value that does not fit its type.
        """
        values = dict(values or {})
        names = [p.name for p in self.params]
        for key in values:
            if key not in names:
                hint = difflib.get_close_matches(key, names, n=1)
                tip = f" (did you mean {hint[0]!r}?)" if hint else ""
                listed = ", ".join(names) if names else "none"
                raise QueryError(
                    f"query {self.name!r} has no parameter {key!r}{tip}; its parameters: {listed}"
                )
        bound: dict[str, Any] = {}
        for param in self.params:
            if param.name in values:
                bound[param.name] = param.convert(values[param.name], self.name)
            elif param.required:
                raise QueryError(
                    f"query {self.name!r} needs --param {param.name}=… ({param.type}: "
                    f"{param.description or 'no description'})"
                )
            elif param.schema_default is None:
                bound[param.name] = param.default
        if "limit" in bound and bound["limit"] < 0:
            raise QueryError(f"parameter 'limit' of query {self.name!r} must be >= 0, got {bound['limit']}")
        return bound


class UnknownQueryError(UnknownComponentError):
    """A library query was requested by a name that the library does not hold."""

    def __init__(self, name: str, valid: Sequence[str]) -> None:
        hint = difflib.get_close_matches(name, list(valid), n=1)
        tip = f" (did you mean {hint[0]!r}?)" if hint else ""
        listed = ", ".join(sorted(valid)) if valid else "none (the library is empty)"
        super().__init__("query", name, list(valid))
        # the parent's message has no did-you-mean; replace it
        self.args = (f"unknown query {name!r}{tip}; choose one of: {listed} (see `kg query list`)",)
        self.name, self.valid = name, list(valid)


class QueryLibrary:
    """The queries of one or more library folders, by name.

    Build it with :meth:`load` (which reads the folders); the constructor takes parsed queries.

    Args:
        queries: parsed queries; a later query replaces an earlier one of the same name.
        folders: the folders the queries came from (for messages).
    """

    def __init__(self, queries: Iterable[LibraryQuery] = (), folders: Sequence[Path] = ()) -> None:
        self._queries: dict[str, LibraryQuery] = {}
        for query in queries:
            self._queries[query.name] = query
        self.folders = tuple(folders)

    @classmethod
    def load(cls, folders: Sequence[str | Path] | None = None) -> QueryLibrary:
        """Read every query of the given folders (default: :func:`library_folders`).

        Raises:
            ConfigError: a folder given explicitly does not exist, or a file's header is malformed.
        """
        paths = library_folders() if folders is None else [Path(f) for f in folders]
        queries: list[LibraryQuery] = []
        for folder in paths:
            queries.extend(load_folder(folder))
        return cls(queries, paths)

    def __len__(self) -> int:
        return len(self._queries)

    def __iter__(self) -> Iterator[LibraryQuery]:
        return iter(sorted(self._queries.values(), key=lambda q: q.name))

    def __contains__(self, name: object) -> bool:
        return name in self._queries

    @property
    def names(self) -> list[str]:
        """Query names, sorted."""
        return sorted(self._queries)

    def get(self, name: str) -> LibraryQuery:
        """The query called ``name``.

        Raises:
            UnknownQueryError: no such query; the message lists the names and a close match.
        """
        try:
            return self._queries[name]
        except KeyError:
            raise UnknownQueryError(name, self.names) from None


# -- finding and parsing ---------------------------------------------------------------------------


def library_folders(extra: Sequence[str | Path] = (), environ: Mapping[str, str] | None = None) -> list[Path]:
    """Library folders in override order: built-in, then ``KG_QUERY_LIBRARY``, then ``extra``.

    Raises:
        ConfigError: a folder named in the environment or in ``extra`` does not exist.
    """
    environ = os.environ if environ is None else environ
    folders = [BUILTIN_LIBRARY] if BUILTIN_LIBRARY.is_dir() else []
    named = [p for p in environ.get(LIBRARY_ENV, "").split(os.pathsep) if p.strip()]
    for source, entries in ((LIBRARY_ENV, named), ("--library", list(extra))):
        for entry in entries:
            path = Path(entry).expanduser()
            if not path.is_dir():
                raise ConfigError(f"query library folder {path} (from {source}) does not exist; "
                                  "create it or fix the path")
            folders.append(path)
    return folders


def load_folder(folder: str | Path) -> list[LibraryQuery]:
    """Parse every ``.cypher``/``.rq`` file of one folder into queries (files of one name merge).

    Raises:
        ConfigError: a header is malformed, or the two files of one query disagree.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"query library folder {folder} does not exist; create it or fix the path")
    files: dict[str, list[tuple[QueryFile, dict[str, Any]]]] = {}
    for path in sorted(folder.iterdir()):
        language = EXTENSIONS.get(path.suffix)
        if language is None or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8")
        header = parse_header(text, language, path)
        if header["name"] != path.stem:
            raise ConfigError(f"{path}: header name {header['name']!r} differs from the file name; "
                              f"rename the file or set `name: {path.stem}`")
        qfile = QueryFile(language, path, text, header["decode"])
        files.setdefault(path.stem, []).append((qfile, header))
    return [_merge(name, parts) for name, parts in sorted(files.items())]


def _merge(name: str, parts: list[tuple[QueryFile, dict[str, Any]]]) -> LibraryQuery:
    first_file, first = parts[0]
    for other_file, other in parts[1:]:
        for key in ("description", "params", "sort"):
            if first[key] != other[key]:
                raise ConfigError(
                    f"{first_file.path.name} and {other_file.path.name} declare different {key}; "
                    "make the headers of both files of a query the same"
                )
    return LibraryQuery(name=name, description=first["description"], params=first["params"],
                        sort=first["sort"], files={f.language: f for f, _ in parts})


def parse_header(text: str, language: Language, path: str | Path = "<query>") -> dict[str, Any]:
    """Parse the comment header of a query file.

    Args:
        text: the file content.
        language: ``"cypher"`` (``//`` comments) or ``"sparql"`` (``#`` comments).
        path: file name for messages.

    Returns:
        ``name``, ``description``, ``params`` (tuple of :class:`QueryParam`), ``sort`` and ``decode``.

    Raises:
        ConfigError: a line of the header is not ``key: value`` with a known key, a parameter line is
            malformed, or ``name``/``description`` is missing or repeated; the message names the line.
    """
    prefix = COMMENT[language]
    found: dict[str, Any] = {"params": [], "sort": (), "decode": ()}
    seen: set[str] = set()
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line.startswith(prefix):
            break  # the header is the leading run of comment lines
        body = line[len(prefix):].strip()
        where = f"{path} line {number}"
        match = _LINE.match(body)
        if not match or match["key"] not in _HEADER_KEYS:
            raise ConfigError(f"{where}: header lines must be `key: value` with key one of "
                              f"{', '.join(_HEADER_KEYS)}; got {body!r} (end the header with a blank line)")
        key, value = match["key"], match["value"].strip()
        if key == "param":
            param = _parse_param(value, where)
            if any(p.name == param.name for p in found["params"]):
                raise ConfigError(f"{where}: parameter {param.name!r} is declared twice; keep one")
            found["params"].append(param)
            continue
        if key in seen:
            raise ConfigError(f"{where}: `{key}` appears twice in the header; keep one")
        seen.add(key)
        if key in ("name", "description"):
            if not value:
                raise ConfigError(f"{where}: `{key}` is empty; write one line")
            if key == "name" and not _NAME.match(value):
                raise ConfigError(f"{where}: query name {value!r} must be letters, digits and _")
            found[key] = value
        elif key == "sort":
            found["sort"] = _parse_sort(value, where)
        else:  # decode
            if language != "sparql":
                raise ConfigError(f"{where}: `decode` applies to SPARQL (.rq) files only; remove it")
            found["decode"] = _parse_columns(value, where)
    for key in ("name", "description"):
        if key not in found:
            raise ConfigError(f"{path}: the header has no `{prefix} {key}: …` line; add one at the top")
    found["params"] = tuple(found["params"])
    return found


def _parse_param(value: str, where: str) -> QueryParam:
    match = _PARAM.match(value)
    if not match:
        raise ConfigError(f"{where}: bad parameter line {value!r}; write `param: {_HEADER_FORMAT}`")
    name, type_name = match["name"], match["type"]
    if type_name not in _TYPES:
        hint = difflib.get_close_matches(type_name, list(_TYPES), n=1)
        tip = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ConfigError(f"{where}: parameter {name!r} has unknown type {type_name!r}{tip}; "
                          f"use one of: {', '.join(_TYPES)}")
    description = (match["description"] or "").strip()
    raw = match["default"]
    if raw is None:
        return QueryParam(name, type_name, description)  # type: ignore[arg-type]
    raw = raw.strip()
    if raw.startswith("@"):
        source = raw[1:]
        if source not in SCHEMA_DEFAULTS:
            raise ConfigError(f"{where}: unknown schema default {raw!r}; use one of: "
                              + ", ".join("@" + s for s in SCHEMA_DEFAULTS))
        if type_name != "str":
            raise ConfigError(
                f"{where}: the schema default {raw!r} is a relation name, so the type must be str")
        return QueryParam(name, "str", description, REQUIRED, source)
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
        raw = raw[1:-1]  # quoted string default; "" is the empty string
    probe = QueryParam(name, type_name, description)  # type: ignore[arg-type]
    try:
        default = probe.convert(raw)
    except QueryError:
        article = "an" if type_name == "int" else "a"
        raise ConfigError(
            f"{where}: default {raw!r} of parameter {name!r} is not {article} {type_name}") from None
    return QueryParam(name, type_name, description, default)  # type: ignore[arg-type]


def _parse_columns(value: str, where: str) -> tuple[str, ...]:
    columns = tuple(c.strip() for c in value.split(",") if c.strip())
    bad = [c for c in columns if not _NAME.match(c)]
    if not columns or bad:
        raise ConfigError(f"{where}: expected comma-separated column names, got {value!r}")
    return columns


def _parse_sort(value: str, where: str) -> tuple[tuple[str, bool], ...]:
    keys = []
    for item in (part.strip() for part in value.split(",")):
        match = _SORT_ITEM.match(item)
        if not match:
            raise ConfigError(f"{where}: bad sort item {item!r}; write `sort: column [desc], column …`")
        keys.append((match["column"], (match["order"] or "").lower() == "desc"))
    return tuple(keys)


# -- running -------------------------------------------------------------------------------------

_PREFIX_LINE = re.compile(r"^(\s*PREFIX\s+[A-Za-z0-9_.\-]*:\s*<)([^>]*)(>)", re.IGNORECASE | re.MULTILINE)


def execute(
    query: LibraryQuery,
    store: Store,
    params: Mapping[str, Any] | None = None,
    *,
    schema: Schema | None = None,
) -> QueryResult:
    """Run a library query on an open store, in the store's language.

    Args:
        query: the query.
        store: an open :class:`~kg.stores.base.GraphStore` (runs the ``.cypher`` file) or
            :class:`~kg.stores.base.TripleStore` (runs the ``.rq`` file).
        params: parameter values (text or typed); see :meth:`LibraryQuery.bind`.
        schema: the workspace schema, needed for ``@functional`` defaults.

    Returns:
        The rows, sorted by the query's ``sort`` and cut to ``limit``; SPARQL results have the same
        columns as Cypher ones (parameter echo columns dropped, IRI local names decoded).

    Raises:
        QueryError: bad parameters, no file for the store's language, a schema default without a
            schema, or a failing query.
    """
    from kg.stores.base import QueryResult

    language: Language = store.language  # type: ignore[assignment]
    qfile = query.files.get(language)
    if qfile is None:
        other = ", ".join(query.languages)
        raise QueryError(f"query {query.name!r} has no {language} version (it has: {other}); "
                         f"use --lang {query.languages[0]} or add {query.name}{_ext(language)}")
    bound = query.bind(params)
    runs = _expand_schema_defaults(query, bound, schema)
    text = qfile.text if language == "cypher" else _rebase(qfile.text, store)
    columns: list[str] | None = None
    rows: list[tuple] = []
    for values in runs:
        # SPARQL cannot take LIMIT from a variable, so `limit` is the runner's there (see module doc).
        sent = values if language == "cypher" else {k: v for k, v in values.items() if k != "limit"}
        result = store.query(text, sent)
        keep = [i for i, c in enumerate(result.columns) if c not in values]
        columns = [result.columns[i] for i in keep]
        decode = [i for i, c in enumerate(columns) if c in qfile.decode]
        for row in result.rows:
            kept = [_plain(row[i]) for i in keep]
            for i in decode:
                if isinstance(kept[i], str):
                    kept[i] = unquote(kept[i])
            rows.append(tuple(kept))
    rows = _sorted(rows, columns or [], query)
    limit = bound.get("limit")
    if isinstance(limit, int):
        rows = rows[:limit]
    return QueryResult(columns or [], rows)


def _plain(value: Any) -> Any:
    # LadybugDB sums INT64 columns into INT128, which arrives as Decimal; analysts want the number.
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def _ext(language: Language) -> str:
    return next(ext for ext, lang in EXTENSIONS.items() if lang == language)


def _expand_schema_defaults(
    query: LibraryQuery, bound: dict[str, Any], schema: Schema | None
) -> list[dict[str, Any]]:
    """One parameter set per run: an unresolved ``@functional`` parameter runs once per relation."""
    runs = [bound]
    for param in query.params:
        if param.schema_default is None or param.name in bound:
            continue
        if schema is None:
            raise QueryError(
                f"query {query.name!r} takes {param.name!r} from the schema's {param.schema_default} "
                f"relations, but the workspace has no schema; pass --param {param.name}=RELATION"
            )
        values = [name for name, rel in schema.relation_types.items() if getattr(rel, param.schema_default)]
        if not values:
            raise QueryError(
                f"schema {schema.name!r} marks no relation `{param.schema_default}: true`; mark one or "
                f"pass --param {param.name}=RELATION"
            )
        runs = [{**run, param.name: value} for run in runs for value in values]
    return runs


def _rebase(text: str, store: Store) -> str:
    """Rewrite default-base ``PREFIX`` IRIs to the store's base IRI (prologue only)."""
    from kg.rdf import DEFAULT_BASE_IRI

    mapping = getattr(store, "mapping", None)
    base = getattr(mapping, "base", DEFAULT_BASE_IRI)
    if base == DEFAULT_BASE_IRI:
        return text
    # The base was validated as an absolute IRI by RdfMapping, so it cannot close the <…> early.
    return _PREFIX_LINE.sub(
        lambda m: m[1] + (base + m[2][len(DEFAULT_BASE_IRI):] if m[2].startswith(DEFAULT_BASE_IRI)
                          else m[2]) + m[3],
        text,
    )


def _sorted(rows: list[tuple], columns: list[str], query: LibraryQuery) -> list[tuple]:
    if not query.sort or not rows:
        return rows
    missing = [c for c, _ in query.sort if c not in columns]
    if missing:
        raise QueryError(f"query {query.name!r} sorts by {missing[0]!r}, which it does not return; "
                         f"fix its `sort:` header (columns: {', '.join(columns)})")
    # Stable sorts from the last key to the first; missing values go last in either direction.
    for column, descending in reversed(query.sort):
        index = columns.index(column)
        present = [r for r in rows if r[index] is not None]
        absent = [r for r in rows if r[index] is None]
        rows = sorted(present, key=lambda r: _sort_key(r[index]), reverse=descending) + absent
    return rows


def _sort_key(value: Any) -> Any:
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, (int, float)):
        return (0, value)
    return (1, str(value))


def choose_language(query: LibraryQuery, ws: Workspace, lang: str | None = None) -> Language:
    """The language to run ``query`` in: ``lang`` if given, else the first configured store's, Cypher first.

    Raises:
        QueryError: ``lang`` is not a language, the query lacks it, or no configured store can run it.
    """
    if lang is not None:
        if lang not in COMMENT:
            raise QueryError(f"unknown query language {lang!r}; use cypher or sparql")
        if lang not in query.files:
            raise QueryError(f"query {query.name!r} has no {lang} version; it has: "
                             f"{', '.join(query.languages)}")
        return lang  # type: ignore[return-value]
    for language in query.languages:
        if getattr(ws.config.stores, STORE_KIND[language]):
            return language
    raise QueryError(
        f"query {query.name!r} runs on a {' or '.join(STORE_KIND[l] for l in query.languages)} store, and "
        f"none is configured in {ws.config_path}; set [stores] graph/rdf"
    )


def parse_param_args(items: Sequence[str]) -> dict[str, str]:
    """Turn ``["k=v", ...]`` (``--param`` options) into a dict of text values.

    Raises:
        QueryError: an item has no ``=`` or a name is given twice.
    """
    values: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not name:
            raise QueryError(f"parameter {item!r} must look like name=value, e.g. --param limit=10")
        if name in values:
            raise QueryError(f"parameter {name!r} is given twice; pass it once")
        values[name] = value
    return values


def run_library_query(
    ws: Workspace,
    name: str,
    params: Mapping[str, Any] | None = None,
    *,
    lang: str | None = None,
    library: QueryLibrary | None = None,
) -> QueryResult:
    """Find a library query, open the right store of the workspace read-only, and run it.

    Args:
        ws: an opened workspace.
        name: query name.
        params: parameter values (text or typed).
        lang: ``"cypher"`` or ``"sparql"``; default: the first configured store's language.
        library: the library (default: :meth:`QueryLibrary.load` of :func:`library_folders`).

    Raises:
        UnknownQueryError: no query of that name.
        QueryError: bad parameters or language, or the query failed.
        StoreError: the store does not exist yet or cannot be opened.
    """
    from kg.sync import open_store

    library = library if library is not None else QueryLibrary.load()
    query = library.get(name)
    language = choose_language(query, ws, lang)
    query.bind(params)  # check parameters before opening a store
    schema = _workspace_schema(ws) if any(p.schema_default for p in query.params) else None
    store = open_store(ws, STORE_KIND[language], read_only=True)
    try:
        return execute(query, store, params, schema=schema)
    finally:
        store.close()


def _workspace_schema(ws: Workspace) -> Schema | None:
    from kg.schema import load_schema

    path = ws.config.extraction.schema_path
    return load_schema(path) if path else None


__all__ = [
    "BUILTIN_LIBRARY",
    "LIBRARY_ENV",
    "REQUIRED",
    "LibraryQuery",
    "QueryFile",
    "QueryLibrary",
    "QueryParam",
    "UnknownQueryError",
    "choose_language",
    "execute",
    "library_folders",
    "load_folder",
    "parse_header",
    "parse_param_args",
    "run_library_query",
]
