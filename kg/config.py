"""Workspace configuration (``kg.toml``), validated with pydantic; CLI options override it."""

from __future__ import annotations

import tomllib
from pathlib import Path

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kg import WORKSPACE_FORMAT
from kg.errors import ConfigError


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WorkspaceSection(_Section):
    """Format bookkeeping."""

    format: int = WORKSPACE_FORMAT


class ExtractionSection(_Section):
    """Corpus reading, cleaning, filters and extractors."""

    schema_path: str = Field("", alias="schema")
    languages: list[str] = ["en", "zh"]
    en_model: str = "en_core_web_sm"
    ner_model: str = ""
    text_field: str = "text"
    max_doc_bytes: int = 20_000_000
    min_tokens: int = 30
    max_digit_punct_ratio: float = 0.35
    near_duplicate_threshold: float = 0.8
    open_relations: bool = True
    workers: int = 1
    shard_size: int = 64

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StoresSection(_Section):
    """Which store backends the build keeps in sync (empty string disables one)."""

    graph: str = "ladybug"
    rdf: str = "oxigraph"


class RdfSection(_Section):
    """RDF mapping settings."""

    base_iri: str = "https://kg.example.org/"


class Config(_Section):
    """The whole ``kg.toml``."""

    workspace: WorkspaceSection = WorkspaceSection()
    extraction: ExtractionSection = ExtractionSection()
    stores: StoresSection = StoresSection()
    rdf: RdfSection = RdfSection()

    @classmethod
    def load(cls, path: Path) -> Config:
        """Read and validate a kg.toml.

        Raises:
            ConfigError: invalid TOML or unknown/ill-typed keys (the message names them).
        """
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); fix it or delete it to get defaults") \
                from exc
        try:
            return cls.model_validate(raw)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5])
            raise ConfigError(f"invalid {path}: {problems}") from None

    def save(self, path: Path) -> None:
        """Write the config as TOML (atomically)."""
        data = self.model_dump(by_alias=True)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        tmp.replace(path)
