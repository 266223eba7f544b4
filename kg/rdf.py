"""RDF mapping of the graph, the RDFS/OWL export of a domain schema, and RDF file export.

IRIs (``B`` is the configurable base IRI, default ``https://kg.example.org/``; ids are percent-encoded
with :func:`urllib.parse.quote`, keeping ``:``, so every IRI is also a valid rdflib ``URIRef``):

==============================  =========================================================================
entity                          ``B entity/<id>`` — ``a kg:Entity, <B schema/Type>``; ``rdfs:label`` and
                                ``rdfs:comment`` (description) tagged with the entity language
                                (``und`` → plain literal); ``skos:altLabel`` per alias
entity type (class)             ``B schema/<Type>``
schema relation (predicate)     ``B schema/<predicate>``
open relation (predicate)       ``B open/<lemma>``
document                        ``B doc/<id>`` — ``a kg:Document``; ``rdfs:label`` (title),
                                ``kg:source``, ``kg:lang``, ``kg:batch``
fact                            the triple itself (``<s> <p> <o>``) **plus** its reification
                                ``B fact/<id>``: ``a rdf:Statement; rdf:subject/predicate/object``,
                                ``kg:confidence`` (xsd:double), ``kg:source``, ``kg:batch``,
                                ``kg:evidenceCount`` (xsd:integer), ``kg:open`` (xsd:boolean),
                                ``kg:plausibility`` (xsd:double) and ``kg:model`` once scored,
                                ``prov:wasDerivedFrom`` each supporting document, ``kg:evidence`` each
                                evidence node
evidence                        ``B evidence/<fact~doc~sentence~start~end~extractor>`` — ``a kg:Evidence;
                                kg:document``, ``kg:sentenceIndex``, ``kg:start``, ``kg:end``
                                (xsd:integer), ``kg:text``, ``kg:extractor``, ``kg:confidence``
mention                         ``<entity> kg:mentionedIn <document>``
vocabulary (``kg:``)            ``B vocab/<term>``
==============================  =========================================================================

Provenance uses standard RDF reification rather than RDF-star because Oxigraph, Jena/Fuseki and any
SPARQL 1.1 endpoint accept it unchanged; the asserted triple is kept alongside so plain graph patterns
(``?s <B schema/founded_by> ?o``) need no reification.

Speed: a view is turned into N-Triples with vectorized pyarrow string kernels (escaping per the
N-Triples grammar: ``\\``, ``"``, LF, CR), never by formatting row by row in Python; stores bulk-load
that text, and :meth:`RdfMapping.triples` parses it back into pyoxigraph terms where terms are needed.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from urllib.parse import quote

import pyarrow as pa
import pyarrow.compute as pc
import pyoxigraph as ox

from kg.errors import ConfigError
from kg.graph import GraphView
from kg.schema import Schema

DEFAULT_BASE_IRI = "https://kg.example.org/"

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
XSD = "http://www.w3.org/2001/XMLSchema#"
OWL = "http://www.w3.org/2002/07/owl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROV = "http://www.w3.org/ns/prov#"

# Every kg: vocabulary term the mapping writes (also declared by schema_to_rdfs).
VOCAB_CLASSES = ("Entity", "Document", "Evidence")
VOCAB_DATATYPE_PROPERTIES = {
    "confidence": "double",
    "source": "string",
    "batch": "string",
    "evidenceCount": "integer",
    "open": "boolean",
    "plausibility": "double",
    "model": "string",
    "lang": "string",
    "sentenceIndex": "integer",
    "start": "integer",
    "end": "integer",
    "text": "string",
    "extractor": "string",
}
VOCAB_OBJECT_PROPERTIES = ("evidence", "document", "mentionedIn")

_SAFE_ID = r"^[A-Za-z0-9._~:\-]*$"  # exactly what quote(..., safe=":") leaves unchanged
_LANG_TAG = r"^[a-zA-Z]{1,8}(-[a-zA-Z0-9]{1,8})*$"
_NULL = pa.scalar(None, pa.string())


def percent_encode(value: str) -> str:
    """Percent-encode an id for use as one IRI path segment (``:`` kept, ``/`` encoded)."""
    return quote(value, safe=":")


class RdfMapping:
    """Maps kg rows to RDF under one base IRI.

    Args:
        base_iri: absolute IRI ending in ``/`` or ``#`` under which every kg IRI is minted.

    Raises:
        ConfigError: ``base_iri`` is not an absolute IRI ending in ``/`` or ``#``.
    """

    def __init__(self, base_iri: str = DEFAULT_BASE_IRI) -> None:
        try:
            ox.NamedNode(base_iri)
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"base IRI {base_iri!r} is not an absolute IRI ({exc}); use e.g. {DEFAULT_BASE_IRI!r}"
            ) from None
        if not base_iri.endswith(("/", "#")) or ":" not in base_iri:
            raise ConfigError(
                f"base IRI {base_iri!r} must be absolute and end with '/' or '#', e.g. {DEFAULT_BASE_IRI!r}"
            )
        self.base = base_iri
        self.entity_ns = base_iri + "entity/"
        self.schema_ns = base_iri + "schema/"
        self.open_ns = base_iri + "open/"
        self.doc_ns = base_iri + "doc/"
        self.fact_ns = base_iri + "fact/"
        self.evidence_ns = base_iri + "evidence/"
        self.vocab_ns = base_iri + "vocab/"

    def __repr__(self) -> str:
        return f"RdfMapping({self.base!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RdfMapping) and other.base == self.base

    def __hash__(self) -> int:
        return hash(self.base)

    def prefixes(self) -> dict[str, str]:
        """Prefix -> namespace for serializations and analyst queries."""
        return {
            "kg": self.vocab_ns,
            "kgs": self.schema_ns,
            "kgo": self.open_ns,
            "ent": self.entity_ns,
            "doc": self.doc_ns,
            "fact": self.fact_ns,
            "rdf": RDF,
            "rdfs": RDFS,
            "xsd": XSD,
            "owl": OWL,
            "skos": SKOS,
            "prov": PROV,
        }

    # -- single terms ------------------------------------------------------------------------------

    def entity(self, entity_id: str) -> ox.NamedNode:
        """IRI of an entity."""
        return ox.NamedNode(self.entity_ns + percent_encode(entity_id))

    def document(self, doc_id: str) -> ox.NamedNode:
        """IRI of a document."""
        return ox.NamedNode(self.doc_ns + percent_encode(doc_id))

    def fact(self, fact_id: str) -> ox.NamedNode:
        """IRI of a fact's reification node."""
        return ox.NamedNode(self.fact_ns + percent_encode(fact_id))

    def evidence(self, evidence_id: str) -> ox.NamedNode:
        """IRI of an evidence node (id from :func:`kg.stores.base.evidence_ids`)."""
        return ox.NamedNode(self.evidence_ns + percent_encode(evidence_id))

    def entity_class(self, type_name: str) -> ox.NamedNode:
        """IRI of an entity type."""
        return ox.NamedNode(self.schema_ns + percent_encode(type_name))

    def predicate(self, name: str, open_relation: bool = False) -> ox.NamedNode:
        """IRI of a relation: ``schema/<name>``, or ``open/<lemma>`` for an open relation."""
        return ox.NamedNode((self.open_ns if open_relation else self.schema_ns) + percent_encode(name))

    def vocab(self, term: str) -> ox.NamedNode:
        """IRI of a kg: vocabulary term such as ``confidence``."""
        return ox.NamedNode(self.vocab_ns + term)

    # -- whole views -------------------------------------------------------------------------------

    def ntriples(self, view: GraphView, *, chunk_rows: int = 50_000) -> Iterator[bytes]:
        """Yield the view as N-Triples, one chunk of lines per slice of ``chunk_rows`` rows.

        Args:
            view: a view in the :mod:`kg.model` schemas (see :func:`kg.stores.base.normalize_view`).
            chunk_rows: rows of one table turned into text at a time (bounds memory).
        """
        builders = (
            (view.entities, self._entity_lines),
            (view.documents, self._document_lines),
            (view.facts, self._fact_lines),
            (view.evidence, self._evidence_lines),
            (view.mentions, self._mention_lines),
        )
        for table, build in builders:
            for batch in table.to_batches(max_chunksize=chunk_rows):
                if batch.num_rows:
                    chunk = b"".join(_text_of(lines) for lines in build(batch))
                    if chunk:
                        yield chunk

    def triples(self, view: GraphView) -> Iterator[ox.Triple]:
        """Yield the view as pyoxigraph triples (parsed from :meth:`ntriples`, so the terms are exact)."""
        for chunk in self.ntriples(view):
            for quad in ox.parse(chunk, format=ox.RdfFormat.N_TRIPLES):
                yield quad.triple

    def reader(self, view: GraphView) -> io.BufferedReader:
        """A binary file object streaming :meth:`ntriples` (for ``Store.bulk_load(input=...)``)."""
        return io.BufferedReader(_ChunkReader(self.ntriples(view)), buffer_size=1 << 20)

    # -- per-table line builders (vectorized) --------------------------------------------------------

    def _iri(self, namespace: str, ids: pa.Array) -> pa.Array:
        return pc.binary_join_element_wise("<" + namespace, _percent_encode_array(ids), ">", "")

    def _entity_lines(self, batch: pa.RecordBatch) -> list[pa.Array]:
        entity = self._iri(self.entity_ns, batch.column("id"))
        suffix = _lang_suffix(batch.column("lang"))
        lines = [
            _line(entity, _iri_const(RDF + "type"), _iri_const(self.vocab_ns + "Entity")),
            _line(
                entity, _iri_const(RDF + "type"), self._iri(self.schema_ns, _nonempty(batch.column("type")))
            ),
            _line(entity, _iri_const(RDFS + "label"), _literal(batch.column("name"), suffix)),
            _line(entity, _iri_const(RDFS + "comment"), _literal(batch.column("description"), suffix)),
        ]
        aliases = batch.column("aliases")
        flat = pc.list_flatten(aliases)
        if len(flat):
            owners = pc.list_parent_indices(aliases)
            lines.append(
                _line(entity.take(owners), _iri_const(SKOS + "altLabel"), _literal(flat, suffix.take(owners)))
            )
        return lines

    def _document_lines(self, batch: pa.RecordBatch) -> list[pa.Array]:
        doc = self._iri(self.doc_ns, batch.column("id"))
        kg = self.vocab_ns
        return [
            _line(doc, _iri_const(RDF + "type"), _iri_const(kg + "Document")),
            _line(
                doc,
                _iri_const(RDFS + "label"),
                _literal(batch.column("title"), _lang_suffix(batch.column("lang"))),
            ),
            _line(doc, _iri_const(kg + "source"), _literal(batch.column("source"))),
            _line(doc, _iri_const(kg + "lang"), _literal(batch.column("lang"))),
            _line(doc, _iri_const(kg + "batch"), _literal(batch.column("batch"))),
        ]

    def _fact_lines(self, batch: pa.RecordBatch) -> list[pa.Array]:
        fact = self._iri(self.fact_ns, batch.column("id"))
        subject = self._iri(self.entity_ns, batch.column("subject"))
        obj = self._iri(self.entity_ns, batch.column("object"))
        is_open = pc.fill_null(batch.column("open"), False)
        predicate = pc.if_else(
            is_open,
            self._iri(self.open_ns, batch.column("predicate")),
            self._iri(self.schema_ns, batch.column("predicate")),
        )
        kg = self.vocab_ns
        return [
            _line(subject, predicate, obj),
            _line(fact, _iri_const(RDF + "type"), _iri_const(RDF + "Statement")),
            _line(fact, _iri_const(RDF + "subject"), subject),
            _line(fact, _iri_const(RDF + "predicate"), predicate),
            _line(fact, _iri_const(RDF + "object"), obj),
            _line(fact, _iri_const(kg + "confidence"), _double(batch.column("confidence"))),
            _line(fact, _iri_const(kg + "source"), _literal(batch.column("source"))),
            _line(fact, _iri_const(kg + "batch"), _literal(batch.column("batch"))),
            _line(fact, _iri_const(kg + "evidenceCount"), _typed(batch.column("evidence_count"), "integer")),
            _line(fact, _iri_const(kg + "open"), _typed(is_open, "boolean")),
            _line(fact, _iri_const(kg + "plausibility"), _double(batch.column("plausibility"))),
            _line(fact, _iri_const(kg + "model"), _literal(batch.column("model"))),
        ]

    def _evidence_lines(self, batch: pa.RecordBatch) -> list[pa.Array]:
        from kg.stores.base import evidence_ids  # the one definition of evidence ids, shared with Cypher

        node = self._iri(self.evidence_ns, evidence_ids(batch))
        fact = self._iri(self.fact_ns, batch.column("fact_id"))
        doc = self._iri(self.doc_ns, batch.column("doc_id"))
        kg = self.vocab_ns
        return [
            _line(fact, _iri_const(kg + "evidence"), node),
            _line(fact, _iri_const(PROV + "wasDerivedFrom"), doc),
            _line(node, _iri_const(RDF + "type"), _iri_const(kg + "Evidence")),
            _line(node, _iri_const(kg + "document"), doc),
            _line(node, _iri_const(kg + "sentenceIndex"), _typed(batch.column("sentence"), "integer")),
            _line(node, _iri_const(kg + "start"), _typed(batch.column("start"), "integer")),
            _line(node, _iri_const(kg + "end"), _typed(batch.column("end"), "integer")),
            _line(node, _iri_const(kg + "text"), _literal(batch.column("text"))),
            _line(node, _iri_const(kg + "extractor"), _literal(batch.column("extractor"))),
            _line(node, _iri_const(kg + "confidence"), _double(batch.column("confidence"))),
        ]

    def _mention_lines(self, batch: pa.RecordBatch) -> list[pa.Array]:
        entity = self._iri(self.entity_ns, _nonempty(batch.column("entity_id")))
        doc = self._iri(self.doc_ns, batch.column("doc_id"))
        return [_line(entity, _iri_const(self.vocab_ns + "mentionedIn"), doc)]


# -- vectorized N-Triples pieces ---------------------------------------------------------------------


def _iri_const(iri: str) -> str:
    return f"<{iri}>"


def _line(subject: pa.Array | str, predicate: pa.Array | str, obj: pa.Array | str) -> pa.Array:
    """``s p o .`` per row; a null in any part makes the line null (it is dropped later)."""
    return pc.binary_join_element_wise(subject, predicate, obj, ".\n", " ")


def _nonempty(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), _NULL, values)


def _escape(values: pa.Array) -> pa.Array:
    # The N-Triples STRING_LITERAL_QUOTE grammar forbids exactly these four raw characters.
    for raw, escaped in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r")):
        values = pc.replace_substring(values, raw, escaped)
    return values


def _literal(values: pa.Array, suffix: pa.Array | str = "") -> pa.Array:
    """``"escaped"`` plus an optional ``@lang`` suffix; empty strings and nulls give null."""
    return pc.binary_join_element_wise('"', _escape(_nonempty(values)), '"', suffix, "")


def _typed(values: pa.Array, xsd_type: str) -> pa.Array:
    text = pc.cast(values, pa.string())
    return pc.binary_join_element_wise('"', text, f'"^^<{XSD}{xsd_type}>', "")


def _double(values: pa.Array) -> pa.Array:
    text = pc.cast(values, pa.string())  # Arrow prints the shortest round-trip form ("0.9", "1e-7")
    text = pc.replace_substring_regex(text, "^nan$", "NaN")
    text = pc.replace_substring_regex(text, "^(-?)inf$", r"\1INF")
    return pc.binary_join_element_wise('"', text, f'"^^<{XSD}double>', "")


def _lang_suffix(langs: pa.Array) -> pa.Array:
    """``@tag`` for a well-formed BCP 47 tag, else ``""`` (``und`` and junk give a plain literal)."""
    langs = pc.fill_null(langs, "")
    valid = pc.and_(pc.match_substring_regex(langs, _LANG_TAG), pc.not_equal(pc.utf8_lower(langs), "und"))
    return pc.if_else(valid, pc.binary_join_element_wise("@", pc.utf8_lower(langs), ""), "")


def _percent_encode_array(ids: pa.Array) -> pa.Array:
    """Vectorized :func:`percent_encode`: Python only touches the (rare) ids with unsafe characters."""
    unsafe = pc.invert(pc.fill_null(pc.match_substring_regex(ids, _SAFE_ID), True))
    if not pc.any(unsafe).as_py():
        return ids
    encoded = pa.array([percent_encode(v) for v in pc.filter(ids, unsafe).to_pylist()], pa.string())
    return pc.replace_with_mask(ids, unsafe, encoded)


def _text_of(lines: pa.Array) -> bytes:
    """The concatenated text of non-null lines: the value buffer between the first and last offset."""
    lines = pc.drop_null(lines)
    if not len(lines):
        return b""
    if lines.type != pa.string():
        lines = pc.cast(lines, pa.string())
    offsets = memoryview(lines.buffers()[1]).cast("i")  # string arrays carry int32 offsets
    first, last = offsets[lines.offset], offsets[lines.offset + len(lines)]
    return lines.buffers()[2][first:last].to_pybytes()


class _ChunkReader(io.RawIOBase):
    """Raw binary stream over an iterator of byte chunks (no concatenation of the whole text)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        super().__init__()
        self._chunks = iter(chunks)
        self._current = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._current:
            try:
                self._current = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        size = min(len(buffer), len(self._current))
        buffer[:size] = self._current[:size]
        self._current = self._current[size:]
        return size


# -- file export -------------------------------------------------------------------------------------

_OX_FORMATS = {
    "nt": ox.RdfFormat.N_TRIPLES,
    "ntriples": ox.RdfFormat.N_TRIPLES,
    "n-triples": ox.RdfFormat.N_TRIPLES,
    "ttl": ox.RdfFormat.TURTLE,
    "turtle": ox.RdfFormat.TURTLE,
    "jsonld": ox.RdfFormat.JSON_LD,
    "json-ld": ox.RdfFormat.JSON_LD,
    "xml": ox.RdfFormat.RDF_XML,
    "rdfxml": ox.RdfFormat.RDF_XML,
    "rdf/xml": ox.RdfFormat.RDF_XML,
    "n3": ox.RdfFormat.N3,
}
_RDFLIB_ONLY_FORMATS = ("pretty-xml", "hext", "longturtle")
EXPORT_FORMATS: tuple[str, ...] = (*_OX_FORMATS, *_RDFLIB_ONLY_FORMATS)
"""Format names accepted by :func:`serialize_view`."""


def serialize_view(
    view: GraphView, destination: str | Path, format: str = "turtle", *, mapping: RdfMapping | None = None
) -> Path:
    """Write a view as an RDF file.

    N-Triples is streamed straight from the vectorized builder; Turtle, JSON-LD, RDF/XML and N3 go
    through :func:`pyoxigraph.serialize`; formats pyoxigraph lacks (``pretty-xml``, ``hext``,
    ``longturtle``) go through rdflib and hold the graph in memory. RDF/XML needs every predicate IRI to
    end in an XML name, which percent-encoded non-ASCII open relations do not.

    Args:
        view: the graph to write.
        destination: output file path (parent folders are created).
        format: one of :data:`EXPORT_FORMATS` (case-insensitive).
        mapping: IRI mapping; the default base IRI when omitted.

    Returns:
        The path written.

    Raises:
        ConfigError: unknown format, or an RDF/XML format with a predicate it cannot express.
    """
    from kg.stores.base import normalize_view

    mapping = mapping or RdfMapping()
    name = format.lower()
    if name not in EXPORT_FORMATS:
        raise ConfigError(f"unknown RDF format {format!r}; choose one of: {', '.join(EXPORT_FORMATS)}")
    view = normalize_view(view)
    if name in _XML_FORMATS:
        _check_xml_predicates(view, mapping)
    path = Path(destination)
    path.parent.mkdir(parents=True, exist_ok=True)
    if _OX_FORMATS.get(name) == ox.RdfFormat.N_TRIPLES:
        with path.open("wb") as out:
            for chunk in mapping.ntriples(view):
                out.write(chunk)
    elif name in _OX_FORMATS:
        ox.serialize(mapping.triples(view), str(path), _OX_FORMATS[name], prefixes=mapping.prefixes())
    else:
        graph = _rdflib_graph(mapping, view)
        graph.serialize(destination=str(path), format=name)
    return path


_XML_FORMATS = frozenset({"xml", "rdfxml", "rdf/xml", "pretty-xml"})
_XML_LOCAL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_.\-]*$")


def _check_xml_predicates(view: GraphView, mapping: RdfMapping) -> None:
    """RDF/XML writes each predicate as an XML element, so its IRI must end in an XML name."""
    for name, is_open in {
        (p, bool(o))
        for p, o in zip(
            view.facts.column("predicate").to_pylist(), view.facts.column("open").to_pylist(), strict=True
        )
    }:
        iri = mapping.predicate(name, open_relation=is_open).value
        if not _XML_LOCAL_NAME.search(iri):
            raise ConfigError(
                f"RDF/XML cannot express the predicate {iri!r} (its IRI does not end in an XML name, e.g. a "
                "percent-encoded Chinese or punctuated lemma); export as turtle, nt or json-ld instead"
            )


def _rdflib_graph(mapping: RdfMapping, view: GraphView):  # -> rdflib.Graph
    import rdflib

    graph = rdflib.Graph()
    for prefix, namespace in mapping.prefixes().items():
        graph.bind(prefix, namespace)
    for chunk in mapping.ntriples(view):
        graph.parse(data=chunk.decode("utf-8"), format="nt")
    return graph


# -- schema export (RDFS / OWL) ----------------------------------------------------------------------


def schema_to_rdfs(schema: Schema, mapping: RdfMapping | None = None):  # -> rdflib.Graph
    """Export a domain schema as RDFS/OWL.

    Every entity type becomes an ``owl:Class`` with its en/zh ``rdfs:label`` and description; every
    relation type an ``owl:ObjectProperty`` with ``rdfs:domain``/``rdfs:range`` (plus
    ``owl:FunctionalProperty``/``owl:SymmetricProperty`` where declared). The kg: vocabulary used by the
    data mapping is declared too, so the export describes every IRI a store holds.

    Args:
        schema: a validated domain schema.
        mapping: IRI mapping; the default base IRI when omitted.

    Returns:
        An ``rdflib.Graph`` (serialize it with ``graph.serialize(format="turtle")``).
    """
    import rdflib
    from rdflib.namespace import OWL as O
    from rdflib.namespace import RDF as R
    from rdflib.namespace import RDFS as S
    from rdflib.namespace import XSD as X

    mapping = mapping or RdfMapping()
    graph = rdflib.Graph()
    for prefix, namespace in mapping.prefixes().items():
        graph.bind(prefix, namespace)
    ontology = rdflib.URIRef(mapping.schema_ns)
    graph.add((ontology, R.type, O.Ontology))
    graph.add((ontology, S.label, rdflib.Literal(schema.name)))
    graph.add((ontology, O.versionInfo, rdflib.Literal(schema.version)))
    if schema.description:
        graph.add((ontology, S.comment, rdflib.Literal(schema.description)))

    def described(node: rdflib.URIRef, labels: dict[str, str], description: str) -> None:
        for lang, label in labels.items():
            graph.add((node, S.label, rdflib.Literal(label, lang=lang)))
        if description:
            graph.add((node, S.comment, rdflib.Literal(description)))
        graph.add((node, S.isDefinedBy, ontology))

    for type_name, etype in schema.entity_types.items():
        node = rdflib.URIRef(mapping.entity_class(type_name).value)
        graph.add((node, R.type, O.Class))
        graph.add((node, S.subClassOf, rdflib.URIRef(mapping.vocab_ns + "Entity")))
        described(node, dict(etype.labels), etype.description)
    for rel_name, rel in schema.relation_types.items():
        node = rdflib.URIRef(mapping.predicate(rel_name).value)
        graph.add((node, R.type, O.ObjectProperty))
        graph.add((node, S.domain, rdflib.URIRef(mapping.entity_class(rel.domain).value)))
        graph.add((node, S.range, rdflib.URIRef(mapping.entity_class(rel.range).value)))
        if rel.functional:
            graph.add((node, R.type, O.FunctionalProperty))
        if rel.symmetric:
            graph.add((node, R.type, O.SymmetricProperty))
        described(node, dict(rel.labels), rel.description)

    kg = rdflib.Namespace(mapping.vocab_ns)
    for cls in VOCAB_CLASSES:
        graph.add((kg[cls], R.type, O.Class))
    for prop, xsd_type in VOCAB_DATATYPE_PROPERTIES.items():
        graph.add((kg[prop], R.type, O.DatatypeProperty))
        graph.add((kg[prop], S.range, X[xsd_type]))
    for prop in VOCAB_OBJECT_PROPERTIES:
        graph.add((kg[prop], R.type, O.ObjectProperty))
    graph.add((kg.evidence, S.domain, R.Statement))
    graph.add((kg.evidence, S.range, kg.Evidence))
    graph.add((kg.document, S.domain, kg.Evidence))
    graph.add((kg.document, S.range, kg.Document))
    graph.add((kg.mentionedIn, S.domain, kg.Entity))
    graph.add((kg.mentionedIn, S.range, kg.Document))
    return graph


def is_update(text: str) -> bool:
    """Whether a SPARQL text is an UPDATE (INSERT/DELETE/LOAD/CLEAR/...) rather than a query.

    Looks at the first form keyword after blanking IRIs, strings and comments; the parser of the store
    still decides whether the text is valid.
    """
    cleaned = _SPARQL_NOISE.sub(" ", text)
    match = _SPARQL_FORM.search(cleaned)
    return bool(match) and match.group(1).upper() not in {"SELECT", "CONSTRUCT", "DESCRIBE", "ASK"}


_SPARQL_NOISE = re.compile(
    r'<[^<>"{}|^`\\\s]*>|"""[\s\S]*?"""|\'\'\'[\s\S]*?\'\'\'|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'|#[^\n]*'
)
_SPARQL_FORM = re.compile(
    r"(?<![\w:?$])(SELECT|CONSTRUCT|DESCRIBE|ASK|INSERT|DELETE|LOAD|CLEAR|CREATE|DROP|COPY|MOVE|ADD|WITH)(?![\w:])",
    re.IGNORECASE,
)

__all__ = [
    "DEFAULT_BASE_IRI",
    "EXPORT_FORMATS",
    "RdfMapping",
    "is_update",
    "percent_encode",
    "schema_to_rdfs",
    "serialize_view",
]
