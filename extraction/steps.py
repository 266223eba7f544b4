"""The one step contract of extraction: a step takes an iterator of documents and yields documents.

Filters only answer keep, or drop with a reason; the base class counts and records every drop in a
:class:`DropLog` so the build report can list each dropped document with its reason.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from kg.model import Document


@dataclass(slots=True)
class Drop:
    """A document (or unreadable input) that was dropped, and why."""

    source: str
    step: str
    reason: str
    doc_id: str = ""


@dataclass
class DropLog:
    """Collects drops from every step; ``counts`` is per step name."""

    drops: list[Drop] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    def add(self, source: str, step: str, reason: str, doc_id: str = "") -> None:
        """Record one drop."""
        self.drops.append(Drop(source, step, reason, doc_id))
        self.counts[step] += 1


class Step(ABC):
    """A corpus processing step."""

    name: str = "step"

    @abstractmethod
    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        """Process documents lazily, recording drops in ``drops``."""


class Filter(Step):
    """A step that keeps or drops documents; subclasses implement :meth:`check` only."""

    @abstractmethod
    def check(self, doc: Document) -> str | None:
        """Return None to keep the document, or a human-readable drop reason."""

    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        for doc in docs:
            reason = self.check(doc)
            if reason is None:
                yield doc
            else:
                drops.add(doc.source, self.name, reason, doc.id)


def run_steps(docs: Iterable[Document], steps: list[Step], drops: DropLog) -> Iterator[Document]:
    """Chain steps lazily over ``docs``."""
    stream: Iterable[Document] = docs
    for step in steps:
        stream = step(stream, drops)
    return iter(stream)
