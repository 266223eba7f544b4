"""Chinese extraction: the packaged NER model (or jieba posseg) with the schema's gazetteers, regex
relation patterns over entity-masked sentences, and open entity-verb-entity relations.

Entities come from, in order of precedence:

1. the schema's gazetteers, loaded into jieba as a user dictionary: domain terms always win, and a
   model span that overlaps one is dropped;
2. the NER model (``ner="model"``: :mod:`extraction.zh_ner`, a BiLSTM-CRF trained on MSRA, or a
   model file), whose PER/LOC/ORG labels map onto the schema's types through ``ner.zh_ner`` (or,
   when no type lists any, as jieba's nr/ns/nt do); single characters (中, 美) are left out, as
   abbreviations a graph cannot resolve;
3. jieba's other proper-noun tags the schema maps (``nz``, custom tags) where no span above covers them.

``ner="jieba"`` uses jieba posseg's nr/ns/nt instead of the model (the earlier default, no torch).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

from extraction.analysis import Analysis, RawRelation
from extraction.text import split_sentences_zh
from kg.model import Document, Mention
from kg.schema import Schema

EXTRACTOR_NER = "jieba"
EXTRACTOR_MODEL = "zh-ner"
MODEL_JIEBA_TAGS = {"PER": "nr", "LOC": "ns", "ORG": "nt"}
"""The jieba tag whose schema mapping a model label takes when no type lists ``ner.zh_ner`` labels."""
_MODEL_REPLACES = frozenset({"nr", "nrfg", "nrt", "ns", "nt"})  # jieba tags the model's labels stand for
_MODEL_CONFIDENCE = 0.85
MODEL_BATCH_SENTENCES = 256
"""Sentences the NER model tags per call (documents are grouped until they fill it)."""
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


_CLAUSE_SPLIT = re.compile(r"[，,；;]")
_LEADING_PLACEHOLDER = re.compile(_PLACEHOLDER)


def _topic_clauses(masked: str) -> list[tuple[str, int]]:
    """Clauses without a subject of their own, each with the sentence's topic put in front.

    Chinese drops the subject a sentence has already given: in "黄仁勋出生于台南，是英伟达的首席执行官"
    the second clause is about 黄仁勋 too. The topic is the entity a clause starts with; a later clause
    that starts with no entity (是…, 后在…, 曾任…) inherits it, and one that starts with an entity
    becomes the new topic. Returns (topic placeholder + clause, topic mention index) pairs; a pattern
    match on one counts only when the topic is one of its arguments.
    """
    out: list[tuple[str, int]] = []
    topic: tuple[str, int] | None = None
    for clause in _CLAUSE_SPLIT.split(masked):
        lead = _LEADING_PLACEHOLDER.match(clause)
        if lead is not None:
            topic = (lead.group(0), int(lead.group(1)))
        elif topic is not None and _OPEN in clause:
            out.append((topic[0] + clause, topic[1]))
    return out


_LATIN = re.compile(r"[A-Za-z0-9]")
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")
_NOT_NAME_SUFFIXES = ("总部",)  # "中兴通讯总部": the headquarters, not part of the name


def _tidy_span(text: str, start: int, end: int, lo: int, hi: int) -> tuple[int, int]:
    """A model span made name-shaped: whole Latin words (WhatsA|pp -> WhatsApp), no punctuation at its
    edges, no trailing 总部. ``lo``/``hi`` bound the sentence."""
    while start > lo and _LATIN.match(text[start - 1]) and _LATIN.match(text[start]):
        start -= 1
    while end < hi and _LATIN.match(text[end]) and _LATIN.match(text[end - 1]):
        end += 1
    for suffix in _NOT_NAME_SUFFIXES:
        if text.endswith(suffix, start, end):
            end -= len(suffix)
    edges = _EDGE_PUNCT.search(text[start:end])
    while edges is not None and edges.end() > edges.start():
        if edges.start() == 0:
            start += edges.end()
        else:
            end = start + edges.start()
        edges = _EDGE_PUNCT.search(text[start:end]) if end > start else None
    return start, max(start, end)


def _model_runtime() -> bool:
    """Whether the NER model's libraries are installed (the ml extra)."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("torch", "torchcrf"))


def _overlaps(start: int, end: int, spans: list[tuple[int, int]]) -> bool:
    return any(start < b and a < end for a, b in spans)


class ChineseExtractor:
    """Extractor for Chinese documents (see the module docstring).

    Args:
        schema: types, gazetteers and relation patterns.
        tagger: a tagger with ``tag(text) -> [(start, end, type)]`` that replaces every other NER
            (the transformers tagger).
        ner: ``model`` (the packaged Chinese NER model), ``jieba`` (posseg tags only) or the path of a
            model file written by ``python -m extraction.zh_ner.train``.
        open_relations: also extract open entity-verb-entity relations.

    Raises:
        ConfigError: the model cannot be loaded (the message names the fix).
    """

    name = "zh"

    def __init__(self, schema: Schema, *, tagger=None, ner: str = "model", open_relations: bool = True) -> None:
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
        self.model = None
        if tagger is None and ner == "model" and not _model_runtime():
            # the default on an install without the ml extra: still build, with jieba's names
            logging.getLogger(__name__).warning(
                "the Chinese NER model needs torch and pytorch-crf (pip install 'kg[ml]'); using jieba posseg "
                "NER instead (set [extraction] zh_ner = \"jieba\" to silence this)")
        elif tagger is None and ner != "jieba":
            from extraction.zh_ner.tagger import ChineseNer

            self.model = ChineseNer(None if ner == "model" else ner)
        explicit = any(etype.ner.zh_ner for etype in schema.entity_types.values())
        self._model_types = {label: (schema.type_for_label("zh_ner", label) if explicit
                                     else self._jieba_types.get(tag))
                             for label, tag in MODEL_JIEBA_TAGS.items()}
        # what the model sees of a gazetteer word: the tag jieba gives such names (nr for a person)
        self._gazetteer_features = {_GAZ_TAG + name: (etype.ner.jieba[0] if etype.ner.jieba else "nz")
                                    for name, etype in schema.entity_types.items()}
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
        """Segment, tag and extract each document.

        The NER model tags the sentences of up to :data:`MODEL_BATCH_SENTENCES` sentences' worth of
        documents at a time: short documents (posts, one-sentence records) still fill its batches.
        """
        pending: list[tuple[Document, list[tuple[int, int]], list[str], list | None]] = []
        count = 0
        for doc in docs:
            sentences = split_sentences_zh(doc.text)
            texts = [doc.text[start:end] for start, end in sentences]
            raw = None if self.tagger is not None else [
                [(pair.word, pair.flag) for pair in self.posseg.cut(text)] for text in texts]
            pending.append((doc, sentences, texts, raw))
            count += len(texts)
            if count >= MODEL_BATCH_SENTENCES:
                yield from self._finish(pending)
                pending, count = [], 0
        yield from self._finish(pending)

    def _finish(self, pending: list[tuple[Document, list[tuple[int, int]], list[str], list | None]]
                ) -> Iterator[Analysis]:
        """Tag the pending documents' sentences in one model call, then extract each document."""
        found: list[list[tuple[int, int, str]]] | None = None
        if self.model is not None and pending and pending[0][3] is not None:
            texts = [t for _, _, doc_texts, _ in pending for t in doc_texts]
            words = [[(w, self._gazetteer_features.get(f, f)) for w, f in sentence]
                     for _, _, _, raw in pending for sentence in raw or []]
            found = self.model.tag_batch(texts, words)
        offset = 0
        for doc, sentences, texts, raw in pending:
            spans = None if found is None else found[offset:offset + len(texts)]
            offset += len(texts)
            yield self._analyze_one(doc, sentences, texts, raw, spans)

    def _sentence_mentions(self, doc: Document, index: int, start: int, end: int,
                           words: list[tuple[str, str]] | None,
                           model_spans: list[tuple[int, int, str]] | None = None) -> list[Mention]:
        mentions = []
        if self.tagger is not None:
            for m_start, m_end, label in self.tagger.tag(doc.text[start:end]):
                mentions.append(Mention(doc.id, index, start + m_start, start + m_end,
                                        doc.text[start + m_start:start + m_end], label,
                                        extractor=self.tagger.name, confidence=0.9))
            return mentions
        taken: list[tuple[int, int]] = []
        if model_spans is not None:
            offset = start
            for word, flag in words or []:  # gazetteer hits first: domain terms win over the model
                if flag.startswith(_GAZ_TAG):
                    mentions.append(Mention(doc.id, index, offset, offset + len(word), word,
                                            flag[len(_GAZ_TAG):], extractor=EXTRACTOR_NER, confidence=1.0))
                    taken.append((offset, offset + len(word)))
                offset += len(word)
            for m_start, m_end, label in model_spans:
                etype = self._model_types.get(label)
                a, b = _tidy_span(doc.text, start + m_start, start + m_end, start, end)
                if etype is None or b - a < 2 or _overlaps(a, b, taken):
                    continue
                mentions.append(Mention(doc.id, index, a, b, doc.text[a:b], etype, extractor=EXTRACTOR_MODEL,
                                        confidence=_MODEL_CONFIDENCE))
                taken.append((a, b))
        offset = start
        for word, flag in words or []:
            a, b = offset, offset + len(word)
            offset = b
            if model_spans is not None and (flag.startswith(_GAZ_TAG) or flag in _MODEL_REPLACES
                                            or _overlaps(a, b, taken)):
                continue
            etype = self._type_for(flag, word)
            if etype is not None:
                confidence = 1.0 if flag.startswith(_GAZ_TAG) else 0.8
                mentions.append(Mention(doc.id, index, a, b, word, etype,
                                        extractor=EXTRACTOR_NER, confidence=confidence))
        mentions.sort(key=lambda m: m.start)
        return mentions

    def _analyze_one(self, doc: Document, sentences: list[tuple[int, int]], texts: list[str],
                     raw: list[list[tuple[str, str]]] | None, found: list | None) -> Analysis:
        result = Analysis(doc_id=doc.id, lang="zh", sentences=sentences)
        for index, (start, end) in enumerate(result.sentences):
            sentence = texts[index]
            words = None if raw is None else self._merge_words(raw[index])
            first = len(result.mentions)
            result.mentions.extend(self._sentence_mentions(doc, index, start, end, words,
                                                           None if found is None else found[index]))
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
        # the sentence itself, then each clause whose subject is dropped with the topic put back
        texts: list[tuple[str, int | None]] = [(masked, None), *_topic_clauses(masked)]
        for rel_name, regex in self.patterns:
            rel = self.schema.relation_types[rel_name]
            for match, topic in ((m, t) for text, t in texts for m in regex.finditer(text)):
                if _NEGATION.search(match.group(0)):
                    continue
                s = int(match.group("subject")[1:-1])
                o = int(match.group("object")[1:-1])
                if s == o or (s, o) in linked or (topic is not None and topic not in (s, o)):
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
