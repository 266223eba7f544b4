"""Embedding benchmark: which packaged model retrieves the right fact for Chinese (and English) questions.

The example corpus is built into a temporary workspace (or ``-w`` names a built one) and turned into
the items ``kg index`` embeds (:func:`injection.rag.items.collect_items`: verbalized facts in both
languages, entity descriptions, source chunks). Questions come from the schema's question templates
(every template of every schema relation, in each language, for each (subject, relation) pair whose
names exist in that language); a question is answered when an item of any fact with that subject
and relation is retrieved (a question with several true answers has several gold facts).

For every candidate model, side by side in one run: recall@1/5/10 and MRR (rank of the first gold
item, exact inner-product search) per question language, searching all items and searching only the
items in the question's language (what ``kg index`` does: one space per language), and encoding
throughput (items per second, embedding all items once after a warm-up, batch 64) as a ratio to the
first model.

Usage::

    python benchmarks/bench_embed.py [-w WS] [--models minilm,e5-small,static-multilingual]

It prints figures and ratios, never passes or fails on them.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np

from benchmarks.data import example_workspace
from injection.rag.embed import load_embedder
from injection.rag.items import collect_items
from injection.synth.graph import LANGS, SynthGraph
from injection.synth.templates import render
from kg.build import load_workspace_schema
from kg.config import IndexSection


def questions(graph: SynthGraph) -> dict[str, list[tuple[str, set[str]]]]:
    """Per language: (question, gold fact ids) for every schema template and (subject, relation) pair."""
    gold: dict[tuple[str, str], set[str]] = defaultdict(set)
    for fact in graph.known:
        gold[(fact.subject, fact.predicate)].add(fact.id)
    out: dict[str, list[tuple[str, set[str]]]] = {lang: [] for lang in LANGS}
    for (subject, predicate), facts in sorted(gold.items()):
        relation = graph.schema.relation_types.get(predicate)
        if relation is None:
            continue  # open relations have no question templates
        for lang in LANGS:
            name = graph.name(subject, lang)
            if name is None:
                continue
            for template in relation.questions.get(lang, ()):
                out[lang].append((render(template, name), facts))
    return out


def ranks(scores: np.ndarray, keys: list[str], gold: list[set[str]]) -> list[int | None]:
    """1-based rank of the first item whose key is a gold fact, per question (None past 100)."""
    top = np.argsort(-scores, axis=1)[:, :100]
    found = []
    for row, facts in zip(top, gold, strict=True):
        found.append(next((i + 1 for i, j in enumerate(row) if keys[j] in facts), None))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-w", "--workspace", type=Path, default=None, help="A built workspace (default: "
                        "build the example corpus into a temporary folder).")
    parser.add_argument("--models", default="minilm,e5-small,static-multilingual")
    args = parser.parse_args()

    ws = example_workspace(args.workspace, "bench_embed_")
    view, schema = ws.bundle.view(), load_workspace_schema(ws)
    items = collect_items(view, schema).to_pylist()
    texts, keys = [r["text"] for r in items], [r["key"] for r in items]
    asked = questions(SynthGraph(view, schema))
    print(f"{len(items)} items ({sum(r['kind'] == 'fact' for r in items)} fact texts); questions: "
          + ", ".join(f"{lang} {len(q)}" for lang, q in asked.items()))

    langs = [r["lang"] for r in items]
    rows: dict[str, list[dict]] = {"all": [], "own": []}
    speeds, dims = {}, {}
    for name in [m.strip() for m in args.models.split(",") if m.strip()]:
        embedder = load_embedder(name)
        embedder.embed(texts[:64])  # warm-up: first calls allocate and load lazily
        start = time.perf_counter()
        vectors = embedder.embed(texts, batch_size=64)
        speeds[name], dims[name] = len(texts) / (time.perf_counter() - start), embedder.dim
        queries = {lang: embedder.embed([text for text, _ in qs], query=True) for lang, qs in asked.items() if qs}
        for scope, scope_rows in rows.items():
            row = {"model": name}
            for lang, q in queries.items():
                scores = q @ vectors.T
                if scope == "own":  # kg index keeps each language in its own space
                    scores[:, [i for i, item_lang in enumerate(langs) if item_lang != lang]] = -np.inf
                found = ranks(scores, keys, [facts for _, facts in asked[lang]])
                for k in (1, 5, 10):
                    row[f"{lang} R@{k}"] = sum(r is not None and r <= k for r in found) / len(found)
                row[f"{lang} MRR"] = sum(1 / r for r in found if r is not None) / len(found)
            scope_rows.append(row)

    base = rows["all"][0]["model"]
    columns = [c for c in rows["all"][0] if c != "model"]
    header = "".join(f"{c:>10}" for c in columns)
    titles = {"all": "searching all items (both languages in one index)",
              "own": "searching the items of the question's language (kg index: one space per language)"}
    for scope, title in titles.items():
        print(f"\n{title}\n{'model':<22}{'dim':>5}{header}{'items/s':>10}{'speed':>9}")
        for row in rows[scope]:
            name = row["model"]
            print(f"{name:<22}{dims[name]:>5}" + "".join(f"{row[c]:>10.3f}" for c in columns)
                  + f"{speeds[name]:>10.0f}{speeds[name] / speeds[base]:>8.2f}x")
    best = {lang: max(rows["own"], key=lambda r, lang=lang: r.get(f"{lang} MRR", -1))["model"]
            for lang in asked if asked[lang]}
    defaults = IndexSection()
    print("\nbest MRR per question language: " + ", ".join(f"{k} {v}" for k, v in best.items())
          + "; kg index defaults: " + ", ".join(f"{lang} {defaults.model_for(lang)}" for lang in best))
    print(f"R@k: share of questions with a gold fact's item in the top k; speed: items/s as a ratio to "
          f"{base} in this run.")


if __name__ == "__main__":
    main()
