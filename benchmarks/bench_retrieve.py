"""Retrieval benchmark: graph-aware retrieval vs plain vector search vs BM25, and `kg serve` speed.

**Quality** (``--quality``): the example corpus is built and indexed into a temporary workspace (or
``-w`` names an indexed one). Questions come from the question templates that ``kg synth`` reserves
for evaluation (:meth:`injection.synth.splits.SplitPlan.templates` with split ``eval``: one held-out
template per relation and language, never used in training text), asked about every (subject,
relation) pair of a schema relation whose subject has a name in that language. A question's gold facts
are all facts of its (subject, relation). For each method the same :class:`~injection.rag.retrieve.Retriever`
ranks the facts, with ``mode`` ``hybrid`` (graph-aware: entity linking, k-hop expansion, fusion of
vector, BM25 and graph distance), ``vector`` (faiss alone, over the items of the query's language)
or ``lexical`` (BM25 alone); recall@5, recall@10 and MRR (first gold fact within the top 50) are
printed per question language, with the ratio of graph-aware to plain vector recall@5. The same is
then measured on a generated graph (``--quality-facts``, default 20,000 facts, indexed with the
default models; a seeded sample of ``--quality-questions`` questions per language).

**Answers** (``--answers``): the small model's answers to the ``kg synth`` QA eval set of the example
graph, with and without the context ``kg serve`` retrieves for each question (see :func:`answers`).

**Speed** (``--speed``): a generated graph (``benchmarks/synth_graph.py``, ``--facts``, default
500,000) is committed to a temporary workspace and indexed (``--model``, default
``static-multilingual``: ~900x faster to embed than MiniLM on CPU; a million items with MiniLM take
hours on two cores), then ``kg serve`` runs on 127.0.0.1 and a bounded load script sends questions
about random entities from 1, 8 and 32 concurrent clients (each a thread with its own keep-alive
connection, each sending ``--requests`` requests back to back): p50/p99 latency and requests per
second, beside the same queries' raw in-process faiss search (embedding + ``Space.search``) as the floor.

Usage::

    python benchmarks/bench_retrieve.py [--quality] [--answers] [--speed] [-w WS] [--facts 500000]
        [--requests 256] [--quality-facts 20000] [--answer-items N]

It prints figures and ratios, never passes or fails on them.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.data import example_workspace
from injection.rag.retrieve import RetrieveOptions, Retriever
from injection.synth.graph import LANGS, SynthGraph
from injection.synth.splits import SplitPlan
from injection.synth.templates import question_templates, render
from kg.build import load_workspace_schema
from kg.workspace import Workspace

METHODS = {"graph-aware": "hybrid", "vector": "vector", "bm25": "lexical"}
DEPTH = 50  # ranks beyond this count as a miss for MRR


# -- quality -------------------------------------------------------------------------------------------

def heldout_questions(graph: SynthGraph, seed: int = 0, split: str = "eval") -> dict[str, list[tuple[str, set[str]]]]:
    """Per language: (question, gold fact ids), one question per (subject, relation) pair, from the
    template ``kg synth`` reserves for evaluation (``split="train"``: the other templates instead)."""
    plan = SplitPlan(seed)
    gold: dict[tuple[str, str], set[str]] = defaultdict(set)
    for fact in graph.known:
        gold[(fact.subject, fact.predicate)].add(fact.id)
    out: dict[str, list[tuple[str, set[str]]]] = {lang: [] for lang in LANGS}
    for (subject, predicate), facts in sorted(gold.items()):
        if predicate not in graph.schema.relation_types:
            continue  # open relations have no question templates
        for lang in LANGS:
            name = graph.name(subject, lang)
            if name is None:
                continue
            templates, family = question_templates(graph, predicate, lang)
            for _, template in plan.templates(templates, predicate, lang, split, family):
                out[lang].append((render(template, name), facts))
    return out


def quality(ws: Workspace, retriever: Retriever, split: str, title: str = "example graph",
            max_questions: int | None = None) -> None:
    """Recall@5/10 and MRR of the gold fact per language and method (``max_questions``: a seeded
    sample per language)."""
    import random

    graph = SynthGraph(ws.bundle.view(), load_workspace_schema(ws), include_inferred=True)
    questions = heldout_questions(graph, split=split)
    if max_questions is not None:
        questions = {lang: random.Random(0).sample(rows, min(max_questions, len(rows)))
                     for lang, rows in questions.items()}
    print(f"\n## Quality: gold fact of questions from {'held-out' if split == 'eval' else 'training'} "
          f"templates ({title}, {len(graph.known):,} facts)\n")
    print("| lang | questions | method | R@5 | R@10 | MRR | R@5 vs vector | ms/query |")
    print("|---|---|---|---|---|---|---|---|")
    for lang in LANGS:
        rows = questions[lang]
        results = {}
        for method, mode in METHODS.items():
            ranks, started = [], time.perf_counter()
            for question, gold in rows:
                facts = retriever.retrieve(question, RetrieveOptions(k=DEPTH, lang=lang, mode=mode)).facts
                ranks.append(next((i for i, f in enumerate(facts, 1) if f.id in gold), None))
            ms = (time.perf_counter() - started) * 1000 / max(len(rows), 1)
            results[method] = (_recall(ranks, 5), _recall(ranks, 10), _mrr(ranks), ms)
        base = results["vector"][0]
        for method, (r5, r10, mrr, ms) in results.items():
            ratio = f"{r5 / base:.2f}x" if base else "-"
            print(f"| {lang} | {len(rows)} | {method} | {r5:.3f} | {r10:.3f} | {mrr:.3f} | {ratio} | {ms:.1f} |")


def _recall(ranks: list[int | None], k: int) -> float:
    return sum(1 for r in ranks if r is not None and r <= k) / max(len(ranks), 1)


def _mrr(ranks: list[int | None]) -> float:
    return sum(1.0 / r for r in ranks if r is not None) / max(len(ranks), 1)


# -- answers -------------------------------------------------------------------------------------------

def answers(ws: Workspace, retriever: Retriever, model: str | None, max_items: int | None) -> None:
    """The small model's answers to the ``kg synth`` QA eval set, with and without retrieved context.

    ``kg synth`` writes the example graph's dataset (English and Chinese, every question kind); a copy
    of its ``eval`` split gets, in front of every question, what ``kg serve``'s chat endpoint gives its
    model: the chat instructions and the ``context`` retrieved for the question (its language, k 6,
    hops 2, 2 sentences, 1,500 characters). The knowledge probe (:func:`injection.train.probe.run_probe`)
    scores both copies with the same model: MC and TF by likelihood, QA and refusals by greedy answers.
    """
    import json
    import shutil

    from injection.rag.chat import CHAT_CONTEXT_CHARS, INSTRUCTIONS
    from injection.synth.pipeline import SynthOptions, synthesize
    from injection.train.data import dataset_file, read_rows
    from injection.train.models import load_causal_lm
    from injection.train.probe import ProbeConfig, mc_question, run_probe

    work = Path(tempfile.mkdtemp(prefix="bench_rag_"))
    plain = work / "plain"
    # an untrained model is asked: every group may be an eval question (no training text is written from it)
    synthesize(ws, plain, SynthOptions(seed=0, eval_ratio=0.5, heldout_ratio=0.0, phrasings=1, articles=0,
                                       paths=0))
    grounded = work / "rag"
    contexts = []
    for kind in ("mc", "tf", "qa", "refusal"):
        path = dataset_file(plain, f"eval/{kind}")
        if path is None:
            continue
        rows = []
        for row in read_rows(path):
            user = next(m for m in row["messages"] if m["role"] == "user")
            question = mc_question(user["content"], row["options"]) if kind == "mc" else user["content"]
            found = retriever.retrieve(question, RetrieveOptions(
                k=6, hops=2, sentences=2, lang=row["lang"], max_context_chars=CHAT_CONTEXT_CHARS))
            contexts.append(len(found.context))
            user["content"] = INSTRUCTIONS[found.context_lang] + found.context + "\n\n" + user["content"]
            rows.append(row)
        target = grounded / "eval" / f"{kind}.jsonl"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    import os

    import torch

    torch.set_num_threads(os.cpu_count() or 1)  # one batched model, not concurrent requests
    lm, tokenizer = load_causal_lm(model)
    config = ProbeConfig(split="eval", max_items=max_items, max_new_tokens=48, batch_size=8)
    reports = {name: run_probe(lm, tokenizer, ds, config) for name, ds in (("without", plain), ("with", grounded))}
    metrics = ("mc_accuracy", "mc_chance", "tf_accuracy", "qa_exact", "qa_fuzzy", "refusal_rate")
    print(f"\n## RAG answers: {model or 'SmolLM2-135M-Instruct (packaged)'} on the kg synth QA eval set of the "
          f"example graph ({len(contexts)} items; at most {max_items or 'all'} per kind asked), without vs "
          f"with the retrieved context (mean {statistics.mean(contexts):.0f} chars)\n")
    print("| lang | context | " + " | ".join(metrics) + " | items (mc/tf/qa/refusal) |")
    print("|---|---|" + "---|" * len(metrics) + "---|")
    for scope in ["overall", *(f"lang:{lang}" for lang in LANGS)]:
        for name, report in reports.items():
            row = report.scopes.get(scope, {})
            counts = "/".join(str(int(row.get(f"{k}_items", 0))) for k in ("mc", "tf", "qa", "refusal"))
            print(f"| {scope.removeprefix('lang:')} | {name} | "
                  + " | ".join(f"{row[m]:.3f}" if m in row else "-" for m in metrics) + f" | {counts} |")
    shutil.rmtree(work, ignore_errors=True)


# -- speed ---------------------------------------------------------------------------------------------

def generated_workspace(n_facts: int, model: str | None) -> Workspace:
    """A workspace holding a generated graph of about ``n_facts`` facts, indexed with ``model`` (None:
    the per-language defaults of ``kg index``)."""
    import pyarrow as pa

    from benchmarks.synth_graph import synthetic_graph
    from injection.rag.indexer import build_index
    from kg import model as tables
    from kg.ids import document_id

    ws = Workspace(Path(tempfile.mkdtemp(prefix="bench_retrieve_speed_")) / "ws").open(create=True)
    ws.config.extraction.schema_path = str(ROOT / "examples" / "schema.yaml")
    ws.config.stores.graph = ws.config.stores.rdf = ""
    if model is not None:
        ws.config.index.model, ws.config.index.models = model, {}
    ws.config.index.kinds = ["fact", "entity"]  # the generated graph has no document text to chunk
    ws.save_config()
    started = time.perf_counter()
    view = synthetic_graph(n_facts, seed=0)
    # like `kg import`: one source document, and one evidence row per fact pointing at it
    text = f"generated graph of {n_facts} facts"
    doc = document_id(text)
    facts = view.facts
    evidence = pa.table({
        "fact_id": facts["id"], "subject": facts["subject"], "predicate": facts["predicate"],
        "object": facts["object"], "open": facts["open"], "source": pa.array(["imported"] * facts.num_rows),
        "doc_id": pa.array([doc] * facts.num_rows), "sentence": pa.array([0] * facts.num_rows, pa.int32()),
        "start": pa.array([0] * facts.num_rows, pa.int64()), "end": pa.array([0] * facts.num_rows, pa.int64()),
        "text": pa.array([""] * facts.num_rows), "extractor": pa.array(["generated"] * facts.num_rows),
        "confidence": facts["confidence"], "batch": pa.array(["b000001"] * facts.num_rows)}, schema=tables.EVIDENCE)
    documents = pa.Table.from_pylist([{"id": doc, "source": "generated", "lang": "en", "text": text,
                                       "title": "generated", "meta": "{}", "batch": "b000001"}],
                                     schema=tables.DOCUMENTS)
    entities = view.entities.set_column(view.entities.schema.get_field_index("batch"), "batch",
                                        pa.array(["b000001"] * view.entities.num_rows))
    ws.bundle.commit(ws.bundle.next_batch_id(), {"documents": documents, "entities": entities,
                                                 "evidence": evidence})
    print(f"generated and committed {facts.num_rows:,} facts, {entities.num_rows:,} entities "
          f"({time.perf_counter() - started:.0f}s)", flush=True)
    started = time.perf_counter()
    report = build_index(ws)
    print(f"indexed {sum(s.items for s in report.spaces):,} items with {model or 'the default models'} "
          f"({', '.join(f'{s.name}: {s.type}' for s in report.spaces)}; {time.perf_counter() - started:.0f}s)",
          flush=True)
    return ws


def speed_questions(ws: Workspace, n: int, seed: int = 0) -> list[str]:
    """``n`` questions about random subjects of the graph, from the schema's English templates."""
    import random

    schema = load_workspace_schema(ws)
    view = ws.bundle.view()
    names = dict(zip(view.entities["id"].to_pylist(), view.entities["name"].to_pylist(), strict=True))
    rows = list(zip(view.facts["subject"].to_pylist(), view.facts["predicate"].to_pylist(), strict=True))
    rng = random.Random(seed)
    out = []
    while len(out) < n:
        subject, predicate = rows[rng.randrange(len(rows))]
        relation = schema.relation_types.get(predicate)
        if relation and relation.questions.get("en"):
            out.append(render(rng.choice(relation.questions["en"]), names[subject]))
    return out


def load(url: str, questions: list[str], clients: int, per_client: int) -> tuple[list[float], float]:
    """Send ``per_client`` requests from each of ``clients`` threads; returns latencies (ms) and wall time."""
    import threading

    import httpx

    latencies: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def client(offset: int) -> None:
        with httpx.Client(base_url=url, timeout=60.0) as http:
            mine = []
            for i in range(per_client):
                question = questions[(offset * per_client + i) % len(questions)]
                started = time.perf_counter()
                response = http.post("/v1/retrieve", json={"query": question, "k": 8})
                mine.append((time.perf_counter() - started) * 1000)
                if response.status_code != 200:
                    errors.append(f"{response.status_code}: {response.text[:200]}")
            with lock:
                latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise RuntimeError(f"{len(errors)} requests failed, first: {errors[0]}")
    return latencies, time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def speed(ws: Workspace, requests: int, concurrency: list[int], workers: int = 1) -> None:
    import subprocess

    import httpx

    from injection.rag.index import RagIndex
    from tests.servers.arcadedb import free_port

    questions = speed_questions(ws, max(200, requests))
    index = RagIndex.open(ws)
    space = index.space_for("en")
    space.search(["warm up"], 8)
    floor = []
    for question in questions[:requests]:
        started = time.perf_counter()
        space.search([question], 8)
        floor.append((time.perf_counter() - started) * 1000)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(Path(ws.path) / "serve.log", "w")  # noqa: SIM115 - closed below
    process = subprocess.Popen([sys.executable, "-m", "kg", "serve", "-w", str(ws.path), "--port", str(port),
                                "--log-level", "info", "--workers", str(workers)],
                               stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    started = time.perf_counter()
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError((Path(ws.path) / "serve.log").read_text()[-3000:])
            # every worker says so once it has loaded (connections only go to workers that have)
            if (Path(ws.path) / "serve.log").read_text().count("Application startup complete") >= workers:
                httpx.get(f"{url}/healthz", timeout=10).raise_for_status()
                break
            time.sleep(0.5)
        print(f"kg serve ready in {time.perf_counter() - started:.0f}s", flush=True)
        load(url, questions, 2 * workers, 10)  # warm-up (every worker)
        graph_facts = httpx.get(f"{url}/healthz").json()["facts"]
        print(f"\n## Speed: `kg serve --workers {workers}` on a generated graph of {graph_facts:,} facts "
              f"({space.name}, {space.index.type}, {len(space.index):,} vectors)\n")
        print("| clients | requests | p50 ms | p99 ms | req/s | p50 vs raw faiss |")
        print("|---|---|---|---|---|---|")
        f50 = percentile(floor, 0.5)
        print(f"| raw faiss in process (1) | {len(floor)} | {f50:.1f} | {percentile(floor, 0.99):.1f} | "
              f"{1000 / statistics.mean(floor):.0f} | 1.00x |")
        for clients in concurrency:
            latencies, wall = load(url, questions, clients, max(1, requests // clients))
            p50 = percentile(latencies, 0.5)
            print(f"| {clients} | {len(latencies)} | {p50:.1f} | {percentile(latencies, 0.99):.1f} | "
                  f"{len(latencies) / wall:.0f} | {p50 / f50:.1f}x |", flush=True)
    finally:
        process.terminate()
        process.wait(60)
        log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quality", action="store_true", help="Quality on the example graph.")
    parser.add_argument("--speed", action="store_true", help="Speed of kg serve on a generated graph.")
    parser.add_argument("--answers", action="store_true",
                        help="The small model's answers on the QA eval set with vs without retrieved context.")
    parser.add_argument("--answer-model", help="Model for --answers (default: the packaged SmolLM2-135M-Instruct).")
    parser.add_argument("--answer-items", type=int, default=60,
                        help="Most items per question kind for --answers (a seeded sample; 0: all, ~1 h).")
    parser.add_argument("-w", "--workspace", type=Path, help="An indexed workspace for --quality.")
    parser.add_argument("--quality-facts", type=int, default=20_000,
                        help="Facts of the generated graph --quality also measures (0: none).")
    parser.add_argument("--quality-questions", type=int, default=400,
                        help="Questions per language on the generated graph (a seeded sample).")
    parser.add_argument("--train-templates", action="store_true",
                        help="Quality on the training templates instead of the held-out ones.")
    parser.add_argument("--facts", type=int, default=500_000, help="Facts of the generated graph (--speed).")
    parser.add_argument("--speed-workspace", type=Path,
                        help="An indexed workspace for --speed (e.g. one an earlier run generated) instead.")
    parser.add_argument("--model", default="static-multilingual", help="Embedding model of the speed run.")
    parser.add_argument("--requests", type=int, default=256, help="Requests per concurrency level.")
    parser.add_argument("--clients", default="1,8,32", help="Concurrency levels.")
    parser.add_argument("--workers", default="1,2", help="kg serve --workers values to measure, side by side.")
    args = parser.parse_args()
    if not (args.quality or args.speed or args.answers):
        args.quality = args.speed = args.answers = True
    from injection.rag.serve import single_thread_inference

    single_thread_inference()  # as `kg serve` runs
    if args.quality or args.answers:
        ws = example_workspace(args.workspace, "bench_retrieve_", index=True)
        retriever = Retriever.open(ws)
        if args.quality:
            quality(ws, retriever, "train" if args.train_templates else "eval")
        if args.answers:
            answers(ws, retriever, args.answer_model, args.answer_items or None)
    if args.quality and args.quality_facts:
        generated = generated_workspace(args.quality_facts, None)
        quality(generated, Retriever.open(generated), "train" if args.train_templates else "eval",
                "generated graph", args.quality_questions)
    if args.speed:
        ws = (Workspace(args.speed_workspace).open() if args.speed_workspace
              else generated_workspace(args.facts, args.model))
        print(f"speed workspace: {ws.path}", flush=True)
        for workers in (int(w) for w in args.workers.split(",")):
            speed(ws, args.requests, [int(c) for c in args.clients.split(",")], workers)


if __name__ == "__main__":
    main()
