"""`kg import` from RDF files: exact round trip of kg's own RDF, generic RDF, idempotence, merging."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kg.build import build
from kg.cli import app
from kg.errors import InputError
from kg.export import export_workspace
from kg.graph_import import import_graph
from kg.ids import entity_id
from kg.workspace import Workspace
from tests.conftest import EXAMPLES, write_corpus

GENERIC = """
@prefix ex: <http://example.org/> .
@prefix foaf: <http://xmlns.com/foaf/0.1/> .
@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .
@prefix skos: <http://www.w3.org/2004/02/skos/core#> .
@prefix schema: <http://schema.org/> .
ex:alibaba a schema:Organization ; schema:name "Alibaba Group"@en ; skos:altLabel "阿里巴巴"@zh ;
    ex:founded_by ex:jack ; ex:partner_of ex:ant ; schema:foundingDate "1999" .
ex:jack a foaf:Person ; foaf:name "Jack Ma" ; rdfs:comment "Businessman." .
ex:ant rdfs:label "Ant Group" .
ex:lonely a schema:Place ; rdfs:label "Hangzhou" .
ex:alibaba ex:knows [ foaf:name "someone" ] .
schema:Organization rdfs:subClassOf schema:Thing .
"""


def _ws(path: Path, schema_file: Path | None = None, stores: bool = False) -> Workspace:
    ws = Workspace(path).open(create=True)
    if schema_file is not None:
        ws.config.extraction.schema_path = str(schema_file)
    if not stores:
        ws.config.stores.graph = ws.config.stores.rdf = ""
    ws.save_config()
    return ws


def _import(ws: Workspace, source: Path | str, schema=None):
    ws.lock()
    try:
        return import_graph(ws, str(source), schema=schema)
    finally:
        ws.unlock()


def _facts(ws: Workspace) -> set[tuple]:
    view = ws.bundle.view()
    return set(zip(*(view.facts[c].to_pylist() for c in ("id", "subject", "predicate", "object", "open"))))


@pytest.mark.slow
def test_kg_rdf_round_trip_keeps_ids_and_confidence(tmp_path: Path) -> None:
    origin = _ws(tmp_path / "origin", EXAMPLES / "schema.yaml")
    build(origin, [EXAMPLES / "corpus"])
    export_workspace(origin, tmp_path / "graph.ttl", "turtle")

    copy = _ws(tmp_path / "copy")
    summary = _import(copy, tmp_path / "graph.ttl")
    assert summary.batch == "b000001" and not summary.unchanged
    assert _facts(copy) == _facts(origin) and len(_facts(origin)) > 100
    before, after = origin.bundle.view(), copy.bundle.view()
    assert sorted(zip(before.entities["id"].to_pylist(), before.entities["name"].to_pylist(),
                      before.entities["type"].to_pylist())) == \
        sorted(zip(after.entities["id"].to_pylist(), after.entities["name"].to_pylist(),
                   after.entities["type"].to_pylist()))
    conf_before = dict(zip(before.facts["id"].to_pylist(), before.facts["confidence"].to_pylist()))
    conf_after = dict(zip(after.facts["id"].to_pylist(), after.facts["confidence"].to_pylist()))
    # one piece of evidence never makes a fact certain: the bundle caps it at 0.999
    assert all(conf_after[k] == pytest.approx(min(v, 0.999), abs=1e-6) for k, v in conf_before.items())
    assert set(after.facts["source"].to_pylist()) == {"imported"}


def test_generic_rdf_maps_names_types_and_predicates(tmp_path: Path, small_schema) -> None:
    (tmp_path / "g.ttl").write_text(GENERIC, encoding="utf-8")
    ws = _ws(tmp_path / "ws")
    summary = _import(ws, tmp_path / "g.ttl", small_schema)
    view = ws.bundle.view()
    entities = {row["name"]: row for row in view.entities.to_pylist()}
    assert set(entities) == {"Alibaba Group", "Jack Ma", "Ant Group", "Hangzhou"}
    assert entities["Alibaba Group"]["type"] == "Organization" and "阿里巴巴" in entities["Alibaba Group"]["aliases"]
    assert entities["Jack Ma"]["type"] == "Person" and entities["Jack Ma"]["description"] == "Businessman."
    assert entities["Ant Group"]["type"] == "Thing"
    facts = {(row["predicate"], row["open"]) for row in view.facts.to_pylist()}
    assert facts == {("founded_by", False), ("partner_of", True)}  # founded_by is a schema relation
    founded = next(r for r in view.facts.to_pylist() if r["predicate"] == "founded_by")
    assert founded["subject"] == entity_id("Organization", "Alibaba Group")
    assert founded["object"] == entity_id("Person", "Jack Ma")
    assert summary.skipped["literal attribute"] == 1  # schema:foundingDate
    assert summary.skipped["blank node"] >= 1
    assert summary.skipped["model vocabulary triple"] == 1  # rdfs:subClassOf


def test_reimport_is_idempotent_and_a_changed_source_replaces_the_old(tmp_path: Path, small_schema) -> None:
    source = tmp_path / "g.ttl"
    source.write_text(GENERIC, encoding="utf-8")
    ws = _ws(tmp_path / "ws")
    _import(ws, source, small_schema)
    first = _facts(ws)
    again = _import(ws, source, small_schema)
    assert again.unchanged and _facts(ws) == first and ws.bundle.batches == ["b000001"]

    source.write_text(GENERIC.replace("ex:partner_of ex:ant", "ex:invested_in ex:ant"), encoding="utf-8")
    changed = _import(ws, source, small_schema)
    assert changed.batch == "b000002"
    predicates = sorted(p for _, _, p, _, _ in _facts(ws))
    assert predicates == ["founded_by", "invested_in"]  # partner_of is gone, founded_by not doubled
    view = ws.bundle.view()
    assert view.evidence.num_rows == 2 and view.documents.num_rows == 1


@pytest.mark.slow
def test_imported_entities_merge_with_extracted_ones(tmp_path: Path, small_schema_file, small_schema) -> None:
    (tmp_path / "g.ttl").write_text(GENERIC, encoding="utf-8")
    ws = _ws(tmp_path / "ws", small_schema_file)
    _import(ws, tmp_path / "g.ttl", small_schema)
    corpus = write_corpus(tmp_path / "corpus", {"a.txt": (
        "Alibaba was founded by Jack Ma in 1999 in Hangzhou. The company grew quickly and became one of "
        "the largest online retailers in the world, with offices across many countries and cities.")})
    build(ws, [corpus])
    view = ws.bundle.view()
    names = view.entities["name"].to_pylist()
    assert names.count("Jack Ma") == 1 and names.count("Alibaba Group") == 1
    founded = [r for r in view.facts.to_pylist() if r["predicate"] == "founded_by"]
    assert len(founded) == 1 and founded[0]["evidence_count"] == 2  # the import and the sentence


def test_bad_rdf_file_says_where(tmp_path: Path) -> None:
    ws = _ws(tmp_path / "ws")
    (tmp_path / "bad.ttl").write_text("<http://a> <http://b> \"unterminated .\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.ttl is not valid"):
        _import(ws, tmp_path / "bad.ttl")
    (tmp_path / "g.xyz").write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="from its extension"):
        _import(ws, tmp_path / "g.xyz")
    assert not ws.bundle.manifest_path.exists() or ws.bundle.batches == []


def test_cli_import_reports_and_syncs(tmp_path: Path) -> None:
    (tmp_path / "g.ttl").write_text(GENERIC, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(app, ["import", str(tmp_path / "g.ttl"), "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "imported 4 entities and 2 facts" in result.output and "synced" in result.output
    cypher = runner.invoke(app, ["query", "cypher", "-w", str(tmp_path / "ws"), "--format", "csv",
                                 "MATCH (a:Entity)-[r:RELATION]->(b) RETURN a.name, r.predicate, b.name "
                                 "ORDER BY r.predicate"])
    assert cypher.exit_code == 0, cypher.output
    assert "Alibaba Group,founded_by,Jack Ma" in cypher.output
    missing = runner.invoke(app, ["import", str(tmp_path / "nope.ttl"), "-w", str(tmp_path / "ws")])
    assert missing.exit_code == 2 and "neither an RDF file" in missing.output
