"""Warnings that stay few on graphs with many open relations, and add up the same across workers."""

from __future__ import annotations

import pickle

from injection.synth.pipeline import SynthOptions, synthesize
from injection.synth.warns import Warnings
from kg.graph import GraphView


def test_schema_relations_get_a_line_each_open_relations_one_together():
    warnings = Warnings()
    for predicate, n, is_open in (("founded_by", 4, False), ("born_in", 2, False), ("visit", 5, True),
                                  ("访问", 7, True), ("praise", 1, True)):
        warnings.relation("no zh verbalization templates: fallback phrasing used", predicate, n, open=is_open)
    warnings.add("entity without a name in zh: fact left out of zh text", 3)
    warnings.note("refusals: fewer zh refusals than asked (too few unknowns)")
    assert warnings.lines() == [
        "no zh verbalization templates: fallback phrasing used — open relations (13 facts, 3 relations)",
        "no zh verbalization templates: fallback phrasing used — relation 'founded_by' (4 facts)",
        "entity without a name in zh: fact left out of zh text (3×)",
        "no zh verbalization templates: fallback phrasing used — relation 'born_in' (2 facts)",
        "refusals: fewer zh refusals than asked (too few unknowns)",
    ]
    assert warnings.relations() == {"no zh verbalization templates: fallback phrasing used — open relations":
                                    {"访问": 7, "visit": 5, "praise": 1}}


def test_worker_warnings_merge_to_what_one_process_counts():
    def run(units: range, warnings: Warnings) -> Warnings:
        # what every worker does alike (noted) and what each does for its own units (counted)
        warnings.relation("no en question templates: fallback questions used", "visit", 9, open=True)
        warnings.note("refusals: fewer en refusals than asked (too few unknowns)")
        for unit in units:
            warnings.add("qa: group skipped in zh: an entity has no zh name")
            warnings.relation("mc: too few en options: question skipped", f"rel{unit % 3}", 1, open=True,
                              unit="questions", counted=True)
        return warnings

    whole = run(range(10), Warnings())
    merged = Warnings()
    for part in (range(0, 10, 3), range(1, 10, 3), range(2, 10, 3)):
        # workers send their warnings back pickled: the notes and relation issues must survive that
        merged.merge(pickle.loads(pickle.dumps(run(part, Warnings()))))
    assert merged.lines() == whole.lines()
    assert merged.relations() == whole.relations()
    line = "mc: too few en options: question skipped — open relations (10 questions, 3 relations)"
    assert line in whole.lines()


def test_many_open_relations_give_a_few_warning_lines(example_schema, tmp_path):
    people = [{"id": f"p{i}", "name": f"Person Name{i}", "type": "Person", "aliases": [f"人物{i}"]}
              for i in range(12)]
    facts = [{"id": f"f{i}", "subject": f"p{i % 12}", "predicate": predicate, "object": f"p{(i + 1) % 12}",
              "open": True, "source": "extracted", "confidence": 1.0}
             for i, predicate in enumerate([f"verb{i}" for i in range(40)] + [f"动词{i}" for i in range(40)])]
    view = GraphView.from_pylist(entities=people, facts=facts)
    summary = synthesize(view, tmp_path / "ds", SynthOptions(kinds=("cpt", "qa", "tf"), heldout_ratio=0.0),
                         schema=example_schema)
    assert len(summary.warnings) <= 8, summary.warnings
    assert not any("verb1" in line or "动词1" in line for line in summary.warnings)
    left_out = summary.card["warning_relations"]["label not written in zh: facts left out of zh data — open "
                                                 "relations"]
    assert sorted(left_out) == sorted(f"verb{i}" for i in range(40))
    assert "verb1" in (tmp_path / "ds" / "README.md").read_text()
