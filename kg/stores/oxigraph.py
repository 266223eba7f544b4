"""Oxigraph (embedded SPARQL 1.1) projection of the graph, in the RDF mapping of :mod:`kg.rdf`.

* ``load`` clears the store and bulk-loads the view's N-Triples, streamed from the vectorized builder
  (:meth:`kg.rdf.RdfMapping.reader`) into ``Store.bulk_load`` without building Python term objects.
* ``upsert`` parses the same N-Triples into pyoxigraph terms, replaces the single-valued properties of
  every node it touches (labels, confidence, counts, ...) and adds the rest, so running it twice changes
  nothing. Evidence links, provenance and mentions accumulate.
* ``retract_documents`` walks the graph with ``quads_for_pattern`` and removes exact terms, no update text.
* ``query`` runs SPARQL queries with ``Store.query``; a SPARQL UPDATE needs ``write=True`` and then goes
  to ``Store.update``. Parameters are bound with ``substitutions`` (SEP-0007): a parameter ``name`` binds
  the variable ``?name``, which must appear in the ``SELECT`` clause.
"""

from __future__ import annotations

import gc
from collections import defaultdict
from pathlib import Path
from typing import Any

import pyoxigraph as ox

from kg.errors import QueryError, StoreError
from kg.graph import GraphView
from kg.rdf import DEFAULT_BASE_IRI, PROV, RDF, XSD, RdfMapping
from kg.stores.base import QueryResult, TripleStore
from kg.stores.sparql_protocol import (
    COUNT_NAMES,
    check_update,
    counts_query,
    first_line,
    parameter_term,
    read_only_error,
    replaced_predicates,
    term_value,
    triples_result,
)

_DEFAULT_GRAPH = ox.DefaultGraph()


class OxigraphStore(TripleStore):
    """Embedded Oxigraph triple store (the default SPARQL backend).

    Args:
        path: store folder (created on :meth:`open`); ``None`` keeps the store in memory.
        base_iri: base of every kg IRI (see :mod:`kg.rdf`).
        read_only: open an existing store folder read-only (no process may write it meanwhile).
    """

    def __init__(
        self, path: str | Path | None = None, *, base_iri: str = DEFAULT_BASE_IRI, read_only: bool = False
    ) -> None:
        super().__init__(base_iri)
        self.path = Path(path) if path is not None else None
        self.read_only = read_only
        self._store: ox.Store | None = None
        self._terms = _Terms(self.mapping)

    def __repr__(self) -> str:
        where = str(self.path) if self.path else ":memory:"
        state = ("open" if self.is_open else "closed") + (" read-only" if self.read_only else "")
        return f"<OxigraphStore {where} {state}>"

    # -- lifecycle ---------------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            if self.path is None:
                if self.read_only:
                    raise StoreError("an in-memory Oxigraph store cannot be read-only; pass a path")
                self._store = ox.Store()
            elif self.read_only:
                if not self.path.is_dir():
                    raise StoreError(
                        f"no Oxigraph store at {self.path} to open read-only; build it first (kg sync)"
                    )
                self._store = ox.Store.read_only(str(self.path))
            else:
                self.path.mkdir(parents=True, exist_ok=True)
                self._store = ox.Store(str(self.path))
        except OSError as exc:
            raise StoreError(
                f"cannot open Oxigraph store at {self.path}: {exc}; check that no other process has it open"
            ) from exc

    def _close(self) -> None:
        store, self._store = self._store, None
        if store is not None and not self.read_only:
            store.flush()
        del store
        gc.collect()  # the RocksDB lock is released when the last reference goes

    # -- load / upsert -----------------------------------------------------------------------------

    def _load(self, view: GraphView) -> None:
        self._require_writable("load")
        try:
            self._store.clear()
            self._store.bulk_load(self.mapping.reader(view), format=ox.RdfFormat.N_TRIPLES)
            self._store.flush()
        except (OSError, SyntaxError, ValueError) as exc:
            raise StoreError(
                f"Oxigraph bulk load failed: {exc}; the store is partly loaded, run load again"
            ) from exc

    def _upsert(self, view: GraphView) -> None:
        self._require_writable("upsert")
        new = [ox.Quad(t.subject, t.predicate, t.object) for t in self.mapping.triples(view)]
        replaced = self._terms.replaced_predicates(view)
        wanted: dict[Any, set] = defaultdict(set)
        for quad in new:
            wanted[quad.subject].add(quad)
        stale = [
            quad
            for subject, predicates in replaced.items()
            for quad in self._store.quads_for_pattern(subject, None, None, _DEFAULT_GRAPH)
            if quad.predicate in predicates and quad not in wanted[subject]
        ]
        try:
            for quad in stale:
                self._store.remove(quad)
            self._store.extend(new)
        except OSError as exc:
            raise StoreError(f"Oxigraph upsert failed: {exc}; run the upsert again") from exc

    # -- retract -----------------------------------------------------------------------------------

    def _retract(self, doc_ids: list[str]) -> None:
        self._require_writable("retract documents")
        t = self._terms
        removals: list[ox.Quad] = []
        facts: set = set()
        for doc_id in doc_ids:
            doc = self.mapping.document(doc_id)
            for link in self._pattern(None, t.document, doc):
                evidence = link.subject
                removals += self._pattern(evidence, None, None)
                for support in self._pattern(None, t.evidence, evidence):
                    facts.add(support.subject)
                    removals.append(support)
            removals += self._pattern(doc, None, None)
            removals += self._pattern(None, t.derived_from, doc)
            removals += self._pattern(None, t.mentioned_in, doc)
        self._remove(removals)
        self._remove([q for fact in facts for q in self._settle(fact)])

    def _settle(self, fact: ox.NamedNode) -> list[ox.Quad]:
        """Quads to drop for a fact that lost evidence; updates its evidenceCount when it stays."""
        t = self._terms
        remaining = len(self._pattern(fact, t.evidence, None))
        sources = [q.object.value for q in self._pattern(fact, t.source, None)]
        if remaining == 0 and sources == ["extracted"]:
            asserted = [
                ox.Quad(s.object, p.object, o.object)
                for s in self._pattern(fact, t.rdf_subject, None)
                for p in self._pattern(fact, t.rdf_predicate, None)
                for o in self._pattern(fact, t.rdf_object, None)
            ]
            return self._pattern(fact, None, None) + asserted
        old = self._pattern(fact, t.evidence_count, None)
        self._store.add(ox.Quad(fact, t.evidence_count, ox.Literal(str(remaining), datatype=t.xsd_integer)))
        return [q for q in old if q.object.value != str(remaining)]

    # -- reads -------------------------------------------------------------------------------------

    def _query(self, text: str, params: dict[str, Any], write: bool) -> QueryResult:
        if check_update(text, params, write):
            self._require_writable("run a SPARQL update")
            try:
                self._store.update(text)
            except SyntaxError as exc:
                raise QueryError(
                    f"SPARQL syntax error: {first_line(exc)}; fix the update and re-run"
                ) from exc
            except OSError as exc:
                raise StoreError(f"Oxigraph update failed: {exc}") from exc
            return QueryResult([], [])
        substitutions = {ox.Variable(name): parameter_term(value) for name, value in params.items()}
        try:
            result = self._store.query(text, substitutions=substitutions or None)
            return _result(result)
        except SyntaxError as exc:
            raise QueryError(f"SPARQL syntax error: {first_line(exc)}; fix the query and re-run") from exc
        except RuntimeError as exc:
            message = first_line(exc)
            if "SELECT projection" in message:
                raise QueryError(
                    f"{message}; a parameter binds the variable of the same name, so list it in SELECT"
                ) from exc
            raise QueryError(f"SPARQL query failed: {message}; fix the query and re-run") from exc
        except OSError as exc:
            raise StoreError(f"Oxigraph query failed: {exc}") from exc

    def _counts(self) -> dict[str, int]:
        solution = next(iter(self._store.query(counts_query(self.mapping))))
        return {name: int(solution[name].value) for name in COUNT_NAMES}

    def _missing(self, kind: str, ids: list[str]) -> list[str]:
        t = self._terms
        node, cls = {
            "entities": (self.mapping.entity, t.entity_class),
            "documents": (self.mapping.document, t.document_class),
            "facts": (self.mapping.fact, t.statement),
        }[kind]
        return [i for i in ids if not self._pattern(node(i), t.rdf_type, cls)]

    # -- plumbing ----------------------------------------------------------------------------------

    def _pattern(self, subject: Any, predicate: Any, obj: Any) -> list[ox.Quad]:
        return list(self._store.quads_for_pattern(subject, predicate, obj, _DEFAULT_GRAPH))

    def _remove(self, quads: list[ox.Quad]) -> None:
        try:
            for quad in quads:
                self._store.remove(quad)
        except OSError as exc:
            raise StoreError(f"Oxigraph write failed: {exc}") from exc

    def _require_writable(self, what: str) -> None:
        if self.read_only:
            raise read_only_error(self, what)


class _Terms:
    """The pyoxigraph terms of one mapping that the store uses to walk its own data."""

    def __init__(self, mapping: RdfMapping) -> None:
        kg = mapping.vocab
        self.rdf_type = ox.NamedNode(RDF + "type")
        self.rdf_subject = ox.NamedNode(RDF + "subject")
        self.rdf_predicate = ox.NamedNode(RDF + "predicate")
        self.rdf_object = ox.NamedNode(RDF + "object")
        self.statement = ox.NamedNode(RDF + "Statement")
        self.entity_class, self.document_class = kg("Entity"), kg("Document")
        self.evidence, self.document, self.source = kg("evidence"), kg("document"), kg("source")
        self.evidence_count, self.mentioned_in = kg("evidenceCount"), kg("mentionedIn")
        self.derived_from = ox.NamedNode(PROV + "wasDerivedFrom")
        self.xsd_integer = ox.NamedNode(XSD + "integer")
        # Single-valued properties per node kind: an upsert replaces them (shared with the SPARQL stores).
        self.by_kind = {
            kind: frozenset(ox.NamedNode(iri) for iri in iris)
            for kind, iris in replaced_predicates(mapping).items()
        }
        self._mapping = mapping

    def replaced_predicates(self, view: GraphView) -> dict[ox.NamedNode, frozenset]:
        """Subject node -> the predicates an upsert of ``view`` overwrites on it."""
        from kg.stores.base import evidence_ids

        m = self._mapping
        nodes: dict[ox.NamedNode, frozenset] = {}
        for entity_id in view.entities.column("id").to_pylist():
            nodes[m.entity(entity_id)] = self.by_kind["entity"]
        for doc_id in view.documents.column("id").to_pylist():
            nodes[m.document(doc_id)] = self.by_kind["document"]
        for fact_id in view.facts.column("id").to_pylist():
            nodes[m.fact(fact_id)] = self.by_kind["fact"]
        for evidence_id in evidence_ids(view.evidence).to_pylist():
            nodes[m.evidence(evidence_id)] = self.by_kind["evidence"]
        return nodes


def _result(result: Any) -> QueryResult:
    if isinstance(result, ox.QueryBoolean):
        return QueryResult(["boolean"], [(bool(result),)])
    if isinstance(result, ox.QueryTriples):
        return triples_result(result)
    variables = list(result.variables)
    rows = [tuple(term_value(solution[v]) for v in variables) for solution in result]
    return QueryResult([v.value for v in variables], rows)


__all__ = ["OxigraphStore"]
