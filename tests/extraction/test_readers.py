import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from extraction.readers import read_corpus
from extraction.steps import DropLog
from kg.errors import InputError
from tests.conftest import write_corpus


def test_reads_every_format_and_records_bad_files(tmp_path):
    corpus = write_corpus(tmp_path / "c", {
        "a.txt": "plain text", "b.md": "# title\nbody", "c.html": "<html><body><p>x</p></body></html>",
        "d.jsonl": json.dumps({"body": "from jsonl", "title": "T"}) + "\n" + "not json\n"
                   + json.dumps({"other": 1}) + "\n",
        "bin.txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00", "bad.txt": b"caf\xe9 au lait",
        "empty.txt": "", "notes.docx": "x",
    })
    pq.write_table(pa.table({"body": ["from parquet", None]}), corpus / "e.parquet")
    drops = DropLog()
    docs = list(read_corpus([corpus], drops, text_field="body"))
    texts = sorted(d.text for d in docs)
    assert "from jsonl" in texts and "from parquet" in texts and "plain text" in texts
    formats = {d.meta["format"] for d in docs}
    assert formats == {"text", "markdown", "html", "jsonl", "parquet"}
    reasons = {d.source.rsplit("/", 1)[-1]: d.reason for d in drops.drops}
    assert "binary" in reasons["bin.txt"]
    assert "UTF-8" in reasons["bad.txt"] and "byte 3" in reasons["bad.txt"]
    assert reasons["empty.txt"] == "empty file"
    assert "unsupported" in reasons["notes.docx"]
    assert "invalid JSON" in reasons["d.jsonl#L2"]
    assert "text field" in reasons["d.jsonl#L3"] or "'body'" in reasons["d.jsonl#L3"]
    assert drops.counts["read"] == len(drops.drops)


def test_giant_document_is_dropped_with_advice(tmp_path):
    corpus = write_corpus(tmp_path / "c", {"big.txt": "word " * 300_000, "ok.txt": "fine text"})
    drops = DropLog()
    docs = list(read_corpus([corpus], drops, max_bytes=1_000_000))
    assert [d.text for d in docs] == ["fine text"]
    assert "too large" in drops.drops[0].reason and "max_doc_bytes" in drops.drops[0].reason


def test_missing_path_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        list(read_corpus([tmp_path / "nope"], DropLog()))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no files"):
        list(read_corpus([tmp_path / "empty"], DropLog()))


def test_fifty_megabyte_document_with_default_limit(tmp_path):
    corpus = tmp_path / "c"
    corpus.mkdir()
    with (corpus / "huge.txt").open("w") as handle:
        line = "Alibaba was founded by Jack Ma in Hangzhou. " * 20 + "\n"
        for _ in range(50_000_000 // len(line) + 1):
            handle.write(line)
    (corpus / "ok.txt").write_text("still read", encoding="utf-8")
    drops = DropLog()
    docs = list(read_corpus([corpus], drops))
    assert [d.text for d in docs] == ["still read"]
    assert drops.drops[0].source.endswith("huge.txt") and "50.0 MB" in drops.drops[0].reason
