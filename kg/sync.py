"""Project the bundle into the configured stores (`kg sync`, and the last step of `kg build`).

Embedded stores are rebuilt in bulk into a fresh folder that replaces the old one only when the
load finished, so a kill during sync leaves the previous store intact and marked out of date; the
next build or `kg sync` redoes it.
"""

from __future__ import annotations

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
    if not path.exists():
        raise StoreError(f"the {kind} store of {ws.path} does not exist yet; run `kg sync -w {ws.path}`")
    store = _make(kind, backend, ws, path / "db", read_only=read_only)
    store.open()
    return store


def _make(kind: str, backend: str, ws: Workspace, path, *, read_only: bool = False):
    from kg.stores import graph_store, triple_store

    if kind == "graph":
        return graph_store(backend, path=str(path), read_only=read_only)
    return triple_store(backend, path=str(path), base_iri=ws.config.rdf.base_iri, read_only=read_only)


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
        if not force and ws.synced_version(kind) == version and final.exists():
            status[kind] = "up to date"
            continue
        if view is None:
            view = ws.bundle.view()
        progress(f"load {backend}", 0, 1)
        ws.mark_synced(kind, None)
        # each store lives in its own folder so side files (WAL, locks) move with it
        tmp = final.with_name(final.name + ".tmp")
        _remove(tmp)
        tmp.mkdir(parents=True)
        store = _make(kind, backend, ws, tmp / "db")
        store.open()
        try:
            store.load(view)
        finally:
            store.close()
        _remove(final)
        tmp.rename(final)
        ws.mark_synced(kind, version)
        progress(f"load {backend}", 1, 1)
        status[kind] = "synced"
    return status


def _remove(folder) -> None:
    shutil.rmtree(folder, ignore_errors=True)
