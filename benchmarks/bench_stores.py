"""Bulk-load benchmark of the embedded stores against the raw engines, side by side in one run.

A synthetic graph (``--facts`` facts, ``facts/5`` entities, one evidence row per fact, ``facts/100``
documents, ``facts/2`` mentions) is generated with vectorized numpy/pyarrow code and written as Parquet
in the bundle's table schemas. Then:

(a) ``LadybugStore.load(view)`` against raw LadybugDB: ``COPY <table> FROM '<file>.parquet'`` of the
    same rows, already shaped like the Cypher tables, into an empty database with the same tables;
(b) ``OxigraphStore.load(view)`` against raw ``pyoxigraph.Store.bulk_load`` of an N-Triples file that
    holds exactly the triples our mapping produces.

Preparing the raw inputs (Cypher-shaped Parquet files, the N-Triples file) is not timed; everything our
``load`` does (validation, building tables / triples, DDL, copying) is. The script prints facts/second
and the ratio ours/raw (1.0 = as fast as the raw engine; the goal is >= 0.5). It never passes or fails
on absolute times.

Usage::

    python benchmarks/bench_stores.py --facts 1000000 [--repeat 2] [--workdir DIR] [--keep]
                                     [--only ladybug|oxigraph]

Both engines first load a tiny graph (warm-up), and with ``--repeat`` the engine that runs first
alternates between rounds; the best time of each counts.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kg import model
from kg.graph import GraphView

_SCHEMA_PREDICATES = [f"rel_{i}" for i in range(20)]
_OPEN_PREDICATES = ["write", "visit", "build", "写", "访问"]
_TYPES = ["Person", "Organization", "Location"]


# -- synthetic graph ----------------------------------------------------------------------------------


def _ids(prefix: str, n: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n)), pa.string()), 10, "0")
    return pc.binary_join_element_wise(prefix, digits, "")


def _pick(values: list[str], index: np.ndarray) -> pa.Array:
    return pa.array(values).take(pa.array(index))


def synthetic_view(n_facts: int, seed: int = 0) -> GraphView:
    """A random graph with ``n_facts`` facts (vectorized: seconds for millions of rows)."""
    rng = np.random.default_rng(seed)
    n_entities, n_docs, n_mentions = max(n_facts // 5, 2), max(n_facts // 100, 1), n_facts // 2
    entity_ids, doc_ids = _ids("ent:", n_entities), _ids("doc:", n_docs)
    chinese = np.arange(n_entities) % 3 == 0
    number = pc.cast(pa.array(np.arange(n_entities)), pa.string())
    names = pc.if_else(
        pa.array(chinese),
        pc.binary_join_element_wise("实体", number, ""),
        pc.binary_join_element_wise("Entity ", number, ""),
    )
    alias_counts = (np.arange(n_entities) % 2).astype(np.int32)
    offsets = pa.array(np.concatenate([[0], np.cumsum(alias_counts)]).astype(np.int32))
    alias_values = pc.binary_join_element_wise("alias ", pc.filter(number, pa.array(alias_counts > 0)), "")
    entities = pa.table(
        {
            "id": entity_ids,
            "name": names,
            "type": _pick(_TYPES, rng.integers(0, 3, n_entities)),
            "aliases": pa.ListArray.from_arrays(offsets, alias_values),
            "lang": pc.if_else(pa.array(chinese), "zh", "en"),
            "description": pa.nulls(n_entities, pa.string()),
            "batch": pa.array(["b1"] * n_entities),
        },
        schema=model.ENTITIES,
    )

    fact_ids = _ids("fact:", n_facts)
    subject = entity_ids.take(pa.array(rng.integers(0, n_entities, n_facts)))
    obj = entity_ids.take(pa.array(rng.integers(0, n_entities, n_facts)))
    is_open = rng.random(n_facts) < 0.1
    predicate = pc.if_else(
        pa.array(is_open),
        _pick(_OPEN_PREDICATES, rng.integers(0, 5, n_facts)),
        _pick(_SCHEMA_PREDICATES, rng.integers(0, 20, n_facts)),
    )
    confidence = pa.array(rng.random(n_facts))
    facts = pa.table(
        {
            "id": fact_ids,
            "subject": subject,
            "predicate": predicate,
            "object": obj,
            "open": pa.array(is_open),
            "source": pa.array(["extracted"] * n_facts),
            "confidence": confidence,
            "evidence_count": pa.array(np.ones(n_facts, dtype=np.int64)),
            "batch": pa.array(["b1"] * n_facts),
            "plausibility": pa.nulls(n_facts, pa.float64()),
            "model": pa.nulls(n_facts, pa.string()),
        },
        schema=model.FACTS,
    )

    start = rng.integers(0, 5000, n_facts)
    evidence = pa.table(
        {
            "fact_id": fact_ids,
            "subject": subject,
            "predicate": predicate,
            "object": obj,
            "open": pa.array(is_open),
            "source": facts.column("source"),
            "doc_id": doc_ids.take(pa.array(rng.integers(0, n_docs, n_facts))),
            "sentence": pa.array(rng.integers(0, 50, n_facts).astype(np.int32)),
            "start": pa.array(start),
            "end": pa.array(start + 60),
            "text": pc.binary_join_element_wise(
                "The subject ", subject, " is related to ", obj, " in this sentence.", ""
            ),
            "extractor": pa.array(["spacy-dep"] * n_facts),
            "confidence": confidence,
            "batch": pa.array(["b1"] * n_facts),
        },
        schema=model.EVIDENCE,
    )

    doc_number = pc.cast(pa.array(np.arange(n_docs)), pa.string())
    documents = pa.table(
        {
            "id": doc_ids,
            "source": pc.binary_join_element_wise("corpus/file_", doc_number, ".txt", ""),
            "lang": pa.array(["en"] * n_docs),
            "text": pc.binary_join_element_wise(
                "Synthetic document number ", doc_number, " with some text.", ""
            ),
            "title": pc.binary_join_element_wise("Document ", doc_number, ""),
            "meta": pa.array(["{}"] * n_docs),
            "batch": pa.array(["b1"] * n_docs),
        },
        schema=model.DOCUMENTS,
    )

    m_start = rng.integers(0, 5000, n_mentions)
    mentions = pa.table(
        {
            "doc_id": doc_ids.take(pa.array(rng.integers(0, n_docs, n_mentions))),
            "sentence": pa.array(rng.integers(0, 50, n_mentions).astype(np.int32)),
            "start": pa.array(m_start),
            "end": pa.array(m_start + 10),
            "text": pa.array(["Entity"] * n_mentions),
            "type": pa.array(["Person"] * n_mentions),
            "entity_id": entity_ids.take(pa.array(rng.integers(0, n_entities, n_mentions))),
            "extractor": pa.array(["spacy"] * n_mentions),
            "confidence": pa.array(np.ones(n_mentions)),
            "batch": pa.array(["b1"] * n_mentions),
        },
        schema=model.MENTIONS,
    )
    return GraphView(
        documents=documents, entities=entities, facts=facts, evidence=evidence, mentions=mentions
    )


def write_bundle(view: GraphView, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("documents", "entities", "facts", "evidence", "mentions"):
        pq.write_table(getattr(view, name), folder / f"{name}.parquet")


def read_bundle(folder: Path) -> GraphView:
    return GraphView(
        **{
            name: pq.read_table(folder / f"{name}.parquet")
            for name in ("documents", "entities", "facts", "evidence", "mentions")
        }
    )


# -- (a) LadybugDB -----------------------------------------------------------------------------------


def bench_ladybug(view: GraphView, workdir: Path, repeat: int = 1) -> tuple[float, float]:
    """Return the best (our seconds, raw seconds) over ``repeat`` rounds, alternating which runs first."""
    import ladybug

    from kg.stores.base import normalize_view
    from kg.stores.ladybug import NODE_TABLES, REL_TABLES, LadybugStore, arrow_tables

    shaped = workdir / "cypher_parquet"
    shaped.mkdir()
    for name, table in arrow_tables(normalize_view(view)).items():
        pq.write_table(table, shaped / f"{name}.parquet")

    def raw(round_: int) -> float:
        db = ladybug.Database(str(workdir / f"raw{round_}.lbdb"))
        conn = ladybug.Connection(db)
        started = time.perf_counter()
        for name, columns in {**NODE_TABLES, **REL_TABLES}.items():
            conn.execute(f"CREATE {'NODE' if name in NODE_TABLES else 'REL'} TABLE {name}({columns})")
        for name in {**NODE_TABLES, **REL_TABLES}:
            # Benchmark-only text: the path is ours; the store itself passes tables as parameters.
            conn.execute(f"COPY {name} FROM '{shaped / (name + '.parquet')}'")
        seconds = time.perf_counter() - started
        conn.close()
        db.close()
        return seconds

    def ours(round_: int) -> float:
        with LadybugStore(workdir / f"ours{round_}.lbdb") as store:
            started = time.perf_counter()
            store.load(view)
            seconds = time.perf_counter() - started
            assert store.counts()["facts"] == view.facts.num_rows
        return seconds

    return _alternate(ours, raw, repeat)


# -- (b) Oxigraph ------------------------------------------------------------------------------------


def bench_oxigraph(view: GraphView, workdir: Path, repeat: int = 1) -> tuple[float, float, int]:
    """Return the best (our seconds, raw seconds) over ``repeat`` rounds, and the number of triples."""
    import pyoxigraph as ox

    from kg.rdf import RdfMapping
    from kg.stores.base import normalize_view
    from kg.stores.oxigraph import OxigraphStore

    nt_path = workdir / "graph.nt"
    lines = 0
    with nt_path.open("wb") as out:
        for chunk in RdfMapping().ntriples(normalize_view(view)):
            out.write(chunk)
            lines += chunk.count(b"\n")

    def raw(round_: int) -> float:
        store = ox.Store(str(workdir / f"raw{round_}"))
        started = time.perf_counter()
        store.bulk_load(path=str(nt_path), format=ox.RdfFormat.N_TRIPLES)
        store.flush()
        seconds = time.perf_counter() - started
        del store
        shutil.rmtree(workdir / f"raw{round_}", ignore_errors=True)  # keep disk use to one store
        return seconds

    def ours(round_: int) -> float:
        with OxigraphStore(workdir / f"ours{round_}") as store:
            started = time.perf_counter()
            store.load(view)
            seconds = time.perf_counter() - started
            assert store.counts()["facts"] == view.facts.num_rows
        shutil.rmtree(workdir / f"ours{round_}", ignore_errors=True)
        return seconds

    best_ours, best_raw = _alternate(ours, raw, repeat)
    return best_ours, best_raw, lines


def _alternate(ours, raw, repeat: int) -> tuple[float, float]:
    """Best time of each over ``repeat`` rounds; the first runner alternates so neither gets a warm cache."""
    ours_times, raw_times = [], []
    for round_ in range(repeat):
        if round_ % 2 == 0:
            raw_times.append(raw(round_))
            ours_times.append(ours(round_))
        else:
            ours_times.append(ours(round_))
            raw_times.append(raw(round_))
    return min(ours_times), min(raw_times)


def warm_up(workdir: Path) -> None:
    """Load a tiny graph into both engines once, so neither timed run pays first-use costs."""
    tiny = synthetic_view(2_000, seed=1)
    for name, bench in (("lb", bench_ladybug), ("ox", bench_oxigraph)):
        (workdir / f"warm-{name}").mkdir()
        bench(tiny, workdir / f"warm-{name}")


# -- report ------------------------------------------------------------------------------------------


def _report(label: str, facts: int, ours: float, raw: float) -> None:
    print(
        f"{label:<10} ours {ours:8.2f} s  {facts / ours:12,.0f} facts/s | "
        f"raw {raw:8.2f} s  {facts / raw:12,.0f} facts/s | ratio ours/raw {raw / ours:5.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None, help="scratch folder (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--only", choices=["ladybug", "oxigraph"], default=None)
    parser.add_argument("--repeat", type=int, default=1, help="rounds per engine; the best time counts")
    args = parser.parse_args()

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="kg-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        started = time.perf_counter()
        write_bundle(synthetic_view(args.facts), workdir / "bundle")
        view = read_bundle(workdir / "bundle")
        sizes = ", ".join(f"{k} {v:,}" for k, v in view.counts().items())
        print(
            f"synthetic graph: {sizes} "
            f"(generated + Parquet round trip in {time.perf_counter() - started:.1f} s)"
        )
        facts = view.facts.num_rows
        warm_up(workdir)
        if args.only in (None, "ladybug"):
            (workdir / "lb").mkdir()
            ours, raw = bench_ladybug(view, workdir / "lb", args.repeat)
            _report("LadybugDB", facts, ours, raw)
        if args.only in (None, "oxigraph"):
            (workdir / "ox").mkdir()
            ours, raw, triples = bench_oxigraph(view, workdir / "ox", args.repeat)
            _report("Oxigraph", facts, ours, raw)
            print(
                f"{'':<10} ({triples:,} triples: ours {triples / ours:,.0f} triples/s, "
                f"raw {triples / raw:,.0f} triples/s)"
            )
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
