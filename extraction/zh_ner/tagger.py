"""The packaged Chinese NER model as a tagger: sentences in, ``(start, end, label)`` spans out.

:class:`ChineseNer` loads :data:`DEFAULT_WEIGHTS` (trained on MSRA by
:mod:`extraction.zh_ner.train`, shipped in the project, nothing downloads) or any file that script
wrote, and tags batches of sentences. It needs jieba's words of each sentence (its features): pass
those the caller already has (``kg build`` runs ``jieba.posseg`` for its relation patterns anyway),
or :func:`jieba_words` computes them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from kg.errors import ConfigError

DEFAULT_WEIGHTS = Path(__file__).with_name("weights") / "msra-bilstm-crf.pt"
"""The packaged model (MSRA PER/LOC/ORG)."""

_POSSEG: Any = None
_POSSEG_LOCK = threading.Lock()


def jieba_words(text: str) -> list[tuple[str, str]]:
    """jieba's ``posseg`` words and tags of ``text`` with its default dictionary."""
    global _POSSEG
    if _POSSEG is None:
        with _POSSEG_LOCK:
            if _POSSEG is None:
                import jieba
                import jieba.posseg

                jieba.setLogLevel(logging.WARNING)
                _POSSEG = jieba.posseg.POSTokenizer(jieba.Tokenizer())
    return [(pair.word, pair.flag) for pair in _POSSEG.cut(text)]


class ChineseNer:
    """The Chinese NER model (see the module docstring).

    Args:
        weights: a model file from :mod:`extraction.zh_ner.train`; None: :data:`DEFAULT_WEIGHTS`.
        batch_size: sentences per forward pass.
        threads: torch threads for tagging (None: leave torch's setting).

    Raises:
        ConfigError: torch or pytorch-crf is missing, or the file is missing or not such a model.
    """

    name = "zh-ner"

    def __init__(self, weights: str | Path | None = None, *, batch_size: int = 64, threads: int | None = None
                 ) -> None:
        path = Path(weights).expanduser() if weights else DEFAULT_WEIGHTS
        try:
            import torch

            from extraction.zh_ner.model import BiLstmCrf
        except ImportError as exc:
            raise ConfigError(f"the Chinese NER model needs torch and pytorch-crf ({exc}): pip install 'kg[ml]', "
                              "or set [extraction] zh_ner = \"jieba\"") from None
        if not path.is_file():
            raise ConfigError(f"Chinese NER model {str(path)!r} does not exist; give a file written by "
                              "`python -m extraction.zh_ner.train`, or set [extraction] zh_ner = \"jieba\"")
        import pickle

        try:
            self.model, self.meta = BiLstmCrf.load(path)
        except (ValueError, RuntimeError, KeyError, TypeError, OSError, pickle.UnpicklingError) as exc:
            raise ConfigError(f"cannot load Chinese NER model {str(path)!r} ({exc}); retrain it with "
                              "`python -m extraction.zh_ner.train --out FILE`") from None
        self.path = path
        self.batch_size = batch_size
        self.threads = threads
        self._torch = torch

    def tag_batch(self, texts: Sequence[str], words: Sequence[Sequence[tuple[str, str]]] | None = None
                  ) -> list[list[tuple[int, int, str]]]:
        """Entity spans ``(start, end, label)`` of every text (labels PER/LOC/ORG).

        Args:
            texts: sentences (a long text is tagged as one sequence: split documents into sentences).
            words: jieba ``(word, tag)`` pairs of every text, covering it exactly; None computes them.
        """
        from extraction.zh_ner.data import TAGS, spans
        from extraction.zh_ner.features import word_features
        from extraction.zh_ner.model import tensors

        if words is None:
            words = [jieba_words(t) for t in texts]
        out: list[list[tuple[int, int, str]]] = [[] for _ in texts]
        todo = [i for i, t in enumerate(texts) if t]
        # similar lengths together: less padding
        todo.sort(key=lambda i: len(texts[i]))
        if self.threads is not None:
            self._torch.set_num_threads(self.threads)
        with self._torch.inference_mode():
            for start in range(0, len(todo), self.batch_size):
                chunk = todo[start:start + self.batch_size]
                encoded = [self.model.vocab.encode(texts[i], word_features(words[i])) for i in chunk]
                for i, ids in zip(chunk, self.model.decode(*tensors(encoded)), strict=True):
                    out[i] = spans([TAGS[t] for t in ids])
        return out

    def tag(self, text: str, words: Sequence[tuple[str, str]] | None = None) -> list[tuple[int, int, str]]:
        """Entity spans of one sentence."""
        return self.tag_batch([text], None if words is None else [words])[0]


__all__ = ["DEFAULT_WEIGHTS", "ChineseNer", "jieba_words"]
