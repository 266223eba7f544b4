"""Write throughput of the server backends against their raw clients, and query latency on every backend.

Write throughput (``--facts`` facts, default 50,000), each side by side with its raw baseline in one run:

(a) Bolt (ArcadeDB with its Neo4j-compatible plugin, started here on 127.0.0.1): ``Neo4jStore.load``
    vs a raw ``neo4j`` driver loop of ``UNWIND $rows ... CREATE`` batches of the same rows and size,
    into an empty database with the same constraints and indexes (``SCHEMA_STATEMENTS``).
(b) Apache Jena TDB2: ``JenaStore.load`` vs raw ``java -cp <classpath> tdb2.tdbloader --loc DIR
    graph.nt`` of the N-Triples our mapping writes (the command line a user types; same classpath).
(c) SPARQL endpoint (``oxigraph serve`` on 127.0.0.1): ``SparqlEndpointStore.load`` vs one raw Graph
    Store Protocol ``PUT`` (httpx) of the same N-Triples to the default graph, which is where our
    store loads; the server is cleared before each side. Oxigraph runs such a ``PUT`` as one
    transaction; an extra line times the same ``PUT`` with Oxigraph's own ``no_transaction``
    parameter (its bulk loader, outside the protocol) against our store configured with
    ``data_url=.../store?no_transaction``, to show what the engine itself can do.
(d) the embedded stores, LadybugDB and Oxigraph, with :mod:`benchmarks.bench_stores`' baselines
    (``COPY FROM`` Parquet, ``Store.bulk_load`` of N-Triples), so every backend gets a line here.

Preparing the raw inputs (rows shaped for Cypher, the N-Triples text) is not timed; everything our
``load`` does is (validation, mapping, transport). Each line prints facts/second and the ratio
ours/raw (goal >= 0.8). Each pair runs ``--repeat`` rounds (default 2) with the side that runs
first alternating, and the best time of each side counts: on a 2-core machine the first large load
after a warm-up can take up to twice as long as the next, whichever side it is.

Query latency: every query of the analysts' library (``queries/``, :mod:`kg.queries`) runs through
:func:`kg.queries.execute` on each backend (Cypher on Bolt and LadybugDB, SPARQL on Jena, the endpoint
and Oxigraph) holding a generated graph of ``--latency-facts`` facts (default 1,000,000). Parameters
are picked from that graph (the most-connected entity's name, an entity two hops from it, the document
with most evidence, the most frequent schema relation, an alias, the batch id), so every query has
rows to find; the table prints the row count next to the median and p95 (nearest rank) of up to
``--query-runs`` timed runs, the first one included (no untimed warm-up: on the larger graphs one run
can take a minute). A slow query gets fewer runs: another run starts only while the last one fits in
``--query-budget`` seconds per query and backend; the ``n`` column says how many ran.

A 1,000,000-fact graph is not practical on every backend of a small machine (Jena's loader slows
down past 100k facts; the SPARQL engines take minutes per query pass at that size), so each backend
has a size cap (:data:`LATENCY_CAPS`, with the figures measured on 2 CPU cores that set it; change
one with ``--latency-cap NAME=FACTS``). The size each backend was measured on is printed up front and
in its table's header, marked "capped" where it is smaller than ``--latency-facts``.

The script never passes or fails on absolute times.

Usage::

    python benchmarks/bench_servers.py [--facts 50000] [--latency-facts 1000000]
        [--only neo4j|jena|sparql|ladybug|oxigraph] [--query-runs 5] [--query-budget 20]
        [--latency-cap neo4j=200000] [--repeat 2]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_stores import synthetic_view  # noqa: E402
from kg.graph import GraphView  # noqa: E402
from kg.stores.base import Store  # noqa: E402

BACKENDS = ("neo4j", "jena", "sparql", "ladybug", "oxigraph")

LATENCY_CAPS: dict[str, int] = {
    # Measured on 2 CPU cores shared with other work (load average 4-7), so on the slow side.
    # Bolt: 1M facts load in 4-7 min (2,500-4,400 facts/s); library queries take up to ~20 s at 1M
    "neo4j": 1_000_000,
    # tdbloader slows with size: 2,100 facts/s at 100k, 1,450 at 300k (1M: > 11 min); every query
    # starts a JVM and takes 5-55 s at 300k
    "jena": 100_000,
    # loads ~3,100 facts/s at 300k (1M: ~5.5 min), but 7 of the 13 library queries take 13-62 s each
    # at 300k and grow with the graph, so one pass at 1M is ~15 min
    "sparql": 100_000,
    # loads 1M in 20-45 s; queries take < 15 s at 1M
    "ladybug": 1_000_000,
    # loads ~4,500 facts/s (1M: ~4 min), but one pass of the library is ~150-250 s at 300k (10+ min at 1M)
    "oxigraph": 300_000,
}
"""Largest graph (facts) each backend's latency is measured on; see the module doc."""

# The raw baseline writes the same rows as plain CREATEs (nodes) and MATCH ... CREATE (relationships),
# properties spelled out as maps: on ArcadeDB, `CREATE (e:Entity) SET e = row` took ~20% longer.
_RAW_CYPHER = {
    "Entity": "UNWIND $rows AS row CREATE (:Entity {id: row.id, name: row.name, type: row.type, "
    "aliases: row.aliases, lang: row.lang, description: row.description})",
    "Document": "UNWIND $rows AS row CREATE (:Document {id: row.id, source: row.source, lang: row.lang, "
    "title: row.title, text: row.text, batch: row.batch})",
    "RELATION": "UNWIND $rows AS row MATCH (s:Entity {id: row.from}), (o:Entity {id: row.to}) "
    "CREATE (s)-[:RELATION {id: row.id, predicate: row.predicate, open: row.open, source: row.source, "
    "confidence: row.confidence, evidence_count: row.evidence_count, batch: row.batch}]->(o)",
    "Evidence": "UNWIND $rows AS row CREATE (:Evidence {id: row.id, fact_id: row.fact_id, "
    "doc_id: row.doc_id, sentence: row.sentence, start_char: row.start_char, end_char: row.end_char, "
    "text: row.text, extractor: row.extractor, confidence: row.confidence})",
    "FROM_DOCUMENT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (d:Document {id: row.to}) "
    "CREATE (v)-[:FROM_DOCUMENT]->(d)",
    "ABOUT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (s:Entity {id: row.to}) "
    "CREATE (v)-[:ABOUT]->(s)",
    "MENTIONED_IN": "UNWIND $rows AS row MATCH (e:Entity {id: row.from}), (d:Document {id: row.to}) "
    "CREATE (e)-[:MENTIONED_IN {sentence: row.sentence, start_char: row.start_char, "
    "end_char: row.end_char, text: row.text}]->(d)",
}


# -- run settings and helpers ------------------------------------------------------------------------


@dataclass
class Run:
    """What one run of the script measures, and the graphs it has generated so far.

    Attributes:
        facts: size of the write-throughput graph.
        latency_facts: requested size of the query-latency graph.
        caps: largest latency graph per backend.
        query_runs: timed runs per query (0: no latency table).
        query_budget: seconds of timed runs per query and backend, at least one run.
        repeat: rounds of each write-throughput pair; the best time of each side counts.
        views: generated graphs by size.
    """

    facts: int
    latency_facts: int
    caps: dict[str, int]
    query_runs: int
    query_budget: float
    repeat: int
    views: dict[int, GraphView] = field(default_factory=dict)

    def view(self, n_facts: int) -> GraphView:
        """The synthetic graph of ``n_facts`` facts plus :data:`ORPHANS` orphans (generated once per size)."""
        if n_facts not in self.views:
            self.views[n_facts] = with_orphans(synthetic_view(n_facts), ORPHANS)
        return self.views[n_facts]

    def latency_size(self, backend: str) -> int:
        """Facts of the graph the latency of ``backend`` is measured on (requested size, capped)."""
        return min(self.latency_facts, self.caps[backend])


ORPHANS = 10
"""Entities added to every generated graph that are mentioned but take part in no fact."""


def with_orphans(view: GraphView, count: int) -> GraphView:
    """``view`` plus ``count`` entities that take part in no fact, each mentioned in one document.

    The generated graph links entities to random facts (about ten each), so it has almost no entity
    without a fact; these give the ``orphans`` query rows to find on every size.
    """
    docs = view.documents.column("id")
    batch = view.entities.column("batch")[0].as_py()
    entities = pa.Table.from_pylist([
        {"id": f"ent:orphan{i:04d}", "name": f"Orphan {i}", "type": "Person", "aliases": [], "lang": "en",
         "description": None, "batch": batch} for i in range(count)], schema=view.entities.schema)
    mentions = pa.Table.from_pylist([
        {"doc_id": docs[i % len(docs)].as_py(), "sentence": 0, "start": 0, "end": 8, "text": f"Orphan {i}",
         "type": "Person", "entity_id": f"ent:orphan{i:04d}", "extractor": "spacy", "confidence": 1.0,
         "batch": batch} for i in range(count)], schema=view.mentions.schema)
    return GraphView(
        documents=view.documents, entities=pa.concat_tables([view.entities, entities]), facts=view.facts,
        evidence=view.evidence, mentions=pa.concat_tables([view.mentions, mentions]),
    )


def report(label: str, facts: int, ours: Sequence[float], raw: Sequence[float]) -> None:
    """Print one throughput line (best time of each side) with the ratio ours/raw, then every round."""
    best_ours, best_raw = min(ours), min(raw)
    print(f"{label:<18} ours {best_ours:8.2f} s {facts / best_ours:10,.0f} facts/s | raw {best_raw:8.2f} s "
          f"{facts / best_raw:10,.0f} facts/s | ratio ours/raw {best_raw / best_ours:5.2f} (goal >= 0.8)",
          flush=True)
    if len(ours) > 1 or len(raw) > 1:
        rounds = " / ".join(f"{o:.2f}-{r:.2f}" for o, r in zip(ours, raw, strict=False))
        print(f"{'':<18} (rounds, ours-raw seconds: {rounds})", flush=True)


def timed(work: Callable[[], object]) -> float:
    """Seconds one call of ``work`` takes."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def alternate(
    ours: Callable[[int], float], raw: Callable[[int], float], repeat: int
) -> tuple[list[float], list[float]]:
    """Seconds of each side in each of ``repeat`` rounds; the side that runs first alternates.

    On this machine the first large load after a warm-up was up to twice as slow as the next one,
    whichever side it was, so a single round favours the side that runs second.
    """
    ours_times: list[float] = []
    raw_times: list[float] = []
    for round_ in range(repeat):
        if round_ % 2 == 0:
            ours_times.append(ours(round_))
            raw_times.append(raw(round_))
        else:
            raw_times.append(raw(round_))
            ours_times.append(ours(round_))
    return ours_times, raw_times


def write_ntriples(view: GraphView, path: Path) -> int:
    """Write the N-Triples our RDF mapping makes of ``view`` to ``path``; return the number of triples."""
    from kg.rdf import RdfMapping
    from kg.stores.base import normalize_view

    lines = 0
    with path.open("wb") as out:
        for chunk in RdfMapping().ntriples(normalize_view(view)):
            out.write(chunk)
            lines += chunk.count(b"\n")
    return lines


def load_for_latency(label: str, store: Store, view: GraphView) -> None:
    """Load ``view`` into the open ``store`` for the latency table, and print how long that took."""
    facts = view.facts.num_rows
    print(f"  loading {facts:,} facts for the latency table ...", end="", flush=True)
    seconds = timed(lambda: store.load(view))
    print(f" {seconds:.1f} s ({facts / seconds:,.0f} facts/s)", flush=True)


# -- query latency -----------------------------------------------------------------------------------


def query_params(view: GraphView) -> dict[str, dict[str, Any]]:
    """Parameters for every library query, picked from ``view`` so that each query finds rows.

    * entity queries use the most-connected entity (by facts in either direction), by name;
    * ``paths`` goes from it to an entity two facts away (and not one);
    * ``document_facts`` uses the document with the most evidence;
    * ``contradictions`` and ``facts_by_source`` use the most frequent schema (non-open) relation;
    * ``entities_by_alias`` uses an alias of the most-connected entity that has one;
    * the batch queries use the facts' batch id;
    * ``top_entities``, ``orphans`` and ``relation_counts`` keep their defaults (whole graph; the
      orphans are the ones :func:`with_orphans` adds).
    """
    facts = view.facts
    subjects, objects = facts.column("subject"), facts.column("object")
    ends = pa.chunked_array(subjects.chunks + objects.chunks)
    degree = pc.value_counts(ends)
    top_id = degree.field("values")[pc.index(degree.field("counts"), pc.max(degree.field("counts"))).as_py()]
    top_id = top_id.as_py()
    entities = view.entities
    names = dict(zip(entities.column("id").to_pylist(), entities.column("name").to_pylist(), strict=True))

    def neighbours(ids: set[str]) -> set[str]:
        wanted = pa.array(sorted(ids))
        out = facts.filter(pc.is_in(subjects, value_set=wanted)).column("object").to_pylist()
        into = facts.filter(pc.is_in(objects, value_set=wanted)).column("subject").to_pylist()
        return set(out) | set(into)

    first = neighbours({top_id}) - {top_id}
    second = sorted(neighbours(first) - first - {top_id})
    far = second[0] if second else sorted(first)[0]

    evidence_docs = pc.value_counts(view.evidence.column("doc_id"))
    doc_id = evidence_docs.field("values")[
        pc.index(evidence_docs.field("counts"), pc.max(evidence_docs.field("counts"))).as_py()].as_py()

    closed = facts.filter(pc.invert(facts.column("open")))
    relations = pc.value_counts(closed.column("predicate"))
    relation = relations.field("values")[
        pc.index(relations.field("counts"), pc.max(relations.field("counts"))).as_py()].as_py()

    aliases = dict(zip(entities.column("id").to_pylist(), entities.column("aliases").to_pylist(),
                       strict=True))
    alias = next((a[0] for a in (aliases.get(top_id), *aliases.values()) if a), names[top_id])
    batch = facts.column("batch")[0].as_py()
    top = names[top_id]
    return {
        "entity_profile": {"entity": top},
        "neighbours": {"entity": top},
        "paths": {"from_entity": top, "to_entity": names[far]},
        "fact_evidence": {"entity": top},
        "top_entities": {},
        "document_facts": {"doc": doc_id},
        "facts_by_source": {"fact_source": "extracted", "relation": relation},
        "contradictions": {"relation": relation},
        "orphans": {},
        "relation_counts": {},
        "entities_by_alias": {"alias": alias},
        "batch_facts": {"batch_id": batch},
        "batch_entities": {"batch_id": batch},
    }


def query_latencies(label: str, store: Store, view: GraphView, run: Run) -> None:
    """Print median and p95 latency (and rows) of every library query on ``store``, which holds ``view``."""
    from kg.queries import QueryLibrary, execute, library_folders

    library = QueryLibrary.load([library_folders()[0]])  # the built-in library only
    params = query_params(view)
    size = view.facts.num_rows
    capped = f" (capped: {run.latency_facts:,} requested)" if size < run.latency_facts else ""
    print(f"  query latency, {label}, {size:,} facts{capped} ({store.language}; up to {run.query_runs} "
          f"runs within {run.query_budget:g} s per query, nearest-rank p95):", flush=True)
    print(f"    {'query':<20} {'rows':>6} {'n':>3} {'median ms':>11} {'p95 ms':>11}  params", flush=True)
    for query in library:
        given = params.get(query.name, {})
        shown = ", ".join(f"{k}={v!r}" for k, v in given.items())
        if store.language not in query.languages:
            print(f"    {query.name:<20} (no {store.language} version)", flush=True)
            continue
        times: list[float] = []
        rows = 0
        try:
            budget_end = time.perf_counter() + run.query_budget
            while len(times) < run.query_runs and (not times or time.perf_counter() + times[-1] < budget_end):
                start = time.perf_counter()
                rows = len(execute(query, store, given))
                times.append(time.perf_counter() - start)
        except Exception as exc:  # noqa: BLE001 - one failing query must not hide the others
            print(f"    {query.name:<20} failed: {type(exc).__name__}: {str(exc)[:160]}", flush=True)
            continue
        times.sort()
        p95 = times[max(0, -(-95 * len(times) // 100) - 1)]
        print(f"    {query.name:<20} {rows:>6} {len(times):>3} {statistics.median(times) * 1000:>11.1f} "
              f"{p95 * 1000:>11.1f}  {shown}", flush=True)


# -- (a) Bolt ----------------------------------------------------------------------------------------


def bench_neo4j(run: Run, workdir: Path) -> None:
    """Neo4jStore.load vs a raw driver UNWIND loop, on ArcadeDB's Bolt plugin; then query latency."""
    import neo4j

    from kg.stores.cypher import arrow_tables
    from kg.stores.neo4j import SCHEMA_STATEMENTS, Neo4jStore
    from tests.servers.arcadedb import start_arcadedb, stop_arcadedb

    view = run.view(run.facts)
    server = start_arcadedb(workdir)
    try:
        # An untimed load of the same graph first: the JVM compiles its hot paths and ArcadeDB sizes
        # its caches. With a small warm-up only, whichever side ran first took up to twice as long.
        with Neo4jStore(**server.settings(warm_db := server.new_database("warm"))) as warm:
            warm.load(view)
        server.drop_database(warm_db)
        rows = {name: table.to_pylist() for name, table in arrow_tables(view).items()}
        batch = Neo4jStore(**server.settings()).batch_size  # the raw loop sends batches of our size
        driver = neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password))

        def ours(round_: int) -> float:
            database = server.new_database("ours")
            with Neo4jStore(**server.settings(database)) as store:  # creates the constraints and indexes
                seconds = timed(lambda: store.load(view))
            server.drop_database(database)  # keeps the server's 1 GB heap for the next run
            return seconds

        def raw(round_: int) -> float:
            database = server.new_database("raw")
            with driver.session(database=database) as session:
                for statement in SCHEMA_STATEMENTS:  # the same constraints and indexes our store makes
                    with suppress(neo4j.exceptions.Neo4jError):  # as our store: skip what the server lacks
                        session.run(statement).consume()

                def raw_load() -> None:
                    for name, statement in _RAW_CYPHER.items():
                        for start in range(0, len(rows[name]), batch):
                            part = rows[name][start:start + batch]
                            session.execute_write(lambda tx, s=statement, r=part: tx.run(s, rows=r).consume())

                seconds = timed(raw_load)
            server.drop_database(database)
            return seconds

        ours_times, raw_times = alternate(ours, raw, run.repeat)
        driver.close()
        report("Bolt (ArcadeDB)", view.facts.num_rows, ours_times, raw_times)
        if run.query_runs:
            size = run.latency_size("neo4j")
            with Neo4jStore(**server.settings(server.new_database("latency")), timeout=600.0) as store:
                load_for_latency("Bolt", store, run.view(size))
                query_latencies("Bolt (ArcadeDB)", store, run.view(size), run)
    finally:
        stop_arcadedb(server)


# -- (b) Jena TDB2 -----------------------------------------------------------------------------------


def bench_jena(run: Run, workdir: Path) -> None:
    """JenaStore.load vs raw ``java -cp ... tdb2.tdbloader`` of the same N-Triples; then query latency."""
    from kg.stores.jena import JenaStore, find_jena

    tools = find_jena("/usr/share/java")
    view = run.view(run.facts)
    nt = workdir / "graph.nt"
    write_ntriples(view, nt)
    classpath = ":".join(str(p) for p in tools.classpath)

    def store_at(path: Path) -> JenaStore:
        return JenaStore(path, jena_jars=str(tools.jars), java=tools.java)

    with store_at(workdir / "warm") as warm:  # builds the CDS archives once, warms the page cache
        warm.load(synthetic_view(2_000, seed=1))

    def ours(round_: int) -> float:
        with store_at(workdir / f"ours{round_}") as store:
            seconds = timed(lambda: store.load(view))
        shutil.rmtree(workdir / f"ours{round_}", ignore_errors=True)
        return seconds

    def raw(round_: int) -> float:
        location = workdir / f"raw{round_}"
        command = [tools.java, "-cp", classpath, "tdb2.tdbloader", "--loc", str(location), str(nt)]
        start = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, stdin=subprocess.DEVNULL)
        seconds = time.perf_counter() - start
        shutil.rmtree(location, ignore_errors=True)
        return seconds

    ours_times, raw_times = alternate(ours, raw, run.repeat)
    nt.unlink()
    report("Jena TDB2", view.facts.num_rows, ours_times, raw_times)
    if run.query_runs:
        size = run.latency_size("jena")
        with store_at(workdir / "latency") as store:
            load_for_latency("Jena", store, run.view(size))
            query_latencies("Jena TDB2", store, run.view(size), run)


# -- (c) SPARQL endpoint -----------------------------------------------------------------------------


def bench_sparql(run: Run, workdir: Path) -> None:
    """SparqlEndpointStore.load vs one raw Graph Store Protocol PUT, on ``oxigraph serve``; then latency."""
    import httpx

    from kg.stores.sparql import SparqlEndpointStore
    from tests.servers.oxigraph_http import start_oxigraph, stop_oxigraph

    view = run.view(run.facts)
    nt = workdir / "graph.nt"
    write_ntriples(view, nt)
    body = nt.read_bytes()
    server = start_oxigraph(workdir / "store")
    try:
        with SparqlEndpointStore(**server.settings()) as warm:
            warm.load(synthetic_view(2_000, seed=1))
        client = httpx.Client(timeout=httpx.Timeout(600.0))

        def ours(round_: int, data_url: str = server.data_url) -> float:
            server.clear()
            with SparqlEndpointStore(**server.settings(data_url=data_url)) as store:
                return timed(lambda: store.load(view))

        def put(query: str) -> Callable[[int], float]:
            def raw(round_: int) -> float:
                server.clear()

                def send() -> None:
                    response = client.put(f"{server.data_url}?{query}", content=body,
                                          headers={"Content-Type": "application/n-triples"})
                    response.raise_for_status()

                return timed(send)

            return raw

        # the default graph, where SparqlEndpointStore loads (POST data_url?default)
        ours_times, raw_times = alternate(ours, put("default"), run.repeat)
        report("SPARQL (oxigraph)", view.facts.num_rows, ours_times, raw_times)
        best_ours = min(ours_times)
        # Oxigraph-only, outside the Graph Store Protocol: its non-transactional bulk loader, for the
        # raw PUT and for our store (a data_url with a query string keeps it: .../store?no_transaction).
        fast_ours, bulk = alternate(lambda r: ours(r, f"{server.data_url}?no_transaction"),
                                    put("default&no_transaction"), run.repeat)
        report("  ?no_transaction", view.facts.num_rows, fast_ours, bulk)
        print(f"{'':<18} (Oxigraph's bulk loader on both sides; ours with the default data_url above "
              f"/ this raw PUT: {min(bulk) / best_ours:.2f})", flush=True)
        client.close()
        if run.query_runs:
            size = run.latency_size("sparql")
            server.clear()
            with SparqlEndpointStore(**server.settings(timeout=600.0)) as store:
                load_for_latency("SPARQL endpoint", store, run.view(size))
                query_latencies("SPARQL endpoint (oxigraph serve)", store, run.view(size), run)
    finally:
        stop_oxigraph(server)
        nt.unlink(missing_ok=True)


# -- (d) the embedded stores -------------------------------------------------------------------------


def bench_ladybug(run: Run, workdir: Path) -> None:
    """LadybugStore.load vs raw ``COPY FROM`` Parquet (bench_stores); then query latency."""
    from benchmarks import bench_stores
    from kg.stores.ladybug import LadybugStore

    view = run.view(run.facts)
    (workdir / "warm").mkdir()
    bench_stores.bench_ladybug(synthetic_view(2_000, seed=1), workdir / "warm")
    (workdir / "load").mkdir()
    ours, raw = bench_stores.bench_ladybug(view, workdir / "load", run.repeat)
    shutil.rmtree(workdir / "load", ignore_errors=True)
    report("LadybugDB", view.facts.num_rows, [ours], [raw])  # best of --repeat rounds
    if run.query_runs:
        size = run.latency_size("ladybug")
        with LadybugStore(workdir / "latency.lbdb") as store:
            load_for_latency("LadybugDB", store, run.view(size))
            query_latencies("LadybugDB", store, run.view(size), run)


def bench_oxigraph(run: Run, workdir: Path) -> None:
    """OxigraphStore.load vs raw ``Store.bulk_load`` (bench_stores); then query latency."""
    from benchmarks import bench_stores
    from kg.stores.oxigraph import OxigraphStore

    view = run.view(run.facts)
    (workdir / "warm").mkdir()
    bench_stores.bench_oxigraph(synthetic_view(2_000, seed=1), workdir / "warm")
    (workdir / "load").mkdir()
    ours, raw, _ = bench_stores.bench_oxigraph(view, workdir / "load", run.repeat)
    shutil.rmtree(workdir / "load", ignore_errors=True)
    report("Oxigraph", view.facts.num_rows, [ours], [raw])  # best of --repeat rounds
    if run.query_runs:
        size = run.latency_size("oxigraph")
        with OxigraphStore(workdir / "latency") as store:
            load_for_latency("Oxigraph", store, run.view(size))
            query_latencies("Oxigraph", store, run.view(size), run)


BENCHES: dict[str, Callable[[Run, Path], None]] = {
    "neo4j": bench_neo4j,
    "jena": bench_jena,
    "sparql": bench_sparql,
    "ladybug": bench_ladybug,
    "oxigraph": bench_oxigraph,
}


# -- main --------------------------------------------------------------------------------------------


def _cap(text: str) -> tuple[str, int]:
    name, _, facts = text.partition("=")
    if name not in BACKENDS or not facts.replace("_", "").isdigit():
        raise argparse.ArgumentTypeError(f"expected NAME=FACTS with NAME one of {', '.join(BACKENDS)}")
    return name, int(facts.replace("_", ""))


@contextmanager
def _scratch(workdir: Path | None, keep: bool) -> Iterator[Path]:
    folder = workdir or Path(tempfile.mkdtemp(prefix="kg-bench-servers-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield folder
    finally:
        if not keep:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=50_000, help="write-throughput graph size")
    parser.add_argument("--latency-facts", type=int, default=1_000_000, help="query-latency graph size")
    parser.add_argument("--latency-cap", type=_cap, action="append", default=[], metavar="NAME=FACTS",
                        help="largest latency graph for one backend (default: LATENCY_CAPS)")
    parser.add_argument("--only", choices=BACKENDS, default=None)
    parser.add_argument("--query-runs", type=int, default=5, help="timed runs per query; 0: no latency")
    parser.add_argument("--query-budget", type=float, default=20.0,
                        help="seconds of timed runs per query and backend (at least one run)")
    parser.add_argument("--repeat", type=int, default=2,
                        help="rounds of each write pair, the first side alternating; the best of each counts")
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args()
    run = Run(facts=args.facts, latency_facts=args.latency_facts,
              caps={**LATENCY_CAPS, **dict(args.latency_cap)}, query_runs=args.query_runs,
              query_budget=args.query_budget, repeat=args.repeat)
    chosen = [name for name in BACKENDS if args.only in (None, name)]
    counts = run.view(args.facts).counts()
    print("write-throughput graph: " + ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    if run.query_runs:
        sizes = ", ".join(f"{name} {run.latency_size(name):,}" for name in chosen)
        print(f"query-latency graph: {args.latency_facts:,} facts requested; measured on (facts): {sizes}")
    started = time.perf_counter()
    with _scratch(args.workdir, args.keep) as tmp:
        for name in chosen:
            folder = tmp / name
            folder.mkdir()
            BENCHES[name](run, folder)
            shutil.rmtree(folder, ignore_errors=True)
    print(f"total {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
