"""Conformance suites: one per store protocol, run by every backend.

A backend's test module defines a ``store`` fixture that yields a fresh, opened store (parametrize it to
run the suite over several configurations: on disk, in memory, a server) and subclasses the contract::

    @pytest.fixture(params=["disk", "memory"])
    def store(request, tmp_path):
        with MyStore(...) as s:
            yield s

    class TestMyStoreConformance(GraphStoreContract):
        pass

The contracts only use the public protocol and portable Cypher / SPARQL 1.1, so Neo4j, Jena or a
SPARQL endpoint pass the same tests as the embedded defaults.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

import pyoxigraph as ox
import pytest

from kg.errors import QueryError, StoreError
from kg.graph import GraphView
from kg.rdf import DEFAULT_BASE_IRI

# Strings that break naive query building; they must be stored verbatim and do nothing.
NASTY = [
    'O\'Brien "the" {brace} }',
    "line one\nline two\r\nthree\ttab",
    "'; MATCH (n) DETACH DELETE n //",
    "} ; DROP ALL",
    '"; DELETE WHERE { ?s ?p ?o } #',
    "back\\slash \\n not a newline \\u0041",
    "$param ?var <http://evil.example/> @en ^^xsd:string",
]
NASTY_ID = "ent:'; MATCH (n) DETACH DELETE n /{x}? #中"


def _evidence(fact: dict, doc_id: str, sentence: int, text: str, confidence: float = 0.9) -> dict:
    return {
        "fact_id": fact["id"],
        "subject": fact["subject"],
        "predicate": fact["predicate"],
        "object": fact["object"],
        "open": fact["open"],
        "source": fact["source"],
        "doc_id": doc_id,
        "sentence": sentence,
        "start": 0,
        "end": len(text),
        "text": text,
        "extractor": "test",
        "confidence": confidence,
        "batch": "b1",
    }


def _fact(
    fid: str,
    subject: str,
    predicate: str,
    obj: str,
    *,
    source: str = "extracted",
    open_relation: bool = False,
    confidence: float = 0.9,
    evidence_count: int = 0,
) -> dict:
    return {
        "id": fid,
        "subject": subject,
        "predicate": predicate,
        "object": obj,
        "open": open_relation,
        "source": source,
        "confidence": confidence,
        "evidence_count": evidence_count,
        "batch": "b1",
    }


def sample_rows() -> dict[str, list[dict]]:
    """A small bilingual graph.

    * f1 Ada worked_with Babbage — evidence in d1 and d2 (survives retracting d1)
    * f2 Babbage born_in London — evidence in d1 only
    * f3 李白 lived_in 长安 — evidence in d3 only
    * f4 李白 member_of 清华大学 — inferred, no evidence (survives every retraction)
    * f5 Ada write Babbage — open relation, evidence in d2
    """
    documents = [
        {
            "id": "d1",
            "text": "Ada Lovelace worked with Charles Babbage. Babbage was born in London.",
            "lang": "en",
            "source": "corpus/a.txt",
            "title": "Ada",
            "batch": "b1",
        },
        {
            "id": "d2",
            "text": "Ada wrote to Babbage about the engine.",
            "lang": "en",
            "source": "corpus/b.txt",
            "title": "Letters",
            "batch": "b1",
        },
        {
            "id": "d3",
            "text": "李白曾居住在长安。",
            "lang": "zh",
            "source": "corpus/c.txt",
            "title": "李白",
            "batch": "b1",
        },
    ]
    entities = [
        {
            "id": "ada",
            "name": "Ada Lovelace",
            "type": "Person",
            "aliases": ["Ada", "Countess of Lovelace"],
            "lang": "en",
        },
        {"id": "babbage", "name": "Charles Babbage", "type": "Person", "aliases": [], "lang": "en"},
        {"id": "london", "name": "London", "type": "Location", "aliases": ["伦敦"], "lang": "en"},
        {
            "id": "libai",
            "name": "李白",
            "type": "Person",
            "aliases": ["李太白", "青莲居士"],
            "lang": "zh",
            "description": "唐代诗人",
        },
        {"id": "changan", "name": "长安", "type": "Location", "aliases": [], "lang": "zh"},
        {"id": "tsinghua", "name": "清华大学", "type": "Organization", "aliases": [], "lang": "zh"},
    ]
    f1 = _fact("f1", "ada", "worked_with", "babbage", evidence_count=2)
    f2 = _fact("f2", "babbage", "born_in", "london", evidence_count=1)
    f3 = _fact("f3", "libai", "lived_in", "changan", evidence_count=1)
    f4 = _fact("f4", "libai", "member_of", "tsinghua", source="inferred", confidence=0.4)
    f5 = _fact("f5", "ada", "write", "babbage", open_relation=True, evidence_count=1)
    evidence = [
        _evidence(f1, "d1", 0, "Ada Lovelace worked with Charles Babbage."),
        _evidence(f1, "d2", 0, "Ada wrote to Babbage about the engine.", 0.7),
        _evidence(f2, "d1", 1, "Babbage was born in London."),
        _evidence(f3, "d3", 0, "李白曾居住在长安。"),
        _evidence(f5, "d2", 0, "Ada wrote to Babbage about the engine."),
    ]
    mentions = [
        {
            "doc_id": "d1",
            "sentence": 0,
            "start": 0,
            "end": 12,
            "text": "Ada Lovelace",
            "type": "Person",
            "entity_id": "ada",
        },
        {
            "doc_id": "d1",
            "sentence": 0,
            "start": 25,
            "end": 40,
            "text": "Charles Babbage",
            "type": "Person",
            "entity_id": "babbage",
        },
        {
            "doc_id": "d3",
            "sentence": 0,
            "start": 0,
            "end": 2,
            "text": "李白",
            "type": "Person",
            "entity_id": "libai",
        },
        {
            "doc_id": "d3",
            "sentence": 0,
            "start": 6,
            "end": 8,
            "text": "长安",
            "type": "Location",
            "entity_id": "changan",
        },
        {
            "doc_id": "d2",
            "sentence": 0,
            "start": 0,
            "end": 3,
            "text": "Ada",
            "type": "Person",
            "entity_id": "",
        },
    ]
    return {
        "documents": documents,
        "entities": entities,
        "facts": [f1, f2, f3, f4, f5],
        "evidence": evidence,
        "mentions": mentions,
    }


def sample_view() -> GraphView:
    """The :func:`sample_rows` graph as a GraphView."""
    return GraphView.from_pylist(**sample_rows())


def nasty_view() -> GraphView:
    """Entities named with every :data:`NASTY` string (one also with a nasty id), linked by facts."""
    entities = [
        {"id": f"n{i}", "name": name, "type": "Thing", "aliases": [name], "lang": "en", "description": name}
        for i, name in enumerate(NASTY)
    ]
    entities.append({"id": NASTY_ID, "name": NASTY[0], "type": "Thing", "aliases": [], "lang": "und"})
    documents = [{"id": "dn", "text": "\n".join(NASTY), "lang": "en", "source": NASTY[3], "title": NASTY[2]}]
    facts, evidence = [], []
    for i in range(len(NASTY)):
        fact = _fact(f"fn{i}", f"n{i}", NASTY[i], NASTY_ID, open_relation=True, evidence_count=1)
        facts.append(fact)
        evidence.append(_evidence(fact, "dn", i, NASTY[i]))
    return GraphView.from_pylist(documents=documents, entities=entities, facts=facts, evidence=evidence)


SAMPLE_COUNTS = {"entities": 6, "facts": 5, "documents": 3, "evidence": 5}


def _core_counts(store: Any) -> dict[str, int]:
    counts = store.counts()
    return {key: counts[key] for key in SAMPLE_COUNTS}


class _StoreContract:
    """Tests shared by both protocols; subclasses supply the protocol-specific reads."""

    # -- protocol-specific reads (portable Cypher / SPARQL in the subclasses) -----------------------

    def entity_names(self, store: Any) -> dict[str, str]:
        """Entity id -> name."""
        raise NotImplementedError

    def evidence_counts(self, store: Any) -> dict[str, int]:
        """Fact id -> evidence_count."""
        raise NotImplementedError

    def aliases(self, store: Any, entity_id: str) -> set[str]:
        """The aliases of one entity."""
        raise NotImplementedError

    def size(self, store: Any) -> int:
        """A number that changes with any duplicated content (all nodes+rels, or all triples)."""
        raise NotImplementedError

    syntax_error_query = ""
    write_query = ""  # deletes everything when run with write=True

    # -- load / counts -----------------------------------------------------------------------------

    def test_load_counts(self, store: Any) -> None:
        store.load(sample_view())
        assert _core_counts(store) == SAMPLE_COUNTS

    def test_load_replaces_previous_content(self, store: Any) -> None:
        store.load(nasty_view())
        store.load(sample_view())
        assert _core_counts(store) == SAMPLE_COUNTS
        assert set(self.entity_names(store)) == {"ada", "babbage", "london", "libai", "changan", "tsinghua"}

    def test_load_empty_view_empties_store(self, store: Any) -> None:
        store.load(sample_view())
        store.load(GraphView.empty())
        assert _core_counts(store) == dict.fromkeys(SAMPLE_COUNTS, 0)

    def test_load_values_read_back(self, store: Any) -> None:
        store.load(sample_view())
        assert self.entity_names(store)["libai"] == "李白"
        assert self.evidence_counts(store) == {"f1": 2, "f2": 1, "f3": 1, "f4": 0, "f5": 1}
        assert self.aliases(store, "libai") == {"李太白", "青莲居士"}
        assert self.aliases(store, "babbage") == set()

    def test_load_rejects_dangling_fact_and_keeps_content(self, store: Any) -> None:
        store.load(sample_view())
        rows = sample_rows()
        rows["facts"].append(_fact("fx", "ada", "knows", "nobody"))
        with pytest.raises(StoreError, match="nobody"):
            store.load(GraphView.from_pylist(**rows))
        assert _core_counts(store) == SAMPLE_COUNTS

    def test_load_rejects_duplicate_ids(self, store: Any) -> None:
        rows = sample_rows()
        rows["entities"].append(dict(rows["entities"][0]))
        with pytest.raises(StoreError, match="repeats"):
            store.load(GraphView.from_pylist(**rows))

    def test_load_rejects_non_view(self, store: Any) -> None:
        with pytest.raises(TypeError, match="GraphView"):
            store.load({"entities": []})

    # -- upsert ------------------------------------------------------------------------------------

    def test_upsert_twice_is_idempotent(self, store: Any) -> None:
        store.upsert(sample_view())
        first = (_core_counts(store), self.size(store), self.entity_names(store), self.evidence_counts(store))
        store.upsert(sample_view())
        second = (
            _core_counts(store),
            self.size(store),
            self.entity_names(store),
            self.evidence_counts(store),
        )
        assert first == second
        assert first[0] == SAMPLE_COUNTS

    def test_upsert_on_empty_equals_load(self, store: Any) -> None:
        store.load(sample_view())
        loaded = (self.size(store), self.entity_names(store), self.evidence_counts(store))
        store.load(GraphView.empty())
        store.upsert(sample_view())
        assert (self.size(store), self.entity_names(store), self.evidence_counts(store)) == loaded

    def test_upsert_overwrites_properties(self, store: Any) -> None:
        store.load(sample_view())
        rows = sample_rows()
        rows["entities"][0].update(name="Augusta Ada King", aliases=["Ada"])
        rows["facts"][0].update(evidence_count=7, confidence=0.5)
        store.upsert(GraphView.from_pylist(**rows))
        assert self.entity_names(store)["ada"] == "Augusta Ada King"
        assert self.aliases(store, "ada") == {"Ada"}
        assert self.evidence_counts(store)["f1"] == 7
        assert _core_counts(store) == SAMPLE_COUNTS

    def test_upsert_partial_view_references_store(self, store: Any) -> None:
        store.load(sample_view())
        fact = _fact("f6", "babbage", "lived_in", "london", evidence_count=1)
        view = GraphView.from_pylist(
            facts=[fact], evidence=[_evidence(fact, "d2", 3, "Babbage lived in London.")]
        )
        store.upsert(view)
        counts = _core_counts(store)
        assert counts == {**SAMPLE_COUNTS, "facts": 6, "evidence": 6}
        assert self.evidence_counts(store)["f6"] == 1

    def test_upsert_rejects_reference_to_nothing(self, store: Any) -> None:
        store.load(sample_view())
        view = GraphView.from_pylist(facts=[_fact("f7", "ada", "knows", "ghost")])
        with pytest.raises(StoreError, match="ghost"):
            store.upsert(view)
        assert _core_counts(store) == SAMPLE_COUNTS

    # -- retract -----------------------------------------------------------------------------------

    def test_retract_keeps_facts_supported_elsewhere(self, store: Any) -> None:
        store.load(sample_view())
        store.retract_documents(["d1"])
        assert self.evidence_counts(store) == {"f1": 1, "f3": 1, "f4": 0, "f5": 1}
        assert _core_counts(store) == {"entities": 6, "facts": 4, "documents": 2, "evidence": 3}

    def test_retract_removes_only_extracted_facts(self, store: Any) -> None:
        store.load(sample_view())
        store.retract_documents(["d1", "d2", "d3"])
        assert self.evidence_counts(store) == {"f4": 0}  # the inferred fact stays
        assert _core_counts(store) == {"entities": 6, "facts": 1, "documents": 0, "evidence": 0}

    def test_retract_twice_and_unknown_ids_change_nothing(self, store: Any) -> None:
        store.load(sample_view())
        store.retract_documents(["d3"])
        after = (_core_counts(store), self.size(store))
        store.retract_documents(["d3", "no-such-doc"])
        store.retract_documents([])
        assert (_core_counts(store), self.size(store)) == after
        assert "f3" not in self.evidence_counts(store)

    def test_retract_then_upsert_restores(self, store: Any) -> None:
        store.load(sample_view())
        before = (self.size(store), self.evidence_counts(store))
        store.retract_documents(["d1"])
        store.upsert(sample_view())
        assert (self.size(store), self.evidence_counts(store)) == before

    def test_retract_rejects_a_bare_string(self, store: Any) -> None:
        with pytest.raises(TypeError, match="list"):
            store.retract_documents("d1")

    # -- hostile and multilingual strings ----------------------------------------------------------

    def test_nasty_strings_are_stored_verbatim_and_harmless(self, store: Any) -> None:
        store.load(sample_view())
        store.upsert(nasty_view())
        names = self.entity_names(store)
        for i, name in enumerate(NASTY):
            assert names[f"n{i}"] == name
        assert names[NASTY_ID] == NASTY[0]
        assert self.aliases(store, "n1") == {NASTY[1]}
        counts = _core_counts(store)
        assert counts == {
            "entities": 6 + len(NASTY) + 1,
            "facts": 5 + len(NASTY),
            "documents": 4,
            "evidence": 5 + len(NASTY),
        }
        store.retract_documents(["dn"])
        assert _core_counts(store) == {**SAMPLE_COUNTS, "entities": 6 + len(NASTY) + 1}

    def test_nasty_strings_load_path(self, store: Any) -> None:
        store.load(nasty_view())
        assert self.entity_names(store)[NASTY_ID] == NASTY[0]
        assert self.evidence_counts(store) == {f"fn{i}": 1 for i in range(len(NASTY))}

    # -- queries -----------------------------------------------------------------------------------

    def test_syntax_error_is_query_error_on_one_line(self, store: Any) -> None:
        with pytest.raises(QueryError) as info:
            store.query(self.syntax_error_query)
        assert "\n" not in str(info.value)
        assert "fix" in str(info.value)

    def test_write_without_flag_is_refused(self, store: Any) -> None:
        store.load(sample_view())
        with pytest.raises(QueryError, match="write=True"):
            store.query(self.write_query)
        assert _core_counts(store) == SAMPLE_COUNTS

    def test_write_with_flag_runs(self, store: Any) -> None:
        store.load(sample_view())
        store.query(self.write_query, write=True)
        assert store.counts()["entities"] == 0

    def test_empty_query_is_refused(self, store: Any) -> None:
        with pytest.raises(QueryError):
            store.query("   ")

    def test_closed_store_refuses_work(self, store: Any) -> None:
        store.close()
        with pytest.raises(StoreError, match="open"):
            store.counts()
        store.open()
        assert store.counts()["entities"] >= 0


class GraphStoreContract(_StoreContract):
    """Conformance suite for :class:`kg.stores.base.GraphStore` backends (Cypher)."""

    syntax_error_query = "MATCH (e:Entity RETURN e"
    write_query = "MATCH (n) DETACH DELETE n"

    def entity_names(self, store: Any) -> dict[str, str]:
        return dict(store.query("MATCH (e:Entity) RETURN e.id, e.name").rows)

    def evidence_counts(self, store: Any) -> dict[str, int]:
        return dict(store.query("MATCH ()-[r:RELATION]->() RETURN r.id, r.evidence_count").rows)

    def aliases(self, store: Any, entity_id: str) -> set[str]:
        rows = store.query("MATCH (e:Entity {id: $id}) RETURN e.aliases", {"id": entity_id}).rows
        return set(rows[0][0] or [])

    def size(self, store: Any) -> int:
        nodes = store.query("MATCH (n) RETURN count(n)").rows[0][0]
        rels = store.query("MATCH ()-[r]->() RETURN count(r)").rows[0][0]
        return nodes * 1_000_000 + rels

    def test_cypher_pattern_over_relations(self, store: Any) -> None:
        store.load(sample_view())
        result = store.query(
            "MATCH (p:Entity {type: 'Person'})-[r:RELATION]->(o) RETURN p.name, r.predicate, o.name "
            "ORDER BY p.name, r.predicate"
        )
        assert result.columns == ["p.name", "r.predicate", "o.name"]
        assert result.rows == [
            ("Ada Lovelace", "worked_with", "Charles Babbage"),
            ("Ada Lovelace", "write", "Charles Babbage"),
            ("Charles Babbage", "born_in", "London"),
            ("李白", "lived_in", "长安"),
            ("李白", "member_of", "清华大学"),
        ]

    def test_parameters_bind_values(self, store: Any) -> None:
        store.load(sample_view())
        result = store.query(
            "MATCH (e:Entity) WHERE e.name = $name AND e.lang = $lang RETURN e.id AS id",
            {"name": "李白", "lang": "zh"},
        )
        assert result.columns == ["id"]
        assert result.rows == [("libai",)]
        assert store.query("MATCH (e:Entity) WHERE e.name = $name RETURN e.id", {"name": "李"}).rows == []

    def test_nasty_parameter_matches_verbatim(self, store: Any) -> None:
        store.load(nasty_view())
        for i, name in enumerate(NASTY):
            rows = store.query(
                "MATCH (e:Entity) WHERE e.id = $id AND e.name = $name RETURN e.id",
                {"id": f"n{i}", "name": name},
            ).rows
            assert rows == [(f"n{i}",)]
        assert store.counts()["entities"] == len(NASTY) + 1

    def test_open_relations_are_marked(self, store: Any) -> None:
        store.load(sample_view())
        rows = store.query("MATCH ()-[r:RELATION]->() WHERE r.open RETURN r.id").rows
        assert rows == [("f5",)]


_PREFIXES = (
    f"PREFIX kg: <{DEFAULT_BASE_IRI}vocab/>\n"
    "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
    "PREFIX skos: <http://www.w3.org/2004/02/skos/core#>\n"
)


class TripleStoreContract(_StoreContract):
    """Conformance suite for :class:`kg.stores.base.TripleStore` backends (SPARQL 1.1).

    The ``store`` fixture must use the default base IRI (the queries below spell it out).
    """

    syntax_error_query = "SELECT ?x WHERE { ?x "
    write_query = "DELETE WHERE { ?s ?p ?o }"

    @staticmethod
    def _id(store: Any, iri: str, namespace: str) -> str:
        assert iri.startswith(namespace), iri
        return unquote(iri[len(namespace) :])

    def entity_names(self, store: Any) -> dict[str, str]:
        rows = store.query(_PREFIXES + "SELECT ?e ?name WHERE { ?e a kg:Entity ; rdfs:label ?name }").rows
        return {self._id(store, e, store.mapping.entity_ns): name for e, name in rows}

    def evidence_counts(self, store: Any) -> dict[str, int]:
        rows = store.query(_PREFIXES + "SELECT ?f ?n WHERE { ?f a rdf:Statement ; kg:evidenceCount ?n }").rows
        return {self._id(store, f, store.mapping.fact_ns): n for f, n in rows}

    def aliases(self, store: Any, entity_id: str) -> set[str]:
        result = store.query(
            _PREFIXES + "SELECT ?e ?alias WHERE { ?e skos:altLabel ?alias }",
            {"e": store.mapping.entity(entity_id)},
        )
        return set(result.column("alias"))

    def size(self, store: Any) -> int:
        return store.query("SELECT (COUNT(*) AS ?n) WHERE { ?s ?p ?o }").rows[0][0]

    def test_asserted_triples_and_reification(self, store: Any) -> None:
        store.load(sample_view())
        rows = store.query(
            _PREFIXES
            + """
            SELECT ?name ?oname ?conf ?doc WHERE {
              ?s ?p ?o .
              ?f rdf:subject ?s ; rdf:predicate ?p ; rdf:object ?o ; kg:confidence ?conf ;
                 <http://www.w3.org/ns/prov#wasDerivedFrom> ?doc .
              ?s rdfs:label ?name . ?o rdfs:label ?oname .
            } ORDER BY ?doc"""
        ).rows
        ada_babbage = [(n, o, c, d.rsplit("/", 1)[-1]) for n, o, c, d in rows if n == "Ada Lovelace"]
        assert ("Ada Lovelace", "Charles Babbage", 0.9, "d1") in ada_babbage
        assert ("Ada Lovelace", "Charles Babbage", 0.9, "d2") in ada_babbage

    def test_parameters_bind_values(self, store: Any) -> None:
        store.load(sample_view())
        by_label = store.query(
            _PREFIXES + "SELECT ?e ?name WHERE { ?e a kg:Entity ; rdfs:label ?name }",
            {"name": ox.Literal("李白", language="zh")},
        )
        assert by_label.columns == ["e", "name"]
        assert by_label.rows == [(store.mapping.entity("libai").value, "李白")]
        by_source = store.query(
            _PREFIXES + "SELECT ?d ?source WHERE { ?d kg:source ?source }", {"source": "corpus/b.txt"}
        )
        assert by_source.column("d") == [store.mapping.document("d2").value]

    def test_nasty_parameter_matches_verbatim(self, store: Any) -> None:
        store.load(nasty_view())
        for i, name in enumerate(NASTY):
            rows = store.query(
                _PREFIXES + "SELECT ?e ?name WHERE { ?e a kg:Entity ; rdfs:label ?name }",
                {"name": ox.Literal(name, language="en")},
            ).rows
            assert rows == [(store.mapping.entity(f"n{i}").value, name)]
        assert store.counts()["entities"] == len(NASTY) + 1

    def test_open_and_schema_predicates(self, store: Any) -> None:
        store.load(sample_view())
        m = store.mapping
        rows = store.query(
            "SELECT ?s ?p ?o WHERE { ?s ?p ?o }", {"p": m.predicate("write", open_relation=True)}
        ).rows
        assert rows == [(m.entity("ada").value, m.open_ns + "write", m.entity("babbage").value)]
        rows = store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }", {"p": m.predicate("born_in")}).rows
        assert rows == [(m.entity("babbage").value, m.schema_ns + "born_in", m.entity("london").value)]

    def test_language_tags(self, store: Any) -> None:
        store.load(sample_view())
        rows = store.query(
            _PREFIXES + "SELECT ?e ?lang WHERE { ?e a kg:Entity ; rdfs:label ?l BIND(LANG(?l) AS ?lang) }"
        ).rows
        langs = {self._id(store, e, store.mapping.entity_ns): lang for e, lang in rows}
        assert langs["libai"] == "zh"
        assert langs["ada"] == "en"


__all__ = [
    "NASTY",
    "NASTY_ID",
    "SAMPLE_COUNTS",
    "GraphStoreContract",
    "TripleStoreContract",
    "nasty_view",
    "sample_rows",
    "sample_view",
]
