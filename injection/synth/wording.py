"""How each language words factuality data: answer lists, prompts, refusals, and which names fit it.

The only place with per-language phrasing of questions and answers; the templates themselves come from
the schema (:mod:`injection.synth.templates`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from injection.synth.graph import SynthGraph, script_lang
from kg.errors import ConfigError


@dataclass(frozen=True)
class Wording:
    """How one language joins answers and words prompts: the only place with per-language phrasing.

    Attributes:
        list_sep: separator between all but the last two names of a list.
        last_sep: separator before the last name ("A, B and C" / "A、B和C").
        true_false: true/false prompt; ``{statement}`` is the statement.
        true: answer to a true statement.
        false: answer to a false statement.
        choose: instruction after the lettered options of a multiple-choice question.
        refusals: answers to a question the graph does not support.
        unknown_entity: extra refusals for an entity that does not exist (``{subject}`` is its name).
    """

    list_sep: str
    last_sep: str
    true_false: str
    true: str
    false: str
    choose: str
    refusals: tuple[str, ...]
    unknown_entity: tuple[str, ...]

    def unknown_entity_refusals(self, name: str) -> tuple[str, ...]:
        """The :attr:`unknown_entity` refusals about ``name``."""
        return tuple(v.replace("{subject}", name) for v in self.unknown_entity)

    def join(self, names: Sequence[str]) -> str:
        """Names as one natural list: ``A``, ``A and B``, ``A, B and C``."""
        if len(names) <= 1:
            return "".join(names)
        return self.list_sep.join(names[:-1]) + self.last_sep + names[-1]


WORDING: dict[str, Wording] = {
    "en": Wording(
        list_sep=", ", last_sep=" and ", true_false="True or false: {statement}", true="True", false="False",
        choose="Answer with the letter of the correct option.",
        refusals=("I don't know. That is not in my knowledge.",
                  "I'm not sure. I have no knowledge of that.",
                  "I don't know the answer to that; it is not something I have knowledge of."),
        unknown_entity=("I don't know anything about {subject}. It is not in my knowledge.",)),
    "zh": Wording(
        list_sep="、", last_sep="和", true_false="判断对错：{statement}", true="对", false="错",
        choose="请回答正确选项的字母。",
        refusals=("我不知道，这不在我的知识范围内。", "我不清楚，我没有这方面的知识。",
                  "抱歉，我不知道这个问题的答案。"),
        unknown_entity=("我不了解{subject}，这不在我的知识范围内。",)),
}


def wording(lang: str) -> Wording:
    """The :class:`Wording` of ``lang``; raises :class:`ConfigError` for a language without one."""
    if lang not in WORDING:
        raise ConfigError(f"no factuality wording for language {lang!r}; use one of {sorted(WORDING)}")
    return WORDING[lang]


def normalize(name: str) -> str:
    """Name key for duplicate checks: case-folded, without spaces and punctuation."""
    return re.sub(r"[\W_]+", "", name.casefold())


def fits_lang(text: str, lang: str) -> bool:
    """English text must hold no Han character; Chinese text must hold one."""
    return (script_lang(text) == "zh") == (lang == "zh")


def label_for(graph: SynthGraph, predicate: str, lang: str, template: str) -> str | None:
    """The relation label a template needs ("" when it has no ``{label}``), None if not in ``lang``'s script.

    Open relations are labelled by their predicate, which is in the language it was extracted from,
    so an English predicate cannot be asked about in Chinese and vice versa.
    """
    if "{label}" not in template:
        return ""
    label = graph.relation_label(predicate, lang)
    return label if fits_lang(label, lang) else None


__all__ = ["WORDING", "Wording", "fits_lang", "label_for", "normalize", "wording"]
