"""A workspace cache of text vectors, keyed by (model identity, text hash).

``ws/index/cache/<model>/shard-NNNNNN.npz`` files each hold ``keys`` (16-byte BLAKE2b digests of the
texts) and ``vectors`` (float32 rows). A run appends one shard per batch of new vectors, written to a
temporary file and renamed, so a killed ``kg index`` keeps every finished batch and the next run embeds
only the rest; :meth:`VectorCache.compact` folds the shards into one, keeping the texts still in use.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

_SHARD = re.compile(r"shard-(\d{6})\.npz")
MAX_SHARDS = 8
"""Shards beyond which :meth:`VectorCache.compact` merges them."""


def text_key(text: str) -> bytes:
    """The cache key of a text: a 16-byte BLAKE2b digest of its UTF-8 bytes."""
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def model_folder_name(identity: str) -> str:
    """A file-system-safe folder name for a model identity (readable prefix plus a digest)."""
    readable = re.sub(r"[^A-Za-z0-9._=-]+", "_", identity)[:60]
    return f"{readable}-{hashlib.sha1(identity.encode()).hexdigest()[:8]}"


class VectorCache:
    """Vectors of one embedding model; reads its shards on first use (the constructor does no I/O).

    Args:
        root: the cache folder of all models (``ws/index/cache``).
        identity: the model identity (:attr:`injection.rag.embed.Embedder.identity`).
    """

    def __init__(self, root: Path, identity: str) -> None:
        self.folder = Path(root) / model_folder_name(identity)
        self.identity = identity
        self._rows: dict[bytes, int] | None = None
        self._vectors: list[np.ndarray] = []

    def _load(self) -> dict[bytes, int]:
        if self._rows is not None:
            return self._rows
        self._rows = {}
        for path in self._shards():
            try:
                with np.load(path) as data:
                    keys, vectors = data["keys"], data["vectors"]
            except (OSError, ValueError, KeyError):
                continue  # an unreadable shard only costs re-embedding its texts
            self._add(keys, vectors)
        return self._rows

    def _add(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        offset = sum(len(v) for v in self._vectors)
        self._vectors.append(np.asarray(vectors, dtype=np.float32))
        for i, key in enumerate(keys.tolist()):
            self._rows[bytes(key)] = offset + i

    def _shards(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir() if _SHARD.fullmatch(p.name))

    def _matrix(self) -> np.ndarray:
        if len(self._vectors) > 1:
            self._vectors = [np.concatenate(self._vectors)]
        return self._vectors[0]

    def __len__(self) -> int:
        return len(self._load())

    def get(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """Cached vectors of ``texts``.

        Returns:
            ``(found, vectors)``: a boolean mask over ``texts`` and the vectors of the found ones, in
            order (shape ``[found.sum(), dim]``).
        """
        rows = self._load()
        found_rows = [rows.get(text_key(t), -1) for t in texts]
        found = np.array([r >= 0 for r in found_rows], dtype=bool)
        if not found.any():
            return found, np.zeros((0, 0), dtype=np.float32)
        return found, self._matrix()[[r for r in found_rows if r >= 0]]

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Store vectors of ``texts`` as a new shard (atomically)."""
        if not len(texts):
            return
        self._load()
        keys = np.array([text_key(t) for t in texts], dtype="S16")
        self._write_shard(keys, vectors)
        self._add(keys, vectors)

    def _write_shard(self, keys: np.ndarray, vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        shards = self._shards()
        number = int(_SHARD.fullmatch(shards[-1].name).group(1)) + 1 if shards else 1
        final = self.folder / f"shard-{number:06d}.npz"
        tmp = final.with_name(final.name + ".tmp")
        with open(tmp, "wb") as handle:  # a file object: np.savez would append .npz to a tmp name
            np.savez(handle, keys=keys, vectors=np.asarray(vectors, dtype=np.float32))
        os.replace(tmp, final)

    def compact(self, keep: Iterable[str]) -> int:
        """Merge the shards into one holding only the vectors of ``keep`` texts, if there are too many.

        Returns:
            How many shards were merged (0 when the cache was left as it is).
        """
        shards = self._shards()
        if len(shards) <= MAX_SHARDS:
            return 0
        rows = self._load()
        wanted = [(key, rows[key]) for key in dict.fromkeys(text_key(t) for t in keep) if key in rows]
        if wanted:  # the new shard first: a kill in between leaves duplicates, never a loss
            self._write_shard(np.array([key for key, _ in wanted], dtype="S16"),
                              self._matrix()[[row for _, row in wanted]])
        for path in shards:
            path.unlink(missing_ok=True)
        self._rows, self._vectors = None, []
        return len(shards)


__all__ = ["MAX_SHARDS", "VectorCache", "model_folder_name", "text_key"]
