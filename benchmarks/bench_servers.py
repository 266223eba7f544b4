"""Write throughput of the server backends against their raw clients, side by side in one run.

(a) Bolt (ArcadeDB with its Neo4j-compatible plugin, started here on 127.0.0.1): ``Neo4jStore.load``
    vs a raw ``neo4j`` driver loop of ``UNWIND $rows ... CREATE`` batches of the same rows, into an
    empty database with the same indexes.
(b) Apache Jena TDB2: ``JenaStore.load`` vs raw ``tdb2.tdbloader`` of the N-Triples our mapping writes.
(c) SPARQL endpoint (``oxigraph serve`` on 127.0.0.1): ``SparqlEndpointStore.load`` vs one raw Graph
    Store Protocol ``PUT`` of the same N-Triples.

Preparing the raw inputs (rows shaped for Cypher, the N-Triples text) is not timed; everything our
``load`` does is. The script prints facts/second and the ratio ours/raw (goal >= 0.8), then the
latency (median, p95) of every query of the library on the loaded graph. It never passes or fails on
absolute times.

Usage::

    python benchmarks/bench_servers.py [--facts 50000] [--only neo4j|jena|sparql] [--query-runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.bench_stores import synthetic_view  # noqa: E402
from kg.graph import GraphView  # noqa: E402

# the raw baseline writes the same rows as plain CREATEs (nodes) and MATCH ... CREATE (relationships)
_RAW_CYPHER = {
    "Entity": "UNWIND $rows AS row CREATE (e:Entity) SET e = row",
    "Document": "UNWIND $rows AS row CREATE (d:Document) SET d = row",
    "RELATION": "UNWIND $rows AS row MATCH (s:Entity {id: row.from}), (o:Entity {id: row.to}) "
    "CREATE (s)-[r:RELATION]->(o) SET r.id = row.id, r.predicate = row.predicate, r.open = row.open, "
    "r.source = row.source, r.confidence = row.confidence, r.evidence_count = row.evidence_count, "
    "r.batch = row.batch",
    "Evidence": "UNWIND $rows AS row CREATE (v:Evidence) SET v = row",
    "FROM_DOCUMENT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (d:Document {id: row.to}) "
    "CREATE (v)-[:FROM_DOCUMENT]->(d)",
    "ABOUT": "UNWIND $rows AS row MATCH (v:Evidence {id: row.from}), (s:Entity {id: row.to}) "
    "CREATE (v)-[:ABOUT]->(s)",
    "MENTIONED_IN": "UNWIND $rows AS row MATCH (e:Entity {id: row.from}), (d:Document {id: row.to}) "
    "CREATE (e)-[m:MENTIONED_IN]->(d) SET m.sentence = row.sentence, m.start_char = row.start_char, "
    "m.end_char = row.end_char, m.text = row.text",
}


def report(label: str, facts: int, ours: float, raw: float) -> None:
    """Print one throughput line with the ratio ours/raw."""
    print(f"{label:<16} ours {ours:8.2f} s {facts / ours:10,.0f} facts/s | raw {raw:8.2f} s "
          f"{facts / raw:10,.0f} facts/s | ratio ours/raw {raw / ours:5.2f} (goal >= 0.8)")


def timed(work: Callable[[], object]) -> float:
    """Seconds one call of ``work`` takes."""
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def query_latencies(store, lang: str, runs: int) -> None:
    """Median and p95 latency of every library query in ``lang`` on ``store``."""
    try:
        from kg.queries import load_library
    except ImportError:  # the library module is optional for this script's write figures
        print("  (query library not available)")
        return
    for query in load_library():
        text = query.texts.get(lang) if hasattr(query, "texts") else None
        if text is None:
            continue
        params = query.example_params() if hasattr(query, "example_params") else {}
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            store.query(text, params)
            times.append(time.perf_counter() - start)
        times.sort()
        p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
        print(f"  {query.name:<28} median {statistics.median(times) * 1000:8.1f} ms  p95 {p95 * 1000:8.1f} ms")


# -- Bolt ------------------------------------------------------------------------------------------


def bench_neo4j(view: GraphView, workdir: Path, query_runs: int) -> None:
    """Neo4jStore.load vs a raw driver UNWIND loop, on ArcadeDB's Bolt plugin."""
    import neo4j

    from kg.stores.cypher import arrow_tables
    from kg.stores.neo4j import Neo4jStore
    from tests.servers.arcadedb import start_arcadedb, stop_arcadedb

    server = start_arcadedb(workdir)
    try:
        facts = view.facts.num_rows
        warm = Neo4jStore(**server.settings(server.new_database("warm"))).open()
        warm.load(synthetic_view(2_000, seed=1))  # the JVM compiles its hot paths before either run
        warm.close()
        store = Neo4jStore(**server.settings(server.new_database("ours"))).open()  # creates the indexes
        ours = timed(lambda: store.load(view))

        raw_db = server.new_database("raw")
        rows = {name: table.to_pylist() for name, table in arrow_tables(view).items()}
        batch = store.batch_size
        driver = neo4j.GraphDatabase.driver(server.uri, auth=(server.user, server.password))
        with driver.session(database=raw_db) as session:
            for label in ("Entity", "Document", "Evidence"):  # the same indexes our store has
                session.run(f"CREATE INDEX {label.lower()}_id IF NOT EXISTS FOR (n:{label}) ON (n.id)").consume()

            def raw_load() -> None:
                for name, statement in _RAW_CYPHER.items():
                    for start in range(0, len(rows[name]), batch):
                        session.execute_write(
                            lambda tx, s=statement, r=rows[name][start:start + batch]: tx.run(s, rows=r).consume())

            raw = timed(raw_load)
        driver.close()
        report("Bolt (ArcadeDB)", facts, ours, raw)
        query_latencies(store, "cypher", query_runs)
        store.close()
    finally:
        stop_arcadedb(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=50_000)
    parser.add_argument("--only", choices=["neo4j", "jena", "sparql"], default=None)
    parser.add_argument("--query-runs", type=int, default=5)
    args = parser.parse_args()
    view = synthetic_view(args.facts)
    print("synthetic graph: " + ", ".join(f"{k} {v:,}" for k, v in view.counts().items()))
    with tempfile.TemporaryDirectory(prefix="kg-bench-servers-") as tmp:
        for name, bench in BENCHES.items():
            if args.only in (None, name):
                folder = Path(tmp) / name
                folder.mkdir()
                bench(view, folder, args.query_runs)


BENCHES: dict[str, Callable[[GraphView, Path, int], None]] = {"neo4j": bench_neo4j}

if __name__ == "__main__":
    main()
