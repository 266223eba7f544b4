"""Exact and near-duplicate removal (datasketch MinHash LSH), aware of documents already stored."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

import numpy as np
from datasketch import MinHash, MinHashLSH

from extraction.steps import DropLog, Step
from extraction.text import tokens
from kg.model import Document

# Pinned so signatures stored in the bundle stay comparable across datasketch upgrades.
_SCHEME = "affine32"
# Shingles are hashed to 32 bits before MinHash's random affine permutations; CRC-32 is stable across
# processes and machines (signatures are stored) and, being a C builtin, several times cheaper per
# shingle than datasketch's default SHA-1 wrapper.
_HASHFUNC = zlib.crc32


class ExactDedup(Step):
    """Drop a document whose content hash (its id) was already seen in this run."""

    name = "exact_duplicate"

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        for doc in docs:
            first = self._seen.get(doc.id)
            if first is not None:
                drops.add(doc.source, self.name, f"exact duplicate of {first}", doc.id)
                continue
            self._seen[doc.id] = doc.source
            yield doc


def shingles(text: str, n: int = 5) -> set[bytes]:
    """Token n-gram shingles (words for English, characters for Chinese) as UTF-8 bytes."""
    toks = tokens(text.casefold())
    if len(toks) < n:
        return {" ".join(toks).encode("utf-8")}
    return {" ".join(toks[i:i + n]).encode("utf-8") for i in range(len(toks) - n + 1)}


class NearDedup(Step):
    """Drop near-duplicates with MinHash LSH; documents from earlier batches can be pre-indexed.

    Args:
        threshold: estimated Jaccard similarity above which a document is a near-duplicate.
        num_perm: MinHash permutations.
        known: ``(doc_id, source, signature)`` of documents already in the bundle.
    """

    name = "near_duplicate"

    def __init__(self, threshold: float = 0.8, num_perm: int = 128,
                 known: Iterable[tuple[str, str, np.ndarray]] = ()) -> None:
        self.num_perm = num_perm
        self.lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
        # generated once: datasketch would redraw the same permutations for every document
        self._permutations = MinHash(num_perm=num_perm, scheme=_SCHEME).permutations
        self.sources: dict[str, str] = {}
        self.signatures: dict[str, np.ndarray] = {}
        for doc_id, source, signature in known:
            self._insert(doc_id, source, self._minhash(signature))

    def _minhash(self, hashvalues: np.ndarray | None = None) -> MinHash:
        return MinHash(num_perm=self.num_perm, hashfunc=_HASHFUNC, hashvalues=hashvalues,
                       permutations=self._permutations, scheme=_SCHEME)

    def _insert(self, doc_id: str, source: str, minhash: MinHash) -> None:
        if doc_id in self.sources:
            return
        self.lsh.insert(doc_id, minhash)
        self.sources[doc_id] = source
        self.signatures[doc_id] = minhash.hashvalues

    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        for doc in docs:
            minhash = self._minhash()
            minhash.update_batch(shingles(doc.text))
            if doc.id not in self.sources:
                hits = [h for h in self.lsh.query(minhash) if h != doc.id]
                if hits:
                    first = min(hits, key=lambda h: self.sources[h])
                    drops.add(doc.source, self.name, f"near duplicate of {self.sources[first]}", doc.id)
                    continue
            self._insert(doc.id, doc.source, minhash)
            yield doc
