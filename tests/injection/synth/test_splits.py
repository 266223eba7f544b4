"""Split plan, template reservation and the graph indexes synthesis reads."""

from __future__ import annotations

from collections import Counter

import pytest

from injection.synth.graph import SynthGraph, script_lang
from injection.synth.splits import SplitPlan
from injection.synth.templates import FALLBACK_STATEMENTS, Warnings, render, statement_templates
from kg.graph import GraphView


def test_script_lang():
    assert script_lang("马云") == "zh" and script_lang("Jack Ma") == "en"
    assert script_lang("阿里巴巴 Alibaba") == "zh" and script_lang("1998") is None


def test_names_follow_the_language(example_graph):
    jack = next(e for e in example_graph.entities.values() if e.name == "Jack Ma")
    assert example_graph.name(jack.id, "en") == "Jack Ma"
    assert example_graph.name(jack.id, "zh") == "马云"
    for eid in example_graph.entities:
        for lang in ("en", "zh"):
            name = example_graph.name(eid, lang)
            assert name is None or script_lang(name) == lang


def test_answers_hold_every_known_object(example_graph):
    for fact in example_graph.known:
        assert fact.object in example_graph.answers[(fact.subject, fact.predicate)]
    assert sum(len(v) for v in example_graph.answers.values()) == len(example_graph.known)


def _fact(i, subject, obj, source="extracted", confidence=1.0, predicate="founded_by"):
    return {"id": f"f{i}", "subject": subject, "predicate": predicate, "object": obj, "open": False,
            "source": source, "confidence": confidence, "evidence_count": 1, "batch": "b1"}


def test_inferred_facts_are_known_but_trained_on_only_when_asked(example_schema):
    entities = [{"id": f"e{i}", "name": n, "type": t, "aliases": [], "lang": "en"}
                for i, (n, t) in enumerate([("Acme", "Organization"), ("Ann Lee", "Person"), ("Bo Chen", "Person")])]
    view = GraphView.from_pylist(entities=entities, facts=[
        _fact(1, "e0", "e1"), _fact(2, "e0", "e2", source="inferred", confidence=0.6)])
    plain = SynthGraph(view, example_schema)
    assert [f.id for f in plain.facts] == ["f1"] and plain.answers[("e0", "founded_by")] == {"e1", "e2"}
    assert [f.id for f in SynthGraph(view, example_schema, include_inferred=True).facts] == ["f1", "f2"]
    assert [f.id for f in SynthGraph(view, example_schema, include_inferred=True, min_score=0.7).facts] == ["f1"]


def test_split_plan_is_deterministic_and_grouped(example_graph):
    plan = SplitPlan(seed=7, eval_ratio=0.3, heldout_ratio=0.1)
    splits = {f.id: plan.fact_split(f) for f in example_graph.facts}
    assert splits == {f.id: SplitPlan(seed=7, eval_ratio=0.3, heldout_ratio=0.1).fact_split(f)
                      for f in example_graph.facts}
    assert set(Counter(splits.values())) == {"train", "eval", "heldout"}
    for fact in example_graph.facts:  # every fact of one (subject, relation) group shares its split
        if splits[fact.id] != "heldout":
            assert splits[fact.id] == plan.pair_split(fact.subject, fact.predicate)
        held = plan.heldout_entity(fact.subject) or plan.heldout_entity(fact.object)
        assert (splits[fact.id] == "heldout") == held
    assert {f.id for f in plan.training_facts(example_graph)} == {k for k, v in splits.items() if v != "heldout"}
    other = SplitPlan(seed=8, eval_ratio=0.3, heldout_ratio=0.1)
    assert splits != {f.id: other.fact_split(f) for f in example_graph.facts}


def test_one_template_per_relation_is_reserved_for_evaluation():
    plan = SplitPlan(seed=1)
    templates = ["a {subject} {object}", "b {subject} {object}", "c {subject} {object}"]
    train = plan.templates(templates, "r", "en", "train", "verbalization")
    (reserved,) = plan.templates(templates, "r", "en", "eval", "verbalization")
    assert plan.templates(templates, "r", "en", "heldout", "verbalization") == [reserved]
    assert len(train) == 2 and reserved not in train
    assert sorted(train + [reserved]) == list(enumerate(templates))
    assert plan.templates(templates[:1], "r", "en", "train", "question") == []
    assert plan.templates([], "r", "en", "eval", "question") == []


@pytest.mark.parametrize("field,value", [("eval_ratio", 1.0), ("heldout_ratio", -0.1)])
def test_bad_ratios_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        SplitPlan(**{field: value})


def test_relation_without_templates_falls_back_and_warns(example_graph):
    warnings = Warnings()
    templates, family = statement_templates(example_graph, "创办", "zh", warnings)
    assert family == "fallback_statement" and templates == FALLBACK_STATEMENTS["zh"]
    # a relation issue is noted once, however many lookups (or worker processes) make it
    statement_templates(example_graph, "创办", "zh", warnings)
    facts = example_graph.relation_count["创办"]
    assert facts > 0
    prefix = "no zh verbalization templates: fallback phrasing used — open relations"
    assert warnings.lines() == [f"{prefix} ({facts:,} facts, 1 relation)"]
    assert warnings.relations() == {prefix: {"创办": facts}}
    schema_templates, family = statement_templates(example_graph, "founded_by", "en", warnings)
    assert family == "verbalization" and len(schema_templates) >= 3


def test_render_inserts_names_verbatim():
    assert render("{subject} was founded by {object}.", "A {object} Co", "B") == "A {object} Co was founded by B."
