"""The parts of graph-aware retrieval without models: entity linking, k-hop expansion and joining
paths, rank fusion ties, the context string, request validation messages, API keys."""

from __future__ import annotations

import pytest

from injection.rag.context import ContextFact, ContextSource, render_context
from injection.rag.graph import MemoryGraph
from injection.rag.linking import AliasDictionary, Tokenizer, match_key
from injection.rag.retrieve import _ranks, _without_spans
from injection.rag.serve import api_keys_from, validation_message
from kg.graph import GraphView


@pytest.fixture(scope="module")
def view() -> GraphView:
    def fact(i, s, p, o, source="extracted", confidence=0.9):
        return {"id": f"fact:{i}", "subject": s, "predicate": p, "object": o, "open": False, "source": source,
                "confidence": confidence, "batch": "b1"}

    entities = [
        ("ent:ma", "Jack Ma", ["Ma Yun", "马云"]), ("ent:ali", "Alibaba Group", ["Alibaba", "阿里巴巴"]),
        ("ent:hz", "Hangzhou", ["杭州"]), ("ent:zj", "Zhejiang", []), ("ent:jobs", "Steve Jobs", ["史蒂夫·乔布斯"]),
        ("ent:apple", "Apple Inc.", ["Apple", "苹果公司"]), ("ent:the", "The", []),
        ("ent:woz", "Steve Wozniak", []), ("ent:tb", "Taobao", []),
    ]
    return GraphView.from_pylist(
        documents=[{"id": "doc:1", "text": "Jack Ma founded Alibaba.", "lang": "en", "source": "/c/ali.txt",
                    "batch": "b1"}],
        entities=[{"id": i, "name": n, "type": "X", "aliases": a, "lang": "en", "batch": "b1"}
                  for i, n, a in entities],
        facts=[fact(1, "ent:ali", "founded_by", "ent:ma"), fact(2, "ent:ali", "headquartered_in", "ent:hz"),
               fact(3, "ent:hz", "located_in", "ent:zj"), fact(4, "ent:apple", "founded_by", "ent:jobs"),
               fact(5, "ent:apple", "founded_by", "ent:woz"), fact(6, "ent:woz", "works_for", "ent:apple"),
               fact(7, "ent:ali", "developed", "ent:tb", source="inferred", confidence=0.7)],
        evidence=[{"fact_id": "fact:1", "doc_id": "doc:1", "sentence": 0, "start": 0, "end": 24,
                   "text": "Jack Ma founded Alibaba.", "batch": "b1"}],
    )


@pytest.fixture(scope="module")
def graph(view) -> MemoryGraph:
    return MemoryGraph(view)


@pytest.fixture(scope="module")
def aliases(graph) -> AliasDictionary:
    nodes = graph.entities.values()
    tokenizer = Tokenizer(s for n in nodes for s in (n.name, *n.aliases))
    return AliasDictionary(((n.id, n.name, n.aliases) for n in nodes), tokenizer)


def test_match_keys_ignore_case_width_and_punctuation():
    assert match_key("Apple Inc.") == match_key("apple  inc") == "apple inc"
    assert match_key("史蒂夫·乔布斯") == match_key("史蒂夫 乔布斯")
    assert match_key("ＡＰＰＬＥ") == "apple"  # full-width, as entity ids normalize names


def test_linking_takes_the_longest_surface_in_both_scripts(aliases):
    links = aliases.link("Where was the founder of Alibaba Group born, and is Apple Inc. in Hangzhou?")
    assert [(l.entity, l.surface) for l in links] == [("ent:ali", "Alibaba Group"), ("ent:apple", "Apple Inc"),
                                                       ("ent:hz", "Hangzhou")]
    assert [l.entity for l in aliases.link("the THE The")] == []  # a stop-word name is not linked
    links = aliases.link("马云和史蒂夫·乔布斯创立了什么公司？阿里巴巴呢")
    assert [(l.entity, l.surface) for l in links] == [("ent:ma", "马云"), ("ent:jobs", "史蒂夫·乔布斯"),
                                                       ("ent:ali", "阿里巴巴")]
    assert links[0].start == 0 and links[0].end == 2
    assert [l.entity for l in aliases.link("苹果公司的CEO是谁")] == ["ent:apple"]
    assert aliases.exact("ma yun") == ("ent:ma",) and aliases.prefixed("steve", 5) == ["ent:jobs", "ent:woz"]


def test_bm25_terms_drop_stop_words_and_cut_chinese(aliases):
    assert aliases.tokenizer.terms("Who founded the Alibaba Groups?") == ["found", "alibaba", "group"]  # stems
    terms = aliases.tokenizer.terms("谁创立了阿里巴巴？")
    assert "阿里巴巴" in terms and "谁" not in terms and "？" not in terms


def test_expansion_counts_hops_and_respects_the_budget(graph):
    one = graph.expand({"ent:ma": 1.0}, hops=1)
    assert one.hops == {"fact:1": 1}
    two = graph.expand({"ent:ma": 1.0}, hops=2)
    assert two.hops == {"fact:1": 1, "fact:2": 2, "fact:7": 2}
    assert two.path_from_seed("ent:hz") == ["fact:1", "fact:2"] and "ent:zj" not in two.distance
    three = graph.expand({"ent:ma": 1.0}, hops=3)
    assert three.hops["fact:3"] == 3 and not three.truncated
    capped = graph.expand({"ent:ali": 1.0}, hops=2, max_facts=2)
    assert len(capped.hops) == 2 and capped.truncated
    assert set(capped.hops) == {"fact:1", "fact:2"}  # fact-id order without a relevance


def test_a_hub_over_the_budget_gives_its_most_relevant_facts_first(graph):
    asked = []

    def prefer():
        asked.append(1)
        return ["fact:7", "fact:3", "fact:2", "fact:404"]  # the query's relation words' best hits

    capped = graph.expand({"ent:ali": 1.0}, hops=1, max_facts=2, prefer=prefer)
    # fact:3 does not touch Alibaba and an unknown id is ignored
    assert list(capped.hops) == ["fact:7", "fact:2"] and capped.truncated
    assert asked == [1]
    # within the budget nothing is asked (no cost for ordinary entities)
    asked.clear()
    assert set(graph.expand({"ent:ali": 1.0}, hops=1, prefer=prefer).hops) == {"fact:1", "fact:2", "fact:7"}
    assert asked == []


def test_every_shortest_path_between_two_linked_entities_is_found(graph):
    joined = graph.expand({"ent:jobs": 1.0, "ent:woz": 1.0}, hops=1)
    # Jobs -founded- Apple, then three facts join Apple and Wozniak
    assert sorted(map(tuple, joined.connections)) == [("fact:4", "fact:5"), ("fact:4", "fact:6")]
    assert all(joined.hops[f] == 0 for f in ("fact:4", "fact:5", "fact:6"))
    assert graph.path_entities(["fact:4", "fact:5"], "ent:jobs") == ["ent:jobs", "ent:apple", "ent:woz"]
    assert graph.expand({"ent:jobs": 1.0, "ent:ma": 1.0}, hops=2).connections == []  # not connected


def test_graph_keeps_evidence_and_marks_inferred_facts(graph):
    assert graph.evidence["fact:1"][0].text == "Jack Ma founded Alibaba."
    assert graph.facts["fact:7"].inferred and graph.facts["fact:7"].score == 0.7
    assert not graph.facts["fact:1"].inferred and graph.degree("ent:ali") == 3


@pytest.mark.parametrize("kind", ["flat", "hnsw"])
def test_stored_vectors_are_read_in_place_by_id(kind):
    import numpy as np

    from injection.rag.index import VectorIndex

    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(20, 8)).astype(np.float32)
    index = VectorIndex.create(8, kind)
    index.add(np.arange(100, 120), vectors)
    index.remove([105])
    found, got = index.stored().get([119, 105, 7, 100])
    assert found.tolist() == ([True, False, False, True] if kind == "flat" else [True, True, False, True])
    expected = vectors[[19, 0]] if kind == "flat" else vectors[[19, 5, 0]]
    assert np.array_equal(got, expected)


def test_ranks_share_ties():
    assert _ranks({"a": 0.1, "b": 0.1, "c": 0.3, "d": 0.0}) == {"d": 1, "a": 2, "b": 2, "c": 4}
    assert _without_spans("Who founded Tencent?", [(12, 19)]) == "Who founded        ?"


def test_context_cites_marks_inferred_and_fits_its_budget():
    facts = [ContextFact("Tencent was founded by Pony Ma.", (1, 2), False, 0.9),
             ContextFact("Huawei was founded by Jack Ma.", (), True, 0.834)]
    sources = [ContextSource(1, "tencent.txt", "doc:1", ("Pony Ma founded Tencent.",)),
               ContextSource(2, "news", "doc:2", ())]
    text = render_context("en", facts, ["Tencent —founded by→ Pony Ma"], sources)
    assert text.splitlines() == [
        "Facts from the knowledge graph:", "- Tencent was founded by Pony Ma. [1][2]",
        "- Huawei was founded by Jack Ma. (inferred, score 0.83)", "Connections:",
        "- Tencent —founded by→ Pony Ma", "Sources:", '[1] tencent.txt (doc:1): "Pony Ma founded Tencent."',
        "[2] news (doc:2)"]
    zh = render_context("zh", [ContextFact("腾讯由马化腾创立。", (1,), False, 0.9),
                               ContextFact("华为由马云创立。", (), True, 0.5)], [], sources[:1])
    assert "- 腾讯由马化腾创立。[1]" in zh and "- 华为由马云创立。（推断，置信度 0.50）" in zh
    assert zh.startswith("知识图谱中的事实：") and "[1] tencent.txt（doc:1）：“Pony Ma founded Tencent.”" in zh
    short = render_context("en", facts, ["a path"], sources, max_chars=80)
    assert len(short) <= 80 and "Sources:" not in short and "Pony Ma" in short
    assert render_context("fr", [], [], []) == "The knowledge graph holds nothing about this."


def test_validation_messages_say_what_to_send():
    assert "not valid JSON" in validation_message([{"type": "json_invalid", "loc": ["body", 7], "msg": "x",
                                                     "ctx": {"error": "Expecting ','"}}])
    assert validation_message([{"type": "less_than_equal", "loc": ["body", "k"],
                                "msg": "Input should be less than or equal to 50"}]) == \
        "k: Input should be less than or equal to 50"
    assert validation_message([{"type": "value_error", "loc": ["body", "query"],
                                "msg": "Value error, the query is empty"}]) == "query: the query is empty"


def test_api_keys_come_from_options_and_the_environment():
    assert api_keys_from(["a", " b "], {"KG_API_KEYS": "c, ,a"}) == ("a", "b", "c")
    assert api_keys_from([], {}) == ()
