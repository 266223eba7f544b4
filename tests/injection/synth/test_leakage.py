"""The written dataset as a whole: nothing evaluation uses leaks into training files.

Checks the files `kg synth` writes (not the generators one by one): evaluation questions and
statements are phrased with templates no training row uses, their text never occurs in training text,
and held-out entities appear in no training row.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from injection.synth.pipeline import SynthOptions, synthesize
from injection.synth.splits import SplitPlan

_PLACEHOLDER = re.compile(r"\{(?:subject|object|label)\}")


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def dataset(example_ws, tmp_path_factory):
    out = tmp_path_factory.mktemp("leakage") / "ds"
    options = SynthOptions(seed=11, eval_ratio=0.2, heldout_ratio=0.1)
    synthesize(example_ws, out, options)
    train = [*_rows(out / "train" / "cpt.jsonl"), *_rows(out / "train" / "sft.jsonl")]
    held = [row for split in ("eval", "heldout") for path in sorted((out / split).glob("*.jsonl"))
            for row in _rows(path)]
    return options, train, held


def _fragments(template: str) -> list[str]:
    """The fixed text between placeholders that is long enough to be telling."""
    return [part.strip() for part in _PLACEHOLDER.split(template) if len(part.strip()) >= 6]


def test_eval_templates_are_never_used_in_training(dataset, example_schema):
    _, train, held = dataset
    eval_templates = {t for row in held for t in row["templates"]}
    train_templates = {t for row in train for t in row["templates"]}
    assert eval_templates, "evaluation rows must say which templates phrased them"
    assert not eval_templates & train_templates
    # and the reserved templates' own wording never occurs in any training text: every fragment of a
    # reserved template that no training template also contains ("Where is" may be in both)
    training_text = "\n".join(row["text"] for row in train)
    allowed = "\n".join(_template(example_schema, t) or "" for t in train_templates)
    checked = 0
    for template_id in eval_templates:
        for fragment in _fragments(_template(example_schema, template_id) or ""):
            if fragment not in allowed:
                checked += 1
                assert fragment not in training_text, f"{template_id}: {fragment!r} occurs in training text"
    assert checked >= 10


def _template(schema, template_id: str) -> str | None:
    family, relation, lang, index = template_id.split(":")
    rel = schema.relation_types.get(relation)
    if rel is None or family not in ("question", "verbalization"):
        return None
    return (rel.questions if family == "question" else rel.verbalizations)[lang][int(index)]


def test_eval_questions_never_occur_in_training_text(dataset):
    _, train, held = dataset
    training_text = "\n".join(row["text"] for row in train)
    questions = {row["instruction"].split("\n")[0] for row in held if row["kind"] in ("qa", "mc")}
    assert questions
    assert not [q for q in questions if q in training_text]


def test_heldout_entities_are_in_no_training_row(dataset, example_graph):
    options, train, held = dataset
    plan = SplitPlan(seed=options.seed, eval_ratio=options.eval_ratio, heldout_ratio=options.heldout_ratio)
    heldout = {eid for eid in example_graph.entities if plan.heldout_entity(eid)}
    assert heldout and any(set(row["entities"]) & heldout for row in held)
    assert not [row for row in train if set(row["entities"]) & heldout]
