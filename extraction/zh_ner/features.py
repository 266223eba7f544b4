"""What the Chinese NER model sees of a sentence: characters, character bigrams and jieba's words.

Every character gets three ids:

* its character (NFKC-normalized, so full-width Latin letters and digits share ids with half-width);
* the bigram it starts (itself and the next character; ``</s>`` after the last one);
* its place in the jieba word that holds it (``B``/``M``/``E``/``S``) joined with that word's part of
  speech (``B-nr``, ``S-ns``, ...). jieba's tags come from its dictionary and its HMM for unknown
  words: a good hint for names that the characters around them confirm or correct.

Ids come from :class:`Vocab`, built from the training data (rare bigrams map to ``<unk>``) and
saved with the weights.
"""

from __future__ import annotations

import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

PAD, UNK = 0, 1
_END = "</s>"


def norm(char: str) -> str:
    """The lookup form of a character (NFKC, lower case)."""
    return unicodedata.normalize("NFKC", char).lower()


def word_features(words: Iterable[tuple[str, str]]) -> list[str]:
    """Per character: its position in its jieba word and the word's tag (``B-nr``, ``S-x``, ...)."""
    out: list[str] = []
    for word, flag in words:
        if len(word) == 1:
            out.append(f"S-{flag}")
        elif word:
            out.extend([f"B-{flag}", *(f"M-{flag}" for _ in word[1:-1]), f"E-{flag}"])
    return out


@dataclass
class Vocab:
    """Id tables of the three features (index 0 is padding, 1 unknown)."""

    chars: dict[str, int] = field(default_factory=dict)
    bigrams: dict[str, int] = field(default_factory=dict)
    words: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, sentences: Iterable[tuple[str, Sequence[str]]], min_bigram: int = 2) -> Vocab:
        """Tables from (text, word features) pairs; bigrams seen fewer than ``min_bigram`` times stay unknown."""
        chars: Counter[str] = Counter()
        bigrams: Counter[str] = Counter()
        words: Counter[str] = Counter()
        for text, feats in sentences:
            normed = [norm(c) for c in text]
            chars.update(normed)
            bigrams.update(_bigrams(normed))
            words.update(feats)

        def table(counts: Counter[str], least: int = 1) -> dict[str, int]:
            kept = sorted(k for k, n in counts.items() if n >= least)
            return {k: i for i, k in enumerate(kept, 2)}

        return cls(table(chars), table(bigrams, min_bigram), table(words))

    def encode(self, text: str, feats: Sequence[str]) -> tuple[list[int], list[int], list[int]]:
        """Character, bigram and word-feature ids of ``text`` (``feats``: :func:`word_features`)."""
        if len(feats) != len(text):
            raise ValueError(f"{len(feats)} word features for {len(text)} characters")
        normed = [norm(c) for c in text]
        return ([self.chars.get(c, UNK) for c in normed],
                [self.bigrams.get(b, UNK) for b in _bigrams(normed)],
                [self.words.get(f, UNK) for f in feats])

    def to_dict(self) -> dict[str, dict[str, int]]:
        """Plain data (saved with the weights)."""
        return {"chars": self.chars, "bigrams": self.bigrams, "words": self.words}

    @classmethod
    def from_dict(cls, data: dict[str, dict[str, int]]) -> Vocab:
        """The vocabulary :meth:`to_dict` wrote."""
        return cls(dict(data["chars"]), dict(data["bigrams"]), dict(data["words"]))


def _bigrams(normed: Sequence[str]) -> list[str]:
    return [a + b for a, b in zip(normed, [*normed[1:], _END], strict=True)]


__all__ = ["PAD", "UNK", "Vocab", "norm", "word_features"]
