"""SPARQL 1.1 endpoint backend: the TripleStore conformance suite over HTTP, plus protocol errors.

The endpoint is ``oxigraph serve`` (``oxigraph_http`` fixture in tests/servers/oxigraph_http.py). It has
no authentication, so the protocol-error cases (401, an HTML page, a server slower than the timeout)
run against a tiny ``http.server`` on 127.0.0.1 that answers just that. The SPARQL-text core
(:mod:`kg.stores.sparql_protocol`: parameter binding, result parsing) is tested here without a server.

``PARITY_QUERIES`` and :func:`assert_same_answers` are shared with the Jena tests: every SPARQL-text
backend must answer them exactly like the embedded Oxigraph store.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pyoxigraph as ox
import pytest
import rdflib

from kg.errors import ConfigError, QueryError, StoreError
from kg.stores import triple_store
from kg.stores.oxigraph import OxigraphStore
from kg.stores.sparql import SparqlEndpointStore
from kg.stores.sparql_protocol import (
    bind_parameters,
    json_value,
    parse_json_results,
    query_form,
    rechunk_lines,
)
from tests.servers.arcadedb import free_port

try:  # tests may or may not be a package, depending on how pytest is configured
    from .conformance import NASTY, TripleStoreContract, nasty_view, sample_view
except ImportError:
    from conformance import NASTY, TripleStoreContract, nasty_view, sample_view

pytest.importorskip("httpx", reason="pip install 'kg[server]' for httpx")

server = pytest.mark.server
ROOT = Path(__file__).resolve().parents[3]

PREFIXES = (
    "PREFIX kg: <https://kg.example.org/vocab/>\n"
    "PREFIX rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#>\n"
    "PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>\n"
)
ENT = "https://kg.example.org/entity/"


@pytest.fixture
def store(oxigraph_http) -> Iterator[SparqlEndpointStore]:
    """A fresh, open store on the session's (emptied) Oxigraph endpoint."""
    oxigraph_http.clear()
    with SparqlEndpointStore(**oxigraph_http.settings()) as opened:
        yield opened


@server
class TestSparqlEndpointConformance(TripleStoreContract):
    """Every TripleStore contract test, against a SPARQL 1.1 endpoint over HTTP."""


# -- same answers as the embedded Oxigraph store -------------------------------------------------------

PARITY_QUERIES: list[tuple[str, str, dict[str, Any]]] = [
    (
        "param in FILTERs of UNION branches",
        PREFIXES + "SELECT ?name ?e ?label WHERE { { ?e a kg:Entity ; rdfs:label ?label "
        "FILTER(LCASE(STR(?label)) = LCASE(?name)) } UNION { ?e kg:source ?label FILTER(?label = ?name) } }",
        {"name": "ada lovelace"},
    ),
    (
        "param grouped by and counted",
        PREFIXES + "SELECT ?lang (COUNT(?e) AS ?n) WHERE { ?e a kg:Entity ; rdfs:label ?l "
        "FILTER(LANG(?l) = ?lang) } GROUP BY ?lang ORDER BY ?lang",
        {"lang": "zh"},
    ),
    (
        "float param in FILTER and ORDER BY",
        PREFIXES + "SELECT ?min ?f ?c WHERE { ?f kg:confidence ?c FILTER(?c >= ?min) } ORDER BY ?min ?f",
        {"min": 0.5},
    ),
    (
        "int param in OPTIONAL",
        PREFIXES + "SELECT ?n ?f ?src WHERE { ?f kg:evidenceCount ?n OPTIONAL { ?f kg:source ?src "
        "FILTER(?n > 0) } } ORDER BY ?f",
        {"n": 1},
    ),
    ("bool param", PREFIXES + "SELECT ?open ?f WHERE { ?f kg:open ?open }", {"open": True}),
    (
        "IRI param in EXISTS",
        PREFIXES + "SELECT ?e ?name WHERE { ?x rdfs:label ?name FILTER EXISTS { ?e rdfs:label ?name } }",
        {"e": ox.NamedNode(ENT + "london")},
    ),
    (
        "param in a subquery",
        PREFIXES + "SELECT ?type ?n WHERE { { SELECT ?type (COUNT(?e) AS ?n) WHERE { ?e a ?type } "
        "GROUP BY ?type } }",
        {"type": ox.NamedNode("https://kg.example.org/schema/Person")},
    ),
    (
        "'?name' in a comment and a string is not the variable",
        PREFIXES + "SELECT ?name ?e WHERE { ?e rdfs:label ?name . # ?name here\n"
        ' FILTER(?name != "?name" && ?name != \'$name\') }',
        {"name": ox.Literal("London", language="en")},
    ),
    ("ASK", PREFIXES + "ASK { ?e rdfs:label ?name }", {"name": ox.Literal("李白", language="zh")}),
    (
        "CONSTRUCT",
        PREFIXES + "CONSTRUCT { ?e rdfs:label ?name } WHERE { ?e rdfs:label ?name }",
        {"name": ox.Literal("长安", language="zh")},
    ),
    ("SELECT *", PREFIXES + "SELECT * WHERE { ?d kg:source ?source }", {"source": "corpus/b.txt"}),
    ("rdflib terms", PREFIXES + "SELECT ?e ?name WHERE { ?e rdfs:label ?name }",
     {"e": rdflib.URIRef(ENT + "ada"), "name": rdflib.Literal("Ada Lovelace", lang="en")}),
    *[
        (f"nasty string {i} matches nothing", PREFIXES + "SELECT ?name ?e WHERE { ?e rdfs:label ?name }",
         {"name": text})
        for i, text in enumerate(NASTY)
    ],
]


def _answer(store: Any, text: str, params: dict[str, Any]) -> Any:
    result = store.query(text, params)
    if "SELECT *" in text:  # engines order the variables of `*` differently
        return sorted(sorted(row.items()) for row in result.dicts())
    return result.columns, sorted(result.rows, key=repr)


def assert_same_answers(store: Any, text: str, params: dict[str, Any]) -> None:
    """``store`` (loaded with :func:`sample_view`) answers like the embedded Oxigraph store."""
    with OxigraphStore() as reference:
        reference.load(sample_view())
        expected = _answer(reference, text, params)
    assert _answer(store, text, params) == expected


@server
@pytest.mark.parametrize(("case", "text", "params"), PARITY_QUERIES, ids=[c[0] for c in PARITY_QUERIES])
def test_same_answers_as_oxigraph(store: SparqlEndpointStore, case: str, text: str, params: dict) -> None:
    store.load(sample_view())
    assert_same_answers(store, text, params)


@server
def test_library_queries_give_oxigraph_answers(store: SparqlEndpointStore) -> None:
    check_library_queries(store)


def check_library_queries(store: Any) -> None:
    """The query library's .rq files answer on ``store`` as on the embedded Oxigraph store."""
    from kg.queries import execute, load_folder

    store.load(sample_view())
    queries = {q.name: q for q in load_folder(ROOT / "queries") if "sparql" in q.languages}
    params = {
        "neighbours": {"entity": "Ada Lovelace"},
        "entity_profile": {"entity": "李白"},
        "paths": {"from_entity": "Ada Lovelace", "to_entity": "London"},
    }
    checked = 0
    with OxigraphStore() as reference:
        reference.load(sample_view())
        for name, values in params.items():
            if name in queries:
                expected = execute(queries[name], reference, values)
                assert expected.rows, f"{name} finds nothing in the sample graph; pick other parameters"
                assert _unordered_lists(execute(queries[name], store, values)) == _unordered_lists(expected)
                checked += 1
    assert checked


def _unordered_lists(result: Any) -> Any:
    """Rows with ", "-joined lists sorted: GROUP_CONCAT has no defined order, engines differ."""
    return result.columns, [
        tuple(", ".join(sorted(v.split(", "))) if isinstance(v, str) else v for v in row)
        for row in result.rows
    ]


# -- writes over HTTP ----------------------------------------------------------------------------------


@server
def test_chunked_upload_and_insert_data_fallback(oxigraph_http, monkeypatch: pytest.MonkeyPatch) -> None:
    posts: list[str] = []
    original = SparqlEndpointStore._post

    def counting(self, url, setting, what, **kwargs):
        posts.append(setting)
        return original(self, url, setting, what, **kwargs)

    monkeypatch.setattr(SparqlEndpointStore, "_post", counting)
    oxigraph_http.clear()
    with OxigraphStore() as reference:
        reference.load(nasty_view())
        expected = reference.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }").rows
    with SparqlEndpointStore(**oxigraph_http.settings(chunk_triples=7)) as chunked:
        chunked.load(nasty_view())
        assert sorted(chunked.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }").rows) == sorted(expected)
    assert posts.count("data_url") == -(-len(expected) // 7)  # ceil: every chunk is one GSP POST
    posts.clear()
    with SparqlEndpointStore(**oxigraph_http.settings(data_url="", chunk_triples=50)) as no_gsp:
        no_gsp.load(nasty_view())
        assert sorted(no_gsp.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }").rows) == sorted(expected)
    assert "data_url" not in posts and posts.count("update_url") == 1 + -(-len(expected) // 50)


@server
def test_upsert_and_retract_are_one_request_each(store: SparqlEndpointStore,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    store.load(sample_view())
    updates: list[str] = []
    original = SparqlEndpointStore._update

    def counting(self: SparqlEndpointStore, text: str) -> None:
        updates.append(text)
        original(self, text)

    monkeypatch.setattr(SparqlEndpointStore, "_update", counting)
    store.upsert(sample_view())
    store.retract_documents(["d1", "d2"])
    assert len(updates) == 2


@server
def test_large_upsert_is_deletes_then_bulk_load(store: SparqlEndpointStore,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    store.load(sample_view())
    before = store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }").rows
    monkeypatch.setattr(store, "max_update_bytes", 600)
    store.upsert(sample_view())
    assert sorted(store.query("SELECT ?s ?p ?o WHERE { ?s ?p ?o }").rows) == sorted(before)


@server
def test_load_clears_only_the_default_graph(store: SparqlEndpointStore, oxigraph_http) -> None:
    oxigraph_http.update("INSERT DATA { GRAPH <urn:other> { <urn:a> <urn:b> <urn:c> } }")
    store.load(sample_view())
    store.load(sample_view())
    assert oxigraph_http.ask("ASK { GRAPH <urn:other> { <urn:a> <urn:b> <urn:c> } }")
    assert store.counts()["entities"] == 6


@server
def test_read_only_store_refuses_writes(oxigraph_http) -> None:
    oxigraph_http.clear()
    with SparqlEndpointStore(**oxigraph_http.settings()) as writer:
        writer.load(sample_view())
    with SparqlEndpointStore(**oxigraph_http.settings(read_only=True)) as reader:
        assert reader.counts()["facts"] == 5
        with pytest.raises(StoreError, match="read_only"):
            reader.upsert(sample_view())
        with pytest.raises(StoreError, match="read_only"):
            reader.query("CLEAR ALL", write=True)
        with pytest.raises(QueryError, match="write=True"):
            reader.query("CLEAR ALL")
        assert reader.counts()["facts"] == 5


@server
def test_write_without_update_url_says_which_setting(oxigraph_http) -> None:
    with SparqlEndpointStore(oxigraph_http.query_url) as store, pytest.raises(StoreError, match="update_url"):
        store.load(sample_view())


@server
def test_syntax_error_is_one_line_query_error(store: SparqlEndpointStore) -> None:
    with pytest.raises(QueryError, match="rejected the query") as info:
        store.query("SELECT ?x WHERE { ?x ")
    assert "\n" not in str(info.value)
    with pytest.raises(QueryError, match="rejected the update"):
        store.query("INSERT DATA { <urn:a> ", write=True)


# -- protocol errors ------------------------------------------------------------------------------------


class _FakeEndpoint(ThreadingHTTPServer):
    """A 127.0.0.1 HTTP server that answers every POST with ``respond(handler)``; records requests."""

    daemon_threads = True

    def __init__(self, respond: Callable[[BaseHTTPRequestHandler], None]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.respond = respond
        self.requests: list[tuple[str, str, bytes]] = []
        self.release = threading.Event()  # ends a deliberately slow answer at teardown

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/sparql"


class _Handler(BaseHTTPRequestHandler):
    server: _FakeEndpoint

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.requests.append((self.path, self.headers.get("Content-Type", ""), body))
        self.server.respond(self)

    def log_message(self, *args: Any) -> None:  # keep test output clean
        pass


def _reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, content_type: str,
           headers: dict[str, str] | None = None) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(body)))
    for key, value in (headers or {}).items():
        handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(body)


_ASK_TRUE = json.dumps({"head": {}, "boolean": True}).encode()


@pytest.fixture
def fake_endpoint() -> Iterator[Callable[[Callable[[BaseHTTPRequestHandler], None]], _FakeEndpoint]]:
    """Start fake endpoints with a given answer; all are stopped after the test."""
    started: list[_FakeEndpoint] = []

    def start(respond: Callable[[BaseHTTPRequestHandler], None]) -> _FakeEndpoint:
        endpoint = _FakeEndpoint(respond)
        threading.Thread(target=endpoint.serve_forever, daemon=True).start()
        started.append(endpoint)
        return endpoint

    yield start
    for endpoint in started:
        endpoint.release.set()
        endpoint.shutdown()
        endpoint.server_close()


def test_server_down_names_the_url_and_setting() -> None:
    url = f"http://127.0.0.1:{free_port()}/query"
    store = SparqlEndpointStore(url)  # constructing does no I/O
    with pytest.raises(StoreError, match=r"cannot reach the SPARQL endpoint .*\[sparql\] query_url") as info:
        store.open()
    assert url in str(info.value) and "\n" not in str(info.value)
    assert not store.is_open


def test_wrong_password_is_a_credentials_error(fake_endpoint) -> None:
    good = "Basic " + base64.b64encode(b"kg:s3cret").decode()

    def respond(handler: BaseHTTPRequestHandler) -> None:
        if handler.headers.get("Authorization") == good:
            _reply(handler, 200, _ASK_TRUE, "application/sparql-results+json")
        else:
            _reply(handler, 401, b"unauthorized", "text/plain", {"WWW-Authenticate": 'Basic realm="kg"'})

    endpoint = fake_endpoint(respond)
    with SparqlEndpointStore(endpoint.url, user="kg", password="s3cret") as store:
        assert store.query("ASK { ?s ?p ?o }").rows == [(True,)]
    with pytest.raises(StoreError, match=r"refused the credentials.*user and password") as info:
        SparqlEndpointStore(endpoint.url, user="kg", password="wrong").open()
    assert "wrong" not in str(info.value)  # the password never appears in messages
    with pytest.raises(StoreError, match="credentials"):
        SparqlEndpointStore(endpoint.url).open()


def test_html_page_is_not_sparql_results(fake_endpoint) -> None:
    endpoint = fake_endpoint(lambda h: _reply(h, 200, b"<html><body>Welcome</body></html>", "text/html"))
    expected = "returned text/html, not SPARQL results; check that query_url is the SPARQL query endpoint"
    with pytest.raises(StoreError, match=expected):
        SparqlEndpointStore(endpoint.url).open()


def test_timeout_names_the_setting(fake_endpoint) -> None:
    def slow(handler: BaseHTTPRequestHandler) -> None:
        handler.server.release.wait(5)

    endpoint = fake_endpoint(slow)
    with pytest.raises(StoreError, match=r"did not answer within 0.3 s; raise \[sparql\] timeout"):
        SparqlEndpointStore(endpoint.url, timeout=0.3).open()


def test_not_found_and_server_error(fake_endpoint) -> None:
    missing = fake_endpoint(lambda h: _reply(h, 404, b"no such dataset", "text/plain"))
    with pytest.raises(StoreError, match=r"HTTP 404.*\[sparql\] query_url"):
        SparqlEndpointStore(missing.url).open()
    broken = fake_endpoint(lambda h: _reply(h, 503, b"overloaded\nretry later", "text/plain"))
    with pytest.raises(StoreError, match="HTTP 503: overloaded retry later"):
        SparqlEndpointStore(broken.url).open()


def test_updates_are_refused_before_anything_is_sent(fake_endpoint) -> None:
    endpoint = fake_endpoint(lambda h: _reply(h, 200, _ASK_TRUE, "application/sparql-results+json"))
    with SparqlEndpointStore(endpoint.url, update_url=endpoint.url, read_only=True) as store:
        sent = len(endpoint.requests)
        with pytest.raises(QueryError, match="write=True"):
            store.query("DELETE WHERE { ?s ?p ?o }")
        with pytest.raises(StoreError, match="read_only"):
            store.query("DELETE WHERE { ?s ?p ?o }", write=True)
        with pytest.raises(StoreError, match="read_only"):
            store.retract_documents(["d1"])
        assert len(endpoint.requests) == sent


def test_query_travels_as_form_and_update_as_body(fake_endpoint) -> None:
    def respond(handler: BaseHTTPRequestHandler) -> None:
        _reply(handler, 200 if handler.path.endswith("sparql") else 204, _ASK_TRUE,
               "application/sparql-results+json")

    endpoint = fake_endpoint(respond)
    with SparqlEndpointStore(endpoint.url, update_url=endpoint.url + "/update") as store:
        store.query("CLEAR DEFAULT", write=True)
    (_, query_type, query_body), (path, update_type, update_body) = endpoint.requests
    assert query_type == "application/x-www-form-urlencoded" and query_body == b"query=ASK+%7B%7D"
    assert path == "/sparql/update" and update_type.startswith("application/sparql-update")
    assert update_body == b"CLEAR DEFAULT"


def test_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        SparqlEndpointStore("http://127.0.0.1:1/query", timeout=0)
    with pytest.raises(ConfigError, match="chunk_triples"):
        SparqlEndpointStore("http://127.0.0.1:1/query", chunk_triples=0)
    with pytest.raises(StoreError, match=r"set \[sparql\] query_url"):
        SparqlEndpointStore("").open()
    with pytest.raises(StoreError, match="not an http"):
        SparqlEndpointStore("ftp://example.org/sparql").open()


def test_registry_builds_the_endpoint_store() -> None:
    store = triple_store("sparql", query_url="http://127.0.0.1:1/query", base_iri="http://example.com/kg/")
    assert isinstance(store, SparqlEndpointStore) and not store.is_open
    assert store.mapping.entity("a").value == "http://example.com/kg/entity/a"
    assert "s3cret" not in repr(SparqlEndpointStore("http://127.0.0.1:1/q", user="u", password="s3cret"))


# -- the SPARQL-text core, without a server --------------------------------------------------------------


@pytest.mark.parametrize("value", [*NASTY, "'''", '"""', 'a"b', "x\\", "\u2028\u0000中文", "?name", "$name"])
def test_nasty_values_stay_one_literal(value: str) -> None:
    text = bind_parameters("SELECT ?qz ?s WHERE { ?s ?p ?qz }", {"qz": value})
    assert text.count("?qz") == 1  # the projection only; the pattern holds the literal
    with OxigraphStore() as oxigraph:
        oxigraph.query(f"INSERT DATA {{ <urn:s> <urn:p> {ox.Literal(value)} }}", write=True)
        assert oxigraph.query(text).rows == [(value, "urn:s")]


def test_binding_rules() -> None:
    assert bind_parameters("SELECT ?a WHERE { ?s ?p ?a }", {"a": 1}) == (
        'SELECT ("1"^^<http://www.w3.org/2001/XMLSchema#integer> AS ?a) WHERE { ?s ?p '
        '"1"^^<http://www.w3.org/2001/XMLSchema#integer> }'
    )
    grouped = bind_parameters("SELECT ?l (COUNT(*) AS ?n) WHERE { ?s ?p ?l } GROUP BY ?l ORDER BY DESC(?l)",
                              {"l": "x"})
    assert grouped == (
        'SELECT ("x" AS ?l) (COUNT(*) AS ?n) WHERE { ?s ?p "x" } GROUP BY ("x") ORDER BY DESC("x")'
    )
    assigned = 'SELECT ?x WHERE { BIND("y" AS ?x) }'
    assert bind_parameters(assigned, {"x": "z"}) == assigned  # an assigned variable stays a variable
    assert bind_parameters("SELECT * { ?s ?p ?o }", {"o": True}).endswith(
        '\nVALUES (?o) { ("true"^^<http://www.w3.org/2001/XMLSchema#boolean>) }')
    assert bind_parameters("ASK { ?s ?p $o }", {"o": ox.NamedNode("urn:x")}) == "ASK { ?s ?p <urn:x> }"
    assert bind_parameters("SELECT ?s WHERE { ?s ?p ?o }", {}) == "SELECT ?s WHERE { ?s ?p ?o }"
    with pytest.raises(QueryError, match=r"\?zz in its SELECT projection"):
        bind_parameters("SELECT ?s WHERE { ?s ?p ?zz }", {"zz": 1})
    with pytest.raises(QueryError, match="VALUES"):
        bind_parameters("SELECT ?x WHERE { VALUES ?x { 1 } }", {"x": 2})
    with pytest.raises(QueryError, match="cannot bind"):
        bind_parameters("SELECT ?x WHERE { ?s ?p ?x }", {"x": object()})
    with pytest.raises(QueryError, match="BlankNode"):
        bind_parameters("SELECT ?x WHERE { ?s ?p ?x }", {"x": ox.BlankNode()})


def test_query_form_ignores_comments_strings_and_iris() -> None:
    assert query_form("# SELECT\nPREFIX a: <http://x/ASK> CONSTRUCT WHERE { ?s ?p 'SELECT' }") == "CONSTRUCT"
    assert query_form("nothing here") is None


def test_json_results_convert_like_oxigraph() -> None:
    xsd = "http://www.w3.org/2001/XMLSchema#"
    data = {
        "head": {"vars": ["i", "d", "b", "s", "l", "u", "n", "bad"]},
        "results": {"bindings": [{
            "i": {"type": "literal", "value": "42", "datatype": xsd + "integer"},
            "d": {"type": "literal", "value": "0.5", "datatype": xsd + "double"},
            "b": {"type": "literal", "value": "true", "datatype": xsd + "boolean"},
            "s": {"type": "literal", "value": "x"},
            "l": {"type": "literal", "value": "李白", "xml:lang": "zh"},
            "u": {"type": "uri", "value": "urn:a"},
            "bad": {"type": "typed-literal", "value": "abc", "datatype": xsd + "int"},
        }]},
    }
    result = parse_json_results(data)
    assert result.rows == [(42, 0.5, True, "x", "李白", "urn:a", None, "abc")]
    assert parse_json_results({"head": {}, "boolean": False}).rows == [(False,)]
    assert json_value({"type": "bnode", "value": "b0"}) == "_:b0"
    with pytest.raises(StoreError, match="not SPARQL results"):
        parse_json_results({"unexpected": 1})


def test_rechunk_lines_never_splits_a_triple() -> None:
    lines = [f"<urn:s{i}> <urn:p> \"{i}\" .\n".encode() for i in range(10)]
    pieces = list(rechunk_lines([b"".join(lines[:3]), b"", b"".join(lines[3:])], 4))
    assert [piece.count(b"\n") for piece in pieces] == [4, 4, 2]
    assert b"".join(pieces) == b"".join(lines)
