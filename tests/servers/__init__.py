"""Real servers that tests start on 127.0.0.1 and stop again (session-scoped pytest fixtures).

Each module is loaded as a pytest plugin from ``tests/conftest.py``, so its fixtures are available to
every test: ``arcadedb`` (a Bolt server for the Neo4j backend), ``oxigraph_http`` (a SPARQL 1.1
endpoint), ``jena`` (Apache Jena command-line tools on a correct classpath).
"""

from __future__ import annotations

import subprocess


def stop_process(process: subprocess.Popen, timeout: float) -> None:
    """Stop a server process: SIGTERM (so it can shut down cleanly), SIGKILL if it hangs."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout)
