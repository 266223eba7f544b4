"""Entity and relation precision/recall/F1 on the hand-annotated dev set (tests/data/devset).

Usage: python benchmarks/eval_extraction.py [--schema examples/schema.yaml] [--show-errors N] [--zh-ner jieba]

Entities match on exact (start, end, type). Relations match on (subject, predicate, object) where
arguments are compared by normalized surface text or by the canonical gazetteer name, so "IBM" and
"International Business Machines" meet. Open relations are not scored (the gold has none).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from extraction.analysis import Analyzer  # noqa: E402
from kg.ids import normalize_key  # noqa: E402
from kg.model import Document  # noqa: E402
from kg.schema import Schema, load_schema  # noqa: E402


def prf(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
    """Precision, recall and F1 from counts."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return p, r, (2 * p * r / (p + r) if p + r else 0.0)


def canonical(schema: Schema, text: str) -> str:
    """Canonical key of a surface form: the gazetteer name when known, else the normalized text."""
    key = normalize_key(text)
    for (_, alias), name in schema.alias_table.items():
        if alias == key:
            return normalize_key(name)
    return key


def evaluate(schema: Schema, lang: str, records: list[dict], show: int = 0, zh_ner: str = "model") -> dict:
    """Score one language; returns counts and P/R/F1 for entities and relations."""
    analyzer = Analyzer(schema, open_relations=False, zh_ner=zh_ner)
    docs = [Document(id=r["id"], text=r["text"], lang=lang) for r in records]
    ent = Counter()
    rel = Counter()
    per_rel: dict[str, Counter] = {}
    errors: list[str] = []
    analyses = {a.doc_id: a for a in analyzer.analyze(docs)}
    for record in records:
        analysis = analyses[record["id"]]
        gold_e = {(e["start"], e["end"], e["type"]) for e in record["entities"]}
        pred_e = {(m.start, m.end, m.type) for m in analysis.mentions}
        ent["tp"] += len(gold_e & pred_e)
        ent["fp"] += len(pred_e - gold_e)
        ent["fn"] += len(gold_e - pred_e)
        gold_r = {(canonical(schema, r["subject"]), r["predicate"], canonical(schema, r["object"]))
                  for r in record["relations"]}
        pred_r = {(canonical(schema, analysis.mentions[r.subject].text), r.predicate,
                   canonical(schema, analysis.mentions[r.object].text))
                  for r in analysis.relations if not r.open}
        for triple in gold_r | pred_r:
            counts = per_rel.setdefault(triple[1], Counter())
            key = "tp" if triple in gold_r and triple in pred_r else ("fp" if triple in pred_r else "fn")
            counts[key] += 1
            rel[key] += 1
        if show and (gold_r != pred_r) and len(errors) < show:
            errors.append(f"{record['text']}\n   gold={sorted(gold_r)}\n   pred={sorted(pred_r)}")
    return {"entities": ent, "relations": rel, "per_relation": per_rel, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--schema", default=str(ROOT / "examples" / "schema.yaml"))
    parser.add_argument("--devset", default=str(ROOT / "tests" / "data" / "devset"))
    parser.add_argument("--show-errors", type=int, default=0)
    parser.add_argument("--zh-ner", default="model",
                        help="Chinese NER: model (packaged), jieba (posseg tags) or a model file.")
    args = parser.parse_args()
    schema = load_schema(args.schema)
    for lang in ("en", "zh"):
        path = Path(args.devset) / f"{lang}.jsonl"
        records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
        result = evaluate(schema, lang, records, args.show_errors, args.zh_ner)
        print(f"== {lang}: {len(records)} sentences")
        for kind in ("entities", "relations"):
            c = result[kind]
            p, r, f = prf(c["tp"], c["fp"], c["fn"])
            print(f"  {kind:<10} P={p:.3f} R={r:.3f} F1={f:.3f}  (tp={c['tp']} fp={c['fp']} fn={c['fn']})")
        for name, c in sorted(result["per_relation"].items()):
            p, r, f = prf(c["tp"], c["fp"], c["fn"])
            print(f"    {name:<18} P={p:.2f} R={r:.2f} F1={f:.2f}  (tp={c['tp']} fp={c['fp']} fn={c['fn']})")
        for err in result["errors"]:
            print("  ✗", err)


if __name__ == "__main__":
    main()
