"""The SPARQL-text core of the server-grade triple stores, and the SPARQL helpers every triple store shares.

:class:`SparqlProtocolStore` implements the whole :class:`~kg.stores.base.TripleStore` protocol with
SPARQL 1.1 query and update text plus N-Triples bulk loading, over four transport hooks that a backend
implements (:class:`~kg.stores.sparql.SparqlEndpointStore` over HTTP,
:class:`~kg.stores.jena.JenaStore` through Jena's TDB2 command-line tools):

* ``_select(text)`` runs a SELECT or ASK query and returns the SPARQL 1.1 JSON results document;
* ``_construct(text)`` runs a CONSTRUCT or DESCRIBE query and returns N-Triples bytes;
* ``_update(text)`` runs a SPARQL UPDATE request (one or more operations separated by ``;``);
* ``_clear()`` empties the store; ``_bulk_load(chunks)`` appends N-Triples (the default sends
  ``INSERT DATA`` requests through ``_update``).

The graph is the same as :class:`~kg.stores.oxigraph.OxigraphStore` holds (the mapping of
:mod:`kg.rdf`, in the default graph), and the write semantics are the same:

* ``load`` clears and bulk-loads the view's N-Triples.
* ``upsert`` deletes the single-valued properties (:func:`replaced_predicates`) of every node the view
  names, then adds the view's triples: one update request (``DELETE ... ; INSERT DATA``) when the view
  is small, else deletes followed by a bulk load.
* ``retract_documents`` is one update request of four operations per slice of documents: drop the
  extracted facts left without evidence (and their asserted triple), set ``kg:evidenceCount`` of the
  facts that stay, drop the documents' evidence nodes, drop the documents and the links to them.

Query parameters are bound by substitution, the way Oxigraph binds them (SEP-0007): every occurrence of
the variable ``?name`` becomes the escaped RDF term, written with :mod:`pyoxigraph`'s N-Triples
serializer, so a value can never change the structure of the query. In the ``SELECT`` clause the
variable becomes ``(TERM AS ?name)`` and must be listed there, as Oxigraph requires.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import pyoxigraph as ox

from kg.errors import QueryError, StoreError
from kg.graph import GraphView
from kg.rdf import PROV, RDF, RDFS, SKOS, XSD, RdfMapping, is_update
from kg.stores.base import QueryResult, TripleStore, evidence_ids

# -- values out: RDF terms as plain Python (shared with the Oxigraph store) ------------------------

INTEGER_TYPES = frozenset(
    XSD + t
    for t in (
        "integer",
        "int",
        "long",
        "short",
        "byte",
        "nonNegativeInteger",
        "positiveInteger",
        "negativeInteger",
        "nonPositiveInteger",
        "unsignedLong",
        "unsignedInt",
        "unsignedShort",
        "unsignedByte",
    )
)
FLOAT_TYPES = frozenset(XSD + t for t in ("double", "float", "decimal"))


def literal_value(lexical: str, datatype: str) -> Any:
    """A literal as a plain Python value: numbers and booleans typed, everything else its lexical form."""
    try:
        if datatype in INTEGER_TYPES:
            return int(lexical)
        if datatype in FLOAT_TYPES:
            return float(lexical)
    except ValueError:
        return lexical  # ill-typed literal: keep its lexical form
    if datatype == XSD + "boolean":
        return lexical in {"true", "1"}
    return lexical


def term_value(term: Any) -> Any:
    """A pyoxigraph term as a plain Python value (IRI -> str, typed literal -> int/float/bool/str)."""
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return term.value
    if isinstance(term, ox.BlankNode):
        return f"_:{term.value}"
    if isinstance(term, ox.Literal):
        return literal_value(term.value, term.datatype.value)
    return str(term)


def json_value(term: Mapping[str, Any] | None) -> Any:
    """A term of SPARQL 1.1 JSON results as a plain Python value, exactly like :func:`term_value`."""
    if term is None:
        return None
    kind, value = term.get("type"), term.get("value", "")
    if kind == "uri":
        return value
    if kind == "bnode":
        return f"_:{value}"
    if kind in ("literal", "typed-literal"):  # "typed-literal": SPARQL 1.0 JSON of older servers
        if "xml:lang" in term:
            return value
        return literal_value(value, term.get("datatype", XSD + "string"))
    if kind == "triple" and isinstance(value, Mapping):  # RDF-star, written like Oxigraph's str(Triple)
        parts = [value.get(k) or {} for k in ("subject", "predicate", "object")]
        return " ".join(_json_ntriples(part) for part in parts)
    return str(value)


def _json_ntriples(term: Mapping[str, Any]) -> str:
    kind, value = term.get("type"), term.get("value", "")
    if kind == "uri":
        return f"<{value}>"
    if kind == "bnode":
        return f"_:{value}"
    if "xml:lang" in term:
        return str(ox.Literal(value, language=term["xml:lang"]))
    return str(ox.Literal(value, datatype=ox.NamedNode(term.get("datatype", XSD + "string"))))


def parse_json_results(data: Any, source: str = "the store") -> QueryResult:
    """Turn a SPARQL 1.1 JSON results document (SELECT or ASK) into a :class:`QueryResult`.

    An ASK result is one column ``boolean`` with one row, like the Oxigraph store returns.

    Raises:
        StoreError: ``data`` is not a SPARQL JSON results document.
    """
    try:
        if "boolean" in data:
            return QueryResult(["boolean"], [(bool(data["boolean"]),)])
        variables = list(data["head"]["vars"])
        bindings = data["results"]["bindings"]
        return QueryResult(variables, [tuple(json_value(b.get(v)) for v in variables) for b in bindings])
    except (KeyError, TypeError, AttributeError) as exc:
        raise StoreError(
            f"{source} answered JSON that is not SPARQL results (missing {exc}); check that it is a "
            "SPARQL 1.1 endpoint"
        ) from None


def triples_result(triples: Iterable[Any]) -> QueryResult:
    """A CONSTRUCT/DESCRIBE result (pyoxigraph triples or quads) as subject/predicate/object rows."""
    return QueryResult(
        ["subject", "predicate", "object"],
        [(term_value(t.subject), term_value(t.predicate), term_value(t.object)) for t in triples],
    )


def first_line(error: BaseException | str, limit: int = 300) -> str:
    """An error message on one line, cut to ``limit`` characters (engines' messages span lines)."""
    text = " ".join(str(error).split())
    return text[:limit] + ("…" if len(text) > limit else "")


# -- values in: query parameters ---------------------------------------------------------------------


def parameter_term(value: Any) -> Any:
    """A query parameter as a pyoxigraph term.

    pyoxigraph terms pass through; rdflib ``URIRef``/``Literal`` are converted; ``str``/``int``/
    ``float``/``bool`` become typed literals (``xsd:string``, ``xsd:integer``, ``xsd:double``,
    ``xsd:boolean``).

    Raises:
        QueryError: the value has another type, or is an rdflib term that is not a valid IRI/literal.
    """
    if isinstance(value, (ox.NamedNode, ox.BlankNode, ox.Literal, ox.Triple)):
        return value
    if isinstance(value, (bool, int, float, str)):
        return ox.Literal(value)
    if type(value).__module__.startswith("rdflib"):
        return _from_rdflib(value)
    raise QueryError(
        f"cannot bind a {type(value).__name__} as a SPARQL parameter; pass str/int/float/bool or a "
        "pyoxigraph NamedNode/Literal"
    )


def _from_rdflib(value: Any) -> Any:
    import rdflib

    try:
        if isinstance(value, rdflib.URIRef):
            return ox.NamedNode(str(value))
        if isinstance(value, rdflib.Literal):
            if value.language:
                return ox.Literal(str(value), language=value.language)
            if value.datatype:
                return ox.Literal(str(value), datatype=ox.NamedNode(str(value.datatype)))
            return ox.Literal(str(value))
    except ValueError as exc:
        raise QueryError(
            f"cannot bind {value!r} as a SPARQL parameter ({exc}); pass a valid IRI or literal"
        ) from None
    raise QueryError(
        f"cannot bind a {type(value).__name__} as a SPARQL parameter; pass an IRI or a literal"
    )


def check_update(text: str, params: Mapping[str, Any], write: bool) -> bool:
    """Whether ``text`` is a SPARQL UPDATE that may run; refuse it when it may not.

    Returns:
        True for an UPDATE (allowed with ``write``), False for a query.

    Raises:
        QueryError: an UPDATE without ``write=True``, or an UPDATE with parameters.
    """
    if not is_update(text):
        return False
    if not write:
        raise QueryError("this SPARQL text is an UPDATE; pass write=True (CLI: --write) if you mean it")
    if params:
        raise QueryError("SPARQL UPDATE takes no parameters here; bind values in a query or use upsert()")
    return True


def read_only_error(store: TripleStore, what: str) -> StoreError:
    """The error for a write on a store opened read-only."""
    return StoreError(f"cannot {what}: {store!r} was opened read_only=True; open it without read_only")


# -- substitution of parameters into SPARQL text -----------------------------------------------------

# One token per match, tried in this order at each position; "other" takes any single character, so the
# tokens cover the whole text. Strings, IRIs and comments are opaque: a "?name" inside them is not a
# variable.
_TOKENS = re.compile(
    r"(?P<ws>\s+)"
    r"|(?P<comment>#[^\n]*)"
    r'|(?P<string>"""(?:[^"\\]|\\.|"(?!""))*"""'
    r"|'''(?:[^'\\]|\\.|'(?!''))*'''"
    r'|"(?:[^"\\\n\r]|\\.)*"'
    r"|'(?:[^'\\\n\r]|\\.)*')"
    r'|(?P<iri><[^<>"{}|^`\\\x00-\x20]*>)'
    r"|(?P<var>[?$][\w\u00B7\u0300-\u036F\u203F\u2040]+)"
    r"|(?P<lang>@[A-Za-z]+(?:-[A-Za-z0-9]+)*)"
    r"|(?P<word>[^\s{}()\[\];,<>\"'#?$@^|/*+!=&\\]+)"
    r"|(?P<punct>[{}()])"
    r"|(?P<other>.)",
    re.DOTALL,
)
_FORMS = frozenset({"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"})


def query_form(text: str) -> str | None:
    """The form of a SPARQL query (``SELECT``, ``CONSTRUCT``, ``DESCRIBE`` or ``ASK``), None if none."""
    for match in _TOKENS.finditer(text):
        if match.lastgroup == "word" and match.group().upper() in _FORMS:
            return match.group().upper()
    return None


def sparql_term(term: Any) -> str:
    """The SPARQL text of an IRI or literal term (N-Triples syntax, valid in SPARQL).

    Raises:
        QueryError: a blank node or quoted triple, which SPARQL text cannot bind.
    """
    if isinstance(term, (ox.NamedNode, ox.Literal)):
        # N-Triples escapes exactly the characters a SPARQL string may not hold raw (", \, LF, CR).
        return str(term)
    raise QueryError(
        f"cannot bind a {type(term).__name__} as a parameter of SPARQL text; pass an IRI or a literal"
    )


def bind_parameters(text: str, params: Mapping[str, Any]) -> str:
    """Substitute query parameters into SPARQL query text (SEP-0007 semantics, as Oxigraph binds them).

    Every occurrence of the variable ``?name`` (or ``$name``) outside strings, IRIs and comments becomes
    the parameter's escaped RDF term, so it holds inside FILTERs, nested groups and UNION branches. In a
    ``SELECT`` clause it becomes ``(TERM AS ?name)``, in ``GROUP BY``/``ORDER BY`` ``(TERM)``; after
    ``AS`` it stays a variable. A top-level ``SELECT *`` gets the parameters from a trailing ``VALUES``.

    Args:
        text: a SPARQL query.
        params: parameter name -> value (see :func:`parameter_term`).

    Returns:
        The query text with the values bound.

    Raises:
        QueryError: a value cannot be bound, a parameter of a SELECT query is not in its projection
            (as with Oxigraph), or a parameter is also a variable of a VALUES clause.
    """
    terms = {name: sparql_term(parameter_term(value)) for name, value in params.items()}
    if not terms:
        return text
    out: list[str] = []
    paren = 0
    clause: str | None = None  # "project" (a SELECT clause) or "condition" (GROUP BY / ORDER BY)
    clause_paren = 0
    top_select = in_values = star = False
    form: str | None = None
    projected: set[str] = set()
    # (index in out, variable) of parameters written as (TERM AS ?v) in the query's own SELECT clause
    top_terms: dict[str, list[tuple[int, str]]] = {}
    assigned: set[str] = set()  # parameters that a subquery's SELECT or an AS puts in scope
    prev = ""
    for match in _TOKENS.finditer(text):
        kind, token = match.lastgroup, match.group()
        if kind in ("ws", "comment"):
            out.append(token)
            continue
        if kind == "word":
            upper = token.upper()
            if upper == "SELECT":
                top_select = form is None  # the first form keyword is the query's own
                form = form or "SELECT"
                clause, clause_paren = "project", paren
            elif upper in _FORMS:
                form = form or upper
            elif upper in ("WHERE", "FROM") and clause == "project" and paren == clause_paren:
                clause, top_select = None, False
            elif upper == "BY" and prev in ("GROUP", "ORDER"):
                clause, clause_paren = "condition", paren
            elif upper in ("HAVING", "LIMIT", "OFFSET") and paren == clause_paren:
                clause = None
            elif upper == "VALUES":
                clause, in_values = None, True
        elif kind == "punct":
            if token == "(":
                paren += 1
            elif token == ")":
                paren -= 1
            else:
                if clause and paren == clause_paren:  # a brace ends a SELECT clause or a modifier
                    clause, top_select = None, False
                in_values = False
        elif kind == "var" and token[1:] in terms:
            name = token[1:]
            term = terms[name]
            if in_values:
                raise QueryError(
                    f"parameter {name!r} is also a variable of a VALUES clause; rename the parameter or "
                    "the variable"
                )
            in_projection = clause == "project" and paren == clause_paren
            if top_select and (in_projection or prev == "AS"):
                projected.add(name)
            elif in_projection or prev == "AS":
                assigned.add(name)
            if prev == "AS":
                pass  # the target of an assignment stays a variable
            elif in_projection:
                if top_select:
                    top_terms.setdefault(name, []).append((len(out), token))
                token = f"({term} AS {token})"
            elif clause == "condition" and paren == clause_paren:
                token = f"({term})"
            else:
                token = term
        elif kind == "other" and token == "*" and top_select and clause == "project":
            star = star or paren == clause_paren
        out.append(token)
        prev = token.upper() if kind == "word" else token
    for name in assigned & top_terms.keys():
        # The pattern already binds the variable (to the term, through a subquery); projecting it as
        # (TERM AS ?v) too would assign a variable in scope, which engines reject.
        for index, variable in top_terms[name]:
            out[index] = variable
    if form == "SELECT":
        if star:
            # `*` lists the variables of the pattern, where the parameters are now constants.
            names = " ".join(f"?{name}" for name in terms)
            out.append(f"\nVALUES ({names}) {{ ({' '.join(terms.values())}) }}")
        else:
            missing = [name for name in terms if name not in projected]
            if missing:
                raise QueryError(
                    f"the SPARQL query does not contain variable ?{missing[0]} in its SELECT projection; "
                    "a parameter binds the variable of the same name, so list it in SELECT"
                )
    return "".join(out)


# -- the RDF mapping's single-valued properties and counts (shared with the Oxigraph store) ---------


def replaced_predicates(mapping: RdfMapping) -> dict[str, frozenset[str]]:
    """Node kind -> IRIs of the single-valued properties that an upsert overwrites on such a node.

    Links that accumulate (``kg:evidence``, ``prov:wasDerivedFrom``, ``kg:mentionedIn``, the asserted
    fact triples) are not listed.
    """
    kg = mapping.vocab_ns
    rdf_type = RDF + "type"
    return {
        "entity": frozenset({rdf_type, RDFS + "label", RDFS + "comment", SKOS + "altLabel"}),
        "document": frozenset({rdf_type, RDFS + "label", kg + "source", kg + "lang", kg + "batch"}),
        "fact": frozenset(
            {rdf_type, RDF + "subject", RDF + "predicate", RDF + "object"}
            | {kg + p for p in ("confidence", "source", "batch", "evidenceCount", "open", "plausibility", "model")}
        ),
        "evidence": frozenset(
            {rdf_type}
            | {kg + p for p in ("document", "sentenceIndex", "start", "end", "text", "extractor")}
            | {kg + "confidence"}
        ),
    }


COUNT_NAMES = ("entities", "facts", "documents", "evidence")


def counts_query(mapping: RdfMapping) -> str:
    """The SELECT query whose one row holds :data:`COUNT_NAMES` (the store's counts)."""
    kg = mapping.vocab_ns
    return (
        "SELECT (COUNT(DISTINCT ?e) AS ?entities) (COUNT(DISTINCT ?f) AS ?facts) "
        "(COUNT(DISTINCT ?d) AS ?documents) (COUNT(DISTINCT ?v) AS ?evidence) WHERE { "
        f"{{ ?e a <{kg}Entity> }} UNION {{ ?f a <{RDF}Statement> }} UNION "
        f"{{ ?d a <{kg}Document> }} UNION {{ ?v a <{kg}Evidence> }} }}"
    )


# -- the store -----------------------------------------------------------------------------------------

_T = TypeVar("_T")


def batched(items: Sequence[_T], size: int) -> Iterator[Sequence[_T]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def rechunk_lines(chunks: Iterable[bytes], max_lines: int) -> Iterator[bytes]:
    """Regroup N-Triples text into pieces of at most ``max_lines`` lines (a line never splits)."""
    pending: list[bytes] = []
    count = 0
    for chunk in chunks:
        lines = chunk.splitlines(keepends=True)  # N-Triples escapes newlines, so a line is a triple
        while lines:
            room = max_lines - count
            pending.extend(lines[:room])
            count += len(lines[:room])
            lines = lines[room:]
            if count >= max_lines:
                yield b"".join(pending)
                pending, count = [], 0
    if pending:
        yield b"".join(pending)


class SparqlProtocolStore(TripleStore):
    """A TripleStore implemented with SPARQL text over four transport hooks (see the module doc).

    Subclasses implement ``_open``/``_close`` and the hooks ``_select``, ``_construct``, ``_update``,
    ``_clear`` (and may override ``_bulk_load``). Transport hooks raise :class:`QueryError` for text the
    backend rejects and :class:`StoreError` for everything else.

    Args:
        base_iri: base of every kg IRI (see :mod:`kg.rdf`).
        read_only: refuse every write before it reaches the backend.

    Attributes:
        read_only: whether writes are refused.
        chunk_triples: N-Triples lines per ``INSERT DATA`` request of the default bulk load.
        max_update_bytes: an update request grows to about this size before a new one starts; an upsert
            whose triples fit is sent as one request, a larger one is bulk-loaded.
        values_chunk: IRIs per ``VALUES`` block (documents per retract slice, nodes per delete).
    """

    chunk_triples: int = 100_000
    max_update_bytes: int = 4 << 20
    values_chunk: int = 5_000

    def __init__(self, base_iri: str | None = None, *, read_only: bool = False) -> None:
        super().__init__(base_iri)
        self.read_only = read_only

    # -- transport hooks -------------------------------------------------------------------------

    @abc.abstractmethod
    def _select(self, text: str) -> Any:
        """Run a SELECT/ASK query; return the parsed SPARQL 1.1 JSON results document."""

    @abc.abstractmethod
    def _construct(self, text: str) -> bytes:
        """Run a CONSTRUCT/DESCRIBE query; return the triples as N-Triples."""

    @abc.abstractmethod
    def _update(self, text: str) -> None:
        """Run a SPARQL UPDATE request."""

    @abc.abstractmethod
    def _clear(self) -> None:
        """Remove every triple of the store."""

    def _bulk_load(self, chunks: Iterable[bytes]) -> None:
        """Append N-Triples to the store (default: ``INSERT DATA`` requests of ``chunk_triples`` lines)."""
        for piece in rechunk_lines(chunks, self.chunk_triples):
            self._update("INSERT DATA {\n" + piece.decode("utf-8") + "}")

    # -- protocol ----------------------------------------------------------------------------------

    def _load(self, view: GraphView) -> None:
        self._require_writable("load")
        self._clear()
        self._bulk_load(self.mapping.ntriples(view))

    def _upsert(self, view: GraphView) -> None:
        self._require_writable("upsert")
        deletes = self._stale_deletes(view)
        chunks = self.mapping.ntriples(view)
        head: list[bytes] = []
        size = sum(map(len, deletes))
        for chunk in chunks:
            head.append(chunk)
            size += len(chunk)
            if size > self.max_update_bytes:
                # Too big for one request: delete first, then append in bulk. Not atomic, but running
                # the upsert again gives the same content.
                self._run_updates(deletes)
                self._bulk_load([*head, *chunks])
                return
        data = b"".join(head).decode("utf-8")
        self._run_updates(deletes + ([f"INSERT DATA {{\n{data}}}"] if data else []))

    def _stale_deletes(self, view: GraphView) -> list[str]:
        """DELETE operations for the single-valued properties of every node ``view`` names."""
        m = self.mapping
        nodes = {
            "entity": [m.entity(i) for i in view.entities.column("id").to_pylist()],
            "document": [m.document(i) for i in view.documents.column("id").to_pylist()],
            "fact": [m.fact(i) for i in view.facts.column("id").to_pylist()],
            "evidence": [m.evidence(i) for i in evidence_ids(view.evidence).to_pylist()],
        }
        ops = []
        for kind, predicates in replaced_predicates(m).items():
            values_p = " ".join(f"<{p}>" for p in sorted(predicates))
            for chunk in batched(nodes[kind], self.values_chunk):
                values_s = " ".join(str(node) for node in chunk)
                ops.append(
                    f"DELETE {{ ?s ?p ?o }} WHERE {{ VALUES ?p {{ {values_p} }} VALUES ?s {{ {values_s} }} "
                    "?s ?p ?o }"
                )
        return ops

    def _retract(self, doc_ids: list[str]) -> None:
        self._require_writable("retract documents")
        ops: list[str] = []
        for chunk in batched(doc_ids, self.values_chunk):
            ops += self._retract_ops(" ".join(str(self.mapping.document(i)) for i in chunk))
        self._run_updates(ops)

    def _retract_ops(self, docs: str) -> list[str]:
        """The update operations that retract the documents ``docs`` (IRIs for a VALUES block).

        Their order matters: facts are settled while the evidence links still show which facts the
        documents supported, and evidence nodes go last but one.
        """
        kg = self.mapping.vocab_ns
        evidence, document, source = f"<{kg}evidence>", f"<{kg}document>", f"<{kg}source>"
        count = f"<{kg}evidenceCount>"
        affected = (
            f"{{ SELECT DISTINCT ?f WHERE {{ VALUES ?d {{ {docs} }} ?e {document} ?d . ?f {evidence} ?e }} }}"
        )
        # evidence ?e2 of ?f that does not come from a retracted document
        kept = f"?f {evidence} ?e2 . FILTER NOT EXISTS {{ VALUES ?d2 {{ {docs} }} ?e2 {document} ?d2 }}"
        return [
            # 1. an extracted fact with no evidence left goes, with its asserted triple
            f"DELETE {{ ?f ?fp ?fo . ?s ?p ?o }} WHERE {{ {affected} "
            f'?f {source} ?src . FILTER(STR(?src) = "extracted") '
            f"FILTER NOT EXISTS {{ ?f {source} ?other . FILTER(!sameTerm(?other, ?src)) }} "
            f"FILTER NOT EXISTS {{ {kept} }} "
            f"{{ ?f ?fp ?fo }} UNION {{ ?f <{RDF}subject> ?s ; <{RDF}predicate> ?p ; <{RDF}object> ?o }} }}",
            # 2. a fact that stays counts its remaining evidence
            f"DELETE {{ ?f {count} ?old }} INSERT {{ ?f {count} ?n }} WHERE {{ "
            f"{{ SELECT ?f (COUNT(DISTINCT ?e2) AS ?n) WHERE {{ {affected} OPTIONAL {{ {kept} }} }} "
            "GROUP BY ?f } "
            f"OPTIONAL {{ ?f {count} ?old }} }}",
            # 3. the documents' evidence nodes and the links to them
            f"DELETE {{ ?e ?p ?o . ?f {evidence} ?e }} WHERE {{ VALUES ?d {{ {docs} }} ?e {document} ?d . "
            f"{{ ?e ?p ?o }} UNION {{ ?f {evidence} ?e }} }}",
            # 4. the documents, their provenance links and mentions
            f"DELETE {{ ?d ?p ?o . ?x ?link ?d }} WHERE {{ VALUES ?d {{ {docs} }} {{ ?d ?p ?o }} UNION "
            f"{{ VALUES ?link {{ <{PROV}wasDerivedFrom> <{kg}mentionedIn> }} ?x ?link ?d }} }}",
        ]

    def _run_updates(self, ops: list[str]) -> None:
        """Send update operations in order, packed into requests of about ``max_update_bytes``."""
        request: list[str] = []
        size = 0
        for op in ops:
            if request and size + len(op) > self.max_update_bytes:
                self._update(" ;\n".join(request))
                request, size = [], 0
            request.append(op)
            size += len(op)
        if request:
            self._update(" ;\n".join(request))

    def _query(self, text: str, params: dict[str, Any], write: bool) -> QueryResult:
        if check_update(text, params, write):
            self._require_writable("run a SPARQL update")
            self._update(text)
            return QueryResult([], [])
        form = query_form(text)
        if params:
            text = bind_parameters(text, params)
        if form in ("CONSTRUCT", "DESCRIBE"):
            data = self._construct(text)
            try:
                return triples_result(ox.parse(data, format=ox.RdfFormat.N_TRIPLES))
            except SyntaxError as exc:
                raise StoreError(f"{self!r} answered malformed N-Triples ({first_line(exc)})") from None
        return parse_json_results(self._select(text), repr(self))

    def _counts(self) -> dict[str, int]:
        row = parse_json_results(self._select(counts_query(self.mapping)), repr(self)).dicts()[0]
        return {name: int(row[name] or 0) for name in COUNT_NAMES}

    def _missing(self, kind: str, ids: list[str]) -> list[str]:
        m = self.mapping
        node, cls = {
            "entities": (m.entity, f"<{m.vocab_ns}Entity>"),
            "documents": (m.document, f"<{m.vocab_ns}Document>"),
            "facts": (m.fact, f"<{RDF}Statement>"),
        }[kind]
        iris = [node(i) for i in ids]
        present: set[str] = set()
        for chunk in batched(iris, self.values_chunk):
            values = " ".join(str(iri) for iri in chunk)
            result = parse_json_results(
                self._select(f"SELECT ?x WHERE {{ VALUES ?x {{ {values} }} ?x a {cls} }}"), repr(self)
            )
            present.update(result.column("x"))
        return [i for i, iri in zip(ids, iris, strict=True) if iri.value not in present]

    def _require_writable(self, what: str) -> None:
        if self.read_only:
            raise read_only_error(self, what)


__all__ = [
    "COUNT_NAMES",
    "FLOAT_TYPES",
    "INTEGER_TYPES",
    "SparqlProtocolStore",
    "bind_parameters",
    "check_update",
    "counts_query",
    "first_line",
    "json_value",
    "literal_value",
    "parameter_term",
    "parse_json_results",
    "query_form",
    "read_only_error",
    "rechunk_lines",
    "replaced_predicates",
    "sparql_term",
    "term_value",
    "triples_result",
]
