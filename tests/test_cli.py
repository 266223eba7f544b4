"""The CLI end to end on the bundled example: build, query, stats, export, and one-line errors."""

from __future__ import annotations

import json
import shutil

import pytest
import rdflib
from typer.testing import CliRunner

from kg.cli import app
from tests.conftest import EXAMPLES

runner = CliRunner()


def kg(*args: str):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "ws"
    result = kg("build", EXAMPLES / "corpus", "-w", path, "--schema", EXAMPLES / "schema.yaml", "-q")
    assert result.exit_code == 0, result.output
    assert "sample facts" in result.output and "new documents" in result.output
    return path


def test_build_drops_every_junk_file(ws):
    report = json.loads((ws / "reports" / "latest.json").read_text())
    dropped = {d["source"].rsplit("/", 1)[-1]: d["step"] for d in report["drops"]}
    assert dropped == {
        "google_mirror.txt": "exact_duplicate", "tencent_repost.txt": "exact_duplicate",
        "ibm_syndicated.md": "near_duplicate", "xiaomi_reprint.txt": "near_duplicate",
        "coming_soon.txt": "too_short", "seo_spam.txt": "repetition",
        "stock_prices_dump.txt": "digits_punct", "article_fr.txt": "language",
        "legacy_gbk.txt": "read", "empty.md": "read", "logo.txt": "read",
    }
    assert report["new"] == 44 and report["totals"]["facts"] > 100


def test_cypher_query_as_json_and_params(ws):
    result = kg("query", "cypher", "-w", ws, "--format", "json",
                "MATCH (p:Entity {type:'Person'})-[r:RELATION]->(o) WHERE r.predicate = $p "
                "RETURN p.name AS person, o.name AS org", "-p", "p=ceo_of")
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert {"person": "Tim Cook", "org": "Apple Inc."} in rows or any(
        r["person"] == "Tim Cook" for r in rows)


def test_sparql_query_csv(ws):
    result = kg("query", "sparql", "-w", ws, "--format", "csv",
                "SELECT ?name WHERE { ?o <https://kg.example.org/schema/founded_by> ?p . "
                "?p <http://www.w3.org/2000/01/rdf-schema#label> ?name } ORDER BY ?name")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "name" and "Jack Ma" in lines


@pytest.mark.parametrize("kind,text", [("cypher", "MATCH (n RETURN n"), ("sparql", "SELECT ?s WHERE {")])
def test_syntax_errors_are_one_line_exit_5(ws, kind, text):
    result = kg("query", kind, "-w", ws, text)
    assert result.exit_code == 5
    assert result.output.startswith("error:") and "Traceback" not in result.output


@pytest.mark.parametrize("kind,text", [
    ("cypher", "MATCH (n:Entity) DETACH DELETE n"),
    ("sparql", "DELETE WHERE { ?s ?p ?o }"),
])
def test_writes_need_write_flag(ws, kind, text):
    result = kg("query", kind, "-w", ws, text)
    assert result.exit_code == 5 and "--write" in result.output
    count = kg("stats", "-w", ws, "--json")
    assert json.loads(count.output)["totals"]["entities"] > 100


def test_stats_json(ws):
    data = json.loads(kg("stats", "-w", ws, "--json").output)
    assert data["documents by language"] == {"en": 24, "zh": 20}
    assert set(data["entities by type"]) == {"Person", "Organization", "Location", "Product"}
    assert data["stores"] == {"graph": "in sync", "rdf": "in sync"}


@pytest.mark.parametrize("fmt,name", [("turtle", "g.ttl"), ("ntriples", "g.nt"), ("jsonld", "g.jsonld")])
def test_export_rdf_parses(ws, tmp_path, fmt, name):
    out = tmp_path / name
    assert kg("export", out, "-w", ws, "--format", fmt).exit_code == 0
    graph = rdflib.Graph().parse(out, format={"turtle": "turtle", "ntriples": "nt", "jsonld": "json-ld"}[fmt])
    founded = rdflib.URIRef("https://kg.example.org/schema/founded_by")
    assert len(list(graph.triples((None, founded, None)))) >= 10


def test_export_tables_and_owl(ws, tmp_path):
    assert kg("export", tmp_path / "pq", "-w", ws, "--format", "parquet").exit_code == 0
    assert kg("export", tmp_path / "csv", "-w", ws, "--format", "csv").exit_code == 0
    assert (tmp_path / "csv" / "entities.csv").read_text().count("\n") > 100
    assert kg("export", tmp_path / "s.ttl", "-w", ws, "--format", "owl").exit_code == 0
    owl = rdflib.Graph().parse(tmp_path / "s.ttl")
    domain = rdflib.URIRef("http://www.w3.org/2000/01/rdf-schema#domain")
    assert len(list(owl.triples((None, domain, None)))) >= 10


def test_sync_rebuilds_stores(ws):
    shutil.rmtree(ws / "stores" / "graph-ladybug")
    assert kg("query", "cypher", "-w", ws, "RETURN 1").exit_code == 4
    assert kg("sync", "-w", ws).exit_code == 0
    result = kg("query", "cypher", "-w", ws, "--format", "json", "MATCH (e:Entity) RETURN count(e) AS n")
    assert json.loads(result.output)[0]["n"] > 100


def test_schema_typo_is_exit_2(tmp_path):
    bad = tmp_path / "s.yaml"
    bad.write_text((EXAMPLES / "schema.yaml").read_text(encoding="utf-8").replace("domain:", "domian:", 1),
                   encoding="utf-8")
    result = kg("build", EXAMPLES / "corpus", "-w", tmp_path / "ws", "--schema", bad, "-q")
    assert result.exit_code == 2 and "domian" in result.output


def test_newer_workspace_is_refused(tmp_path):
    ws = tmp_path / "ws"
    ws.mkdir()
    (ws / "kg.toml").write_text("[workspace]\nformat = 99\n")
    result = kg("stats", "-w", ws)
    assert result.exit_code == 3 and "upgrade kg" in result.output
    assert kg("stats", "-w", tmp_path / "nothing").exit_code == 3


# -- the analysts' query library: kg query list / run (library tests in tests/kg/test_queries.py) ------

def test_query_list_shows_the_library(ws):
    result = kg("query", "list", "-w", ws, "--format", "json")
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert len(rows) >= 12 and rows["neighbours"]["languages"] == "cypher*, sparql"
    assert rows["neighbours"]["params"] == 'entity: str; relation: str = ""; limit: int = 50'
    table = kg("query", "list")
    assert table.exit_code == 0 and "entity_profile" in table.output


@pytest.mark.parametrize("lang", ["cypher", "sparql"])
def test_query_run_on_either_store(ws, lang):
    result = kg("query", "run", "entity_profile", "-w", ws, "-p", "entity=jack ma", "--lang", lang,
                "--format", "json")
    assert result.exit_code == 0, result.output
    (row,) = json.loads(result.output)
    assert row["name"] == "Jack Ma" and row["type"] == "Person" and row["facts_as_subject"] >= 3


def test_query_run_converts_params_and_prints_csv(ws):
    result = kg("query", "run", "paths", "-w", ws, "-p", "from_entity=Tim Cook", "-p", "to_entity=Steve Jobs",
                "-p", "max_hops=2", "-p", "limit=3", "--format", "csv")
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[0] == "hops,path" and len(lines) == 4 and all(" Steve Jobs" in line for line in lines[1:])


@pytest.mark.parametrize("args,code,message", [
    (["neighbors", "-p", "entity=x"], 2, "unknown query 'neighbors' (did you mean 'neighbours'?)"),
    (["neighbours"], 5, "needs --param entity="),
    (["neighbours", "-p", "entity=x", "-p", "limit=ten"], 5, "must be an int, got 'ten'"),
    (["neighbours", "-p", "entiy=x"], 5, "did you mean 'entity'"),
    (["neighbours", "-p", "entity"], 5, "must look like name=value"),
])
def test_query_run_errors_are_one_line(ws, args, code, message):
    result = kg("query", "run", *args, "-w", ws)
    assert result.exit_code == code, result.output
    assert result.output.startswith("error:") and message in result.output and "Traceback" not in result.output


def test_query_run_user_library(ws, tmp_path):
    (tmp_path / "people.cypher").write_text(
        "// name: people\n// description: People by name.\n// param: limit: int = 3 — maximum rows\n"
        "// sort: name\n\nMATCH (e:Entity) WHERE e.type = 'Person' RETURN e.name AS name ORDER BY name "
        "LIMIT $limit\n", encoding="utf-8")
    result = kg("query", "run", "people", "-w", ws, "--library", tmp_path, "--format", "json")
    assert result.exit_code == 0, result.output
    names = [row["name"] for row in json.loads(result.output)]
    assert len(names) == 3 and names == sorted(names)
    other = kg("query", "run", "people", "-w", ws, "--library", tmp_path, "--lang", "sparql")
    assert other.exit_code == 5 and "no sparql version" in other.output


def test_build_rejects_an_unknown_chinese_ner_before_touching_the_workspace(tmp_path):
    path = tmp_path / "ws"
    result = kg("build", EXAMPLES / "corpus", "-w", path, "--zh-ner", "no-such-model.pt", "-q")
    assert result.exit_code != 0 and "--zh-ner 'no-such-model.pt'" in result.output
    assert "no-such-model" not in (path / "kg.toml").read_text()  # not saved for the next build
