"""The retrieval index on disk: faiss indexes over item vectors, their items, and a manifest.

Layout (``ws/index/``)::

    manifest.json                      which files make up the index, the bundle version it was built
                                       from, and per embedding space its model, dimension and type
    <space>-g000003.faiss              one faiss index per embedding space (items sharing a model)
    <space>-g000003.items.parquet      the items of that space (:data:`injection.rag.items.ITEMS`),
                                       sorted by id: faiss id -> kind, key, text, lang, batch, source
    <space>-g000003.deleted.npy        HNSW only: ids removed since the last rebuild
    cache/                             vectors by (model, text) (:mod:`injection.rag.cache`)

Files are written under new names (the generation in the name) through a temporary file and a
rename, then ``manifest.json`` is replaced atomically, and only then are the files of the previous
generation removed. A ``kg index`` killed at any point leaves the previous manifest and every file it
names, so the index stays readable; the next run removes the debris.

Exact search (``IndexFlatIP``) is used below ``hnsw_threshold`` items, HNSW (``IndexHNSWFlat``) from
there on; both hold L2-normalized vectors, so inner product is cosine similarity. faiss cannot remove
from an HNSW graph, so removed items are kept in a deleted-id list that searches filter out, and the
space is rebuilt when that list outgrows :data:`MAX_DELETED_SHARE` of it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from injection.rag.items import ITEMS
from kg.errors import ConfigError, WorkspaceError

INDEX_FORMAT = 1
"""Version of the index layout; a newer one is refused with a message to upgrade kg."""
MANIFEST = "manifest.json"
INDEX_DIR = "index"
MAX_DELETED_SHARE = 0.25
"""An HNSW space whose removed ids exceed this share of its vectors is rebuilt instead of filtered."""
TYPES = ("flat", "hnsw")


def index_dir(ws: Any) -> Path:
    """Where a workspace keeps its retrieval index (``ws/index``)."""
    return Path(ws.path) / INDEX_DIR


def space_slug(name: str) -> str:
    """A file-name-safe name for an embedding space (its model name plus a digest)."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name).name or name)[:40].strip("_.") or "model"
    return f"{readable}-{hashlib.sha1(name.encode()).hexdigest()[:6]}"


def _faiss() -> Any:
    try:
        import faiss
    except ImportError:
        raise ConfigError("the retrieval index needs the rag extra: pip install 'kg[rag]'") from None
    return faiss


class VectorIndex:
    """One faiss index with stable int64 ids: exact (flat) or HNSW with a deleted-id filter.

    Args:
        index: a faiss ``IndexIDMap2`` over ``IndexFlatIP`` or ``IndexHNSWFlat`` (inner product).
        type: ``flat`` or ``hnsw``.
        deleted: HNSW only: ids still in the graph but removed from the index.
        ef_search: HNSW search breadth (higher: better recall, slower).
    """

    def __init__(self, index: Any, type: str, deleted: Iterable[int] = (), ef_search: int = 64) -> None:
        self.index = index
        self.type = type
        self.deleted: set[int] = {int(i) for i in deleted}
        self.ef_search = ef_search
        self._filter: tuple[Any, ...] | None = None

    def _selector(self) -> Any:
        """A faiss selector of the ids not deleted, built once per change of the deleted list."""
        if self._filter is None:
            faiss = _faiss()
            batch = faiss.IDSelectorBatch(np.fromiter(self.deleted, dtype=np.int64, count=len(self.deleted)))
            # both objects are kept: SWIG does not keep the inner selector alive for the outer one
            self._filter = (faiss.IDSelectorNot(batch), batch)
        return self._filter[0]

    @classmethod
    def create(cls, dim: int, type: str, *, hnsw_m: int = 32, ef_construction: int = 80,
               ef_search: int = 64) -> VectorIndex:
        """An empty index of ``dim``-dimensional vectors.

        Raises:
            ConfigError: an unknown index type.
        """
        faiss = _faiss()
        if type == "flat":
            inner = faiss.IndexFlatIP(dim)
        elif type == "hnsw":
            inner = faiss.IndexHNSWFlat(dim, hnsw_m, faiss.METRIC_INNER_PRODUCT)
            inner.hnsw.efConstruction = ef_construction
        else:
            raise ConfigError(f"unknown index type {type!r}; choose one of: {', '.join(TYPES)}")
        return cls(faiss.IndexIDMap2(inner), type, ef_search=ef_search)

    @property
    def ntotal(self) -> int:
        """Vectors stored (removed HNSW entries included)."""
        return int(self.index.ntotal)

    def __len__(self) -> int:
        return self.ntotal - len(self.deleted)

    def add(self, ids: np.ndarray, vectors: np.ndarray, *, chunk: int = 20_000, progress=None) -> None:
        """Add vectors under ``ids`` (``vectors``: float32 ``[n, dim]``, L2-normalized).

        An id removed from an HNSW index earlier is still in its graph with the same vector (an id is
        a hash of the text it was embedded from), so it is only taken off the deleted list.
        """
        ids = np.asarray(ids, dtype=np.int64)
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if self.deleted and len(ids):
            back = np.array([int(i) in self.deleted for i in ids], dtype=bool)
            self.deleted.difference_update(int(i) for i in ids[back])
            self._filter = None
            ids, vectors = ids[~back], vectors[~back]
        for start in range(0, len(ids), chunk):
            self.index.add_with_ids(vectors[start:start + chunk], ids[start:start + chunk])
            if progress is not None:
                progress(min(start + chunk, len(ids)), len(ids))

    def remove(self, ids: Iterable[int]) -> None:
        """Remove ids (exact index: from the index; HNSW: onto the deleted list searches skip)."""
        ids = np.fromiter((int(i) for i in ids), dtype=np.int64)
        if not len(ids):
            return
        if self.type == "hnsw":
            self.deleted.update(ids.tolist())
            self._filter = None
        else:
            self.index.remove_ids(_faiss().IDSelectorBatch(ids))

    def reconstruct(self, ids: Iterable[int]) -> dict[int, np.ndarray]:
        """Stored vectors of those ``ids`` that the index holds."""
        found = {}
        for i in ids:
            try:
                found[int(i)] = self.index.reconstruct(int(i))
            except RuntimeError:  # faiss raises for an id it does not hold
                continue
        return found

    def stored(self) -> StoredVectors:
        """A zero-copy view of the stored vectors by id (for scoring many known items at once)."""
        faiss = _faiss()
        inner = faiss.downcast_index(self.index.index)
        storage = faiss.downcast_index(inner.storage) if hasattr(inner, "storage") else inner
        matrix = faiss.rev_swig_ptr(storage.get_xb(), storage.ntotal * storage.d).reshape(storage.ntotal,
                                                                                         storage.d)
        return StoredVectors(self, faiss.vector_to_array(self.index.id_map), matrix)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """The ``k`` nearest items of each query.

        Args:
            queries: float32 ``[q, dim]``, L2-normalized.
            k: results per query.

        Returns:
            ``(scores, ids)``, both ``[q, k]``: cosine similarities and item ids, best first; a row
            with fewer than ``k`` hits is padded with score ``-inf`` and id ``-1``.
        """
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        if self.type != "hnsw":
            scores, ids = self.index.search(queries, k)
        else:
            params = _faiss().SearchParametersHNSW(efSearch=max(self.ef_search, k))
            if self.deleted:
                params.sel = self._selector()
            scores, ids = self.index.search(queries, k, params=params)
        scores[ids < 0] = -np.inf
        return scores, ids

    def save(self, path: Path, deleted_path: Path | None = None) -> None:
        """Write the index (and the deleted list) atomically: a temporary file, then a rename."""
        faiss = _faiss()
        tmp = path.with_name(path.name + ".tmp")
        faiss.write_index(self.index, str(tmp))
        os.replace(tmp, path)
        if deleted_path is not None:
            _atomic_save_npy(deleted_path, np.array(sorted(self.deleted), dtype=np.int64))

    @classmethod
    def load(cls, path: Path, type: str, deleted_path: Path | None = None,
             ef_search: int = 64) -> VectorIndex:
        """Read an index written by :meth:`save`."""
        faiss = _faiss()
        deleted = np.load(deleted_path) if deleted_path is not None else ()
        return cls(faiss.read_index(str(path)), type, deleted, ef_search=ef_search)


class StoredVectors:
    """The vectors of a :class:`VectorIndex` by id, read in place from faiss' storage.

    Reading a thousand candidates' vectors one ``reconstruct`` call at a time costs more than the
    rest of a query; this is one fancy-indexing step. The view is only valid while the index is not
    changed (a loaded index is read-only).

    Args:
        owner: the index (kept alive: the matrix points into its memory).
        ids: the id of each stored row.
        matrix: the stored rows, float32 ``[ntotal, dim]``.
    """

    def __init__(self, owner: VectorIndex, ids: np.ndarray, matrix: np.ndarray) -> None:
        self._owner = owner
        self._order = np.argsort(ids, kind="stable")
        self._sorted = ids[self._order]
        self.matrix = matrix

    def get(self, ids: Iterable[int]) -> tuple[np.ndarray, np.ndarray]:
        """``(found, vectors)``: which ids are stored (boolean mask) and their vectors, in order."""
        ids = np.fromiter((int(i) for i in ids), dtype=np.int64)
        pos = np.searchsorted(self._sorted, ids)
        found = pos < len(self._sorted)
        found[found] = self._sorted[pos[found]] == ids[found]
        return found, self.matrix[self._order[pos[found]]]


def _atomic_save_npy(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as handle:  # a file object: np.save would append .npy to the tmp name
        np.save(handle, array)
    os.replace(tmp, path)


def write_items(path: Path, items: pa.Table) -> None:
    """Write a space's items table atomically."""
    tmp = path.with_name(path.name + ".tmp")
    pq.write_table(items.cast(ITEMS), tmp)
    os.replace(tmp, path)


# -- manifest ----------------------------------------------------------------------------------------

def read_manifest(folder: Path) -> dict[str, Any] | None:
    """The index manifest, or None when there is no index.

    Raises:
        WorkspaceError: the manifest is unreadable or from a newer kg.
    """
    path = Path(folder) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise WorkspaceError(f"index manifest {path} is unreadable ({exc}); rebuild it with "
                             "`kg index --rebuild`") from None
    if manifest.get("format", 0) > INDEX_FORMAT:
        raise WorkspaceError(f"index {folder} was written by a newer kg (format {manifest['format']} > "
                             f"{INDEX_FORMAT}); upgrade kg, or rebuild it with `kg index --rebuild`")
    return manifest


def write_manifest(folder: Path, manifest: dict[str, Any]) -> None:
    """Replace the manifest atomically (this is the moment a new index generation takes over)."""
    path = Path(folder) / MANIFEST
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(manifest, indent=1, ensure_ascii=False, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def manifest_files(manifest: dict[str, Any] | None) -> set[str]:
    """File names (in the index folder) a manifest refers to."""
    if not manifest:
        return set()
    names = set()
    for space in manifest.get("spaces", {}).values():
        names.update(space[key] for key in ("index_file", "items_file", "deleted_file") if space.get(key))
    return names


def remove_debris(folder: Path, manifest: dict[str, Any] | None) -> list[str]:
    """Delete files of the index folder that the manifest does not name (a killed run's leftovers).

    Returns:
        The names removed.
    """
    keep = manifest_files(manifest) | {MANIFEST}
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        if path.is_file() and path.name not in keep:
            path.unlink(missing_ok=True)
            removed.append(path.name)
    return removed


# -- reading -----------------------------------------------------------------------------------------

@dataclass
class Space:
    """One embedding space of an opened index: its model, faiss index and items.

    Attributes:
        name: the model name (``minilm``, a path, a hub name).
        identity: the model identity the vectors were made with.
        dim: vector dimension.
        langs: languages whose items live here.
        index: the faiss index.
        items: the items, sorted by id (:data:`~injection.rag.items.ITEMS`).
    """

    name: str
    identity: str
    dim: int
    langs: list[str]
    index: VectorIndex
    items: pa.Table
    _ids: np.ndarray = field(init=False, repr=False)
    _embedder: Any = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        # one chunk: a take from a table of many row groups would concatenate them on every lookup
        self.items = self.items.combine_chunks()
        self._ids = self.items.column("id").to_numpy()

    def lookup(self, ids: Iterable[int]) -> list[dict[str, Any] | None]:
        """The item rows of faiss ids (None for an id this space does not hold)."""
        ids = np.asarray(list(ids), dtype=np.int64)
        pos = np.searchsorted(self._ids, ids)
        found = pos < len(self._ids)
        found[found] = self._ids[pos[found]] == ids[found]
        # one take and one conversion for all rows: a search's hits are looked up on every request
        taken = iter(self.items.take(pa.array(pos[found])).to_pylist())
        return [next(taken) if hit else None for hit in found.tolist()]

    def embedder(self) -> Any:
        """The space's embedding model, loaded on first use.

        Raises:
            WorkspaceError: the installed model is not the one the index was built with.
        """
        if self._embedder is None:
            from injection.rag.embed import resolve_model

            ref = resolve_model(self.name)
            if ref.identity != self.identity:
                raise WorkspaceError(f"the index space {self.name!r} was built with {self.identity}, but "
                                     f"that model is now {ref.identity}; run `kg index` to re-embed")
            self._embedder = ref.load()
        return self._embedder

    def search(self, texts: list[str], k: int = 10) -> list[list[tuple[float, dict[str, Any]]]]:
        """Plain vector search: the ``k`` best items of each query text, as ``(score, item)`` pairs."""
        vectors = self.embedder().embed(texts, query=True)
        scores, ids = self.index.search(vectors, k)
        hits = []
        for score_row, id_row in zip(scores, ids, strict=True):
            keep = id_row >= 0
            items = self.lookup(id_row[keep])
            hits.append([(float(s), item) for s, item in zip(score_row[keep], items, strict=True)
                         if item is not None])
        return hits


class RagIndex:
    """An opened retrieval index (read-only). Use :meth:`open`.

    Attributes:
        folder: the index folder.
        manifest: the parsed manifest.
        spaces: model name -> :class:`Space`.
    """

    def __init__(self, folder: Path, manifest: dict[str, Any], spaces: dict[str, Space]) -> None:
        self.folder = folder
        self.manifest = manifest
        self.spaces = spaces

    @classmethod
    def open(cls, ws: Any) -> RagIndex:
        """Read the index of an opened workspace.

        Raises:
            WorkspaceError: there is no index (run ``kg index``), or it is unreadable.
        """
        folder = index_dir(ws)
        manifest = read_manifest(folder)
        if manifest is None:
            raise WorkspaceError(f"no retrieval index in {ws.path}; run `kg index -w {ws.path}`")
        spaces = {}
        for name, meta in manifest["spaces"].items():
            deleted = folder / meta["deleted_file"] if meta.get("deleted_file") else None
            try:
                index = VectorIndex.load(folder / meta["index_file"], meta["type"], deleted,
                                         ef_search=meta.get("params", {}).get("ef_search", 64))
                items = pq.read_table(folder / meta["items_file"], schema=ITEMS)
            except (OSError, RuntimeError, ValueError) as exc:
                raise WorkspaceError(f"index space {name!r} in {folder} is unreadable ({exc}); rebuild it "
                                     "with `kg index --rebuild`") from None
            spaces[name] = Space(name, meta["identity"], meta["dim"], meta["langs"], index, items)
        return cls(folder, manifest, spaces)

    @property
    def bundle_version(self) -> int:
        """The bundle version the index was built from."""
        return int(self.manifest["bundle_version"])

    def is_stale(self, ws: Any) -> bool:
        """Whether the workspace's bundle has changed since the index was built."""
        return ws.bundle.version != self.bundle_version

    def check_fresh(self, ws: Any) -> None:
        """Raise when the bundle changed after the index was built.

        Raises:
            WorkspaceError: the index is older than the bundle (the message says to run ``kg index``).
        """
        if self.is_stale(ws):
            raise WorkspaceError(f"the retrieval index is older than the bundle (built from bundle version "
                                 f"{self.bundle_version}, the bundle is at {ws.bundle.version}); run "
                                 f"`kg index -w {ws.path}`")

    def space_for(self, lang: str) -> Space:
        """The space that holds items (and answers queries) in ``lang``."""
        name = self.manifest["languages"].get(lang) or self.manifest["languages"].get("*")
        if name in self.spaces:
            return self.spaces[name]
        return next(iter(self.spaces.values()))

    def lookup(self, ids: Iterable[int]) -> list[dict[str, Any] | None]:
        """Item rows of faiss ids from any space (ids are unique across spaces)."""
        ids = list(ids)
        found: list[dict[str, Any] | None] = [None] * len(ids)
        for space in self.spaces.values():
            for i, row in enumerate(space.lookup(ids)):
                if row is not None:
                    found[i] = row
        return found

    def search(self, text: str, k: int = 10, lang: str | None = None) -> list[tuple[float, dict[str, Any]]]:
        """Plain vector search of one query in the space of its language (by script when not given)."""
        from injection.synth.graph import script_lang

        return self.space_for(lang or script_lang(text) or "en").search([text], k)[0]


__all__ = ["INDEX_DIR", "INDEX_FORMAT", "MANIFEST", "MAX_DELETED_SHARE", "TYPES", "RagIndex", "Space",
           "StoredVectors",
           "VectorIndex", "index_dir", "manifest_files", "read_manifest", "remove_debris", "space_slug",
           "write_items", "write_manifest"]
