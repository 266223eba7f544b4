"""The analysts' query library (queries/, kg/queries.py): every query on every store, and header/param errors.

The example corpus is built once for the module, then grown by a second build (one new document, batch
b000002) and by a third batch (b000003) of inferred facts and plausibility scores written through the
bundle the way ``kg complete`` writes them, so batch, source, plausibility and contradiction queries have
something to find. Every query runs on every backend in
:data:`BACKENDS`; results must be real (known entities, types, sentences) and the same on each backend.

Each entry of :data:`BACKENDS` opens a store holding the workspace's graph: the embedded stores are the
workspace's own; the server backends (Neo4j over Bolt on ArcadeDB, Jena TDB2, the Oxigraph HTTP
endpoint) are filled from the bundle the way ``kg sync`` does.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest

from kg.errors import ConfigError, QueryError, UnknownComponentError
from kg.bundle import inferred_tables
from kg.queries import (
    REQUIRED,
    LibraryQuery,
    QueryLibrary,
    QueryParam,
    UnknownQueryError,
    execute,
    library_folders,
    load_folder,
    parse_header,
    parse_param_args,
    run_library_query,
)
from kg.schema import load_schema
from kg.stores.base import Store
from kg.sync import open_store, sync_stores
from kg.workspace import Workspace
from tests.conftest import EXAMPLES

NEW_DOCUMENT = (
    "Nordlys Robotics was founded by Ingrid Solberg in Oslo in 2015. Ingrid Solberg was born in Bergen "
    "and studied engineering at the Norwegian University of Science and Technology before she started "
    "the company. Nordlys Robotics is headquartered in Oslo, the capital of Norway, and sells warehouse "
    "robots to retailers across Europe."
)
INFERRED = [("Jack Ma", "born_in", "Zhejiang"), ("Tim Cook", "educated_at", "Stanford University")]

MODEL = "test-model@1"
"""The model name on the inferred facts and scores of batch b000003."""


def _filled(ws: Workspace, store: Store) -> Store:
    """``store`` holding the bundle's graph, as ``kg sync`` would leave it."""
    store.open()
    store.load(ws.bundle.view())
    return store


def _neo4j(ws: Workspace, request: pytest.FixtureRequest) -> Store:
    from kg.stores.neo4j import Neo4jStore

    server = request.getfixturevalue("arcadedb")
    return _filled(ws, Neo4jStore(**server.settings(database=server.new_database("queries"))))


def _sparql(ws: Workspace, request: pytest.FixtureRequest) -> Store:
    from kg.stores.sparql import SparqlEndpointStore

    server = request.getfixturevalue("oxigraph_http")
    server.clear()
    return _filled(ws, SparqlEndpointStore(**server.settings()))


def _jena(ws: Workspace, request: pytest.FixtureRequest) -> Store:
    from kg.stores.jena import JenaStore

    tools = request.getfixturevalue("jena")
    location = request.getfixturevalue("tmp_path_factory").mktemp("jena") / "tdb2"
    return _filled(ws, JenaStore(location, jena_jars=str(tools.jars), java=tools.java))


BACKENDS: dict[str, Callable[[Workspace, pytest.FixtureRequest], Store]] = {
    "ladybug": lambda ws, request: open_store(ws, "graph", read_only=True),
    "oxigraph": lambda ws, request: open_store(ws, "rdf", read_only=True),
    "neo4j": _neo4j,
    "sparql": _sparql,
    "jena": _jena,
}
"""Backend name -> opener of a store holding the example graph (the first is the reference)."""


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    from kg.build import build

    root = tmp_path_factory.mktemp("queries")
    corpus = root / "corpus"
    shutil.copytree(EXAMPLES / "corpus", corpus)
    workspace = Workspace(root / "ws").open(create=True)
    workspace.config.extraction.schema_path = str(EXAMPLES / "schema.yaml")
    workspace.save_config()
    build(workspace, [corpus])  # b000001
    (corpus / "en" / "nordlys.txt").write_text(NEW_DOCUMENT, encoding="utf-8")
    build(workspace, [corpus])  # b000002: one new document
    commit_inferred(workspace)  # b000003: inferred facts and scores
    sync_stores(workspace)
    return workspace


def commit_inferred(ws: Workspace) -> None:
    """Commit :data:`INFERRED` (score 0.7) and a plausibility for every fact, as ``kg complete`` does.

    Plausibilities are spread over [0, 1) by fact id, so some facts fall below any threshold.
    """
    ids = {row["name"]: eid for eid, row in ws.bundle.entity_rows().items()}
    batch = ws.bundle.next_batch_id()
    proposals = [{"subject": ids[s], "predicate": p, "object": ids[o], "open": False, "score": 0.7}
                 for s, p, o in INFERRED]
    fact_ids = ws.bundle.view().facts["id"].to_pylist()
    scores = {fid: (int(fid.split(":")[1], 16) % 1000) / 1000 for fid in fact_ids}
    ws.bundle.commit(batch, inferred_tables(batch, MODEL, proposals, scores))


class Stores(dict):
    """Stores by backend name, opened on first use (a server starts only when a test needs it)."""

    def __init__(self, ws: Workspace) -> None:
        super().__init__()
        self.ws = ws

    def open(self, name: str, request: pytest.FixtureRequest) -> Store:
        if name not in self:
            self[name] = BACKENDS[name](self.ws, request)
        return self[name]


@pytest.fixture(scope="module")
def stores(ws):
    opened = Stores(ws)
    yield opened
    for store in opened.values():
        store.close()


@pytest.fixture(scope="module")
def library() -> QueryLibrary:
    return QueryLibrary.load([library_folders()[0]])  # the built-in library only, whatever the env says


@pytest.fixture(scope="module")
def schema():
    return load_schema(EXAMPLES / "schema.yaml")


SERVER_BACKENDS = frozenset({"neo4j", "sparql", "jena"})


@pytest.fixture(params=[pytest.param(name, marks=[pytest.mark.server] if name in SERVER_BACKENDS else [])
                        for name in BACKENDS])
def backend(request, stores) -> str:
    stores.open(request.param, request)
    return request.param


def run(library, stores, schema, backend: str, name: str, **params: Any) -> list[dict[str, Any]]:
    return execute(library.get(name), stores[backend], params, schema=schema).dicts()


# -- the library itself ------------------------------------------------------------------------------

ALL_QUERIES = {
    "entity_profile", "neighbours", "paths", "fact_evidence", "top_entities", "document_facts",
    "facts_by_source", "contradictions", "orphans", "relation_counts", "entities_by_alias", "batch_facts",
    "batch_entities", "implausible_facts",
}


def test_library_has_every_query_in_both_languages(library):
    assert set(library.names) == ALL_QUERIES
    for query in library:
        assert query.languages == ("cypher", "sparql"), query.name
        assert query.description and all(p.description for p in query.params), query.name
        names = {p.name for p in query.params}
        assert not names & {c for c, _ in query.sort}, f"{query.name}: a parameter doubles as a column"


def test_library_queries_format_no_values_into_text(library):
    # parameters only: no Python format fields, and every declared parameter is used in every file
    for query in library:
        for language, qfile in query.files.items():
            body = qfile.text
            assert "{}" not in body and "%s" not in body
            for param in query.params:
                if language == "sparql" and param.name == "limit":
                    assert "?limit" not in body  # LIMIT cannot be a variable; the runner cuts
                    continue
                marker = ("$" if language == "cypher" else "?") + param.name
                assert marker in body, f"{qfile.path.name} never uses {marker}"


# -- every query on every backend, with real results -------------------------------------------------

def test_entity_profile(library, stores, schema, backend):
    (row,) = run(library, stores, schema, backend, "entity_profile", entity="jack ma")
    assert row["name"] == "Jack Ma" and row["type"] == "Person" and row["lang"] == "en"
    assert "马云" in _as_list(row["aliases"])
    assert set(_as_list(row["languages"])) == {"en", "zh"}
    assert row["facts_as_subject"] >= 3 and row["facts_as_object"] >= 1 and row["documents"] >= 3
    (by_id,) = run(library, stores, schema, backend, "entity_profile", entity=row["id"])
    assert by_id == row
    assert run(library, stores, schema, backend, "entity_profile", entity="no such entity") == []


def test_neighbours(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "neighbours", entity="Jack Ma")
    assert {"name": "Jack Ma", "direction": "in", "predicate": "founded_by", "neighbour": "Alibaba Group",
            "neighbour_type": "Organization"}.items() <= _find(rows, predicate="founded_by").items()
    born = run(library, stores, schema, backend, "neighbours", entity="Jack Ma", relation="born_in")
    assert {(r["neighbour"], r["direction"], r["source"]) for r in born} == {
        ("Hangzhou", "out", "extracted"), ("Zhejiang", "out", "inferred")}
    assert len(run(library, stores, schema, backend, "neighbours", entity="Jack Ma", limit=2)) == 2
    confidences = [r["confidence"] for r in rows]
    assert confidences == sorted(confidences, reverse=True)


def test_neighbours_open_relation_in_chinese(library, stores, schema, backend):
    # open relations keep their lemma, also through the percent-encoded IRIs of the RDF mapping
    rows = run(library, stores, schema, backend, "neighbours", entity="Alibaba Group", relation="创立")
    assert rows and all(r["predicate"] == "创立" for r in rows)


def test_paths_through_a_shared_neighbour(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "paths", from_entity="Tim Cook", to_entity="Steve Jobs",
               limit=100)
    two = [r["path"] for r in rows if r["hops"] == 2]
    assert any(" Apple Inc. " in p for p in two)
    assert all(p.startswith("Tim Cook ") and p.endswith(" Steve Jobs") for p in two)
    assert "Tim Cook -[ceo_of]-> Apple Inc. -[founded_by]-> Steve Jobs" in two
    assert [r["hops"] for r in rows] == sorted(r["hops"] for r in rows)
    short = run(library, stores, schema, backend, "paths", from_entity="Tim Cook", to_entity="Steve Jobs",
                max_hops=1)
    assert short and all(r["hops"] == 1 for r in short)
    # the inferred fact makes a one-hop path where extraction had two
    ma = run(library, stores, schema, backend, "paths", from_entity="Jack Ma", to_entity="zhejiang")
    assert ma[0] == {"hops": 1, "path": "Jack Ma -[born_in]-> Zhejiang"}
    assert {"hops": 2, "path": "Jack Ma -[born_in]-> Hangzhou -[located_in]-> Zhejiang"} in ma
    assert run(library, stores, schema, backend, "paths", from_entity="Jack Ma", to_entity="nobody") == []


def test_fact_evidence(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "fact_evidence", entity="Jack Ma", relation="founded_by")
    assert len(rows) >= 3 and {r["subject"] for r in rows} == {"Alibaba Group"}
    for row in rows:
        assert ("Jack Ma" in row["text"] or "马云" in row["text"]) and row["document"] and row["extractor"]
        assert row["end_char"] - row["start_char"] == len(row["text"]) and row["doc_id"].startswith("doc:")
        assert 0 < row["evidence_confidence"] <= row["confidence"] <= 1
    assert {r["document"].rsplit("/", 1)[-1] for r in rows} >= {"alibaba.txt"}


def test_top_entities(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "top_entities", limit=5)
    assert len(rows) == 5 and rows[0]["name"] == "Tencent"
    assert [r["degree"] for r in rows] == sorted((r["degree"] for r in rows), reverse=True)
    people = run(library, stores, schema, backend, "top_entities", entity_type="Person", limit=3)
    assert len(people) == 3 and {r["type"] for r in people} == {"Person"}
    (tencent,) = run(library, stores, schema, backend, "entity_profile", entity="Tencent")
    assert rows[0]["degree"] == tencent["facts_as_subject"] + tencent["facts_as_object"]


def test_document_facts(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "document_facts", doc="alibaba.txt", limit=500)
    # a file name matches every document of that name (the corpus has an English and a Chinese one)
    assert {"/".join(r["document"].split("/")[-2:]) for r in rows} == {"en/alibaba.txt", "zh/alibaba.txt"}
    assert any(r["predicate"] == "headquartered_in" and r["object"] == "Hangzhou" for r in rows)
    doc_id = rows[0]["doc_id"]
    by_id = run(library, stores, schema, backend, "document_facts", doc=doc_id, limit=500)
    assert by_id and {r["doc_id"] for r in by_id} == {doc_id}


def test_facts_by_source(library, stores, schema, backend):
    inferred = run(library, stores, schema, backend, "facts_by_source")
    assert {(r["subject"], r["predicate"], r["object"]) for r in inferred} == set(INFERRED)
    assert {(r["source"], r["confidence"], r["batch"], r["model"]) for r in inferred} == \
        {("inferred", 0.7, "b000003", MODEL)}
    extracted = run(library, stores, schema, backend, "facts_by_source", fact_source="extracted",
                    limit=100_000)
    assert extracted and {r["source"] for r in extracted} == {"extracted"}
    counts = run(library, stores, schema, backend, "relation_counts", fact_source="extracted")
    assert len(extracted) == sum(r["facts"] for r in counts)


def test_implausible_facts(library, ws, stores, schema, backend):
    rows = run(library, stores, schema, backend, "implausible_facts", max_plausibility=0.25, limit=100_000)
    facts = ws.bundle.view().facts.to_pylist()
    expected = sorted(f["plausibility"] for f in facts if f["source"] != "inferred" and f["plausibility"] < 0.25)
    assert rows and [r["plausibility"] for r in rows] == expected  # least plausible first
    assert {r["model"] for r in rows} == {MODEL}
    only = run(library, stores, schema, backend, "implausible_facts", max_plausibility=0.25, relation="located_in")
    assert only and {r["predicate"] for r in only} == {"located_in"} and len(only) < len(rows)


def test_contradictions_from_schema_functional_relations(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "contradictions", limit=1000)
    assert {r["predicate"] for r in rows} == {"born_in", "headquartered_in"}  # the schema's functional ones
    groups: dict[tuple, set] = {}
    for row in rows:
        groups.setdefault((row["subject_id"], row["predicate"]), set()).add(row["object"])
    assert all(len(objects) >= 2 for objects in groups.values())
    assert all(r["objects"] == len(groups[(r["subject_id"], r["predicate"])]) for r in rows)
    jack = {(r["object"], r["source"]) for r in rows if r["subject"] == "Jack Ma"}
    assert jack == {("Hangzhou", "extracted"), ("Zhejiang", "inferred")}
    one = run(library, stores, schema, backend, "contradictions", relation="headquartered_in", limit=1000)
    assert one and {r["predicate"] for r in one} == {"headquartered_in"}


def test_orphans(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "orphans", limit=100_000)
    assert len(rows) > 50
    for row in rows[:5]:
        assert run(library, stores, schema, backend, "neighbours", entity=row["id"]) == []
    located = run(library, stores, schema, backend, "orphans", entity_type="Location", limit=3)
    assert len(located) == 3 and {r["type"] for r in located} == {"Location"}


def test_relation_counts(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "relation_counts")
    assert sum(r["facts"] for r in rows) == stores[backend].counts()["facts"]
    by_key = {(r["predicate"], r["source"]): r for r in rows}
    assert by_key[("born_in", "inferred")]["facts"] == 1 and by_key[("located_in", "extracted")]["facts"] > 10
    assert by_key[("founded_by", "extracted")]["evidence"] > by_key[("founded_by", "extracted")]["facts"]
    assert any(r["open"] and r["predicate"] == "创立" for r in rows)


def test_entities_by_alias(library, stores, schema, backend):
    rows = run(library, stores, schema, backend, "entities_by_alias", alias="马云")
    assert [(r["name"], r["type"]) for r in rows] == [("Jack Ma", "Person")]
    assert run(library, stores, schema, backend, "entities_by_alias", alias="ma yun")[0]["name"] == "Jack Ma"
    assert run(library, stores, schema, backend, "entities_by_alias", alias="Ma Yu") == []
    loose = run(library, stores, schema, backend, "entities_by_alias", alias="Ma Yu", exact=False)
    assert [r["name"] for r in loose] == ["Jack Ma"]


def test_batch_facts(library, stores, schema, backend):
    latest = run(library, stores, schema, backend, "batch_facts")
    assert {(r["subject"], r["predicate"], r["object"], r["batch"]) for r in latest} == {
        (*fact, "b000003") for fact in INFERRED}
    first = run(library, stores, schema, backend, "batch_facts", batch_id="b000001", limit=100_000)
    assert len(first) > 100 and {r["batch"] for r in first} == {"b000001"}
    assert run(library, stores, schema, backend, "batch_facts", batch_id="b999999") == []


def test_batch_entities(library, stores, schema, backend):
    assert run(library, stores, schema, backend, "batch_entities") == []  # inferred facts add no entity
    new = {r["name"] for r in run(library, stores, schema, backend, "batch_entities", batch_id="b000002")}
    old = {r["name"] for r in run(library, stores, schema, backend, "batch_entities", batch_id="b000001",
                                  limit=100_000)}
    assert new and not new & old and "Jack Ma" in old
    assert new & {"Nordlys Robotics", "Ingrid Solberg", "Bergen", "Oslo", "Norway"}


# -- the backends agree -------------------------------------------------------------------------------

AGREEMENT_CASES = [
    ("entity_profile", {"entity": "Beijing"}),
    ("neighbours", {"entity": "Tencent", "limit": 1000}),
    ("paths", {"from_entity": "Jack Ma", "to_entity": "Alibaba Group", "limit": 1000}),
    ("fact_evidence", {"limit": 100_000}),
    ("top_entities", {"limit": 1000}),
    ("document_facts", {"doc": "tencent.txt", "limit": 1000}),
    ("facts_by_source", {"fact_source": "extracted", "limit": 100_000}),
    ("contradictions", {"limit": 1000}),
    ("orphans", {"limit": 100_000}),
    ("relation_counts", {}),
    ("entities_by_alias", {"alias": "a", "exact": False, "limit": 1000}),
    ("batch_facts", {"batch_id": "b000002"}),
    ("batch_entities", {"batch_id": "b000001", "limit": 100_000}),
    ("implausible_facts", {"max_plausibility": 0.3, "limit": 100_000}),
]


def test_agreement_cases_cover_the_library(library):
    assert {name for name, _ in AGREEMENT_CASES} == set(library.names)


@pytest.mark.server
@pytest.mark.parametrize("name,params", AGREEMENT_CASES, ids=[c[0] for c in AGREEMENT_CASES])
def test_backends_return_the_same_rows(request, library, stores, schema, name, params):
    results = {b: execute(library.get(name), stores.open(b, request), params, schema=schema) for b in BACKENDS}
    reference_name, reference = next(iter(results.items()))
    assert reference.rows, f"{name} found nothing on {reference_name}; pick parameters that match"
    for backend_name, result in results.items():
        assert result.columns == reference.columns, backend_name
        assert _normal(result) == _normal(reference), f"{name}: {backend_name} != {reference_name}"


def test_sparql_prefixes_follow_the_store_base_iri(request, library, ws, stores, schema):
    from kg.stores.oxigraph import OxigraphStore

    with OxigraphStore(base_iri="https://other.example.net/graph#") as other:
        other.load(ws.bundle.view())
        for name, params in (("relation_counts", {}), ("neighbours", {"entity": "Tencent"})):
            moved = execute(library.get(name), other, params, schema=schema)
            assert moved.rows and moved.rows == execute(library.get(name), stores.open("oxigraph", request), params,
                                                        schema=schema).rows


def _as_list(value: Any) -> list:
    # Cypher returns lists; SPARQL has no list values and returns ", "-joined strings
    if isinstance(value, list):
        return value
    return [item for item in value.split(", ") if item] if value else []


LIST_COLUMNS = frozenset({"aliases", "languages"})


def _normal(result) -> list[tuple]:
    lists = [i for i, column in enumerate(result.columns) if column in LIST_COLUMNS]
    return [tuple(sorted(_as_list(v)) if i in lists else v for i, v in enumerate(row)) for row in result.rows]


def _find(rows: list[dict], **wanted: Any) -> dict:
    return next(r for r in rows if all(r[k] == v for k, v in wanted.items()))


# -- running through the workspace ----------------------------------------------------------------

def test_run_library_query_picks_cypher_first_and_honours_lang(ws, library):
    cypher = run_library_query(ws, "entity_profile", {"entity": "Jack Ma"}, library=library)
    sparql = run_library_query(ws, "entity_profile", {"entity": "Jack Ma"}, lang="sparql", library=library)
    assert isinstance(cypher.rows[0][cypher.columns.index("aliases")], list)  # Cypher ran
    assert isinstance(sparql.rows[0][sparql.columns.index("aliases")], str)  # SPARQL ran
    assert cypher.column("facts_as_subject") == sparql.column("facts_as_subject")
    # text values from the command line are converted to the declared types
    rows = run_library_query(ws, "paths", {"from_entity": "Tim Cook", "to_entity": "Steve Jobs",
                                           "max_hops": "1", "limit": "2"}, library=library)
    assert len(rows) <= 2 and all(h == 1 for h in rows.column("hops"))
    # the functional relations come from the workspace's schema
    assert run_library_query(ws, "contradictions", {}, library=library).rows


# -- header parsing -----------------------------------------------------------------------------------

GOOD = """// name: demo
// description: A demo query.
// param: entity: str — an entity
// param: relation: str = "" — a relation
// param: limit: int = 25 -- maximum rows
// param: ratio: float = 0.5 — a ratio
// param: exact: bool = false — exact matching
// param: functional: str = @functional — a functional relation
// sort: name, degree desc

MATCH (e:Entity) RETURN e.name AS name
"""


def test_parse_header_reads_types_defaults_and_sort():
    header = parse_header(GOOD, "cypher", "demo.cypher")
    assert header["name"] == "demo" and header["description"] == "A demo query."
    params = {p.name: p for p in header["params"]}
    assert params["entity"] == QueryParam("entity", "str", "an entity", REQUIRED)
    assert params["entity"].required and not params["functional"].required
    assert params["relation"].default == "" and params["limit"].default == 25
    assert params["ratio"].default == 0.5 and params["exact"].default is False
    assert params["functional"].schema_default == "functional"
    assert params["limit"].description == "maximum rows"
    assert header["sort"] == (("name", False), ("degree", True)) and header["decode"] == ()
    sparql = GOOD.replace("// ", "# ").replace("# sort", "# decode: name\n# sort")
    assert parse_header(sparql, "sparql", "demo.rq")["decode"] == ("name",)


@pytest.mark.parametrize("header,message", [
    ("// description: no name\n", "no `// name"),
    ("// name: demo\n", "no `// description"),
    ("// name: demo\n// description: d\n// parm: x: int\n", "line 3"),
    ("// name: demo\n// description: d\n// this is a note\n", "key: value"),
    ("// name: demo\n// description: d\n// param: limit: integer = 5 — rows\n", "did you mean 'int'"),
    ("// name: demo\n// description: d\n// param: limit: int = ten — rows\n", "is not an int"),
    ("// name: demo\n// description: d\n// param: exact: bool = maybe — x\n", "not a bool"),
    ("// name: demo\n// description: d\n// param: 2x: int\n", "bad parameter line"),
    ("// name: demo\n// description: d\n// param: x: int\n// param: x: str\n", "declared twice"),
    ("// name: demo\n// name: demo2\n// description: d\n", "appears twice"),
    ("// name: demo\n// description: d\n// param: r: str = @symmetric — x\n", "unknown schema default"),
    ("// name: demo\n// description: d\n// param: r: int = @functional — x\n", "must be str"),
    ("// name: demo\n// description: d\n// decode: name\n", "SPARQL (.rq) files only"),
    ("// name: demo\n// description: d\n// sort: name descending\n", "bad sort item"),
    ("// name: de-mo\n// description: d\n", "letters, digits"),
])
def test_parse_header_errors_name_the_problem(header, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_header(header + "\nRETURN 1\n", "cypher", "demo.cypher")


def test_header_ends_at_first_non_comment_line():
    text = "// name: demo\n// description: d\n\n// free comment: anything goes after the header\nRETURN 1\n"
    assert parse_header(text, "cypher")["params"] == ()


def test_folder_checks_names_and_agreement(tmp_path):
    (tmp_path / "one.cypher").write_text("// name: other\n// description: d\nRETURN 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="differs from the file name"):
        load_folder(tmp_path)
    (tmp_path / "one.cypher").write_text("// name: one\n// description: d\n// param: x: int\nRETURN $x\n",
                                         encoding="utf-8")
    (tmp_path / "one.rq").write_text("# name: one\n# description: d\n# param: x: str\nSELECT ?x {}\n",
                                     encoding="utf-8")
    with pytest.raises(ConfigError, match="different params"):
        load_folder(tmp_path)
    (tmp_path / "one.rq").write_text("# name: one\n# description: d\n# param: x: int\nSELECT ?x {}\n",
                                     encoding="utf-8")
    (tmp_path / "notes.txt").write_text("ignored", encoding="utf-8")
    (query,) = load_folder(tmp_path)
    assert query.name == "one" and query.languages == ("cypher", "sparql")


def test_user_library_adds_and_overrides(tmp_path, monkeypatch):
    (tmp_path / "neighbours.cypher").write_text(
        "// name: neighbours\n// description: mine\nRETURN 1 AS one\n", encoding="utf-8")
    (tmp_path / "mine.rq").write_text("# name: mine\n# description: d\nSELECT * {}\n", encoding="utf-8")
    monkeypatch.setenv("KG_QUERY_LIBRARY", str(tmp_path))
    lib = QueryLibrary.load()
    assert lib.get("neighbours").description == "mine" and "mine" in lib and "paths" in lib
    monkeypatch.delenv("KG_QUERY_LIBRARY")
    assert QueryLibrary.load(library_folders([tmp_path])).get("neighbours").description == "mine"
    with pytest.raises(ConfigError, match="does not exist"):
        library_folders([tmp_path / "missing"])


# -- parameters ---------------------------------------------------------------------------------------

@pytest.fixture()
def demo() -> LibraryQuery:
    header = parse_header(GOOD, "cypher")
    return LibraryQuery("demo", header["description"], header["params"], header["sort"])


def test_bind_converts_text_and_fills_defaults(demo):
    bound = demo.bind({"entity": "Ada", "limit": "7", "ratio": "1", "exact": "YES"})
    assert bound == {"entity": "Ada", "relation": "", "limit": 7, "ratio": 1.0, "exact": True}
    assert demo.bind({"entity": "Ada", "limit": 3, "ratio": 2, "exact": False})["ratio"] == 2.0
    assert demo.bind({"entity": "123"})["entity"] == "123"  # str parameters keep text as is


@pytest.mark.parametrize("values,message", [
    ({"entity": "x", "limt": "3"}, "has no parameter 'limt' (did you mean 'limit'?)"),
    ({}, "needs --param entity="),
    ({"entity": "x", "limit": "ten"}, "'limit' of query 'demo' must be an int, got 'ten'"),
    ({"entity": "x", "limit": "2.5"}, "must be an int"),
    ({"entity": "x", "ratio": "half"}, "must be a float"),
    ({"entity": "x", "exact": "maybe"}, "must be a bool"),
    ({"entity": "x", "limit": True}, "must be an int"),
    ({"entity": "x", "exact": 1}, "must be a bool"),
    ({"entity": 5}, "must be a str"),
    ({"entity": "x", "limit": "-1"}, "must be >= 0"),
])
def test_bind_errors_say_what_to_pass(demo, values, message):
    with pytest.raises(QueryError, match=message.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
        demo.bind(values)


def test_parse_param_args():
    assert parse_param_args(["a=1", "b=x=y", "c="]) == {"a": "1", "b": "x=y", "c": ""}
    with pytest.raises(QueryError, match="name=value"):
        parse_param_args(["novalue"])
    with pytest.raises(QueryError, match="given twice"):
        parse_param_args(["a=1", "a=2"])


def test_unknown_query_suggests_a_name(library):
    with pytest.raises(UnknownQueryError, match=r"unknown query 'neighbors' \(did you mean 'neighbours'\?\)"):
        library.get("neighbors")
    assert issubclass(UnknownQueryError, UnknownComponentError)
    with pytest.raises(UnknownQueryError, match="choose one of: .*paths"):
        library.get("zzz")


def test_execute_errors(request, library, stores, schema):
    only_sparql = LibraryQuery("x", "d", files={"sparql": library.get("paths").files["sparql"]})
    with pytest.raises(QueryError, match="no cypher version"):
        execute(only_sparql, stores.open("ladybug", request), {})
    with pytest.raises(QueryError, match="has no schema"):
        execute(library.get("contradictions"), stores.open("ladybug", request), {})
    no_functional = schema.model_copy(update={"relation_types": {
        name: rel.model_copy(update={"functional": False}) for name, rel in schema.relation_types.items()}})
    with pytest.raises(QueryError, match="marks no relation `functional: true`"):
        execute(library.get("contradictions"), stores.open("oxigraph", request), {}, schema=no_functional)
    assert execute(library.get("contradictions"), stores.open("ladybug", request), {"relation": "born_in"}).rows


def test_wheels_carry_the_whole_library():
    import glob
    import tomllib

    from tests.conftest import ROOT

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = pyproject["tool"]["setuptools"]["data-files"]["share/kg/queries"]
    shipped = {Path(p).name for pattern in patterns for p in glob.glob(str(ROOT / pattern))}
    assert shipped == {p.name for p in (ROOT / "queries").iterdir() if p.suffix in (".cypher", ".rq")}
