"""Session fixture ``jena``: Apache Jena's TDB2 command-line tools on a working classpath.

Jena runs no server here: :class:`kg.stores.jena.JenaStore` starts one short JVM per call. The fixture
finds the Debian package's jars (``apt-get install libapache-jena-java``; CI installs it through
``make install``), builds the classpath and the cached Xerces message jar once, and yields the
:class:`kg.stores.jena.JenaTools`::

    def test_something(jena, tmp_path):
        store = JenaStore(tmp_path / "tdb2", jena_jars=str(jena.jars), java=jena.java)

Tests that use it are skipped, with the reason, only when Jena or Java is not installed.
``KG_TEST_JENA_JARS`` points at another folder of Jena jars.
"""

from __future__ import annotations

import os

import pytest

from kg.errors import StoreError
from kg.stores.jena import JenaTools, find_jena


@pytest.fixture(scope="session")
def jena() -> JenaTools:
    """Jena's tools (java, jar folder, classpath); skips when Jena is not installed."""
    try:
        return find_jena(os.environ.get("KG_TEST_JENA_JARS", "/usr/share/java"))
    except StoreError as exc:
        pytest.skip(f"Apache Jena is not available: {exc}")


__all__ = ["jena"]
