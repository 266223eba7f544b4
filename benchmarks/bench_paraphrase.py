"""Paraphrasing speed and yield: llama.cpp vs transformers running the same packaged SmolLM2-135M.

Both engines rewrite the same CPT records (made from the example corpus with examples/schema.yaml)
through :func:`injection.synth.paraphrase.paraphrase`, so the quality gate and the prompt are the same;
only the engine differs. transformers (the baseline) dequantizes the Q4_1 GGUF to fp32 and generates
in batches; llama.cpp runs the GGUF natively, one text after the other.

Per engine and language: load seconds (model construction and first load, outside the rewrite timing),
rewrites per second (tried records / seconds), kept paraphrases per second, and yield (kept / tried).
A third row runs llama.cpp without the prompt's few-shot examples, to show what they add. Each engine
runs in a fresh process, as `kg synth` would.

Usage: python benchmarks/bench_paraphrase.py [--records 20] [--zh-records 10] [--no-baseline]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from injection.synth import paraphrase as module  # noqa: E402
from injection.synth.context import Context  # noqa: E402
from injection.synth.cpt import generate  # noqa: E402
from injection.synth.graph import SynthGraph  # noqa: E402
from injection.synth.records import Record  # noqa: E402
from injection.synth.splits import SplitPlan  # noqa: E402

STYLES = (("fact", 0.6), ("article", 0.2), ("path", 0.2))
"""CPT styles in the sample and their shares (single facts dominate the real CPT text too)."""


@dataclass
class Run:
    """One engine on one language's records."""

    engine: str
    lang: str
    load_s: float
    seconds: float
    tried: int
    kept: int

    @property
    def rate(self) -> float:
        return self.tried / self.seconds if self.seconds else 0.0

    @property
    def kept_rate(self) -> float:
        return self.kept / self.seconds if self.seconds else 0.0

    @property
    def yield_(self) -> float:
        return self.kept / self.tried if self.tried else 0.0


def build_examples(tmp: Path) -> Path:
    """The example corpus built into a workspace under ``tmp``; returns the workspace folder."""
    from kg.build import build
    from kg.workspace import Workspace

    ws = Workspace(tmp / "ws").open(create=True)
    ws.config.extraction.schema_path = str(ROOT / "examples" / "schema.yaml")
    ws.config.stores.graph = ws.config.stores.rdf = ""  # synthesis reads the bundle only
    ws.save_config()
    build(ws, [ROOT / "examples" / "corpus"])
    return Path(ws.path)


def example_graph(workspace: Path) -> SynthGraph:
    """The built workspace's graph, ready for synthesis."""
    from kg.schema import load_schema
    from kg.workspace import Workspace

    ws = Workspace(workspace).open()
    return SynthGraph(ws.bundle.view(), load_schema(ROOT / "examples" / "schema.yaml"))


def context(graph: SynthGraph) -> Context:
    """A fresh synthesis context (each run counts its own drops)."""
    return Context(graph=graph, plan=SplitPlan(seed=0), seed=0)


def sample(records: list[Record], lang: str, n: int, seed: int) -> list[Record]:
    """``n`` records of ``lang``, drawn per style by :data:`STYLES`' shares."""
    rng = random.Random(seed)
    picked: list[Record] = []
    for i, (style, share) in enumerate(STYLES):
        pool = [r for r in records if r.lang == lang and r.style == style]
        want = n - len(picked) if i == len(STYLES) - 1 else round(n * share)
        picked += rng.sample(pool, min(want, len(pool)))
    return picked


def run(name: str, engine_name: str, batches: dict[str, list[Record]], graph: SynthGraph) -> list[Run]:
    """Load the packaged model on one engine (timed apart), then paraphrase each language's records."""
    start = time.perf_counter()
    engine = module.make_paraphraser(None, engine=engine_name)
    engine._load()  # both local engines load lazily; loading is timed on its own, not as rewriting
    load_s = time.perf_counter() - start
    runs = []
    for lang, records in batches.items():
        if not records:
            continue
        ctx = context(graph)
        start = time.perf_counter()
        kept = list(module.paraphrase(records, engine, ctx))
        seconds = time.perf_counter() - start
        runs.append(Run(name, lang, load_s, seconds, len(records), len(kept)))
        drops = {k.removeprefix("paraphrase dropped: "): v for k, v in ctx.warnings.items()
                 if k.startswith("paraphrase dropped")}
        print(f"    {name} {lang}: {len(kept)}/{len(records)} kept in {seconds:.1f}s; dropped {drops}",
              flush=True)
    return runs


def engine_runs(workspace: Path, name: str, engine_name: str, examples: bool, en: int, zh: int,
                seed: int) -> list[Run]:
    """One engine's runs on the records sampled from ``workspace`` (the same ones for every engine)."""
    graph = example_graph(workspace)
    records = list(generate(context(graph)))
    batches = {"en": sample(records, "en", en, seed), "zh": sample(records, "zh", zh, seed)}
    if not examples:
        module.EXAMPLES = {lang: () for lang in module.EXAMPLES}  # the same prompt without its examples
    return run(name, engine_name, batches, graph)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=20, help="English CPT records per engine")
    parser.add_argument("--zh-records", type=int, default=10, help="Chinese CPT records per engine (0: none)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the record sample")
    parser.add_argument("--no-baseline", action="store_true", help="skip transformers (slow)")
    args = parser.parse_args()

    engines = [("llama.cpp", "llama.cpp", True), ("llama.cpp, no examples", "llama.cpp", False)]
    if not args.no_baseline:
        engines.append(("transformers", "transformers", True))
    print(f"{args.records} en and {args.zh_records} zh CPT records of the example corpus "
          f"(styles {dict((s, round(w * 100)) for s, w in STYLES)}%); model {module.SMOLLM2_FILE}")
    runs: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="kg-bench-paraphrase-") as tmp:
        workspace = build_examples(Path(tmp))
        # a fresh process per engine, as `kg synth` runs one: neither engine's thread pools (torch and
        # llama.cpp may share one OpenMP runtime) nor memory weigh on the other
        spawn = multiprocessing.get_context("spawn")
        for name, engine_name, examples in engines:
            with spawn.Pool(1) as pool:
                runs += pool.apply(engine_runs, (workspace, name, engine_name, examples, args.records,
                                                 args.zh_records, args.seed))
    report(runs)


def report(runs: list[Run]) -> None:
    """The runs side by side, then llama.cpp's ratios to the transformers baseline."""
    print()
    print(f"{'engine':<24} {'lang':<4} {'load s':>7} {'rewrites/s':>11} {'kept/s':>8} {'yield':>12}")
    for r in runs:
        print(f"{r.engine:<24} {r.lang:<4} {r.load_s:>7.2f} {r.rate:>11.3f} {r.kept_rate:>8.3f} "
              f"{r.kept:>4}/{r.tried:<3} {r.yield_:>4.0%}")
    by = {(r.engine, r.lang): r for r in runs}
    for lang in ("en", "zh"):
        fast, base = by.get(("llama.cpp", lang)), by.get(("transformers", lang))
        if fast and base and base.rate:
            print(f"{lang}: llama.cpp / transformers = {fast.rate / base.rate:.1f}x rewrites/s, "
                  f"{base.load_s / fast.load_s:.0f}x faster load, yield {fast.yield_:.0%} vs {base.yield_:.0%}")


if __name__ == "__main__":
    main()
