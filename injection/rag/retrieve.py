"""Graph-aware retrieval: link the query's entities, expand the graph around them, rank by fusion.

:class:`Retriever` loads once (the index, the live graph, the alias dictionary, BM25, the embedding
models) and then answers :meth:`Retriever.retrieve` from any number of threads:

1. **Language**: the query's language (:mod:`injection.rag.lang`) picks the embedding space, the BM25
   index and the language of the ``context``; ``langs`` can search more item languages at once.
2. **Entity linking** (:mod:`injection.rag.linking`): names and aliases of the query's entities, in
   either script (jieba cuts Chinese).
3. **k-hop expansion** (:meth:`injection.rag.graph.MemoryGraph.expand`): the facts within ``hops``
   edges of the linked entities; facts on a path that joins two linked entities count as closest.
4. **Candidates**: the expansion, plus the best facts by vector similarity (faiss) and by BM25, so a
   query whose entities are not linked still finds facts.
5. **Fusion**: reciprocal-rank fusion (RRF) of three rankings of the candidates: vector similarity
   (cosine of the query and the fact's text, for every candidate, not just faiss' top hits), BM25,
   and graph distance (hops from a linked entity; ties share a rank). RRF was chosen over a
   weighted sum of scores because the three scales (cosine, unbounded BM25, hop counts) cannot be
   compared, and rank fusion needs no per-graph calibration; a fact only one signal sees still
   scores, and one that all three rank high wins. ``RRF_K`` = 60 as in Cormack et al. (2009).
6. **Result**: the top facts (inferred ones marked with their score), paths from the linked entities,
   source sentences with their document ids, numbered citations, and a ready ``context``
   (:mod:`injection.rag.context`).

``mode="vector"`` and ``mode="lexical"`` rank by one signal alone (the baselines of
``benchmarks/bench_retrieve.py``).
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.compute as pc

from injection.rag.context import (
    CONTEXT_LANGS,
    ContextFact,
    ContextSource,
    document_label,
    render_context,
)
from injection.rag.graph import Edge, Expansion, MemoryGraph
from injection.rag.index import RagIndex, Space
from injection.rag.lang import LanguageDetector
from injection.rag.lexical import LexicalIndex
from injection.rag.linking import AliasDictionary, Link, Tokenizer, has_cjk
from injection.synth.templates import FALLBACK_STATEMENTS, render
from kg.errors import InputError, WorkspaceError
from kg.schema import Schema

MODES: tuple[str, ...] = ("hybrid", "vector", "lexical")
RRF_K = 60
"""Rank offset of reciprocal-rank fusion: 1 / (RRF_K + rank) per ranking."""
SIGNAL_WEIGHTS: dict[str, float] = {"vector": 1.0, "lexical": 1.0, "graph": 1.0}
"""Weight of each ranking in the fusion."""
QUOTE_CHARS = 240
"""Longest quote of one sentence or passage in the context."""
MAX_PHRASED = 24
"""Facts near the query's entities phrased and embedded per query when the index has no text for them
in the query's language (see :meth:`Retriever._similarities`)."""
_PHRASED_CACHE = 50_000  # phrased-fact vectors kept between queries (per server)
PREFERRED_FACTS = 200
"""BM25 hits (the query's words besides entity names) a linked hub's facts are put in order by when
they overflow the expansion budget (see :meth:`MemoryGraph.expand`)."""

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetrieveOptions:
    """What :meth:`Retriever.retrieve` returns and how far it looks.

    Attributes:
        k: facts returned.
        hops: graph expansion depth from the linked entities (0: no expansion).
        lang: the query's language; None detects it.
        langs: item languages searched (vector and BM25); empty: the query's language.
        mode: ``hybrid`` (graph-aware fusion), ``vector`` or ``lexical`` alone.
        include_inferred: whether facts proposed by ``kg complete`` may be returned.
        sentences: most source sentences returned (evidence of the facts first, then passages).
        paths: most paths returned.
        depth: candidates taken from faiss and from BM25 each (at least ``5 * k``).
        max_facts: fact budget of the graph expansion.
        max_context_chars: longest ``context``.
    """

    k: int = 8
    hops: int = 2
    lang: str | None = None
    langs: tuple[str, ...] = ()
    mode: str = "hybrid"
    include_inferred: bool = True
    sentences: int = 6
    paths: int = 5
    depth: int = 50
    max_facts: int = 300
    max_context_chars: int = 4000


@dataclass
class RetrievedFact:
    """A fact in a result; ``signals`` holds its cosine, BM25 score and hops (None: not seen by it)."""

    id: str
    subject: dict[str, str]
    predicate: str
    relation: str
    object: dict[str, str]
    text: str
    source: str
    inferred: bool
    confidence: float
    score: float
    signals: dict[str, float | int | None]
    citations: list[int] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)


@dataclass
class Retrieval:
    """The answer to one query (:meth:`to_dict` is the HTTP response body)."""

    query: str
    lang: str
    context_lang: str
    langs: list[str]
    mode: str
    entities: list[dict[str, Any]]
    facts: list[RetrievedFact]
    paths: list[dict[str, Any]]
    sentences: list[dict[str, Any]]
    citations: list[dict[str, Any]]
    context: str
    warnings: list[str]
    bundle_version: int
    took_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready data (shallow: a response is serialized once, and ``asdict``'s deep copies
        took a sixth of a request)."""
        data = dict(self.__dict__)
        data["facts"] = [dict(fact.__dict__) for fact in self.facts]
        return data


def bundle_version_on_disk(ws_path: Path) -> int:
    """The bundle version as it is on disk now (not a cached manifest)."""
    from kg.bundle import Bundle

    return Bundle(Path(ws_path) / "bundle").version


def stale_message(ws_path: Path, index_version: int, bundle_version: int) -> str:
    """What to tell a user whose index is older than the bundle."""
    return (f"the retrieval index is older than the bundle (built from bundle version {index_version}, the "
            f"bundle is at {bundle_version}); run `kg index -w {ws_path}` and restart `kg serve`")


class Retriever:
    """Graph-aware retrieval over one workspace (see the module docstring). Use :meth:`open`."""

    def __init__(self, ws_path: Path, index: RagIndex, graph: MemoryGraph, schema: Schema,
                 bundle_version: int) -> None:
        self.ws_path = Path(ws_path)
        self.index = index
        self.graph = graph
        self.schema = schema
        self.bundle_version = bundle_version
        self.detector = LanguageDetector()
        # (fact id, lang) -> (item id, text): the fact's phrasing in each language it has
        self.fact_items: dict[tuple[str, str], tuple[int, str]] = {}
        self._item_ids: dict[str, dict[str, int]] = defaultdict(dict)  # lang -> fact id -> item id
        texts: dict[str, tuple[list[str], list[str]]] = defaultdict(lambda: ([], []))
        for space in index.spaces.values():
            facts = space.items.filter(pc.equal(space.items["kind"], "fact")).select(["id", "key", "lang", "text"])
            for item, key, lang, text in zip(*(facts[c].to_pylist() for c in ("id", "key", "lang", "text")),
                                             strict=True):
                if key in graph.facts:
                    self.fact_items[(key, lang)] = (item, text)
                    self._item_ids[lang][key] = item
                    texts[lang][0].append(key)
                    texts[lang][1].append(text)
        surfaces = (s for node in graph.entities.values() for s in (node.name, *node.aliases))
        self.tokenizer = Tokenizer(s for s in surfaces if has_cjk(s))
        self.aliases = AliasDictionary(((n.id, n.name, n.aliases) for n in graph.entities.values()),
                                       self.tokenizer)
        self.lexical: dict[str, LexicalIndex] = {
            lang: LexicalIndex(keys, values, self.tokenizer) for lang, (keys, values) in sorted(texts.items())}
        self.item_langs: list[str] = sorted({lang for space in index.spaces.values() for lang in space.langs})
        self._embed_locks = {name: threading.Lock() for name in index.spaces}
        self._phrased: dict[tuple[str, str], np.ndarray] = {}  # (space, text) -> vector
        self._stored = {name: space.index.stored() for name, space in index.spaces.items()}

    @classmethod
    def open(cls, ws: Any, progress: Progress | None = None) -> Retriever:
        """Load everything retrieval needs from an opened workspace, models included.

        Raises:
            WorkspaceError: no index, an unreadable one, or an index older than the bundle (the
                message says to run ``kg index``).
        """
        from kg.build import load_workspace_schema

        say = progress or (lambda message: None)
        say("opening the index")
        index = RagIndex.open(ws)
        for _ in range(3):  # a build committing meanwhile: read again until index and graph agree
            version = bundle_version_on_disk(ws.path)
            if version != index.bundle_version:
                raise WorkspaceError(stale_message(ws.path, index.bundle_version, version))
            say("loading the graph")
            from kg.bundle import Bundle

            view = Bundle(ws.bundle.root).view()
            if bundle_version_on_disk(ws.path) == version:
                break
        else:
            raise WorkspaceError(f"the bundle of {ws.path} keeps changing (a build is running?); start "
                                 "`kg serve` when it has finished and `kg index` has run")
        graph = MemoryGraph(view)
        say("building the alias dictionary and BM25")
        retriever = cls(ws.path, index, graph, load_workspace_schema(ws), version)
        say("loading the embedding models")
        retriever.warm_up()
        return retriever

    def warm_up(self) -> None:
        """Load the models and run one query through every path, so no request pays for it.

        The embedders load lazily and that load is not thread-safe: a server calls this before it
        accepts requests.
        """
        self.detector.load()
        for space in self.index.spaces.values():
            space.embedder()
        for lang in self.item_langs:
            self.retrieve("warm up" if lang != "zh" else "预热", RetrieveOptions(k=1, lang=lang))

    # -- state -------------------------------------------------------------------------------------------

    def stale(self) -> str | None:
        """Why the loaded index no longer matches the bundle on disk, or None when it does."""
        try:
            version = bundle_version_on_disk(self.ws_path)
        except (OSError, ValueError, WorkspaceError) as exc:
            return f"cannot read the bundle of {self.ws_path} ({exc})"
        if version != self.bundle_version:
            return stale_message(self.ws_path, self.bundle_version, version)
        return None

    # -- retrieval -----------------------------------------------------------------------------------------

    def search_langs(self, query: str, lang: str, langs: Sequence[str] = ()) -> list[str]:
        """Item languages to search: ``langs`` if given, else the query's language if items exist in it,
        else the language of its script.

        Raises:
            InputError: a language of ``langs`` has no items (the message lists those that do).
        """
        if langs:
            unknown = [x for x in langs if x not in self.item_langs]
            if unknown:
                raise InputError(f"no indexed items in language(s) {', '.join(unknown)}; the index holds "
                                 f"{', '.join(self.item_langs) or 'nothing'}")
            return list(dict.fromkeys(langs))
        if lang in self.item_langs:
            return [lang]
        by_script = "zh" if has_cjk(query) else "en"
        return [by_script if by_script in self.item_langs else self.item_langs[0]]

    def retrieve(self, query: str, options: RetrieveOptions | None = None) -> Retrieval:
        """Facts, paths, sentences and a context for ``query`` (see the module docstring).

        Raises:
            InputError: an empty query, an unknown mode, or a language without items.
        """
        started = time.perf_counter()
        options = options or RetrieveOptions()
        query = " ".join(query.split())
        if not query:
            raise InputError("the query is empty; send the question to retrieve facts for")
        if options.mode not in MODES:
            raise InputError(f"unknown mode {options.mode!r}; choose one of: {', '.join(MODES)}")
        lang = options.lang or self.detector.detect(query)
        langs = self.search_langs(query, lang, options.langs)
        context_lang = lang if lang in CONTEXT_LANGS else next((x for x in langs if x in CONTEXT_LANGS), "en")
        depth = max(options.depth, 5 * options.k)
        warnings: list[str] = []

        links = self.aliases.link(query)
        seeds: dict[str, float] = {}
        for link in links:
            seeds[link.entity] = max(seeds.get(link.entity, 0.0), link.weight)
        expansion = Expansion()
        # BM25 over what the query says besides its entity names (the relation words), per language
        relation_query = _without_spans(query, [(link.start, link.end) for link in links])
        relation_scores: dict[str, np.ndarray] = {}

        def relation_words(lang_: str) -> np.ndarray:
            if lang_ not in relation_scores:
                relation_scores[lang_] = self.lexical[lang_].scores(relation_query)
            return relation_scores[lang_]

        def preferred() -> list[str]:  # for a linked hub: its facts that say what the query asks first
            return [key for x in langs if x in self.lexical
                    for key, _ in self.lexical[x].top(relation_words(x), PREFERRED_FACTS)]

        if options.mode == "hybrid" and options.hops > 0 and seeds:
            expansion = self.graph.expand(seeds, options.hops, options.max_facts, preferred)
            if expansion.truncated:
                warnings.append(f"the graph expansion stopped at {options.max_facts} facts (a very connected "
                                "entity); lower hops for a complete neighbourhood")
        if options.mode == "hybrid" and not seeds:
            warnings.append("no entity of the graph was recognized in the query; ranked by text similarity")

        vector = self._vector(query, langs, depth) if options.mode != "lexical" else _VectorHits({}, [], {})
        # the graph has found the facts of the linked entities; their names would give BM25 nothing but
        # a preference for short texts among those facts, so it looks at what the query says besides
        # them (the relation words), for its candidates and its ranking alike
        by_relation = options.mode == "hybrid" and bool(expansion.hops)
        lexical_scores = {x: relation_words(x) if by_relation else self.lexical[x].scores(query) for x in langs
                          if x in self.lexical and options.mode != "vector"}
        candidates: set[str] = set(expansion.hops)
        candidates.update(vector.facts)
        for x, scores in lexical_scores.items():
            candidates.update(key for key, _ in self.lexical[x].top(scores, depth))
        if not options.include_inferred:
            candidates = {c for c in candidates if not self.graph.facts[c].inferred}

        rankings: dict[str, dict[str, int]] = {}
        signals: dict[str, dict[str, float | int | None]] = {
            c: {"vector": None, "lexical": None, "hops": expansion.hops.get(c)} for c in candidates}
        if options.mode != "lexical":
            sims = self._similarities(vector, candidates, langs, expansion) if options.mode == "hybrid" else {
                c: s for c, s in vector.facts.items() if c in candidates}
            for c, s in sims.items():
                signals[c]["vector"] = round(s, 4)
            rankings["vector"] = _ranks({c: -s for c, s in sims.items()})
        if options.mode != "vector":
            lexical: dict[str, float] = {}
            for x, scores in lexical_scores.items():
                for key, score in self.lexical[x].key_scores(scores, candidates).items():
                    lexical[key] = max(lexical.get(key, 0.0), score)
            for c, s in lexical.items():
                signals[c]["lexical"] = round(s, 4)
            rankings["lexical"] = _ranks({c: -s for c, s in lexical.items()})
        if options.mode == "hybrid":
            rankings["graph"] = _ranks({c: (expansion.hops[c], -expansion.weight.get(c, 1.0))
                                        for c in candidates if c in expansion.hops})
        fused = {c: sum(SIGNAL_WEIGHTS[name] / (RRF_K + ranks[c]) for name, ranks in rankings.items()
                        if c in ranks) for c in candidates}
        ranked = sorted(candidates, key=lambda c: (-fused[c], c))[:options.k]

        builder = _ResultBuilder(self, context_lang)
        facts = [builder.fact(self.graph.facts[c], fused[c], signals[c]) for c in ranked]
        if not options.include_inferred:  # no path through a fact the caller left out
            expansion.connections = [p for p in expansion.connections
                                     if not any(self.graph.facts[f].inferred for f in p)]
        paths = builder.paths(expansion, ranked, fused, seeds, options.paths)
        sentences = builder.sentences(facts, vector.chunks, options.sentences)
        context = render_context(
            context_lang,
            [ContextFact(f.text, tuple(f.citations), f.inferred, f.confidence) for f in facts],
            [p["text"] for p in paths if p["joins"]],
            builder.sources(sentences), options.max_context_chars)
        return Retrieval(
            query=query, lang=lang, context_lang=context_lang, langs=langs, mode=options.mode,
            entities=[builder.link(link) for link in links], facts=facts, paths=paths, sentences=sentences,
            citations=builder.citations(), context=context, warnings=warnings,
            bundle_version=self.bundle_version, took_ms=round((time.perf_counter() - started) * 1000, 2))

    def _embed(self, space: Space, query: str) -> np.ndarray:
        # sentence-transformers' tokenizers raise "Already borrowed" when two threads share them
        with self._embed_locks[space.name]:
            return space.embedder().embed([query], query=True)

    def _spaces(self, langs: Sequence[str]) -> dict[str, list[str]]:
        """Space name -> the searched languages whose items it holds."""
        spaces: dict[str, list[str]] = defaultdict(list)
        for lang in langs:
            spaces[self.index.space_for(lang).name].append(lang)
        return dict(spaces)

    def _vector(self, query: str, langs: Sequence[str], depth: int) -> _VectorHits:
        """faiss' top ``depth`` items per space: fact similarities and passages (chunks)."""
        facts: dict[str, float] = {}
        chunks: list[tuple[float, dict[str, Any]]] = []
        vectors: dict[str, np.ndarray] = {}
        for name, space_langs in self._spaces(langs).items():
            space = self.index.spaces[name]
            vector = vectors[name] = self._embed(space, query)
            scores, ids = space.index.search(vector, depth)
            keep = ids[0] >= 0
            for score, item in zip(scores[0][keep].tolist(), space.lookup(ids[0][keep]), strict=True):
                if item is None or item["lang"] not in space_langs:
                    continue
                if item["kind"] == "fact" and item["key"] in self.graph.facts:
                    facts[item["key"]] = max(facts.get(item["key"], -1.0), score)
                elif item["kind"] == "chunk":
                    chunks.append((score, item))
        chunks.sort(key=lambda pair: (-pair[0], pair[1]["id"]))
        return _VectorHits(facts, chunks, vectors)

    def _similarities(self, hits: _VectorHits, candidates: set[str], langs: Sequence[str],
                      expansion: Expansion) -> dict[str, float]:
        """Cosine of the query and every candidate's text (stored vectors, not only faiss' top hits).

        A fact next to the query's entities that the index holds no text for in a searched language
        (its object is known only by an English name, say) is phrased in that language on the fly
        (:meth:`phrase`) and embedded, up to :data:`MAX_PHRASED` per query: without a vector score
        it could not compete with its neighbours, and it is often the answer (the gold fact of a
        Chinese question about an entity whose neighbours have only English names).
        """
        sims = {c: s for c, s in hits.facts.items() if c in candidates}
        for name, space_langs in self._spaces(langs).items():
            query = hits.vectors[name][0]
            unscored = candidates - sims.keys()
            # any order: a fact keeps its best score over its languages
            missing = [(c, ids[c]) for ids in (self._item_ids.get(x, {}) for x in space_langs)
                       for c in unscored if c in ids]
            if missing:
                found, vectors = self._stored[name].get(item for _, item in missing)
                scores = (vectors @ query).tolist()
                for (fact, _), score in zip((m for m, hit in zip(missing, found.tolist(), strict=True) if hit),
                                            scores, strict=True):
                    sims[fact] = max(sims.get(fact, -1.0), score)
            unphrased = sorted((c for c in candidates - sims.keys() if expansion.hops.get(c, 99) <= 1),
                               key=lambda c: (expansion.hops[c], c))[:MAX_PHRASED]
            texts = [(c, self.phrase(self.graph.facts[c], space_langs[0])) for c in unphrased]
            for (fact, _), vector in zip(texts, self._phrase_vectors(self.index.spaces[name],
                                                                     [t for _, t in texts]), strict=True):
                sims[fact] = float(vector @ query)
        return sims

    def _phrase_vectors(self, space: Space, texts: list[str]) -> list[np.ndarray]:
        """Document vectors of phrased facts, cached by text."""
        if not texts:
            return []
        with self._embed_locks[space.name]:
            todo = [t for t in dict.fromkeys(texts) if (space.name, t) not in self._phrased]
            if todo:
                if len(self._phrased) + len(todo) > _PHRASED_CACHE:
                    self._phrased.clear()
                for text, vector in zip(todo, space.embedder().embed(todo), strict=True):
                    self._phrased[(space.name, text)] = vector
            return [self._phrased[(space.name, t)] for t in texts]

    def name(self, entity_id: str, lang: str) -> str:
        """The entity's name in ``lang``'s script (its name, else its first such alias), else its name."""
        node = self.graph.entities[entity_id]
        want_zh = lang == "zh"
        return next((n for n in (node.name, *node.aliases) if has_cjk(n) == want_zh), node.name)

    def relation(self, predicate: str, lang: str) -> str:
        """The relation's label in ``lang`` (schema), else the predicate."""
        rel = self.schema.relation_types.get(predicate)
        if rel is not None and rel.labels.get(lang):
            return rel.labels[lang]
        return predicate.replace("_", " ")

    def phrase(self, fact: Edge, lang: str) -> str:
        """The fact in ``lang``: its indexed text, else the schema's first template of ``lang`` (or kg
        synth's fallback phrasing) with each name in ``lang``'s script where it has one."""
        item = self.fact_items.get((fact.id, lang))
        if item is not None:
            return item[1]
        subject, obj = self.name(fact.subject, lang), self.name(fact.object, lang)
        rel = self.schema.relation_types.get(fact.predicate)
        templates = rel.verbalizations.get(lang) if rel is not None else None
        template = templates[0] if templates else FALLBACK_STATEMENTS.get(lang, FALLBACK_STATEMENTS["en"])[0]
        return render(template, subject, obj, self.relation(fact.predicate, lang))

    # -- entities ------------------------------------------------------------------------------------------

    def entity(self, entity_id: str, lang: str | None = None, limit: int = 50) -> dict[str, Any] | None:
        """An entity with its facts (up to ``limit``), or None when the graph does not hold it."""
        node = self.graph.entities.get(entity_id)
        if node is None:
            return None
        lang = lang or (node.lang if node.lang in CONTEXT_LANGS else "en")
        builder = _ResultBuilder(self, lang)
        fact_ids = self.graph.adjacency.get(entity_id, ())
        facts = sorted((self.graph.facts[f] for f in fact_ids), key=lambda f: (f.inferred, f.predicate, f.id))
        return {**self.entity_summary(entity_id), "description": node.description,
                "facts": [asdict(builder.fact(f, None, {})) for f in facts[:limit]],
                "facts_total": len(fact_ids)}

    def entity_summary(self, entity_id: str) -> dict[str, Any]:
        """Id, names, type and degree of an entity."""
        node = self.graph.entities[entity_id]
        return {"id": node.id, "name": node.name, "type": node.type, "aliases": list(node.aliases),
                "lang": node.lang, "degree": self.graph.degree(entity_id)}

    def find_entities(self, name: str, limit: int = 10) -> list[dict[str, Any]]:
        """Entities named ``name`` (any alias, either script), then those whose name starts with it."""
        exact = list(self.aliases.exact(name))
        found = list(dict.fromkeys(exact + self.aliases.prefixed(name, limit)))[:limit]
        return [{**self.entity_summary(e), "exact": e in exact} for e in found]


@dataclass
class _VectorHits:
    facts: dict[str, float]
    chunks: list[tuple[float, dict[str, Any]]]
    vectors: dict[str, np.ndarray]


def _without_spans(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with the character spans blanked out."""
    chars = list(text)
    for start, end in spans:
        chars[start:end] = " " * (end - start)
    return "".join(chars)


def _ranks(keys: dict[str, Any]) -> dict[str, int]:
    """1-based competition ranks by ascending key: equal keys share the best rank (1, 1, 3, …)."""
    ordered = sorted(keys.items(), key=lambda pair: pair[1])
    ranks: dict[str, int] = {}
    previous, rank = object(), 0
    for position, (candidate, key) in enumerate(ordered, 1):
        if key != previous:
            rank, previous = position, key
        ranks[candidate] = rank
    return ranks


class _ResultBuilder:
    """Turns ranked fact ids into the response parts of one query (names in one language)."""

    def __init__(self, retriever: Retriever, lang: str) -> None:
        self.r = retriever
        self.lang = lang
        self.numbers: dict[str, int] = {}  # doc id -> citation number

    def name(self, entity_id: str) -> str:
        return self.r.name(entity_id, self.lang)

    def relation(self, predicate: str) -> str:
        return self.r.relation(predicate, self.lang)

    def text(self, fact: Edge) -> str:
        return self.r.phrase(fact, self.lang)

    def cite(self, doc_id: str) -> int:
        return self.numbers.setdefault(doc_id, len(self.numbers) + 1)

    def fact(self, fact: Edge, score: float | None, signals: dict[str, Any]) -> RetrievedFact:
        documents = list(dict.fromkeys(s.doc_id for s in self.r.graph.evidence.get(fact.id, ())))
        return RetrievedFact(
            id=fact.id, subject={"id": fact.subject, "name": self.name(fact.subject)}, predicate=fact.predicate,
            relation=self.relation(fact.predicate), object={"id": fact.object, "name": self.name(fact.object)},
            text=self.text(fact), source=fact.source, inferred=fact.inferred,
            confidence=round(fact.score if fact.inferred else fact.confidence, 4),
            score=round(score, 6) if score is not None else 0.0, signals=signals,
            citations=[], documents=documents)

    def link(self, link: Link) -> dict[str, Any]:
        return {**self.r.entity_summary(link.entity), "surface": link.surface, "start": link.start,
                "end": link.end, "weight": round(link.weight, 4)}

    def paths(self, expansion: Expansion, ranked: list[str], fused: dict[str, float], seeds: dict[str, float],
              limit: int) -> list[dict[str, Any]]:
        """Paths joining two linked entities, then the paths that lead to the top multi-hop facts."""
        found: list[tuple[list[str], bool]] = [(p, True) for p in expansion.connections]
        for fact_id in ranked:
            if expansion.hops.get(fact_id, 0) >= 2:
                fact = self.r.graph.facts[fact_id]
                near = min((fact.subject, fact.object), key=lambda e: expansion.distance.get(e, 10**9))
                found.append((expansion.path_from_seed(near) + [fact_id], False))
        out, seen = [], set()
        for facts, joins in found:
            if tuple(facts) in seen or not facts:
                continue
            seen.add(tuple(facts))
            first = self.r.graph.facts[facts[0]]
            start = first.subject if first.subject in seeds else first.object
            entities = self.r.graph.path_entities(facts, start)
            score = float(np.mean([fused.get(f, 0.0) for f in facts]))
            out.append({"facts": facts, "entities": entities, "text": self.path_text(facts, entities),
                        "joins": joins, "score": round(score, 6)})
        out.sort(key=lambda p: (not p["joins"], -p["score"]))
        return out[:limit]

    def path_text(self, facts: list[str], entities: list[str]) -> str:
        parts = [self.name(entities[0])]
        for fact_id, here, there in zip(facts, entities[:-1], entities[1:], strict=True):
            fact = self.r.graph.facts[fact_id]
            label = self.relation(fact.predicate)
            parts.append(f"—{label}→ {self.name(there)}" if fact.subject == here else f"←{label}— {self.name(there)}")
        return " ".join(parts)

    def sentences(self, facts: list[RetrievedFact], chunks: list[tuple[float, dict[str, Any]]],
                  limit: int) -> list[dict[str, Any]]:
        """Evidence of the facts (two sentences per fact, best facts first), then passages faiss found.

        Numbers every document that supports a fact (``citations``), quoted or not.
        """
        out: list[dict[str, Any]] = []
        seen: set[tuple[str, int]] = set()
        for fact in facts:
            for i, sentence in enumerate(self.r.graph.evidence.get(fact.id, ())):
                n = self.cite(sentence.doc_id)
                if n not in fact.citations:
                    fact.citations.append(n)
                key = (sentence.doc_id, sentence.start)
                if i >= 2:
                    continue  # every supporting document is cited, two sentences are quoted
                if key in seen:
                    next(s for s in out if (s["doc_id"], s["start"]) == key)["facts"].append(fact.id)
                    continue
                if len(out) < limit:
                    seen.add(key)
                    out.append({"doc_id": sentence.doc_id, "text": sentence.text, "start": sentence.start,
                                "end": sentence.end, "citation": n, "facts": [fact.id], "kind": "evidence",
                                "score": None})
        for score, item in chunks:
            if len(out) >= limit:
                break
            overlaps = any(s["doc_id"] == item["key"] and s["start"] < item["end"] and item["start"] < s["end"]
                           for s in out)
            if not overlaps:
                out.append({"doc_id": item["key"], "text": item["text"], "start": item["start"],
                            "end": item["end"], "citation": self.cite(item["key"]), "facts": [], "kind": "passage",
                            "score": round(score, 4)})
        return out

    def sources(self, sentences: list[dict[str, Any]]) -> list[ContextSource]:
        quoted: dict[int, list[str]] = defaultdict(list)
        for s in sentences:
            text = " ".join(s["text"].split())
            # a passage can be a paragraph: the context quotes its start, the response has it whole
            quoted[s["citation"]].append(text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS - 1] + "…")
        out = []
        for doc_id, n in self.numbers.items():
            info = self.r.graph.documents.get(doc_id)
            label = document_label(info.source, info.title) if info else doc_id
            out.append(ContextSource(n, label, doc_id, tuple(quoted.get(n, ()))))
        return out

    def citations(self) -> list[dict[str, Any]]:
        out = []
        for doc_id, n in self.numbers.items():
            info = self.r.graph.documents.get(doc_id)
            out.append({"n": n, "doc_id": doc_id, "source": info.source if info else "",
                        "title": info.title if info else "", "lang": info.lang if info else ""})
        return out


__all__ = ["MODES", "RRF_K", "SIGNAL_WEIGHTS", "Retrieval", "RetrieveOptions", "RetrievedFact", "Retriever",
           "bundle_version_on_disk", "stale_message"]
