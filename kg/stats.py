"""Summaries of a workspace's live graph for `kg stats` and the build summary."""

from __future__ import annotations

from collections import Counter

import pyarrow.compute as pc

from kg.graph import GraphView
from kg.workspace import Workspace


def _value_counts(column) -> dict[str, int]:
    return {str(item["values"]): int(item["counts"])
            for item in sorted(pc.value_counts(column).to_pylist(), key=lambda r: -r["counts"])}


def workspace_stats(ws: Workspace) -> dict:
    """Counts by table, language, entity type and predicate, plus batches and store state."""
    view = ws.bundle.view()
    facts = view.facts
    open_count = int(pc.sum(facts["open"]).as_py() or 0) if facts.num_rows else 0
    predicates = Counter(facts["predicate"].to_pylist()) if facts.num_rows else Counter()
    return {
        "totals": view.counts(),
        "documents by language": _value_counts(view.documents["lang"]) if view.documents.num_rows else {},
        "entities by type": _value_counts(view.entities["type"]) if view.entities.num_rows else {},
        "facts by kind": {"schema": facts.num_rows - open_count, "open": open_count},
        "top predicates": dict(predicates.most_common(20)),
        "batches": len(ws.bundle.batches),
        "bundle version": ws.bundle.version,
        "stores": {kind: _sync_state(ws, kind) for kind in ("graph", "rdf") if getattr(ws.config.stores, kind)},
    }


def _sync_state(ws: Workspace, kind: str) -> str:
    from kg.sync import store_target

    return "in sync" if ws.synced_version(kind, store_target(ws, kind)) == ws.bundle.version else "out of date"


def sample_facts(view: GraphView, limit: int = 10) -> list[tuple[str, str, str, float]]:
    """The best-supported schema facts (open ones only if needed), as names."""
    if view.facts.num_rows == 0:
        return []
    names = dict(zip(view.entities["id"].to_pylist(), view.entities["name"].to_pylist()))
    rows = view.facts.to_pylist()
    rows.sort(key=lambda r: (r["open"], -r["evidence_count"], -r["confidence"], r["id"]))
    return [(names.get(r["subject"], r["subject"]), r["predicate"], names.get(r["object"], r["object"]),
             r["confidence"]) for r in rows[:limit]]
