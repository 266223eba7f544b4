"""Context: what every generator receives (graph, split plan, languages, seed, warnings)."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from injection.synth.graph import LANGS, SynthGraph
from injection.synth.splits import SplitPlan
from injection.synth.templates import Warnings


@dataclass
class Context:
    """Shared inputs of one synthesis run.

    Attributes:
        graph: the indexed live graph.
        plan: the split plan (held-out entities, eval groups, reserved templates).
        langs: languages to write, in order.
        seed: the run's seed; generators derive their own :class:`random.Random` from it.
        warnings: counted warnings for the run's summary.
    """

    graph: SynthGraph
    plan: SplitPlan
    langs: tuple[str, ...] = LANGS
    seed: int = 0
    warnings: Warnings = field(default_factory=Warnings)

    def rng(self, purpose: str) -> random.Random:
        """A generator-private random stream: the same seed and purpose give the same sequence."""
        return random.Random(f"{self.seed}:{purpose}")


__all__ = ["Context"]
