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
_NAME_DOT = "·"  # joins the parts of a transliterated name (史蒂夫·乔布斯); jieba splits on it
# administrative suffixes that jieba sometimes leaves as separate words after a place name
_PLACE_SUFFIXES = frozenset({"省", "市", "县", "区", "州", "镇"})
# heads that turn the preceding words into a school or institute (重庆 建筑 工程学院)
_SCHOOL_SUFFIXES = ("大学", "学院", "分校", "研究院", "研究所")
_MAX_NAME_WORDS = 4
# coordinated mentions: 马云、蔡崇信和张勇 / 抖音和TikTok
_COORDINATION = re.compile(_PLACEHOLDER.replace("(", "(?:") + r"(?:(?:、|和|与|及|以及)"
                           + _PLACEHOLDER.replace("(", "(?:") + ")+")
_RESPECTIVELY = "分别"


_CJK = re.compile("[\u3400-\u9fff]")


def _has_cjk(text: str) -> bool:
    return _CJK.search(text) is not None


class ChineseExtractor:
    """jieba-based extractor for Chinese documents."""

    name = "zh"

    def __init__(self, schema: Schema, *, tagger=None, open_relations: bool = True) -> None:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)  # jieba logs dictionary loading at INFO on stderr
        self.schema = schema
        # jieba tag -> entity type, looked up once per token on the hot path
        self._jieba_types = {tag: name for name, etype in reversed(list(schema.entity_types.items()))
                             for tag in etype.ner.jieba}
        self.tagger = tagger
        self.open_relations = open_relations
        tokenizer = jieba.Tokenizer()
        self.gazetteer_tags: dict[str, str] = {}
        for type_name, etype in schema.entity_types.items():
            for entry in etype.gazetteer:
                for surface in (entry.name, *entry.aliases):
                    if surface and _has_cjk(surface):
                        # a high frequency makes jieba keep the whole name as one word
                        tokenizer.add_word(surface, freq=100_000, tag=_GAZ_TAG + type_name)
                        self.gazetteer_tags[surface] = _GAZ_TAG + type_name
        self.posseg = jieba.posseg.POSTokenizer(tokenizer)
        self.patterns: list[tuple[str, re.Pattern]] = []
        for rel_name, rel in schema.relation_types.items():
            for pattern in rel.patterns.zh:
                regex = (pattern.regex.replace("{subject}", f"(?P<subject>{_PLACEHOLDER})")
                         .replace("{object}", f"(?P<object>{_PLACEHOLDER})"))
                # the placeholder's inner group is unnamed; rename to keep both slots addressable
                self.patterns.append((rel_name, re.compile(regex)))

    def _merge_words(self, words: list[tuple[str, str]]) -> list[tuple[str, str]]:
        """Re-join names that jieba splits: transliterated names around "·", a place name and its
        administrative suffix (贵州 + 省), and school names ending in 大学/学院/分校."""
        out: list[tuple[str, str]] = []
        i = 0
        while i < len(words):
            word, flag = words[i]
            # 史蒂夫 · 乔布斯 (· 罗纳德 ...): CJK parts joined by the name dot
            # (cheapest test first: this runs for every word of every sentence)
            if i + 2 < len(words) and words[i + 1][0] == _NAME_DOT and _has_cjk(word) \
                    and _has_cjk(words[i + 2][0]):
                j = i
                parts = [word]
                while j + 2 < len(words) and words[j + 1][0] == _NAME_DOT and _has_cjk(words[j + 2][0]):
                    parts.append(words[j + 2][0])
                    j += 2
                name = _NAME_DOT.join(parts)
                out.append((name, self.gazetteer_tags.get(name, "nr")))
                i = j + 1
                continue
            if flag == "ns" and i + 1 < len(words) and words[i + 1][0] in _PLACE_SUFFIXES:
                out.append((word + words[i + 1][0], "ns"))
                i += 2
                continue
            out.append((word, flag))
            i += 1
        # 重庆/ns 建筑/n 工程学院/n -> 重庆建筑工程学院/nt ; 布法罗/nr 分校/n after a school -> one name
        merged: list[tuple[str, str]] = []
        for word, flag in out:
            if word.endswith(_SCHOOL_SUFFIXES) and not flag.startswith(_GAZ_TAG) and flag != "nt":
                parts = [word]
                while (merged and len(parts) < _MAX_NAME_WORDS and _has_cjk(merged[-1][0])
                       and merged[-1][1] in ("ns", "nr", "nz", "n", "nt", "j", "vn")
                       and not merged[-1][1].startswith(_GAZ_TAG)):
                    prev = merged.pop()
                    parts.insert(0, prev[0])
                    if prev[1] in ("ns", "nt"):
                        break  # a place or school name starts the full name
                if len(parts) > 1 or word not in _SCHOOL_SUFFIXES:
                    merged.append(("".join(parts), "nt"))
                    continue
                merged.extend((w, "n") for w in parts)
                continue
            merged.append((word, flag))
        return merged

    def _type_for(self, flag: str, word: str) -> str | None:
        if flag.startswith(_GAZ_TAG):
            return flag[len(_GAZ_TAG):]
        if flag in ("nr", "nrfg") and len(word) < 2:  # single-character "names" are mostly noise
            return None
        return self._jieba_types.get(flag)

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
            words = None if self.tagger is not None else self._merge_words(
                [(pair.word, pair.flag) for pair in self.posseg.cut(sentence)])
            first = len(result.mentions)
            result.mentions.extend(self._sentence_mentions(doc, index, start, end, words))
            candidates = self._untyped_candidates(doc, index, start, words, result.mentions[first:])
            if len(result.mentions) - first + len(candidates) >= 2:
                self._relations(sentence, start, first, result, words, candidates)
        return result

    @staticmethod
    def _untyped_candidates(doc: Document, index: int, start: int,
                            words: list[tuple[str, str]] | None, typed: list[Mention]) -> list[Mention]:
        """Latin-script names (OpenAI, WhatsApp, MIUI) that jieba cannot type: they become mentions
        only when a relation pattern gives them a role (and with it a type)."""
        found = []
        offset = start
        taken = {(m.start, m.end) for m in typed}
        for word, flag in words or []:
            if (flag == "eng" and word[:1].isupper() and len(word) > 1
                    and (offset, offset + len(word)) not in taken):
                found.append(Mention(doc.id, index, offset, offset + len(word), word, "",
                                     extractor=EXTRACTOR_NER, confidence=0.6))
            offset += len(word)
        return found

    def _relations(self, sentence: str, sent_start: int, first: int, result: Analysis,
                   words: list[tuple[str, str]] | None, candidates: list[Mention] | None = None) -> None:
        mentions = result.mentions
        # jieba-typed mentions (not gazetteer hits) may take the type their role demands:
        # in "王兴创立了美团" 美团 founds nothing, it is founded, so it is an organization
        # (place names are left alone: jieba tags them reliably, and "收购了以色列公司X" must not
        # turn 以色列 into the company)
        coercible = {i for i in range(first, len(mentions))
                     if mentions[i].confidence < 1.0 and mentions[i].type != "Location"}
        # untyped candidates go to the end of the mention list; unused ones are dropped below
        n_typed = len(mentions)
        for cand in sorted(candidates or [], key=lambda m: m.start):
            coercible.add(len(mentions))
            mentions.append(cand)
        # mask every mention as \ue000<index>\ue001 so patterns see entities as single symbols
        masked = self._mask(sentence, sent_start, range(first, len(mentions)), mentions)
        groups: dict[int, list[int]] = {}
        if _RESPECTIVELY not in sentence:  # "A和B分别由C和D创立" pairs them up, not all with all
            for run in _COORDINATION.finditer(masked):
                members = [int(i) for i in re.findall(_PLACEHOLDER, run.group(0))]
                for idx in members:
                    groups[idx] = members
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
                s_ok, o_ok = mentions[s].type == rel.domain, mentions[o].type == rel.range
                if not (s_ok and o_ok):
                    # at most the arguments the NER was unsure of take their role's type
                    if (not s_ok and s not in coercible) or (not o_ok and o not in coercible):
                        continue
                    for idx, want in ((s, rel.domain), (o, rel.range)):
                        if mentions[idx].type != want:
                            mentions[idx].type = want
                            coercible.discard(idx)
                # a coordinated argument stands for every conjunct of the same type
                for s2 in groups.get(s, [s]) if o not in groups.get(s, []) else [s]:
                    for o2 in groups.get(o, [o]) if s not in groups.get(o, []) else [o]:
                        if (s2, o2) in linked or s2 == o2 or mentions[s2].type != rel.domain \
                                or mentions[o2].type != rel.range:
                            continue
                        linked.add((s2, o2))
                        result.relations.append(
                            RawRelation(s2, o2, rel_name, False, EXTRACTOR_RE, 0.9))
        self._drop_unused(result, n_typed, linked)
        linked = {pair for pair in linked if max(pair) < len(mentions)}
        # the masked sentence still numbers dropped candidates; rebuild it for open relations
        masked = self._mask(sentence, sent_start, range(first, len(mentions)), mentions)
        if self.open_relations and words is not None:
            self._open_relations(masked, words, linked, result)

    @staticmethod
    def _mask(sentence: str, sent_start: int, indexes, mentions: list[Mention]) -> str:
        parts, cursor = [], sent_start
        for idx in sorted(indexes, key=lambda i: mentions[i].start):
            m = mentions[idx]
            parts.append(sentence[cursor - sent_start:m.start - sent_start])
            parts.append(f"{_OPEN}{idx}{_CLOSE}")
            cursor = m.end
        parts.append(sentence[cursor - sent_start:])
        return "".join(parts)

    @staticmethod
    def _drop_unused(result: Analysis, n_typed: int, linked: set[tuple[int, int]]) -> None:
        """Remove untyped candidates that no relation used, renumbering the ones kept."""
        mentions = result.mentions
        if len(mentions) == n_typed:
            return
        keep = [i for i in range(n_typed, len(mentions)) if mentions[i].type]
        remap = {old: n_typed + k for k, old in enumerate(keep)}
        kept = [mentions[i] for i in keep]
        del mentions[n_typed:]
        mentions.extend(kept)
        for rel in result.relations:
            rel.subject = remap.get(rel.subject, rel.subject)
            rel.object = remap.get(rel.object, rel.object)
        remapped = {(remap.get(a, a), remap.get(b, b)) for a, b in linked}
        linked.clear()
        linked.update(remapped)

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
            # the longest verb in the gap, the earliest on a tie (never set order: ids must be stable)
            found = [(-len(v), gap.index(v), v) for v in verbs if v in gap]
            if not found:
                continue
            verb = min(found)[2]
            s, o = int(left.group(1)), int(right.group(1))
            if (s, o) in linked or (o, s) in linked:
                continue
            linked.add((s, o))
            result.relations.append(RawRelation(s, o, verb, True, EXTRACTOR_OPEN, 0.5))
