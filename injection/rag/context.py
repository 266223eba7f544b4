"""The ``context`` string a chat app puts in front of its small model, in the query's language.

Layout (English; Chinese uses the same structure with Chinese headings and punctuation)::

    Facts from the knowledge graph:
    - Tencent was founded by Pony Ma. [1]
    - Huawei was founded by Jack Ma. (inferred, score 0.83)
    Connections:
    - Alibaba Group —founded by→ Jack Ma —born in→ Hangzhou
    Sources:
    [1] tencent.txt (doc:1a2b…): "Pony Ma founded Tencent in 1998."

Citation numbers stand for documents (the ``citations`` of the response map them to document ids),
numbered in the order the facts cite them. Facts proposed by link prediction cite no document and say
so. The context is cut to ``max_chars`` by dropping source sentences first, then the last facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import PurePath

CONTEXT_LANGS: tuple[str, ...] = ("en", "zh")
"""Languages the context can be written in; any other query language gets English."""

WORDS: dict[str, dict[str, str]] = {
    "en": {"facts": "Facts from the knowledge graph:", "paths": "Connections:", "sources": "Sources:",
           "inferred": " (inferred, score {score:.2f})", "none": "The knowledge graph holds nothing about this.",
           "doc": "[{n}] {label} ({doc}): {sentences}", "quote": "\"{text}\"", "sep": " "},
    "zh": {"facts": "知识图谱中的事实：", "paths": "关联：", "sources": "来源：",
           "inferred": "（推断，置信度 {score:.2f}）", "none": "知识图谱中没有与此相关的内容。",
           "doc": "[{n}] {label}（{doc}）：{sentences}", "quote": "“{text}”", "sep": ""},
}


@dataclass(frozen=True)
class ContextFact:
    """A fact as the context shows it: its text, citation numbers, and the inferred mark."""

    text: str
    citations: tuple[int, ...]
    inferred: bool
    score: float


@dataclass(frozen=True)
class ContextSource:
    """A cited document: its number, a readable label, its id, and the sentences quoted from it."""

    n: int
    label: str
    doc_id: str
    sentences: tuple[str, ...]


def document_label(source: str, title: str) -> str:
    """A short readable name of a document: its title, else its file name, else its source."""
    if title:
        return title
    name = PurePath(source).name if source else ""
    return name or source or "document"


def render_context(lang: str, facts: list[ContextFact], paths: list[str], sources: list[ContextSource],
                   max_chars: int = 4000) -> str:
    """The context string (see the module docstring).

    Args:
        lang: ``en`` or ``zh`` (others are written in English).
        facts: facts, best first.
        paths: readable connection paths between entities of the query.
        sources: cited documents, by number.
        max_chars: longest context; source sentences go first, then the weakest facts.
    """
    words = WORDS.get(lang, WORDS["en"])
    if not facts and not sources:
        return words["none"]
    fact_lines = [_fact_line(f, words) for f in facts]
    path_lines = [f"- {p}" for p in paths]
    source_lines = [_source_line(s, words) for s in sources]

    def join() -> str:
        parts: list[str] = []
        for heading, lines in ((words["facts"], fact_lines), (words["paths"], path_lines),
                               (words["sources"], source_lines)):
            if lines:
                parts.append("\n".join([heading, *lines]))
        return "\n".join(parts)

    text = join()
    # a small model's window is short: quotes are the first to go, then paths, then the weakest facts
    while len(text) > max_chars and (source_lines or path_lines or len(fact_lines) > 1):
        (source_lines or path_lines or fact_lines).pop()
        text = join()
    return text[:max_chars]


def _source_line(source: ContextSource, words: dict[str, str]) -> str:
    quotes = words["sep"].join(words["quote"].format(text=t) for t in source.sentences)
    line = words["doc"].format(n=source.n, label=source.label, doc=source.doc_id, sentences=quotes)
    return line if quotes else line.rstrip().rstrip(":：")


def _fact_line(fact: ContextFact, words: dict[str, str]) -> str:
    line = f"- {fact.text}"
    if fact.inferred:
        line += words["inferred"].format(score=fact.score)
    if fact.citations:
        line += words["sep"] + "".join(f"[{n}]" for n in fact.citations)
    return line


__all__ = ["CONTEXT_LANGS", "WORDS", "ContextFact", "ContextSource", "document_label", "render_context"]
