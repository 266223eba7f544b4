"""What the index holds: fact phrasings in both languages, bilingual entities, sentence chunks."""

from __future__ import annotations

import pyarrow as pa
import pytest

from injection.rag.items import ITEMS, ItemOptions, collect_items, item_id, pack_sentences, sentence_spans
from kg.build import load_workspace_schema
from kg.graph import GraphView
from kg.schema import Schema
from kg.workspace import Workspace
from tests.conftest import SMALL_SCHEMA


@pytest.fixture(scope="module")
def small_view() -> GraphView:
    ma, alibaba, hz = "ent:ma", "ent:alibaba", "ent:hz"
    text = "Jack Ma founded Alibaba in 1999. It is based in Hangzhou! Revenue grew fast."
    zh = "阿里巴巴由马云创立。总部位于杭州；员工很多。"
    return GraphView.from_pylist(
        documents=[{"id": "doc:en", "text": text, "lang": "en", "batch": "b1"},
                   {"id": "doc:zh", "text": zh, "lang": "zh", "batch": "b1"}],
        entities=[{"id": ma, "name": "Jack Ma", "type": "Person", "aliases": ["马云"], "lang": "en",
                   "description": "Founder of Alibaba.", "batch": "b1"},
                  {"id": alibaba, "name": "Alibaba Group", "type": "Organization", "aliases": ["阿里巴巴"],
                   "lang": "en", "batch": "b1"},
                  {"id": hz, "name": "杭州", "type": "Location", "aliases": [], "lang": "zh", "batch": "b1"}],
        facts=[{"id": "fact:1", "subject": alibaba, "predicate": "founded_by", "object": ma, "open": False,
                "source": "extracted", "confidence": 0.9, "batch": "b1"},
               {"id": "fact:2", "subject": alibaba, "predicate": "headquartered_in", "object": hz,
                "open": False, "source": "inferred", "confidence": 0.8, "batch": "b2"}],
    )


def test_facts_are_phrased_in_each_language_their_names_fit(small_view):
    items = collect_items(small_view, Schema.model_validate(SMALL_SCHEMA), ItemOptions(kinds=("fact",)))
    rows = {(r["key"], r["lang"]): r for r in items.to_pylist()}
    # schema template in English; Chinese has no template in the small schema: kg synth's fallback phrasing
    assert rows[("fact:1", "en")]["text"] == "Alibaba Group was founded by Jack Ma."
    assert rows[("fact:1", "zh")]["text"] == "阿里巴巴创始人马云。"
    # Hangzhou has only a Chinese name: no English item for the fact about it
    assert ("fact:2", "en") not in rows and rows[("fact:2", "zh")]["text"] == "阿里巴巴总部位于杭州。"
    inferred = rows[("fact:2", "zh")]
    assert inferred["source"] == "inferred" and inferred["batch"] == "b2" and inferred["object"] == "ent:hz"
    assert items.schema.equals(ITEMS)


def test_entities_get_an_item_per_script_of_their_names(small_view):
    items = collect_items(small_view, Schema.model_validate(SMALL_SCHEMA), ItemOptions(kinds=("entity",)))
    texts = {(r["key"], r["lang"]): r["text"] for r in items.to_pylist()}
    assert texts[("ent:ma", "en")] == "Jack Ma (person). Also known as 马云. Founder of Alibaba."
    assert texts[("ent:ma", "zh")] == "马云（人物）。又称Jack Ma。"  # an English description stays out
    assert texts[("ent:hz", "zh")] == "杭州（地点）。" and ("ent:hz", "en") not in texts


def test_chunks_are_exact_spans_of_their_documents(small_view):
    items = collect_items(small_view, Schema.model_validate(SMALL_SCHEMA),
                          ItemOptions(kinds=("chunk",), chunk_tokens=10))
    docs = {d["id"]: d["text"] for d in small_view.documents.to_pylist()}
    rows = items.to_pylist()
    for row in rows:
        assert docs[row["key"]][row["start"]:row["end"]] == row["text"]
    english = sorted((r["start"], r["text"]) for r in rows if r["key"] == "doc:en")
    # 6 tokens, then 5 + 3 fit one chunk of at most 10
    assert [t for _, t in english] == ["Jack Ma founded Alibaba in 1999.",
                                       "It is based in Hangzhou! Revenue grew fast."]
    chinese = sorted((r["start"], r["text"]) for r in rows if r["key"] == "doc:zh")
    # 9 CJK characters, then 6 + 4 (sentences end at ；too)
    assert [t for _, t in chinese] == ["阿里巴巴由马云创立。", "总部位于杭州；员工很多。"]


def test_sentences_are_packed_up_to_the_token_budget():
    text = "One two three. Four five. Six seven eight nine ten eleven. Twelve."
    spans = sentence_spans(text, "en")
    assert len(spans) == 4
    packed = [text[s:e] for s, e in pack_sentences(text, spans, 5)]
    assert packed == ["One two three. Four five.", "Six seven eight nine ten eleven.", "Twelve."]


def test_item_ids_are_stable_and_depend_on_the_text():
    assert item_id("fact", "fact:1", "en", "A.") == item_id("fact", "fact:1", "en", "A.")
    ids = {item_id("fact", "fact:1", "en", "A."), item_id("fact", "fact:1", "en", "B."),
           item_id("fact", "fact:1", "zh", "A."), item_id("chunk", "doc:1", "en", "A.", 0),
           item_id("chunk", "doc:1", "en", "A.", 10)}
    assert len(ids) == 5 and all(0 <= i < 2**63 for i in ids)


def test_every_live_fact_of_the_example_is_indexed(indexed_example):
    ws = Workspace(indexed_example).open()
    view = ws.bundle.view()
    items = collect_items(view, load_workspace_schema(ws))
    assert collect_items(view, load_workspace_schema(ws)).equals(items)  # deterministic
    facts = items.filter(pa.compute.equal(items["kind"], "fact"))
    assert set(facts["key"].to_pylist()) == set(view.facts["id"].to_pylist())
    assert len(set(items["id"].to_pylist())) == items.num_rows
