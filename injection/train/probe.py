"""The knowledge probe: what a model knows about a ``kg synth`` dataset, and what it forgot.

Question kinds, read from ``DS/<split>/<kind>.jsonl|parquet`` (``train`` reads ``train/sft``):

* ``mc``: likelihood-ranked multiple choice. Every option's text is scored as the answer to the plain
  question (without the lettered list) by its mean per-token log-likelihood; the answer's rank gives
  accuracy (ranked first) and MRR. Ties count against the answer, so a model that scores every option
  alike does not look good.
* ``tf``: the likelihood of the language's "true" word against its "false" word after the true/false
  prompt; accuracy against the label.
* ``qa``: greedy answers (batched, left padding); exact match (normalized) against any accepted answer,
  and fuzzy match (an accepted answer inside the answer's first line, or a similarity ratio of at
  least :data:`FUZZY_RATIO`). Answers that refuse give ``false_refusal_rate``.
* ``refusal``: greedy answers to questions the graph does not support; ``refusal_rate`` is the share
  that refuse (:func:`is_refusal`).

Every metric is reported overall, per language (``lang:xx``) and per relation (``relation:yy``).
Given general text, the probe also measures its perplexity (token-weighted), to see forgetting.

Prompts go through :func:`injection.train.models.chat_prompt`, so base models without a chat template
are probed with a plain ``Question: ... Answer:`` prompt.
"""

from __future__ import annotations

import json
import math
import random
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from rapidfuzz.fuzz import ratio as _similarity

from injection.synth.factuality import LETTERS
from injection.synth.records import SPLITS
from injection.synth.wording import WORDING
from injection.train.data import dataset_file, read_rows
from injection.train.models import chat_prompt, encode_prompt
from kg.errors import ConfigError, InputError, UnknownComponentError

PROBE_KINDS: tuple[str, ...] = ("mc", "tf", "qa", "refusal")
"""The question kinds the probe measures, in report order."""

METRICS: tuple[str, ...] = ("mc_accuracy", "mc_mrr", "mc_chance", "tf_accuracy", "qa_exact", "qa_fuzzy",
                            "false_refusal_rate", "refusal_rate")
"""Per-item metrics, averaged per scope. ``mc_chance`` is the accuracy of random ranking (1 / options)."""

COUNTS: tuple[str, ...] = tuple(f"{kind}_items" for kind in PROBE_KINDS)
"""Items probed per kind, in every scope."""

GENERAL: tuple[str, ...] = ("general_ppl", "general_docs", "general_tokens")
"""Perplexity on general text and what it was measured on (overall only)."""

FUZZY_RATIO = 0.8
"""Least similarity (0..1) of a normalized answer to an accepted one that counts as a fuzzy match."""

GENERIC_REFUSALS: tuple[str, ...] = (
    "I don't know", "I do not know", "I'm not sure", "I am not sure", "I cannot answer", "I can't answer",
    "I have no information", "no knowledge of", "not in my knowledge",
    "不知道", "不清楚", "不了解", "无法回答", "没有相关信息", "没有这方面")
"""Refusal phrases besides those ``kg synth`` trains (:data:`injection.synth.wording.WORDING`)."""

_SCOPES = ("overall", "lang", "relation")


@dataclass
class ProbeConfig:
    """What the probe reads and how.

    Attributes:
        split: dataset split: ``eval`` (facts trained as text, questions unseen), ``heldout`` (entities
            never trained: a control) or ``train`` (the training questions in ``train/sft``).
        kinds: question kinds to probe, a subset of :data:`PROBE_KINDS` (or one comma-separated string).
        max_items: most items per kind, a seeded sample in file order; None: all.
        max_new_tokens: longest generated answer (qa, refusal).
        batch_size: sequences per forward pass or generate call.
        general: general text for perplexity: a ``.jsonl``/``.parquet`` file with ``general_field``,
            or the texts themselves; None: no perplexity.
        general_field: text field of a ``general`` file.
        max_general: most general documents (the first ones).
        general_max_tokens: tokens kept of each general document (always at most the model context);
            None: the model context.
        seed: seed of the item sample.
    """

    split: str = "eval"
    kinds: Sequence[str] = PROBE_KINDS
    max_items: int | None = None
    max_new_tokens: int = 32
    batch_size: int = 8
    general: str | Path | Sequence[str] | None = None
    general_field: str = "text"
    max_general: int = 64
    general_max_tokens: int | None = 512
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.kinds, str):
            self.kinds = [k.strip() for k in self.kinds.split(",") if k.strip()]
        self.kinds = tuple(self.kinds)
        for kind in self.kinds:
            if kind not in PROBE_KINDS:
                raise UnknownComponentError("probe kind", kind, list(PROBE_KINDS))
        if not self.kinds:
            raise ConfigError(f"no probe kinds given; choose some of: {', '.join(PROBE_KINDS)}")
        if self.split not in SPLITS:
            raise ConfigError(f"unknown split {self.split!r}; choose one of: {', '.join(SPLITS)}")
        for name in ("max_new_tokens", "batch_size", "max_general"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("max_items", "general_max_tokens"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigError(f"{name} must be at least 1 (or None for no limit), got {value}")


@dataclass
class ProbeReport:
    """What the probe measured.

    Attributes:
        summary: the overall metrics (:data:`METRICS` that have items, :data:`COUNTS`, and
            :data:`GENERAL` when general text was given): flat numbers, ready for a training log.
        scopes: metrics and counts per scope: ``overall``, ``lang:xx``, ``relation:yy``.
        items: one dict per probed item: kind, lang, relation, question and what the model did.
        notes: what was skipped and why.
        config: the probe's settings.
    """

    summary: dict[str, float]
    scopes: dict[str, dict[str, float]]
    items: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    config: dict[str, Any] = field(default_factory=dict)

    def rows(self, prefixes: Iterable[str] = _SCOPES) -> list[dict[str, Any]]:
        """Table rows: ``scope`` plus every metric and count column (None where a scope has no items).

        Args:
            prefixes: which scopes: ``overall``, ``lang`` and/or ``relation``.
        """
        wanted = tuple(prefixes)
        columns = (*METRICS, *COUNTS)
        return [{"scope": scope, **{c: values.get(c) for c in columns}}
                for scope, values in self.scopes.items() if scope.split(":", 1)[0] in wanted]

    def to_dict(self) -> dict[str, Any]:
        """Everything, JSON-ready."""
        return {"summary": self.summary, "scopes": self.scopes, "notes": self.notes, "config": self.config,
                "items": self.items}

    def save(self, path: str | Path) -> Path:
        """Write :meth:`to_dict` as JSON to ``path`` (folders created); returns the path."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        return path


@dataclass(frozen=True)
class _Item:
    """One question as the probe needs it."""

    kind: str
    lang: str
    relation: str
    prompt: str  # the user turn as written in the dataset
    question: str  # what the model is asked: the prompt, for mc without the lettered options
    answer: str
    options: tuple[str, ...] = ()
    answer_index: int = -1
    label: bool | None = None
    accepted: tuple[str, ...] = ()


def run_probe(model: Any, tokenizer: Any, dataset_dir: str | Path,
              config: ProbeConfig | None = None) -> ProbeReport:
    """Probe ``model`` on a ``kg synth`` dataset.

    The model is put in eval mode for the probe and back in its earlier mode afterwards, so a
    training loop can call this between steps. Everything runs under ``torch.inference_mode`` on the
    model's device, greedy and batched: the same model and data give the same report.

    Args:
        model: a transformers causal LM.
        tokenizer: its tokenizer (a pad token is not needed).
        dataset_dir: the ``--out`` folder of ``kg synth``.
        config: what to probe; default :class:`ProbeConfig`.

    Returns:
        The :class:`ProbeReport`.

    Raises:
        ConfigError: the dataset or split does not exist or has none of the kinds asked for; a general
            text file does not exist.
        InputError: a dataset or general text file cannot be read.
    """
    import torch

    config = config or ProbeConfig()
    items, notes = _load_items(dataset_dir, config)
    texts = _general_texts(config) if config.general is not None else None
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            results = _probe_mc(model, tokenizer, items.get("mc", []), config)
            results += _probe_tf(model, tokenizer, items.get("tf", []), config)
            asked = items.get("qa", []) + items.get("refusal", [])
            results += _probe_generated(model, tokenizer, asked, config)
            general = _perplexity(model, tokenizer, texts, config) if texts is not None else None
    finally:
        model.train(was_training)
    scopes = _aggregate(results)
    summary = dict(scopes["overall"])
    if general is not None:
        summary.update(general)
        scopes["overall"].update(general)
        if not general["general_docs"]:
            notes.append("general text: no document has two tokens or more; no perplexity")
    settings = asdict(config)
    if texts is not None and not isinstance(config.general, (str, Path)):
        settings["general"] = f"{len(texts)} texts"
    elif config.general is not None:
        settings["general"] = str(config.general)
    settings["kinds"] = list(config.kinds)
    settings["dataset"] = str(dataset_dir)
    return ProbeReport(summary=summary, scopes=scopes, items=results, notes=notes, config=settings)


def check_probe(dataset_dir: str | Path, config: ProbeConfig | None = None) -> None:
    """Fail fast, before a model is loaded or trained, on inputs :func:`run_probe` would reject.

    Raises:
        ConfigError: as :func:`run_probe`: no dataset, split or asked-for kind; no general text file.
        InputError: a dataset file cannot be read.
    """
    config = config or ProbeConfig()
    _load_items(dataset_dir, config)
    if isinstance(config.general, (str, Path)):
        _check_general_file(Path(config.general), config.general_field)


# -- reading the dataset -------------------------------------------------------------------------------


def _load_items(dataset_dir: str | Path, config: ProbeConfig) -> tuple[dict[str, list[_Item]], list[str]]:
    """The probe items per kind of ``config.split`` (sampled to ``config.max_items``), and notes.

    Raises:
        ConfigError: no dataset folder, no such split, or none of ``config.kinds`` in it.
        InputError: a file cannot be parsed.
    """
    ds = Path(dataset_dir)
    if not ds.is_dir():
        raise ConfigError(f"dataset {ds} does not exist; run `kg synth -w WS --out {ds}` first, or pass the "
                          "folder kg synth wrote")
    split_dir = ds / config.split
    present = [s for s in SPLITS if (ds / s).is_dir()]
    if not split_dir.is_dir():
        raise ConfigError(f"{ds} has no {config.split} split (it has: {', '.join(present) or 'none'}); "
                          f"run `kg synth -w WS --out {ds}` to write one, or choose a split it has")
    notes: list[str] = []
    rows_by_kind: dict[str, list[dict[str, Any]]] = {}
    if config.split == "train":
        path = dataset_file(ds, "train/sft")
        if path is None:
            raise ConfigError(f"{split_dir} has no sft.jsonl or sft.parquet (the training questions); "
                              f"run kg synth with question kinds, or probe --split eval")
        for row in read_rows(path):
            rows_by_kind.setdefault(row.get("kind", ""), []).append(row)
    else:
        for kind in config.kinds:
            path = dataset_file(ds, f"{config.split}/{kind}")
            if path is not None:
                rows_by_kind[kind] = list(read_rows(path))
    found = [k for k in config.kinds if rows_by_kind.get(k)]
    if not found:
        files = sorted(p.name for p in split_dir.iterdir() if p.is_file())
        raise ConfigError(f"{split_dir} holds none of the kinds {', '.join(config.kinds)} (files: "
                          f"{', '.join(files) or 'none'}); run kg synth with --kinds including them, or "
                          "choose other kinds")
    items: dict[str, list[_Item]] = {}
    for kind in config.kinds:
        rows = rows_by_kind.get(kind, [])
        if not rows:
            notes.append(f"no {kind} items in the {config.split} split: skipped")
            continue
        if config.max_items is not None and len(rows) > config.max_items:
            keep = sorted(random.Random(f"{config.seed}:{kind}").sample(range(len(rows)), config.max_items))
            rows = [rows[i] for i in keep]
        parsed = [_item(kind, row) for row in rows]
        usable = [item for item in parsed if item is not None]
        if len(usable) < len(parsed):
            notes.append(f"{len(parsed) - len(usable)} {kind} item(s) skipped: no options, label or "
                         "answer wording to score")
        items[kind] = usable
    return items, notes


def _item(kind: str, row: dict[str, Any]) -> _Item | None:
    meta = row.get("meta") or {}
    if isinstance(meta, str):
        try:
            meta = json.loads(meta) if meta.strip() else {}
        except json.JSONDecodeError:
            raise InputError(f"a {kind} row has a meta field that is not JSON ({meta[:60]!r}); "
                             "rerun kg synth") from None
    messages = row.get("messages") or []
    prompt = next((m["content"] for m in messages if m.get("role") == "user"), row.get("instruction") or "")
    answer = next((m["content"] for m in messages if m.get("role") == "assistant"), row.get("output") or "")
    lang = row.get("lang") or "en"
    base = {"kind": kind, "lang": lang, "relation": str(meta.get("relation") or ""), "prompt": prompt,
            "question": prompt, "answer": answer}
    if kind == "mc":
        options = tuple(row.get("options") or ())
        index = meta.get("answer_index")
        if index is None:  # older rows: the answer is "<letter>. <text>"
            index = LETTERS.find(answer[:1]) if answer[1:3] == ". " else -1
        if len(options) < 2 or not 0 <= index < len(options):
            return None
        return _Item(**{**base, "question": mc_question(prompt, options)}, options=options,
                     answer_index=index)
    if kind == "tf":
        if row.get("label") is None or lang not in WORDING:
            return None
        return _Item(**base, label=bool(row["label"]))
    if kind == "qa":
        accepted = tuple(meta.get("accepted") or meta.get("answers") or ()) or (answer,)
        return _Item(**base, accepted=accepted)
    return _Item(**base)


def mc_question(prompt: str, options: Sequence[str]) -> str:
    """The plain question of a multiple-choice prompt: the text before its lettered option lines.

    ``kg synth`` writes ``question``, then ``A. option`` lines, then an instruction line; a prompt
    without that layout is returned whole.
    """
    lines = prompt.split("\n")
    first = f"{LETTERS[0]}. {options[0]}" if options else None
    for i, line in enumerate(lines):
        if i and line == first:
            return "\n".join(lines[:i]).strip()
    return prompt.strip()


# -- answers -------------------------------------------------------------------------------------------


def normalize_answer(text: str) -> str:
    """Answer key for matching: NFKC, case-folded, without punctuation, spaces and control characters."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return "".join(ch for ch in text if unicodedata.category(ch)[0] not in "PZC")


def first_line(text: str) -> str:
    """The first non-empty line of a generated answer (models often go on with another question)."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def answer_matches(output: str, accepted: Iterable[str]) -> tuple[bool, bool]:
    """``(exact, fuzzy)`` match of a generated answer (its first line) against accepted answers.

    Exact: the normalized line equals a normalized accepted answer. Fuzzy: exact, or a normalized
    accepted answer occurs inside it, or their similarity ratio is at least :data:`FUZZY_RATIO`.
    """
    said = normalize_answer(first_line(output))
    keys = [k for k in (normalize_answer(a) for a in accepted) if k]
    exact = bool(said) and said in keys
    fuzzy = exact or (bool(said) and any(k in said or _similarity(said, k) >= 100 * FUZZY_RATIO
                                         for k in keys))
    return exact, fuzzy


@cache
def refusal_markers() -> tuple[str, ...]:
    """Normalized phrases whose presence makes an answer a refusal.

    The refusals ``kg synth`` trains in every language (the parts around an entity name for the
    unknown-entity ones), and :data:`GENERIC_REFUSALS`.
    """
    phrases = list(GENERIC_REFUSALS)
    for words in WORDING.values():
        phrases += words.refusals
        for template in words.unknown_entity:
            phrases += template.split("{subject}")
    # a short fragment ("." or "It is") would match ordinary answers
    return tuple(sorted({k for k in map(normalize_answer, phrases) if len(k) >= 3}))


def is_refusal(text: str) -> bool:
    """Whether a generated answer refuses ("I don't know", "我不知道", the refusals kg synth trains)."""
    said = normalize_answer(text)
    return any(marker in said for marker in refusal_markers())


# -- scoring -------------------------------------------------------------------------------------------


def _device(model: Any) -> Any:
    return next(model.parameters()).device


def _context_limit(model: Any) -> int:
    return int(getattr(model.config, "max_position_embeddings", None) or 2048)


def _join(prompt: str, text: str) -> str:
    # a chat prompt ends in a newline after the assistant tag; a plain one in "Answer:"
    return text if not prompt or prompt[-1].isspace() else " " + text


def _continuation_ids(tokenizer: Any, prompt: str, text: str) -> list[int]:
    return list(tokenizer(_join(prompt, text), add_special_tokens=False)["input_ids"])


def _score(model: Any, pairs: Sequence[tuple[list[int], list[int]]], batch_size: int,
           pad_id: int) -> list[tuple[float, int]]:
    """``(sum of log-probabilities, tokens)`` of each continuation after its context.

    Contexts are cut from the left to fit the model; sequences are batched by length with right
    padding, so every real token keeps its position.
    """
    import torch

    limit = _context_limit(model)
    fitted = []
    for context, continuation in pairs:
        continuation = continuation[:limit - 1]
        context = context[-(limit - len(continuation)):] if context else []
        fitted.append((context, continuation))
    order = sorted(range(len(fitted)), key=lambda i: -(len(fitted[i][0]) + len(fitted[i][1])))
    results: list[tuple[float, int]] = [(float("-inf"), 0)] * len(fitted)
    device = _device(model)
    for start in range(0, len(order), batch_size):
        batch = [i for i in order[start:start + batch_size] if fitted[i][0] and fitted[i][1]]
        if not batch:
            continue
        width = max(len(fitted[i][0]) + len(fitted[i][1]) for i in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            seq = fitted[i][0] + fitted[i][1]
            ids[row, :len(seq)] = torch.tensor(seq)
            mask[row, :len(seq)] = 1
        logits = model(input_ids=ids.to(device), attention_mask=mask.to(device)).logits
        for row, i in enumerate(batch):
            context, continuation = fitted[i]
            # the logits at position t predict token t + 1
            span = logits[row, len(context) - 1:len(context) + len(continuation) - 1].float()
            target = torch.tensor(continuation, device=span.device).unsqueeze(1)
            logprobs = span.log_softmax(-1).gather(1, target)
            results[i] = (float(logprobs.sum()), len(continuation))
    return results


def _pad_id(tokenizer: Any) -> int:
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    return int(pad or 0)


def _probe_mc(model: Any, tokenizer: Any, items: list[_Item], config: ProbeConfig) -> list[dict[str, Any]]:
    pairs, owners = [], []
    for n, item in enumerate(items):
        prompt = chat_prompt(tokenizer, item.question)
        context = encode_prompt(tokenizer, prompt)
        for option in item.options:
            pairs.append((context, _continuation_ids(tokenizer, prompt, option)))
            owners.append(n)
    scores = _score(model, pairs, config.batch_size, _pad_id(tokenizer))
    means: list[list[float]] = [[] for _ in items]
    for n, (total, count) in zip(owners, scores):
        means[n].append(total / count if count else float("-inf"))
    results = []
    for item, scored in zip(items, means):
        mine = scored[item.answer_index]
        # ties rank the answer below: a model scoring every option alike must not look right
        rank = 1 + sum(s >= mine for j, s in enumerate(scored) if j != item.answer_index)
        ranked = sorted(range(len(scored)), key=lambda j: (-scored[j], j))
        results.append(_result(item, {"mc_accuracy": float(rank == 1), "mc_mrr": 1.0 / rank,
                                      "mc_chance": 1.0 / len(item.options)},
                               rank=rank, answer=item.options[item.answer_index],
                               ranked=[item.options[j] for j in ranked],
                               scores=[round(s, 4) for s in scored]))
    return results


def _probe_tf(model: Any, tokenizer: Any, items: list[_Item], config: ProbeConfig) -> list[dict[str, Any]]:
    pairs = []
    for item in items:
        prompt = chat_prompt(tokenizer, item.prompt)
        context = encode_prompt(tokenizer, prompt)
        words = WORDING[item.lang]
        pairs += [(context, _continuation_ids(tokenizer, prompt, words.true)),
                  (context, _continuation_ids(tokenizer, prompt, words.false))]
    scores = _score(model, pairs, config.batch_size, _pad_id(tokenizer))
    results = []
    for n, item in enumerate(items):
        # the whole word's likelihood: "True" and "False" may take different numbers of tokens
        true_lp, false_lp = scores[2 * n][0], scores[2 * n + 1][0]
        said = true_lp > false_lp
        results.append(_result(item, {"tf_accuracy": float(said == item.label)}, label=item.label,
                               prediction=said, true_logprob=round(true_lp, 4),
                               false_logprob=round(false_lp, 4)))
    return results


def _probe_generated(model: Any, tokenizer: Any, items: list[_Item],
                     config: ProbeConfig) -> list[dict[str, Any]]:
    outputs = generate_answers(model, tokenizer, [i.prompt for i in items],
                               max_new_tokens=config.max_new_tokens, batch_size=config.batch_size)
    results = []
    for item, output in zip(items, outputs):
        refused = is_refusal(output)
        if item.kind == "qa":
            exact, fuzzy = answer_matches(output, (*item.accepted, item.answer))
            metrics = {"qa_exact": float(exact), "qa_fuzzy": float(fuzzy),
                       "false_refusal_rate": float(refused)}
        else:
            metrics = {"refusal_rate": float(refused)}
        results.append(_result(item, metrics, answer=item.answer, output=output, refused=refused))
    return results


def generate_answers(model: Any, tokenizer: Any, questions: Sequence[str], *, max_new_tokens: int = 32,
                     batch_size: int = 8) -> list[str]:
    """Greedy answers to ``questions`` (through :func:`chat_prompt`), batched with left padding.

    Call under ``torch.inference_mode()`` with the model in eval mode (as :func:`run_probe` does).

    Returns:
        The generated text of each question, special tokens removed.
    """
    import torch

    encoded = [encode_prompt(tokenizer, chat_prompt(tokenizer, q)) for q in questions]
    limit = _context_limit(model) - max_new_tokens
    encoded = [ids[-limit:] for ids in encoded]
    order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
    pad, device = _pad_id(tokenizer), _device(model)
    options: dict[str, Any] = {"max_new_tokens": max_new_tokens, "do_sample": False, "pad_token_id": pad,
                               "use_cache": True, "temperature": None, "top_p": None, "top_k": None}
    generation = getattr(model, "generation_config", None)
    if (generation is None or generation.eos_token_id is None) and tokenizer.eos_token_id is not None:
        options["eos_token_id"] = tokenizer.eos_token_id
    answers: list[str] = [""] * len(encoded)
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        width = max(len(encoded[i]) for i in batch)
        # decoder-only models continue the last position, so pad on the left
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):
            seq = encoded[i]
            ids[row, width - len(seq):] = torch.tensor(seq, dtype=torch.long)
            mask[row, width - len(seq):] = 1
        output = model.generate(input_ids=ids.to(device), attention_mask=mask.to(device), **options)
        texts = tokenizer.batch_decode(output[:, width:], skip_special_tokens=True)
        for i, text in zip(batch, texts):
            answers[i] = text.strip()
    return answers


def _result(item: _Item, metrics: dict[str, float], **details: Any) -> dict[str, Any]:
    return {"kind": item.kind, "lang": item.lang, "relation": item.relation, "question": item.question,
            "metrics": metrics, **details}


def _aggregate(results: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Mean of every metric and item counts per scope: overall, then languages, then relations."""
    groups: dict[str, list[dict[str, Any]]] = {"overall": list(results)}
    for key in ("lang", "relation"):
        for result in sorted(results, key=lambda r: r[key]):
            if result[key]:
                groups.setdefault(f"{key}:{result[key]}", []).append(result)
    scopes: dict[str, dict[str, float]] = {}
    for scope, members in groups.items():
        values: dict[str, float] = {}
        for metric in METRICS:
            scores = [r["metrics"][metric] for r in members if metric in r["metrics"]]
            if scores:
                values[metric] = sum(scores) / len(scores)
        for kind in PROBE_KINDS:
            values[f"{kind}_items"] = sum(r["kind"] == kind for r in members)
        scopes[scope] = values
    return scopes


# -- general text --------------------------------------------------------------------------------------


def _general_texts(config: ProbeConfig) -> list[str]:
    source = config.general
    if isinstance(source, (str, Path)):
        from injection.synth.mix import iter_replay

        path = Path(source)
        _check_general_file(path, config.general_field)
        texts = []
        for _, text in iter_replay(path, config.general_field):
            texts.append(text)
            if len(texts) >= config.max_general:
                break
        return texts
    return [t for t in source if t and t.strip()][:config.max_general]


def _check_general_file(path: Path, field_name: str) -> None:
    if not path.is_file():
        raise ConfigError(f"general text file {path} does not exist; give a .jsonl or .parquet file "
                          f"with a {field_name!r} field")


def _perplexity(model: Any, tokenizer: Any, texts: list[str], config: ProbeConfig) -> dict[str, float]:
    """Token-weighted perplexity: exp of the mean negative log-likelihood over every predicted token."""
    limit = min(_context_limit(model), config.general_max_tokens or _context_limit(model))
    pairs = []
    for text in texts:
        ids = list(tokenizer(text)["input_ids"])[:limit]
        if len(ids) >= 2:
            pairs.append((ids[:1], ids[1:]))
    scores = _score(model, pairs, config.batch_size, _pad_id(tokenizer))
    total, tokens = sum(s for s, _ in scores), sum(n for _, n in scores)
    ppl = math.exp(-total / tokens) if tokens else float("nan")
    return {"general_ppl": ppl, "general_docs": len(pairs), "general_tokens": tokens}


__all__ = ["COUNTS", "FUZZY_RATIO", "GENERAL", "GENERIC_REFUSALS", "METRICS", "PROBE_KINDS", "ProbeConfig",
           "ProbeReport", "answer_matches", "check_probe", "first_line", "generate_answers", "is_refusal",
           "mc_question", "normalize_answer", "refusal_markers", "run_probe"]
