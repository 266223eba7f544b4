"""Schema templates for statements and questions, with fallbacks for relations that have none.

A relation without templates in a language (every open relation, and schema relations whose
templates were left out) still gets phrased: a neutral fallback is used and noted in
:class:`~injection.synth.warns.Warnings`: one line per schema relation (fix the schema), one line
with totals for all open relations. Fallbacks name the relation by its label, so a relation whose
label is in another script is noted as left out of that language instead.
"""

from __future__ import annotations

import re

from injection.synth.graph import SynthGraph, script_lang
from injection.synth.warns import Warnings

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
        _note_fallback(graph, predicate, lang, warnings,
                       f"no {lang} verbalization templates: fallback phrasing used")
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
        _note_fallback(graph, predicate, lang, warnings,
                       f"no {lang} question templates: fallback questions used")
    return FALLBACK_QUESTIONS[lang], "fallback_question"


def _note_fallback(graph: SynthGraph, predicate: str, lang: str, warnings: Warnings, message: str) -> None:
    # every fallback names the relation by its label: a label in another script (an open relation
    # extracted from Chinese text, asked about in English) means its facts are left out instead
    facts, is_open = graph.relation_count[predicate], predicate not in graph.schema.relation_types
    if script_lang(graph.relation_label(predicate, lang)) not in (lang, None):
        message = f"label not written in {lang}: facts left out of {lang} data"
    warnings.relation(message, predicate, facts, open=is_open)


def render(template: str, subject: str, obj: str = "", label: str = "") -> str:
    """Fill a template's ``{subject}``, ``{object}`` and ``{label}`` (names are inserted verbatim)."""
    # one regex pass, not str.format or chained replace: names may contain braces or placeholders
    values = {"subject": subject, "object": obj, "label": label}
    return single_period(_PLACEHOLDER.sub(lambda m: values[m.group(1)], template), subject, obj)


def single_period(text: str, *names: str) -> str:
    """``Apple Inc..`` -> ``Apple Inc.``: a name ending in a period before the template's own period."""
    for name in names:
        if name.endswith(".") and not name.endswith(".."):
            text = text.replace(name + ".", name)
    return text


# Warnings used to live here; kept importable from this module
__all__ = ["FALLBACK_QUESTIONS", "FALLBACK_STATEMENTS", "Warnings", "question_templates", "render",
           "single_period", "statement_templates"]
