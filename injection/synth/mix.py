"""Replay mixing: general text added to the synthetic pretraining text against forgetting.

Continual pretraining on domain text alone makes a small model forget general skills; mixing in a
share of general ("replay") text counters that. :func:`mix_replay` adds replay documents until

    replay tokens / (replay tokens + synthetic CPT tokens) = ratio

measured with the real tokenizer. Documents are taken in file order (shuffle the file beforehand for
a random sample); the last one is cut on a token boundary so the ratio lands on target. A file with
too few tokens is repeated (with a warning), up to ``max_repeats`` passes.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pyarrow.parquet as pq

from injection.synth.graph import script_lang
from injection.synth.records import Record
from injection.synth.tokens import TokenCounter
from injection.synth.warns import Warnings
from kg.errors import ConfigError, InputError

FORMATS: tuple[str, ...] = (".jsonl", ".json", ".jsonl.gz", ".parquet")
_BATCH = 256


@dataclass
class ReplayStats:
    """What replay mixing did.

    Attributes:
        source: the replay file's name.
        field: the text field read.
        target_ratio: the requested replay share of CPT tokens.
        ratio: the share reached, by real tokens.
        documents: replay records added (a cut or repeated document counts each time).
        tokens: replay tokens added.
        synthetic_tokens: synthetic CPT tokens they were mixed with.
        passes: passes over the file (1 unless it had to be repeated).
        truncated: whether the last document was cut to hit the ratio.
        contaminated: replay documents skipped because they overlap an evaluation prompt.
    """

    source: str
    field: str
    target_ratio: float
    ratio: float = 0.0
    documents: int = 0
    tokens: int = 0
    synthetic_tokens: int = 0
    passes: int = 1
    truncated: bool = False
    contaminated: int = 0


def check_ratio(ratio: float) -> None:
    """Raise :class:`ConfigError` unless 0 < ratio < 1."""
    if not 0.0 < ratio < 1.0:
        raise ConfigError(f"--ratio must be between 0 and 1 (exclusive), got {ratio}; e.g. 0.2 makes "
                          "replay 20% of the pretraining tokens")


def _open_text(path: Path) -> IO[str]:
    if path.name.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8")
    return path.open(encoding="utf-8")


def _check_path(path: Path) -> None:
    if not path.is_file():
        raise InputError(f"replay file {path} does not exist; give a .jsonl or .parquet file of general text")
    if not path.name.endswith(FORMATS):
        raise InputError(f"replay file {path} has an unsupported format; use one of: {', '.join(FORMATS)}")


def _missing_field(path: Path, field: str, present: list[str], where: str = "") -> InputError:
    fields = ", ".join(repr(f) for f in present) or "none"
    return InputError(f"replay file {path}{where} has no field {field!r} (fields present: {fields}); "
                      "pass the text field with --replay-field")


def iter_replay(path: str | Path, field: str = "text") -> Iterator[tuple[int, str]]:
    """Yield ``(row number, text)`` of every non-empty text in a replay file.

    Raises:
        InputError: missing or unsupported file, invalid JSON, a missing or non-string field.
    """
    path = Path(path)
    _check_path(path)
    if path.suffix == ".parquet":
        try:
            parquet = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises ArrowInvalid/OSError for damaged files
            raise InputError(f"cannot read replay file {path} as Parquet ({exc})") from None
        names = parquet.schema_arrow.names
        if field not in names:
            raise _missing_field(path, field, names)
        row = 0
        for batch in parquet.iter_batches(columns=[field], batch_size=1024):
            for text in batch.column(0).to_pylist():
                row += 1
                if text is not None and not isinstance(text, str):
                    raise InputError(f"replay file {path}, row {row}: field {field!r} is not text")
                if text and text.strip():
                    yield row, text
        return
    with _open_text(path) as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"replay file {path}, line {line_no}: not valid JSON ({exc.msg}); "
                                 "replay files hold one JSON object per line") from None
            if not isinstance(obj, dict):
                raise InputError(f"replay file {path}, line {line_no}: expected a JSON object per line")
            if field not in obj:
                raise _missing_field(path, field, list(obj), f", line {line_no},")
            text = obj[field]
            if text is not None and not isinstance(text, str):
                raise InputError(f"replay file {path}, line {line_no}: field {field!r} is not text")
            if text and text.strip():
                yield line_no, text


def check_replay(path: str | Path, field: str = "text") -> None:
    """Fail fast (before any synthesis work) on a replay file that cannot be read as asked.

    Raises:
        InputError: as :func:`iter_replay`, checked on the first record, or the file holds no text.
    """
    if next(iter_replay(path, field), None) is None:
        raise InputError(f"replay file {path} holds no text in field {field!r}")


def mix_replay(path: str | Path, synthetic_tokens: int, ratio: float, counter: TokenCounter, *,
               field: str = "text", max_repeats: int = 10, warnings: Warnings | None = None,
               reject: Callable[[str], bool] | None = None) -> tuple[list[Record], ReplayStats]:
    """Replay records that make up ``ratio`` of the CPT tokens next to ``synthetic_tokens``.

    Args:
        path: a ``.jsonl`` (one JSON object per line, optionally gzipped) or ``.parquet`` file.
        synthetic_tokens: tokens of the synthetic training CPT text.
        ratio: replay share of all CPT tokens, in (0, 1).
        counter: the token counter of the run.
        field: the text field.
        max_repeats: most passes over a file too small for the ratio.
        warnings: where a repeated file is reported.
        reject: documents for which this returns True are skipped (decontamination).

    Returns:
        (replay records of kind ``replay``, statistics).

    Raises:
        ConfigError: ratio outside (0, 1) or no synthetic text to mix with.
        InputError: unreadable file, missing field, no usable text, or too small even when repeated.
    """
    check_ratio(ratio)
    path = Path(path)
    if synthetic_tokens <= 0:
        raise ConfigError("replay is mixed into CPT text, but this run produced none; add cpt to --kinds "
                          "(or check the warnings for why no cpt text was made)")
    target = round(ratio / (1.0 - ratio) * synthetic_tokens)
    stats = ReplayStats(source=path.name, field=field, target_ratio=ratio, synthetic_tokens=synthetic_tokens)
    records: list[Record] = []
    pool: list[tuple[int, str, int]] = []  # usable documents of the first pass, for repeats

    def take(row: int, text: str, n: int, pass_no: int) -> bool:
        """Add one document (cut if needed); False once the target is reached."""
        remaining = target - stats.tokens
        # stopping a hair short beats appending a few-token fragment
        if remaining <= max(1, int(0.002 * target)):
            return False
        cut = n > remaining
        if cut:
            text = counter.truncate(text, remaining)
            n = counter.count([text])[0]
            if n == 0:
                return False
        records.append(Record(kind="replay", lang=script_lang(text) or "und", split="train", style="replay",
                              text=text, meta={"source": path.name, "row": row, "pass": pass_no,
                                               "truncated": cut}))
        stats.tokens += n
        stats.documents += 1
        stats.truncated = stats.truncated or cut
        return not cut

    def batches() -> Iterator[list[tuple[int, str]]]:
        batch: list[tuple[int, str]] = []
        for item in iter_replay(path, field):
            batch.append(item)
            if len(batch) == _BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    going = True
    for batch in batches():
        usable = [(row, text) for row, text in batch if not (reject and reject(text))]
        stats.contaminated += len(batch) - len(usable)
        for (row, text), n in zip(usable, counter.count([t for _, t in usable]), strict=True):
            pool.append((row, text, n))
            if not take(row, text, n, 1):
                going = False
                break
        if not going:
            break
    if not pool:
        raise InputError(f"replay file {path} holds no usable text in field {field!r}"
                         + (f" ({stats.contaminated} documents overlap evaluation prompts)"
                            if stats.contaminated else ""))
    if going and stats.tokens < target:
        file_tokens = sum(n for _, _, n in pool)
        needed = -(-target // file_tokens)
        if needed > max_repeats:
            raise InputError(
                f"replay file {path} holds {file_tokens:,} tokens but ratio {ratio} needs {target:,}: it "
                f"would have to be repeated {needed} times (at most {max_repeats}); give a larger file "
                "or a lower --ratio")
        if warnings is not None:
            warnings.add(f"replay file {path.name} holds {file_tokens:,} tokens but ratio {ratio} needs "
                         f"{target:,}: its documents were repeated ({needed} passes)")
        for pass_no in range(2, needed + 1):
            stats.passes = pass_no
            if not all(take(row, text, n, pass_no) for row, text, n in pool):
                break
    total = stats.tokens + synthetic_tokens
    stats.ratio = stats.tokens / total if total else 0.0
    return records, stats


__all__ = ["FORMATS", "ReplayStats", "check_ratio", "check_replay", "iter_replay", "mix_replay"]
