"""Start a real `kg serve` process on 127.0.0.1 for tests, and stop it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from tests.servers import stop_process
from tests.servers.arcadedb import _die_with_parent, free_port


@dataclass
class KgServer:
    """A running ``kg serve``.

    Attributes:
        url: ``http://127.0.0.1:<port>``.
        process: the server process.
        log: its stdout and stderr.
    """

    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        """What the server printed so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM (graceful), SIGKILL if it hangs; returns the exit code."""
        stop_process(self.process, timeout)
        return self.process.returncode


def launch(ws: Path, log: Path, *args: str, env: dict[str, str] | None = None) -> KgServer:
    """Start ``kg serve -w ws ARGS`` on a free port without waiting for it."""
    port = free_port()
    handle = open(log, "w", encoding="utf-8")  # noqa: SIM115 - the child keeps writing to it
    process = subprocess.Popen(
        [sys.executable, "-m", "kg", "serve", "-w", str(ws), "--port", str(port), *args],
        stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})},
        preexec_fn=_die_with_parent)  # noqa: PLW1509 - tests start servers from one thread
    handle.close()
    return KgServer(f"http://127.0.0.1:{port}", process, log)


def start(ws: Path, log: Path, *args: str, env: dict[str, str] | None = None,
          timeout: float = 180.0) -> KgServer:
    """Start ``kg serve`` and wait until ``/healthz`` answers.

    Raises:
        RuntimeError: the server exited or did not answer in time (the message holds its output).
    """
    server = launch(ws, log, *args, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"kg serve exited with {server.process.returncode}:\n{server.output()[-3000:]}")
        try:
            httpx.get(f"{server.url}/healthz", timeout=2.0)
            return server
        except httpx.HTTPError:
            time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"kg serve did not answer within {timeout:.0f}s:\n{server.output()[-3000:]}")
