"""Dataset files and the dataset card of a synthesis run.

Layout (``FMT`` is ``jsonl`` or ``parquet``)::

    OUT/README.md            dataset card: YAML header (Hugging Face ``configs``) + counts, tokens, warnings
    OUT/card.json            the same numbers, machine-readable
    OUT/train/cpt.FMT        pretraining text: synthetic CPT records and replay documents (shuffled)
    OUT/train/sft.FMT        question data for fine-tuning (qa, tf, mc, refusal)
    OUT/eval/KIND.FMT        evaluation questions per kind (facts trained as text, questions unseen)
    OUT/heldout/KIND.FMT     control questions about entities no training record mentions

Text files have ``text`` plus provenance (``kind``, ``style``, ``lang``, ``facts``, ``entities``,
``templates``, ``meta``). Question files have the chat form (``messages``), the alpaca form
(``instruction``, ``input``, ``output``), ``text`` (prompt and answer) and ``kind``, ``style``, ``lang``,
``label``, ``options``, ``facts``, ``entities``, ``templates``, ``meta``. ``meta`` is a JSON string, so
every file has one fixed schema. Everything loads with ``datasets.load_dataset("json" | "parquet",
data_files=...)``, or ``datasets.load_dataset(OUT, CONFIG)`` through the card's ``configs``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from injection.synth.dedup import TEXT_KINDS
from injection.synth.records import Record
from kg.errors import ConfigError

FORMATS: tuple[str, ...] = ("jsonl", "parquet")
SPLIT_DIRS: tuple[str, ...] = ("train", "eval", "heldout")
_CARD_ROWS = 40  # longest table the README shows
_NAMED = 12  # open relations the README names under a warning that sums them up (card.json has all)

_STRINGS = pa.list_(pa.string())
TEXT_SCHEMA = pa.schema([
    ("text", pa.string()), ("kind", pa.string()), ("style", pa.string()), ("lang", pa.string()),
    ("facts", _STRINGS), ("entities", _STRINGS), ("templates", _STRINGS), ("meta", pa.string()),
])
QUESTION_SCHEMA = pa.schema([
    ("messages", pa.list_(pa.struct([("role", pa.string()), ("content", pa.string())]))),
    ("instruction", pa.string()), ("input", pa.string()), ("output", pa.string()), ("text", pa.string()),
    ("kind", pa.string()), ("style", pa.string()), ("lang", pa.string()), ("label", pa.bool_()),
    ("options", _STRINGS), ("facts", _STRINGS), ("entities", _STRINGS), ("templates", _STRINGS),
    ("meta", pa.string()),
])


def check_format(fmt: str) -> None:
    """Raise :class:`ConfigError` for an unknown output format."""
    if fmt not in FORMATS:
        raise ConfigError(f"unknown output format {fmt!r}; choose one of: {', '.join(FORMATS)}")


def file_stem(record: Record) -> str:
    """The output file (without extension) a record goes to, e.g. ``train/sft`` or ``eval/mc``."""
    if record.split == "train":
        return "train/cpt" if record.kind in TEXT_KINDS else "train/sft"
    return f"{record.split}/{record.kind}"


def group_files(records: Sequence[Record]) -> dict[str, list[Record]]:
    """Records per output file stem, in their given order; stems sorted (train, then eval, heldout)."""
    files: dict[str, list[Record]] = {}
    for record in records:
        files.setdefault(file_stem(record), []).append(record)
    order = {split: i for i, split in enumerate(SPLIT_DIRS)}
    return dict(sorted(files.items(), key=lambda kv: (order.get(kv[0].split("/")[0], 9), kv[0])))


def _meta(record: Record) -> str:
    return json.dumps(record.meta, ensure_ascii=False, sort_keys=True, default=str)


def text_row(record: Record) -> dict[str, Any]:
    """The row of a pretraining-text record (columns of :data:`TEXT_SCHEMA`)."""
    return {"text": record.text, "kind": record.kind, "style": record.style, "lang": record.lang,
            "facts": list(record.facts), "entities": list(record.entities),
            "templates": list(record.templates), "meta": _meta(record)}


def question_row(record: Record) -> dict[str, Any]:
    """The row of a question record (columns of :data:`QUESTION_SCHEMA`)."""
    return {"messages": record.messages(), **record.alpaca(), "text": record.text, "kind": record.kind,
            "style": record.style, "lang": record.lang, "label": record.label,
            "options": list(record.options), "facts": list(record.facts), "entities": list(record.entities),
            "templates": list(record.templates), "meta": _meta(record)}


def write_records(path: Path, records: Sequence[Record], fmt: str) -> None:
    """Write one file of records (text or question rows, chosen by the first record's kind)."""
    check_format(fmt)
    is_text = bool(records) and records[0].kind in TEXT_KINDS
    to_row, schema = (text_row, TEXT_SCHEMA) if is_text else (question_row, QUESTION_SCHEMA)
    rows = [to_row(r) for r in records]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    if fmt == "parquet":
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), tmp, compression="zstd")
    else:
        with tmp.open("w", encoding="utf-8", newline="\n") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    tmp.replace(path)


def write_dataset(out: str | Path, records: Sequence[Record], fmt: str = "jsonl") -> dict[str, list[Record]]:
    """Write every record into the layout under ``out``; files with no records are not written.

    The split folders ``train/``, ``eval/`` and ``heldout/`` are replaced as a whole, so files of an
    earlier run (another format, a kind no longer asked for) do not linger.

    Returns:
        Records per written file, keyed by the path relative to ``out`` (e.g. ``train/cpt.jsonl``).
    """
    check_format(fmt)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for the dataset")
    out.mkdir(parents=True, exist_ok=True)
    for split in SPLIT_DIRS:
        shutil.rmtree(out / split, ignore_errors=True)
    written: dict[str, list[Record]] = {}
    for stem, group in group_files(records).items():
        rel = f"{stem}.{fmt}"
        write_records(out / rel, group, fmt)
        written[rel] = group
    return written


def hf_configs(files: Sequence[str]) -> list[dict[str, Any]]:
    """Hugging Face ``configs`` for the card header: ``cpt``, ``sft``, then one per question kind."""
    configs: dict[str, list[dict[str, str]]] = {}
    for rel in files:
        split, name = rel.split("/", 1)
        config = name.rsplit(".", 1)[0]
        configs.setdefault(config, []).append({"split": split, "path": rel})
    return [{"config_name": name, "data_files": data_files} for name, data_files in configs.items()]


def hf_features(schema: pa.Schema) -> list[dict[str, Any]]:
    """A file schema as Hugging Face ``dataset_info.features`` YAML, so loaders do not have to guess.

    Without it, a jsonl file whose ``options`` or ``label`` are empty in every row loads as nulls.
    """
    def feature(dtype: pa.DataType) -> Any:
        if pa.types.is_list(dtype):
            inner = dtype.value_type
            if pa.types.is_struct(inner):
                return {"list": [{"name": f.name, **_dtype(f.type)} for f in inner]}
            return {"list": _dtype(inner)["dtype"]}
        return _dtype(dtype)

    return [{"name": f.name, **feature(f.type)} for f in schema]


def _dtype(dtype: pa.DataType) -> dict[str, str]:
    return {"dtype": "bool" if pa.types.is_boolean(dtype) else "string"}


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return lines + [""]


def render_card(card: Mapping[str, Any]) -> str:
    """The dataset card (``README.md``) text for the numbers in ``card`` (see :func:`write_card`)."""
    configs = hf_configs(list(card.get("files", {})))
    header = {"language": list(card.get("languages", [])),
              "pretty_name": card.get("title", "kg synth dataset"),
              "tags": ["synthetic", "knowledge-graph", "kg"],
              "configs": configs,
              "dataset_info": [
                  {"config_name": c["config_name"],
                   "features": hf_features(TEXT_SCHEMA if c["config_name"] == "cpt" else QUESTION_SCHEMA)}
                  for c in configs]}
    lines = ["---", yaml.safe_dump(header, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {card.get('title', 'kg synth dataset')}", "",
             "Synthetic continual-pretraining text and factuality data generated by `kg synth` from a "
             "knowledge graph. `eval` questions ask about facts whose text is in `train` with question "
             "templates training never uses; `heldout` questions ask about entities no training record "
             "mentions (a control that should not improve with training).", ""]
    files = card.get("files", {})
    lines += ["## Files", ""] + _table(["file", "rows", "tokens"],
                                       [[f, v["rows"], v["tokens"]] for f, v in files.items()])
    probe = card.get("probe")
    if probe:  # added by kg probe-facts (injection.train.knowledge)
        classes = list(probe.get("counts", {}))
        summary = (f"`kg probe-facts` asked a model the training questions ({probe.get('samples')} samples "
                   f"at temperature {probe.get('temperature')} plus a greedy answer each): `known` questions "
                   "are in `train/probe_qa`, `unknown` ones became refusals in `train/probe_refusal`; "
                   f"{probe.get('needs_text', 0):,} facts of `mixed` questions need more training text "
                   f"(see `{probe.get('report')}`).")
        lines += ["## Knowledge probe", "", summary, ""]
        lines += _table(["language", *classes],
                        [[lang, *(n.get(c, 0) for c in classes)] for lang, n in probe.get("langs", {}).items()]
                        + [["all", *(probe["counts"][c] for c in classes)]])
    counts = card.get("counts", {})
    if counts.get("split_kind"):
        lines += ["## Records per split and kind", ""] + _table(
            ["split", "kind", "records", "tokens"],
            [[split, kind, n, card["tokens"]["split_kind"].get(split, {}).get(kind, 0)]
             for split, kinds in counts["split_kind"].items() for kind, n in kinds.items()])
    for title, key, column in (("Records per language", "lang", "language"),
                               ("Records per style", "style", "style"),
                               ("Records per relation", "relation", "relation")):
        if counts.get(key):
            # open-relation graphs have hundreds of predicates: the card shows the largest, card.json all
            ranked = sorted(counts[key].items(), key=lambda kv: (-kv[1], kv[0]))
            lines += [f"## {title}", ""] + _table([column, "records"], ranked[:_CARD_ROWS])
            if len(ranked) > _CARD_ROWS:
                lines += [f"… and {len(ranked) - _CARD_ROWS} more in card.json", ""]
    tokens = card.get("tokens", {})
    lines += ["## Tokens", "", f"Tokenizer: `{card.get('tokenizer', '')}`; "
              f"total {tokens.get('total', 0):,} tokens.", ""]
    replay = card.get("replay")
    if replay:
        r = replay
        lines += ["## Replay", "", f"{r['documents']:,} documents ({r['tokens']:,} tokens) from "
                  f"`{r['source']}` (field `{r['field']}`) mixed with {r['synthetic_tokens']:,} "
                  f"synthetic CPT tokens: replay share {r['ratio']:.4f} (target {r['target_ratio']}), "
                  f"{r['passes']} pass(es) over the file.", ""]
    removed = [("duplicates", reason, n) for reason, n in card.get("dedup", {}).items()]
    removed += [("decontamination", reason, n) for reason, n in card.get("decontamination", {}).items()]
    lines += ["## Removed records", ""]
    lines += _table(["stage", "reason", "records"], removed) if removed else ["None.", ""]
    warnings = card.get("warnings", [])
    lines += ["## Warnings", ""] + (_warning_lines(warnings[:_CARD_ROWS], card.get("warning_relations", {}))
                                    or ["None."])
    if len(warnings) > _CARD_ROWS:
        lines.append(f"- … and {len(warnings) - _CARD_ROWS} more in card.json")
    lines.append("")
    lines += ["## Generation", "", f"- seed: {card.get('seed')}", f"- kg version: {card.get('kg_version')}"]
    lines += [f"- graph: {', '.join(f'{k} {v:,}' for k, v in card.get('graph', {}).items())}"]
    lines += ["- options:", "", "```json", json.dumps(card.get("options", {}), ensure_ascii=False, indent=2,
                                                       sort_keys=True), "```", ""]
    return "\n".join(lines)


def _warning_lines(warnings: list[str], relations: Mapping[str, Mapping[str, int]]) -> list[str]:
    """Warning bullets; a line summing up open relations gets a sub-bullet naming the largest ones."""
    lines = []
    for warning in warnings:
        lines.append(f"- {warning}")
        named = next((rels for prefix, rels in relations.items() if warning.startswith(f"{prefix} (")), None)
        if named:
            shown = ", ".join(f"`{name}` ({n:,})" for name, n in list(named.items())[:_NAMED])
            more = len(named) - _NAMED
            lines.append(f"  - {shown}" + (f", … and {more:,} more in card.json" if more > 0 else ""))
    return lines


def write_card(out: str | Path, card: Mapping[str, Any]) -> None:
    """Write ``OUT/card.json`` and ``OUT/README.md`` (deterministic: no times or absolute paths)."""
    out = Path(out)
    (out / "card.json").write_text(json.dumps(card, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out / "README.md").write_text(render_card(card), encoding="utf-8")


__all__ = ["FORMATS", "QUESTION_SCHEMA", "SPLIT_DIRS", "TEXT_SCHEMA", "check_format", "file_stem",
           "group_files", "hf_configs", "hf_features", "question_row", "render_card", "text_row",
           "write_card", "write_dataset", "write_records"]
