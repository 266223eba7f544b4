"""The Parquet bundle: the single source of truth of a workspace.

Layout::

    bundle/manifest.json           {"format": 1, "version": N, "batches": ["b000001", ...]}
    bundle/batches/b000001/<table>.parquet   documents, mentions, entities, evidence, tombstones,
                                             signatures

A batch is written to ``<id>.tmp`` and renamed, then the manifest is replaced atomically, so a
killed build leaves either the old or the new bundle, never half of one. A batch directory that the
manifest does not list is debris of a killed commit and is removed on open.

Liveness: a document is live if its last event (added in a batch, or tombstoned in a later one) is
an add; its mentions and evidence count only from the batch that added it last. A fact is live while
some live evidence supports it. Evidence without a document (an inferred fact) is live unless its
batch was retracted (``retractions``) and as long as no document supports the same fact: a fact read
from text is extracted, whatever a model proposed. Plausibility scores (``scores``) count from live
batches, the latest per fact. Entities are merged across batches by id (aliases unioned) and are live
while a live mention or fact refers to them.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from kg import WORKSPACE_FORMAT, model
from kg.errors import WorkspaceError
from kg.graph import GraphView

SIGNATURES = pa.schema([("doc_id", pa.string()), ("minhash", pa.list_(pa.uint32())),
                        ("source", pa.string()), ("batch", pa.string())])
BATCH_TABLES: dict[str, pa.Schema] = {**model.TABLES, "signatures": SIGNATURES}


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class Bundle:
    """Reads and commits batches of a bundle folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.manifest_path = self.root / "manifest.json"
        self.batches_dir = self.root / "batches"

    # --- manifest ----------------------------------------------------------------------------------
    def init(self) -> None:
        """Create an empty bundle if none exists, and remove debris of a killed commit."""
        self.batches_dir.mkdir(parents=True, exist_ok=True)
        if not self.manifest_path.exists():
            _atomic_write_text(self.manifest_path, json.dumps(
                {"format": WORKSPACE_FORMAT, "version": 0, "batches": []}))
        listed = set(self.manifest["batches"])
        for child in self.batches_dir.iterdir():
            if child.name not in listed:
                shutil.rmtree(child, ignore_errors=True)

    @cached_property
    def manifest(self) -> dict:
        """The parsed manifest (cached; commit refreshes it)."""
        try:
            data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise WorkspaceError(f"no bundle at {self.root}; run `kg build` first") from None
        if data.get("format", 0) > WORKSPACE_FORMAT:
            raise WorkspaceError(
                f"bundle {self.root} was written by a newer kg (format {data['format']} > "
                f"{WORKSPACE_FORMAT}); upgrade kg (pip install -U kg) to use it")
        return data

    @property
    def version(self) -> int:
        """Monotonic version, bumped by every commit."""
        return int(self.manifest["version"])

    @property
    def batches(self) -> list[str]:
        """Committed batch ids in order."""
        return list(self.manifest["batches"])

    def next_batch_id(self) -> str:
        """Deterministic id of the next batch."""
        return f"b{len(self.batches) + 1:06d}"

    def commit(self, batch_id: str, tables: dict[str, pa.Table]) -> None:
        """Write one batch atomically and append it to the manifest.

        Args:
            batch_id: id from :meth:`next_batch_id`.
            tables: table name -> Arrow table with the schema of :data:`BATCH_TABLES`.
        """
        tmp = self.batches_dir / f"{batch_id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        for name, schema in BATCH_TABLES.items():
            table = tables.get(name, schema.empty_table()).cast(schema)
            pq.write_table(table, tmp / f"{name}.parquet")
        final = self.batches_dir / batch_id
        shutil.rmtree(final, ignore_errors=True)
        tmp.rename(final)
        manifest = dict(self.manifest)
        manifest["batches"] = [*self.batches, batch_id]
        manifest["version"] = self.version + 1
        _atomic_write_text(self.manifest_path, json.dumps(manifest))
        self.__dict__.pop("manifest", None)
        self.__dict__.pop("_live_docs", None)

    # --- reading -----------------------------------------------------------------------------------
    def read(self, name: str) -> pa.Table:
        """Concatenate one table over all committed batches (in batch order)."""
        schema = BATCH_TABLES[name]
        parts = [pq.read_table(self.batches_dir / b / f"{name}.parquet", schema=schema)
                 for b in self.batches if (self.batches_dir / b / f"{name}.parquet").exists()]
        return pa.concat_tables(parts) if parts else schema.empty_table()

    @cached_property
    def _live_docs(self) -> dict[str, str]:
        """Live document id -> batch that added it last."""
        live: dict[str, str] = {}
        for batch in self.batches:
            folder = self.batches_dir / batch
            for doc_id in pq.read_table(folder / "tombstones.parquet", columns=["doc_id"]).column(0) \
                    .to_pylist():
                live.pop(doc_id, None)
            for doc_id in pq.read_table(folder / "documents.parquet", columns=["id"]).column(0) \
                    .to_pylist():
                live[doc_id] = batch
        return live

    def live_documents(self) -> dict[str, str]:
        """Live document id -> batch."""
        return dict(self._live_docs)

    def _live_rows(self, table: pa.Table, doc_column: str) -> pa.Table:
        if table.num_rows == 0:
            return table
        live = self._live_docs
        keys = pc.binary_join_element_wise(table[doc_column], table["batch"], "\x1f")
        wanted = pa.array([f"{d}\x1f{b}" for d, b in live.items()], pa.string())
        mask = pc.is_in(keys, value_set=wanted)
        if table.schema is model.EVIDENCE or table.schema.equals(model.EVIDENCE):
            # inferred facts cite no document and stay; extracted and imported ones live with theirs
            mask = pc.or_(mask, pc.is_null(table["doc_id"]))
        return table.filter(mask)

    def live_table(self, name: str) -> pa.Table:
        """A table restricted to live documents (documents, mentions, evidence, signatures)."""
        return self._live_rows(self.read(name), "id" if name == "documents" else "doc_id")

    def entity_rows(self) -> dict[str, dict]:
        """All entities merged across batches by id: later rows win, aliases are unioned."""
        merged: dict[str, dict] = {}
        for row in self.read("entities").to_pylist():
            previous = merged.get(row["id"])
            if previous is not None:
                aliases = list(dict.fromkeys([*previous["aliases"], *(row["aliases"] or [])]))
                row = {**row, "aliases": aliases}
            merged[row["id"]] = row
        return merged

    def retracted_batches(self) -> set[str]:
        """Ids of batches withdrawn as a whole (their inferred facts and scores no longer count)."""
        return set(self.read("retractions").column("retracted").to_pylist())

    def view(self) -> GraphView:
        """The live graph: what every store projection loads.

        Its ``evidence`` holds document evidence only; inferred facts appear in ``facts`` (with
        ``evidence_count`` 0), not as evidence.
        """
        documents = self.live_table("documents")
        mentions = self.live_table("mentions")
        evidence = self.live_table("evidence")
        retracted = pa.array(sorted(self.retracted_batches()), pa.string())
        by_document = pc.is_valid(evidence["doc_id"])
        inferred = evidence.filter(pc.and_(pc.invert(by_document),
                                           pc.invert(pc.is_in(evidence["batch"], value_set=retracted))))
        evidence = evidence.filter(by_document)
        scores = self.read("scores")
        scores = scores.filter(pc.invert(pc.is_in(scores["batch"], value_set=retracted)))
        facts = merge_facts(aggregate_facts(evidence), inferred, scores)
        used = set(mentions["entity_id"].to_pylist()) | set(facts["subject"].to_pylist()) | \
            set(facts["object"].to_pylist())
        entities = [row for eid, row in sorted(self.entity_rows().items()) if eid in used]
        return GraphView(documents=documents,
                         entities=pa.Table.from_pylist(entities, schema=model.ENTITIES),
                         facts=facts, evidence=evidence, mentions=mentions)


def inferred_tables(batch: str, model_name: str, proposals: Iterable[Mapping], scores: Mapping[str, float],
                    retracted: Iterable[str] = ()) -> dict[str, pa.Table]:
    """Bundle tables of one link-prediction batch (see :mod:`kg.model` for how they are read).

    Args:
        batch: the batch id.
        model_name: ``name@version`` of the model, recorded on every row.
        proposals: inferred facts: dicts with ``subject``, ``predicate``, ``object`` (entity ids /
            relation), ``open`` and ``score`` (calibrated probability).
        scores: fact id -> plausibility of existing facts.
        retracted: earlier batches this one withdraws.
    """
    from kg.ids import fact_id

    evidence = [{"fact_id": fact_id(p["subject"], p["predicate"], p["object"]), "subject": p["subject"],
                 "predicate": p["predicate"], "object": p["object"], "open": bool(p.get("open")),
                 "source": "inferred", "extractor": model_name, "confidence": round(float(p["score"]), 6),
                 "batch": batch} for p in proposals]
    return {
        "evidence": pa.Table.from_pylist(evidence, schema=model.EVIDENCE),
        "scores": pa.table({"fact_id": pa.array(list(scores), pa.string()),
                            "plausibility": pa.array([round(float(v), 6) for v in scores.values()], pa.float64()),
                            "model": pa.array([model_name] * len(scores), pa.string()),
                            "batch": pa.array([batch] * len(scores), pa.string())}, schema=model.SCORES),
        "retractions": pa.Table.from_pylist([{"retracted": b, "batch": batch} for b in retracted],
                                            schema=model.RETRACTIONS),
    }


def _latest(table: pa.Table, key: str) -> pa.Table:
    """The last row per ``key`` in batch order (batch ids sort in commit order)."""
    if table.num_rows == 0:
        return table
    order = pc.sort_indices(table, sort_keys=[(key, "ascending"), ("batch", "descending")])
    table = table.take(order)
    keys = table[key].to_pylist()
    first = [i for i, k in enumerate(keys) if i == 0 or keys[i - 1] != k]
    return table.take(pa.array(first, pa.int64()))


def merge_facts(facts: pa.Table, inferred: pa.Table, scores: pa.Table) -> pa.Table:
    """Facts read from documents, plus inferred facts no document supports, with their scores.

    Args:
        facts: :func:`aggregate_facts` of document evidence.
        inferred: live evidence rows without a document (``extractor`` is the model, ``confidence``
            its calibrated score); the latest row per fact counts.
        scores: live ``scores`` rows; the latest per fact gives ``plausibility`` and ``model``.
    """
    inferred = _latest(inferred, "fact_id")
    inferred = inferred.filter(pc.invert(pc.is_in(inferred["fact_id"], value_set=facts["id"])))
    if inferred.num_rows:
        is_model = pc.equal(inferred["source"], "inferred")
        facts = pa.concat_tables([facts, pa.table({
            "id": inferred["fact_id"], "subject": inferred["subject"], "predicate": inferred["predicate"],
            "object": inferred["object"], "open": inferred["open"], "source": inferred["source"],
            "confidence": inferred["confidence"],
            "evidence_count": pa.array([0] * inferred.num_rows, pa.int64()), "batch": inferred["batch"],
            # a model's proposal carries its score; other evidence without a document is not scored
            "plausibility": pc.if_else(is_model, inferred["confidence"], pa.scalar(None, pa.float64())),
            "model": pc.if_else(is_model, inferred["extractor"], pa.scalar(None, pa.string())),
        }, schema=model.FACTS)]).sort_by("id")
    scores = _latest(scores, "fact_id")
    if scores.num_rows == 0 or facts.num_rows == 0:
        return facts
    # a scored fact takes the score; an inferred one keeps its own unless rescored later
    index = pc.index_in(facts["id"], value_set=scores["fact_id"])
    scored = pc.is_valid(index)
    for column in ("plausibility", "model"):
        values = pc.if_else(scored, scores[column].take(index), facts[column])
        facts = facts.set_column(facts.schema.get_field_index(column), column, values)
    return facts


def aggregate_facts(evidence: pa.Table) -> pa.Table:
    """One row per fact id; confidence is the noisy-or of its evidence confidences.

    Noisy-or (1 - prod(1 - c)) lets independent sentences reinforce a fact without exceeding 1.
    """
    if evidence.num_rows == 0:
        return model.FACTS.empty_table()
    clipped = pc.min_element_wise(evidence["confidence"], pa.scalar(0.999))
    log_miss = pc.ln(pc.subtract(pa.scalar(1.0), clipped))
    table = evidence.append_column("log_miss", log_miss)
    grouped = table.group_by(["fact_id"], use_threads=False).aggregate([
        ("subject", "first"), ("predicate", "first"), ("object", "first"), ("open", "first"),
        ("source", "first"), ("log_miss", "sum"), ("fact_id", "count"), ("batch", "min"),
    ])
    confidence = pc.subtract(pa.scalar(1.0), pc.exp(grouped["log_miss_sum"]))
    nulls = pa.nulls(grouped.num_rows)
    facts = pa.table({
        "id": grouped["fact_id"], "subject": grouped["subject_first"],
        "predicate": grouped["predicate_first"], "object": grouped["object_first"],
        "open": grouped["open_first"], "source": grouped["source_first"],
        "confidence": pc.round(confidence, 6), "evidence_count": grouped["fact_id_count"],
        "batch": grouped["batch_min"], "plausibility": nulls.cast(pa.float64()), "model": nulls.cast(pa.string()),
    }, schema=model.FACTS)
    return facts.sort_by("id")
