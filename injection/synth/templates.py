"""Schema templates for statements and questions, with fallbacks for relations that have none.

A relation without templates in a language (every open relation, and schema relations whose
templates were left out) still gets phrased: a neutral fallback is used and counted in
:class:`Warnings`, so the run's summary says how many facts were phrased that way.
"""

from __future__ import annotations

import re
from collections import Counter

from injection.synth.graph import SynthGraph

_PLACEHOLDER = re.compile(r"\{(subject|object|label)\}")

FALLBACK_STATEMENTS: dict[str, list[str]] = {
    "en": ["{subject} {label} {object}.", "{subject} — {label} — {object}.",
           "Fact: {subject} {label} {object}."],
    "zh": ["{subject}{label}{object}。", "{subject}与{object}的关系：{label}。",
           "事实：{subject}{label}{object}。"],
}
FALLBACK_QUESTIONS: dict[str, list[str]] = {
    "en": ["Complete the fact: {subject} {label} …", "Fill in the blank: {subject} {label} ___."],
    "zh": ["补全事实：{subject}{label}……", "填空：{subject}{label}____。"],
}


class Warnings(Counter):
    """Counts of warning messages raised while synthesizing (message -> occurrences)."""

    def add(self, message: str) -> None:
        """Count one occurrence of ``message``."""
        self[message] += 1

    def lines(self) -> list[str]:
        """One line per message with its count, most frequent first."""
        return [f"{message} ({count:,}×)" for message, count in self.most_common()]


def statement_templates(graph: SynthGraph, predicate: str, lang: str,
                        warnings: Warnings | None = None) -> tuple[list[str], str]:
    """Verbalization templates of ``predicate`` in ``lang`` and their family name.

    Returns:
        (templates, family): family is ``verbalization`` for schema templates and
        ``fallback_statement`` for the fallback phrasings.
    """
    rel = graph.schema.relation_types.get(predicate)
    templates = list(rel.verbalizations.get(lang, ())) if rel else []
    if templates:
        return templates, "verbalization"
    if warnings is not None:
        kind = "open relation" if rel is None else "relation"
        warnings.add(f"{kind} {predicate!r} has no {lang} verbalization templates: fallback phrasing used")
    return FALLBACK_STATEMENTS[lang], "fallback_statement"


def question_templates(graph: SynthGraph, predicate: str, lang: str,
                       warnings: Warnings | None = None) -> tuple[list[str], str]:
    """Question templates of ``predicate`` in ``lang`` and their family.

    Returns:
        (templates, family): family is ``question`` or ``fallback_question``.
    """
    rel = graph.schema.relation_types.get(predicate)
    templates = list(rel.questions.get(lang, ())) if rel else []
    if templates:
        return templates, "question"
    if warnings is not None:
        kind = "open relation" if rel is None else "relation"
        warnings.add(f"{kind} {predicate!r} has no {lang} question templates: fallback question used")
    return FALLBACK_QUESTIONS[lang], "fallback_question"


def render(template: str, subject: str, obj: str = "", label: str = "") -> str:
    """Fill a template's ``{subject}``, ``{object}`` and ``{label}`` (names are inserted verbatim)."""
    # one regex pass, not str.format or chained replace: names may contain braces or placeholders
    values = {"subject": subject, "object": obj, "label": label}
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


__all__ = ["FALLBACK_QUESTIONS", "FALLBACK_STATEMENTS", "Warnings", "question_templates", "render",
           "statement_templates"]
