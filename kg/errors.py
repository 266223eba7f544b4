"""The single exception hierarchy of kg.

Every error derives from :class:`KGError` and also from the closest builtin (``ValueError`` for bad
input, ``RuntimeError`` for environment/state problems) so generic handlers keep working. Every message
says what to do next. Only the CLI turns these into exit codes.
"""

from __future__ import annotations


class KGError(Exception):
    """Root of all kg errors."""

    exit_code = 1


class ConfigError(KGError, ValueError):
    """A configuration file or option is invalid."""

    exit_code = 2


class SchemaError(KGError, ValueError):
    """A domain schema file is malformed; the message names the bad field."""

    exit_code = 2


class InputError(KGError, ValueError):
    """A corpus input cannot be read at all (missing path, no readable files)."""

    exit_code = 2


class WorkspaceError(KGError, RuntimeError):
    """The workspace is missing, locked, or written by a newer kg."""

    exit_code = 3


class StoreError(KGError, RuntimeError):
    """A store backend failed or is unreachable."""

    exit_code = 4


class QueryError(KGError, ValueError):
    """A Cypher/SPARQL query is invalid or not allowed (e.g. a write without --write)."""

    exit_code = 5


class UnknownComponentError(KGError, ValueError):
    """A pluggable component was requested by a name that does not exist."""

    exit_code = 2

    def __init__(self, kind: str, name: str, valid: list[str]) -> None:
        super().__init__(f"unknown {kind} {name!r}; choose one of: {', '.join(sorted(valid))}")


class GraphDataError(KGError, ValueError):
    """A graph cannot be turned into link-prediction data (too small to split, unknown triples)."""

    exit_code = 2


class CheckpointError(KGError, ValueError):
    """A model checkpoint is missing, unreadable, or was trained on a different graph."""

    exit_code = 2


class TrainingError(KGError, RuntimeError):
    """Training diverged (NaN/inf loss); the last good checkpoint is kept."""

    exit_code = 6
