"""Knowledge probing for refusal data (Llama 3 recipe) on a tiny Llama trained on half the facts.

The graph (fictional companies, their headquarters and founders, in English with Chinese aliases) is
imported into a workspace and turned into a ``kg synth`` dataset; a 2-layer Llama with a small BPE
vocabulary learns the training questions of half the training (subject, relation) groups. The probe must
then keep those as QA rows, turn the others into refusals in the question's language, stay clear of the
eval/held-out split, write rows in the synth format, and feed the SFT data builder.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

from injection.synth.pipeline import SynthOptions, synthesize
from injection.synth.splits import SplitPlan
from injection.synth.templates import render
from injection.synth.wording import WORDING
from injection.train.data import sft_rows, sft_texts
from injection.train.knowledge import (
    CLASSES,
    REFUSAL_STYLE,
    classify,
    probe_knowledge,
    write_knowledge,
)
from injection.train.models import chat_prompt, encode_prompt
from kg.build import load_workspace_schema
from kg.errors import ConfigError, InputError
from kg.graph_import import import_graph
from kg.workspace import Workspace
from tests.conftest import EXAMPLES

ORGS = [("Zorvath Labs", "佐瓦实验室"), ("Quenlix Systems", "昆利克斯"), ("Marrowind Corp", "马洛风公司"),
        ("Brightmoor Works", "布莱摩工坊"), ("Fennick Group", "芬尼克集团"), ("Tovrin Motors", "托夫林汽车"),
        ("Caldris Bank", "卡德里斯银行"), ("Glimmerhold", "格林莫德"), ("Sorrel Dynamics", "索雷尔动力"),
        ("Harrowgate Mills", "哈罗门磨坊")]
PLACES = [("Pavento", "帕文托"), ("Kelmora", "凯尔莫拉"), ("Drisk", "德里斯克"), ("Ulmet", "乌尔梅"),
          ("Lunetta", "卢内塔"), ("Ostrava Vale", "奥斯特谷"), ("Velgrad", "维尔格勒"), ("Sarnico", "萨尼科"),
          ("Quorra", "阔拉"), ("Bellhaven", "贝尔港")]
PEOPLE = [("Arno Vell", "阿诺维尔"), ("Tamsin Oru", "塔姆辛"), ("Bexley Dunmore", "贝克斯利"),
          ("Ivo Strand", "伊沃斯特"), ("Cass Remy", "卡斯雷米"), ("Odile Marsh", "奥迪尔"),
          ("Pell Ashgrove", "佩尔阿什"), ("Rhea Quill", "瑞雅奎尔"), ("Maro Tenn", "马罗坦"), ("Yves Lark", "伊夫拉克")]
SYNTH = SynthOptions(kinds=("qa", "refusal"), eval_ratio=0.25, heldout_ratio=0.1, seed=0)
PROBE = {"samples": 4, "temperature": 0.7, "max_new_tokens": 10, "batch_size": 48, "seed": 3}
TINY_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
HAN = re.compile(r"[\u4e00-\u9fff]")


def _turtle() -> str:
    lines = ["@prefix ex: <http://example.org/> .", "@prefix schema: <http://schema.org/> .",
             "@prefix skos: <http://www.w3.org/2004/02/skos/core#> ."]
    for prefix, rows, type_ in (("l", PLACES, "Location"), ("p", PEOPLE, "Person"), ("o", ORGS, "Organization")):
        for i, (en, zh) in enumerate(rows):
            facts = f" ; ex:headquartered_in ex:l{i} ; ex:founded_by ex:p{i}" if prefix == "o" else ""
            lines.append(f'ex:{prefix}{i} a ex:{type_} ; schema:name "{en}"@en ; skos:altLabel "{zh}"@zh{facts} .')
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def ws(tmp_path_factory) -> Workspace:
    folder = tmp_path_factory.mktemp("knowledge")
    (folder / "graph.ttl").write_text(_turtle(), encoding="utf-8")
    ws = Workspace(folder / "ws").open(create=True)
    ws.config.extraction.schema_path = str(EXAMPLES / "schema.yaml")
    ws.config.stores.graph = ws.config.stores.rdf = ""
    ws.save_config()
    ws.lock()
    try:
        import_graph(ws, str(folder / "graph.ttl"), schema=load_workspace_schema(ws))
    finally:
        ws.unlock()
    return ws


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """One torch thread: the tiny model's many small ops run ten times slower on two busy cores."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def groups(ws) -> dict[tuple[str, str], dict]:
    """Every (subject, relation) group of the graph: its fact, object, split and names (the test's oracle)."""
    view = ws.bundle.view()
    names = {e["id"]: {"en": e["name"], "zh": e["aliases"][0]} for e in view.entities.to_pylist()}
    plan = SplitPlan(SYNTH.seed, SYNTH.eval_ratio, SYNTH.heldout_ratio)
    found = {}
    for fact in view.facts.to_pylist():
        s, p, o = fact["subject"], fact["predicate"], fact["object"]
        held = plan.heldout_entity(s) or plan.heldout_entity(o)
        found[(s, p)] = {"object": o, "names": names, "fact": fact["id"],
                         "split": "heldout" if held else plan.pair_split(s, p)}
    return found


def _training_questions(schema, groups, subject: str, relation: str) -> list[tuple[str, str, str]]:
    """``(lang, question, answer)`` for every training question template of a group."""
    plan = SplitPlan(SYNTH.seed, SYNTH.eval_ratio, SYNTH.heldout_ratio)
    group = groups[(subject, relation)]
    out = []
    for lang in ("en", "zh"):
        templates = schema.relation_types[relation].questions[lang]
        for _, template in plan.templates(templates, relation, lang, "train", "question"):
            out.append((lang, render(template, group["names"][subject][lang]), group["names"][group["object"]][lang]))
    return out


def _tokenizer(texts: list[str]):
    """A byte-level BPE with a few hundred tokens, learned from the dataset: a tiny, fast model."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(texts, trainers.BpeTrainer(
        vocab_size=500, special_tokens=["<|im_end|>", "<|im_start|>"], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    fast = transformers.PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|im_start|>",
                                                eos_token="<|im_end|>", pad_token="<|im_end|>")
    fast.chat_template = TINY_TEMPLATE
    return fast


def _train(model, tokenizer, pairs: list[tuple[str, str]], steps: int = 120) -> float:
    """Full-batch AdamW at a high learning rate on the answers; returns the last loss."""
    rows = [(encode_prompt(tokenizer, chat_prompt(tokenizer, q)),
             tokenizer(a, add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]) for q, a in pairs]
    width = max(len(p) + len(a) for p, a in rows)
    ids = torch.full((len(rows), width), tokenizer.pad_token_id)
    mask, answer = torch.zeros_like(ids), torch.zeros_like(ids, dtype=torch.bool)
    for n, (p, a) in enumerate(rows):
        ids[n, :len(p) + len(a)] = torch.tensor(p + a)
        mask[n, :len(p) + len(a)] = 1
        answer[n, len(p):len(p) + len(a)] = True
    targets, answer = ids[:, 1:], answer[:, 1:]  # position t predicts token t + 1
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    model.train()
    for _ in range(steps):
        logits = model(input_ids=ids, attention_mask=mask).logits[:, :-1]
        loss = torch.nn.functional.cross_entropy(logits[answer], targets[answer])
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    return float(loss.detach())


@pytest.fixture(scope="module")
def probed(ws, groups, tmp_path_factory):
    """The dataset, the trained model and its folder, which groups it learned, and the written probe."""
    ds = tmp_path_factory.mktemp("knowledge_ds") / "ds"
    synthesize(ws, ds, SYNTH)
    texts = [json.loads(line)["text"] for path in sorted(ds.glob("*/*.jsonl"))
             for line in path.read_text(encoding="utf-8").splitlines()]
    texts += [r for words in WORDING.values() for r in words.refusals]
    tokenizer = _tokenizer(texts)
    config = transformers.LlamaConfig(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
        num_attention_heads=4, num_key_value_heads=4, max_position_embeddings=128, tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id)
    torch.manual_seed(0)
    model = transformers.LlamaForCausalLM(config)
    train_groups = sorted(k for k, g in groups.items() if g["split"] == "train")
    taught = set(train_groups[::2])
    schema = load_workspace_schema(ws)
    pairs = [(q, a) for key in sorted(taught) for _, q, a in _training_questions(schema, groups, *key)]
    loss = _train(model, tokenizer, pairs)
    folder = tmp_path_factory.mktemp("knowledge_model")
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    rng_state = torch.random.get_rng_state()
    report = probe_knowledge(model, tokenizer, ws, ds, **PROBE)
    rng_untouched = torch.equal(rng_state, torch.random.get_rng_state())
    written = write_knowledge(report, ds)
    return {"ds": ds, "model": model, "tokenizer": tokenizer, "folder": folder, "taught": taught,
            "train_groups": train_groups, "loss": loss, "report": report, "written": written,
            "rng_untouched": rng_untouched}


def _rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def test_classify_thresholds():
    assert classify(3, 4, True, 0, 3) == "known"
    assert classify(2, 4, True, 0, 3) == "mixed"
    assert classify(4, 4, False, 0, 3) == "mixed"  # the greedy answer is what the model says by default
    assert classify(0, 4, False, 0, 3) == "unknown"
    assert classify(0, 4, False, 2, 3) == "unknown"  # 2 of 5 answers refuse: still mostly made up
    assert classify(0, 4, False, 3, 3) == "refused"
    assert classify(0, 0, True, 0, 0) == "known" and classify(0, 0, False, 1, 0) == "refused"


def test_trained_questions_are_known_and_the_others_refused(probed, groups):
    report, taught = probed["report"], probed["taught"]
    assert probed["loss"] < 0.05  # the tiny model did learn its answers
    assert len(taught) >= 3 and len(probed["train_groups"]) - len(taught) >= 3
    asked = {(item["subject"], item["relation"], item["lang"]): item["class"] for item in report.items}
    # every train group is asked once per language, and nothing else is
    assert set(asked) == {(*key, lang) for key in probed["train_groups"] for lang in ("en", "zh")}
    for (subject, relation, lang), label in asked.items():
        expected = "known" if (subject, relation) in taught else "unknown"
        assert label == expected, (subject, relation, lang, label)
    assert report.counts == {"known": 2 * len(taught), "mixed": 0,
                             "unknown": 2 * (len(probed["train_groups"]) - len(taught)), "refused": 0}
    assert set(report.langs) == {"en", "zh"} and list(report.langs["zh"]) == list(CLASSES)
    assert sum(n["known"] for n in report.relations.values()) == report.counts["known"]
    assert report.needs_text == []
    assert report.unknown_facts == sorted(groups[key]["fact"] for key in groups
                                          if key in probed["train_groups"] and key not in taught)
    assert probed["rng_untouched"]  # sampling used a private generator state


def test_rows_have_the_synth_format_language_and_wording(probed, groups):
    ds = probed["ds"]
    qa, refusals = _rows(ds / "train/probe_qa.jsonl"), _rows(ds / "train/probe_refusal.jsonl")
    assert len(qa) == probed["report"].counts["known"] and len(refusals) == probed["report"].counts["unknown"]
    sft = _rows(ds / "train/sft.jsonl")
    assert all(list(row) == list(sft[0]) for row in qa + refusals)  # same columns in the same order
    for row in qa:
        group = groups[(row["entities"][0], json.loads(row["meta"])["relation"])]
        name = group["names"][group["object"]][row["lang"]]
        assert (row["kind"], row["style"]) == ("qa", "open")
        assert row["messages"][1] == {"role": "assistant", "content": name} and row["output"] == name
        assert row["facts"] == [group["fact"]] and json.loads(row["meta"])["probe"]["class"] == "known"
    for row in refusals:
        meta = json.loads(row["meta"])
        assert (row["kind"], row["style"]) == ("refusal", REFUSAL_STYLE)
        assert row["output"] in WORDING[row["lang"]].refusals  # kg synth's refusal wording, own language
        assert bool(HAN.search(row["instruction"])) == (row["lang"] == "zh")
        assert meta["probe"] == {"class": "unknown", "right": 0, "samples": 4, "greedy_right": False,
                                 "refusals": 0}
    assert {r["lang"] for r in refusals} == {"en", "zh"} and {r["lang"] for r in qa} == {"en", "zh"}
    datasets = pytest.importorskip("datasets")
    files = [str(ds / f) for f in ("train/sft.jsonl", "train/probe_qa.jsonl", "train/probe_refusal.jsonl")]
    loaded = datasets.load_dataset("json", data_files=files, split="train")
    assert loaded.num_rows == len(sft) + len(qa) + len(refusals)
    assert loaded.column_names == list(sft[0])
    # through the card's configs, typed by its features (all-null columns stay bool / list of string)
    by_card = datasets.load_dataset(str(ds), "probe_refusal", split="train")
    assert by_card.num_rows == len(refusals) and by_card.column_names == loaded.column_names
    assert by_card.features["label"] == datasets.Value("bool")


def test_no_eval_or_heldout_question_reaches_the_training_files(probed, ws, groups):
    ds = probed["ds"]
    schema = load_workspace_schema(ws)
    plan = SplitPlan(SYNTH.seed, SYNTH.eval_ratio, SYNTH.heldout_ratio)
    splits = {g["split"] for g in groups.values()}
    assert {"eval", "heldout"} <= splits  # the dataset does hold questions to stay away from
    eval_prompts = {row["instruction"] for split in ("eval", "heldout") for path in (ds / split).glob("*.jsonl")
                    for row in _rows(path)}
    rows = _rows(ds / "train/probe_qa.jsonl") + _rows(ds / "train/probe_refusal.jsonl")
    for row in rows:
        relation = json.loads(row["meta"])["relation"]
        assert groups[(row["entities"][0], relation)]["split"] == "train"
        assert not any(plan.heldout_entity(e) for e in row["entities"])
        assert row["instruction"] not in eval_prompts
        (template,) = row["templates"]
        _, _, lang, index = template.split(":")
        reserved = plan.templates(schema.relation_types[relation].questions[lang], relation, lang, "eval",
                                  "question")
        assert int(index) != reserved[0][0], template


def test_report_and_card_are_updated(probed):
    ds, report = probed["ds"], probed["report"]
    assert set(probed["written"]) == {"train/probe_qa.jsonl", "train/probe_refusal.jsonl", "probe_report.json"}
    saved = json.loads((ds / "probe_report.json").read_text(encoding="utf-8"))
    assert saved["counts"] == report.counts and saved["langs"] == report.langs
    assert saved["files"] == {"train/probe_qa.jsonl": report.counts["known"],
                              "train/probe_refusal.jsonl": report.counts["unknown"]}
    assert len(saved["items"]) == sum(report.counts.values()) and len(saved["items"][0]["outputs"]) == 4
    card = json.loads((ds / "card.json").read_text(encoding="utf-8"))
    files = list(card["files"])
    assert files.index("train/probe_refusal.jsonl") < files.index(next(f for f in files if f.startswith("eval/")))
    assert card["files"]["train/probe_qa.jsonl"]["rows"] == report.counts["known"]
    assert card["files"]["train/probe_qa.jsonl"]["tokens"] > 0
    assert card["probe"]["counts"] == report.counts
    readme = (ds / "README.md").read_text(encoding="utf-8")
    assert "## Knowledge probe" in readme and "config_name: probe_qa" in readme


def test_same_seed_same_questions_answers_and_rows(probed, ws):
    again = probe_knowledge(probed["model"], probed["tokenizer"], ws, probed["ds"], **PROBE)
    report = probed["report"]
    assert again.items == report.items
    assert [r.to_dict() for r in again.qa + again.refusals] == [r.to_dict() for r in report.qa + report.refusals]


def test_sft_builder_trains_on_probe_rows_instead_of_conflicting_answers(probed, tmp_path):
    ds, report, tokenizer = probed["ds"], probed["report"], probed["tokenizer"]
    sft = _rows(ds / "train/sft.jsonl")
    kept = sft_rows(ds)
    sources = [path.name for path, _, _ in kept]
    assert sources.count("probe_refusal.jsonl") == len(report.refusals)
    refused = set(report.unknown_facts)
    conflicting = [r for r in sft if r["kind"] == "qa" and refused & set(r["facts"])]
    assert conflicting  # synth taught answers to what the model turned out not to know ...
    assert not any(row["kind"] == "qa" and refused & set(row["facts"]) for path, _, row in kept
                   if path.name == "sft.jsonl")  # ... and those rows give way to the refusals
    assert sources.count("sft.jsonl") == len(sft) - len(conflicting)
    # synth already asks every training template: the known questions are there once, not twice
    messages = [json.dumps(row["messages"]) for _, _, row in kept]
    assert len(messages) == len(set(messages))
    assert {json.dumps(r.messages()) for r in report.qa} <= set(messages)
    chats = sft_texts(ds, tokenizer)
    assert len(chats) == len(kept)
    refusal = report.refusals[0]
    assert any(c.prompt == chat_prompt(tokenizer, refusal.prompt) and refusal.answer in c.completion
               for c in chats)
    # a dataset whose sft rows lack the probe's questions (another kg synth --kinds) trains on probe_qa rows
    alone = tmp_path / "alone"
    (alone / "train").mkdir(parents=True)
    for name in ("probe_qa.jsonl", "probe_refusal.jsonl"):
        shutil.copy(ds / "train" / name, alone / "train" / name)
    rows = sft_rows(alone)
    assert [row["kind"] for _, _, row in rows] == ["qa"] * len(report.qa) + ["refusal"] * len(report.refusals)
    assert len(sft_texts(alone, tokenizer)) == len(rows)


def test_cli_probe_facts_writes_the_same_rows(probed, ws, tmp_path):
    from typer.testing import CliRunner

    from kg.cli import app

    ds = tmp_path / "ds"
    shutil.copytree(probed["ds"], ds)
    for name in ("train/probe_qa.jsonl", "train/probe_refusal.jsonl", "probe_report.json"):
        (ds / name).unlink()
    runner = CliRunner()
    args = ["probe-facts", "-w", str(ws.path), "--data", str(ds), "--model", str(probed["folder"]),
            "--samples", "4", "--max-new-tokens", "10", "--batch-size", "48", "--seed", "3", "-q"]
    result = runner.invoke(app, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "unknown" in result.output and "probe_refusal.jsonl" in result.output
    for name in ("train/probe_qa.jsonl", "train/probe_refusal.jsonl"):
        assert (ds / name).read_bytes() == (probed["ds"] / name).read_bytes(), name
    missing = runner.invoke(app, [*args[:4], str(tmp_path / "none"), *args[5:]])
    assert missing.exit_code == 2 and "kg synth" in missing.output


def test_bad_settings_and_missing_card_say_what_to_do(probed, ws, tmp_path):
    model, tokenizer, ds = probed["model"], probed["tokenizer"], probed["ds"]
    for kwargs in ({"samples": -1}, {"samples": 4, "min_known": 5}, {"temperature": 0.0}, {"max_facts": 0}):
        with pytest.raises(ConfigError):
            probe_knowledge(model, tokenizer, ws, ds, **kwargs)
    bare = tmp_path / "bare"
    bare.mkdir()
    with pytest.raises(InputError, match="kg synth"):
        probe_knowledge(model, tokenizer, ws, bare)
