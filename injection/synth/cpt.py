"""Continual-pretraining text: many phrasings per fact, entity-centric articles, multi-hop narratives.

Only training material is used: held-out facts never appear, and every sentence comes from a
template (schema or fallback) that :meth:`SplitPlan.templates` leaves to ``train`` (the reserved one
is evaluation's). Text is written per language with that language's names, templates and punctuation;
a fact is skipped in a language where one of its entities has no name in that script.

Multi-hop paths favour the long tail: start entities and next edges are drawn with weights
``1 / degree`` (entities) and ``1 / relation count`` (relations), so rare entities and relations get
narratives too instead of the hubs getting all of them.

Randomness is per unit (fact, entity, walk index; see :meth:`Context.units`), so the text is the same
whether one process or several generate it.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from injection.synth.context import Context
from injection.synth.graph import Fact, script_lang
from injection.synth.paths import PathSampler, walks
from injection.synth.records import Record, template_id
from injection.synth.templates import FALLBACK_STATEMENTS, single_period, statement_templates

JOINER: dict[str, str] = {"en": " ", "zh": ""}
"""How sentences join: Chinese text has no spaces between sentences."""

OPENINGS: dict[str, list[str]] = {
    "en": ["{name} is {a} {type}.", "About {name}:", "This is an overview of the {type} {name}.",
           "{name}, {a} {type}, is described below.", "Here is what is known about {name}."],
    "zh": ["{name}是一个{type}。", "关于{name}：", "以下介绍{type}{name}。", "{name}（{type}）的相关信息如下：",
           "下面是有关{name}的一些事实。"],
}
"""Article openings; ``{type}`` forms are used only when the type label is written in the language."""

CONNECTIVES: dict[str, list[str]] = {
    "en": ["Moreover,", "In turn,", "Also,", "Furthermore,", "In addition,", "Then,"],
    "zh": ["此外，", "而", "同时，", "另外，", "与此同时，", "并且"],
}
"""Light links between the sentences of a multi-hop narrative."""

ARTICLE_FACTS = 24
"""Default most facts per article: a hub's facts are spread over several articles of this size."""

_PLACEHOLDER = re.compile(r"\{(subject|object|label)\}")


@dataclass(frozen=True)
class Phrasing:
    """The training templates of one (relation, language), with their ids and the relation label.

    Attributes:
        fallback: the templates are the neutral fallback phrasings (no schema template fits).
    """

    ids: tuple[str, ...]
    templates: tuple[str, ...]
    label: str
    fallback: bool = False
    _formats: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_formats", tuple(map(_format_string, self.templates)))

    def render(self, index: int, subject: str, obj: str) -> str:
        """Template ``index`` filled with the two names (same text as :func:`templates.render`)."""
        return single_period(self._formats[index].format(subject=subject, object=obj, label=self.label),
                             subject, obj)


def _format_string(template: str) -> str:
    # compiled once per template so that rendering millions of facts is one C-level str.format call;
    # literal braces are escaped, and format() never re-reads braces inside the inserted names
    parts = _PLACEHOLDER.split(template)
    return "".join(p.replace("{", "{{").replace("}", "}}") if i % 2 == 0 else "{" + p + "}"
                   for i, p in enumerate(parts))


class Verbalizer:
    """Training-only phrasings of facts, computed once per (relation, language).

    Args:
        ctx: the run's context (graph, split plan, warnings).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._phrasings: dict[tuple[str, str], Phrasing | None] = {}

    def phrasing(self, predicate: str, lang: str) -> Phrasing | None:
        """The training templates of ``predicate`` in ``lang``; None when it cannot be written there.

        A relation whose only template is reserved for evaluation, and relations without templates,
        use the fallback phrasings (warned). A fallback needs the relation label in the language's
        script (an open relation named in Chinese cannot be phrased in English), else None (warned).
        """
        key = (predicate, lang)
        if key not in self._phrasings:
            self._phrasings[key] = self._build(predicate, lang)
        return self._phrasings[key]

    def _build(self, predicate: str, lang: str) -> Phrasing | None:
        # built once per worker, so relation issues are noted (recorded once), not counted
        graph, plan, warnings = self.ctx.graph, self.ctx.plan, self.ctx.warnings
        templates, family = statement_templates(graph, predicate, lang, warnings)
        allowed = plan.templates(templates, predicate, lang, "train", family)
        facts, is_open = graph.relation_count[predicate], predicate not in graph.schema.relation_types
        if not allowed and family == "verbalization":
            warnings.relation(f"a single {lang} verbalization template, reserved for evaluation: fallback "
                              "phrasing used in training text", predicate, facts, open=is_open)
            family = "fallback_statement"
            allowed = plan.templates(FALLBACK_STATEMENTS[lang], predicate, lang, "train", family)
        label = graph.relation_label(predicate, lang)
        if family == "fallback_statement" and script_lang(label) not in (lang, None):
            warnings.relation(f"label not written in {lang}: facts left out of {lang} data", predicate, facts,
                              open=is_open)
            return None
        if not allowed:
            return None
        return Phrasing(tuple(template_id(family, predicate, lang, i) for i, _ in allowed),
                        tuple(t for _, t in allowed), label, family == "fallback_statement")

    def names(self, fact: Fact, lang: str, *, warn: bool = False) -> tuple[str, str] | None:
        """Subject and object names in ``lang``, or None when one has none (counted when ``warn``)."""
        subject, obj = self.ctx.graph.name(fact.subject, lang), self.ctx.graph.name(fact.object, lang)
        if subject is None or obj is None:
            if warn:
                self.ctx.warnings.add(f"entity without a name in {lang}: fact left out of {lang} text")
            return None
        return subject, obj

    def writable(self, fact: Fact, lang: str) -> bool:
        """Whether ``fact`` can be written in ``lang`` (names and a phrasing exist)."""
        return self.names(fact, lang) is not None and self.phrasing(fact.predicate, lang) is not None


def generate(ctx: Context, *, phrasings: int = 3, articles: int = 2, paths: int | None = None,
             min_hops: int = 2, max_hops: int = 4, article_facts: int = ARTICLE_FACTS) -> Iterator[Record]:
    """Continual-pretraining records (``kind="cpt"``, ``split="train"``) of every training fact.

    Args:
        ctx: the run's context.
        phrasings: verbalizations per fact and language (style ``fact``), each a different template.
        articles: entity-centric articles per entity and language (style ``article``).
        paths: multi-hop narratives per language (style ``path``); None: one per training fact.
        min_hops: fewest facts in a narrative.
        max_hops: most facts in a narrative.
        article_facts: most facts per article; an entity with more gets several articles per round.

    Yields:
        records of style ``fact``, then ``article``, then ``path``.

    Raises:
        ValueError: a count is negative or the hop bounds are not ``1 <= min_hops <= max_hops``.
    """
    for name, value in (("phrasings", phrasings), ("articles", articles), ("paths", paths or 0)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if not 1 <= min_hops <= max_hops:
        raise ValueError(f"need 1 <= min_hops <= max_hops, got min_hops={min_hops}, max_hops={max_hops}")
    if article_facts < 1:
        raise ValueError(f"article_facts must be >= 1, got {article_facts}")
    verbalizer = Verbalizer(ctx)
    training = ctx.plan.training_facts(ctx.graph)
    count = len(training) if paths is None else paths
    return itertools.chain(
        fact_records(ctx, verbalizer, training, phrasings),
        article_records(ctx, verbalizer, training, articles, article_facts),
        itertools.chain.from_iterable(
            path_records(ctx, verbalizer, training, lang, count, min_hops, max_hops) for lang in ctx.langs),
    )


def fact_records(ctx: Context, verbalizer: Verbalizer, facts: Sequence[Fact],
                 phrasings: int) -> Iterator[Record]:
    """Up to ``phrasings`` single-sentence records per fact and language, each a different template."""
    if phrasings == 0:
        return
    for fact, rng in ctx.units(facts, "cpt:fact", key=lambda f: f.id):
        for lang in ctx.langs:
            names = verbalizer.names(fact, lang, warn=True)
            phrasing = verbalizer.phrasing(fact.predicate, lang) if names else None
            if phrasing is None:
                continue
            for i in rng.sample(range(len(phrasing.templates)), min(phrasings, len(phrasing.templates))):
                yield Record(kind="cpt", lang=lang, style="fact", text=phrasing.render(i, *names),
                             facts=[fact.id], entities=[fact.subject, fact.object],
                             templates=[phrasing.ids[i]])


def article_records(ctx: Context, verbalizer: Verbalizer, facts: Sequence[Fact], articles: int,
                    article_facts: int = ARTICLE_FACTS) -> Iterator[Record]:
    """``articles`` rounds of articles per entity and language, each with its facts shuffled.

    Every round covers all of the entity's writable facts (in articles of at most ``article_facts``);
    a fact's template rotates from round to round, so the rounds read differently.
    """
    if articles == 0:
        return
    graph = ctx.graph
    by_entity: dict[str, list[Fact]] = {}
    for fact in facts:
        for entity in dict.fromkeys((fact.subject, fact.object)):
            by_entity.setdefault(entity, []).append(fact)
    for entity, rng in ctx.units(sorted(by_entity), "cpt:article", key=lambda e: e):
        for lang in ctx.langs:
            name = graph.name(entity, lang)
            items = [] if name is None else _writable_items(verbalizer, by_entity[entity], lang)
            if not items:
                continue
            openings = _openings(graph.type_label(graph.entities[entity].type, lang), lang)
            offsets = [rng.randrange(len(p.templates)) for _, _, p in items]
            order = list(range(len(items)))
            for round_ in range(articles):
                rng.shuffle(order)
                for start in range(0, len(order), article_facts):
                    picks = [(items[j], (offsets[j] + round_) % len(items[j][2].templates))
                             for j in order[start:start + article_facts]]
                    yield _article(entity, lang, rng.choice(openings).replace("{name}", name), picks)


def _article(entity: str, lang: str, opening: str,
             picks: list[tuple[tuple[Fact, tuple[str, str], Phrasing], int]]) -> Record:
    facts = [fact for (fact, _, _), _ in picks]
    return Record(
        kind="cpt", lang=lang, style="article",
        text=JOINER[lang].join([opening, *(p.render(i, *names) for (_, names, p), i in picks)]),
        facts=[f.id for f in facts],
        entities=list(dict.fromkeys([entity, *(e for f in facts for e in (f.subject, f.object))])),
        templates=[p.ids[i] for (_, _, p), i in picks], meta={"entity": entity})


def _writable_items(verbalizer: Verbalizer, facts: Sequence[Fact],
                    lang: str) -> list[tuple[Fact, tuple[str, str], Phrasing]]:
    items = []
    for fact in facts:
        names = verbalizer.names(fact, lang)
        phrasing = verbalizer.phrasing(fact.predicate, lang) if names else None
        if phrasing is not None:
            items.append((fact, names, phrasing))
    return items


def _openings(type_label: str, lang: str) -> list[str]:
    # a type label not written in the language (a bare schema type name in Chinese text) is left out
    typed = script_lang(type_label) in (lang, None)
    article = "an" if type_label[:1].lower() in "aeiou" else "a"
    return [o.replace("{type}", type_label).replace("{a}", article) for o in OPENINGS[lang]
            if typed or "{type}" not in o]


def path_records(ctx: Context, verbalizer: Verbalizer, facts: Sequence[Fact], lang: str, n: int,
                 min_hops: int, max_hops: int) -> Iterator[Record]:
    """``n`` multi-hop narratives in ``lang`` (fewer when the graph has too few long enough walks)."""
    if n == 0:
        return
    items = _writable_items(verbalizer, facts, lang)
    phrased = {fact.id: (names, phrasing) for fact, names, phrasing in items}
    sampler = PathSampler([f for f, _, _ in items], weighted=True)
    for walk, rng in walks(ctx, sampler, n, min_hops, max_hops, f"cpt:path:{lang}"):
        sentences, template_ids = [], []
        for k, fact in enumerate(walk):
            names, phrasing = phrased[fact.id]
            i = rng.randrange(len(phrasing.templates))
            sentence = phrasing.render(i, *names)
            # fallback phrasings ("Fact: ...") read badly after a connective
            if k and not phrasing.fallback and rng.random() < 0.7:
                sentence = _connect(rng.choice(CONNECTIVES[lang]), sentence, names, lang)
            sentences.append(sentence)
            template_ids.append(phrasing.ids[i])
        yield Record(kind="cpt", lang=lang, style="path", text=JOINER[lang].join(sentences),
                     facts=[f.id for f in walk],
                     entities=list(dict.fromkeys(e for f in walk for e in (f.subject, f.object))),
                     templates=template_ids, meta={"hops": len(walk)})


def _connect(connective: str, sentence: str, names: tuple[str, str], lang: str) -> str:
    if lang != "en":
        return connective + sentence
    first = sentence.split(" ", 1)[0]
    # "Moreover, the headquarters of ..." but never "Moreover, iPhone" -> lowercase only template words
    if not sentence.startswith(names) and first[:1].isupper() and first[1:].islower():
        sentence = sentence[0].lower() + sentence[1:]
    return f"{connective} {sentence}"


def sample_paths(ctx: Context, n: int, min_hops: int = 2, max_hops: int = 4, weighted: bool = True,
                 *, lang: str | None = None) -> list[list[Fact]]:
    """``n`` multi-hop walks over the training facts (what the ``path`` style verbalizes).

    Args:
        ctx: the run's context.
        n: walks wanted; fewer come back when the graph has too few long enough walks.
        min_hops: fewest facts per walk.
        max_hops: most facts per walk.
        weighted: long-tail weighting (see :class:`PathSampler`); False: the plain uniform random walk.
        lang: only facts writable in this language (both names and a phrasing exist).

    Returns:
        walks, each a list of facts where consecutive facts share an entity and no entity repeats
        (this shard's share of them on a sharded context).
    """
    facts = ctx.plan.training_facts(ctx.graph)
    if lang is not None:
        verbalizer = Verbalizer(ctx)
        facts = [f for f in facts if verbalizer.writable(f, lang)]
    sampler = PathSampler(facts, weighted=weighted)
    purpose = f"cpt:sample:{lang}:{'weighted' if weighted else 'uniform'}"
    return [walk for walk, _ in walks(ctx, sampler, n, min_hops, max_hops, purpose)]


__all__ = ["ARTICLE_FACTS", "CONNECTIVES", "JOINER", "OPENINGS", "PathSampler", "Phrasing", "Verbalizer",
           "article_records", "fact_records", "generate", "path_records", "sample_paths"]
