"""What the retrieval index holds: verbalized facts, entity descriptions and source text chunks.

:func:`collect_items` reads the live graph and returns one :data:`ITEMS` table row per item:

* ``fact``: a live fact (extracted, imported or inferred) in every language both its entity names and
  its relation can be written in, phrased with the schema's first verbalization template (the same
  templates and fallbacks ``kg synth`` uses); a fact no language fits (an English name with a Chinese
  open relation) gets one mixed-script fallback phrasing.
* ``entity``: a live entity: name, type label, aliases and description, in each language its name is
  written in.
* ``chunk``: consecutive sentences of a live document, up to ``chunk_tokens`` tokens (words, or CJK
  characters), with their character span in the document.

Every item has a stable int64 ``id``: a hash of its kind, key, language and text (and span). The index
adds and removes items by id, so a text that changes (a new alias, an edited document) is simply a
removed item plus a new one, and an unchanged item keeps its vector.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from extraction.text import split_sentences_zh, tokens, trimmed_spans
from injection.synth.graph import LANGS, SynthGraph, script_lang
from injection.synth.templates import FALLBACK_STATEMENTS, render, statement_templates
from injection.synth.wording import label_for
from kg.graph import GraphView
from kg.schema import Schema

KINDS: tuple[str, ...] = ("fact", "entity", "chunk")

ITEMS = pa.schema([
    ("id", pa.int64()),          # the faiss id
    ("kind", pa.string()),       # fact | entity | chunk
    ("key", pa.string()),        # fact id, entity id or document id
    ("text", pa.string()),       # what was embedded (and what retrieval shows)
    ("lang", pa.string()),
    ("batch", pa.string()),      # the bundle batch the fact / entity / document comes from
    ("source", pa.string()),     # facts: extracted | inferred | imported; null for entities and chunks
    ("subject", pa.string()),    # facts: subject entity id
    ("predicate", pa.string()),  # facts: relation
    ("object", pa.string()),     # facts: object entity id
    ("start", pa.int64()),       # chunks: character span in the document text
    ("end", pa.int64()),
])
"""Arrow schema of the items table (one row per indexed item)."""

# How an entity is described; the templates of kg synth phrase facts, not entities.
_ENTITY_TEXT = {
    "en": {"type": "{name} ({type}).", "aliases": " Also known as {aliases}.", "sep": ", "},
    "zh": {"type": "{name}（{type}）。", "aliases": "又称{aliases}。", "sep": "、"},
}

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ItemOptions:
    """What :func:`collect_items` indexes.

    Attributes:
        kinds: item kinds to collect (subset of :data:`KINDS`).
        chunk_tokens: most tokens (words, or CJK characters) per source chunk; a longer sentence is
            a chunk of its own (the model truncates it).
    """

    kinds: tuple[str, ...] = KINDS
    chunk_tokens: int = 96


def item_id(kind: str, key: str, lang: str, text: str, start: int | None = None) -> int:
    """Stable positive int64 id of an item (a 63-bit BLAKE2b digest of what defines it)."""
    parts = "\x1f".join((kind, key, lang, "" if start is None else str(start), text))
    return int.from_bytes(hashlib.blake2b(parts.encode("utf-8"), digest_size=8).digest(), "big") >> 1


def collect_items(view: GraphView, schema: Schema, options: ItemOptions | None = None,
                  progress: Progress | None = None) -> pa.Table:
    """All items of the live graph, sorted by id.

    Args:
        view: the live graph (``Bundle.view()``).
        schema: the domain schema (verbalization templates, relation and type labels).
        options: what to collect.
        progress: called as ``(stage, done, total)``.

    Returns:
        A table with the :data:`ITEMS` schema.
    """
    options = options or ItemOptions()
    rows: list[dict] = []
    graph = SynthGraph(view, schema, include_inferred=True)
    if "fact" in options.kinds:
        rows.extend(fact_items(graph, view))
    if "entity" in options.kinds:
        rows.extend(entity_items(graph, view))
    if "chunk" in options.kinds:
        rows.extend(chunk_items(view, options.chunk_tokens, progress))
    # the same text twice under one key (two identical sentences in a document) is one item
    unique = {row["id"]: row for row in rows}
    return pa.Table.from_pylist(sorted(unique.values(), key=lambda r: r["id"]), schema=ITEMS)


def fact_items(graph: SynthGraph, view: GraphView) -> Iterator[dict]:
    """One row per (live fact, language it can be phrased in); see the module docstring."""
    batches = dict(zip(view.facts["id"].to_pylist(), view.facts["batch"].to_pylist(), strict=True))
    for fact in graph.known:  # every live fact, inferred ones included (retrieval marks them)
        texts = {}
        for lang in LANGS:
            subject, obj = graph.name(fact.subject, lang), graph.name(fact.object, lang)
            template = statement_templates(graph, fact.predicate, lang)[0][0]
            label = label_for(graph, fact.predicate, lang, template)
            if subject and obj and label is not None:
                texts[lang] = render(template, subject, obj, label)
        if not texts:
            # names and relation in different scripts: a neutral phrasing in the relation's script
            label = graph.relation_label(fact.predicate, "en")
            lang = script_lang(label) or "en"
            texts[lang] = render(FALLBACK_STATEMENTS[lang][0], graph.entities[fact.subject].name,
                                 graph.entities[fact.object].name, label)
        for lang, text in texts.items():
            yield {"id": item_id("fact", fact.id, lang, text), "kind": "fact", "key": fact.id, "text": text,
                   "lang": lang, "batch": batches.get(fact.id), "source": fact.source,
                   "subject": fact.subject, "predicate": fact.predicate, "object": fact.object}


def entity_items(graph: SynthGraph, view: GraphView) -> Iterator[dict]:
    """One row per (live entity, language its name is written in): name, type label, aliases, description.

    An entity named in both scripts (``Zhang Yiming``, alias ``张一鸣``) gets an item per language, so
    either language's index finds it; one named in neither script gets one item in its own language.
    """
    for row in view.entities.to_pylist():
        names = {lang: graph.name(row["id"], lang) for lang in LANGS}
        langs = [lang for lang, name in names.items() if name] or [
            row["lang"] if row["lang"] in _ENTITY_TEXT else "en"]
        for lang in langs:
            name = names.get(lang) or row["name"]
            words = _ENTITY_TEXT[lang]
            text = words["type"].format(name=name, type=graph.type_label(row["type"], lang))
            aliases = [a for a in dict.fromkeys([row["name"], *(row["aliases"] or ())]) if a != name]
            if aliases:
                text += words["aliases"].format(aliases=words["sep"].join(aliases))
            description = (row["description"] or "").strip()
            if description and script_lang(description) in (lang, None):
                text += (" " if lang == "en" else "") + description
            yield {"id": item_id("entity", row["id"], lang, text), "kind": "entity", "key": row["id"],
                   "text": text, "lang": lang, "batch": row["batch"]}


def chunk_items(view: GraphView, chunk_tokens: int, progress: Progress | None = None) -> Iterator[dict]:
    """Chunks of consecutive sentences of every live document (see :func:`sentence_spans`)."""
    documents = view.documents.select(["id", "text", "lang", "batch"]).to_pylist()
    for done, doc in enumerate(documents, 1):
        text, lang = doc["text"] or "", doc["lang"] or "und"
        for start, end in pack_sentences(text, sentence_spans(text, lang), chunk_tokens):
            chunk = text[start:end]
            yield {"id": item_id("chunk", doc["id"], lang, chunk, start), "kind": "chunk", "key": doc["id"],
                   "text": chunk, "lang": lang, "batch": doc["batch"], "start": start, "end": end}
        if progress is not None:
            progress("chunk", done, len(documents))


def sentence_spans(text: str, lang: str) -> list[tuple[int, int]]:
    """Sentence ``(start, end)`` character spans of a document.

    Chinese splits on sentence-final punctuation (the extraction's splitter); other languages use
    spaCy's rule-based sentencizer on a blank pipeline, which needs no model and no parse.
    """
    if lang == "zh":
        return split_sentences_zh(text)
    nlp = _sentencizer(lang)
    return trimmed_spans(text, ((sent.start_char, sent.end_char) for sent in nlp(text).sents))


_SENTENCIZERS: dict[str, object] = {}


def _sentencizer(lang: str):
    nlp = _SENTENCIZERS.get(lang)
    if nlp is None:
        import spacy

        try:
            nlp = spacy.blank(lang)
        except ImportError:  # no spaCy language class: the multi-language tokenizer splits as well
            nlp = spacy.blank("xx")
        nlp.add_pipe("sentencizer")
        nlp.max_length = 10**8  # a sentencizer needs no parse memory; kg build caps documents already
        _SENTENCIZERS[lang] = nlp
    return nlp


def pack_sentences(text: str, spans: list[tuple[int, int]], max_tokens: int) -> list[tuple[int, int]]:
    """Greedily join consecutive sentence spans while the chunk stays within ``max_tokens`` tokens."""
    chunks: list[tuple[int, int]] = []
    start = end = None
    size = 0
    for s, e in spans:
        n = len(tokens(text[s:e]))
        if start is not None and size + n > max_tokens:
            chunks.append((start, end))
            start = None
        if start is None:
            start, size = s, 0
        end, size = e, size + n
    if start is not None:
        chunks.append((start, end))
    return chunks


__all__ = ["ITEMS", "KINDS", "ItemOptions", "chunk_items", "collect_items", "entity_items", "fact_items",
           "item_id", "pack_sentences", "sentence_spans"]
