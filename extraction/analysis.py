"""Per-document extraction output and the Analyzer that dispatches documents by language.

An :class:`Analysis` holds what one document yields before entity resolution: mentions (surface text,
type, offsets) and relations between mention indexes, with the sentence that supports them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol

from kg.model import Document, Mention
from kg.schema import Schema


@dataclass(slots=True)
class RawRelation:
    """A relation between two mentions of one document (indexes into ``Analysis.mentions``)."""

    subject: int
    object: int
    predicate: str
    open: bool
    extractor: str
    confidence: float


@dataclass(slots=True)
class Analysis:
    """Mentions, relations and sentence spans of one document."""

    doc_id: str
    lang: str
    sentences: list[tuple[int, int]] = field(default_factory=list)
    mentions: list[Mention] = field(default_factory=list)
    relations: list[RawRelation] = field(default_factory=list)


class LanguageExtractor(Protocol):
    """Extracts mentions and relations from documents of one language."""

    name: str

    def analyze(self, docs: list[Document]) -> Iterator[Analysis]:
        """Analyze documents (all of this extractor's language), yielding one Analysis each."""




class Analyzer:
    """Routes documents to the extractor of their language, lazily loading each one once.

    Args:
        schema: domain schema (types, gazetteers, patterns).
        en_model: spaCy pipeline name or path for English.
        ner_model: optional transformers token-classification model path; when set, its entities
            replace spaCy's (English) and the Chinese NER's mentions.
        zh_ner: Chinese NER: ``model`` (the packaged model), ``jieba`` (posseg tags) or a model file.
        open_relations: also extract open (verb-lemma) relations where no schema pattern matched.
    """

    def __init__(self, schema: Schema, *, en_model: str = "en_core_web_sm",
                 ner_model: str | None = None, zh_ner: str = "model", open_relations: bool = True,
                 batch_size: int = 64) -> None:
        self.schema = schema
        self.en_model = en_model
        self.ner_model = ner_model
        self.zh_ner = zh_ner
        self.open_relations = open_relations
        self.batch_size = batch_size
        self._extractors: dict[str, LanguageExtractor] = {}

    def _extractor(self, lang: str) -> LanguageExtractor:
        if lang not in self._extractors:
            tagger = None
            if self.ner_model:
                from extraction.ner_transformers import TransformersTagger

                tagger = TransformersTagger(self.ner_model, self.schema)
            if lang == "zh":
                from extraction.chinese import ChineseExtractor

                self._extractors[lang] = ChineseExtractor(self.schema, tagger=tagger, ner=self.zh_ner,
                                                          open_relations=self.open_relations)
            else:
                from extraction.english import EnglishExtractor

                self._extractors[lang] = EnglishExtractor(
                    self.schema, model=self.en_model, tagger=tagger,
                    open_relations=self.open_relations, batch_size=self.batch_size)
        return self._extractors[lang]

    def analyze(self, docs: Iterable[Document]) -> Iterator[Analysis]:
        """Analyze documents in order, grouped per language inside each call."""
        by_lang: dict[str, list[Document]] = {}
        for doc in docs:
            by_lang.setdefault("zh" if doc.lang == "zh" else "en", []).append(doc)
        for lang in sorted(by_lang):
            yield from self._extractor(lang).analyze(by_lang[lang])
