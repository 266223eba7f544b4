"""Lexical matching: BM25 (bm25s) over the verbalized facts of each language.

Facts are phrased by the schema's templates, so a question's content words ("founded", "headquarters",
a name) often appear verbatim in the gold fact's text; BM25 rewards exactly that, and catches what an
embedding model blurs (rare names, numbers). Terms come from :class:`injection.rag.linking.Tokenizer`
(normalized words for English, jieba search-mode words for Chinese, stop words removed).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from injection.rag.linking import Tokenizer


class LexicalIndex:
    """BM25 over the fact texts of one language (read-only once built, so thread-safe).

    Args:
        keys: the fact id of each text.
        texts: the fact texts.
        tokenizer: gives the terms of texts and queries.
    """

    def __init__(self, keys: Sequence[str], texts: Sequence[str], tokenizer: Tokenizer) -> None:
        import bm25s

        self.keys = list(keys)
        self.tokenizer = tokenizer
        self.position: dict[str, list[int]] = {}
        for i, key in enumerate(self.keys):
            self.position.setdefault(key, []).append(i)
        self._bm25 = bm25s.BM25()
        # bm25s needs at least one term per document: an all-stop-word text gets an empty term
        self._bm25.index([tokenizer.terms(t) or [""] for t in texts] or [[""]], show_progress=False)

    def __len__(self) -> int:
        return len(self.keys)

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every text for ``query`` (float32, shape ``[len(self)]``; 0 without a shared term)."""
        terms = [t for t in self.tokenizer.terms(query) if t in self._bm25.vocab_dict]
        if not terms or not self.keys:
            return np.zeros(len(self.keys), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(terms), dtype=np.float32)[:len(self.keys)]

    def key_scores(self, scores: np.ndarray, keys: Sequence[str]) -> dict[str, float]:
        """The best score of each of ``keys`` (facts without a positive score are left out)."""
        out = {}
        for key in keys:
            best = max((float(scores[i]) for i in self.position.get(key, ())), default=0.0)
            if best > 0:
                out[key] = best
        return out

    def top(self, scores: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The ``n`` best facts by score (positive scores only), best first, ties by fact id."""
        if n <= 0 or not len(scores):
            return []
        n = min(n, len(scores))
        best = np.argpartition(-scores, n - 1)[:n]
        ranked = sorted(((self.keys[i], float(scores[i])) for i in best if scores[i] > 0),
                        key=lambda pair: (-pair[1], pair[0]))
        seen: dict[str, float] = {}
        for key, score in ranked:
            seen.setdefault(key, score)
        return list(seen.items())


__all__ = ["LexicalIndex"]
