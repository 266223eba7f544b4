"""Real token counts, and replay mixing to a token ratio."""

from __future__ import annotations

import json
import random

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from injection.synth import tokens
from injection.synth.mix import check_replay, iter_replay, mix_replay
from injection.synth.templates import Warnings
from injection.synth.tokens import TokenCounter
from kg.errors import ConfigError, InputError

WORDS = ("the model reads general text about science history music cooking travel sport weather "  # noqa: SIM905
         "markets language and many other topics so that it keeps what it already knew").split()
HANZI = "模型阅读关于科学历史音乐烹饪旅行体育天气市场语言等许多话题的通用文本以保持已有的知识"


def general_docs(n: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for i in range(n):
        if i % 3 == 2:
            docs.append("".join(rng.choice(HANZI) for _ in range(rng.randint(20, 300))) + "。")
        else:
            docs.append(" ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 400))).capitalize() + ".")
    return docs


def write_jsonl(path, docs, field="text"):
    path.write_text("".join(json.dumps({field: d, "id": i}, ensure_ascii=False) + "\n"
                            for i, d in enumerate(docs)), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def counter() -> TokenCounter:
    return TokenCounter()


def test_token_counts_are_real_and_batched(counter):
    texts = ["hello world", "阿里巴巴由马云创立。", ""]
    counts = counter.count(texts)
    assert counts == [counter.count([t])[0] for t in texts]
    assert counts[0] == 2 and counts[1] > 5 and counts[2] == 0  # BPE, not words or characters
    assert counter.total(texts) == sum(counts)


def test_truncate_cuts_on_a_token_boundary(counter):
    text = "Alibaba Group was founded in Hangzhou by Jack Ma and seventeen friends."
    cut = counter.truncate(text, 5)
    assert text.startswith(cut) and counter.count([cut])[0] == 5
    assert counter.truncate(text, 1000) == text and counter.truncate(text, 0) == ""


def test_tokenizer_by_path_and_bad_spec(counter, tmp_path):
    counter.count(["warm"])  # the default is converted and cached by now
    cached = next((tokens.cache_dir() / "tokenizers").glob("SmolLM2-*"))
    by_folder, by_file = TokenCounter(cached), TokenCounter(cached / "tokenizer.json")
    expected = counter.count(["hello world"])
    assert by_folder.count(["hello world"]) == by_file.count(["hello world"]) == expected
    with pytest.raises(ConfigError, match="cannot load tokenizer .*smollm2.*tokenizer.json"):
        TokenCounter(tmp_path / "nothing-here").count(["x"])
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    with pytest.raises(ConfigError, match="not a valid tokenizer.json"):
        TokenCounter(bad).count(["x"])


@pytest.mark.slow
def test_gguf_tokenizer_is_converted_once_into_the_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("KG_CACHE_DIR", str(tmp_path))
    tokens.load_tokenizer.cache_clear()
    try:
        first = TokenCounter().count(["阿里巴巴 Alibaba"])
        saved = list((tmp_path / "tokenizers").glob("*/tokenizer.json"))
        assert len(saved) == 1
        tokens.load_tokenizer.cache_clear()
        assert TokenCounter().count(["阿里巴巴 Alibaba"]) == first  # read back from the cache
    finally:
        tokens.load_tokenizer.cache_clear()


@pytest.mark.parametrize("ratio", [0.05, 0.2, 0.5, 0.8])
def test_replay_ratio_holds_within_2_percent_by_tokens(counter, tmp_path, ratio):
    replay_file = write_jsonl(tmp_path / "replay.jsonl", general_docs(400))
    synthetic = 20_000
    records, stats = mix_replay(replay_file, synthetic, ratio, counter)
    replay_tokens = counter.total([r.text for r in records])
    assert replay_tokens == stats.tokens
    reached = replay_tokens / (replay_tokens + synthetic)
    assert abs(reached - ratio) <= 0.02 * ratio
    assert stats.ratio == pytest.approx(reached) and stats.passes == 1
    assert all(r.kind == "replay" and r.split == "train" and r.style == "replay" for r in records)
    assert {r.lang for r in records} <= {"en", "zh"}


def test_replay_from_parquet_with_another_field(counter, tmp_path):
    path = tmp_path / "replay.parquet"
    pq.write_table(pa.table({"content": general_docs(100), "n": list(range(100))}), path)
    records, stats = mix_replay(path, 5_000, 0.2, counter, field="content")
    assert abs(stats.ratio - 0.2) <= 0.004 and records[0].meta["source"] == "replay.parquet"


def test_wrong_field_names_the_field_and_the_fields_present(counter, tmp_path):
    jsonl = write_jsonl(tmp_path / "replay.jsonl", ["some text"], field="content")
    with pytest.raises(InputError,
                       match=r"no field 'text' \(fields present: 'content', 'id'\).*--replay-field"):
        check_replay(jsonl, "text")
    parquet = tmp_path / "replay.parquet"
    pq.write_table(pa.table({"body": ["x"]}), parquet)
    with pytest.raises(InputError, match=r"no field 'text' \(fields present: 'body'\)"):
        mix_replay(parquet, 100, 0.2, counter)


def test_unreadable_replay_inputs(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_replay(tmp_path / "missing.jsonl")
    (tmp_path / "r.csv").write_text("text\nhello\n")
    with pytest.raises(InputError, match="unsupported format.*jsonl"):
        check_replay(tmp_path / "r.csv")
    (tmp_path / "broken.jsonl").write_text('{"text": "ok"}\n{"text": \n')
    with pytest.raises(InputError, match="line 2: not valid JSON"):
        list(iter_replay(tmp_path / "broken.jsonl"))
    (tmp_path / "number.jsonl").write_text('{"text": 3}\n')
    with pytest.raises(InputError, match="line 1: field 'text' is not text"):
        check_replay(tmp_path / "number.jsonl")
    (tmp_path / "empty.jsonl").write_text('{"text": ""}\n\n')
    with pytest.raises(InputError, match="holds no text in field 'text'"):
        check_replay(tmp_path / "empty.jsonl")


@pytest.mark.parametrize("ratio", [0.0, 1.0, -0.2, 1.5])
def test_ratio_outside_0_1_is_refused(counter, tmp_path, ratio):
    replay_file = write_jsonl(tmp_path / "replay.jsonl", general_docs(5))
    with pytest.raises(ConfigError, match="--ratio must be between 0 and 1"):
        mix_replay(replay_file, 1000, ratio, counter)


def test_no_synthetic_text_to_mix_with(counter, tmp_path):
    with pytest.raises(ConfigError, match="add cpt to --kinds"):
        mix_replay(write_jsonl(tmp_path / "r.jsonl", ["text"]), 0, 0.2, counter)


def test_small_replay_file_is_repeated_with_a_warning(counter, tmp_path):
    docs = general_docs(6)
    replay_file = write_jsonl(tmp_path / "replay.jsonl", docs)
    file_tokens = counter.total(docs)
    warnings = Warnings()
    records, stats = mix_replay(replay_file, file_tokens * 3, 0.5, counter, warnings=warnings)
    assert stats.passes == 3 and abs(stats.ratio - 0.5) <= 0.01
    assert {r.meta["pass"] for r in records} == {1, 2, 3}
    assert any("repeated (3 passes)" in line for line in warnings.lines())
    with pytest.raises(InputError, match=r"repeated 30 times \(at most 10\).*lower --ratio"):
        mix_replay(replay_file, file_tokens * 30, 0.5, counter)


def test_rejected_replay_documents_are_skipped(counter, tmp_path):
    docs = ["LEAK who founded Alibaba", *general_docs(50)]
    replay_file = write_jsonl(tmp_path / "replay.jsonl", docs)
    records, stats = mix_replay(replay_file, 2_000, 0.2, counter, reject=lambda text: text.startswith("LEAK"))
    assert stats.contaminated == 1 and not any(r.text.startswith("LEAK") for r in records)
