"""Entity linking of queries: an alias dictionary over every entity name and alias, in both scripts.

A query is cut into tokens (jieba when it holds Han characters, words otherwise) and scanned left to
right for the longest run of tokens whose :func:`match_key` is a known surface (an entity's name or
one of its aliases). jieba gets every Chinese surface as a user word, as the Chinese extractor does
with the schema gazetteers, so "苹果公司的CEO是谁" cuts 苹果公司 as one token. Keys compare names the
way entity ids do (:func:`kg.ids.normalize_key`: NFKC, case-folded), and ignore punctuation and
spacing between words ("Apple Inc." = "apple inc", "史蒂夫·乔布斯" = "史蒂夫 乔布斯").

The same tokenizer gives the lexical (BM25) terms of fact texts and queries (:meth:`Tokenizer.terms`).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from kg.ids import normalize_key

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_WORD = re.compile(r"[^\W_]+")
MAX_SPAN_TOKENS = 8
"""Longest surface, in tokens, that linking tries (longer names are not linked from a query)."""
_MIN_KEY_CHARS = 2  # one Latin letter or one Han character is too ambiguous to link


def has_cjk(text: str) -> bool:
    """Whether ``text`` holds a Han character."""
    return _CJK.search(text) is not None


def match_key(text: str) -> str:
    """The dictionary key of a surface: normalized (:func:`kg.ids.normalize_key`), words joined by a space.

    Punctuation and spacing between words do not count, so a query span matches a name however it
    was punctuated.
    """
    return " ".join(_WORD.findall(normalize_key(text)))


def _stopwords() -> tuple[frozenset[str], frozenset[str]]:
    from bm25s.stopwords import STOPWORDS_CHINESE, STOPWORDS_EN_PLUS

    return frozenset(STOPWORDS_EN_PLUS), frozenset(STOPWORDS_CHINESE)


def _stemmer():
    try:
        import Stemmer
    except ImportError:
        from kg.errors import ConfigError

        raise ConfigError("lexical matching needs PyStemmer: pip install 'kg[rag]'") from None
    return Stemmer.Stemmer("english")


class Tokenizer:
    """Query and text tokens for linking and BM25 (thread-safe once built).

    Args:
        surfaces: Chinese names and aliases jieba should keep whole (entity surfaces).
    """

    def __init__(self, surfaces: Iterable[str] = ()) -> None:
        import jieba

        jieba.setLogLevel(logging.WARNING)  # it logs dictionary loading at INFO on stderr
        self._jieba = jieba.Tokenizer()
        self._jieba.initialize()  # load the dictionary now: the first cut of a request must not
        for surface in surfaces:
            surface = surface.strip()
            if surface and has_cjk(surface) and not any(c.isspace() for c in surface):
                # a high frequency makes jieba keep the whole name as one word (as the extractor does)
                self._jieba.add_word(surface, freq=100_000)
        self._stop_en, self._stop_zh = _stopwords()
        self._stemmer = _stemmer()
        self._lock = threading.Lock()

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of ``text`` (punctuation and spaces left out)."""
        if not has_cjk(text):
            return [m.span() for m in _WORD.finditer(text)]
        with self._lock:  # jieba does not promise thread safety; a query's cut is short
            pieces = list(self._jieba.tokenize(text))
        return [(start, end) for word, start, end in pieces if _WORD.search(word)]

    def terms(self, text: str) -> list[str]:
        """BM25 terms: stemmed words (Latin script) or jieba words in search mode (Chinese), no stop words.

        Stemming (Snowball, PyStemmer) lets "Who founded X?" match "X was founded by Y" and
        "What did they found?" match it too.
        """
        text = normalize_key(text)
        if has_cjk(text):
            with self._lock:
                words = list(self._jieba.cut_for_search(text))
            words = [w for w in words if _WORD.fullmatch(w) and w not in self._stop_zh]
        else:
            words = _WORD.findall(text)
        latin = [w for w in words if not has_cjk(w) and w not in self._stop_en]
        with self._lock:  # a PyStemmer object is not thread-safe
            stems = dict(zip(latin, self._stemmer.stemWords(latin), strict=True)) if latin else {}
        return [stems.get(w, w) for w in words if has_cjk(w) or w in stems]


@dataclass(frozen=True)
class Link:
    """An entity found in a query.

    Attributes:
        entity: the entity id.
        surface: the query text that named it.
        start: start of that text in the query.
        end: its end.
        weight: 1 / the number of entities sharing that surface (an ambiguous name links to each).
    """

    entity: str
    surface: str
    start: int
    end: int
    weight: float


class AliasDictionary:
    """Surfaces (names and aliases) of entities, for linking queries.

    Args:
        entities: ``(entity id, name, aliases)`` of every entity.
        tokenizer: the tokenizer queries are cut with.
    """

    def __init__(self, entities: Iterable[tuple[str, str, Iterable[str]]], tokenizer: Tokenizer) -> None:
        from bm25s.stopwords import STOPWORDS_EN_PLUS

        stop = frozenset(STOPWORDS_EN_PLUS)
        surfaces: dict[str, set[str]] = defaultdict(set)
        for entity, name, aliases in entities:
            for surface in (name, *aliases):
                key = match_key(surface or "")
                # a name that is a stop word ("It", "The") would link half the queries
                if len(key) >= _MIN_KEY_CHARS and key not in stop:
                    surfaces[key].add(entity)
        self.entities: dict[str, tuple[str, ...]] = {key: tuple(sorted(ids)) for key, ids in surfaces.items()}
        self.keys: list[str] = sorted(self.entities)
        self.tokenizer = tokenizer

    def __len__(self) -> int:
        return len(self.entities)

    def exact(self, name: str) -> tuple[str, ...]:
        """Entities with the surface ``name`` (compared by :func:`match_key`)."""
        return self.entities.get(match_key(name), ())

    def prefixed(self, name: str, limit: int) -> list[str]:
        """Entities with a surface that starts with ``name`` (by :func:`match_key`), shortest surface first."""
        import bisect

        key = match_key(name)
        if not key:
            return []
        found: dict[str, int] = {}
        start = bisect.bisect_left(self.keys, key)
        # a prefix scan over the sorted keys: bounded, so a one-letter prefix of a huge graph stays cheap
        for surface in self.keys[start:start + 50 * limit]:
            if not surface.startswith(key):
                break
            for entity in self.entities[surface]:
                found.setdefault(entity, len(surface))
        return sorted(found, key=lambda e: (found[e], e))[:limit]

    def link(self, query: str) -> list[Link]:
        """Entities named in ``query``: the longest known surface at each position, left to right."""
        spans = self.tokenizer.spans(query)
        links: list[Link] = []
        i = 0
        while i < len(spans):
            for j in range(min(len(spans), i + MAX_SPAN_TOKENS), i, -1):
                start, end = spans[i][0], spans[j - 1][1]
                entities = self.entities.get(match_key(query[start:end]))
                if entities:
                    links.extend(Link(e, query[start:end], start, end, 1.0 / len(entities)) for e in entities)
                    i = j
                    break
            else:
                i += 1
        return links


__all__ = ["MAX_SPAN_TOKENS", "AliasDictionary", "Link", "Tokenizer", "has_cjk", "match_key"]
