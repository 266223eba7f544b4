"""Corpus readers: a folder or list of .txt, .md, .html/.htm, .jsonl and .parquet files -> Documents.

Readers never raise on a bad file: binary, undecodable, empty or oversized inputs are recorded in the
DropLog (step ``read``) with a reason that says what to do, and reading continues.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path

import pyarrow.parquet as pq

from extraction.steps import DropLog
from kg.errors import InputError
from kg.model import Document

TEXT_SUFFIXES = {".txt": "text", ".md": "markdown", ".html": "html", ".htm": "html"}
RECORD_SUFFIXES = {".jsonl", ".parquet"}
SUPPORTED = set(TEXT_SUFFIXES) | RECORD_SUFFIXES
STEP = "read"


def discover(paths: Iterable[str | Path]) -> list[Path]:
    """Expand folders recursively into supported files, sorted so every run sees the same order.

    Raises:
        InputError: a path does not exist, or nothing readable was found.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))
        elif path.is_file():
            files.append(path)
        else:
            raise InputError(f"corpus path {path} does not exist; pass a folder or files to read")
    files = sorted(set(files))
    if not files:
        raise InputError("no files found in the corpus paths; add .txt/.md/.html/.jsonl/.parquet files")
    return files


def _decode(data: bytes, source: str, drops: DropLog) -> str | None:
    if not data.strip():
        drops.add(source, STEP, "empty file")
        return None
    if b"\x00" in data[:8192]:
        drops.add(source, STEP, "binary file (NUL bytes); remove it or convert it to text")
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        drops.add(
            source, STEP,
            f"bad encoding: not valid UTF-8 at byte {exc.start}; re-save the file as UTF-8",
        )
        return None


def read_corpus(
    paths: Iterable[str | Path],
    drops: DropLog,
    *,
    text_field: str = "text",
    title_field: str = "title",
    max_bytes: int = 20_000_000,
) -> Iterator[Document]:
    """Yield raw Documents (id empty, text not yet cleaned) from files, recording unreadable ones.

    Args:
        paths: folders and/or files.
        drops: where unreadable inputs are recorded.
        text_field: field holding the text in .jsonl/.parquet records.
        title_field: optional title field in records.
        max_bytes: larger files or records are dropped with a reason (split them, or raise the limit).
    """
    for path in discover(paths):
        source = str(path)
        suffix = path.suffix.lower()
        if suffix not in SUPPORTED:
            drops.add(source, STEP, f"unsupported file type {suffix or '(none)'}; use one of "
                      f"{', '.join(sorted(SUPPORTED))}")
            continue
        size = path.stat().st_size
        if suffix in TEXT_SUFFIXES and size > max_bytes:
            drops.add(source, STEP, f"too large ({size / 1e6:.1f} MB > max_doc_bytes "
                      f"{max_bytes / 1e6:.1f} MB); split the file or raise [extraction] max_doc_bytes")
            continue
        if suffix == ".jsonl":
            yield from _read_jsonl(path, drops, text_field, title_field, max_bytes)
        elif suffix == ".parquet":
            yield from _read_parquet(path, drops, text_field, title_field, max_bytes)
        else:
            text = _decode(path.read_bytes(), source, drops)
            if text is not None:
                yield Document(id="", text=text, source=source,
                               meta={"format": TEXT_SUFFIXES[suffix], "title": path.stem})


def _record(text: object, title: object, source: str, fmt: str, drops: DropLog,
            field_name: str, max_bytes: int) -> Document | None:
    if not isinstance(text, str):
        drops.add(source, STEP, f"record has no string field {field_name!r}; set --text-field")
        return None
    if not text.strip():
        drops.add(source, STEP, "empty record")
        return None
    if len(text) > max_bytes:
        drops.add(source, STEP, f"too large ({len(text) / 1e6:.1f} M chars); split the record or "
                  "raise [extraction] max_doc_bytes")
        return None
    return Document(id="", text=text, source=source,
                    meta={"format": fmt, "title": str(title) if title else ""})


def _read_jsonl(path: Path, drops: DropLog, text_field: str, title_field: str,
                max_bytes: int) -> Iterator[Document]:
    with path.open("rb") as handle:
        for lineno, raw in enumerate(handle, start=1):
            source = f"{path}#L{lineno}"
            if not raw.strip():
                continue
            line = _decode(raw, source, drops)
            if line is None:
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                drops.add(source, STEP, f"invalid JSON ({exc.msg}); fix the line")
                continue
            if not isinstance(obj, dict):
                drops.add(source, STEP, "JSON line is not an object")
                continue
            doc = _record(obj.get(text_field), obj.get(title_field), source, "jsonl", drops,
                          text_field, max_bytes)
            if doc is not None:
                yield doc


def _read_parquet(path: Path, drops: DropLog, text_field: str, title_field: str,
                  max_bytes: int) -> Iterator[Document]:
    try:
        pfile = pq.ParquetFile(path)
    except Exception as exc:  # pyarrow raises several types for corrupt files
        drops.add(str(path), STEP, f"unreadable Parquet ({exc}); re-export the file")
        return
    names = pfile.schema_arrow.names
    if text_field not in names:
        drops.add(str(path), STEP, f"no column {text_field!r} (columns: {', '.join(names)}); "
                  "set --text-field")
        return
    columns = [text_field] + ([title_field] if title_field in names else [])
    row = 0
    for batch in pfile.iter_batches(columns=columns, batch_size=1024):
        texts = batch.column(0).to_pylist()
        titles = batch.column(1).to_pylist() if len(columns) > 1 else [None] * len(texts)
        for text, title in zip(texts, titles):
            doc = _record(text, title, f"{path}#{row}", "parquet", drops, text_field, max_bytes)
            row += 1
            if doc is not None:
                yield doc
