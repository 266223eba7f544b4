"""GraphView: the live graph as Arrow tables, the one input every store projection consumes."""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from kg import model


@dataclass(frozen=True)
class GraphView:
    """Live tables of a graph (schemas in :mod:`kg.model`).

    Attributes:
        documents: ``model.DOCUMENTS`` rows of live documents.
        entities: ``model.ENTITIES`` rows of live canonical entities.
        facts: ``model.FACTS`` rows, one per live fact.
        evidence: ``model.EVIDENCE`` rows, one per (fact, supporting sentence) from a live document.
        mentions: ``model.MENTIONS`` rows of live documents.
    """

    documents: pa.Table
    entities: pa.Table
    facts: pa.Table
    evidence: pa.Table
    mentions: pa.Table

    @classmethod
    def empty(cls) -> GraphView:
        """Return a view with every table empty."""
        return cls(
            documents=model.DOCUMENTS.empty_table(),
            entities=model.ENTITIES.empty_table(),
            facts=model.FACTS.empty_table(),
            evidence=model.EVIDENCE.empty_table(),
            mentions=model.MENTIONS.empty_table(),
        )

    @classmethod
    def from_pylist(
        cls,
        documents: list[dict] = (),
        entities: list[dict] = (),
        facts: list[dict] = (),
        evidence: list[dict] = (),
        mentions: list[dict] = (),
    ) -> GraphView:
        """Build a view from lists of row dicts (missing columns become nulls); handy in tests."""
        return cls(
            documents=pa.Table.from_pylist(list(documents), schema=model.DOCUMENTS),
            entities=pa.Table.from_pylist(list(entities), schema=model.ENTITIES),
            facts=pa.Table.from_pylist(list(facts), schema=model.FACTS),
            evidence=pa.Table.from_pylist(list(evidence), schema=model.EVIDENCE),
            mentions=pa.Table.from_pylist(list(mentions), schema=model.MENTIONS),
        )

    def counts(self) -> dict[str, int]:
        """Row counts per table."""
        return {
            "documents": self.documents.num_rows, "entities": self.entities.num_rows,
            "facts": self.facts.num_rows, "evidence": self.evidence.num_rows,
            "mentions": self.mentions.num_rows,
        }
