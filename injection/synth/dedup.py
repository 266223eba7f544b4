"""Duplicate removal inside a synthesized dataset, and decontamination of training against evaluation.

* **Exact duplicates**: records whose normalized text (NFKC, case-folded, whitespace collapsed) is
  identical; the first one is kept.
* **Near duplicates**: MinHash LSH over token 5-gram shingles, the same machinery the corpus build
  uses (:class:`extraction.dedup.NearDedup`).

Both run within one output file's worth of records (one split, and continual-pretraining text apart
from question data): the same sentence may legitimately appear as pretraining text and inside a
question. Near-duplicate removal applies to pretraining text only: templated questions differ by a
name or two (a true and a false statement about one subject, refusals about different unknown
entities), so shingle similarity cannot tell a variant from a copy there.

* **Decontamination**: a training record is dropped when the question of an evaluation or held-out
  prompt appears in it (token sequence containment), or when it shares a long n-gram with one: 13
  words for English, 20 characters for Chinese (text is tokenized as words for alphabetic scripts and
  single characters for CJK). Multiple-choice option lines are not question content (distractors are
  shared by design); sequences used by prompts about unrelated facts, or by many training records,
  are instruction boilerplate ("Answer with the letter ...") and are ignored.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from extraction.dedup import ExactDedup, NearDedup
from extraction.steps import DropLog, run_steps
from extraction.text import tokens
from injection.synth.records import Record
from kg.model import Document

TEXT_KINDS: frozenset[str] = frozenset({"cpt", "replay"})
"""Kinds written as pretraining text; every other kind is question data."""

NGRAM: dict[str, int] = {"en": 13, "zh": 20}
"""Decontamination n-gram length per language (words for English, characters for Chinese)."""

_SPACE = re.compile(r"\s+")


def normalize(text: str) -> str:
    """NFKC, case-folded, whitespace-collapsed text: what counts as "the same text"."""
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()


def text_hash(text: str) -> str:
    """Stable hash of the normalized text."""
    return hashlib.sha1(normalize(text).encode("utf-8")).hexdigest()


def family(record: Record) -> str:
    """``text`` for pretraining records, ``questions`` for the rest."""
    return "text" if record.kind in TEXT_KINDS else "questions"


def dedup(records: Sequence[Record], *, near: bool = True, threshold: float = 0.8,
          num_perm: int = 128) -> tuple[list[Record], Counter[str]]:
    """Drop exact and near duplicates within each (split, family) group, keeping first occurrences.

    Args:
        records: records in output order.
        near: also drop near duplicates (MinHash LSH) among pretraining text.
        threshold: estimated Jaccard similarity of token 5-gram shingles above which two records are
            near duplicates.
        num_perm: MinHash permutations.

    Returns:
        (kept records in their original order, removed counts by reason: ``exact_duplicate`` and
        ``near_duplicate``).
    """
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for i, record in enumerate(records):
        groups[(record.split, family(record))].append(i)
    kept: set[int] = set()
    removed: Counter[str] = Counter()
    for group, indexes in groups.items():
        drops = DropLog()
        # each record becomes a Document whose id is its text hash, so the corpus steps apply as they are
        docs = (Document(id=text_hash(records[i].text), text=records[i].text, source=str(i)) for i in indexes)
        steps = [ExactDedup()]
        if near and group[1] == "text":
            steps.append(NearDedup(threshold=threshold, num_perm=num_perm))
        kept.update(int(doc.source) for doc in run_steps(docs, steps, drops))
        removed.update(drops.counts)
    return [r for i, r in enumerate(records) if i in kept], removed


_OPTION_LABEL = re.compile(r"^\s*[(\[]?[A-Za-z0-9][)\].:：、]?\s+")


def question_segments(probe: Record) -> list[str]:
    """The lines of a prompt that carry its question.

    For a multiple-choice prompt these are the lines before the first option line: distractors are
    shared between questions by design and the instruction after them is the same for every
    question, so neither is question content. Lines are kept apart so no n-gram spans two of them.
    """
    options = {normalize(o) for o in probe.options if o}
    segments = []
    for line in probe.prompt.splitlines():
        bare = normalize(_OPTION_LABEL.sub("", line, count=1))
        if options and (bare in options or normalize(line) in options):
            break
        if line.strip():
            segments.append(line)
    return segments


class Decontaminator:
    """Finds training text that contains (part of) an evaluation prompt.

    Each evaluation prompt is split into question segments (:func:`question_segments`). A segment
    shorter than the language's n-gram must appear whole in a training text (``eval_prompt``); a
    longer one matches through any of its n-grams (``eval_ngram``). A segment or n-gram used by
    prompts about unrelated facts (no fact in common) is template text, and one found in
    ``common_df`` or more training texts is boilerplate: neither counts.

    Args:
        probes: the evaluation and held-out records (``prompt``, ``options``, ``lang``, ``facts``,
            ``entities`` are read).
        ngram: n-gram length per language (default :data:`NGRAM`).
        min_tokens: segments with fewer tokens are too generic to match on and are skipped.
        common_df: a sequence found in at least this many training texts is treated as boilerplate.
    """

    def __init__(self, probes: Iterable[Record], *, ngram: dict[str, int] | None = None,
                 min_tokens: int = 3, common_df: int = 10) -> None:
        self.sizes = dict(NGRAM if ngram is None else ngram)
        self.common_df = common_df
        owners: dict[tuple[str, ...], frozenset[str]] = {}
        whole: set[tuple[str, ...]] = set()

        def own(seq: tuple[str, ...], about: frozenset[str]) -> None:
            # what every prompt using the sequence is about in common; empty: template text
            owners[seq] = owners[seq] & about if seq in owners else about

        for probe in probes:
            # what the prompt is about: its facts, else its entities (refusals), else the prompt itself
            about = frozenset(probe.facts) or frozenset(probe.entities) or frozenset({probe.prompt})
            n = self.sizes.get(probe.lang, self.sizes["en"])
            for segment in question_segments(probe):
                toks = tokens(normalize(segment))
                if len(toks) < min_tokens:
                    continue
                if len(toks) < n:
                    whole.add(toks)
                    own(toks, about)
                for i in range(len(toks) - n + 1):
                    own(toks[i:i + n], about)
        self.sequences: set[tuple[str, ...]] = {seq for seq, about in owners.items() if about}
        self.whole: set[tuple[str, ...]] = whole & self.sequences
        # lengths of the sequences starting with each token pair: a text is scanned once, slicing
        # only where something can start, instead of once per sequence length
        self._starts: dict[tuple[str, ...], set[int]] = defaultdict(set)
        for seq in self.sequences:
            self._starts[seq[:2]].add(len(seq))

    def __bool__(self) -> bool:
        return bool(self.sequences)

    def matches(self, text: str) -> set[tuple[str, ...]]:
        """The evaluation sequences (whole short segments and n-grams) found in ``text``."""
        toks = tokens(normalize(text))
        hits: set[tuple[str, ...]] = set()
        for i in range(len(toks) - 1):
            for n in self._starts.get(toks[i:i + 2], ()):
                if (gram := toks[i:i + n]) in self.sequences:
                    hits.add(gram)
        return hits

    def filter(self, records: Sequence[Record]) -> tuple[list[Record], Counter[str]]:
        """Drop contaminated records; returns (kept, removed counts by reason)."""
        if not self:
            return list(records), Counter()
        found = [self.matches(r.text) for r in records]
        df: Counter[tuple[str, ...]] = Counter(seq for hits in found for seq in hits)
        kept: list[Record] = []
        removed: Counter[str] = Counter()
        for record, hits in zip(records, found, strict=True):
            leaks = [seq for seq in hits if df[seq] < self.common_df]
            if not leaks:
                kept.append(record)
            else:
                removed["eval_prompt" if any(seq in self.whole for seq in leaks) else "eval_ngram"] += 1
        return kept, removed


def decontaminate(records: Sequence[Record], probes: Decontaminator | None = None,
                  **kwargs) -> tuple[list[Record], Counter[str]]:
    """Drop training records that overlap an evaluation or held-out prompt of ``records``.

    Args:
        records: every record of the run; only ``train`` ones are dropped.
        probes: a decontaminator built already; default one built from the non-training prompts.
        **kwargs: passed to :class:`Decontaminator` when it is built here.

    Returns:
        (kept records in their original order, removed counts by reason).
    """
    if probes is None:
        probes = Decontaminator((r for r in records if r.split != "train" and r.prompt), **kwargs)
    train = [r for r in records if r.split == "train"]
    kept_train, removed = probes.filter(train)
    kept_ids = {id(r) for r in kept_train}
    return [r for r in records if r.split != "train" or id(r) in kept_ids], removed


__all__ = ["NGRAM", "TEXT_KINDS", "Decontaminator", "decontaminate", "dedup", "family", "normalize",
           "question_segments", "text_hash"]
