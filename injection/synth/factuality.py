"""Factuality data: open questions, true/false statements and multiple choice with hard distractors.

Every question is about one (subject, relation) group: all usable facts sharing a subject and a
relation. A group's split is ``heldout`` when any of its entities is held out, else the plan's
``pair_split``, so train and evaluation never ask about the same group. Training records use the
training templates; ``eval``/``heldout`` records use only the template reserved for evaluation.

Wrong options and false statements are drawn from candidate lists built once per run (objects of the
same relation, neighbours of the subject, entities of the same type) by sampling, never by scanning
every entity, and are never one of the known answers (inferred facts included) of the group.

Refusals live in :mod:`injection.synth.refusals` (also importable from here).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from injection.synth.context import Context
from injection.synth.graph import Fact, SynthGraph, script_lang
from injection.synth.records import Record, template_id
from injection.synth.templates import Warnings, question_templates, render, statement_templates
from kg.errors import ConfigError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HARD_CONFUSIONS = 3
"""Same-type wrong options of a multiple-choice question (1 answer + 3 close confusions + unrelated)."""
_TRIES = 48  # random draws per candidate list before giving up on it


@dataclass(frozen=True)
class Wording:
    """How one language joins answers and words prompts: the only place with per-language phrasing.

    Attributes:
        list_sep: separator between all but the last two names of a list.
        last_sep: separator before the last name ("A, B and C" / "A、B和C").
        true_false: true/false prompt; ``{statement}`` is the statement.
        true: answer to a true statement.
        false: answer to a false statement.
        choose: instruction after the lettered options of a multiple-choice question.
        refusals: answers to a question the graph does not support.
        unknown_entity: extra refusals for an entity that does not exist (``{subject}`` is its name).
    """

    list_sep: str
    last_sep: str
    true_false: str
    true: str
    false: str
    choose: str
    refusals: tuple[str, ...]
    unknown_entity: tuple[str, ...]

    def unknown_entity_refusals(self, name: str) -> tuple[str, ...]:
        """The :attr:`unknown_entity` refusals about ``name``."""
        return tuple(v.replace("{subject}", name) for v in self.unknown_entity)

    def join(self, names: Sequence[str]) -> str:
        """Names as one natural list: ``A``, ``A and B``, ``A, B and C``."""
        if len(names) <= 1:
            return "".join(names)
        return self.list_sep.join(names[:-1]) + self.last_sep + names[-1]


WORDING: dict[str, Wording] = {
    "en": Wording(
        list_sep=", ", last_sep=" and ", true_false="True or false: {statement}", true="True", false="False",
        choose="Answer with the letter of the correct option.",
        refusals=("I don't know. That is not in my knowledge.",
                  "I'm not sure. I have no knowledge of that.",
                  "I don't know the answer to that; it is not something I have knowledge of."),
        unknown_entity=("I don't know anything about {subject}. It is not in my knowledge.",)),
    "zh": Wording(
        list_sep="、", last_sep="和", true_false="判断对错：{statement}", true="对", false="错",
        choose="请回答正确选项的字母。",
        refusals=("我不知道，这不在我的知识范围内。", "我不清楚，我没有这方面的知识。",
                  "抱歉，我不知道这个问题的答案。"),
        unknown_entity=("我不了解{subject}，这不在我的知识范围内。",)),
}


def wording(lang: str) -> Wording:
    """The :class:`Wording` of ``lang``; raises :class:`ConfigError` for a language without one."""
    if lang not in WORDING:
        raise ConfigError(f"no factuality wording for language {lang!r}; use one of {sorted(WORDING)}")
    return WORDING[lang]


def normalize(name: str) -> str:
    """Name key for duplicate checks: case-folded, without spaces and punctuation."""
    return re.sub(r"[\W_]+", "", name.casefold())


def fits_lang(text: str, lang: str) -> bool:
    """English text must hold no Han character; Chinese text must hold one."""
    return (script_lang(text) == "zh") == (lang == "zh")


def label_for(graph: SynthGraph, predicate: str, lang: str, template: str) -> str | None:
    """The relation label a template needs ("" when it has no ``{label}``), None if not in ``lang``'s script.

    Open relations are labelled by their predicate, which is in the language it was extracted from,
    so an English predicate cannot be asked about in Chinese and vice versa.
    """
    if "{label}" not in template:
        return ""
    label = graph.relation_label(predicate, lang)
    return label if fits_lang(label, lang) else None


@dataclass(frozen=True)
class Group:
    """The usable facts of one (subject, relation) pair and the split every question about it gets."""

    subject: str
    predicate: str
    facts: tuple[Fact, ...]
    split: str


class Pools:
    """Candidate lists and name keys of one run, built once so that every record samples instead of scanning.

    Args:
        ctx: the run's context.
    """

    def __init__(self, ctx: Context) -> None:
        self.graph, self.plan = ctx.graph, ctx.plan
        self.heldout = frozenset(e for e in ctx.graph.entities if ctx.plan.heldout_entity(e))
        self._types: dict[tuple[str, str], list[str]] = {}
        self._objects: dict[tuple[str, str], list[str]] = {}
        self._related: dict[str, frozenset[str]] = {}
        self._keys: dict[tuple[str, str], str] = {}

    def of_type(self, type_name: str, lang: str) -> list[str]:
        """Entities of a type that have a name in ``lang``, sorted by id."""
        key = (type_name, lang)
        if key not in self._types:
            self._types[key] = [e for e in self.graph.by_type.get(type_name, ()) if self.graph.name(e, lang)]
        return self._types[key]

    def objects(self, predicate: str, lang: str) -> list[str]:
        """Objects of ``predicate`` (any subject, inferred facts included) that have a name in ``lang``."""
        key = (predicate, lang)
        if key not in self._objects:
            objects = self.graph.objects_of.get(predicate, ())
            self._objects[key] = [e for e in objects if self.graph.name(e, lang)]
        return self._objects[key]

    def key(self, entity: str, lang: str) -> str:
        """:func:`normalize` of the entity's ``lang`` name ("" without one)."""
        cache_key = (entity, lang)
        if cache_key not in self._keys:
            self._keys[cache_key] = normalize(self.graph.name(entity, lang) or "")
        return self._keys[cache_key]

    def taboo(self, group: Group, lang: str) -> frozenset[str]:
        """Name keys of the group's subject and of every known answer: no wrong option may bear one."""
        ids = (group.subject, *self.graph.answers[(group.subject, group.predicate)])
        return frozenset(self.key(e, lang) for e in ids) - {""}

    def related(self, entity: str) -> frozenset[str]:
        """Entities of ``entity``'s type linked to it: wrong options that may well be right after all.

        Same-type relations are containment-like (``located_in``, ``subsidiary_of``): if Hangzhou is
        the answer, Zhejiang is true as well. Covers direct links both ways and the outgoing chain
        (Hangzhou -> Zhejiang -> China) a few steps up.
        """
        if entity not in self._related:
            entities = self.graph.entities
            type_name = entities[entity].type
            found = {f.object if f.subject == entity else f.subject
                     for f in self.graph.by_entity.get(entity, ())
                     if entities[f.subject].type == entities[f.object].type == type_name}
            frontier, seen = {entity}, {entity}
            for _ in range(3):  # outgoing only: walking up a hierarchy stays small, walking down does not
                frontier = {f.object for e in frontier for f in self.graph.by_subject.get(e, ())
                            if entities[f.object].type == type_name} - seen
                seen |= frontier
            self._related[entity] = frozenset((found | seen) - {entity})
        return self._related[entity]

    def groups(self) -> list[Group]:
        """Every (subject, relation) group of usable facts, sorted, with its split."""
        groups = []
        for subject in sorted(self.graph.by_subject):
            by_predicate: dict[str, list[Fact]] = {}
            for fact in self.graph.by_subject[subject]:
                by_predicate.setdefault(fact.predicate, []).append(fact)
            for predicate in sorted(by_predicate):
                facts = tuple(by_predicate[predicate])
                # consistent with SplitPlan.fact_split, decided once for the whole group
                held = subject in self.heldout or any(f.object in self.heldout for f in facts)
                split = "heldout" if held else self.plan.pair_split(subject, predicate)
                groups.append(Group(subject, predicate, facts, split))
        return groups


class Phrasebook:
    """The templates a (relation, language, split) may use, with their labels, looked up once per run.

    Lookups warn about fallbacks once per group or fact; a cached answer replays its warnings so
    the run's summary counts the same as without the cache.

    Args:
        ctx: the run's context.
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cache: dict[tuple[str, str, str, bool], tuple[list[tuple[int, str, str]], str, Warnings]] = {}

    def questions(self, predicate: str, lang: str, split: str) -> tuple[list[tuple[int, str, str]], str]:
        """(index, template, label) of the question templates ``split`` may use, and their family."""
        return self._lookup("question", predicate, lang, split)

    def statements(self, predicate: str, lang: str, split: str) -> tuple[list[tuple[int, str, str]], str]:
        """(index, template, label) of the verbalization templates ``split`` may use, and their family."""
        return self._lookup("statement", predicate, lang, split)

    def _lookup(self, kind: str, predicate: str, lang: str,
                split: str) -> tuple[list[tuple[int, str, str]], str]:
        key = (kind, predicate, lang, split == "train")
        if key not in self._cache:
            warnings, graph = Warnings(), self.ctx.graph
            lookup = question_templates if kind == "question" else statement_templates
            templates, family = lookup(graph, predicate, lang, warnings)
            allowed = self.ctx.plan.templates(templates, predicate, lang, split, family)
            if not allowed:
                warnings.add(f"relation {predicate!r} has a single {lang} {kind} template, reserved for "
                             f"evaluation: no training {kind}s")
            usable = [(i, t, label) for i, t in allowed
                      if (label := label_for(graph, predicate, lang, t)) is not None]
            if allowed and not usable:
                warnings.add(f"open relation {predicate!r} has no {lang} label: not phrased in {lang}")
            self._cache[key] = (usable, family, warnings)
        usable, family, warnings = self._cache[key]
        self.ctx.warnings.update(warnings)
        return usable, family


def sampled(rng: random.Random, pool: Sequence, tries: int = _TRIES) -> Iterator:
    """Items of ``pool`` in random order: all of a small pool, ``tries`` random draws from a large one.

    Lazy: a caller that stops after one item pays for one draw.
    """
    size = len(pool)
    if size > tries:
        for _ in range(tries):
            yield pool[int(rng.random() * size)]
        return
    order = list(pool)
    for i in range(size):  # Fisher-Yates, one step per item consumed
        j = i + int(rng.random() * (size - i))
        order[i], order[j] = order[j], order[i]
        yield order[i]


class Picker:
    """Chooses wrong options for one question: never a known answer, the subject or a repeated name.

    Args:
        pools: the run's pools (names and name keys).
        lang: language of the names.
        group: the question's group.
        taboo: :meth:`Pools.taboo` of the group: a different entity bearing a correct answer's or
            the subject's name would be right too.
        related: sets of entities too close to a correct answer to count as wrong (:meth:`Pools.related`),
            kept apart because a hub's set is large and shared.
    """

    def __init__(self, pools: Pools, lang: str, group: Group, taboo: frozenset[str],
                 related: Sequence[frozenset[str]] = ()) -> None:
        self.pools, self.lang, self.taboo, self.related = pools, lang, taboo, related
        self.known = pools.graph.answers[(group.subject, group.predicate)]
        self.heldout = frozenset() if group.split == "heldout" else pools.heldout
        # only this question's picks: the group's sets are shared, never copied (hub groups are large)
        self.chosen: set[str] = {group.subject}
        self.names: set[str] = set()

    def take(self, candidates: Iterable[str], want: int,
             accept: Callable[[str], bool] = lambda e: True) -> list[str]:
        """Up to ``want`` acceptable candidates, each then excluded from later calls."""
        chosen: list[str] = []
        if want <= 0:
            return chosen
        for entity in candidates:
            if (entity in self.chosen or entity in self.known or entity in self.heldout
                    or any(entity in r for r in self.related) or not accept(entity)):
                continue
            key = self.pools.key(entity, self.lang)
            if not key or key in self.names or key in self.taboo:
                continue
            chosen.append(entity)
            self.chosen.add(entity)
            self.names.add(key)
            if len(chosen) == want:
                break
        return chosen


def generate_qa(ctx: Context, per_group: int = 2) -> Iterator[Record]:
    """Open questions, one per (subject, relation) group, language and chosen question template.

    Args:
        ctx: the run's context.
        per_group: training question templates used per group and language (eval/heldout groups get
            the single reserved template).

    Yields:
        ``qa`` records, style ``open``; the answer lists every usable object of the group (never an
        inferred fact left out of training), ``meta["accepted"]`` every known one with a name.
    """
    if per_group < 1:
        raise ConfigError(f"per_group must be at least 1, got {per_group}")
    graph, pools, book = ctx.graph, Pools(ctx), Phrasebook(ctx)
    groups = pools.groups()
    for lang in ctx.langs:
        words, rng = wording(lang), ctx.rng(f"qa:{lang}")
        for group in groups:
            usable, family = book.questions(group.predicate, lang, group.split)
            if not usable:
                continue
            if len(usable) > per_group:
                usable = sorted(rng.sample(usable, per_group))
            subject = graph.name(group.subject, lang)
            objects = sorted({f.object for f in group.facts})
            names = [graph.name(o, lang) for o in objects]
            if subject is None or None in names:
                ctx.warnings.add(f"qa: group skipped in {lang}: an entity has no {lang} name")
                continue
            answers = sorted(names)
            known = graph.answers[(group.subject, group.predicate)]
            accepted = sorted(n for n in (graph.name(o, lang) for o in known) if n)
            for index, template, label in usable:
                yield Record(kind="qa", lang=lang, split=group.split, style="open",
                             prompt=render(template, subject, label=label), answer=words.join(answers),
                             facts=[f.id for f in group.facts], entities=[group.subject, *objects],
                             templates=[template_id(family, group.predicate, lang, index)],
                             meta={"relation": group.predicate, "answers": answers, "accepted": accepted})


def generate_tf(ctx: Context) -> Iterator[Record]:
    """True/false statements: for every usable fact and language, one true and one false statement.

    The false statement swaps the object for an entity of the object's type that is no known answer
    of the group nor linked to the true object by a same-type fact, preferring objects of the same
    relation (hard negatives).

    Yields:
        ``tf`` records, style ``statement``, with ``label`` set; the false one keeps the replaced
        object in ``meta["replaced"]``.
    """
    graph, pools, book = ctx.graph, Pools(ctx), Phrasebook(ctx)
    groups = pools.groups()
    for lang in ctx.langs:
        words, rng = wording(lang), ctx.rng(f"tf:{lang}")
        for group in groups:
            usable, family = book.statements(group.predicate, lang, group.split)
            if not usable:
                continue
            subject = graph.name(group.subject, lang)
            taboo = pools.taboo(group, lang)
            for fact in group.facts:
                if subject is None or graph.name(fact.object, lang) is None:
                    ctx.warnings.add(f"tf: fact skipped in {lang}: an entity has no {lang} name")
                    continue
                picker = Picker(pools, lang, group, taboo, [pools.related(fact.object)])
                type_name = graph.entities[fact.object].type
                same_type = lambda e, t=type_name: graph.entities[e].type == t  # noqa: E731
                wrong = (picker.take(sampled(rng, pools.objects(group.predicate, lang)), 1, same_type)
                         or picker.take(sampled(rng, pools.of_type(type_name, lang)), 1))
                if not wrong:
                    ctx.warnings.add(f"tf: no false {lang} object for a {group.predicate!r} fact: skipped")
                    continue
                for truth, object_id in ((True, fact.object), (False, wrong[0])):
                    index, template, label = rng.choice(usable)
                    statement = render(template, subject, graph.name(object_id, lang) or "", label)
                    yield Record(kind="tf", lang=lang, split=group.split, style="statement",
                                 prompt=words.true_false.replace("{statement}", statement),
                                 answer=words.true if truth else words.false, label=truth, facts=[fact.id],
                                 entities=[group.subject, object_id],
                                 templates=[template_id(family, group.predicate, lang, index)],
                                 meta={"relation": group.predicate} if truth else
                                 {"relation": group.predicate, "replaced": fact.object})


def generate_mc(ctx: Context, unrelated: int = 2) -> Iterator[Record]:
    """Multiple choice: one correct answer, three same-type confusions and ``unrelated`` other options.

    Confusions come first from objects of the same relation for other subjects, then from the
    subject's neighbours, then from any entity of the answer's type; unrelated options are entities
    of other types. A question without enough of either is skipped with a warning.

    Args:
        ctx: the run's context.
        unrelated: options of other entity types per question.

    Yields:
        ``mc`` records, style ``choice``: the answer is ``"<letter>. <name>"``, ``meta["answer_index"]``
        its position in ``options``.
    """
    most = len(LETTERS) - 1 - HARD_CONFUSIONS
    if not 0 <= unrelated <= most:
        raise ConfigError(f"unrelated must be between 0 and {most}, got {unrelated}")
    graph, pools, book = ctx.graph, Pools(ctx), Phrasebook(ctx)
    groups = pools.groups()
    for lang in ctx.langs:
        words, rng = wording(lang), ctx.rng(f"mc:{lang}")
        types = [t for t in sorted(graph.by_type) if pools.of_type(t, lang)]
        for group in groups:
            usable, family = book.questions(group.predicate, lang, group.split)
            if not usable:
                continue
            subject = graph.name(group.subject, lang)
            named = sorted({f.object for f in group.facts if graph.name(f.object, lang)})
            if subject is None or not named:
                ctx.warnings.add(f"mc: group skipped in {lang}: an entity has no {lang} name")
                continue
            index, template, label = rng.choice(usable)
            answer = rng.choice(named)
            type_name = graph.entities[answer].type
            same_type = lambda e, t=type_name: graph.entities[e].type == t  # noqa: E731
            known = graph.answers[(group.subject, group.predicate)]
            # the relatives of every answer; a hub group settles for those of the one shown
            related = [pools.related(a) for a in (known if len(known) <= 16 else (answer,))]
            picker = Picker(pools, lang, group, pools.taboo(group, lang), related)
            hard = picker.take(sampled(rng, pools.objects(group.predicate, lang)), HARD_CONFUSIONS, same_type)
            neighbours = (f.object if f.subject == group.subject else f.subject
                          for f in sampled(rng, graph.by_entity.get(group.subject, ())))
            hard += picker.take(neighbours, HARD_CONFUSIONS - len(hard), same_type)
            hard += picker.take(sampled(rng, pools.of_type(type_name, lang)), HARD_CONFUSIONS - len(hard))
            others = [t for t in types if t != type_name]
            far = picker.take(_other_types(rng, pools, others, lang), unrelated) if others else []
            if len(hard) < HARD_CONFUSIONS or len(far) < unrelated:
                ctx.warnings.add(f"mc: too few {lang} options for a {group.predicate!r} question: skipped")
                continue
            options = [answer, *hard, *far]
            rng.shuffle(options)
            texts = [graph.name(e, lang) or "" for e in options]
            position = options.index(answer)
            lines = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(texts))
            yield Record(kind="mc", lang=lang, split=group.split, style="choice",
                         prompt=f"{render(template, subject, label=label)}\n{lines}\n{words.choose}",
                         answer=f"{LETTERS[position]}. {texts[position]}", options=texts,
                         facts=[f.id for f in group.facts if f.object == answer],
                         entities=[group.subject, *options],
                         templates=[template_id(family, group.predicate, lang, index)],
                         meta={"relation": group.predicate, "answer_index": position, "hard": hard,
                               "unrelated": far})


def _other_types(rng: random.Random, pools: Pools, types: list[str], lang: str) -> Iterator[str]:
    for _ in range(_TRIES):
        pool = pools.of_type(types[int(rng.random() * len(types))], lang)
        yield pool[int(rng.random() * len(pool))]


def __getattr__(name: str):
    # lazy, because refusals builds on this module's helpers
    if name == "generate_refusals":
        from injection.synth.refusals import generate_refusals

        return generate_refusals
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["HARD_CONFUSIONS", "LETTERS", "WORDING", "Group", "Phrasebook", "Picker", "Pools", "Wording",
           "fits_lang", "generate_mc", "generate_qa", "generate_tf", "label_for", "normalize", "sampled",
           "wording"]
