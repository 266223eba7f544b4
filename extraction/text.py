"""Language-neutral text helpers shared by filters, dedup and Chinese sentence splitting."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache

# One token per CJK character, one per run of word characters otherwise: a cheap tokenization that
# makes length, repetition and shingle statistics comparable across English and Chinese.
_TOKEN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]|[^\W\u3400-\u9fff\uf900-\ufaff]+", re.UNICODE)
_ZH_SENT_END = re.compile(r"[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』）)]*|\n|$)")


@lru_cache(maxsize=8)
def _tokens(text: str) -> tuple[str, ...]:
    return tuple(_TOKEN.findall(text))


def tokens(text: str) -> tuple[str, ...]:
    """Words for alphabetic scripts, single characters for CJK.

    Cached for the last few texts: consecutive filters tokenize the same document.
    """
    return _tokens(text)


def split_sentences_zh(text: str) -> list[tuple[int, int]]:
    """Split Chinese text into sentence spans ``(start, end)`` on 。！？；, newlines, keeping closers."""
    return trimmed_spans(text, (match.span() for match in _ZH_SENT_END.finditer(text)))


def trimmed_spans(text: str, spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    """``spans`` with surrounding whitespace trimmed (offsets stay into ``text``); empty ones dropped."""
    out = []
    for start, end in spans:
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            out.append((start, end))
    return out
