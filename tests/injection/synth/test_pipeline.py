"""`kg synth` end to end: the pipeline, its files and card, determinism, the CLI and its errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from injection.synth import pipeline
from injection.synth.pipeline import GENERATORS, SynthOptions, synthesize
from injection.synth.records import KINDS, Record
from injection.synth.tokens import TokenCounter
from injection.synth.writers import write_dataset
from kg.cli import app
from kg.errors import ConfigError, InputError, UnknownComponentError, WorkspaceError
from kg.graph import GraphView
from kg.workspace import Workspace
from tests.injection.synth.test_mix import general_docs, write_jsonl

runner = CliRunner()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def replay_file(tmp_path_factory) -> Path:
    return write_jsonl(tmp_path_factory.mktemp("replay") / "general.jsonl", general_docs(600))


@pytest.fixture(scope="module")
def full_run(example_ws, replay_file, tmp_path_factory):
    """Every kind in both languages with 20% replay, as jsonl."""
    out = tmp_path_factory.mktemp("synth-out") / "ds"
    stages: list[str] = []
    summary = synthesize(example_ws, out, SynthOptions(replay=str(replay_file), ratio=0.2, seed=7),
                         progress=lambda stage, done, total: stages.append(stage))
    return out, summary, stages


def test_full_run_writes_the_layout_and_a_card(full_run):
    out, summary, stages = full_run
    assert set(snapshot(out)) >= {"README.md", "card.json", "train/cpt.jsonl", "train/sft.jsonl",
                                  "eval/qa.jsonl", "eval/tf.jsonl", "eval/mc.jsonl", "heldout/qa.jsonl"}
    assert set(KINDS) <= set(stages) and {"dedup", "decontam", "tokens", "replay", "write"} <= set(stages)
    card = json.loads((out / "card.json").read_text())
    assert card["seed"] == 7 and card["tokenizer"] == "smollm2" and card["options"]["ratio"] == 0.2
    assert set(card["counts"]["split_kind"]["train"]) == {"cpt", "replay", "qa", "tf", "mc", "refusal"}
    assert card["counts"]["lang"]["en"] > 0 and card["counts"]["lang"]["zh"] > 0
    assert card["counts"]["relation"]["founded_by"] > 0
    for rel, info in card["files"].items():
        assert len(read_jsonl(out / rel)) == info["rows"] > 0
    assert card["tokens"]["total"] == sum(info["tokens"] for info in card["files"].values())
    readme = (out / "README.md").read_text()
    assert readme.startswith("---\n") and "config_name: cpt" in readme and "## Warnings" in readme
    assert "## Replay" in readme and "exact_duplicate" in readme


def test_rows_carry_text_chat_alpaca_and_provenance(full_run):
    out, _, _ = full_run
    cpt = read_jsonl(out / "train" / "cpt.jsonl")
    assert set(cpt[0]) == {"text", "kind", "style", "lang", "facts", "entities", "templates", "meta"}
    assert {row["kind"] for row in cpt} == {"cpt", "replay"}
    assert all(row["facts"] for row in cpt if row["kind"] == "cpt")
    sft = read_jsonl(out / "train" / "sft.jsonl")
    assert {row["kind"] for row in sft} == {"qa", "tf", "mc", "refusal"}
    for row in sft:
        assert row["messages"][0] == {"role": "user", "content": row["instruction"]}
        assert row["messages"][1] == {"role": "assistant", "content": row["output"]}
        assert row["input"] == "" and isinstance(json.loads(row["meta"]), dict)
    assert all(isinstance(row["label"], bool) for row in sft if row["kind"] == "tf")
    assert all(len(row["options"]) >= 4 for row in sft if row["kind"] == "mc")
    assert {row["lang"] for row in read_jsonl(out / "eval" / "qa.jsonl")} <= {"en", "zh"}


def test_replay_ratio_holds_within_2_percent_by_tokens(full_run):
    out, summary, _ = full_run
    counter = TokenCounter()
    rows = read_jsonl(out / "train" / "cpt.jsonl")
    replay = counter.total([r["text"] for r in rows if r["kind"] == "replay"])
    synthetic = counter.total([r["text"] for r in rows if r["kind"] == "cpt"])
    assert abs(replay / (replay + synthetic) - 0.2) <= 0.02 * 0.2
    assert summary.replay.tokens == replay and summary.replay.synthetic_tokens == synthetic


def test_outputs_load_with_datasets(full_run, example_ws, tmp_path):
    datasets = pytest.importorskip("datasets")
    out, summary, _ = full_run
    cache = str(tmp_path / "hf")
    cpt = datasets.load_dataset("json", data_files=str(out / "train" / "cpt.jsonl"), cache_dir=cache)["train"]
    assert cpt.num_rows == summary.files["train/cpt.jsonl"]["rows"] and "text" in cpt.column_names
    sft = datasets.load_dataset("json", data_files=str(out / "train" / "sft.jsonl"), cache_dir=cache)["train"]
    assert sft[0]["messages"][0]["role"] == "user" and sft[0]["messages"][1]["role"] == "assistant"
    mc = datasets.load_dataset(str(out), "mc", cache_dir=cache)  # through the card's configs
    assert set(mc) == {"eval", "heldout"}
    # the card declares the features: a file whose options are all empty still loads them as strings
    qa = datasets.load_dataset(str(out), "qa", cache_dir=cache)["eval"]
    assert qa.features["options"].feature.dtype == "string" and qa.features["label"].dtype == "bool"

    parquet = tmp_path / "pq"
    synthesize(example_ws, parquet, SynthOptions(kinds=("cpt", "tf", "mc"), langs=("zh",), format="parquet"))
    files = sorted(p.relative_to(parquet).as_posix() for p in parquet.rglob("*.parquet"))
    assert "train/cpt.parquet" in files and "eval/tf.parquet" in files
    for rel in files:
        loaded = datasets.load_dataset("parquet", data_files=str(parquet / rel), cache_dir=cache)["train"]
        assert loaded.num_rows > 0 and set(loaded.unique("lang")) == {"zh"}
    tf = datasets.load_dataset(str(parquet), "tf", cache_dir=cache)["eval"]
    assert set(tf.unique("label")) == {True, False}


def test_same_seed_gives_byte_identical_files(full_run, example_ws, replay_file, tmp_path):
    out, _, _ = full_run
    again = synthesize(example_ws, tmp_path / "again", SynthOptions(replay=str(replay_file), seed=7))
    assert snapshot(again.out) == snapshot(out)
    other = synthesize(example_ws, tmp_path / "other", SynthOptions(replay=str(replay_file), seed=8))
    assert snapshot(other.out)["train/cpt.jsonl"] != snapshot(out)["train/cpt.jsonl"]


def test_worker_processes_write_the_same_files(full_run, example_ws, replay_file, tmp_path):
    out, summary, _ = full_run
    options = SynthOptions(replay=str(replay_file), seed=7, workers=2)
    forked = synthesize(example_ws, tmp_path / "forked", options)
    assert snapshot(forked.out) == snapshot(out)  # every kind, the card and its warnings included
    assert forked.warnings == summary.warnings and "workers" not in summary.card["options"]


def test_a_rerun_replaces_files_of_an_earlier_run(example_ws, tmp_path):
    out = tmp_path / "ds"
    synthesize(example_ws, out, SynthOptions(kinds=("qa",), langs=("en",)))
    (out / "notes.txt").write_text("mine")
    synthesize(example_ws, out, SynthOptions(kinds=("tf",), langs=("en",), format="parquet"))
    assert not list(out.rglob("*.jsonl")) and (out / "train" / "sft.parquet").exists()
    assert (out / "notes.txt").read_text() == "mine"


def test_decontamination_drops_a_training_record_holding_an_eval_question(example_ws, tmp_path, monkeypatch):
    def leaky_qa(ctx, options):
        made = list(GENERATORS_BEFORE["qa"](ctx, options))
        question = next(r for r in made if r.split == "eval" and r.lang == "en")
        leak = Record(kind="cpt", lang="en", split="train", style="fact",
                      text=f"A quiz once asked: {question.prompt} Everyone knew the answer.")
        return [*made, leak]

    GENERATORS_BEFORE = dict(GENERATORS)
    monkeypatch.setitem(GENERATORS, "qa", leaky_qa)
    summary = synthesize(example_ws, tmp_path / "ds", SynthOptions(kinds=("cpt", "qa"), langs=("en",)))
    assert summary.decontamination == {"eval_prompt": 1}
    texts = [row["text"] for row in read_jsonl(tmp_path / "ds" / "train" / "cpt.jsonl")]
    assert not any(t.startswith("A quiz once asked") for t in texts)


def test_duplicates_are_removed_and_counted(example_ws, tmp_path, monkeypatch):
    def doubled_cpt(ctx, options):
        made = list(GENERATORS_BEFORE["cpt"](ctx, options))
        first = made[0]
        copy = Record(kind="cpt", lang=first.lang, split="train", style=first.style, text=first.text.upper())
        return [*made, copy]

    GENERATORS_BEFORE = dict(GENERATORS)
    monkeypatch.setitem(GENERATORS, "cpt", doubled_cpt)
    baseline = synthesize(example_ws, tmp_path / "a", SynthOptions(kinds=("cpt",), langs=("en",)))
    summary = synthesize(example_ws, tmp_path / "b", SynthOptions(kinds=("cpt",), langs=("en",), dedup=False))
    assert baseline.records["train"]["cpt"] + baseline.dedup.get("exact_duplicate", 0) \
        + baseline.dedup.get("near_duplicate", 0) == summary.records["train"]["cpt"]
    assert baseline.dedup["exact_duplicate"] >= 1 and summary.dedup == {}


# -- bad inputs ---------------------------------------------------------------------------------------

def test_empty_graph_is_a_clear_error(tmp_path):
    with pytest.raises(WorkspaceError, match="the workspace has no facts.*run kg build first"):
        synthesize(GraphView.empty(), tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


def test_unknown_kind_lists_the_valid_ones():
    with pytest.raises(UnknownComponentError,
                       match="unknown kind 'poems'; choose one of: cpt, mc, qa, refusal, tf"):
        SynthOptions(kinds=("cpt", "poems"))
    with pytest.raises(UnknownComponentError, match="unknown language 'fr'"):
        SynthOptions(langs=("fr",))


@pytest.mark.parametrize("ratio", [0.0, 1.0, 1.5, -0.1])
def test_ratio_outside_0_1_is_refused(ratio):
    with pytest.raises(ConfigError, match="--ratio must be between 0 and 1"):
        SynthOptions(replay="r.jsonl", ratio=ratio)


def test_bad_options_are_refused():
    with pytest.raises(ConfigError, match="unknown output format 'csv'"):
        SynthOptions(format="csv")
    with pytest.raises(ConfigError, match="eval-ratio must be in"):
        SynthOptions(eval_ratio=1.0)
    with pytest.raises(ConfigError, match="min-hops"):
        SynthOptions(min_hops=5, max_hops=2)
    with pytest.raises(ConfigError, match="workers must be at least 1"):
        SynthOptions(workers=0)


def test_replay_problems_fail_before_any_generation(example_ws, tmp_path, monkeypatch):
    monkeypatch.setattr(pipeline, "_generate", lambda *a: pytest.fail("generators ran"))
    wrong = write_jsonl(tmp_path / "r.jsonl", ["general text"], field="content")
    with pytest.raises(InputError, match=r"no field 'text' \(fields present: 'content', 'id'\)"):
        synthesize(example_ws, tmp_path / "ds", SynthOptions(replay=str(wrong)))
    with pytest.raises(InputError, match="does not exist"):
        synthesize(example_ws, tmp_path / "ds", SynthOptions(replay=str(tmp_path / "missing.jsonl")))
    with pytest.raises(ConfigError, match="add cpt to --kinds"):
        synthesize(example_ws, tmp_path / "ds", SynthOptions(kinds=("qa",), replay=str(wrong)))


def test_writers_on_hand_made_records(tmp_path):
    datasets = pytest.importorskip("datasets")
    records = [
        Record(kind="cpt", lang="en", text="Alibaba was founded by Jack Ma.", facts=["f1"], meta={"hops": 1}),
        Record(kind="replay", lang="zh", style="replay", text="通用文本。"),
        Record(kind="tf", lang="en", prompt="True or false: Alibaba was founded by Jack Ma.", answer="True",
               label=True, facts=["f1"]),
        Record(kind="qa", lang="zh", split="heldout", prompt="谁创立了阿里巴巴？", answer="马云"),
    ]
    for fmt in ("jsonl", "parquet"):
        written = write_dataset(tmp_path / fmt, records, fmt)
        assert list(written) == [f"train/cpt.{fmt}", f"train/sft.{fmt}", f"heldout/qa.{fmt}"]
        loaded = datasets.load_dataset(fmt if fmt == "parquet" else "json",
                                       data_files=str(tmp_path / fmt / "heldout" / f"qa.{fmt}"),
                                       cache_dir=str(tmp_path / "hf"))["train"]
        assert loaded[0]["messages"][1]["content"] == "马云" and loaded[0]["label"] is None


# -- CLI ---------------------------------------------------------------------------------------------

def kg(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


def test_cli_end_to_end(example_ws, replay_file, tmp_path):
    out = tmp_path / "ds"
    result = kg("synth", "-w", example_ws.path, "--out", out, "--kinds", "cpt,qa,tf,mc,refusal",
                "--langs", "en,zh", "--seed", 3, "--replay", replay_file, "--ratio", 0.2,
                "--replay-field", "text")
    assert result.exit_code == 0, result.output
    for word in ("kg synth", "train", "replay", "languages:", "wrote train/cpt.jsonl"):
        assert word in result.output
    card = json.loads((out / "card.json").read_text())
    assert abs(card["replay"]["ratio"] - 0.2) <= 0.004 and card["seed"] == 3
    again = kg("synth", "-w", example_ws.path, "-o", tmp_path / "again", "--seed", 3,
               "--replay", replay_file, "-q", "--workers", 2)
    assert again.exit_code == 0, again.output
    assert snapshot(tmp_path / "again") == snapshot(out)


@pytest.mark.parametrize(("args", "code", "message"), [
    (["--ratio", "1.5", "--replay", "REPLAY"], 2, "--ratio must be between 0 and 1"),
    (["--kinds", "cpt,poems"], 2, "unknown kind 'poems'; choose one of: cpt, mc, qa, refusal, tf"),
    (["--replay", "REPLAY", "--replay-field", "body"], 2, "no field 'body' (fields present: 'text', 'id')"),
    (["--tokenizer", "/nowhere/tok"], 2, "cannot load tokenizer '/nowhere/tok'"),
])
def test_cli_errors_are_one_clear_line(example_ws, replay_file, tmp_path, args, code, message):
    args = [str(replay_file) if a == "REPLAY" else a for a in args]
    result = kg("synth", "-w", example_ws.path, "--out", tmp_path / "ds", "-q", *args)
    assert result.exit_code == code, result.output
    assert result.output.startswith("error:") and message in " ".join(result.output.split())


def test_cli_on_a_missing_or_empty_workspace(tmp_path):
    result = kg("synth", "-w", tmp_path / "nope", "--out", tmp_path / "ds")
    assert result.exit_code == 3 and "no workspace at" in result.output
    Workspace(tmp_path / "ws").open(create=True)
    result = kg("synth", "-w", tmp_path / "ws", "--out", tmp_path / "ds")
    assert result.exit_code == 3 and "the workspace has no facts" in " ".join(result.output.split())


# -- paraphrasing ------------------------------------------------------------------------------------

class Rewording:
    """A stand-in paraphrase engine: keeps every name, changes the wording."""

    model_name = "rewording-test"

    def rewrite(self, texts, langs):
        prefix = {"en": "In other words, ", "zh": "换句话说，"}
        return [prefix[lang] + text for text, lang in zip(texts, langs, strict=True)]


def test_paraphrases_join_the_cpt_text(example_ws, tmp_path):
    settings = {"engine": Rewording(), "limit": 6, "api_key": "s3cret"}
    options = SynthOptions(kinds=("cpt",), paraphrase=settings)
    summary = synthesize(example_ws, tmp_path / "ds", options)
    rows = read_jsonl(tmp_path / "ds" / "train" / "cpt.jsonl")
    made = [r for r in rows if r["style"] == "paraphrase"]
    assert len(made) == 6 and all(json.loads(r["meta"])["model"] == "rewording-test" for r in made)
    assert summary.card["counts"]["style"]["cpt/paraphrase"] == 6
    assert summary.card["options"]["paraphrase"] == {"api_key": "***", "engine": "rewording-test", "limit": 6}
    assert "s3cret" not in (tmp_path / "ds" / "README.md").read_text()


def test_paraphrase_engines_by_name():
    from injection.synth.paraphrase import EndpointParaphraser

    engine, run = pipeline.paraphraser({"base_url": "http://127.0.0.1:9/v1", "model": "m", "limit": 3})
    assert isinstance(engine, EndpointParaphraser) and run == {"limit": 3}
    with pytest.raises(UnknownComponentError, match="unknown paraphrase engine 'gpt'"):
        pipeline.paraphraser({"engine": "gpt"})
    with pytest.raises(ConfigError, match="invalid paraphrase options for the endpoint engine"):
        pipeline.paraphraser({"base_url": "http://127.0.0.1:9/v1", "model": "m", "colour": "red"})
    with pytest.raises(ConfigError, match="does not exist"):
        pipeline.paraphraser({"model": "/nowhere/model.gguf"})


def test_cli_paraphrase_options_need_a_model(example_ws, tmp_path):
    result = kg("synth", "-w", example_ws.path, "--out", tmp_path / "ds",
                "--paraphrase-opt", "temperature=0.5")
    assert result.exit_code == 2 and "--paraphrase-opt needs --paraphrase-model" in result.output
