"""Stable identifiers: the same normalized content gives the same id on every run and machine."""

from __future__ import annotations

import hashlib
import unicodedata

_SEP = "\x1f"  # unit separator: cannot occur in normalized names, so parts never run together


def normalize_key(text: str) -> str:
    """Normalize a name for identity: NFKC (full-width -> half-width), casefold, collapse spaces."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def stable_id(kind: str, *parts: str, length: int = 16) -> str:
    """Return a deterministic id ``<kind>:<hex>`` from the given parts.

    Args:
        kind: short prefix such as ``"doc"``, ``"ent"``, ``"fact"``.
        parts: strings that define the identity; they are used as given (normalize first if needed).
        length: number of hex characters kept from the SHA-1 digest.
    """
    digest = hashlib.sha1(_SEP.join(parts).encode("utf-8")).hexdigest()[:length]
    return f"{kind}:{digest}"


def document_id(text: str) -> str:
    """Id of a document: a hash of its whitespace-normalized text (so a moved file keeps its id)."""
    return stable_id("doc", " ".join(unicodedata.normalize("NFC", text).split()))


def entity_id(entity_type: str, canonical_name: str) -> str:
    """Id of a canonical entity: its type plus its normalized canonical name."""
    return stable_id("ent", entity_type, normalize_key(canonical_name))


def fact_id(subject_id: str, predicate: str, object_id: str) -> str:
    """Id of a fact: the (subject, predicate, object) triple of canonical ids."""
    return stable_id("fact", subject_id, predicate, object_id)
