"""The Chinese NER network: character + bigram + jieba-word embeddings, a BiLSTM and a CRF.

A character-level BiLSTM-CRF (Huang et al. 2015; bigrams and word-position features as in Zhang &
Yang 2018's character baselines) is small, fast on a CPU and strong on MSRA; the CRF layer
(``pytorch-crf``) keeps the BMES tag sequence consistent. Weights and the vocabulary are saved in one
``torch.save`` file that loads with ``weights_only=True``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torchcrf import CRF

from extraction.zh_ner.data import TAGS
from extraction.zh_ner.features import PAD, Vocab


@dataclass
class NetConfig:
    """Sizes of the network (the training config's ``[model]`` table)."""

    char_dim: int = 100
    bigram_dim: int = 50
    word_dim: int = 32
    hidden: int = 200
    layers: int = 1
    dropout: float = 0.5


class BiLstmCrf(nn.Module):
    """Embeddings -> BiLSTM -> per-tag emissions -> CRF over :data:`~extraction.zh_ner.data.TAGS`."""

    def __init__(self, vocab: Vocab, config: NetConfig) -> None:
        super().__init__()
        self.vocab, self.config = vocab, config
        self.chars = nn.Embedding(len(vocab.chars) + 2, config.char_dim, padding_idx=PAD)
        self.bigrams = nn.Embedding(len(vocab.bigrams) + 2, config.bigram_dim, padding_idx=PAD)
        self.words = nn.Embedding(len(vocab.words) + 2, config.word_dim, padding_idx=PAD)
        width = config.char_dim + config.bigram_dim + config.word_dim
        self.dropout = nn.Dropout(config.dropout)
        self.lstm = nn.LSTM(width, config.hidden, num_layers=config.layers, bidirectional=True,
                            batch_first=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.emit = nn.Linear(2 * config.hidden, len(TAGS))
        self.crf = CRF(len(TAGS), batch_first=True)

    def emissions(self, chars: torch.Tensor, bigrams: torch.Tensor, words: torch.Tensor,
                  lengths: torch.Tensor) -> torch.Tensor:
        """Per-character tag scores, ``(batch, length, tags)``."""
        x = torch.cat([self.chars(chars), self.bigrams(bigrams), self.words(words)], dim=-1)
        x = self.dropout(x)
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        out, _ = self.lstm(packed)
        out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=chars.shape[1])
        return self.emit(self.dropout(out))

    def loss(self, chars: torch.Tensor, bigrams: torch.Tensor, words: torch.Tensor, lengths: torch.Tensor,
             tags: torch.Tensor) -> torch.Tensor:
        """Mean negative log-likelihood of the gold tag sequences."""
        mask = chars != PAD
        return -self.crf(self.emissions(chars, bigrams, words, lengths), tags, mask=mask, reduction="mean")

    def decode(self, chars: torch.Tensor, bigrams: torch.Tensor, words: torch.Tensor,
               lengths: torch.Tensor) -> list[list[int]]:
        """Best tag ids per sentence (Viterbi)."""
        mask = chars != PAD
        return self.crf.decode(self.emissions(chars, bigrams, words, lengths), mask=mask)

    def save(self, path: str | Path, meta: dict[str, Any] | None = None, half: bool = True) -> Path:
        """Weights (float16 with ``half``: half the size, same tags in our checks), vocabulary and config."""
        state = {k: (v.half() if half and v.is_floating_point() else v) for k, v in self.state_dict().items()}
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"format": 1, "config": asdict(self.config), "vocab": self.vocab.to_dict(),
                    "tags": list(TAGS), "state": state, "meta": meta or {}}, path)
        return path

    @classmethod
    def load(cls, path: str | Path) -> tuple[BiLstmCrf, dict[str, Any]]:
        """A model :meth:`save` wrote (float32, eval mode) and its ``meta``."""
        data = torch.load(Path(path), map_location="cpu", weights_only=True)
        if data.get("format") != 1 or tuple(data.get("tags", ())) != TAGS:
            raise ValueError("not a kg Chinese NER model file (format or tag set differs)")
        model = cls(Vocab.from_dict(data["vocab"]), NetConfig(**data["config"]))
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in data["state"].items()})
        model.eval()
        return model, dict(data.get("meta") or {})


def tensors(encoded: list[tuple[list[int], list[int], list[int]]]) -> tuple[torch.Tensor, ...]:
    """Padded ``(chars, bigrams, words, lengths)`` of encoded sentences."""
    lengths = torch.tensor([len(c) for c, _, _ in encoded], dtype=torch.long)
    width = int(lengths.max()) if len(encoded) else 0
    out = []
    for part in range(3):
        block = torch.zeros((len(encoded), width), dtype=torch.long)
        for row, item in enumerate(encoded):
            block[row, :len(item[part])] = torch.tensor(item[part], dtype=torch.long)
        out.append(block)
    return (*out, lengths)


__all__ = ["BiLstmCrf", "NetConfig", "tensors"]
