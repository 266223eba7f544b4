"""Continual training: settings files, data packing and chat rendering, and real Trainer runs.

Training runs use a tiny Llama (hidden 64, 2 layers) with the packaged SmolLM2 tokenizer's vocabulary,
on a hand-written dataset in ``kg synth`` layout that states made-up facts, so a few dozen steps at a
high learning rate teach them measurably.
"""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from injection.train.config import LoraSettings, ProbeSettings, TrainSettings, load_settings
from injection.train.data import (
    IGNORE_INDEX,
    build_train_dataset,
    chunk,
    cpt_texts,
    encode_chat,
    pack,
    render_chat,
    sft_texts,
)
from injection.train.models import PLAIN_PROMPT, chat_prompt, load_causal_lm
from injection.train.probe import ProbeConfig
from injection.train.trainer import (
    PROBE_LOG,
    NaNGuard,
    ProbeCallback,
    latest_checkpoint,
    resolve_precision,
    train,
)
from kg.errors import ConfigError, KGError, TrainingError

FACTS = [("Zorvania", "Quellmar"), ("Pelandor", "Brindle"), ("Ostravel", "Kestrine"), ("Murnoth", "Faldris"),
         ("Tessary", "Vontal"), ("Quibrel", "Ardenmoor"), ("Halvenor", "Sypreth"), ("Drunmore", "Ellisand")]


def _question(country: str) -> str:
    return f"What is the capital of {country}?"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Two shared cores: one torch thread is faster than two fighting."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def tokenizer():
    """The SmolLM2 tokenizer (with its chat template) from the tokenizer cache of injection.synth.tokens."""
    from transformers import PreTrainedTokenizerFast

    from injection.synth.tokens import cache_dir, load_tokenizer

    load_tokenizer("smollm2")  # converts the GGUF vocabulary once and caches it
    pattern = "SmolLM2-135M-Instruct*/tokenizer_config.json"
    folders = sorted(p.parent for p in (cache_dir() / "tokenizers").glob(pattern))
    assert folders, "load_tokenizer('smollm2') left no cached tokenizer folder"
    tok = PreTrainedTokenizerFast.from_pretrained(str(folders[-1]))
    assert tok.chat_template and tok.eos_token_id is not None
    return tok


@pytest.fixture(scope="module")
def plain_tokenizer(tokenizer):
    """The same vocabulary without a chat template (a base model's tokenizer)."""
    import copy

    tok = copy.deepcopy(tokenizer)
    tok.chat_template = None
    return tok


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, tokenizer) -> Path:
    """A randomly initialised 2-layer Llama saved with the tokenizer (what load_causal_lm reads)."""
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                         max_position_embeddings=256,
                         tie_word_embeddings=True, bos_token_id=tokenizer.bos_token_id,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("tiny") / "base"
    LlamaForCausalLM(config).save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    """A dataset in kg synth layout: CPT text and QA rows stating the facts; eval multiple choice about them.

    The wrong options are names training never shows, so learning the answers ranks the right one first.
    """
    ds = tmp_path_factory.mktemp("ds") / "ds"
    cpt = [{"text": text, "kind": "cpt"} for country, capital in FACTS
           for text in (f"The capital of {country} is {capital}.",
                        f"{capital} is the capital city of {country}.")]
    _write_jsonl(ds / "train" / "cpt.jsonl", cpt)
    sft = [{"messages": [{"role": "user", "content": _question(country)},
                         {"role": "assistant", "content": capital}], "kind": "qa", "lang": "en"}
           for country, capital in FACTS]
    _write_jsonl(ds / "train" / "sft.jsonl", sft)
    mc = []
    for i, (country, capital) in enumerate(FACTS):
        options = [capital] + [f"{word}{i}" for word in ("Nemo", "Rasket", "Olvin")]
        random.Random(i).shuffle(options)
        answer = options.index(capital)
        prompt = "\n".join([_question(country), *(f"{'ABCD'[j]}. {o}" for j, o in enumerate(options)),
                            "Answer with the letter of the correct option."])
        mc.append({"messages": [{"role": "user", "content": prompt},
                                {"role": "assistant", "content": f"{'ABCD'[answer]}. {capital}"}],
                   "kind": "mc", "lang": "en", "options": options,
                   "meta": json.dumps({"answer_index": answer, "relation": "capital"})})
    _write_jsonl(ds / "eval" / "mc.jsonl", mc)
    return ds


@pytest.fixture(scope="module")
def general_text(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("general") / "general.jsonl"
    _write_jsonl(path, [{"text": "The weather was mild and the river ran slowly past the old mill."},
                        {"text": "Engineers measured the bridge twice before the winter storms arrived."}])
    return path


def _settings(tiny_model: Path, dataset: Path, out: Path, **kw) -> TrainSettings:
    values = {"model": str(tiny_model), "data": dataset, "output_dir": out, "learning_rate": 1e-2,
              "batch_size": 4, "seq_len": 64, "save_steps": 5, "logging_steps": 1, "warmup_ratio": 0.1}
    return TrainSettings(**{**values, **kw})


class _Steps(transformers.TrainerCallback):
    """Records the global step after every optimizer step."""

    def __init__(self) -> None:
        self.steps: list[int] = []

    def on_step_end(self, args, state, control, **kwargs):
        self.steps.append(state.global_step)


# -- settings ------------------------------------------------------------------------------------------


def test_settings_from_toml_and_yaml_resolve_paths_and_take_overrides(tmp_path):
    (tmp_path / "run.toml").write_text('data = "ds"\nlearning_rate = 3e-5\nmax_steps = 100\n'
                                       '[lora]\nr = 4\n[probe]\nkinds = ["mc"]\n', encoding="utf-8")
    settings = load_settings(tmp_path / "run.toml")
    assert settings.data == tmp_path / "ds" and settings.learning_rate == 3e-5
    assert settings.lora == LoraSettings(r=4) and settings.probe.kinds == ["mc"]
    assert settings.warmup_ratio == 0.05 and settings.lr_scheduler == "cosine"
    assert settings.kinds == ["cpt", "sft"]
    (tmp_path / "run.yaml").write_text("output_dir: out\nseq_len: 128\n", encoding="utf-8")
    settings = load_settings(tmp_path / "run.yaml", max_steps=7, lora=True, learning_rate=None)
    assert settings.output_dir == tmp_path / "out" and settings.seq_len == 128
    assert settings.max_steps == 7 and settings.lora == LoraSettings() and settings.learning_rate == 2e-5
    assert settings.with_overrides(lora=False).lora is None


@pytest.mark.parametrize(("text", "expected"), [
    ("lr = 1e-3\n", ["lr", "did you mean 'learning_rate'"]),
    ("learning_rate = -1\n", ["learning_rate", "greater than 0"]),
    ("[lora]\nrank = 4\n", ["lora.rank", "did you mean 'r'"]),
    ("kinds = [\"cpt\", \"dpo\"]\n", ["kinds.1", "'cpt' or 'sft'"]),
    ("seq_len = \"long\"\n", ["seq_len", "integer"]),
    ("learning_rate = \n", ["cannot be parsed"]),
])
def test_settings_file_errors_name_the_setting(tmp_path, text, expected):
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    assert str(path) in message
    for part in expected:
        assert part in message, message
    assert isinstance(info.value, ValueError) and isinstance(info.value, KGError)


def test_unknown_settings_list_the_valid_names_once_per_table(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("extraction = 1\nstores = 2\n[lora]\nzzz = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    message = str(info.value)
    for key in ("extraction: unknown setting", "stores: unknown setting", "lora.zzz: unknown setting"):
        assert key in message, message
    assert message.count("warmup_ratio") == 1 and message.count("target_modules") == 1, message


def test_settings_file_missing_or_wrong_suffix(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")
    (tmp_path / "run.ini").write_text("x=1", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"\.toml, \.yaml or \.yml"):
        load_settings(tmp_path / "run.ini")


def test_precision_is_fp32_on_cpu():
    assert resolve_precision("auto", cuda=False) == "fp32"
    assert resolve_precision("fp32", cuda=False) == "fp32"
    with pytest.raises(ConfigError, match="CUDA"):
        resolve_precision("bf16", cuda=False)


# -- data ----------------------------------------------------------------------------------------------


def test_pack_fills_blocks_exactly_and_loses_no_token():
    rng = random.Random(0)
    docs = [[rng.randrange(3, 1000) for _ in range(rng.randrange(1, 40))] for _ in range(50)]
    eos, pad = 2, 0
    blocks = list(pack(docs, 16, eos, pad=pad))
    assert all(len(b["input_ids"]) == len(b["labels"]) == len(b["attention_mask"]) == 16 for b in blocks)
    stream = [t for b in blocks for t, m in zip(b["input_ids"], b["attention_mask"]) if m]
    assert stream == [t for doc in docs for t in [*doc, eos]]
    # only the last block is padded, and padding gets no loss
    assert all(all(b["attention_mask"]) for b in blocks[:-1])
    last = blocks[-1]
    assert all(label == IGNORE_INDEX for label, m in zip(last["labels"], last["attention_mask"]) if not m)
    assert len(blocks) == -(-len(stream) // 16)


def test_pack_keeps_masked_labels_and_chunk_pads_each_document():
    docs = [{"input_ids": [5, 6, 7, 8], "labels": [IGNORE_INDEX, IGNORE_INDEX, 7, 8]}, [9, 10, 11]]
    (block,) = pack(docs, 10, eos=2, pad=0)
    assert block["input_ids"] == [5, 6, 7, 8, 2, 9, 10, 11, 2, 0]
    assert block["labels"] == [IGNORE_INDEX, IGNORE_INDEX, 7, 8, 2, 9, 10, 11, 2, IGNORE_INDEX]
    blocks = list(chunk(docs, 4, eos=2, pad=0))
    assert [b["input_ids"] for b in blocks] == [[5, 6, 7, 8], [2, 0, 0, 0], [9, 10, 11, 2]]


def test_sft_rendering_with_chat_template(tokenizer, dataset):
    chats = sft_texts(dataset, tokenizer)
    assert len(chats) == len(FACTS)
    first = chats[0]
    # the prompt is exactly what the probe feeds the model, the completion the answer and end of turn
    assert first.prompt == chat_prompt(tokenizer, _question(FACTS[0][0]))
    assert first.completion == f"{FACTS[0][1]}{tokenizer.eos_token}"
    (row,) = encode_chat(tokenizer, [first])
    answer = [t for t, label in zip(row["input_ids"], row["labels"]) if label != IGNORE_INDEX]
    assert tokenizer.decode(answer) == first.completion and answer[-1] == tokenizer.eos_token_id
    assert row["labels"][0] == IGNORE_INDEX
    (unmasked,) = encode_chat(tokenizer, [first], mask_prompt=False)
    assert unmasked["labels"] == unmasked["input_ids"] == row["input_ids"]


def test_sft_rendering_without_chat_template(plain_tokenizer, dataset):
    chats = sft_texts(dataset, plain_tokenizer)
    country, capital = FACTS[0]
    assert chats[0].prompt == PLAIN_PROMPT.format(question=_question(country)) == chat_prompt(
        plain_tokenizer, _question(country))
    assert chats[0].text == f"Question: {_question(country)}\nAnswer: {capital}"
    (row,) = encode_chat(plain_tokenizer, chats[:1])
    assert row["input_ids"][-1] == plain_tokenizer.eos_token_id
    answer = [t for t, label in zip(row["input_ids"], row["labels"]) if label != IGNORE_INDEX]
    assert plain_tokenizer.decode(answer[:-1]).strip() == capital
    with pytest.raises(KGError, match="assistant"):
        render_chat(plain_tokenizer, [{"role": "user", "content": "hi"}])


def test_build_train_dataset_is_deterministic_and_mixes_replay(tokenizer, dataset, general_text, tmp_path):
    settings = TrainSettings(data=dataset, seq_len=32, seed=3)
    a, b = build_train_dataset(settings, tokenizer), build_train_dataset(settings, tokenizer)
    assert torch.equal(a._tensors["input_ids"], b._tensors["input_ids"])
    c = build_train_dataset(settings.with_overrides(seed=4), tokenizer)
    assert not torch.equal(a._tensors["input_ids"], c._tensors["input_ids"])
    assert a.stats.documents == {"cpt": 2 * len(FACTS), "sft": len(FACTS)}
    assert sum(a.stats.tokens.values()) == int(a._tensors["attention_mask"].sum())
    assert a[0]["input_ids"].shape == (32,) and a[0]["labels"].dtype == torch.long
    assert len(cpt_texts(dataset)) == 2 * len(FACTS)
    mixed = build_train_dataset(settings.with_overrides(replay=general_text, replay_ratio=0.25), tokenizer)
    replay = mixed.stats.tokens["replay"]
    assert replay / sum(mixed.stats.tokens.values()) == pytest.approx(0.25, abs=0.03)
    with pytest.raises(KGError, match="kg synth"):
        build_train_dataset(settings.with_overrides(data=tmp_path / "missing"), tokenizer)


# -- training ------------------------------------------------------------------------------------------


def test_training_lowers_loss_and_the_probe_sees_the_facts(tiny_model, dataset, general_text, tmp_path):
    settings = _settings(tiny_model, dataset, tmp_path / "run", max_steps=20, probe_every=10, save_steps=10,
                         probe=ProbeSettings(kinds=["mc"], general_text=general_text))
    report = train(settings, progress=False)
    assert report.steps == 20 and report.precision == "fp32"
    losses = [loss for _, loss in report.loss_history]
    assert len(losses) == 20 and sum(losses[-3:]) / 3 < 0.5 * sum(losses[:3]) / 3
    assert report.final_loss == losses[-1] and report.tokens_seen > 0
    # linear warmup over 10% of the steps to the peak, then cosine decay towards 0
    lrs = [lr for _, lr in report.lr_history]
    assert lrs[0] < lrs[1] < lrs[2] == pytest.approx(1e-2)
    assert all(a > b for a, b in itertools.pairwise(lrs[2:])) and lrs[-1] < 1e-3
    # the probe ran before training, every 10 steps, and at the end; its log is the report's history
    log = [json.loads(line) for line in (settings.output_dir / PROBE_LOG).read_text().splitlines()]
    assert [e["step"] for e in log] == [0, 10, 20] and log == report.probe_history
    before, after = report.probe_before, report.probe_after
    assert after["mc_accuracy"] >= 0.75 and after["mc_accuracy"] > before["mc_accuracy"]
    assert log[-1]["gain"]["mc_accuracy"] == pytest.approx(after["mc_accuracy"] - before["mc_accuracy"])
    assert log[0]["perplexity_ratio"] == 1.0 and log[-1]["perplexity_ratio"] > 0
    # the final model and tokenizer load back and know the facts
    model, tok = load_causal_lm(report.final_dir, device="cpu")
    assert len(tok) == model.config.vocab_size
    assert [p.name for p in report.checkpoints] == ["checkpoint-10", "checkpoint-20"]


def test_resume_continues_from_the_checkpoint(tiny_model, dataset, tmp_path):
    out = tmp_path / "run"
    probe = {"probe_every": 5, "probe": ProbeSettings(kinds=["mc"])}
    first = train(_settings(tiny_model, dataset, out, max_steps=10, **probe), progress=False)
    assert first.steps == 10 and latest_checkpoint(out) == out / "checkpoint-10"
    steps = _Steps()
    second = train(_settings(tiny_model, dataset, out, max_steps=20, **probe), progress=False, callbacks=[steps])
    assert second.resumed_from == out / "checkpoint-10"
    assert steps.steps == list(range(11, 21)) and second.steps == 20
    assert second.tokens_seen > first.tokens_seen
    # the probe log goes on from the first run's, against the same step-0 baseline
    assert [e["step"] for e in second.probe_history] == [0, 5, 10, 15, 20]
    assert second.probe_history[:3] == first.probe_history
    # fresh starts over at step 1
    steps = _Steps()
    third = train(_settings(tiny_model, dataset, out, max_steps=3), progress=False, callbacks=[steps],
                  fresh=True)
    assert third.resumed_from is None and steps.steps == [1, 2, 3]
    assert [p.name for p in third.checkpoints] == ["checkpoint-3"]
    # a run with another shape in the same folder is refused instead of mixing the two
    with pytest.raises(ConfigError, match="--fresh"):
        train(_settings(tiny_model, dataset, out, max_steps=6, seq_len=32), progress=False)


class _InfLossAt(transformers.TrainerCallback):
    """Makes the training loss infinite from step ``step`` on (a hook that runs before NaNGuard's)."""

    def __init__(self, step: int) -> None:
        self.step = step
        self.state = None

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        self.state = state

        def hook(module, inputs, output):
            if module.training and self.state.global_step + 1 >= self.step:
                output["loss"] = output["loss"] * float("inf")
            return output

        model.register_forward_hook(hook, prepend=True)


class _PoisonWeightsAt(transformers.TrainerCallback):
    """Writes NaN into the weights at the end of step ``step`` (before the step's checkpoint)."""

    def __init__(self, step: int) -> None:
        self.step = step

    def on_step_end(self, args, state, control, model=None, **kwargs):
        if state.global_step == self.step:
            with torch.no_grad():
                next(model.parameters()).fill_(float("nan"))


@pytest.mark.parametrize(("poison", "why"), [
    (_InfLossAt(7), "at step 7: the training loss became inf"),
    (_PoisonWeightsAt(10), "at step 10: the weights hold NaN"),
], ids=["inf-loss", "nan-weights"])
def test_nan_stops_training_and_keeps_the_last_good_checkpoint(tiny_model, dataset, tmp_path, poison, why):
    out = tmp_path / "run"
    settings = _settings(tiny_model, dataset, out, max_steps=20, probe_every=2,
                         probe=ProbeSettings(kinds=["mc"]))
    with pytest.raises(TrainingError, match="checkpoint-5") as info:
        train(settings, progress=False, callbacks=[poison])
    assert why in str(info.value) and "learning rate" in str(info.value)
    assert [p.name for p in out.glob("checkpoint-*")] == ["checkpoint-5"]
    assert not (out / "final").exists()
    model, _ = load_causal_lm(out / "checkpoint-5", device="cpu")
    assert all(bool(torch.isfinite(p).all()) for p in model.parameters())
    # the probe logged no NaN model
    log = [json.loads(line) for line in (out / PROBE_LOG).read_text().splitlines()]
    assert all(e["step"] < 10 for e in log)


def test_nan_guard_with_a_huge_learning_rate(tiny_model, dataset, tmp_path):
    with pytest.raises(TrainingError):
        train(_settings(tiny_model, dataset, tmp_path / "run", max_steps=10, learning_rate=1e30,
                        warmup_ratio=0.0), progress=False)


def test_lora_trains_only_adapters_and_saves_a_loadable_model(tiny_model, dataset, tmp_path):
    settings = _settings(tiny_model, dataset, tmp_path / "run", max_steps=4,
                         lora=LoraSettings(r=4, alpha=8, target_modules=["q_proj", "v_proj"]))
    report = train(settings, progress=False)
    assert 0 < report.trainable_parameters < report.parameters / 50
    assert (report.adapter_dir / "adapter_config.json").is_file()
    base, _ = load_causal_lm(tiny_model, device="cpu")
    trained, _ = load_causal_lm(report.final_dir, device="cpu")
    base_weights, trained_weights = base.state_dict(), trained.state_dict()
    assert set(base_weights) == set(trained_weights)  # merged: a plain model, no adapter modules left
    changed = {name for name in base_weights if not torch.equal(base_weights[name], trained_weights[name])}
    assert changed and all(".q_proj." in name or ".v_proj." in name for name in changed)


def test_probe_callback_works_with_a_plain_trainer(tiny_model, dataset, tokenizer, tmp_path):
    from transformers import Trainer, TrainingArguments, default_data_collator

    model, tok = load_causal_lm(tiny_model, device="cpu")
    data = build_train_dataset(TrainSettings(data=dataset, seq_len=64), tok)
    probe = ProbeCallback(dataset, ProbeConfig(kinds=("mc",)), every=0, log_path=tmp_path / "log.jsonl")
    guard = NaNGuard()
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=2, per_device_train_batch_size=2,
                             report_to=[], save_strategy="no", use_cpu=True, disable_tqdm=True)
    Trainer(model=model, args=args, train_dataset=data, data_collator=default_data_collator,
            processing_class=tok, callbacks=[probe, guard]).train()
    guard.raise_if_tripped()
    assert [e["step"] for e in probe.history] == [0, 2]
    assert (tmp_path / "log.jsonl").read_text().count("\n") == 2


# -- CLI -----------------------------------------------------------------------------------------------


def test_cli_train_options_override_the_settings_file(tiny_model, dataset, tmp_path):
    from typer.testing import CliRunner

    from kg.cli import app

    config = tmp_path / "run.toml"
    config.write_text(f'model = "{tiny_model}"\ndata = "{dataset}"\nmax_steps = 50\nseq_len = 64\n'
                      'batch_size = 4\nlearning_rate = 1e-2\nprobe_every = 0\n', encoding="utf-8")
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["train", "--config", str(config), "--out", str(out), "--max-steps", "2",
                                      "--probe-every", "2", "--lr", "5e-3", "-q"])
    assert result.exit_code == 0, result.output
    assert "steps" in result.output and "knowledge probe" in result.output and "mc_accuracy" in result.output
    saved = json.loads((out / "settings.json").read_text())
    assert saved["max_steps"] == 2 and saved["learning_rate"] == 5e-3 and saved["seq_len"] == 64
    assert (out / "final" / "config.json").is_file() and (out / "checkpoint-2").is_dir()

    config.write_text("learning_rat = 1e-3\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["train", "--config", str(config), "-q"])
    assert result.exit_code == 2 and "did you mean 'learning_rate'" in result.output


# -- models loaded from GGUF ---------------------------------------------------------------------------


class _Quantizer:
    def __init__(self, method: str) -> None:
        self.quantization_config = type("Config", (), {"quant_method": method})()
        self.packed_modules: dict = {}
        self.removed = False

    def remove_quantization_config(self, model) -> None:
        self.removed = True
        model.hf_quantizer = None


def test_quantized_weights_need_lora_but_dequantized_gguf_trains():
    from injection.train.trainer import _plain_weights

    model = type("Model", (), {})()
    model.hf_quantizer = gguf = _Quantizer("gguf")
    _plain_weights(model, "m.gguf", lora=False)
    assert gguf.removed and model.hf_quantizer is None
    model.hf_quantizer = bnb = _Quantizer("bitsandbytes")
    with pytest.raises(ConfigError, match="--lora"):
        _plain_weights(model, "m", lora=False)
    _plain_weights(model, "m", lora=True)
    assert not bnb.removed


@pytest.mark.slow
def test_packaged_gguf_model_is_trainable_and_savable(tmp_path):
    from transformers.trainer_utils import validate_quantization_for_training

    from injection.train.trainer import _plain_weights

    model, _ = load_causal_lm(None, device="cpu")
    _plain_weights(model, "smollm2", lora=False)
    validate_quantization_for_training(model)  # what Trainer checks: raises for a model marked quantized
    model.config.save_pretrained(str(tmp_path))  # a saved config without quantization_config loads plainly
    assert "quantization_config" not in json.loads((tmp_path / "config.json").read_text())
