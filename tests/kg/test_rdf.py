"""RDF mapping: N-Triples building, file export round trips, and the RDFS/OWL schema export."""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox
import pytest
import rdflib
import rdflib.compare
from rdflib import namespace as ns

from kg.errors import ConfigError
from kg.graph import GraphView
from kg.rdf import EXPORT_FORMATS, RdfMapping, is_update, percent_encode, schema_to_rdfs, serialize_view
from kg.schema import EntityType, RelationType, Schema

try:  # tests may or may not be a package, depending on how pytest is configured
    from .stores.conformance import NASTY, NASTY_ID, nasty_view, sample_view
except ImportError:
    sys.path.insert(0, str(Path(__file__).parent / "stores"))
    from conformance import NASTY, NASTY_ID, nasty_view, sample_view

M = RdfMapping()
KG = rdflib.Namespace(M.vocab_ns)
PROV = rdflib.Namespace("http://www.w3.org/ns/prov#")


def _uri(node: ox.NamedNode) -> rdflib.URIRef:
    return rdflib.URIRef(node.value)


def _turtle_graph(view: GraphView, tmp_path: Path) -> rdflib.Graph:
    path = serialize_view(view, tmp_path / "graph.ttl", "turtle")
    return rdflib.Graph().parse(path, format="turtle")


def test_turtle_round_trip_keeps_labels_aliases_and_reification(tmp_path: Path) -> None:
    graph = _turtle_graph(sample_view(), tmp_path)
    ada, babbage, libai = _uri(M.entity("ada")), _uri(M.entity("babbage")), _uri(M.entity("libai"))
    assert (ada, ns.RDFS.label, rdflib.Literal("Ada Lovelace", lang="en")) in graph
    assert set(graph.objects(libai, ns.SKOS.altLabel)) == {
        rdflib.Literal("李太白", lang="zh"),
        rdflib.Literal("青莲居士", lang="zh"),
    }
    assert (libai, ns.RDFS.comment, rdflib.Literal("唐代诗人", lang="zh")) in graph
    assert (ada, ns.RDF.type, _uri(M.entity_class("Person"))) in graph
    assert (ada, ns.RDF.type, KG.Entity) in graph
    worked_with = _uri(M.predicate("worked_with"))
    assert (ada, worked_with, babbage) in graph  # the asserted triple
    fact = _uri(M.fact("f1"))
    assert (fact, ns.RDF.type, ns.RDF.Statement) in graph
    assert (fact, ns.RDF.subject, ada) in graph and (fact, ns.RDF.predicate, worked_with) in graph
    assert (fact, ns.RDF.object, babbage) in graph
    assert graph.value(fact, KG.confidence).toPython() == pytest.approx(0.9)
    assert graph.value(fact, KG.evidenceCount).toPython() == 2
    assert graph.value(fact, KG.source) == rdflib.Literal("extracted")
    assert set(graph.objects(fact, PROV.wasDerivedFrom)) == {_uri(M.document("d1")), _uri(M.document("d2"))}
    evidence = set(graph.objects(fact, KG.evidence))
    assert len(evidence) == 2
    for node in evidence:
        assert (node, ns.RDF.type, KG.Evidence) in graph
        assert graph.value(node, KG.sentenceIndex).toPython() == 0
        assert graph.value(node, KG.extractor) == rdflib.Literal("test")
        assert graph.value(node, KG.end).toPython() > graph.value(node, KG.start).toPython()
        assert graph.value(node, KG.document) in {_uri(M.document("d1")), _uri(M.document("d2"))}


def test_open_relations_use_the_open_namespace(tmp_path: Path) -> None:
    graph = _turtle_graph(sample_view(), tmp_path)
    write = rdflib.URIRef(M.open_ns + "write")
    assert (_uri(M.entity("ada")), write, _uri(M.entity("babbage"))) in graph
    assert graph.value(_uri(M.fact("f5")), KG.open).toPython() is True
    assert graph.value(_uri(M.fact("f1")), KG.open).toPython() is False


def test_inferred_fact_without_evidence(tmp_path: Path) -> None:
    graph = _turtle_graph(sample_view(), tmp_path)
    fact = _uri(M.fact("f4"))
    assert graph.value(fact, KG.source) == rdflib.Literal("inferred")
    assert graph.value(fact, KG.evidenceCount).toPython() == 0
    assert list(graph.objects(fact, KG.evidence)) == []


def test_nasty_strings_survive_every_format(tmp_path: Path) -> None:
    view = nasty_view()
    graphs = {}
    for fmt in ("nt", "turtle", "json-ld", "n3", "longturtle"):
        path = serialize_view(view, tmp_path / f"nasty.{fmt}", fmt)
        graphs[fmt] = rdflib.Graph().parse(path, format="turtle" if fmt == "longturtle" else fmt)
    for fmt, graph in graphs.items():
        for i, name in enumerate(NASTY):
            assert graph.value(_uri(M.entity(f"n{i}")), ns.RDFS.label) == rdflib.Literal(name, lang="en"), fmt
        # the nasty id is percent-encoded into a valid IRI; its label is a plain literal (lang "und")
        assert graph.value(_uri(M.entity(NASTY_ID)), ns.RDFS.label) == rdflib.Literal(NASTY[0]), fmt
    reference = graphs["nt"]
    for fmt, graph in graphs.items():
        assert rdflib.compare.isomorphic(graph, reference), fmt


def test_rdf_xml_round_trip_and_refusal(tmp_path: Path) -> None:
    for fmt in ("xml", "pretty-xml"):
        path = serialize_view(sample_view(), tmp_path / f"sample.{fmt}.rdf", fmt)
        graph = rdflib.Graph().parse(path, format="xml")
        assert rdflib.compare.isomorphic(graph, _turtle_graph(sample_view(), tmp_path))
        with pytest.raises(ConfigError, match="turtle"):  # nasty open predicates are no XML names
            serialize_view(nasty_view(), tmp_path / f"nasty.{fmt}.rdf", fmt)


def test_vectorized_escaping_matches_pyoxigraph_terms() -> None:
    labels = {t.object for t in M.triples(nasty_view()) if t.predicate.value == str(ns.RDFS.label)}
    for name in NASTY:
        assert ox.Literal(name, language="en") in labels
    texts = {t.object for t in M.triples(nasty_view()) if t.predicate.value == M.vocab_ns + "text"}
    assert {ox.Literal(name) for name in NASTY} == texts


def test_percent_encoding_of_ids() -> None:
    assert percent_encode("ent:abc") == "ent:abc"
    assert percent_encode("a b/c") == "a%20b%2Fc"
    assert M.entity("李").value == "https://kg.example.org/entity/%E6%9D%8E"
    iri = M.entity(NASTY_ID).value
    ox.NamedNode(iri)  # a valid IRI
    assert not set(iri) & set(" <>\"{}|^`\\'")


def test_language_tags_are_validated() -> None:
    view = GraphView.from_pylist(
        entities=[
            {"id": "a", "name": "x", "type": "T", "lang": "EN-gb"},
            {"id": "b", "name": "y", "type": "T", "lang": "und"},
            {"id": "c", "name": "z", "type": "T", "lang": "not a tag!"},
            {"id": "d", "name": "w", "type": "T", "lang": None},
        ]
    )
    labels = {
        t.subject.value.rsplit("/", 1)[-1]: t.object
        for t in M.triples(view)
        if t.predicate.value == str(ns.RDFS.label)
    }
    assert labels["a"].language == "en-gb"
    for key in "bcd":
        assert labels[key].language is None
        assert labels[key].datatype.value == str(ns.XSD.string)


def test_special_doubles_are_valid_literals() -> None:
    facts = [
        {"id": f"f{i}", "subject": "s", "predicate": "p", "object": "o", "confidence": value}
        for i, value in enumerate([float("nan"), float("inf"), float("-inf"), 1e-7, None])
    ]
    view = GraphView.from_pylist(facts=facts)
    confidences = {
        t.subject.value.rsplit("/", 1)[-1]: t.object.value
        for t in M.triples(view)
        if t.predicate.value == M.vocab_ns + "confidence"
    }
    assert confidences["f0"] == "NaN" and confidences["f1"] == "INF" and confidences["f2"] == "-INF"
    assert float(confidences["f3"]) == pytest.approx(1e-7)
    assert "f4" not in confidences  # a null confidence writes no triple


def test_chunks_do_not_change_content() -> None:
    small = b"".join(M.ntriples(sample_view(), chunk_rows=1))
    large = b"".join(M.ntriples(sample_view()))
    assert sorted(small.splitlines()) == sorted(large.splitlines())
    assert M.reader(sample_view()).read() == large


def test_custom_base_iri() -> None:
    mapping = RdfMapping("http://example.com/kg#")
    triples = list(mapping.triples(sample_view()))
    assert all(t.subject.value.startswith("http://example.com/kg#") for t in triples)
    with pytest.raises(ConfigError):
        RdfMapping("https://kg.example.org")  # no trailing separator
    with pytest.raises(ConfigError):
        RdfMapping("relative/")


def test_unknown_export_format(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="turtle"):
        serialize_view(sample_view(), tmp_path / "x.bin", "parquet")
    assert "json-ld" in EXPORT_FORMATS


@pytest.mark.parametrize(
    ("text", "update"),
    [
        ("SELECT * WHERE { ?s ?p ?o }", False),
        ("PREFIX insert: <http://x/> SELECT ?delete WHERE { ?delete insert:p 'INSERT DATA' }", False),
        ("# DELETE everything\nASK { ?s ?p ?o }", False),
        ("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }", False),
        ("PREFIX ex: <http://x/> INSERT DATA { ex:a ex:b ex:c }", True),
        ("DELETE WHERE { ?s ?p ?o }", True),
        ("clear all", True),
        ("BASE <http://x/> LOAD <data.ttl>", True),
    ],
)
def test_is_update(text: str, update: bool) -> None:
    assert is_update(text) is update


def _schema() -> Schema:
    return Schema(
        name="demo",
        entity_types={
            "Person": EntityType(labels={"en": "person", "zh": "人物"}, description="A human being."),
            "Organization": EntityType(labels={"en": "organization", "zh": "机构"}),
        },
        relation_types={
            "founded_by": RelationType(
                labels={"en": "founded by", "zh": "创始人"},
                domain="Organization",
                range="Person",
                functional=True,
            ),
            "colleague_of": RelationType(
                labels={"en": "colleague of"}, domain="Person", range="Person", symmetric=True
            ),
        },
    )


def test_schema_export_has_classes_labels_domain_range(tmp_path: Path) -> None:
    graph = schema_to_rdfs(_schema())
    person, org = _uri(M.entity_class("Person")), _uri(M.entity_class("Organization"))
    founded_by, colleague = _uri(M.predicate("founded_by")), _uri(M.predicate("colleague_of"))
    assert (person, ns.RDF.type, ns.OWL.Class) in graph and (org, ns.RDF.type, ns.OWL.Class) in graph
    assert (person, ns.RDFS.label, rdflib.Literal("人物", lang="zh")) in graph
    assert (person, ns.RDFS.label, rdflib.Literal("person", lang="en")) in graph
    assert (person, ns.RDFS.comment, rdflib.Literal("A human being.")) in graph
    assert (founded_by, ns.RDF.type, ns.OWL.ObjectProperty) in graph
    assert (founded_by, ns.RDFS.domain, org) in graph and (founded_by, ns.RDFS.range, person) in graph
    assert (founded_by, ns.RDF.type, ns.OWL.FunctionalProperty) in graph
    assert (colleague, ns.RDF.type, ns.OWL.FunctionalProperty) not in graph
    assert (colleague, ns.RDF.type, ns.OWL.SymmetricProperty) in graph
    assert (founded_by, ns.RDFS.label, rdflib.Literal("创始人", lang="zh")) in graph
    assert (KG.confidence, ns.RDFS.range, ns.XSD.double) in graph
    # the export serializes and parses back unchanged
    path = tmp_path / "schema.ttl"
    graph.serialize(destination=str(path), format="turtle")
    assert rdflib.compare.isomorphic(rdflib.Graph().parse(path, format="turtle"), graph)


def test_schema_iris_match_data_iris(tmp_path: Path) -> None:
    data = _turtle_graph(sample_view(), tmp_path)
    schema = schema_to_rdfs(_schema())
    person = _uri(M.entity_class("Person"))
    assert (person, ns.RDF.type, ns.OWL.Class) in schema
    assert (_uri(M.entity("ada")), ns.RDF.type, person) in data
