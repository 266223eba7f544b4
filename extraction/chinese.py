"""Chinese extraction with jieba: posseg NER (nr/ns/nt + schema gazetteers as a user dictionary),
regex relation patterns over entity-masked sentences, and open entity-verb-entity relations."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from extraction.analysis import Analysis, RawRelation
from extraction.text import split_sentences_zh
from kg.model import Document, Mention
from kg.schema import Schema

EXTRACTOR_NER = "jieba"
EXTRACTOR_RE = "zh-pattern"
EXTRACTOR_OPEN = "zh-open"
_GAZ_TAG = "kg:"  # tag prefix for gazetteer words, so a dictionary hit maps straight to its type
_OPEN = "\ue000"
_CLOSE = "\ue001"
_PLACEHOLDER = _OPEN + r"(\d+)" + _CLOSE
_NEGATION = re.compile(r"没有|并未|并非|未曾|不是|未|不曾")
_CLAUSE = re.compile(r"[，,、；;：:（）()]")
_MAX_OPEN_GAP = 8  # characters between two mentions for an open relation


def _has_cjk(text: str) -> bool:
    return any("\u3400" <= c <= "\u9fff" for c in text)


class ChineseExtractor:
    """jieba-based extractor for Chinese documents."""

    name = "zh"

    def __init__(self, schema: Schema, *, tagger=None, open_relations: bool = True) -> None:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)  # jieba logs dictionary loading at INFO on stderr
        self.schema = schema
        self.tagger = tagger
        self.open_relations = open_relations
        tokenizer = jieba.Tokenizer()
        for type_name, etype in schema.entity_types.items():
            for entry in etype.gazetteer:
                for surface in (entry.name, *entry.aliases):
                    if surface and _has_cjk(surface):
                        # a high frequency makes jieba keep the whole name as one word
                        tokenizer.add_word(surface, freq=100_000, tag=_GAZ_TAG + type_name)
        self.posseg = jieba.posseg.POSTokenizer(tokenizer)
        self.patterns: list[tuple[str, re.Pattern]] = []
        for rel_name, rel in schema.relation_types.items():
            for pattern in rel.patterns.zh:
                regex = (pattern.regex.replace("{subject}", f"(?P<subject>{_PLACEHOLDER})")
                         .replace("{object}", f"(?P<object>{_PLACEHOLDER})"))
                # the placeholder's inner group is unnamed; rename to keep both slots addressable
                self.patterns.append((rel_name, re.compile(regex)))

    def _type_for(self, flag: str, word: str) -> str | None:
        if flag.startswith(_GAZ_TAG):
            return flag[len(_GAZ_TAG):]
        if flag in ("nr", "nrfg") and len(word) < 2:  # single-character "names" are mostly noise
            return None
        return self.schema.type_for_label("jieba", flag)

    def analyze(self, docs: list[Document]) -> Iterator[Analysis]:
        """Segment, tag and extract each document."""
        for doc in docs:
            yield self._analyze_one(doc)

    def _sentence_mentions(self, doc: Document, index: int, start: int, end: int,
                           words: list[tuple[str, str]] | None) -> list[Mention]:
        mentions = []
        if self.tagger is not None:
            for m_start, m_end, label in self.tagger.tag(doc.text[start:end]):
                mentions.append(Mention(doc.id, index, start + m_start, start + m_end,
                                        doc.text[start + m_start:start + m_end], label,
                                        extractor=self.tagger.name, confidence=0.9))
            return mentions
        offset = start
        for word, flag in words or []:
            etype = self._type_for(flag, word)
            if etype is not None:
                confidence = 1.0 if flag.startswith(_GAZ_TAG) else 0.8
                mentions.append(Mention(doc.id, index, offset, offset + len(word), word, etype,
                                        extractor=EXTRACTOR_NER, confidence=confidence))
            offset += len(word)
        return mentions

    def _analyze_one(self, doc: Document) -> Analysis:
        result = Analysis(doc_id=doc.id, lang="zh", sentences=split_sentences_zh(doc.text))
        for index, (start, end) in enumerate(result.sentences):
            sentence = doc.text[start:end]
            words = None if self.tagger is not None else [
                (pair.word, pair.flag) for pair in self.posseg.cut(sentence)]
            first = len(result.mentions)
            result.mentions.extend(self._sentence_mentions(doc, index, start, end, words))
            if len(result.mentions) - first >= 2:
                self._relations(sentence, start, first, result, words)
        return result

    def _relations(self, sentence: str, sent_start: int, first: int, result: Analysis,
                   words: list[tuple[str, str]] | None) -> None:
        mentions = result.mentions
        local = list(range(first, len(mentions)))
        # mask every mention as \ue000<index>\ue001 so patterns see entities as single symbols
        parts, cursor = [], sent_start
        for idx in local:
            m = mentions[idx]
            parts.append(sentence[cursor - sent_start:m.start - sent_start])
            parts.append(f"{_OPEN}{idx}{_CLOSE}")
            cursor = m.end
        parts.append(sentence[cursor - sent_start:])
        masked = "".join(parts)
        linked: set[tuple[int, int]] = set()
        for rel_name, regex in self.patterns:
            rel = self.schema.relation_types[rel_name]
            for match in regex.finditer(masked):
                if _NEGATION.search(match.group(0)):
                    continue
                s = int(match.group("subject")[1:-1])
                o = int(match.group("object")[1:-1])
                if s == o or (s, o) in linked:
                    continue
                if mentions[s].type != rel.domain or mentions[o].type != rel.range:
                    continue
                linked.add((s, o))
                result.relations.append(RawRelation(s, o, rel_name, False, EXTRACTOR_RE, 0.9))
        if self.open_relations and words is not None:
            self._open_relations(masked, words, linked, result)

    def _open_relations(self, masked: str, words: list[tuple[str, str]],
                        linked: set[tuple[int, int]], result: Analysis) -> None:
        verbs = {w for w, flag in words if flag.startswith("v") and len(w) >= 2}
        if not verbs:
            return
        slots = list(re.finditer(_PLACEHOLDER, masked))
        for left, right in zip(slots, slots[1:]):
            gap = masked[left.end():right.start()]
            # a comma ends the clause: "腾讯由马化腾创立，总部在深圳" must not link 马化腾 to 深圳
            if not gap or len(gap) > _MAX_OPEN_GAP or _NEGATION.search(gap) or _CLAUSE.search(gap):
                continue
            verb = next((v for v in sorted(verbs, key=len, reverse=True) if v in gap), None)
            if verb is None:
                continue
            s, o = int(left.group(1)), int(right.group(1))
            if (s, o) in linked or (o, s) in linked:
                continue
            linked.add((s, o))
            result.relations.append(RawRelation(s, o, verb, True, EXTRACTOR_OPEN, 0.5))
