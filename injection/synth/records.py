"""Record: one synthesized example, with the facts it was made from.

Every generator yields :class:`Record` objects; the writers turn them into pretraining text
(``text``), chat messages (``messages``) and alpaca rows (``instruction``/``input``/``output``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Kind = Literal["cpt", "qa", "tf", "mc", "refusal"]
Split = Literal["train", "eval", "heldout"]

KINDS: tuple[str, ...] = ("cpt", "qa", "tf", "mc", "refusal")
"""Every kind ``kg synth --kinds`` accepts: continual-pretraining text, open QA, true/false,
multiple choice, refusals."""

SPLITS: tuple[str, ...] = ("train", "eval", "heldout")
"""``train``: training material. ``eval``: questions about facts whose text is in training but whose
questions are not (held-out question/statement templates). ``heldout``: questions about entities that
appear in no training record at all (a control: accuracy there must not rise with training)."""


@dataclass
class Record:
    """One synthesized example.

    Attributes:
        kind: one of :data:`KINDS`.
        lang: ``"en"`` or ``"zh"``.
        split: one of :data:`SPLITS`.
        style: sub-kind: for ``cpt`` ``fact``/``article``/``path``/``paraphrase``; for questions the
            question form (``open``, ``statement``, ``choice``, ``unknown_entity``, ``unknown_relation``...).
        text: pretraining text (``cpt``); for question kinds the prompt and answer as one text.
        prompt: the question shown to the model (question kinds).
        answer: the expected answer (question kinds).
        options: the choices of a multiple-choice question, in presentation order.
        label: truth of a true/false statement.
        facts: ids of the facts the record states or asks about (provenance).
        entities: ids of the entities it mentions.
        templates: ids of the templates used (``verbalization:REL:LANG:I`` / ``question:REL:LANG:I``).
        meta: anything else a generator wants to keep (hops, paraphrase model, ...).
    """

    kind: str
    lang: str
    split: str = "train"
    style: str = ""
    text: str = ""
    prompt: str = ""
    answer: str = ""
    options: list[str] = field(default_factory=list)
    label: bool | None = None
    facts: list[str] = field(default_factory=list)
    entities: list[str] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind != "cpt" and not self.text and self.prompt:
            self.text = f"{self.prompt}\n{self.answer}"

    @property
    def is_question(self) -> bool:
        """True for the kinds that have a prompt and an answer."""
        return self.kind != "cpt"

    def messages(self) -> list[dict[str, str]]:
        """Chat form: one user turn (the prompt) and one assistant turn (the answer)."""
        return [{"role": "user", "content": self.prompt}, {"role": "assistant", "content": self.answer}]

    def alpaca(self) -> dict[str, str]:
        """Alpaca form: the prompt as ``instruction``, empty ``input``, the answer as ``output``."""
        return {"instruction": self.prompt, "input": "", "output": self.answer}

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (for writers)."""
        return asdict(self)


def template_id(family: str, relation: str, lang: str, index: int) -> str:
    """Stable id of a schema template, e.g. ``question:founded_by:en:2``."""
    return f"{family}:{relation}:{lang}:{index}"


__all__ = ["KINDS", "SPLITS", "Kind", "Record", "Split", "template_id"]
