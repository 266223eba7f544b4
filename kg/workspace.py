"""A workspace folder: config, bundle, embedded stores, staging area, reports.

::

    ws/kg.toml            configuration
    ws/bundle/            Parquet bundle (source of truth)
    ws/stores/            embedded store projections + state.json (bundle version each store holds)
    ws/staging/           shard outputs of an unfinished build (resume after a kill)
    ws/reports/           build reports (JSON + text)
"""

from __future__ import annotations

import fcntl
import json
import os
from pathlib import Path

from kg import WORKSPACE_FORMAT
from kg.bundle import Bundle
from kg.config import Config
from kg.errors import WorkspaceError


class Workspace:
    """Paths and state of one workspace. The constructor does no I/O; call :meth:`open`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.config_path = self.path / "kg.toml"
        self.bundle = Bundle(self.path / "bundle")
        self.stores_dir = self.path / "stores"
        self.staging_dir = self.path / "staging"
        self.reports_dir = self.path / "reports"
        self.config = Config()
        self._lock_handle = None

    def open(self, *, create: bool = False) -> Workspace:
        """Load (or create) the workspace, checking its format.

        Raises:
            WorkspaceError: missing workspace (and not ``create``) or written by a newer kg.
        """
        if not self.config_path.exists():
            if not create:
                raise WorkspaceError(f"no workspace at {self.path}; run `kg build CORPUS -w {self.path}`")
            self.path.mkdir(parents=True, exist_ok=True)
            self.config.save(self.config_path)
        self.config = Config.load(self.config_path)
        if self.config.workspace.format > WORKSPACE_FORMAT:
            raise WorkspaceError(
                f"workspace {self.path} has format {self.config.workspace.format}, newer than this kg "
                f"supports ({WORKSPACE_FORMAT}); upgrade kg to use it")
        for folder in (self.stores_dir, self.staging_dir, self.reports_dir):
            folder.mkdir(parents=True, exist_ok=True)
        if create:
            self.bundle.init()
        return self

    def save_config(self) -> None:
        """Persist the current config."""
        self.config.save(self.config_path)

    def lock(self) -> None:
        """Take an exclusive lock so two builds never write one workspace at once.

        Raises:
            WorkspaceError: another kg process holds the lock.
        """
        self._lock_handle = open(self.path / ".lock", "w")  # noqa: SIM115 - held until unlock()
        try:
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_handle.close()
            self._lock_handle = None
            raise WorkspaceError(f"workspace {self.path} is in use by another kg process; wait for it "
                                 "to finish") from None
        self._lock_handle.write(str(os.getpid()))
        self._lock_handle.flush()

    def unlock(self) -> None:
        """Release the lock taken by :meth:`lock`."""
        if self._lock_handle is not None:
            fcntl.flock(self._lock_handle, fcntl.LOCK_UN)
            self._lock_handle.close()
            self._lock_handle = None

    # --- store sync state ----------------------------------------------------------------------------
    def store_path(self, kind: str, backend: str) -> Path:
        """Where an embedded store of ``kind`` ("graph" or "rdf") lives."""
        return self.stores_dir / f"{kind}-{backend}"

    def synced_version(self, kind: str, target: str = "") -> int | None:
        """The bundle version the ``kind`` store was last fully synced to, or None.

        Args:
            target: where the store lives now (see ``kg.sync.store_target``); a store last synced to
                another target (another server URI, database or backend) counts as never synced.
        """
        state_path = self.stores_dir / "state.json"
        if not state_path.exists():
            return None
        entry = json.loads(state_path.read_text()).get(kind)
        if not isinstance(entry, dict) or entry.get("target", "") != target:
            return None
        return entry.get("version")

    def mark_synced(self, kind: str, version: int | None, target: str = "") -> None:
        """Record (atomically) which bundle version the store at ``target`` holds; None marks it dirty."""
        state_path = self.stores_dir / "state.json"
        state = json.loads(state_path.read_text()) if state_path.exists() else {}
        state[kind] = {"version": version, "target": target}
        tmp = state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(state_path)
