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
