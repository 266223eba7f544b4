"""Factuality data on the example graph: open QA, true/false, multiple choice and refusals."""

from __future__ import annotations

import pytest

from injection.synth.context import Context
from injection.synth.factuality import (
    HARD_CONFUSIONS,
    WORDING,
    generate_mc,
    generate_qa,
    generate_refusals,
    generate_tf,
    normalize,
)
from injection.synth.graph import SynthGraph, script_lang
from injection.synth.refusals import fabricate
from injection.synth.splits import SplitPlan
from injection.synth.templates import question_templates, statement_templates
from kg.errors import ConfigError
from kg.graph import GraphView

GENERATORS = {"qa": generate_qa, "tf": generate_tf, "mc": generate_mc, "refusal": generate_refusals}


def _ctx(graph: SynthGraph, seed: int = 3) -> Context:
    # ratios large enough that the small example graph has all three splits
    return Context(graph=graph, plan=SplitPlan(seed=seed, eval_ratio=0.3, heldout_ratio=0.1), seed=seed)


@pytest.fixture(scope="module")
def records(example_graph):
    """Every generator's records (and the context they were made with), made once."""
    ctx = _ctx(example_graph)
    return ctx, {kind: list(gen(ctx)) for kind, gen in GENERATORS.items()}


def _names(graph, ids, lang):
    return {graph.name(e, lang) for e in ids} - {None}


def test_answers_join_naturally():
    assert WORDING["en"].join(["A"]) == "A"
    assert WORDING["en"].join(["A", "B"]) == "A and B"
    assert WORDING["en"].join(["A", "B", "C"]) == "A, B and C"
    assert WORDING["zh"].join(["甲", "乙", "丙"]) == "甲、乙和丙"


def test_every_kind_has_records_in_both_languages_and_all_splits(records):
    _, made = records
    for kind, recs in made.items():
        assert {r.lang for r in recs} == {"en", "zh"}, kind
        splits = {"train", "eval"} if kind == "refusal" else {"train", "eval", "heldout"}
        assert {r.split for r in recs} >= splits, kind
        assert all(r.kind == kind and r.prompt and r.answer for r in recs)


def test_qa_answers_every_object_of_the_group(records, example_graph):
    ctx, made = records
    for rec in made["qa"]:
        subject, predicate = rec.entities[0], rec.meta["relation"]
        facts = [f for f in example_graph.by_subject[subject] if f.predicate == predicate]
        assert sorted(rec.facts) == sorted(f.id for f in facts)
        assert rec.meta["answers"] == sorted(example_graph.name(f.object, rec.lang) for f in facts)
        assert all(name in rec.answer for name in rec.meta["answers"])
        assert set(rec.meta["accepted"]) <= _names(example_graph, example_graph.answers[(subject, predicate)],
                                                    rec.lang)
        held = any(ctx.plan.heldout_entity(e) for e in rec.entities)
        assert rec.split == ("heldout" if held else ctx.plan.pair_split(subject, predicate))
    per_group = {}
    for rec in made["qa"]:
        key = (rec.entities[0], rec.meta["relation"], rec.lang)
        per_group[key] = per_group.get(key, 0) + 1
    assert max(per_group.values()) == 2 and min(per_group.values()) == 1


def test_eval_and_heldout_use_only_the_reserved_template(records, example_graph):
    ctx, made = records
    for rec in (r for recs in made.values() for r in recs):
        (tid,) = rec.templates
        family, relation, lang, index = tid.split(":")
        statement = family in ("verbalization", "fallback_statement")
        lookup = statement_templates if statement else question_templates
        templates, expected_family = lookup(example_graph, relation, lang)
        assert family == expected_family and lang == rec.lang
        ((reserved, _),) = ctx.plan.templates(templates, relation, lang, "eval", family)
        if rec.split == "train":
            assert int(index) != reserved, rec
        else:
            assert int(index) == reserved, rec


def test_training_records_never_mention_heldout_entities(records):
    ctx, made = records
    for rec in (r for recs in made.values() for r in recs if r.split == "train"):
        assert not any(ctx.plan.heldout_entity(e) for e in rec.entities), rec


def test_true_statements_are_true_and_false_ones_false(records, example_graph):
    _, made = records
    tf = made["tf"]
    assert sum(r.label is True for r in tf) == sum(r.label is False for r in tf) > 0
    hard = 0
    for rec in tf:
        subject, obj = rec.entities
        (fact_id,) = rec.facts
        fact = next(f for f in example_graph.by_subject[subject] if f.id == fact_id)
        known = example_graph.answers[(subject, fact.predicate)]
        assert example_graph.name(obj, rec.lang) in rec.prompt
        assert rec.answer == (WORDING[rec.lang].true if rec.label else WORDING[rec.lang].false)
        if rec.label:
            assert obj == fact.object and obj in known
        else:
            assert obj not in known and obj != subject and rec.meta["replaced"] == fact.object
            assert example_graph.entities[obj].type == example_graph.entities[fact.object].type
            assert normalize(example_graph.name(obj, rec.lang)) not in {
                normalize(n) for n in _names(example_graph, known, rec.lang)}
            hard += obj in example_graph.objects_of[fact.predicate]
    # same-relation objects are preferred: most false statements use one
    assert hard > 0.6 * (len(tf) / 2)


@pytest.mark.parametrize("unrelated", [0, 2, 5])
def test_choices_have_one_answer_and_hard_confusions(example_graph, unrelated):
    ctx = _ctx(example_graph)
    recs = list(generate_mc(ctx, unrelated=unrelated))
    assert recs
    for rec in recs:
        subject, predicate = rec.entities[0], rec.meta["relation"]
        options = rec.entities[1:]
        known = example_graph.answers[(subject, predicate)]
        assert len(options) == len(rec.options) == 1 + HARD_CONFUSIONS + unrelated
        assert sum(e in known for e in options) == 1
        position = rec.meta["answer_index"]
        assert options[position] in known
        assert rec.answer == f"{'ABCDEFGHIJ'[position]}. {rec.options[position]}"
        assert len({normalize(o) for o in rec.options}) == len(rec.options)
        correct_names = {normalize(n) for n in _names(example_graph, known, rec.lang)}
        assert sum(normalize(o) in correct_names for o in rec.options) == 1
        answer_type = example_graph.entities[options[position]].type
        assert len(rec.meta["hard"]) == HARD_CONFUSIONS and len(rec.meta["unrelated"]) == unrelated
        assert all(example_graph.entities[e].type == answer_type for e in rec.meta["hard"])
        assert all(example_graph.entities[e].type != answer_type for e in rec.meta["unrelated"])
        assert subject not in options
        for i, text in enumerate(rec.options):
            assert f"\n{'ABCDEFGHIJ'[i]}. {text}\n" in rec.prompt
    # options are shuffled: the answer is not always in one position
    assert len({r.meta["answer_index"] for r in recs}) > 1


def test_refusals_only_for_what_the_graph_does_not_support(records, example_graph, example_schema):
    ctx, made = records
    refusals = made["refusal"]
    existing = {normalize(n) for e in example_graph.entities.values() for n in (e.name, *e.aliases)}
    groups = len({(f.subject, f.predicate) for f in example_graph.facts})
    for lang in ("en", "zh"):
        mine = [r for r in refusals if r.lang == lang]
        assert len(mine) == round(0.5 * groups)
        assert {r.style for r in mine} == {"unknown_relation", "unknown_entity"}
    for rec in refusals:
        words = WORDING[rec.lang]
        relation = rec.meta["relation"]
        if rec.style == "unknown_relation":
            (entity,) = rec.entities
            assert (entity, relation) not in example_graph.answers
            assert example_graph.entities[entity].type == example_schema.relation_types[relation].domain
            assert example_graph.name(entity, rec.lang) in rec.prompt
            assert rec.answer in words.refusals
        else:
            name = rec.meta["fabricated"]
            assert normalize(name) not in existing and name in rec.prompt and not rec.entities
            assert rec.answer in words.refusals + words.unknown_entity_refusals(name)
            assert name in words.unknown_entity_refusals(name)[0]
            held = ctx.plan.pair_split(f"unknown:{normalize(name)}", relation)
            assert rec.split == held
    assert list(generate_refusals(_ctx(example_graph), ratio=0.0)) == []
    assert len(list(generate_refusals(_ctx(example_graph), ratio=0.1))) == 2 * round(0.1 * groups)


def test_fabricated_names_recombine_real_ones():
    assert fabricate("Steve Jobs", "Tim Cook", "en") == "Steve Cook"
    assert fabricate("Google", "Baidu", "en") == "Gooidu"
    assert fabricate("马云", "雷军", "zh") == "马军"


def test_chinese_records_are_chinese_and_english_ones_hold_no_han(records, example_graph):
    _, made = records
    for rec in (r for recs in made.values() for r in recs):
        if rec.lang == "en":
            assert script_lang(rec.text) != "zh", rec
        else:
            assert script_lang(rec.prompt) == "zh" and script_lang(rec.answer) == "zh", rec
            assert all(script_lang(o) == "zh" for o in rec.options)
            for entity in rec.entities:
                assert example_graph.name(entity, "zh") is not None


def test_same_seed_same_records_other_seed_other_records(example_graph, records):
    _, made = records
    again = _ctx(example_graph)
    other = _ctx(example_graph, seed=4)
    for kind, gen in GENERATORS.items():
        assert [r.to_dict() for r in gen(again)] == [r.to_dict() for r in made[kind]], kind
        assert [r.to_dict() for r in gen(other)] != [r.to_dict() for r in made[kind]], kind


def test_empty_graph_yields_nothing(example_schema):
    ctx = _ctx(SynthGraph(GraphView.empty(), example_schema))
    for gen in GENERATORS.values():
        assert list(gen(ctx)) == []


PEOPLE = [(name, "Person") for name in ("Ann Lee", "Bo Chen", "Cy Wu", "Di Xu", "Ed Yu")]


def _small_graph(schema, entities, facts) -> SynthGraph:
    rows = [{"id": f"e{i}", "name": n, "type": t, "aliases": [], "lang": "en"}
            for i, (n, t) in enumerate(entities)]
    fact_rows = [{"id": f"f{i}", "subject": s, "predicate": p, "object": o, "open": False, "source": source,
                  "confidence": 1.0, "evidence_count": 1, "batch": "b1"}
                 for i, (s, p, o, source) in enumerate(facts)]
    return SynthGraph(GraphView.from_pylist(entities=rows, facts=fact_rows), schema)


def _small_ctx(graph, seed=0) -> Context:
    return Context(graph=graph, plan=SplitPlan(seed=seed, eval_ratio=0.0, heldout_ratio=0.0), langs=("en",),
                   seed=seed)


def test_too_few_distractors_skips_with_a_warning(example_schema):
    graph = _small_graph(example_schema, [("Acme", "Organization"), *PEOPLE[:2]],
                         [("e0", "founded_by", "e1", "extracted")])
    ctx = _small_ctx(graph)
    assert list(generate_mc(ctx)) == []
    assert any("too few en options" in line for line in ctx.warnings.lines())
    (true, false) = generate_tf(ctx)  # the one other person is the false object
    assert (true.label, false.label, false.entities) == (True, False, ["e0", "e2"])


def test_inferred_answers_are_never_wrong_options_nor_taught(example_schema):
    graph = _small_graph(example_schema, [("Acme", "Organization"), *PEOPLE],
                         [("e0", "founded_by", "e1", "extracted"), ("e0", "founded_by", "e2", "inferred")])
    for seed in range(10):
        ctx = _small_ctx(graph, seed)
        (qa,) = [r for r in generate_qa(ctx, per_group=1)]
        assert qa.answer == "Ann Lee" and qa.meta["accepted"] == ["Ann Lee", "Bo Chen"]
        (true, false) = generate_tf(ctx)
        assert false.entities[1] in {"e3", "e4", "e5"}
        (mc,) = generate_mc(ctx, unrelated=0)
        assert sorted(mc.options) == ["Ann Lee", "Cy Wu", "Di Xu", "Ed Yu"]


def test_namesakes_of_an_answer_are_never_wrong_options(example_schema):
    # e6 is another "Ann Lee": offering it as a wrong option would make two options right
    graph = _small_graph(example_schema, [("Acme", "Organization"), *PEOPLE, ("Ann  lee", "Person")],
                         [("e0", "founded_by", "e1", "extracted")])
    for seed in range(10):
        ctx = _small_ctx(graph, seed)
        assert {r.entities[1] for r in generate_tf(ctx) if r.label is False} <= {"e2", "e3", "e4", "e5"}
        (mc,) = generate_mc(ctx, unrelated=0)
        assert "e6" not in mc.entities and "Ann  lee" not in mc.options and "Ann Lee" in mc.options


def test_places_containing_the_answer_are_never_wrong_options(example_schema):
    places = ["Hangzhou", "Zhejiang", "China", "Shenzhen", "Guangdong", "Beijing"]
    graph = _small_graph(example_schema, [("Jack Ma", "Person"), ("Pony Ma", "Person")]
                         + [(p, "Location") for p in places],
                         [("e0", "born_in", "e2", "extracted"), ("e2", "located_in", "e3", "extracted"),
                          ("e3", "located_in", "e4", "extracted"), ("e5", "located_in", "e6", "extracted")])
    false_objects = set()
    for seed in range(20):
        ctx = _small_ctx(graph, seed)
        born = [r for r in generate_tf(ctx) if r.meta["relation"] == "born_in" and r.label is False]
        false_objects |= {r.entities[1] for r in born}
        (mc,) = [r for r in generate_mc(ctx, unrelated=1) if r.meta["relation"] == "born_in"]
        assert sorted(mc.meta["hard"]) == ["e5", "e6", "e7"] and mc.meta["unrelated"] == ["e1"]
    # Zhejiang (e3) and China (e4) contain Hangzhou: saying Jack Ma was born there is not false
    assert false_objects == {"e5", "e6", "e7"}


@pytest.mark.parametrize("call", [lambda c: generate_mc(c, unrelated=-1),
                                  lambda c: generate_mc(c, unrelated=23),
                                  lambda c: generate_qa(c, per_group=0),
                                  lambda c: generate_refusals(c, ratio=-1)])
def test_bad_options_are_refused(example_graph, call):
    with pytest.raises(ConfigError):
        list(call(_ctx(example_graph)))
