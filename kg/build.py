"""`kg build`: corpus -> cleaned documents -> extraction -> resolution -> bundle batch -> stores.

The build is incremental and resumable:

* documents already live in the bundle (same content hash) are skipped;
* documents under the given corpus paths that disappeared (or changed) are retracted by tombstone;
* extraction runs in shards whose outputs survive a kill (see :mod:`extraction.executors`);
* the batch commit is atomic, and stores are re-projected from the bundle when out of date.
"""

from __future__ import annotations

import functools
import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from extraction.analysis import Analyzer
from extraction.clean import HtmlToText, LanguageId, Normalize
from extraction.dedup import ExactDedup, NearDedup
from extraction.executors import LocalExecutor, Shard, iter_analyses
from extraction.filters import BadEncoding, CharRatio, MinLength, Repetition
from extraction.readers import read_corpus
from extraction.resolve import EntityResolver
from extraction.steps import DropLog, Step, run_steps
from kg import model
from kg.bundle import SIGNATURES
from kg.ids import fact_id
from kg.model import Document, Entity
from kg.schema import OPEN_SCHEMA, Schema, load_schema
from kg.workspace import Workspace

Progress = Callable[[str, int, int], None]
"""Progress callback: (stage, completed, total)."""


@dataclass
class BuildReport:
    """What a build did: counts per stage, every dropped document with its reason."""

    batch: str | None = None
    read: int = 0
    unchanged: int = 0
    new: int = 0
    resumed_shards: int = 0
    retracted: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    drops: list[dict] = field(default_factory=list)
    mentions: int = 0
    new_entities: int = 0
    evidence: int = 0
    relations: dict[str, int] = field(default_factory=dict)
    totals: dict[str, int] = field(default_factory=dict)
    stores: dict[str, str] = field(default_factory=dict)
    samples: list[list] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> str:
        """Serialize as indented JSON."""
        return json.dumps(self.__dict__, ensure_ascii=False, indent=2)


class _SkipKnown(Step):
    """Pass through only documents not already live; remember which known ones were seen."""

    name = "unchanged"

    def __init__(self, live: dict[str, str]) -> None:
        self.live = live
        self.seen: set[str] = set()

    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        for doc in docs:
            if doc.id in self.live:
                self.seen.add(doc.id)
            else:
                yield doc


def _chunks(docs: Iterable[Document], size: int) -> Iterator[list[Document]]:
    chunk: list[Document] = []
    for doc in docs:
        chunk.append(doc)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _under(source: str, roots: Sequence[Path]) -> bool:
    path = Path(source.split("#", 1)[0]).resolve()
    return any(path == root or root in path.parents for root in roots)


def load_workspace_schema(ws: Workspace) -> Schema:
    """The workspace's schema, or the open fallback schema when none is configured."""
    path = ws.config.extraction.schema_path
    return load_schema(path) if path else OPEN_SCHEMA


class _BuildRun:
    """One build: extract new documents, commit a batch, sync stores. Keeps the shared state."""

    def __init__(self, ws: Workspace, corpus: Sequence[str | Path], progress: Progress) -> None:
        self.ws = ws
        self.corpus = corpus
        self.progress = progress
        self.cfg = ws.config.extraction
        self.schema = load_workspace_schema(ws)
        self.report = BuildReport()
        self.drops = DropLog()
        self.live = ws.bundle.live_documents()
        self.skip = _SkipKnown(self.live)
        self.plan: list[Document] = []
        self.shards: list[Shard] = []
        self.staging = ws.staging_dir / "shards"
        # earlier batches' MinHash signatures, so a near-copy of a stored document is caught too
        known = [(row["doc_id"], row["source"], np.asarray(row["minhash"], dtype=np.uint64))
                 for row in ws.bundle.live_table("signatures").to_pylist()]
        self.near = NearDedup(threshold=self.cfg.near_duplicate_threshold, known=known)

    def _steps(self) -> list[Step]:
        cfg = self.cfg
        # the skip step sits before the filters: a stored document passed them when it was added
        return [HtmlToText(), Normalize(), self.skip, LanguageId(cfg.languages), MinLength(cfg.min_tokens),
                BadEncoding(), CharRatio(cfg.max_digit_punct_ratio), Repetition(), ExactDedup(), self.near]

    def _shard_stream(self) -> Iterator[Shard]:
        def counted(docs: Iterable[Document]) -> Iterator[Document]:
            for doc in docs:
                self.report.read += 1
                self.progress("clean", self.report.read, 0)
                yield doc

        raw = read_corpus(self.corpus, self.drops, text_field=self.cfg.text_field,
                          max_bytes=self.cfg.max_doc_bytes)
        # cleaning runs here, in the parent, while workers extract the shards already cut
        for chunk in _chunks(run_steps(counted(raw), self._steps(), self.drops), self.cfg.shard_size):
            self.plan.extend(chunk)
            self.shards.append(Shard.make(chunk))
            yield self.shards[-1]

    def extract(self) -> None:
        """Read, clean and extract every new document into staged shard files."""
        cfg = self.cfg
        factory = functools.partial(Analyzer, self.schema, en_model=cfg.en_model,
                                    ner_model=cfg.ner_model or None, zh_ner=cfg.zh_ner or "model",
                                    open_relations=cfg.open_relations)
        done = 0

        def on_done(n: int) -> None:
            nonlocal done
            done += n
            self.progress("extract", done, len(self.plan))

        report = self.report
        report.resumed_shards = LocalExecutor(cfg.workers).run(self._shard_stream(), factory,
                                                               self.staging, on_done)
        report.read += self.drops.counts["read"]
        report.unchanged = len(self.skip.seen)
        report.new = len(self.plan)
        report.dropped = dict(self.drops.counts)
        report.drops = [asdict(d) for d in self.drops.drops]

    def retractions(self) -> list[str]:
        """Live documents under the corpus paths that this run did not see again."""
        roots = [Path(p).resolve() for p in self.corpus]
        sources = {row["id"]: row["source"] for row in
                   self.ws.bundle.live_table("documents").select(["id", "source"]).to_pylist()}
        return sorted(doc_id for doc_id in self.live
                      if doc_id not in self.skip.seen and _under(sources.get(doc_id, ""), roots))

    def commit(self) -> None:
        """Resolve entities and commit one batch (if anything changed), then clear the staging."""
        retract = self.retractions()
        self.report.retracted = len(retract)
        if not self.plan and not retract:
            return
        batch = self.ws.bundle.next_batch_id()
        self.report.batch = batch
        tables = _resolve_batch(self.ws, self.schema, self.shards, self.staging, batch, self.report,
                                self.progress)
        tables["documents"] = pa.Table.from_pylist([
            {"id": d.id, "source": d.source, "lang": d.lang, "text": d.text,
             "title": d.meta.get("title", ""), "meta": json.dumps(d.meta, ensure_ascii=False),
             "batch": batch} for d in self.plan], schema=model.DOCUMENTS)
        tables["tombstones"] = pa.Table.from_pylist(
            [{"doc_id": d, "batch": batch} for d in retract], schema=model.TOMBSTONES)
        tables["signatures"] = pa.Table.from_pylist(
            [{"doc_id": d.id, "minhash": self.near.signatures[d.id].astype(np.uint32).tolist(),
              "source": d.source, "batch": batch} for d in self.plan], schema=SIGNATURES)
        self.ws.bundle.commit(batch, tables)
        _clear_staging(self.staging)

    def sync(self) -> None:
        """Bring stores up to date and fill the report's totals and sample facts."""
        from kg.stats import sample_facts
        from kg.sync import sync_stores

        view = self.ws.bundle.view()  # computed once: stores, totals and samples all read it
        self.report.stores = sync_stores(self.ws, view=view, progress=self.progress)
        self.report.totals = view.counts()
        self.report.samples = [list(row) for row in sample_facts(view, 10)]


def build(ws: Workspace, corpus: Sequence[str | Path], *, progress: Progress | None = None) -> BuildReport:
    """Run an incremental build of ``corpus`` into the open workspace ``ws``.

    Args:
        ws: an opened workspace (its config decides extractors, filters and stores).
        corpus: folders and files; documents under these paths that disappeared are retracted.
        progress: optional callback for progress bars.

    Returns:
        The build report (also written to ``ws/reports``).
    """
    from kg.sync import check_servers

    started = time.perf_counter()
    check_servers(ws)  # a server that is down fails now, not after the extraction work
    ws.lock()
    try:
        ws.bundle.init()
        run = _BuildRun(ws, corpus, progress or (lambda stage, done, total: None))
        run.extract()
        run.commit()
        run.sync()
    finally:
        ws.unlock()
    run.report.seconds = round(time.perf_counter() - started, 3)
    _write_report(ws, run.report)
    return run.report


def _resolve_batch(ws: Workspace, schema: Schema, shards, staging: Path, batch: str,
                   report: BuildReport, progress: Progress) -> dict[str, pa.Table]:
    known = [Entity(id=r["id"], name=r["name"], type=r["type"], aliases=list(r["aliases"] or []),
                    lang=r["lang"], description=r["description"])
             for r in ws.bundle.entity_rows().values()]
    resolver = EntityResolver(schema, known)
    mention_rows: list[dict] = []
    evidence_rows: list[dict] = []
    predicates: Counter = Counter()
    n_docs = sum(len(s.docs) for s in shards)
    for i, (analysis, doc) in enumerate(iter_analyses(staging, shards), start=1):
        resolver.resolve(analysis, doc.text)
        for m in analysis.mentions:
            mention_rows.append({"doc_id": m.doc_id, "sentence": m.sentence, "start": m.start,
                                 "end": m.end, "text": m.text, "type": m.type,
                                 "entity_id": m.entity_id, "extractor": m.extractor,
                                 "confidence": m.confidence, "batch": batch})
        for rel in analysis.relations:
            subj, obj = analysis.mentions[rel.subject], analysis.mentions[rel.object]
            if subj.entity_id == obj.entity_id:
                continue
            start, end = analysis.sentences[subj.sentence]
            predicates[rel.predicate if not rel.open else "(open)"] += 1
            evidence_rows.append({
                "fact_id": fact_id(subj.entity_id, rel.predicate, obj.entity_id),
                "subject": subj.entity_id, "predicate": rel.predicate, "object": obj.entity_id,
                "open": rel.open, "source": "extracted", "doc_id": analysis.doc_id,
                "sentence": subj.sentence, "start": start, "end": end, "text": doc.text[start:end],
                "extractor": rel.extractor, "confidence": rel.confidence, "batch": batch})
        progress("resolve", i, n_docs)
    entities = resolver.changed_entities()
    report.mentions = len(mention_rows)
    report.new_entities = len(entities)
    report.evidence = len(evidence_rows)
    report.relations = dict(predicates.most_common())
    return {
        "mentions": pa.Table.from_pylist(mention_rows, schema=model.MENTIONS),
        "evidence": pa.Table.from_pylist(evidence_rows, schema=model.EVIDENCE),
        "entities": pa.Table.from_pylist(
            [{"id": e.id, "name": e.name, "type": e.type, "aliases": e.aliases, "lang": e.lang,
              "description": e.description, "batch": batch} for e in entities],
            schema=model.ENTITIES),
    }


def _clear_staging(staging: Path) -> None:
    if staging.exists():
        for child in staging.iterdir():
            child.unlink()


def _write_report(ws: Workspace, report: BuildReport) -> None:
    name = report.batch or "nochange"
    (ws.reports_dir / f"build-{name}.json").write_text(report.to_json(), encoding="utf-8")
    (ws.reports_dir / "latest.json").write_text(report.to_json(), encoding="utf-8")
