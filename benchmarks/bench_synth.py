"""Synthesis benchmark: generation throughput with 1 and N processes, and what the CPT text covers.

A generated graph shaped like ``examples/schema.yaml`` (``--facts`` facts over ``facts / 5`` entities, see
:mod:`benchmarks.synth_graph`: typed entities with English names and mostly Chinese aliases, schema
relations respecting domain and range, ~10% open relations, Zipf-like popularity with a long tail).

(a) Throughput: for each kind, the records one process generates per second against ``--workers``
    forked processes (``injection.synth.pipeline.generate_kind``), same graph, same options, one after
    the other in this run; the ratio is the speedup. Both runs must make the same records (checked by
    digest). Generation only: dedup, decontamination, token counting and writing are not timed.
    "cpu bound" is the speedup a core per process would give: the one-process CPU time over the CPU
    time of the busiest process of the forked run (shared machines make wall times noisy).
(b) Coverage of the CPT text (from the one-process cpt run): the share of training facts stated in at
    least k distinct phrasings (templates; per language and over both), the share of entities any CPT
    record mentions, and long-tail coverage of multi-hop walks: the share of the lowest-degree half of
    the entities that appear in at least one walk, for the weighted sampler the ``path`` style uses
    against plain uniform random walks (``cpt.sample_paths(weighted=False)``), the same number of
    walks each.

Usage::

    python benchmarks/bench_synth.py [--facts 1000000] [--workers 2] [--kinds cpt,qa,tf,mc,refusal]
                                     [--walks N] [--seed 0]

It prints figures and ratios, never passes or fails on times.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import resource
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.synth_graph import synthetic_graph
from injection.synth import cpt
from injection.synth.context import Context
from injection.synth.graph import SynthGraph
from injection.synth.pipeline import SynthOptions, generate_kind
from injection.synth.records import KINDS, Record
from injection.synth.splits import SplitPlan
from kg.schema import load_schema


def digest(records: list[Record]) -> str:
    """A digest of what the records say and which templates and facts they use."""
    h = hashlib.sha1()
    for r in records:
        h.update(f"{r.split}\x1f{r.text}\x1f{','.join(r.facts)}\x1f{','.join(r.templates)}\x1e".encode())
    return h.hexdigest()


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # workers count once they are reaped
    return usage.ru_utime + usage.ru_stime


def timed(ctx: Context, options: SynthOptions, kind: str) -> tuple[list[Record], float, float, float]:
    """(records, wall seconds, CPU seconds of this process, CPU seconds of the forked workers)."""
    gc.collect()
    started, cpu, children = time.perf_counter(), time.process_time(), _children_cpu()
    records = generate_kind(ctx, options, kind)
    return (records, time.perf_counter() - started, time.process_time() - cpu,
            _children_cpu() - children)


def phrasing_coverage(records: list[Record], training: set[str],
                      langs: tuple[str, ...]) -> dict[str, list[float]]:
    """Share of training facts stated with at least 1, 2, 3 distinct templates, per language and over all."""
    templates: dict[str, set[str]] = defaultdict(set)
    for r in records:
        for fact, template in zip(r.facts, r.templates, strict=True):
            templates[fact].add(template)  # template ids name their language: verbalization:REL:LANG:I
    shares = {}
    for lang in (*langs, "all"):
        counts = [sum(1 for t in templates.get(f, ()) if lang == "all" or t.split(":")[-2] == lang)
                  for f in training]
        shares[lang] = [sum(c >= k for c in counts) / len(training) for k in (1, 2, 3)]
    return shares


def cpt_coverage(records: list[Record], training: list, graph: SynthGraph,
                 langs: tuple[str, ...]) -> list[str]:
    """Report lines: phrasings per training fact, and entities the cpt records mention."""
    lines = [f"training facts ({len(training):,}) stated in >= k distinct phrasings:"]
    for lang, (k1, k2, k3) in phrasing_coverage(records, {f.id for f in training}, langs).items():
        lines.append(f"  {lang:<4} k>=1 {k1:6.1%}   k>=2 {k2:6.1%}   k>=3 {k3:6.1%}")
    mentioned = {e for r in records for e in r.entities}
    with_facts = {e for f in training for e in (f.subject, f.object)}
    lines.append(f"entities in a cpt record: {len(mentioned & with_facts) / len(with_facts):.1%} of the "
                 f"{len(with_facts):,} with a training fact, "
                 f"{len(mentioned) / len(graph.entities):.1%} of all {len(graph.entities):,}")
    return lines


def tail_coverage(ctx: Context, walks: int) -> dict[str, tuple[float, float, int, float]]:
    """Per sampler: (share of the lowest-degree half of the entities in a walk, share of all entities
    with a training fact, walks found, seconds)."""
    degree: dict[str, int] = defaultdict(int)
    for fact in ctx.plan.training_facts(ctx.graph):
        degree[fact.subject] += 1
        degree[fact.object] += 1
    ranked = sorted(degree, key=lambda e: (degree[e], e))
    tail = set(ranked[:len(ranked) // 2])
    result = {}
    for name, weighted in (("weighted", True), ("uniform", False)):
        started = time.perf_counter()
        found = cpt.sample_paths(ctx, walks, weighted=weighted)
        seconds = time.perf_counter() - started
        seen = {e for walk in found for f in walk for e in (f.subject, f.object)}
        result[name] = (len(seen & tail) / len(tail), len(seen) / len(degree), len(found), seconds)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--facts", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--walks", type=int, action="append", default=None,
                        help="walks per sampler for long-tail coverage, repeatable (default: a tenth of the "
                             "training facts, and one per training fact: what the path style writes per "
                             "language)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    kinds = [k for k in args.kinds.split(",") if k]

    started = time.perf_counter()
    view = synthetic_graph(args.facts, seed=args.seed)
    generated = time.perf_counter() - started
    graph = SynthGraph(view, load_schema(ROOT / "examples" / "schema.yaml"))
    del view  # the graph's indexes hold everything synthesis reads
    open_facts = sum(f.open for f in graph.facts)
    print(f"synthetic graph: {len(graph.entities):,} entities, {len(graph.facts):,} facts "
          f"({open_facts / len(graph.facts):.1%} open, {len(graph.relation_count):,} relations); "
          f"generated in {generated:.1f} s, indexed in {time.perf_counter() - started - generated:.1f} s")
    for entity in graph.entities:  # both runs of a kind start with the names cache warm
        for lang in ("en", "zh"):
            graph.name(entity, lang)
    plan = SplitPlan(args.seed)
    ctx = Context(graph, plan, seed=args.seed)
    training = plan.training_facts(graph)
    one = SynthOptions(seed=args.seed, workers=1)
    many = SynthOptions(seed=args.seed, workers=args.workers)
    # one context per setting for all kinds, as in `kg synth`: what one kind builds the next reuses
    ctx_one, ctx_many = Context(graph, plan, seed=args.seed), Context(graph, plan, seed=args.seed)

    print(f"\n(a) generation throughput, records/second: 1 process vs {args.workers} processes")
    header = f"{'kind':<8} {'records':>11} {'1 process':>12} {f'{args.workers} processes':>13}"
    print(f"{header} {'speedup':>8} {'cpu bound':>10}  same")
    coverage: list[str] = []
    total = [0.0, 0.0, 0.0, 0.0]  # wall 1, wall N, cpu 1, critical path N
    for kind in kinds:
        records, single, single_cpu, _ = timed(ctx_one, one, kind)
        count, check = len(records), digest(records)
        if kind == "cpt":  # measured now: a million-fact graph's cpt records take gigabytes
            coverage = cpt_coverage(records, training, graph, ctx.langs)
        del records
        records, forked, parent_cpu, children_cpu = timed(ctx_many, many, kind)
        same = "yes" if len(records) == count and digest(records) == check else "NO"
        del records
        # what the speedup would be with a core per process: single CPU time over the busiest process
        critical = max(parent_cpu, children_cpu / (args.workers - 1)) if args.workers > 1 else single_cpu
        for i, value in enumerate((single, forked, single_cpu, critical)):
            total[i] += value
        print(f"{kind:<8} {count:>11,} {count / single:>12,.0f} {count / forked:>13,.0f} "
              f"{single / forked:>7.2f}× {single_cpu / critical:>9.2f}×  {same}   "
              f"(wall {single:.1f} s vs {forked:.1f} s; cpu {single_cpu:.1f} s vs parent {parent_cpu:.1f} s, "
              f"workers {children_cpu:.1f} s)")
    print(f"{'all':<8} {'':>11} {'':>12} {'':>13} {total[0] / total[1]:>7.2f}× {total[2] / total[3]:>9.2f}×"
          f"        (wall {total[0]:.1f} s vs {total[1]:.1f} s)")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")

    print("\n(b) coverage of the CPT text")
    print("\n".join(coverage))
    print("multi-hop walks (2-4 hops): entities with a training fact that appear in at least one walk")
    for walks in args.walks or [len(training) // 10, len(training)]:
        tail = tail_coverage(ctx, walks)
        for name, (tail_share, all_share, found, seconds) in tail.items():
            print(f"  {walks:>9,} walks {name:<9} lowest-degree half {tail_share:6.1%}   all {all_share:6.1%}"
                  f"   ({found:,} walks in {seconds:.1f} s)")
        print(f"  {walks:>9,} walks long-tail coverage weighted / uniform: "
              f"{tail['weighted'][0] / tail['uniform'][0]:.2f}×")


if __name__ == "__main__":
    main()
