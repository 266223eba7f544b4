#!/usr/bin/env python3
"""Validate the hand-annotated extraction dev set (stdlib only).

Usage:
    python validate.py [FILE.jsonl ...]

Without arguments, validates en.jsonl and zh.jsonl next to this script.
Prints per-file and overall counts; exits with status 1 if any error is found.
"""
from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

ENTITY_TYPES = ("Person", "Organization", "Location", "Product")

# predicate -> (subject type, object type)
RELATION_SCHEMA = {
    "founded_by": ("Organization", "Person"),
    "ceo_of": ("Person", "Organization"),
    "headquartered_in": ("Organization", "Location"),
    "born_in": ("Person", "Location"),
    "acquired": ("Organization", "Organization"),
    "developed": ("Organization", "Product"),
    "located_in": ("Location", "Location"),
    "works_for": ("Person", "Organization"),
    "subsidiary_of": ("Organization", "Organization"),
    "educated_at": ("Person", "Organization"),
}

ID_RE = re.compile(r"^(en|zh)-\d{3,}$")
CJK_RE = re.compile(r"[\u4e00-\u9fff]")


def _is_word_char(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch == "_")


def validate_file(path: Path, seen_ids: set[str], errors: list[str]) -> dict:
    stats = {
        "sentences": 0,
        "entities": Counter(),
        "relations": Counter(),
        "no_relation_sentences": 0,
    }
    seen_texts: set[str] = set()
    expected_lang = path.stem if path.stem in ("en", "zh") else None

    def err(lineno: int, msg: str) -> None:
        errors.append(f"{path.name}:{lineno}: {msg}")

    with path.open(encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    if lines and lines[-1] == "":
        lines.pop()

    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            err(lineno, "blank line")
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            err(lineno, f"invalid JSON: {exc}")
            continue
        if not isinstance(rec, dict):
            err(lineno, "record is not a JSON object")
            continue

        extra = set(rec) - {"id", "text", "entities", "relations"}
        missing = {"id", "text", "entities", "relations"} - set(rec)
        if missing:
            err(lineno, f"missing keys: {sorted(missing)}")
            continue
        if extra:
            err(lineno, f"unexpected keys: {sorted(extra)}")

        rid, text, ents, rels = rec["id"], rec["text"], rec["entities"], rec["relations"]

        # --- id ---
        if not isinstance(rid, str) or not ID_RE.match(rid):
            err(lineno, f"bad id {rid!r} (expected e.g. 'en-001')")
        else:
            if rid in seen_ids:
                err(lineno, f"duplicate id {rid!r}")
            seen_ids.add(rid)
            if expected_lang and not rid.startswith(expected_lang + "-"):
                err(lineno, f"id {rid!r} does not match file language {expected_lang!r}")

        # --- text ---
        if not isinstance(text, str) or not text.strip():
            err(lineno, "text must be a non-empty string")
            continue
        if text != text.strip():
            err(lineno, "text has leading/trailing whitespace")
        if text in seen_texts:
            err(lineno, "duplicate sentence text")
        seen_texts.add(text)
        if expected_lang == "zh" and not CJK_RE.search(text):
            err(lineno, "zh sentence contains no CJK characters")
        if expected_lang == "en" and CJK_RE.search(text):
            err(lineno, "en sentence contains CJK characters")

        stats["sentences"] += 1

        # --- entities ---
        if not isinstance(ents, list):
            err(lineno, "entities must be a list")
            continue
        types_by_text: dict[str, set[str]] = {}
        spans: list[tuple[int, int]] = []
        ok_entities = True
        for i, ent in enumerate(ents):
            where = f"{rid} entity[{i}]"
            if not isinstance(ent, dict) or set(ent) != {"text", "type", "start", "end"}:
                err(lineno, f"{where}: must have exactly text/type/start/end")
                ok_entities = False
                continue
            et, ety, s, e = ent["text"], ent["type"], ent["start"], ent["end"]
            if not isinstance(et, str) or not et:
                err(lineno, f"{where}: empty or non-string text")
                ok_entities = False
                continue
            if ety not in ENTITY_TYPES:
                err(lineno, f"{where}: unknown type {ety!r}")
            if not (isinstance(s, int) and isinstance(e, int)) or isinstance(s, bool) or isinstance(e, bool):
                err(lineno, f"{where}: start/end must be integers")
                ok_entities = False
                continue
            if not (0 <= s < e <= len(text)):
                err(lineno, f"{where}: offsets {s}:{e} out of range for text of length {len(text)}")
                ok_entities = False
                continue
            if text[s:e] != et:
                err(lineno, f"{where}: text[{s}:{e}]={text[s:e]!r} != {et!r}")
                ok_entities = False
                continue
            if et != et.strip():
                err(lineno, f"{where}: entity text has surrounding whitespace")
            if (s > 0 and _is_word_char(text[s - 1]) and _is_word_char(text[s])) or (
                e < len(text) and _is_word_char(text[e]) and _is_word_char(text[e - 1])
            ):
                err(lineno, f"{where}: span {et!r} cuts through a word")
            types_by_text.setdefault(et, set()).add(ety)
            spans.append((s, e))
            stats["entities"][ety] += 1

        # overlapping / duplicate spans (annotation is flat)
        ordered = sorted(spans)
        for (s1, e1), (s2, e2) in zip(ordered, ordered[1:]):
            if s2 < e1:
                err(lineno, f"{rid}: overlapping entity spans {text[s1:e1]!r} and {text[s2:e2]!r}")

        # every occurrence of an annotated surface string must be covered by some span
        if ok_entities:
            for et in types_by_text:
                start = 0
                while True:
                    k = text.find(et, start)
                    if k < 0:
                        break
                    start = k + 1
                    end = k + len(et)
                    if et[0].isascii() and k > 0 and _is_word_char(text[k - 1]) and _is_word_char(et[0]):
                        continue
                    if et[-1].isascii() and end < len(text) and _is_word_char(text[end]) and _is_word_char(et[-1]):
                        continue
                    if not any(s <= k and end <= e for s, e in spans):
                        err(lineno, f"{rid}: mention {et!r} at {k} is not annotated")

        for et, tys in types_by_text.items():
            if len(tys) > 1:
                err(lineno, f"{rid}: surface {et!r} annotated with several types {sorted(tys)}")

        # --- relations ---
        if not isinstance(rels, list):
            err(lineno, "relations must be a list")
            continue
        seen_rel: set[tuple[str, str, str]] = set()
        for j, rel in enumerate(rels):
            where = f"{rid} relation[{j}]"
            if not isinstance(rel, dict) or set(rel) != {"subject", "predicate", "object"}:
                err(lineno, f"{where}: must have exactly subject/predicate/object")
                continue
            subj, pred, obj = rel["subject"], rel["predicate"], rel["object"]
            if pred not in RELATION_SCHEMA:
                err(lineno, f"{where}: unknown predicate {pred!r}")
                continue
            dom, rng = RELATION_SCHEMA[pred]
            if subj not in types_by_text:
                err(lineno, f"{where}: subject {subj!r} is not an annotated entity")
            elif dom not in types_by_text[subj]:
                err(lineno, f"{where}: subject {subj!r} has type {sorted(types_by_text[subj])}, {pred} needs {dom}")
            if obj not in types_by_text:
                err(lineno, f"{where}: object {obj!r} is not an annotated entity")
            elif rng not in types_by_text[obj]:
                err(lineno, f"{where}: object {obj!r} has type {sorted(types_by_text[obj])}, {pred} needs {rng}")
            if subj == obj:
                err(lineno, f"{where}: subject and object are identical ({subj!r})")
            key = (subj, pred, obj)
            if key in seen_rel:
                err(lineno, f"{where}: duplicate relation {key}")
            seen_rel.add(key)
            stats["relations"][pred] += 1
        if not rels:
            stats["no_relation_sentences"] += 1

    return stats


def print_stats(title: str, stats: dict) -> None:
    print(f"== {title} ==")
    print(f"  sentences: {stats['sentences']}"
          f" (with relations: {stats['sentences'] - stats['no_relation_sentences']},"
          f" without: {stats['no_relation_sentences']})")
    print(f"  entities: {sum(stats['entities'].values())}")
    for t in ENTITY_TYPES:
        print(f"    {t:<16} {stats['entities'][t]}")
    print(f"  relations: {sum(stats['relations'].values())}")
    for p in RELATION_SCHEMA:
        print(f"    {p:<16} {stats['relations'][p]}")


def main(argv: list[str]) -> int:
    here = Path(__file__).resolve().parent
    paths = [Path(a) for a in argv] if argv else [here / "en.jsonl", here / "zh.jsonl"]
    errors: list[str] = []
    seen_ids: set[str] = set()
    total = {"sentences": 0, "entities": Counter(), "relations": Counter(), "no_relation_sentences": 0}
    for path in paths:
        if not path.is_file():
            errors.append(f"{path}: file not found")
            continue
        stats = validate_file(path, seen_ids, errors)
        print_stats(path.name, stats)
        total["sentences"] += stats["sentences"]
        total["no_relation_sentences"] += stats["no_relation_sentences"]
        total["entities"].update(stats["entities"])
        total["relations"].update(stats["relations"])
    if len(paths) > 1:
        print_stats("total", total)
    if errors:
        print(f"\n{len(errors)} error(s):", file=sys.stderr)
        for e in errors:
            print("  " + e, file=sys.stderr)
        return 1
    print("\nOK: no errors")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
