"""The example corpus built once, as the graph every synthesis test reads."""

from __future__ import annotations

import pytest

from injection.synth.graph import SynthGraph
from kg.graph import GraphView
from kg.schema import Schema, load_schema
from kg.workspace import Workspace
from tests.conftest import EXAMPLES


@pytest.fixture(scope="session")
def example_ws(tmp_path_factory) -> Workspace:
    """A workspace holding the example corpus's graph (built once per session)."""
    from kg.build import build

    ws = Workspace(tmp_path_factory.mktemp("synth") / "ws").open(create=True)
    ws.config.extraction.schema_path = str(EXAMPLES / "schema.yaml")
    ws.config.stores.graph = ws.config.stores.rdf = ""  # synthesis reads the bundle only
    ws.save_config()
    build(ws, [EXAMPLES / "corpus"])
    return ws


@pytest.fixture(scope="session")
def example_schema() -> Schema:
    return load_schema(EXAMPLES / "schema.yaml")


@pytest.fixture(scope="session")
def example_view(example_ws) -> GraphView:
    return example_ws.bundle.view()


@pytest.fixture(scope="session")
def example_graph(example_view, example_schema) -> SynthGraph:
    return SynthGraph(example_view, example_schema)
