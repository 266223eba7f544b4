"""Leak-free splits: which facts and entities are trained on, and which templates only evaluation uses.

* Held-out entities (``heldout_ratio``) and every fact touching them appear in no training record.
* Among the other facts, whole (subject, relation) groups go to ``eval`` (``eval_ratio``): their text
  is in the pretraining corpus, their questions are not, so the eval split measures whether the model
  learned the fact from text.
* For every relation and language, one question template and one verbalization template are reserved
  for evaluation: training text never uses them, so eval questions and statements test knowledge, not
  string memory. A relation with a single question template gets no training questions (warned).

Assignments hash (seed, id): stable across runs, machines and graph growth.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from injection.synth.graph import Fact, SynthGraph


def unit_hash(seed: int, *parts: str) -> float:
    """A deterministic number in [0, 1) from ``seed`` and ``parts``."""
    digest = hashlib.sha1("\x1f".join((str(seed), *parts)).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


@dataclass(frozen=True)
class SplitPlan:
    """Split assignment for one synthesis run.

    Args:
        seed: the run's seed.
        eval_ratio: share of (subject, relation) groups whose questions are evaluation-only.
        heldout_ratio: share of entities held out of training entirely.
    """

    seed: int = 0
    eval_ratio: float = 0.1
    heldout_ratio: float = 0.05
    # every worker process asks about every entity of a million-fact graph: hash each once
    _heldout: dict[str, bool] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("eval_ratio", "heldout_ratio"):
            value = getattr(self, name)
            if not 0.0 <= value < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {value}")

    def heldout_entity(self, entity_id: str) -> bool:
        """Whether the entity is kept out of every training record."""
        held = self._heldout.get(entity_id)
        if held is None:
            held = self._heldout[entity_id] = unit_hash(self.seed, "heldout", entity_id) < self.heldout_ratio
        return held

    def fact_split(self, fact: Fact) -> str:
        """``heldout`` if it touches a held-out entity, else ``eval``/``train`` by its (subject, relation)."""
        if self.heldout_entity(fact.subject) or self.heldout_entity(fact.object):
            return "heldout"
        return self.pair_split(fact.subject, fact.predicate)

    def pair_split(self, subject: str, predicate: str) -> str:
        """``eval`` or ``train`` for a (subject, relation) question group."""
        return "eval" if unit_hash(self.seed, "eval", subject, predicate) < self.eval_ratio else "train"

    def templates(self, templates: list[str], relation: str, lang: str, split: str,
                  family: str) -> list[tuple[int, str]]:
        """The (index, template) pairs of ``templates`` that ``split`` may use.

        One template per (family, relation, language) is reserved for ``eval``/``heldout``; ``train``
        gets the rest. With a single template, only evaluation gets it.
        """
        if not templates:
            return []
        reserved = min(range(len(templates)),
                       key=lambda i: unit_hash(self.seed, family, relation, lang, templates[i]))
        if split == "train":
            return [(i, t) for i, t in enumerate(templates) if i != reserved]
        return [(reserved, templates[reserved])]

    def training_facts(self, graph: SynthGraph) -> list[Fact]:
        """Facts whose statements may appear in training text (train and eval splits)."""
        held = self.heldout_entity
        return [f for f in graph.facts if not (held(f.subject) or held(f.object))]


__all__ = ["SplitPlan", "unit_hash"]
