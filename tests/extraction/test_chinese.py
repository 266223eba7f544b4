import pytest

from extraction.chinese import ChineseExtractor
from kg.model import Document


@pytest.fixture(scope="module")
def chinese(small_schema):
    return ChineseExtractor(small_schema)


def analyze(extractor, text):
    (result,) = list(extractor.analyze([Document(id="d", text=text, lang="zh")]))
    rels = {(result.mentions[r.subject].text, r.predicate, result.mentions[r.object].text, r.open)
            for r in result.relations}
    return result, rels


def test_jieba_ner_uses_gazetteer_and_posseg(chinese):
    text = "阿里巴巴由马云于1999年在杭州创立。华为公司的总部位于深圳。"
    result, _ = analyze(chinese, text)
    found = {(m.text, m.type) for m in result.mentions}
    assert {("阿里巴巴", "Organization"), ("马云", "Person"), ("杭州", "Location"),
            ("华为公司", "Organization"), ("深圳", "Location")} <= found
    for m in result.mentions:
        assert text[m.start:m.end] == m.text
    assert [text[s:e] for s, e in result.sentences] == ["阿里巴巴由马云于1999年在杭州创立。", "华为公司的总部位于深圳。"]


def test_regex_patterns_and_negation(chinese):
    _, rels = analyze(chinese, "阿里巴巴由马云于1999年在杭州创立。华为公司的总部位于深圳。")
    assert ("阿里巴巴", "founded_by", "马云", False) in rels
    assert ("华为公司", "headquartered_in", "深圳", False) in rels
    _, rels = analyze(chinese, "马云并未创立了华为。")
    assert not any(p == "founded_by" for _, p, _, _ in rels)


def test_open_relation_stops_at_clause_boundary(chinese):
    _, rels = analyze(chinese, "马云访问了深圳。")
    assert ("马云", "访问", "深圳", True) in rels
    _, rels = analyze(chinese, "马云出生，深圳发展。")
    assert not rels


def test_a_clause_without_its_own_subject_takes_the_sentence_topic(small_schema):
    """Chinese drops a subject it has already given: 阿里巴巴 is the subject of the second clause."""
    jieba = ChineseExtractor(small_schema, ner="jieba")
    _, rels = analyze(jieba, "阿里巴巴由马云创立，总部位于杭州。")
    assert ("阿里巴巴", "headquartered_in", "杭州", False) in rels
    # a clause that names its own subject does not inherit the topic
    _, rels = analyze(jieba, "阿里巴巴由马云创立，华为公司总部位于深圳。")
    assert ("华为公司", "headquartered_in", "深圳", False) in rels
    assert ("阿里巴巴", "headquartered_in", "深圳", False) not in rels
    # the topic fills only a missing argument: a clause whose match does not involve it adds nothing
    _, rels = analyze(jieba, "马云很有名，华为公司的总部位于深圳。")
    assert {r for r in rels if not r[3]} == {("华为公司", "headquartered_in", "深圳", False)}


@pytest.mark.parametrize(("text", "span", "tidy"), [
    ("收购了WhatsApp。", (3, 9), "WhatsApp"),  # a cut Latin word is made whole
    ("中兴通讯总部位于深圳", (0, 6), "中兴通讯"),  # the headquarters is not part of the name
    ("（IBM）总部", (1, 7), "IBM"),
    ("“华为”成立", (0, 4), "华为"),  # no punctuation at the edges
    ("总部位于", (0, 2), ""),
    ("李华在成都", (0, 2), "李华"),
])
def test_model_spans_are_tidied_into_names(text, span, tidy):
    from extraction.chinese import _tidy_span

    start, end = _tidy_span(text, *span, 0, len(text))
    assert text[start:end] == tidy
