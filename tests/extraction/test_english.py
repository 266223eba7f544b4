import pytest

from extraction.english import EnglishExtractor
from kg.model import Document


@pytest.fixture(scope="module")
def english(small_schema):
    return EnglishExtractor(small_schema)


def analyze(extractor, text):
    (result,) = list(extractor.analyze([Document(id="d", text=text, lang="en")]))
    names = lambda rel: (result.mentions[rel.subject].text, rel.predicate, result.mentions[rel.object].text)
    return result, {names(r) for r in result.relations}


def test_ner_types_offsets_and_sentences(english):
    text = "Alibaba was founded by Jack Ma in Hangzhou. Huawei is based in Shenzhen."
    result, _ = analyze(english, text)
    found = {(m.text, m.type) for m in result.mentions}
    assert {("Alibaba", "Organization"), ("Jack Ma", "Person"), ("Hangzhou", "Location"),
            ("Huawei", "Organization"), ("Shenzhen", "Location")} <= found
    for m in result.mentions:
        assert text[m.start:m.end] == m.text
    assert len(result.sentences) == 2
    assert {m.sentence for m in result.mentions if m.text == "Shenzhen"} == {1}


def test_schema_patterns_active_passive_and_coordination(english):
    _, rels = analyze(english, "Alibaba was founded by Jack Ma and Joe Tsai in 1999.")
    assert ("Alibaba", "founded_by", "Jack Ma") in rels
    assert ("Alibaba", "founded_by", "Joe Tsai") in rels
    _, rels = analyze(english, "Ren Zhengfei founded Huawei in 1987.")
    assert ("Huawei", "founded_by", "Ren Zhengfei") in rels


def test_negation_blocks_relation(english):
    _, rels = analyze(english, "Huawei was not founded by Jack Ma.")
    assert not any(p == "founded_by" for _, p, _ in rels)


def test_open_relation_when_no_pattern(english):
    result, rels = analyze(english, "Jack Ma visited Shenzhen in 2019.")
    assert ("Jack Ma", "visit", "Shenzhen") in rels
    assert all(r.open for r in result.relations)
