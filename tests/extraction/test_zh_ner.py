"""The Chinese NER model: data and scoring, training, the packaged weights, and kg build's use of it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("torchcrf")

from extraction.chinese import ChineseExtractor
from extraction.zh_ner.data import read_bmes, score, spans
from extraction.zh_ner.features import Vocab, word_features
from extraction.zh_ner.tagger import DEFAULT_WEIGHTS, ChineseNer
from kg.errors import ConfigError, InputError
from kg.model import Document
from kg.schema import OPEN_SCHEMA, EntityType, GazetteerEntry, NerMapping, Schema

# -- data, features, scores ---------------------------------------------------------------------------

def test_read_bmes_and_spans(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text("马 B-PER\n云 E-PER\n在 O\n杭 B-LOC\n州 E-LOC\n\n中 S-LOC\n国 O\n", encoding="utf-8")
    first, second = read_bmes(path)
    assert first.text == "马云在杭州" and spans(first.tags) == [(0, 2, "PER"), (3, 5, "LOC")]
    assert second.text == "中国" and spans(second.tags) == [(0, 1, "LOC")]
    # strict: an M without its B, or a B without its E, is no entity
    assert spans(["M-PER", "E-PER", "B-ORG", "O", "B-LOC", "M-LOC", "E-LOC"]) == [(4, 7, "LOC")]
    assert spans(["B-PER", "E-ORG"]) == []


def test_read_bmes_rejects_bad_lines(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("马 B-PER\n云 X-PER\n", encoding="utf-8")
    with pytest.raises(InputError, match="bad.txt:2"):
        read_bmes(path)


def test_entity_scores_by_hand():
    gold = [[(0, 2, "PER"), (3, 5, "LOC")], [(0, 4, "ORG")]]
    found = [[(0, 2, "PER"), (3, 5, "ORG")], [(0, 4, "ORG"), (5, 6, "LOC")]]
    scores = score(gold, found)
    assert scores.prf() == pytest.approx((2 / 4, 2 / 3, 2 * (1 / 2) * (2 / 3) / (1 / 2 + 2 / 3)))
    assert scores.prf("PER") == (1.0, 1.0, 1.0)
    assert scores.prf("LOC") == (0.0, 0.0, 0.0)


def test_word_features_and_vocab():
    feats = word_features([("马云", "nr"), ("在", "p"), ("杭州市", "ns")])
    assert feats == ["B-nr", "E-nr", "S-p", "B-ns", "M-ns", "E-ns"]
    vocab = Vocab.build([("马云在杭州市", feats)], min_bigram=1)
    chars, bigrams, words = vocab.encode("马云来了", ["B-nr", "E-nr", "S-v", "S-ul"])
    assert chars[:2] == [vocab.chars["马"], vocab.chars["云"]] and chars[2:] == [1, 1]  # unknown
    assert bigrams[0] == vocab.bigrams["马云"] and words[2] == 1
    with pytest.raises(ValueError):
        vocab.encode("马云", ["B-nr"])


# -- training -----------------------------------------------------------------------------------------

def _synthetic_corpus(path: Path, n: int, seed: int = 0) -> None:
    """Template sentences with names from small lists: learnable in a few epochs."""
    rng = random.Random(seed)
    people = ["王小明", "李华", "张伟", "刘芳", "陈静", "赵强", "孙丽", "周杰"]
    places = ["北京", "上海", "杭州", "深圳", "成都", "武汉"]
    orgs = ["华星公司", "天成集团", "博瑞研究所", "凌云大学"]
    lines = []
    for _ in range(n):
        person, place, org = rng.choice(people), rng.choice(places), rng.choice(orgs)
        parts = rng.choice([[(person, "PER"), ("在", ""), (place, "LOC"), ("的", ""), (org, "ORG"), ("工作", "")],
                            [(org, "ORG"), ("位于", ""), (place, "LOC"), ("。", "")],
                            [(person, "PER"), ("出生于", ""), (place, "LOC"), ("。", "")]])
        for text, label in parts:
            for i, char in enumerate(text):
                if not label:
                    tag = "O"
                elif len(text) == 1:
                    tag = f"S-{label}"
                else:
                    tag = f"{'B' if i == 0 else 'E' if i == len(text) - 1 else 'M'}-{label}"
                lines.append(f"{char} {tag}")
        lines.append("")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_training_learns_and_saves_a_loadable_model(tmp_path):
    from extraction.zh_ner.train import train

    data = tmp_path / "train.txt"
    _synthetic_corpus(data, 300)
    config = {"data": {"train": str(data), "dev_share": 0.2, "min_bigram": 1},
              "model": {"char_dim": 16, "bigram_dim": 8, "word_dim": 8, "hidden": 24, "dropout": 0.1},
              "train": {"seed": 0, "threads": 1, "batch_size": 16, "lr": 0.01, "epochs": 8, "patience": 8}}
    out = tmp_path / "model.pt"
    f1 = train(config, out, epochs=8)
    assert f1 >= 0.9  # the templates are easy; a broken loss or decoder stays far below
    tagger = ChineseNer(out)
    assert tagger.meta["dev_f1"] == pytest.approx(f1, abs=1e-4)
    assert (0, 2, "PER") in tagger.tag("李华在成都的天成集团工作")


# -- the packaged model -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def packaged() -> ChineseNer:
    return ChineseNer()


def test_packaged_model_ships_small_and_trained(packaged):
    assert DEFAULT_WEIGHTS.is_file() and packaged.path == DEFAULT_WEIGHTS
    assert DEFAULT_WEIGHTS.stat().st_size <= 25_000_000
    assert packaged.meta["dev_f1"] >= 0.9


@pytest.mark.parametrize(("text", "expected"), [
    ("马云在杭州创办了阿里巴巴。", {("马云", "PER"), ("杭州", "LOC")}),
    ("国务院总理李克强今天在北京会见了来访的法国总统。", {("国务院", "ORG"), ("李克强", "PER"), ("北京", "LOC"),
                                                        ("法国", "LOC")}),
    ("清华大学的王教授昨天访问了上海交通大学。", {("清华大学", "ORG"), ("上海交通大学", "ORG")}),
    ("张建国出生于四川省成都市。", {("张建国", "PER")}),
])
def test_packaged_model_finds_entities(packaged, text, expected):
    found = {(text[a:b], label) for a, b, label in packaged.tag(text)}
    assert expected <= found, found


def test_batches_agree_with_single_sentences(packaged):
    texts = ["李华在成都工作。", "", "北京大学位于北京市海淀区。", "他说：“明天见。”"]
    assert packaged.tag_batch(texts) == [packaged.tag(t) for t in texts]
    assert packaged.tag_batch(texts)[1] == []


def test_missing_model_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        ChineseNer(tmp_path / "nope.pt")
    (tmp_path / "junk.pt").write_bytes(b"not a model")
    with pytest.raises(ConfigError, match="cannot load"):
        ChineseNer(tmp_path / "junk.pt")


# -- in kg build's Chinese extractor ------------------------------------------------------------------

def _mentions(extractor: ChineseExtractor, text: str) -> set[tuple[str, str, str]]:
    (result,) = extractor.analyze([Document(id="d", text=text, lang="zh")])
    for m in result.mentions:
        assert text[m.start:m.end] == m.text
    return {(m.text, m.type, m.extractor) for m in result.mentions}


def test_extractor_uses_the_model_by_default():
    found = _mentions(ChineseExtractor(OPEN_SCHEMA), "国务院总理李克强今天在北京会见了来访的法国总统。")
    assert {("李克强", "Person", "zh-ner"), ("北京", "Location", "zh-ner"), ("国务院", "Organization", "zh-ner")} \
        <= found
    jieba = _mentions(ChineseExtractor(OPEN_SCHEMA, ner="jieba"), "国务院总理李克强今天在北京会见了来访的法国总统。")
    assert all(extractor == "jieba" for _, _, extractor in jieba)


def test_gazetteer_wins_over_the_model():
    text = "长城汽车在保定发布了新车，李华出席。"
    plain = _mentions(ChineseExtractor(OPEN_SCHEMA), text)
    assert ("长城汽车", "Organization", "jieba") not in plain
    schema = Schema(name="t", entity_types={
        **OPEN_SCHEMA.entity_types,
        "Company": EntityType(labels={"en": "company"}, ner=NerMapping(),
                              gazetteer=[GazetteerEntry(name="长城汽车")]),
    })
    found = _mentions(ChineseExtractor(schema), text)
    assert ("长城汽车", "Company", "jieba") in found
    # no model span overlaps the domain term
    assert not any(t != "长城汽车" and ("长城" in t or "汽车" in t) for t, _, _ in found)
    assert ("李华", "Person", "zh-ner") in found


def test_model_labels_map_through_the_schema():
    """A schema that maps ORG to its own type gets that type; one that lists no zh_ner labels maps
    the model's labels as jieba's nr/ns/nt."""
    text = "清华大学的王教授昨天访问了上海交通大学。"
    custom = Schema(name="t", entity_types={
        "School": EntityType(labels={"en": "school"}, ner=NerMapping(zh_ner=["ORG"])),
    })
    assert {(t, ty) for t, ty, _ in _mentions(ChineseExtractor(custom), text)} >= {
        ("清华大学", "School"), ("上海交通大学", "School")}
    by_jieba = Schema(name="t", entity_types={
        "Org": EntityType(labels={"en": "org"}, ner=NerMapping(jieba=["nt"])),
    })
    assert ("清华大学", "Org") in {(t, ty) for t, ty, _ in _mentions(ChineseExtractor(by_jieba), text)}


def test_unknown_model_path_fails_the_extractor_clearly(tmp_path):
    with pytest.raises(ConfigError, match="zh_ner"):
        ChineseExtractor(OPEN_SCHEMA, ner=str(tmp_path / "missing.pt"))


def test_documents_tagged_together_get_what_each_gets_alone(monkeypatch):
    """The extractor fills the model's batches across short documents; results do not depend on it."""
    from extraction import chinese

    extractor = ChineseExtractor(OPEN_SCHEMA)
    texts = ["李华在成都工作。", "北京大学位于北京市海淀区。王教授昨天访问了上海交通大学。", "", "张伟出生于武汉。"]
    docs = [Document(id=f"d{i}", text=t, lang="zh") for i, t in enumerate(texts)]

    def shape(analysis):
        return (analysis.doc_id, analysis.sentences, [(m.start, m.end, m.type) for m in analysis.mentions],
                [(r.subject, r.object, r.predicate) for r in analysis.relations])

    together = [shape(a) for a in extractor.analyze(docs)]
    alone = [shape(a) for doc in docs for a in extractor.analyze([doc])]
    monkeypatch.setattr(chinese, "MODEL_BATCH_SENTENCES", 1)  # a flush after every document
    flushed = [shape(a) for a in extractor.analyze(docs)]
    assert together == alone == flushed
    assert [a[0] for a in together] == ["d0", "d1", "d2", "d3"] and together[1][2]


def test_without_torch_the_default_falls_back_to_jieba_with_a_warning(monkeypatch, caplog):
    from extraction import chinese

    monkeypatch.setattr(chinese, "_model_runtime", lambda: False)
    with caplog.at_level("WARNING", logger="extraction.chinese"):
        extractor = ChineseExtractor(OPEN_SCHEMA)
    assert extractor.model is None and "kg[ml]" in caplog.text
    assert {e for _, _, e in _mentions(extractor, "国务院总理李克强今天在北京会见了来访的法国总统。")} == {"jieba"}
