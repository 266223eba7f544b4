"""Factuality data: open questions, true/false statements and multiple choice with hard distractors.

Every question is about one (subject, relation) group: all usable facts sharing a subject and a
relation. A group's split is ``heldout`` when any of its entities is held out, else the plan's
``pair_split``, so train and evaluation never ask about the same group. Training records use the
training templates; ``eval``/``heldout`` records use only the template reserved for evaluation.

Wrong options and false statements come from :mod:`injection.synth.candidates`; per-language wording
from :mod:`injection.synth.wording`. Each group is one unit of :meth:`Context.units`: its records draw
from the unit's stream, so any number of worker processes writes the same records.

Refusals live in :mod:`injection.synth.refusals` (also importable from here).
"""

from __future__ import annotations

import random
from collections.abc import Iterator

from injection.synth.candidates import TRIES, Group, Phrasebook, Picker, Pools, sampled
from injection.synth.context import Context
from injection.synth.records import Record, template_id
from injection.synth.templates import render
from injection.synth.wording import WORDING, Wording, fits_lang, label_for, normalize, wording
from kg.errors import ConfigError

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
HARD_CONFUSIONS = 3
"""Same-type wrong options of a multiple-choice question (1 answer + 3 close confusions + unrelated)."""


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
    graph, pools, book = ctx.graph, Pools.of(ctx), Phrasebook(ctx)
    groups = pools.groups()
    for lang in ctx.langs:
        words = wording(lang)
        for group, rng in ctx.units(groups, f"qa:{lang}", key=Group.key):
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
    graph, pools, book = ctx.graph, Pools.of(ctx), Phrasebook(ctx)
    groups = pools.groups()
    for lang in ctx.langs:
        words = wording(lang)
        for group, rng in ctx.units(groups, f"tf:{lang}", key=Group.key):
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
                    ctx.warnings.relation(f"tf: no false {lang} object found: fact skipped", group.predicate,
                                          1, open=group.predicate not in graph.schema.relation_types,
                                          counted=True)
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
    graph, pools, book = ctx.graph, Pools.of(ctx), Phrasebook(ctx)
    groups = pools.groups()
    for lang in ctx.langs:
        words = wording(lang)
        types = [t for t in sorted(graph.by_type) if pools.of_type(t, lang)]
        for group, rng in ctx.units(groups, f"mc:{lang}", key=Group.key):
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
                ctx.warnings.relation(f"mc: too few {lang} options: question skipped", group.predicate, 1,
                                      open=group.predicate not in graph.schema.relation_types,
                                      unit="questions", counted=True)
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
    for _ in range(TRIES):
        pool = pools.of_type(types[int(rng.random() * len(types))], lang)
        yield pool[int(rng.random() * len(pool))]


def __getattr__(name: str):
    # lazy, because refusals builds on this module's helpers
    if name == "generate_refusals":
        from injection.synth.refusals import generate_refusals

        return generate_refusals
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


# the helpers moved to wording and candidates; importable from here as before
__all__ = ["HARD_CONFUSIONS", "LETTERS", "WORDING", "Group", "Phrasebook", "Picker", "Pools", "Wording",
           "fits_lang", "generate_mc", "generate_qa", "generate_tf", "label_for", "normalize", "sampled",
           "wording"]
