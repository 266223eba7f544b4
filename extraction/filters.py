"""Quality filters (Gopher/C4 style): length, repetition, digit/punctuation ratio, bad encoding."""

from __future__ import annotations

import re
from collections import Counter

from extraction.steps import Filter
from extraction.text import tokens
from kg.model import Document


class MinLength(Filter):
    """Drop documents with fewer than ``min_tokens`` tokens (words, or CJK characters)."""

    name = "too_short"

    def __init__(self, min_tokens: int = 30) -> None:
        self.min_tokens = min_tokens

    def check(self, doc: Document) -> str | None:
        n = len(tokens(doc.text))
        if n < self.min_tokens:
            return f"too short: {n} tokens < {self.min_tokens}"
        return None


class Repetition(Filter):
    """Drop spam: many duplicate lines, or one n-gram covering too much of the text."""

    name = "repetition"

    def __init__(self, max_dup_line_frac: float = 0.3,
                 max_top_ngram: dict[int, float] | None = None) -> None:
        self.max_dup_line_frac = max_dup_line_frac
        # Gopher's thresholds for the share of tokens covered by the most frequent n-gram.
        self.max_top_ngram = max_top_ngram or {2: 0.20, 3: 0.18, 4: 0.16}

    def check(self, doc: Document) -> str | None:
        lines = [line for line in doc.text.split("\n") if line.strip()]
        if len(lines) >= 3:
            dup = len(lines) - len(set(lines))
            if dup / len(lines) > self.max_dup_line_frac:
                return f"repetition: {dup}/{len(lines)} duplicate lines"
        toks = tokens(doc.text)
        bound = len(toks)  # an upper bound on the top n-gram count; shrinks as n grows
        for n, limit in sorted(self.max_top_ngram.items()):
            if len(toks) < n * 10:
                continue
            # an n-gram occurs at most as often as its (n-1)-gram prefix: skip counting when even that
            # bound cannot exceed the limit (the common case for ordinary prose)
            if bound * n / len(toks) <= limit:
                continue
            grams = Counter(zip(*(toks[i:] for i in range(n))))
            gram, count = grams.most_common(1)[0]
            bound = count
            if count < 3:
                continue
            coverage = count * n / len(toks)
            if coverage > limit:
                return f"repetition: top {n}-gram {' '.join(gram)!r} covers {coverage:.0%}"
        return None


# digits, or anything that is neither a word character nor whitespace (punctuation and symbols)
_DIGIT_PUNCT = re.compile(r"\d|[^\w\s]|_")
_SPACE = re.compile(r"\s")


class CharRatio(Filter):
    """Drop documents that are mostly digits and punctuation (tables, dumps, logs)."""

    name = "digits_punct"

    def __init__(self, max_ratio: float = 0.35) -> None:
        self.max_ratio = max_ratio

    def check(self, doc: Document) -> str | None:
        visible = len(doc.text) - len(_SPACE.findall(doc.text))
        if not visible:
            return "no visible characters"
        ratio = len(_DIGIT_PUNCT.findall(doc.text)) / visible
        if ratio > self.max_ratio:
            return f"digits/punctuation ratio {ratio:.0%} > {self.max_ratio:.0%}"
        return None


# Byte sequences that appear when UTF-8 text was decoded as Latin-1/cp1252 (mojibake).
_MOJIBAKE = ("Ã©", "Ã¨", "â€™", "â€œ", "â€", "Ã¤", "Ã¶", "Ã¼", "Ã±", "Â ", "ï»¿", "å¤", "ç¬")


class BadEncoding(Filter):
    """Drop text with replacement characters or mojibake (decoded with the wrong codec upstream)."""

    name = "bad_encoding"

    def __init__(self, max_ratio: float = 0.005) -> None:
        self.max_ratio = max_ratio

    def check(self, doc: Document) -> str | None:
        bad = doc.text.count("\ufffd") + sum(doc.text.count(m) for m in _MOJIBAKE)
        if bad and bad / max(len(doc.text), 1) > self.max_ratio:
            return f"bad encoding: {bad} replacement/mojibake sequences; re-decode the source"
        return None
