"""Store backends, chosen by name: ``graph_store("ladybug", path=...)``, ``triple_store("oxigraph")``.

A backend is registered as a ``"module:Class"`` string so that choosing one backend never imports the
others (LadybugDB and Kuzu must not share a process; server drivers are optional dependencies).
Adding a backend is one line in :data:`GRAPH_STORES` / :data:`TRIPLE_STORES` or a call to
:func:`register_graph_store` / :func:`register_triple_store`.
"""

from __future__ import annotations

import importlib
from typing import Any, TypeVar

from kg.errors import UnknownComponentError
from kg.stores.base import GraphStore, QueryResult, Store, TripleStore

GRAPH_STORES: dict[str, str] = {
    "ladybug": "kg.stores.ladybug:LadybugStore",
    "neo4j": "kg.stores.neo4j:Neo4jStore",
}
"""Cypher backends by name -> ``"module:Class"``."""

TRIPLE_STORES: dict[str, str] = {
    "oxigraph": "kg.stores.oxigraph:OxigraphStore",
    "sparql": "kg.stores.sparql:SparqlEndpointStore",
    "jena": "kg.stores.jena:JenaStore",
}
"""SPARQL backends by name -> ``"module:Class"``."""

_S = TypeVar("_S", bound=Store)


def register_graph_store(name: str, target: str | type[GraphStore]) -> None:
    """Register a Cypher backend under ``name`` (a class or a ``"module:Class"`` string)."""
    GRAPH_STORES[name] = target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def register_triple_store(name: str, target: str | type[TripleStore]) -> None:
    """Register a SPARQL backend under ``name`` (a class or a ``"module:Class"`` string)."""
    TRIPLE_STORES[name] = target if isinstance(target, str) else f"{target.__module__}:{target.__qualname__}"


def graph_store(name: str | type[GraphStore] | GraphStore, **settings: Any) -> GraphStore:
    """Return a (not yet opened) Cypher store.

    Args:
        name: a registered name (``"ladybug"``), a GraphStore subclass, or an instance (returned as is).
        **settings: constructor arguments of the backend, e.g. ``path=``.

    Raises:
        UnknownComponentError: ``name`` is not registered; the message lists the valid names.
    """
    return _resolve("graph store", GRAPH_STORES, GraphStore, name, settings)


def triple_store(name: str | type[TripleStore] | TripleStore, **settings: Any) -> TripleStore:
    """Return a (not yet opened) SPARQL store.

    Args:
        name: a registered name (``"oxigraph"``), a TripleStore subclass, or an instance (returned as is).
        **settings: constructor arguments of the backend, e.g. ``path=``, ``base_iri=``.

    Raises:
        UnknownComponentError: ``name`` is not registered; the message lists the valid names.
    """
    return _resolve("triple store", TRIPLE_STORES, TripleStore, name, settings)


def store_class(kind: str, name: str) -> type[Store]:
    """Return the backend class registered under ``name`` without creating a store.

    Args:
        kind: ``"graph"`` (Cypher backends) or ``"rdf"`` (SPARQL backends).
        name: a registered backend name.

    Raises:
        UnknownComponentError: ``name`` is not registered; the message lists the valid names.
    """
    if kind == "graph":
        return _class_of("graph store", GRAPH_STORES, name)
    return _class_of("triple store", TRIPLE_STORES, name)


def _class_of(kind: str, registry: dict[str, str], name: str) -> type:
    if not isinstance(name, str) or name.lower() not in registry:
        raise UnknownComponentError(kind, str(name), list(registry))
    module_name, _, class_name = registry[name.lower()].partition(":")
    return getattr(importlib.import_module(module_name), class_name)


def _resolve(kind: str, registry: dict[str, str], base: type[_S], name: Any, settings: dict[str, Any]) -> _S:
    if isinstance(name, base):
        if settings:
            raise TypeError(f"settings {sorted(settings)} cannot apply to an existing {kind} instance")
        return name
    if isinstance(name, type) and issubclass(name, base):
        return name(**settings)
    return _class_of(kind, registry, name)(**settings)


__all__ = [
    "GRAPH_STORES",
    "TRIPLE_STORES",
    "GraphStore",
    "QueryResult",
    "Store",
    "TripleStore",
    "graph_store",
    "register_graph_store",
    "register_triple_store",
    "store_class",
    "triple_store",
]
