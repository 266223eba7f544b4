"""Session fixture ``oxigraph_http``: an ``oxigraph serve`` SPARQL 1.1 endpoint on 127.0.0.1.

The ``oxigraph`` package (extra ``test``) ships the Oxigraph server binary. The fixture starts it once per
test session on a free port with a temporary store folder, waits until the query endpoint answers, and
stops it (and deletes the folder) at the end::

    def test_something(oxigraph_http):
        oxigraph_http.clear()
        store = SparqlEndpointStore(**oxigraph_http.settings())

Oxigraph's paths: ``/query`` (SPARQL query), ``/update`` (SPARQL update), ``/store`` (Graph Store
Protocol). ``KG_TEST_OXIGRAPH_START_TIMEOUT`` (seconds, default 30) bounds the wait for a slow machine.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.servers import stop_process

from tests.servers.arcadedb import _die_with_parent, free_port


@dataclass
class OxigraphServer:
    """A running ``oxigraph serve``.

    Attributes:
        base_url: ``http://127.0.0.1:<port>``.
        query_url: the SPARQL query endpoint.
        update_url: the SPARQL update endpoint.
        data_url: the Graph Store Protocol endpoint.
        location: the server's store folder.
        log: file holding the server's stdout and stderr.
        process: the server process.
    """

    base_url: str
    query_url: str
    update_url: str
    data_url: str
    location: Path
    log: Path
    process: subprocess.Popen

    def settings(self, **overrides: object) -> dict[str, object]:
        """Keyword arguments for ``SparqlEndpointStore`` that connect to this server."""
        return {
            "query_url": self.query_url,
            "update_url": self.update_url,
            "data_url": self.data_url,
            **overrides,
        }

    def clear(self) -> None:
        """Remove every triple from every graph (between tests)."""
        self.update("CLEAR ALL")

    def update(self, text: str) -> None:
        """Run a SPARQL update on the server."""
        request = urllib.request.Request(
            self.update_url, data=text.encode(), headers={"Content-Type": "application/sparql-update"}
        )
        with urllib.request.urlopen(request, timeout=30):
            pass

    def ask(self, text: str) -> bool:
        """Run an ASK query on the server."""
        request = urllib.request.Request(
            self.query_url,
            data=urllib.parse.urlencode({"query": text}).encode(),
            headers={"Accept": "application/sparql-results+json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return bool(json.loads(response.read())["boolean"])

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log."""
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


def oxigraph_binary() -> str:
    """The ``oxigraph`` executable of this environment; skips the test when it is not installed."""
    beside = Path(sys.executable).parent / "oxigraph"
    found = str(beside) if beside.exists() else shutil.which("oxigraph")
    if not found:
        pytest.skip("the Oxigraph server is not installed; pip install oxigraph (extra 'test')")
    return found


def start_oxigraph(location: Path, timeout: float = 30.0) -> OxigraphServer:
    """Start ``oxigraph serve`` on 127.0.0.1 with its store in ``location``; wait until it answers.

    Raises:
        RuntimeError: the server exited or did not answer within ``timeout`` seconds; the message holds
            the tail of its log.
    """
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = location.parent / "oxigraph.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [oxigraph_binary(), "serve", "--location", str(location), "--bind", f"127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, preexec_fn=_die_with_parent,
        )
    server = OxigraphServer(
        base_url=base, query_url=f"{base}/query", update_url=f"{base}/update", data_url=f"{base}/store",
        location=location, log=log, process=process,
    )
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"oxigraph serve exited with code {process.returncode}; log tail:\n{server.log_tail()}"
                )
            with contextlib.suppress(OSError, ValueError, urllib.error.URLError):
                if server.ask("ASK {}"):
                    return server
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"oxigraph serve did not answer at {server.query_url} within {timeout:.0f} s (raise "
                    f"KG_TEST_OXIGRAPH_START_TIMEOUT on a slow machine); log tail:\n{server.log_tail()}"
                )
            time.sleep(0.1)
    except BaseException:
        stop_oxigraph(server)
        raise


def stop_oxigraph(server: OxigraphServer, timeout: float = 15.0) -> None:
    """Stop the server (SIGTERM, SIGKILL if it hangs)."""
    stop_process(server.process, timeout)


@pytest.fixture(scope="session")
def oxigraph_http() -> Iterator[OxigraphServer]:
    """An Oxigraph SPARQL endpoint on 127.0.0.1 for the whole session; stopped and deleted at the end."""
    root = Path(tempfile.mkdtemp(prefix="kg-oxigraph-http-"))
    try:
        timeout = float(os.environ.get("KG_TEST_OXIGRAPH_START_TIMEOUT", "30"))
        server = start_oxigraph(root / "store", timeout)
        try:
            yield server
        finally:
            stop_oxigraph(server)
    finally:
        shutil.rmtree(root, ignore_errors=True)


__all__ = ["OxigraphServer", "oxigraph_binary", "oxigraph_http", "start_oxigraph", "stop_oxigraph"]
