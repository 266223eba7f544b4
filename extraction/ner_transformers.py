"""Pluggable transformers token-classification NER, loaded from a local path (nothing downloads).

Labels are mapped to schema types through each entity type's ``ner.transformers`` list, or used
directly when a label already is a schema type name (``B-Person`` -> ``Person``).
"""

from __future__ import annotations

from kg.errors import ConfigError
from kg.schema import Schema


class TransformersTagger:
    """Tags character spans with entity types using a Hugging Face token-classification model.

    Args:
        model_path: folder with a saved model and tokenizer (``save_pretrained`` output).
        schema: maps model labels to entity types.
        min_score: spans scored below this are ignored.
    """

    name = "transformers"

    def __init__(self, model_path: str, schema: Schema, min_score: float = 0.5) -> None:
        try:
            from transformers import pipeline
        except ImportError as exc:
            raise ConfigError("transformers NER needs the ml extra: pip install 'kg[ml]'") from exc
        try:
            self._pipe = pipeline("token-classification", model=model_path, tokenizer=model_path,
                                  aggregation_strategy="simple", device=-1)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"cannot load NER model from {model_path!r} ({exc}); give a folder "
                              "written by save_pretrained()") from exc
        self.schema = schema
        self.min_score = min_score

    def _type(self, label: str) -> str | None:
        label = label.split("-", 1)[-1] if label[:2] in ("B-", "I-") else label
        if label in self.schema.entity_types:
            return label
        return self.schema.type_for_label("transformers", label)

    def tag(self, text: str) -> list[tuple[int, int, str]]:
        """Return ``(start, end, entity_type)`` character spans found in ``text``."""
        if not text.strip():
            return []
        spans = []
        for item in self._pipe(text):
            etype = self._type(item["entity_group"])
            if etype is not None and item["score"] >= self.min_score and item["end"] > item["start"]:
                start, end = int(item["start"]), int(item["end"])
                # tokenizers without offsets for leading spaces report " Apple": trim to the name
                while start < end and text[start].isspace():
                    start += 1
                spans.append((start, end, etype))
        return spans
