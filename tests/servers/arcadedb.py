"""Session fixture ``arcadedb``: an ArcadeDB server with its Neo4j-compatible Bolt plugin on 127.0.0.1.

No Neo4j server can be installed on the test machines, but the ``arcadedb-embedded`` package ships
ArcadeDB with a bundled JRE and a Bolt plugin that the official ``neo4j`` driver talks to. The fixture
starts it once per test session on free ports, in a temporary root folder, waits until Bolt answers,
and stops it (and deletes the folder) at the end::

    def test_something(arcadedb):
        store = Neo4jStore(**arcadedb.settings())

Tests that need an empty database use the function fixture ``arcadedb_database`` (the name of a new
database, dropped after the test) or ``arcadedb.new_database()`` / ``arcadedb.drop_database(name)``.
Creating a database takes about 0.1 s, much less than cleaning constraints and types out of a shared one.

``KG_TEST_ARCADEDB_START_TIMEOUT`` (seconds, default 90) bounds the wait for a slow machine.
"""

from __future__ import annotations

import base64
import contextlib
import ctypes
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path

import pytest

from tests.servers import stop_process

_PLUGIN = "Bolt:com.arcadedb.bolt.BoltProtocolPlugin"
_USER = "root"  # ArcadeDB's server administrator; the only user a fresh server has


@dataclass
class ArcadeDBServer:
    """A running ArcadeDB server.

    Attributes:
        uri: Bolt URI (``bolt://127.0.0.1:<port>``).
        user: user name for Bolt and HTTP.
        password: its password (random per session).
        database: a database created at startup, shared by the session.
        http_url: base URL of ArcadeDB's HTTP API (used to create and drop databases).
        root: the server's root folder (databases, config, logs).
        log: file holding the server's stdout and stderr.
        process: the JVM.
    """

    uri: str
    user: str
    password: str
    database: str
    http_url: str
    root: Path
    log: Path
    process: subprocess.Popen
    _names: Iterator[int] = field(default_factory=lambda: count(1), repr=False)

    def settings(self, database: str | None = None, **overrides: object) -> dict[str, object]:
        """Keyword arguments for ``Neo4jStore`` that connect to this server (``database`` by default)."""
        return {
            "uri": self.uri,
            "user": self.user,
            "password": self.password,
            "database": database or self.database,
            **overrides,
        }

    def new_database(self, prefix: str = "t") -> str:
        """Create an empty database and return its name."""
        name = f"{prefix}{next(self._names)}"
        self.command(f"create database {name}")
        return name

    def drop_database(self, name: str) -> None:
        """Drop a database made by :meth:`new_database`."""
        self.command(f"drop database {name}")

    def command(self, command: str) -> dict:
        """Run an ArcadeDB server command (``create database x`` ...) over HTTP and return its answer."""
        token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
        request = urllib.request.Request(
            f"{self.http_url}/api/v1/server",
            data=json.dumps({"command": command}).encode(),
            headers={"Authorization": f"Basic {token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:300]
            raise RuntimeError(f"ArcadeDB refused {command!r}: HTTP {exc.code} {detail}") from exc

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _package_dir() -> Path:
    arcadedb = pytest.importorskip("arcadedb_embedded", reason="pip install arcadedb-embedded (extra 'test')")
    return Path(arcadedb.__file__).parent


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # If pytest is killed without running fixture teardown, the kernel stops the JVM too: no orphans.
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_arcadedb(root: Path, timeout: float = 90.0) -> ArcadeDBServer:
    """Start ArcadeDB with the Bolt plugin in ``root`` and wait until Bolt and HTTP answer.

    Raises:
        RuntimeError: the JVM exited or did not answer within ``timeout`` seconds; the message holds
            the tail of the server log.
    """
    package = _package_dir()
    java = package / "jre" / "bin" / "java"
    bolt_port, http_port = free_port(), free_port()
    password = "kg-" + secrets.token_hex(8)  # ArcadeDB wants at least 8 characters
    database = "kg"
    props = {
        "arcadedb.server.rootPath": root,
        "arcadedb.server.databaseDirectory": root / "databases",
        "arcadedb.server.plugins": _PLUGIN,
        "arcadedb.bolt.host": "127.0.0.1",
        "arcadedb.bolt.port": bolt_port,
        "arcadedb.server.httpIncomingHost": "127.0.0.1",
        "arcadedb.server.httpIncomingPort": http_port,
        "arcadedb.server.rootPassword": password,
        "arcadedb.server.defaultDatabases": f"{database}[{_USER}]",
    }
    command = [
        str(java),
        "-Xms128m",
        "-Xmx1g",
        "-XX:+UseSerialGC",  # two shared cores: a parallel collector only adds threads
        *(f"-D{key}={value}" for key, value in props.items()),
        "-cp",
        f"{package / 'jars'}/*",
        "com.arcadedb.server.ArcadeDBServer",
    ]
    log = root / "server.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=root, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,
        )
    server = ArcadeDBServer(
        uri=f"bolt://127.0.0.1:{bolt_port}",
        user=_USER,
        password=password,
        database=database,
        http_url=f"http://127.0.0.1:{http_port}",
        root=root,
        log=log,
        process=process,
    )
    try:
        _wait_until_ready(server, bolt_port, timeout)
    except BaseException:
        stop_arcadedb(server)
        raise
    return server


def _wait_until_ready(server: ArcadeDBServer, bolt_port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if server.process.poll() is not None:
            raise RuntimeError(
                f"ArcadeDB exited with code {server.process.returncode} during startup; "
                f"log tail:\n{server.log_tail()}"
            )
        if _bolt_listens(bolt_port) and _database_exists(server):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"ArcadeDB did not accept Bolt connections on {server.uri} within {timeout:.0f} s "
                f"(raise KG_TEST_ARCADEDB_START_TIMEOUT on a slow machine); log tail:\n{server.log_tail()}"
            )
        time.sleep(0.25)


def _bolt_listens(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def _database_exists(server: ArcadeDBServer) -> bool:
    # The default database is created after the listeners start; Bolt sessions fail until then.
    token = base64.b64encode(f"{server.user}:{server.password}".encode()).decode()
    request = urllib.request.Request(
        f"{server.http_url}/api/v1/exists/{server.database}", headers={"Authorization": f"Basic {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return json.loads(response.read()).get("result") is True
    except (OSError, ValueError):
        return False


def stop_arcadedb(server: ArcadeDBServer, timeout: float = 30.0) -> None:
    """Stop the JVM (SIGTERM runs ArcadeDB's shutdown hook; SIGKILL if it hangs)."""
    stop_process(server.process, timeout)


@pytest.fixture(scope="session")
def arcadedb() -> Iterator[ArcadeDBServer]:
    """An ArcadeDB server with Bolt on 127.0.0.1 for the whole session; stopped and deleted at the end."""
    root = Path(tempfile.mkdtemp(prefix="kg-arcadedb-"))
    try:
        timeout = float(os.environ.get("KG_TEST_ARCADEDB_START_TIMEOUT", "90"))
        server = start_arcadedb(root, timeout)
        try:
            yield server
        finally:
            stop_arcadedb(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def arcadedb_database(arcadedb: ArcadeDBServer) -> Iterator[str]:
    """The name of a new, empty database on the session's ArcadeDB server; dropped after the test."""
    name = arcadedb.new_database()
    try:
        yield name
    finally:
        with contextlib.suppress(Exception):
            arcadedb.drop_database(name)


__all__ = ["ArcadeDBServer", "arcadedb", "arcadedb_database", "free_port", "start_arcadedb", "stop_arcadedb"]
