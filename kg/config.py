"""Workspace configuration (``kg.toml``), validated with pydantic; CLI options override it."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kg import WORKSPACE_FORMAT
from kg.errors import ConfigError

# config sections that hold a store backend's settings (named like the backend)
_BACKENDS = frozenset({"neo4j", "sparql", "jena"})


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
    zh_ner: str = "model"  # the packaged Chinese NER model; "jieba" for posseg tags; or a model file
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


class Neo4jSection(_Section):
    """Connection to a Neo4j 5 server (``[stores] graph = "neo4j"``); env ``KG_NEO4J_<KEY>`` overrides."""

    uri: str = "bolt://127.0.0.1:7687"
    user: str = "neo4j"
    password: str = ""
    database: str = ""
    batch_size: int = 10_000
    timeout: float = 60.0


class SparqlSection(_Section):
    """A SPARQL 1.1 endpoint (``[stores] rdf = "sparql"``); env ``KG_SPARQL_<KEY>`` overrides.

    Endpoints name their paths differently (Fuseki ``/ds/query``, Oxigraph ``/query``), so all three
    are full URLs; ``update_url`` and ``data_url`` (Graph Store Protocol) are needed for writes.
    """

    query_url: str = ""
    update_url: str = ""
    data_url: str = ""
    user: str = ""
    password: str = ""
    timeout: float = 60.0
    chunk_triples: int = 100_000


class JenaSection(_Section):
    """Apache Jena TDB2 (``[stores] rdf = "jena"``), stored in the workspace; env ``KG_JENA_<KEY>``."""

    jena_jars: str = "/usr/share/java"
    java: str = "java"


class RdfSection(_Section):
    """RDF mapping settings."""

    base_iri: str = "https://kg.example.org/"


class IndexSection(_Section):
    """The retrieval index (``kg index``): embedding models per language, index type, what is indexed.

    ``models`` maps a language to an embedding model (a packaged name, a sentence-transformers folder or
    a locally cached hub name, see :mod:`injection.rag.embed`); languages it does not list use
    ``model``. Items of languages that share a model share one faiss index.
    """

    model: str = "e5-small"
    models: dict[str, str] = {"en": "minilm", "zh": "e5-small"}
    kinds: list[str] = ["fact", "entity", "chunk"]
    chunk_tokens: int = Field(96, ge=8)
    batch_size: int = Field(64, ge=1)
    hnsw_threshold: int = Field(50_000, ge=0)
    hnsw_m: int = Field(32, ge=4)
    ef_construction: int = Field(80, ge=8)
    ef_search: int = Field(64, ge=1)

    def model_for(self, lang: str) -> str:
        """The embedding model of items in ``lang``."""
        return self.models.get(lang) or self.model


class Config(_Section):
    """The whole ``kg.toml``."""

    workspace: WorkspaceSection = WorkspaceSection()
    extraction: ExtractionSection = ExtractionSection()
    stores: StoresSection = StoresSection()
    rdf: RdfSection = RdfSection()
    neo4j: Neo4jSection = Neo4jSection()
    sparql: SparqlSection = SparqlSection()
    jena: JenaSection = JenaSection()
    index: IndexSection = IndexSection()

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

    def backend_settings(self, backend: str, environ: Mapping[str, str] | None = None) -> dict[str, Any]:
        """Settings of a store backend: its ``[backend]`` section, overridden by ``KG_<BACKEND>_<KEY>``.

        Environment values are applied here, at use, and never saved into kg.toml, so a password set
        in the environment does not end up on disk.

        Raises:
            ConfigError: an environment value does not fit the setting's type.
        """
        if backend not in _BACKENDS:
            return {}  # embedded backends need only their path
        section = getattr(self, backend)
        environ = os.environ if environ is None else environ
        values = section.model_dump()
        for key in values:
            name = f"KG_{backend.upper()}_{key.upper()}"
            if name in environ:
                values[key] = environ[name]
        try:
            return type(section).model_validate(values).model_dump()
        except ValidationError as exc:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()[:3])
            raise ConfigError(f"invalid KG_{backend.upper()}_* environment value ({problems})") from None

    def save(self, path: Path) -> None:
        """Write the config as TOML (atomically)."""
        data = self.model_dump(by_alias=True)
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(tomli_w.dumps(data), encoding="utf-8")
        tmp.replace(path)
