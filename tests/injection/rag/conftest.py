"""The example corpus built and indexed once; tests that change a workspace work on a copy of it."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from kg.workspace import Workspace
from tests.conftest import EXAMPLES


@pytest.fixture(scope="session")
def indexed_example(tmp_path_factory) -> Path:
    """A workspace holding the example graph and its retrieval index with the default models."""
    from injection.rag.indexer import build_index
    from kg.build import build

    ws = Workspace(tmp_path_factory.mktemp("rag") / "ws").open(create=True)
    ws.config.extraction.schema_path = str(EXAMPLES / "schema.yaml")
    ws.config.stores.graph = ws.config.stores.rdf = ""  # the index reads the bundle only
    ws.save_config()
    build(ws, [EXAMPLES / "corpus"])
    build_index(ws)
    return ws.path


@pytest.fixture
def ws(indexed_example, tmp_path) -> Workspace:
    """A private copy of the indexed example workspace (its vector cache included)."""
    target = tmp_path / "ws"
    shutil.copytree(indexed_example, target)
    return Workspace(target).open()
