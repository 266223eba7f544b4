"""Apache Jena TDB2 as a triple store, driven through Jena's command-line tools (no server).

``tdb2.tdbloader`` bulk-loads, ``tdb2.tdbquery --results=json`` queries and ``tdb2.tdbupdate`` runs
SPARQL updates against a TDB2 database folder; everything above that transport is
:class:`~kg.stores.sparql_protocol.SparqlProtocolStore`. Every call starts a JVM, so the store batches:
one update request per upsert or retract, query and update text passed in files (no length limit).

Debian's ``libapache-jena-java`` (Jena 4.5) needs two fixes, both made here in code:

* the classpath lists the Jena jars and their dependencies one by one, with a single SLF4J binding —
  ``/usr/share/java/*`` holds several bindings and unrelated jars;
* Debian relocated Jena's embedded Xerces to the package ``xerces`` but left its message bundles under
  ``org/apache/jena/ext/xerces/``, so the JVM fails while initializing XSD datatypes. A tiny jar with the
  bundles under ``xerces/`` is built once from jena-core.jar and cached (:func:`cache_dir`).

JVM start-up dominates small calls, so each tool also gets an AppCDS archive (class data sharing,
created on its first successful run and cached next to the fix jar), which about halves the start-up.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kg.errors import QueryError, StoreError
from kg.stores.sparql_protocol import SparqlProtocolStore, first_line

# Jena modules the TDB2 tools need; each is "<name>.jar" (Debian) or "<name>-<version>.jar" (Maven).
_JENA_MODULES = (
    "jena-base", "jena-core", "jena-iri", "jena-arq", "jena-cmds", "jena-tdb2", "jena-dboe-base",
    "jena-dboe-index", "jena-dboe-storage", "jena-dboe-trans-data", "jena-dboe-transaction",
)
# Dependencies without which no tool starts; alternatives are separated by "|".
_REQUIRED_DEPENDENCIES = (
    "slf4j-api", "commons-io", "commons-lang3", "commons-codec", "commons-compress", "commons-csv",
    "dexx.collection|collection", "guava|jena-shaded-guava", "commons-cli",
)
# Dependencies that only some features need (JSON-LD, RDF Thrift/Protobuf, HTTP); added when present.
_OPTIONAL_DEPENDENCIES = (
    "jena-tdb", "jena-rdfconnection", "jsonld-java", "gson", "httpclient", "httpcore", "httpclient-cache",
    "jcl-over-slf4j", "jackson-core", "jackson-databind", "jackson-annotations", "titanium-json-ld",
    "jakarta.json-api", "protobuf|protobuf-java", "thrift|libthrift", "caffeine",
)
# Exactly one SLF4J binding, the first found: several on one classpath is the Debian quirk.
_LOG_BINDINGS = (("slf4j-simple",), ("log4j-slf4j2-impl", "log4j-api", "log4j-core"),
                 ("log4j-slf4j-impl", "log4j-api", "log4j-core"), ("slf4j-jdk14",))

_XERCES_RELOCATED = "org/apache/jena/ext/xerces/"
_INSTALL_HINT = (
    "install it with `apt-get install libapache-jena-java`, or set [jena] jena_jars in kg.toml "
    "(KG_JENA_JENA_JARS) to a folder holding the Jena 4 jars (e.g. an Apache Jena distribution's lib/)"
)
# JVM settings: UTF-8 everywhere (the default charset follows the locale, often ASCII), quiet logging,
# and JVM warnings on stderr so stdout stays a clean result document.
_JVM_OPTIONS = (
    "-Dfile.encoding=UTF-8",
    "-Dsun.stdout.encoding=UTF-8",
    "-Dsun.stderr.encoding=UTF-8",
    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
    "-Xlog:disable",
    "-Xlog:all=warning:stderr",
)


def cache_dir() -> Path:
    """kg's cache folder: ``$KG_CACHE_DIR``, else ``$XDG_CACHE_HOME/kg``, else ``~/.cache/kg``."""
    if os.environ.get("KG_CACHE_DIR"):
        return Path(os.environ["KG_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kg"


@dataclass(frozen=True)
class JenaTools:
    """Jena's command-line tools on a working classpath.

    Attributes:
        java: the ``java`` executable.
        jars: the folder the Jena jars came from.
        classpath: every jar of the classpath, the Xerces message jar last.
        cache: folder of the Xerces message jar and the class-data-sharing archives.
    """

    java: str
    jars: Path
    classpath: tuple[Path, ...]
    cache: Path

    @functools.cached_property
    def _key(self) -> str:
        """Changes when the JVM or any jar changes, so a stale CDS archive is never used."""
        digest = hashlib.sha256()
        for path in (Path(self.java), *self.classpath):
            stat = path.stat()
            digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
        return digest.hexdigest()[:16]

    def command(self, main: str, *args: str, options: Iterable[str] = ()) -> list[str]:
        """The command line that runs Jena's ``main`` class (e.g. ``tdb2.tdbquery``) with ``args``."""
        classpath = os.pathsep.join(str(p) for p in self.classpath)
        return [self.java, *_JVM_OPTIONS, *options, "-cp", classpath, main, *args]

    def run(self, main: str, *args: str, small: bool = True) -> subprocess.CompletedProcess[bytes]:
        """Run a Jena tool and return the finished process (stdout and stderr captured as bytes).

        Args:
            main: the tool's main class, e.g. ``tdb2.tdbquery``.
            *args: its arguments.
            small: the call is expected to be short (a query or update), so the serial collector
                starts fastest; a bulk load keeps the JVM's default collector.

        Raises:
            StoreError: the JVM cannot be started.
        """
        options = ["-XX:+UseSerialGC"] if small else []
        archive = self.cache / f"cds-{self._key}-{main}.jsa"
        failed_marker = archive.with_suffix(".failed")
        pending: Path | None = None
        if archive.exists():
            options.append(f"-XX:SharedArchiveFile={archive}")
        elif not failed_marker.exists():
            pending = archive.with_name(f"{archive.name}.{os.getpid()}.tmp")
            options.append(f"-XX:ArchiveClassesAtExit={pending}")
        try:
            process = subprocess.run(
                self.command(main, *args, options=options), capture_output=True, stdin=subprocess.DEVNULL
            )
        except OSError as exc:
            raise StoreError(
                f"cannot start Java ({self.java}): {exc}; install a Java 17 runtime or set [jena] java in "
                "kg.toml (KG_JENA_JAVA)"
            ) from None
        if pending is not None:
            if process.returncode == 0 and pending.exists():
                os.replace(pending, archive)  # atomic: a concurrent reader sees no half-written archive
            elif process.returncode == 0:
                failed_marker.touch()  # this JVM cannot dump archives; stop asking it to
            with suppress(OSError):
                pending.unlink()
        return process


def find_jena(jena_jars: str | Path = "/usr/share/java", java: str = "java") -> JenaTools:
    """Locate Jena and Java and prepare the classpath (building the cached Xerces message jar once).

    Raises:
        StoreError: Java or a required Jena jar is missing; the message says what to install.
    """
    return _find_jena(str(jena_jars), java)


@functools.lru_cache(maxsize=8)
def _find_jena(jena_jars: str, java: str) -> JenaTools:
    executable = shutil.which(java)
    if executable is None:
        raise StoreError(
            f"no Java runtime found as {java!r}; install one (apt-get install default-jre-headless) or set "
            "[jena] java in kg.toml (KG_JENA_JAVA)"
        )
    folder = Path(jena_jars)
    if not folder.is_dir():
        raise StoreError(f"Apache Jena is not installed: no folder {folder}; {_INSTALL_HINT}")
    jars: list[Path] = []
    missing: list[str] = []
    for name in (*_JENA_MODULES, *_REQUIRED_DEPENDENCIES):
        jar = _find_jar(folder, name)
        if jar is None:
            missing.append(name.split("|")[0] + ".jar")
        else:
            jars.append(jar)
    if missing:
        raise StoreError(
            f"Apache Jena is not installed in {folder} (missing {', '.join(missing[:4])}"
            f"{' …' if len(missing) > 4 else ''}); {_INSTALL_HINT}"
        )
    jars += [jar for name in _OPTIONAL_DEPENDENCIES if (jar := _find_jar(folder, name)) is not None]
    for binding in _LOG_BINDINGS:
        found = [_find_jar(folder, name) for name in binding]
        if all(found):
            jars += found  # type: ignore[arg-type]
            break
    cache = _writable_cache()
    jars.append(_xerces_messages_jar(jars[_JENA_MODULES.index("jena-core")], cache))
    return JenaTools(java=executable, jars=folder, classpath=tuple(jars), cache=cache)


def _find_jar(folder: Path, names: str) -> Path | None:
    """``<name>.jar``, else the highest ``<name>-<version>.jar``, for the first of ``a|b`` alternatives."""
    for name in names.split("|"):
        exact = folder / f"{name}.jar"
        if exact.is_file():
            return exact
        versioned = sorted(folder.glob(f"{name}-[0-9]*.jar"))
        if versioned:
            return versioned[-1]
    return None


def _writable_cache() -> Path:
    for folder in (cache_dir() / "jena", Path(tempfile.gettempdir()) / f"kg-jena-{os.getuid()}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            if os.access(folder, os.W_OK):
                return folder
        except OSError:
            continue
    raise StoreError("no writable cache folder for Jena helpers; set KG_CACHE_DIR to a writable folder")


def _xerces_messages_jar(jena_core: Path, cache: Path) -> Path:
    """The jar holding Xerces' message bundles where Debian's relocated classes look for them.

    Built once per jena-core.jar (its size and mtime name the file) and reused from the cache.
    """
    stat = jena_core.stat()
    target = cache / f"xerces-messages-{stat.st_size}-{stat.st_mtime_ns}.jar"
    if target.exists():
        return target
    try:
        with zipfile.ZipFile(jena_core) as source:
            bundles = {
                # classes in package "xerces..." load bundles "xerces.impl.msg.*", ".../regex/message"
                "xerces/" + name[len(_XERCES_RELOCATED):]: source.read(name)
                for name in source.namelist()
                if name.startswith(_XERCES_RELOCATED) and name.endswith(".properties")
            }
        partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as out:
            for name, data in sorted(bundles.items()):
                out.writestr(name, data)
        os.replace(partial, target)
    except (OSError, zipfile.BadZipFile) as exc:
        raise StoreError(
            f"cannot build the Xerces message jar from {jena_core} ({exc}); check that the file is a "
            f"readable jar, or reinstall: apt-get install --reinstall libapache-jena-java"
        ) from None
    return target


class JenaStore(SparqlProtocolStore):
    """An Apache Jena TDB2 database folder (``[stores] rdf = "jena"``), run through Jena's tools.

    Args:
        path: the TDB2 database folder (created on :meth:`open`).
        base_iri: base of every kg IRI (see :mod:`kg.rdf`).
        read_only: refuse every write; the database must exist.
        jena_jars: folder holding the Jena jars and their dependencies (Debian: ``/usr/share/java``).
        java: the ``java`` executable (a name on ``PATH`` or a path).
    """

    max_update_bytes = 64 << 20  # one tdbupdate call per upsert or retract of any usual size
    values_chunk = 100_000

    def __init__(
        self,
        path: str | os.PathLike[str],
        base_iri: str | None = None,
        read_only: bool = False,
        jena_jars: str = "/usr/share/java",
        java: str = "java",
    ) -> None:
        super().__init__(base_iri, read_only=read_only)
        self.path = Path(path)
        self.jena_jars = jena_jars
        self.java = java
        self._tools: JenaTools | None = None

    def __repr__(self) -> str:
        state = ("open" if self.is_open else "closed") + (" read-only" if self.read_only else "")
        return f"<JenaStore {self.path} {state}>"

    # -- lifecycle ---------------------------------------------------------------------------------

    def _open(self) -> None:
        tools = find_jena(self.jena_jars, self.java)
        if self.read_only:
            if not _is_tdb2(self.path):
                raise StoreError(
                    f"no Jena TDB2 database at {self.path} to open read-only; build it first (kg sync)"
                )
        else:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(f"cannot create the Jena database folder {self.path}: {exc}") from None
            if any(self.path.iterdir()) and not _is_tdb2(self.path):
                raise StoreError(
                    f"{self.path} is not empty and not a Jena TDB2 database; point path at an empty folder "
                    "or an existing TDB2 database"
                )
        self._tools = tools

    def _close(self) -> None:
        self._tools = None

    # -- transport ---------------------------------------------------------------------------------

    def _select(self, text: str) -> Any:
        output = self._run_text("tdb2.tdbquery", "--query", text, "--results=json", what="query")
        try:
            return json.loads(output)
        except ValueError:
            printed = first_line(output.decode("utf-8", errors="replace"), 120)
            raise StoreError(f"Jena tdbquery printed no JSON results for {self.path} ({printed})") from None

    def _construct(self, text: str) -> bytes:
        return self._run_text("tdb2.tdbquery", "--query", text, "--results=nt", what="query")

    def _update(self, text: str) -> None:
        self._run_text("tdb2.tdbupdate", "--update", text, what="update")

    def _clear(self) -> None:
        # Deleting the database files is instant and gives the space back; DROP ALL would do neither.
        for child in self.path.iterdir():
            if child.name.startswith("Data-") or child.name == "tdb.lock":
                try:
                    if child.is_dir():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
                except OSError as exc:
                    raise StoreError(f"cannot clear the Jena database {self.path}: {exc}") from None

    def _bulk_load(self, chunks: Iterable[bytes]) -> None:
        with _scratch(".nt") as data:
            with data.open("wb") as out:
                written = sum(out.write(chunk) for chunk in chunks)
            if written:
                self._run("tdb2.tdbloader", "--loc", str(self.path), str(data), what="load", small=False)

    # -- plumbing ----------------------------------------------------------------------------------

    def _run_text(self, main: str, flag: str, text: str, *args: str, what: str) -> bytes:
        """Run a tool on SPARQL text passed in a file (UTF-8, no command-line length limit)."""
        suffix = ".ru" if what == "update" else ".rq"
        with _scratch(suffix) as file:
            file.write_text(text, encoding="utf-8")
            return self._run(main, "--loc", str(self.path), f"{flag}={file}", *args, what=what)

    def _run(self, main: str, *args: str, what: str, small: bool = True) -> bytes:
        if self._tools is None:
            raise StoreError(f"{self!r} is not open; call .open() or use it in a `with` block")
        process = self._tools.run(main, *args, small=small)
        if process.returncode == 0:
            return process.stdout
        message = _java_error(process.stderr)
        if what in ("query", "update") and _is_syntax_error(process.stderr):
            raise QueryError(f"SPARQL syntax error: {message}; fix the {what} and re-run")
        if "lock" in message.lower():
            raise StoreError(
                f"the Jena database {self.path} is in use by another process ({message}); wait for it to "
                "finish or stop it"
            )
        raise StoreError(f"Jena {main} failed on {self.path} (exit {process.returncode}): {message}")


def _is_tdb2(path: Path) -> bool:
    return path.is_dir() and (any(path.glob("Data-*")) or (path / "tdb.lock").exists())


@contextmanager
def _scratch(suffix: str) -> Iterator[Path]:
    """A temporary file path, removed afterwards."""
    handle, name = tempfile.mkstemp(prefix="kg-jena-", suffix=suffix)
    os.close(handle)
    try:
        yield Path(name)
    finally:
        with suppress(OSError):
            os.unlink(name)


_EXCEPTION_PREFIXES = (
    "org.apache.jena.query.QueryParseException: ",
    "org.apache.jena.riot.RiotException: ",
    "org.apache.jena.shared.JenaException: ",
    "Exception in thread \"main\" ",
)


def _java_error(stderr: bytes) -> str:
    """The first informative line of a Jena tool's stderr (no stack frames, no log noise)."""
    for line in stderr.decode("utf-8", errors="replace").splitlines():
        line = line.strip()
        if not line or line.startswith("at ") or line.startswith("[main] INFO") or " WARN " in line:
            continue
        for prefix in _EXCEPTION_PREFIXES:
            line = line.removeprefix(prefix)
        return first_line(line)
    return "no error message"


def _is_syntax_error(stderr: bytes) -> bool:
    text = stderr.decode("utf-8", errors="replace")
    return any(marker in text for marker in ("QueryParseException", "Encountered ", "Lexical error"))


__all__ = ["JenaStore", "JenaTools", "cache_dir", "find_jena"]
