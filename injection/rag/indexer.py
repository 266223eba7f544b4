"""`kg index`: bring the retrieval index up to date with the workspace's bundle.

:func:`build_index` collects the live items (:mod:`injection.rag.items`), groups them into embedding
spaces by language (``[index] models``), and compares each space with the index on disk by item id:

* new items are embedded (vectors come from the cache when the same model embedded the same text
  before) and added; removed ones (a retracted document, a removed ``kg complete`` batch) are
  removed; unchanged ones are not touched, and a run on an unchanged bundle embeds and writes nothing;
* a space is rebuilt when its model changed, when it crosses ``hnsw_threshold`` (exact <-> HNSW),
  when an HNSW space has too many removed entries, or with ``rebuild=True``; vectors then come from
  the cache (or the old index) wherever they can.

The new files are written beside the old ones and the manifest switch is atomic (see
:mod:`injection.rag.index`).
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from injection.rag.cache import VectorCache
from injection.rag.embed import Embedder, ModelRef, resolve_model
from injection.rag.index import (
    INDEX_FORMAT,
    MAX_DELETED_SHARE,
    VectorIndex,
    index_dir,
    read_manifest,
    remove_debris,
    space_slug,
    write_items,
    write_manifest,
)
from injection.rag.items import ITEMS, KINDS, ItemOptions, collect_items
from kg import __version__
from kg.config import IndexSection
from kg.errors import UnknownComponentError, WorkspaceError

Progress = Callable[[str, int, int], None]
"""Progress callback: (stage, completed, total)."""

_CACHE_EVERY = 4096  # texts embedded between cache writes: a killed run keeps its finished batches


@dataclass
class SpaceReport:
    """What happened to one embedding space.

    Attributes:
        name: the model name.
        identity: the model identity.
        type: ``flat`` or ``hnsw``.
        dim: vector dimension.
        langs: languages of its items.
        items: live items after the run.
        added: items added, by kind.
        removed: items removed, by kind.
        unchanged: items kept, by kind.
        embedded: texts run through the model.
        cached: vectors taken from the cache or the previous index instead.
        rebuilt: why the space was rebuilt ("" when it was updated in place or left alone).
    """

    name: str
    identity: str
    type: str
    dim: int
    langs: list[str]
    items: int
    added: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    embedded: int = 0
    cached: int = 0
    rebuilt: str = ""

    @property
    def changed(self) -> bool:
        """Whether the space's files had to be rewritten."""
        return bool(self.rebuilt or sum(self.added.values()) or sum(self.removed.values()))


@dataclass
class IndexReport:
    """What :func:`build_index` did.

    Attributes:
        path: the index folder.
        bundle_version: the bundle version indexed.
        generation: the manifest generation now on disk.
        spaces: per embedding space.
        seconds: wall time.
    """

    path: Path
    bundle_version: int
    generation: int
    spaces: list[SpaceReport]
    seconds: float = 0.0

    def total(self, what: str) -> Counter:
        """Added, removed or unchanged items by kind, over all spaces."""
        total: Counter = Counter()
        for space in self.spaces:
            total.update(getattr(space, what))
        return total

    @property
    def embedded(self) -> int:
        """Texts run through a model, over all spaces."""
        return sum(s.embedded for s in self.spaces)

    @property
    def cached(self) -> int:
        """Vectors reused from the cache or the previous index, over all spaces."""
        return sum(s.cached for s in self.spaces)


def build_index(ws: Any, *, rebuild: bool = False, progress: Progress | None = None,
                config: IndexSection | None = None) -> IndexReport:
    """Create or update the workspace's retrieval index (``ws/index``).

    Args:
        ws: an opened :class:`kg.workspace.Workspace` (the caller holds its lock).
        rebuild: re-create every space (vectors still come from the cache).
        progress: called as ``(stage, done, total)``.
        config: index settings; default ``ws.config.index``.

    Returns:
        An :class:`IndexReport`.

    Raises:
        ConfigError: an embedding model cannot be found or loaded (the message names ``--model``).
        UnknownComponentError: an unknown item kind in ``[index] kinds``.
        WorkspaceError: the bundle holds nothing to index.
    """
    from kg.build import load_workspace_schema

    started = time.perf_counter()
    cfg = config or ws.config.index
    for kind in cfg.kinds:
        if kind not in KINDS:
            raise UnknownComponentError("item kind", kind, list(KINDS))
    step = progress or (lambda stage, done, total: None)
    folder = index_dir(ws)
    folder.mkdir(parents=True, exist_ok=True)
    old = read_manifest(folder)
    remove_debris(folder, old)

    version = ws.bundle.version
    items = collect_items(ws.bundle.view(), load_workspace_schema(ws),
                          ItemOptions(kinds=tuple(cfg.kinds), chunk_tokens=cfg.chunk_tokens), progress=step)
    if items.num_rows == 0:
        raise WorkspaceError(f"the workspace {ws.path} has nothing to index; run `kg build` first")

    by_space: dict[str, list[str]] = defaultdict(list)  # model name -> languages
    for lang in sorted(set(items.column("lang").to_pylist())):
        by_space[cfg.model_for(lang)].append(lang)
    refs = {name: resolve_model(name) for name in by_space}  # a bad model fails before any work

    generation = (old or {}).get("generation", 0) + 1
    spaces_meta: dict[str, dict] = {}
    reports = []
    for name, langs in by_space.items():
        space_items = items.filter(pc.is_in(items["lang"], value_set=pa.array(langs, pa.string())))
        previous = None if old is None else old["spaces"].get(name)
        updater = _SpaceUpdate(folder, name, refs[name], langs, space_items, previous, cfg, step)
        meta, report = updater.run(generation, rebuild=rebuild)
        spaces_meta[name] = meta
        reports.append(report)
    for name, meta in (old or {}).get("spaces", {}).items():
        if name not in by_space:  # no language uses this model any more: its files go with the old manifest
            reports.append(SpaceReport(name, meta["identity"], meta["type"], meta["dim"], meta["langs"], 0,
                                       removed=Counter(meta.get("counts", {})), rebuilt="no longer used"))

    languages = {lang: name for name, langs in by_space.items() for lang in langs}
    languages["*"] = cfg.model
    manifest = {
        "format": INDEX_FORMAT, "generation": generation, "kg_version": __version__,
        "bundle_version": version, "bundle_batches": ws.bundle.batches, "languages": languages,
        "options": {"kinds": list(cfg.kinds), "chunk_tokens": cfg.chunk_tokens,
                    "hnsw_threshold": cfg.hnsw_threshold},
        "spaces": spaces_meta,
    }
    if old is not None and _same(old, manifest):
        generation = old["generation"]  # nothing changed: leave every file as it is
    else:
        write_manifest(folder, manifest)
        remove_debris(folder, manifest)
    for name, ref in refs.items():
        VectorCache(folder / "cache", ref.identity).compact(
            space_items_texts(items, by_space[name]))
    return IndexReport(folder, version, generation, reports, time.perf_counter() - started)


def space_items_texts(items: pa.Table, langs: list[str]) -> list[str]:
    """Texts of the items in ``langs`` (what a space's cache keeps when it is compacted)."""
    return items.filter(pc.is_in(items["lang"], value_set=pa.array(langs, pa.string()))) \
        .column("text").to_pylist()


def _kinds_by_id(items: pa.Table) -> dict[int, str]:
    return dict(zip(items.column("id").to_pylist(), items.column("kind").to_pylist(), strict=True))


def _same(old: dict, new: dict) -> bool:
    """Manifests equal up to the generation number (nothing to write)."""
    return {k: v for k, v in old.items() if k != "generation"} == \
        {k: v for k, v in new.items() if k != "generation"}


class _SpaceUpdate:
    """Brings one embedding space up to date (see the module docstring)."""

    def __init__(self, folder: Path, name: str, ref: ModelRef, langs: list[str], items: pa.Table,
                 previous: dict | None, cfg: IndexSection, progress: Progress) -> None:
        self.folder = folder
        self.name = name
        self.ref = ref
        self.langs = langs
        self.items = items
        self.previous = previous
        self.cfg = cfg
        self.progress = progress
        self.cache = VectorCache(folder / "cache", ref.identity)
        self._embedder: Embedder | None = None
        self.params = {"hnsw_m": cfg.hnsw_m, "ef_construction": cfg.ef_construction,
                       "ef_search": cfg.ef_search}

    def run(self, generation: int, *, rebuild: bool) -> tuple[dict, SpaceReport]:
        """Update the space; returns its manifest entry and report."""
        type_ = "hnsw" if self.items.num_rows >= self.cfg.hnsw_threshold else "flat"
        prev = self.previous
        old_items = self._previous_items()
        report = SpaceReport(self.name, self.ref.identity, type_, prev["dim"] if prev else 0, self.langs,
                             self.items.num_rows)
        current = _kinds_by_id(self.items)
        before = _kinds_by_id(old_items)
        added = [i for i in current if i not in before]
        removed = [i for i in before if i not in current]
        report.added = Counter(current[i] for i in added)
        report.removed = Counter(before[i] for i in removed)
        report.unchanged = Counter(current[i] for i in current if i in before)

        old_index = self._previous_index()
        report.rebuilt = self._rebuild_reason(rebuild, type_, old_index, len(removed))
        if not report.rebuilt and not added and not removed:
            return dict(prev, params=self.params, langs=self.langs), report
        if report.rebuilt:
            ids = self.items.column("id").to_numpy()
            texts = self.items.column("text").to_pylist()
            reuse = old_index if (prev and prev["identity"] == self.ref.identity) else None
            vectors = self._vectors(ids, texts, report, reuse)
            index = VectorIndex.create(vectors.shape[1], type_, hnsw_m=self.cfg.hnsw_m,
                                       ef_construction=self.cfg.ef_construction, ef_search=self.cfg.ef_search)
        else:
            index = old_index
            index.ef_search = self.cfg.ef_search
            index.remove(removed)
            new = self.items.filter(pc.is_in(self.items["id"], value_set=pa.array(added, pa.int64())))
            ids = new.column("id").to_numpy()
            vectors = self._vectors(ids, new.column("text").to_pylist(), report, index)
        index.add(ids, vectors, progress=lambda done, total: self.progress(f"add {self.name}", done, total))
        report.dim = int(index.index.d)

        slug = f"{space_slug(self.name)}-g{generation:06d}"
        meta = {"model": self.name, "identity": self.ref.identity, "dim": report.dim, "type": type_,
                "params": self.params, "langs": self.langs, "items": self.items.num_rows,
                "ntotal": index.ntotal, "index_file": f"{slug}.faiss", "items_file": f"{slug}.items.parquet",
                "deleted_file": f"{slug}.deleted.npy" if type_ == "hnsw" else None,
                "counts": dict(sorted(Counter(self.items.column("kind").to_pylist()).items()))}
        write_items(self.folder / meta["items_file"], self.items)
        index.save(self.folder / meta["index_file"],
                   self.folder / meta["deleted_file"] if meta["deleted_file"] else None)
        return meta, report

    def _previous_items(self) -> pa.Table:
        if self.previous is None:
            return ITEMS.empty_table()
        try:
            return pq.read_table(self.folder / self.previous["items_file"], columns=["id", "kind"])
        except OSError:
            return ITEMS.empty_table()  # unreadable: every item counts as new

    def _previous_index(self) -> VectorIndex | None:
        prev = self.previous
        if prev is None or prev["identity"] != self.ref.identity:
            return None
        deleted = self.folder / prev["deleted_file"] if prev.get("deleted_file") else None
        try:
            return VectorIndex.load(self.folder / prev["index_file"], prev["type"], deleted,
                                    ef_search=self.cfg.ef_search)
        except (OSError, RuntimeError, ValueError):
            return None  # unreadable: rebuilt below from the cache

    def _rebuild_reason(self, rebuild: bool, type_: str, old_index: VectorIndex | None, removed: int) -> str:
        prev = self.previous
        if rebuild:
            return "--rebuild"
        if prev is None:
            return "new"
        if prev["identity"] != self.ref.identity:
            return f"model changed ({prev['identity']} -> {self.ref.identity})"
        if old_index is None:
            return "previous index unreadable"
        if prev["type"] != type_:
            return (f"{prev['type']} -> {type_} ({self.items.num_rows} items, "
                    f"threshold {self.cfg.hnsw_threshold})")
        if type_ == "hnsw" and {k: prev["params"].get(k) for k in ("hnsw_m", "ef_construction")} != \
                {k: self.params[k] for k in ("hnsw_m", "ef_construction")}:
            return "HNSW parameters changed"
        stale = len(old_index.deleted) + removed
        if type_ == "hnsw" and stale > MAX_DELETED_SHARE * max(old_index.ntotal, 1):
            return f"more than {MAX_DELETED_SHARE:.0%} of the HNSW entries removed"
        return ""

    def _vectors(self, ids: np.ndarray, texts: list[str], report: SpaceReport,
                 reuse: VectorIndex | None) -> np.ndarray:
        """Vectors of ``texts``: from the cache, else the previous index, else the model."""
        dim = report.dim or None
        out: list[np.ndarray | None] = [None] * len(texts)
        found, cached = self.cache.get(texts)
        for i, vector in zip(np.flatnonzero(found).tolist(), cached, strict=True):
            out[i] = vector
        if reuse is not None:
            missing = [i for i, v in enumerate(out) if v is None]
            stored = reuse.reconstruct(int(ids[i]) for i in missing)
            if stored:
                self.cache.put([texts[i] for i in missing if int(ids[i]) in stored],
                               np.stack([stored[int(ids[i])] for i in missing if int(ids[i]) in stored]))
            for i in missing:
                out[i] = stored.get(int(ids[i]))
        todo = [i for i, v in enumerate(out) if v is None]
        report.cached = len(texts) - len(todo)
        for start in range(0, len(todo), _CACHE_EVERY):
            part = todo[start:start + _CACHE_EVERY]
            vectors = self._embed([texts[i] for i in part], done=start, total=len(todo))
            self.cache.put([texts[i] for i in part], vectors)
            for i, vector in zip(part, vectors, strict=True):
                out[i] = vector
        report.embedded = len(todo)
        if not out:
            return np.zeros((0, dim or self._load().dim), dtype=np.float32)
        return np.stack(out).astype(np.float32, copy=False)

    def _load(self) -> Embedder:
        if self._embedder is None:
            self._embedder = self.ref.load()
        return self._embedder

    def _embed(self, texts: list[str], *, done: int, total: int) -> np.ndarray:
        embedder = self._load()
        batch = self.cfg.batch_size
        parts = []
        for start in range(0, len(texts), batch):
            parts.append(embedder.embed(texts[start:start + batch], batch_size=batch))
            self.progress(f"embed {self.name}", done + min(start + batch, len(texts)), total)
        return np.concatenate(parts)


__all__ = ["IndexReport", "SpaceReport", "build_index"]
