"""Continual-pretraining text on the example graph: leak-freedom, phrasings, scripts, paths, determinism."""

from __future__ import annotations

import re
from collections import Counter, defaultdict

import pytest

from injection.synth.context import Context
from injection.synth.cpt import CONNECTIVES, OPENINGS, Phrasing, Verbalizer, generate, sample_paths
from injection.synth.graph import SynthGraph, script_lang
from injection.synth.splits import SplitPlan
from injection.synth.templates import FALLBACK_STATEMENTS, render, statement_templates
from kg.graph import GraphView

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_PLACEHOLDER = re.compile(r"\{(?:subject|object|label)\}")


def _ctx(graph: SynthGraph, seed: int = 5) -> Context:
    # a large held-out share so that the small example graph has held-out facts to leak
    return Context(graph=graph, plan=SplitPlan(seed=seed, eval_ratio=0.2, heldout_ratio=0.15), seed=seed)


@pytest.fixture(scope="module")
def run(example_graph):
    """The records of one default run and its context, made once."""
    ctx = _ctx(example_graph)
    return ctx, list(generate(ctx))


def _templates_of(graph, family: str, relation: str, lang: str) -> list[str]:
    if family.startswith("fallback"):
        return FALLBACK_STATEMENTS[lang]
    return statement_templates(graph, relation, lang)[0]


def test_every_style_and_language_is_written(run):
    _, records = run
    counts = Counter((r.style, r.lang) for r in records)
    assert {(s, lang) for s in ("fact", "article", "path") for lang in ("en", "zh")} <= set(counts)
    assert all(r.kind == "cpt" and r.split == "train" and r.text and r.facts for r in records)


def test_heldout_facts_and_entities_never_appear(run):
    ctx, records = run
    graph, plan = ctx.graph, ctx.plan
    heldout = {f.id for f in graph.facts if plan.fact_split(f) == "heldout"}
    heldout_entities = {e for e in graph.entities if plan.heldout_entity(e)}
    assert heldout and heldout_entities  # the check below is not vacuous
    for record in records:
        assert not heldout & set(record.facts)
        assert not heldout_entities & set(record.entities)


def test_reserved_templates_are_never_used(run):
    ctx, records = run
    graph, plan = ctx.graph, ctx.plan
    used = Counter()
    for record in records:
        for tid in record.templates:
            family, relation, lang, index = tid.rsplit(":", 3)
            templates = _templates_of(graph, family, relation, lang)
            [(reserved, _)] = plan.templates(templates, relation, lang, "eval", family)
            assert int(index) != reserved, tid
            used[family] += 1
    assert used["verbalization"] and used["fallback_statement"]


def test_reserved_template_text_does_not_appear(run):
    """The longest fixed fragment of each reserved schema template, where no training template,
    opening, connective, relation label or name contains it, occurs in no cpt text of that language."""
    ctx, records = run
    graph, plan = ctx.graph, ctx.plan
    texts = defaultdict(list)
    for record in records:
        texts[record.lang].append(record.text)
    checked = 0
    for relation, rel in graph.schema.relation_types.items():
        for lang, templates in rel.verbalizations.items():
            [(_, reserved)] = plan.templates(templates, relation, lang, "eval", "verbalization")
            fragment = max(_PLACEHOLDER.split(reserved), key=len).strip(" 。.")
            others = [t for r in graph.schema.relation_types.values() for t in r.verbalizations.get(lang, ())
                      if t != reserved] + OPENINGS[lang] + CONNECTIVES[lang] + FALLBACK_STATEMENTS[lang]
            others += [graph.relation_label(p, lang) for p in graph.relation_count]
            others += [n for e in graph.entities if (n := graph.name(e, lang))]
            if len(fragment) < 2 or any(fragment in other for other in others):
                continue
            checked += 1
            assert not any(fragment in text for text in texts[lang]), (relation, lang, fragment)
    assert checked >= 10


def test_each_fact_gets_distinct_phrasings(run):
    ctx, records = run
    verbalizer = Verbalizer(ctx)
    phrased = defaultdict(set)
    for record in records:
        if record.style == "fact":
            [fact_id] = record.facts
            phrased[(fact_id, record.lang)].add(record.text)
    expected = 0
    for fact in ctx.plan.training_facts(ctx.graph):
        for lang in ctx.langs:
            if verbalizer.writable(fact, lang):
                expected += 1
                available = len(verbalizer.phrasing(fact.predicate, lang).templates)
                assert len(phrased[(fact.id, lang)]) >= min(3, available), (fact, lang)
    assert expected == len(phrased)


def test_text_is_in_its_language_with_its_names(run):
    ctx, records = run
    for record in records:
        if record.lang == "zh":
            assert _HAN.search(record.text), record.text
        else:
            assert not _HAN.search(record.text), record.text
        for entity in record.entities:
            name = ctx.graph.name(entity, record.lang)
            assert name is not None and name in record.text


def test_articles_are_about_their_entity(run):
    ctx, records = run
    articles = [r for r in records if r.style == "article"]
    per_entity = Counter((r.meta["entity"], r.lang) for r in articles)
    assert all(count >= 2 for count in per_entity.values())  # articles=2 rounds
    facts = {f.id: f for f in ctx.graph.facts}
    for record in articles:
        entity = record.meta["entity"]
        assert record.text.startswith(tuple(o.split("{", 1)[0] for o in OPENINGS[record.lang]))
        assert all(entity in (facts[f].subject, facts[f].object) for f in record.facts)
        assert len(record.templates) == len(record.facts)
    # rounds differ: the same entity's articles are not all the same text
    by_entity = defaultdict(set)
    for record in articles:
        if len(record.facts) > 1:
            by_entity[(record.meta["entity"], record.lang)].add(record.text)
    assert by_entity and all(len(texts) > 1 for texts in by_entity.values())


def _check_walk(walk, min_hops: int, max_hops: int) -> None:
    assert min_hops <= len(walk) <= max_hops
    for a, b in zip(walk, walk[1:]):
        assert {a.subject, a.object} & {b.subject, b.object}
    first = walk[0]
    entities = [first.object if len(walk) > 1 and first.subject in (walk[1].subject, walk[1].object)
                else first.subject]
    for fact in walk:
        nxt = fact.object if fact.subject == entities[-1] else fact.subject
        entities.append(nxt)
    assert len(entities) == len(set(entities)) == len(walk) + 1  # no repeated entity


def test_paths_have_bounded_hops_and_chain(run):
    ctx, records = run
    facts = {f.id: f for f in ctx.graph.facts}
    paths = [r for r in records if r.style == "path"]
    assert {r.lang for r in paths} == {"en", "zh"}
    for record in paths:
        walk = [facts[f] for f in record.facts]
        assert record.meta["hops"] == len(walk)
        _check_walk(walk, 2, 4)
    assert len({r.meta["hops"] for r in paths}) > 1
    for walk in sample_paths(ctx, 50, min_hops=3, max_hops=3):
        _check_walk(walk, 3, 3)


def test_weighted_paths_cover_the_long_tail(example_graph):
    ctx = _ctx(example_graph)
    degree = Counter(e for f in ctx.plan.training_facts(example_graph) for e in (f.subject, f.object))
    rare = {e for e, d in degree.items() if d <= 2}

    def covered(weighted: bool) -> int:
        walks = sample_paths(ctx, 150, weighted=weighted)
        assert len(walks) == 150
        return len(rare & {e for walk in walks for f in walk for e in (f.subject, f.object)})

    assert covered(True) > covered(False)


def test_same_seed_same_output_other_seed_differs(example_graph):
    first = [r.to_dict() for r in generate(_ctx(example_graph, seed=1))]
    again = [r.to_dict() for r in generate(_ctx(example_graph, seed=1))]
    other = [r.to_dict() for r in generate(_ctx(example_graph, seed=2))]
    assert first == again
    assert first != other


def test_counts_and_bounds_are_respected(example_graph):
    ctx = _ctx(example_graph)
    records = list(generate(ctx, phrasings=1, articles=0, paths=7, min_hops=1, max_hops=1))
    styles = Counter(r.style for r in records)
    assert "article" not in styles and styles["path"] == 7 * len(ctx.langs)
    assert all(r.meta["hops"] == 1 for r in records if r.style == "path")
    assert len({(r.facts[0], r.lang) for r in records if r.style == "fact"}) == styles["fact"]
    with pytest.raises(ValueError, match="min_hops"):
        generate(ctx, min_hops=3, max_hops=2)
    with pytest.raises(ValueError, match="phrasings"):
        generate(ctx, phrasings=-1)


def test_open_relations_use_fallback_phrasing_with_a_warning(run):
    ctx, records = run
    fallback = [r for r in records if r.style == "fact" and r.templates[0].startswith("fallback_statement:")]
    assert fallback
    facts = {f.id: f for f in ctx.graph.facts}
    assert all(facts[r.facts[0]].open for r in fallback)
    assert any("fallback phrasing used" in line for line in ctx.warnings.lines())
    assert any("without a name in zh" in line for line in ctx.warnings.lines())


def test_single_template_relation_falls_back_and_warns(small_schema):
    """founded_by has one en template (reserved for eval) and none in zh: both fall back, both warned."""
    view = GraphView.from_pylist(
        entities=[{"id": "a", "name": "Alibaba Group", "type": "Organization", "aliases": ["阿里巴巴"]},
                  {"id": "j", "name": "Jack Ma", "type": "Person", "aliases": ["马云"]}],
        facts=[{"id": "f1", "subject": "a", "predicate": "founded_by", "object": "j", "open": False,
                "source": "extracted", "confidence": 1.0}])
    plan = SplitPlan(seed=0, eval_ratio=0.0, heldout_ratio=0.0)
    ctx = Context(graph=SynthGraph(view, small_schema), plan=plan)
    records = list(generate(ctx, paths=0))
    facts = [r for r in records if r.style == "fact"]
    assert {r.lang for r in facts} == {"en", "zh"}
    assert all(t.startswith("fallback_statement:founded_by:") for r in records for t in r.templates)
    assert all("阿里巴巴" in r.text and "马云" in r.text for r in facts if r.lang == "zh")
    lines = " | ".join(ctx.warnings.lines())
    assert "single en verbalization template" in lines and "no zh verbalization templates" in lines
    assert [r for r in records if r.style == "article"]


def test_empty_graph_yields_nothing(example_schema):
    ctx = Context(graph=SynthGraph(GraphView.empty(), example_schema), plan=SplitPlan())
    assert list(generate(ctx)) == []
    assert sample_paths(ctx, 10) == []


def test_phrasing_renders_like_the_template_module():
    templates = ("{subject} — {label} — {object}.", "{object}{{literal}} by {subject}")
    phrasing = Phrasing(("t:0", "t:1"), templates, "made")
    for i, template in enumerate(templates):
        for subject, obj in (("A {object} B", "C}"), ("马云", "阿里巴巴")):
            assert phrasing.render(i, subject, obj) == render(template, subject, obj, "made")
    assert script_lang(phrasing.render(0, "A", "B")) == "en"
