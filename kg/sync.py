"""Project the bundle into the configured stores (`kg sync`, and the last step of `kg build`).

Two kinds of backend:

* **Embedded** (a ``path`` argument: LadybugDB, Oxigraph, Jena TDB2) live in the workspace. They are
  rebuilt in bulk into a fresh folder that replaces the old one only when the load finished, so a kill
  during sync leaves the previous store intact and marked out of date; the next build or `kg sync`
  redoes it.
* **Servers** (Neo4j, SPARQL endpoints) take their connection from kg.toml's ``[neo4j]``/``[sparql]``
  sections and ``KG_<BACKEND>_<KEY>`` environment variables. They are loaded in place; the workspace
  marks the store out of date first, so an interrupted load is redone by the next build or sync.
  :func:`check_servers` connects once before a build starts, so a server that is down or a wrong
  password fails the build before any extraction work.
"""

from __future__ import annotations

import inspect
import shutil
from collections.abc import Callable

from kg.graph import GraphView
from kg.workspace import Workspace

KINDS = ("graph", "rdf")


def open_store(ws: Workspace, kind: str, *, read_only: bool = False):
    """Return an opened store of ``kind`` ("graph" or "rdf") as configured for the workspace.

    Raises:
        StoreError: the store does not exist yet (run `kg build`/`kg sync`) or cannot be opened.
    """
    from kg.errors import StoreError

    backend = getattr(ws.config.stores, kind)
    if not backend:
        raise StoreError(f"no {kind} store configured; set [stores] {kind} in {ws.config_path}")
    path = ws.store_path(kind, backend)
    if is_embedded(kind, backend) and not path.exists():
        raise StoreError(f"the {kind} store of {ws.path} does not exist yet; run `kg sync -w {ws.path}`")
    store = _make(kind, backend, ws, path / "db", read_only=read_only)
    store.open()
    return store


def is_embedded(kind: str, backend: str) -> bool:
    """Whether ``backend`` keeps its data in the workspace (its constructor takes a ``path``)."""
    from kg.stores import store_class

    return "path" in inspect.signature(store_class(kind, backend)).parameters


def check_servers(ws: Workspace) -> None:
    """Connect to every configured server backend once, so a bad connection fails fast.

    Raises:
        StoreError: a server is down, refuses the credentials, or is misconfigured.
    """
    for kind in KINDS:
        backend = getattr(ws.config.stores, kind)
        if backend and not is_embedded(kind, backend):
            store = _make(kind, backend, ws, None)
            store.open()
            store.close()


_TARGET_KEYS = ("uri", "database", "query_url", "update_url", "data_url")
"""Server settings that decide *which* graph a server backend writes (not how: timeouts, batches)."""


def store_target(ws: Workspace, kind: str) -> str:
    """Where the ``kind`` store lives: the backend name, plus the server and database for servers.

    Sync state is kept per target, so pointing a workspace at another server (or database) makes
    `kg sync` load it instead of calling it up to date.
    """
    backend = getattr(ws.config.stores, kind)
    if not backend or is_embedded(kind, backend):
        return backend
    settings = ws.config.backend_settings(backend)
    return " ".join([backend, *(f"{key}={settings[key]}" for key in _TARGET_KEYS if settings.get(key))])


def _make(kind: str, backend: str, ws: Workspace, path, *, read_only: bool = False):
    from kg.stores import graph_store, store_class, triple_store

    parameters = inspect.signature(store_class(kind, backend)).parameters
    settings = ws.config.backend_settings(backend)
    if "path" in parameters:
        settings["path"] = str(path)
    if "base_iri" in parameters:
        settings["base_iri"] = ws.config.rdf.base_iri
    if "read_only" in parameters:
        settings["read_only"] = read_only
    return (graph_store if kind == "graph" else triple_store)(backend, **settings)


def sync_stores(ws: Workspace, *, force: bool = False, view: GraphView | None = None,
                progress: Callable[[str, int, int], None] | None = None) -> dict[str, str]:
    """Bring every configured store up to the bundle's version.

    Args:
        ws: an opened (and locked) workspace.
        force: reload even stores that are up to date.
        view: the bundle's live view, when the caller already has it.
        progress: optional progress callback.

    Returns:
        kind -> "synced" / "up to date" / "disabled".
    """
    progress = progress or (lambda stage, done, total: None)
    version = ws.bundle.version
    status: dict[str, str] = {}
    for kind in KINDS:
        backend = getattr(ws.config.stores, kind)
        if not backend:
            status[kind] = "disabled"
            continue
        final = ws.store_path(kind, backend)
        embedded = is_embedded(kind, backend)
        target = store_target(ws, kind)
        if not force and ws.synced_version(kind, target) == version and (final.exists() or not embedded):
            status[kind] = "up to date"
            continue
        if view is None:
            view = ws.bundle.view()
        progress(f"load {backend}", 0, 1)
        ws.mark_synced(kind, None, target)
        if embedded:
            _load_embedded(ws, kind, backend, final, view)
        else:
            with _make(kind, backend, ws, None) as store:
                store.load(view)
        ws.mark_synced(kind, version, target)
        progress(f"load {backend}", 1, 1)
        status[kind] = "synced"
    return status


def _load_embedded(ws: Workspace, kind: str, backend: str, final, view: GraphView) -> None:
    # each store lives in its own folder so side files (WAL, locks) move with it
    tmp = final.with_name(final.name + ".tmp")
    _remove(tmp)
    tmp.mkdir(parents=True)
    with _make(kind, backend, ws, tmp / "db") as store:
        store.load(view)
    _remove(final)
    tmp.rename(final)


def _remove(folder) -> None:
    shutil.rmtree(folder, ignore_errors=True)
