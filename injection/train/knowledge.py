"""Knowledge probing for refusal data, after the factuality recipe of the Llama 3 paper.

The model is asked the graph's questions, several times, and what it answers decides what it is
trained on: it should answer what it knows and say "I don't know" to what it does not, instead of
learning to make up answers.

1. **Ask.** Every ``train`` (subject, relation) group of the dataset's split plan, in every language
   of the dataset, gets one question from a *training* question template (drawn with the seed). The
   plan is read from ``DS/card.json`` (the seed, ratios, languages and inferred-fact settings of the
   ``kg synth`` run), so ``eval`` groups, held-out entities and the templates reserved for evaluation
   are never asked; a question that still overlaps an ``eval``/``heldout`` prompt of the dataset is
   dropped by the same decontamination ``kg synth`` applies to its training files.
2. **Answer.** ``samples`` answers sampled at ``temperature`` and one greedy answer per question.
3. **Judge.** An answer is right when its first line names a known object of the group (any name or
   alias, inferred facts included; :func:`~injection.train.probe.answer_matches`, fuzzy) and it does
   not refuse (:func:`~injection.train.probe.is_refusal`).
4. **Classify** (:func:`classify`, :data:`CLASSES`):

   * ``known``: the greedy answer and at least ``min_known`` samples are right: the question becomes
     QA training data (``DS/train/probe_qa``) that reinforces what the model knows;
   * ``unknown``: no answer is right and most do not refuse: the model makes something up, so it is
     taught to refuse (``DS/train/probe_refusal``, the ``kg synth`` refusal wording of the question's
     language);
   * ``refused``: no answer is right and at least half refuse already: nothing to write;
   * ``mixed``: anything else: the model half knows the fact; its fact ids are listed
     (:attr:`KnowledgeReport.needs_text`) for more continual-pretraining text.

:func:`write_knowledge` writes both files in the synth question-row format (same writers, same
schema), ``DS/probe_report.json``, and adds the files and counts to the dataset card.
:func:`injection.train.data.sft_texts` trains on the probe files with ``train/sft``; a refusal
supersedes the synth QA rows about the same facts there.

Probe the model that is about to be fine-tuned (after continual pretraining on the dataset's text):
what it knows then is what the refusals must reflect.
"""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from injection.synth.candidates import Group, Phrasebook, Pools
from injection.synth.context import Context
from injection.synth.dedup import Decontaminator
from injection.synth.graph import SynthGraph
from injection.synth.pipeline import read_graph
from injection.synth.records import Record, template_id
from injection.synth.splits import SplitPlan
from injection.synth.templates import render
from injection.synth.wording import wording
from injection.synth.writers import FORMATS, SPLIT_DIRS, write_card, write_records
from injection.train.data import PROBE_STEMS, dataset_file, read_rows
from injection.train.models import chat_prompt, encode_prompt
from injection.train.probe import answer_matches, generate_answers, is_refusal, normalize_answer
from kg.errors import ConfigError, InputError, WorkspaceError
from kg.graph import GraphView
from kg.schema import Schema
from kg.workspace import Workspace

CLASSES: tuple[str, ...] = ("known", "mixed", "unknown", "refused")
"""Question classes, in report order (see the module docstring)."""

REFUSAL_STYLE = "model_unknown"
"""Style of a refusal for a real fact the model does not know (synth's own refusals are
``unknown_relation`` and ``unknown_entity``: questions the graph cannot answer)."""

REPORT_FILE = "probe_report.json"
"""The report :func:`write_knowledge` writes into the dataset folder."""

QA_STEM, REFUSAL_STEM = PROBE_STEMS

Progress = Callable[[str, int, int], None]
"""Progress callback: (stage, completed, total)."""

_ASKED_KINDS = ("qa", "tf", "mc", "refusal")  # eval/heldout files whose prompts the questions must avoid


@dataclass
class KnowledgeReport:
    """What the model knows about the graph's training questions, and the rows made from it.

    Attributes:
        counts: questions per class (every class of :data:`CLASSES`, zeros included).
        langs: questions per language and class.
        relations: questions per relation and class.
        needs_text: ids of the facts of ``mixed`` questions: they need more continual-pretraining text.
        unknown_facts: ids of the facts of ``unknown`` questions (now refusal targets).
        items: one dict per question: what was asked, every answer, how it was judged, its class.
        qa: the ``known`` questions as ``qa`` records (style ``open``), for ``train/probe_qa``.
        refusals: the ``unknown`` questions as ``refusal`` records (style :data:`REFUSAL_STYLE`), for
            ``train/probe_refusal``.
        notes: what was skipped or dropped, and why.
        config: the probe's settings and the split plan it followed.
        files: rows per written file (set by :func:`write_knowledge`).
    """

    counts: dict[str, int]
    langs: dict[str, dict[str, int]]
    relations: dict[str, dict[str, int]]
    needs_text: list[str]
    unknown_facts: list[str]
    items: list[dict[str, Any]] = field(default_factory=list)
    qa: list[Record] = field(default_factory=list)
    refusals: list[Record] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the records (they are in the written files), JSON-ready."""
        return {"counts": self.counts, "langs": self.langs, "relations": self.relations,
                "needs_text": self.needs_text, "unknown_facts": self.unknown_facts, "files": self.files,
                "notes": self.notes, "config": self.config, "items": self.items}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (folders created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path


def classify(right: int, samples: int, greedy_right: bool, refusals: int, min_known: int) -> str:
    """The class of a question from how its answers were judged.

    Args:
        right: sampled answers that are right.
        samples: sampled answers.
        greedy_right: whether the greedy answer is right.
        refusals: answers that refuse, greedy included (``samples + 1`` answers in all).
        min_known: right samples a ``known`` question needs.

    Returns:
        One of :data:`CLASSES`.
    """
    if greedy_right and right >= min_known:
        return "known"
    if right or greedy_right:
        return "mixed"
    return "refused" if 2 * refusals >= samples + 1 else "unknown"


@dataclass(frozen=True)
class _Question:
    """One question to ask: its QA record, every name that answers it, and its refusal target."""

    record: Record
    accepted: tuple[str, ...]
    refusal: str
    subject: str


def probe_knowledge(model: Any, tokenizer: Any, source: Workspace | GraphView, dataset_dir: str | Path, *,
                    samples: int = 4, temperature: float = 0.7, max_facts: int | None = None, seed: int = 0,
                    min_known: int | None = None, max_new_tokens: int = 32, batch_size: int = 8,
                    schema: Schema | None = None, progress: Progress | None = None) -> KnowledgeReport:
    """Ask ``model`` the training questions of the graph and classify what it knows.

    Args:
        model: a causal LM (any device); it is put in eval mode and switched back afterwards.
        tokenizer: its tokenizer (prompts go through :func:`~injection.train.models.chat_prompt`).
        source: an opened workspace (its bundle and schema) or a live graph view.
        dataset_dir: the folder ``kg synth`` wrote; its ``card.json`` gives the split plan and
            languages, its ``eval``/``heldout`` files the prompts to stay away from.
        samples: sampled answers per question (besides the greedy one).
        temperature: sampling temperature.
        max_facts: most (subject, relation) groups to ask about, a seeded sample; None: all.
        seed: seeds the template choice, the refusal wording, the group sample and the sampling.
        min_known: right samples a ``known`` question needs; None: three quarters of ``samples``
            (3 of 4), rounded up.
        max_new_tokens: longest answer.
        batch_size: sequences per ``generate`` call (a question's samples count one each).
        schema: domain schema; default the workspace's (the open schema for a bare view).
        progress: optional callback, stage ``probe``.

    Returns:
        The report, holding the QA and refusal records :func:`write_knowledge` writes.

    Raises:
        ConfigError: bad settings.
        InputError: the dataset folder or its card is missing or unreadable.
        WorkspaceError: the graph has no training questions to ask.
    """
    import torch

    settings = _settings(samples, temperature, max_facts, min_known, max_new_tokens, batch_size)
    ds = _check_dataset(dataset_dir)
    card = _read_card(ds)
    options = _synth_options(card)
    plan = SplitPlan(options["seed"], options["eval_ratio"], options["heldout_ratio"])
    view, schema = read_graph(source, schema)  # as kg synth reads it: same graph, same templates
    graph = SynthGraph(view, schema, include_inferred=options["include_inferred"],
                       min_score=options["min_score"])
    notes: list[str] = []
    known_facts = card.get("graph", {}).get("facts")
    if known_facts is not None and known_facts != len(graph.facts):
        notes.append(f"the graph has {len(graph.facts)} usable facts, the dataset was made from {known_facts}: "
                     "questions follow the same split plan, but rerun kg synth for matching training text")
    ctx = Context(graph, plan, langs=tuple(options["langs"]), seed=seed)
    questions = _questions(ctx, max_facts, notes)
    questions = _decontaminated(questions, ds, notes)
    if not questions:
        raise WorkspaceError(f"no training questions to ask about the graph of {ds} (see kg synth's warnings: "
                             "relations need two or more question templates per language); nothing to probe")

    progress = progress or (lambda stage, done, total: None)
    per_call = max(1, settings["batch_size"] // max(1, samples))
    greedy: list[str] = []
    sampled: list[list[str]] = []
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    try:
        # a private generator state: the caller's random streams (a training run) stay untouched
        with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []), torch.inference_mode():
            torch.manual_seed(seed)
            progress("probe", 0, len(questions))
            for start in range(0, len(questions), per_call):
                prompts = [q.record.prompt for q in questions[start:start + per_call]]
                greedy += generate_answers(model, tokenizer, prompts, max_new_tokens=max_new_tokens,
                                           batch_size=per_call)
                sampled += (sample_answers(model, tokenizer, prompts, samples=samples, temperature=temperature,
                                           max_new_tokens=max_new_tokens, batch_size=settings["batch_size"])
                            if samples else [[] for _ in prompts])
                progress("probe", len(greedy), len(questions))
    finally:
        model.train(was_training)

    report = _report(questions, greedy, sampled, settings["min_known"], notes)
    report.config = {**settings, "seed": seed, "model": str(getattr(model.config, "_name_or_path", "") or ""),
                     "dataset": str(ds), "plan": {k: options[k] for k in sorted(options)}}
    return report


def sample_answers(model: Any, tokenizer: Any, questions: Sequence[str], *, samples: int, temperature: float,
                   max_new_tokens: int = 32, batch_size: int = 8) -> list[list[str]]:
    """``samples`` answers to each question, sampled at ``temperature`` (no top-k or top-p cut).

    Batched with left padding like :func:`~injection.train.probe.generate_answers`; call under
    ``torch.inference_mode()`` with the model in eval mode, after seeding torch for repeatable samples
    (:func:`probe_knowledge` does both).

    Args:
        batch_size: sequences per ``generate`` call; each question takes ``samples`` of them.

    Returns:
        Per question, its ``samples`` answers (special tokens removed, stripped).
    """
    import torch

    encoded = [encode_prompt(tokenizer, chat_prompt(tokenizer, q)) for q in questions]
    limit = int(getattr(model.config, "max_position_embeddings", None) or 2048) - max_new_tokens
    encoded = [ids[-limit:] for ids in encoded]
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    pad = int(pad or 0)
    device = next(model.parameters()).device
    options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": True, "temperature": temperature,
                               "top_k": 0, "top_p": 1.0, "num_return_sequences": samples,
                               "pad_token_id": pad, "use_cache": True}
    generation = getattr(model, "generation_config", None)
    if (generation is None or generation.eos_token_id is None) and tokenizer.eos_token_id is not None:
        options["eos_token_id"] = tokenizer.eos_token_id
    per_call = max(1, batch_size // samples)
    answers: list[list[str]] = []
    for start in range(0, len(encoded), per_call):
        batch = encoded[start:start + per_call]
        width = max(len(ids) for ids in batch)
        # decoder-only models continue the last position, so pad on the left
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, seq in enumerate(batch):
            ids[row, width - len(seq):] = torch.tensor(seq, dtype=torch.long)
            mask[row, width - len(seq):] = 1
        output = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **options)
        texts = [t.strip() for t in tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)]
        # generate repeats each input ``samples`` times in a row
        answers += [texts[i * samples:(i + 1) * samples] for i in range(len(batch))]
    return answers


def write_knowledge(report: KnowledgeReport, dataset_dir: str | Path) -> dict[str, Path]:
    """Write the probe's training rows and report into the dataset, and update its card.

    Writes ``DS/train/probe_qa.FMT`` and ``DS/train/probe_refusal.FMT`` (``FMT`` the dataset's format;
    a file with no rows is not written, and one left by an earlier probe is removed) in the synth
    question-row format, ``DS/probe_report.json``, and, when the dataset has a card, the files' rows
    and tokens and the class counts in ``card.json`` and ``README.md``.

    Returns:
        The written files, keyed by their path relative to the dataset (``train/probe_qa.jsonl``,
        ``probe_report.json``).

    Raises:
        InputError: the dataset folder does not exist.
    """
    ds = _check_dataset(dataset_dir)
    card_path = ds / "card.json"
    card = _read_card(ds) if card_path.is_file() else None
    fmt = _dataset_format(ds, card)
    written: dict[str, list[Record]] = {}
    for stem, records in ((QA_STEM, report.qa), (REFUSAL_STEM, report.refusals)):
        for old in FORMATS:
            (ds / f"{stem}.{old}").unlink(missing_ok=True)
        if records:
            write_records(ds / f"{stem}.{fmt}", records, fmt)
            written[f"{stem}.{fmt}"] = records
    report.files = {rel: len(records) for rel, records in written.items()}
    report.save(ds / REPORT_FILE)
    if card is not None:
        _update_card(ds, card, report, written)
    return {**{rel: ds / rel for rel in written}, REPORT_FILE: ds / REPORT_FILE}


# -- questions -------------------------------------------------------------------------------------------


def _questions(ctx: Context, max_facts: int | None, notes: list[str]) -> list[_Question]:
    """One question per ``train`` group and language, from a training template (synth's qa rows' form)."""
    graph = ctx.graph
    pools, book = Pools.of(ctx), Phrasebook(ctx)
    groups = [g for g in pools.groups() if g.split == "train"]
    if max_facts is not None and len(groups) > max_facts:
        keep = sorted(random.Random(f"{ctx.seed}:probe-groups").sample(range(len(groups)), max_facts))
        groups = [groups[i] for i in keep]
    questions: list[_Question] = []
    unnamed = 0
    for lang in ctx.langs:
        words = wording(lang)
        # per-group streams keyed by ids: a group's question does not depend on which others are asked
        for group, rng in ctx.units(groups, f"probe:{lang}", key=Group.key):
            usable, family = book.questions(group.predicate, lang, "train")
            if not usable:
                continue
            index, template, label = rng.choice(usable)
            refusal = rng.choice(words.refusals)
            subject = graph.name(group.subject, lang)
            objects = sorted({f.object for f in group.facts})
            names = [graph.name(o, lang) for o in objects]
            if subject is None or None in names:
                unnamed += 1
                continue
            known = graph.answers[(group.subject, group.predicate)]
            record = Record(kind="qa", lang=lang, split="train", style="open",
                            prompt=render(template, subject, label=label),
                            answer=words.join(sorted(names)), facts=[f.id for f in group.facts],
                            entities=[group.subject, *objects],
                            templates=[template_id(family, group.predicate, lang, index)],
                            meta={"relation": group.predicate, "answers": sorted(names),
                                  "accepted": sorted(n for n in (graph.name(o, lang) for o in known) if n)})
            questions.append(_Question(record, _accepted(graph, known), refusal, group.subject))
    if unnamed:
        notes.append(f"{unnamed} question(s) skipped: an entity has no name in the question's language")
    for warning in ctx.warnings.lines():
        notes.append(f"synth: {warning}")
    return questions


def _accepted(graph: SynthGraph, objects: frozenset[str]) -> tuple[str, ...]:
    """Every name and alias of every known object, in any language: naming one is knowing the fact."""
    names: list[str] = []
    for obj in sorted(objects):
        entity = graph.entities[obj]
        names.append(entity.name)
        # a one-letter alias would be "found" inside almost any answer
        names += [a for a in entity.aliases if len(normalize_answer(a)) >= 2]
    return tuple(dict.fromkeys(names))


def _decontaminated(questions: list[_Question], ds: Path, notes: list[str]) -> list[_Question]:
    """The questions whose record overlaps no ``eval``/``heldout`` prompt of the dataset."""
    probes = []
    for split in SPLIT_DIRS[1:]:
        for kind in _ASKED_KINDS:
            path = dataset_file(ds, f"{split}/{kind}")
            probes += [_as_record(row, split, kind) for row in read_rows(path)] if path else []
    guard = Decontaminator(r for r in probes if r.prompt)
    kept, removed = guard.filter([q.record for q in questions])
    if removed:
        notes.append(f"{sum(removed.values())} question(s) dropped: they overlap evaluation prompts "
                     f"({', '.join(f'{k} {v}' for k, v in sorted(removed.items()))})")
    kept_ids = {id(r) for r in kept}
    return [q for q in questions if id(q.record) in kept_ids]


def _as_record(row: dict[str, Any], split: str, kind: str) -> Record:
    messages = row.get("messages") or []
    prompt = next((m["content"] for m in messages if m.get("role") == "user"), row.get("instruction") or "")
    return Record(kind=row.get("kind") or kind, lang=row.get("lang") or "en", split=split, prompt=prompt,
                  options=list(row.get("options") or ()), facts=list(row.get("facts") or ()),
                  entities=list(row.get("entities") or ()))


# -- judging and the report ----------------------------------------------------------------------------


def _report(questions: list[_Question], greedy: list[str], sampled: list[list[str]], min_known: int,
            notes: list[str]) -> KnowledgeReport:
    counts: Counter[str] = Counter()
    langs: dict[str, Counter[str]] = {}
    relations: dict[str, Counter[str]] = {}
    needs_text: set[str] = set()
    unknown: set[str] = set()
    items: list[dict[str, Any]] = []
    qa: list[Record] = []
    refusals: list[Record] = []
    for question, first, outputs in zip(questions, greedy, sampled, strict=True):
        record = question.record
        greedy_right, greedy_refused = _judge(first, question.accepted)
        judged = [_judge(o, question.accepted) for o in outputs]
        right = sum(r for r, _ in judged)
        refused = greedy_refused + sum(f for _, f in judged)
        label = classify(right, len(outputs), greedy_right, refused, min_known)
        relation = record.meta["relation"]
        counts[label] += 1
        langs.setdefault(record.lang, Counter())[label] += 1
        relations.setdefault(relation, Counter())[label] += 1
        verdict = {"class": label, "right": right, "samples": len(outputs), "greedy_right": greedy_right,
                   "refusals": refused}
        if label == "known":
            qa.append(_with_meta(record, verdict))
        elif label == "unknown":
            unknown.update(record.facts)
            refusals.append(Record(kind="refusal", lang=record.lang, split="train", style=REFUSAL_STYLE,
                                   prompt=record.prompt, answer=question.refusal, facts=list(record.facts),
                                   entities=list(record.entities), templates=list(record.templates),
                                   meta={"relation": relation, "probe": verdict}))
        elif label == "mixed":
            needs_text.update(record.facts)
        items.append({"lang": record.lang, "relation": relation, "subject": question.subject,
                      "question": record.prompt, "answer": record.answer, "facts": record.facts,
                      "template": record.templates[0], **verdict, "greedy": first, "outputs": outputs})
    return KnowledgeReport(
        counts={c: counts[c] for c in CLASSES},
        langs={lang: {c: n[c] for c in CLASSES} for lang, n in sorted(langs.items())},
        relations={rel: {c: n[c] for c in CLASSES} for rel, n in sorted(relations.items())},
        needs_text=sorted(needs_text), unknown_facts=sorted(unknown), items=items, qa=qa, refusals=refusals,
        notes=notes)


def _judge(output: str, accepted: Sequence[str]) -> tuple[bool, bool]:
    """``(right, refused)`` of one answer."""
    refused = is_refusal(output)
    return (not refused and answer_matches(output, accepted)[1]), refused


def _with_meta(record: Record, verdict: dict[str, Any]) -> Record:
    return Record(**{**record.to_dict(), "meta": {**record.meta, "probe": verdict}})


# -- settings, dataset and card ------------------------------------------------------------------------


def _settings(samples: int, temperature: float, max_facts: int | None, min_known: int | None,
              max_new_tokens: int, batch_size: int) -> dict[str, Any]:
    if samples < 0:
        raise ConfigError(f"samples must not be negative, got {samples}")
    if samples and not temperature > 0:
        raise ConfigError(f"temperature must be above 0 to sample answers, got {temperature}; "
                          "or pass samples=0 for the greedy answer alone")
    for name, value in (("max_new_tokens", max_new_tokens), ("batch_size", batch_size)):
        if value < 1:
            raise ConfigError(f"{name} must be at least 1, got {value}")
    if max_facts is not None and max_facts < 1:
        raise ConfigError(f"max_facts must be at least 1 (or None for every fact), got {max_facts}")
    if min_known is None:
        min_known = math.ceil(0.75 * samples)
    if not 0 <= min_known <= samples:
        raise ConfigError(f"min_known must be between 0 and samples ({samples}), got {min_known}")
    return {"samples": samples, "temperature": temperature, "max_facts": max_facts, "min_known": min_known,
            "max_new_tokens": max_new_tokens, "batch_size": batch_size}


def _check_dataset(dataset_dir: str | Path) -> Path:
    ds = Path(dataset_dir)
    if not ds.is_dir():
        raise InputError(f"dataset folder {ds} does not exist; make one with kg synth -w WS --out {ds}")
    return ds


def _read_card(ds: Path) -> dict[str, Any]:
    path = ds / "card.json"
    if not path.is_file():
        raise InputError(f"{ds} has no card.json: the probe follows the split plan kg synth records there; "
                         f"run kg synth -w WS --out {ds} first")
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read {path} ({exc}); rerun kg synth -w WS --out {ds}") from None
    if not isinstance(card, dict):
        raise InputError(f"{path} is not a kg synth card; rerun kg synth -w WS --out {ds}")
    return card


def _synth_options(card: dict[str, Any]) -> dict[str, Any]:
    """The synth options that decide which questions are training ones, defaults for missing keys."""
    from injection.synth.pipeline import SynthOptions

    given = card.get("options") or {}
    defaults = SynthOptions()
    options = {name: given.get(name, getattr(defaults, name))
               for name in ("seed", "eval_ratio", "heldout_ratio", "include_inferred", "min_score")}
    options["langs"] = list(given.get("langs") or card.get("languages") or defaults.langs)
    return options


def _dataset_format(ds: Path, card: dict[str, Any] | None) -> str:
    fmt = ((card or {}).get("options") or {}).get("format")
    if fmt in FORMATS:
        return fmt
    existing = dataset_file(ds, "train/sft")
    return existing.suffix.lstrip(".") if existing else "jsonl"


def _update_card(ds: Path, card: dict[str, Any], report: KnowledgeReport,
                 written: dict[str, list[Record]]) -> None:
    """Add the probe files and counts to ``card.json``/``README.md`` (entries of an earlier probe replaced)."""
    from injection.synth.tokens import DEFAULT_TOKENIZER, TokenCounter

    counter = TokenCounter(card.get("tokenizer") or DEFAULT_TOKENIZER)
    files = {rel: v for rel, v in card.get("files", {}).items() if rel.rsplit(".", 1)[0] not in PROBE_STEMS}
    for rel, records in written.items():
        files[rel] = {"rows": len(records), "tokens": sum(counter.count([r.text for r in records]))}
    order = {split: i for i, split in enumerate(SPLIT_DIRS)}
    # stable: the probe files follow train's own files, before eval and heldout
    card["files"] = dict(sorted(files.items(), key=lambda kv: order.get(kv[0].split("/")[0], len(order))))
    card["probe"] = {"counts": report.counts, "langs": report.langs, "needs_text": len(report.needs_text),
                     "samples": report.config.get("samples"), "temperature": report.config.get("temperature"),
                     "min_known": report.config.get("min_known"), "report": REPORT_FILE}
    write_card(ds, card)


__all__ = ["CLASSES", "REFUSAL_STYLE", "REPORT_FILE", "KnowledgeReport", "classify", "probe_knowledge",
           "sample_answers", "write_knowledge"]
