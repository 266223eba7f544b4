"""Training data from a ``kg synth`` dataset: texts, chat rendering, sequence packing.

The functions here need only a tokenizer (any transformers tokenizer), so they serve other trainers
too: :func:`cpt_texts` and :func:`sft_texts` read the files, :func:`encode_chat` and :func:`pack` make
fixed-length blocks, and :func:`build_train_dataset` does all of it for a :class:`TrainSettings`.

SFT loss masking: by default a question row trains on its answer only (prompt tokens get label
``-100``). The prompt is the same text :func:`injection.train.models.chat_prompt` gives the probe, so
training teaches exactly the continuation the probe scores, and the model is not taught to produce
questions (``sft_mask_prompt = false`` trains on the whole row).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from injection.synth.tokens import TokenCounter
from injection.train.config import TrainSettings
from injection.train.models import PLAIN_PROMPT, has_chat_template
from kg.errors import ConfigError, InputError

if TYPE_CHECKING:
    from injection.synth.mix import ReplayStats

IGNORE_INDEX = -100
"""Label of tokens that get no loss (masked prompts, padding); what transformers' losses skip."""

PROBE_STEMS: tuple[str, str] = ("train/probe_qa", "train/probe_refusal")
"""Question files ``kg probe-facts`` adds to a dataset (:mod:`injection.train.knowledge`): QA the model
knows, and refusals for what it does not; :func:`sft_texts` trains on them with ``train/sft``."""

_SUFFIXES = (".jsonl", ".parquet")
_BATCH = 512


def dataset_file(ds_dir: str | Path, stem: str) -> Path | None:
    """The file ``DS/<stem>.jsonl`` or ``DS/<stem>.parquet`` (e.g. stem ``train/cpt``), or None."""
    for suffix in _SUFFIXES:
        path = Path(ds_dir) / f"{stem}{suffix}"
        if path.is_file():
            return path
    return None


def read_rows(path: str | Path) -> list[dict[str, Any]]:
    """All rows of a dataset file (``.jsonl`` or ``.parquet``).

    Raises:
        InputError: the file cannot be read or a line is not a JSON object.
    """
    path = Path(path)
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            return pq.read_table(path).to_pylist()
        except Exception as exc:  # noqa: BLE001 - pyarrow raises ArrowInvalid/OSError for damaged files
            raise InputError(f"cannot read {path} as Parquet ({exc}); re-run kg synth") from None
    rows = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{path}, line {line_no}: not valid JSON ({exc.msg}); re-run kg synth") \
                    from None
            if not isinstance(row, dict):
                raise InputError(f"{path}, line {line_no}: expected a JSON object; re-run kg synth")
            rows.append(row)
    return rows


def _check_dir(ds_dir: str | Path) -> Path:
    ds_dir = Path(ds_dir)
    if not ds_dir.is_dir():
        raise InputError(f"dataset folder {ds_dir} does not exist; make one with "
                         f"kg synth -w WS --out {ds_dir}")
    return ds_dir


def cpt_texts(ds_dir: str | Path) -> list[str]:
    """The texts of ``DS/train/cpt`` (synthetic ``cpt`` rows and the ``replay`` rows synth mixed in).

    Raises:
        InputError: the folder or file is missing, or unreadable.
    """
    path = dataset_file(_check_dir(ds_dir), "train/cpt")
    if path is None:
        raise InputError(f"{ds_dir} has no train/cpt.jsonl or .parquet; run kg synth with cpt in --kinds, "
                         "or train on sft only (kinds = [\"sft\"])")
    return [row["text"] for row in read_rows(path) if row.get("text")]


@dataclass(frozen=True)
class ChatText:
    """One question row rendered for training: the prompt and the completion that follows it.

    Attributes:
        prompt: everything before the answer (chat template with the assistant turn opened, or
            :data:`~injection.train.models.PLAIN_PROMPT`).
        completion: the answer, with the template's end-of-turn text when there is a template.
    """

    prompt: str
    completion: str

    @property
    def text(self) -> str:
        """The whole row as one string."""
        return self.prompt + self.completion


def render_chat(tokenizer: Any, messages: Sequence[Mapping[str, str]]) -> ChatText:
    """Render chat ``messages`` (the last one the assistant's answer) for training.

    With a chat template, the prompt is the template applied to every message but the last with the
    assistant turn opened, and the completion is the rest of the fully rendered conversation. Without
    one, the prompt is ``"Question: …\\nAnswer:"`` (earlier turns joined by blank lines) and the
    completion is ``" " + answer``.

    Raises:
        InputError: no messages, or the last message is not the assistant's.
    """
    if not messages or messages[-1].get("role") != "assistant":
        raise InputError("a question row must end with the assistant's answer; re-run kg synth")
    history = [dict(m) for m in messages[:-1]]
    answer = messages[-1]["content"]
    if has_chat_template(tokenizer):
        prompt = tokenizer.apply_chat_template(history, tokenize=False, add_generation_prompt=True)
        full = tokenizer.apply_chat_template([*history, dict(messages[-1])], tokenize=False)
        if full.startswith(prompt):
            # the newline after the end-of-turn token belongs to no answer: the answer ends with that
            # token, which is usually eos (no second eos gets appended)
            return ChatText(prompt, full[len(prompt):].rstrip())
        # templates that rewrite earlier turns once an answer follows: keep the answer exact instead
        return ChatText(prompt, answer)
    question = "\n\n".join(m["content"] for m in history if m.get("role") != "system")
    return ChatText(PLAIN_PROMPT.format(question=question), " " + answer)


def sft_rows(ds_dir: str | Path) -> list[tuple[Path, int, dict[str, Any]]]:
    """The question rows to fine-tune on: ``DS/train/sft`` and the probe files (:data:`PROBE_STEMS`).

    A probe refusal supersedes the ``train/sft`` QA rows about the same facts (the model was found
    not to know them, so answering them would teach it to make answers up), and a probe row that
    repeats a row already taken is left out.

    Returns:
        ``(file, row number, row)`` of every row kept, ``train/sft`` first.

    Raises:
        InputError: the folder is missing, none of the files is there, or one is unreadable.
    """
    ds = _check_dir(ds_dir)
    paths = [p for p in (dataset_file(ds, stem) for stem in ("train/sft", *PROBE_STEMS)) if p is not None]
    if not paths:
        raise InputError(f"{ds_dir} has no train/sft.jsonl or .parquet; run kg synth with qa, tf, mc or "
                         "refusal in --kinds, or train on cpt only (kinds = [\"cpt\"])")
    sft, refusal_file = dataset_file(ds, "train/sft"), dataset_file(ds, PROBE_STEMS[1])
    rows = [(path, n, row) for path in paths for n, row in enumerate(read_rows(path), 1)]
    refused = {f for path, _, row in rows if path == refusal_file for f in row.get("facts") or ()}
    kept, seen = [], set()
    for path, n, row in rows:
        if path == sft and row.get("kind") == "qa" and refused & set(row.get("facts") or ()):
            continue
        key = json.dumps(row.get("messages"), ensure_ascii=False, sort_keys=True)
        if path != sft and key in seen:
            continue
        seen.add(key)
        kept.append((path, n, row))
    return kept


def sft_texts(ds_dir: str | Path, tokenizer: Any) -> list[ChatText]:
    """The question rows of :func:`sft_rows` (qa, tf, mc, refusal) rendered by :func:`render_chat`.

    Raises:
        InputError: the folder or files are missing, unreadable, or a row has no ``messages``.
    """
    chats = []
    for path, n, row in sft_rows(ds_dir):
        if not row.get("messages"):
            raise InputError(f"{path}, row {n}: no 'messages'; re-run kg synth")
        chats.append(render_chat(tokenizer, row["messages"]))
    return chats


def _encode(tokenizer: Any, texts: Sequence[str], add_special_tokens: bool = False) -> list[list[int]]:
    ids: list[list[int]] = []
    for start in range(0, len(texts), _BATCH):
        batch = list(texts[start:start + _BATCH])
        ids.extend(list(x) for x in tokenizer(batch, add_special_tokens=add_special_tokens)["input_ids"])
    return ids


def encode_texts(tokenizer: Any, texts: Sequence[str]) -> list[list[int]]:
    """Token ids of plain texts (no special tokens; :func:`pack` adds the end-of-sequence token)."""
    return _encode(tokenizer, texts)


def encode_chat(tokenizer: Any, chats: Sequence[ChatText], *, mask_prompt: bool = True,
                ) -> list[dict[str, list[int]]]:
    """Token ids and labels of rendered rows, ending with the end-of-sequence token.

    Prompt and completion are encoded separately, so the prompt tokens are exactly those the probe
    feeds the model. A chat prompt already holds its special tokens; a plain prompt gets the
    tokenizer's defaults (a BOS token where the tokenizer adds one).

    Returns:
        One ``{"input_ids", "labels"}`` per row; labels are the ids, with :data:`IGNORE_INDEX` on the
        prompt when ``mask_prompt``.
    """
    chat = has_chat_template(tokenizer)
    prompts = _encode(tokenizer, [c.prompt for c in chats], add_special_tokens=not chat)
    completions = _encode(tokenizer, [c.completion for c in chats])
    eos = tokenizer.eos_token_id
    rows = []
    for prompt, completion in zip(prompts, completions, strict=True):
        if eos is not None and (not completion or completion[-1] != eos):
            completion = [*completion, eos]
        labels = ([IGNORE_INDEX] * len(prompt) if mask_prompt else list(prompt)) + completion
        rows.append({"input_ids": prompt + completion, "labels": labels})
    return rows


Example = Sequence[int] | Mapping[str, Sequence[int]]
"""A document for :func:`pack`: token ids, or a mapping with ``input_ids`` and ``labels``."""


def _split(doc: Example) -> tuple[list[int], list[int]]:
    if isinstance(doc, Mapping):
        ids, labels = list(doc["input_ids"]), list(doc.get("labels", doc["input_ids"]))
        if len(ids) != len(labels):
            raise ValueError(f"input_ids ({len(ids)}) and labels ({len(labels)}) differ in length")
        return ids, labels
    ids = list(doc)
    return ids, list(ids)


def pack(token_ids_iter: Iterable[Example], seq_len: int, eos: int | None, *, pad: int | None = None,
         ) -> Iterator[dict[str, list[int]]]:
    """Concatenate documents into blocks of exactly ``seq_len`` tokens.

    Each document is followed by ``eos`` (unless it already ends with it), so the model learns where
    documents end; a document longer than the rest of a block continues in the next block. No token
    is dropped: the last, partial block is filled with ``pad`` (default ``eos``) tokens that have
    label :data:`IGNORE_INDEX` and attention mask 0.

    Args:
        token_ids_iter: documents: token id sequences, or mappings with ``input_ids`` and ``labels``
            (e.g. prompt-masked SFT rows from :func:`encode_chat`).
        seq_len: tokens per block.
        eos: end-of-sequence id appended to each document (None: append nothing).
        pad: id of the padding tokens of the last block.

    Yields:
        ``{"input_ids", "labels", "attention_mask"}``, each a list of ``seq_len`` ints.

    Raises:
        ValueError: ``seq_len`` < 1, or no ``pad``/``eos`` id to fill the last block with.
    """
    if seq_len < 1:
        raise ValueError(f"seq_len must be positive, got {seq_len}")
    ids: list[int] = []
    labels: list[int] = []
    for doc in token_ids_iter:
        doc_ids, doc_labels = _split(doc)
        if not doc_ids:
            continue
        if eos is not None and doc_ids[-1] != eos:
            doc_ids.append(eos)
            doc_labels.append(eos)
        ids.extend(doc_ids)
        labels.extend(doc_labels)
        while len(ids) >= seq_len:
            yield {"input_ids": ids[:seq_len], "labels": labels[:seq_len], "attention_mask": [1] * seq_len}
            del ids[:seq_len], labels[:seq_len]
    if ids:
        yield _padded(ids, labels, seq_len, eos if pad is None else pad)


def _padded(ids: list[int], labels: list[int], seq_len: int, pad: int | None) -> dict[str, list[int]]:
    missing = seq_len - len(ids)
    if missing and pad is None:
        raise ValueError("no pad or eos id to fill the last block with; pass pad=")
    padding: list[int] = [pad] * missing if pad is not None else []
    return {"input_ids": ids + padding, "labels": labels + [IGNORE_INDEX] * missing,
            "attention_mask": [1] * len(ids) + [0] * missing}


def chunk(token_ids_iter: Iterable[Example], seq_len: int, eos: int | None, *, pad: int | None = None,
          ) -> Iterator[dict[str, list[int]]]:
    """One padded block per document (``packing = false``); a document longer than ``seq_len`` is
    split over several blocks, so no token is dropped here either. Same output as :func:`pack`."""
    for doc in token_ids_iter:
        yield from pack([doc], seq_len, eos, pad=pad)


@dataclass
class DataStats:
    """What went into a training dataset.

    Attributes:
        documents: documents per source (``cpt``, ``sft``, ``replay``: the extra replay file).
        tokens: tokens per source, end-of-sequence tokens included.
        blocks: training sequences.
        seq_len: tokens per sequence.
        padding: padding tokens (label -100) in all sequences.
        masked: prompt tokens with no loss.
        replay: statistics of the extra replay file, when one was mixed in.
    """

    documents: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, int] = field(default_factory=dict)
    blocks: int = 0
    seq_len: int = 0
    padding: int = 0
    masked: int = 0
    replay: ReplayStats | None = None


class TokenBlocks:
    """A map-style torch dataset of fixed-length blocks (what the Trainer's default collator batches).

    Args:
        blocks: ``{"input_ids", "labels", "attention_mask"}`` dicts of equal-length lists.
        stats: what went into the blocks.

    Item ``i`` is a dict of 1-D ``torch.long`` tensors of shape ``[seq_len]``.
    """

    def __init__(self, blocks: Sequence[Mapping[str, Sequence[int]]], stats: DataStats | None = None) -> None:
        import torch

        self.stats = stats or DataStats()
        keys = ("input_ids", "labels", "attention_mask")
        self._tensors = {k: torch.tensor([list(b[k]) for b in blocks], dtype=torch.long) for k in keys}
        if not blocks:
            self._tensors = {k: torch.empty((0, 0), dtype=torch.long) for k in keys}

    def __len__(self) -> int:
        return int(self._tensors["input_ids"].shape[0])

    def __getitem__(self, index: int) -> dict[str, Any]:
        return {k: t[index] for k, t in self._tensors.items()}


def _packed_len(doc: Example, eos: int | None) -> int:
    """Tokens ``doc`` takes in a block, with the eos :func:`pack` appends."""
    ids = _split(doc)[0]
    return len(ids) + int(bool(ids) and eos is not None and ids[-1] != eos)


class _HFCounter(TokenCounter):
    """A :class:`TokenCounter` over an already loaded transformers tokenizer (for replay mixing)."""

    def __init__(self, tokenizer: Any) -> None:
        super().__init__("model")
        self._tok = tokenizer

    @property
    def tokenizer(self) -> Any:
        return self._tok


def build_train_dataset(settings: TrainSettings, tokenizer: Any) -> TokenBlocks:
    """The training blocks for ``settings``: its kinds of rows, extra replay, packed or chunked.

    Documents are shuffled with ``settings.seed`` before packing, so the same settings always give
    the same blocks (which resuming from a checkpoint relies on) and blocks mix CPT text and
    questions. With ``settings.replay``, general text is added until it makes up
    ``settings.replay_ratio`` of all training tokens (see :func:`injection.synth.mix.mix_replay`).

    Raises:
        ConfigError: no dataset folder set, or the tokenizer has neither an eos nor a pad token.
        InputError: missing or unreadable files, or nothing to train on.
    """
    if settings.data is None:
        raise ConfigError("no dataset to train on: pass --data DS (a kg synth output folder) or set data")
    eos = tokenizer.eos_token_id
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos
    if pad is None:
        raise ConfigError("the tokenizer has no eos or pad token to separate and pad sequences; set one")
    docs: list[Example] = []
    stats = DataStats(seq_len=settings.seq_len)

    def add(source: str, encoded: Sequence[Example]) -> None:
        docs.extend(encoded)
        stats.documents[source] = len(encoded)
        stats.tokens[source] = sum(_packed_len(d, eos) for d in encoded)

    if "cpt" in settings.kinds:
        add("cpt", encode_texts(tokenizer, cpt_texts(settings.data)))
    if "sft" in settings.kinds:
        encoded = encode_chat(tokenizer, sft_texts(settings.data, tokenizer),
                              mask_prompt=settings.sft_mask_prompt)
        stats.masked = sum(row["labels"].count(IGNORE_INDEX) for row in encoded)
        add("sft", encoded)
    if not docs:
        raise InputError(f"{settings.data} holds no training rows for kinds {settings.kinds}; check the "
                         "dataset (kg synth) or the kinds setting")
    if settings.replay is not None:
        from injection.synth.mix import mix_replay

        records, stats.replay = mix_replay(settings.replay, sum(stats.tokens.values()), settings.replay_ratio,
                                           _HFCounter(tokenizer), field=settings.replay_field)
        add("replay", encode_texts(tokenizer, [r.text for r in records]))
    random.Random(settings.seed).shuffle(docs)
    make = pack if settings.packing else chunk
    blocks = list(make(docs, settings.seq_len, eos, pad=pad))
    stats.blocks = len(blocks)
    stats.padding = sum(b["attention_mask"].count(0) for b in blocks)
    return TokenBlocks(blocks, stats)


__all__ = ["IGNORE_INDEX", "PROBE_STEMS", "ChatText", "DataStats", "Example", "TokenBlocks",
           "build_train_dataset", "chunk", "cpt_texts", "dataset_file", "encode_chat", "encode_texts", "pack",
           "read_rows", "render_chat", "sft_rows", "sft_texts"]
