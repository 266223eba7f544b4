"""Any SPARQL 1.1 endpoint (Fuseki, GraphDB, Virtuoso, ``oxigraph serve``, ...) as a triple store, over HTTP.

The store is the endpoint's default graph. It speaks the standard protocols, each at its own full URL
because servers name their paths differently (Fuseki ``/ds/query``, ``/ds/update``, ``/ds/data``;
Oxigraph ``/query``, ``/update``, ``/store``):

* queries: SPARQL 1.1 Protocol, ``POST query_url`` (form ``query=``), answers in SPARQL JSON results
  (SELECT/ASK) or N-Triples (CONSTRUCT/DESCRIBE);
* updates: ``POST update_url`` with an ``application/sparql-update`` body;
* bulk loads: Graph Store Protocol, ``POST data_url?default`` with N-Triples bodies of at most
  ``chunk_triples`` lines (without a ``data_url``, ``INSERT DATA`` requests to ``update_url``).

Everything above the transport (RDF mapping, upsert/retract semantics, parameter binding) is
:class:`~kg.stores.sparql_protocol.SparqlProtocolStore`. Connection settings come from kg.toml's
``[sparql]`` section or ``KG_SPARQL_<KEY>`` variables (see :class:`kg.config.SparqlSection`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pyoxigraph as ox

from kg.errors import ConfigError, QueryError, StoreError
from kg.stores.sparql_protocol import SparqlProtocolStore, first_line, rechunk_lines

if TYPE_CHECKING:
    import httpx

_RESULTS_JSON = "application/sparql-results+json"
_JSON_TYPES = frozenset({_RESULTS_JSON, "application/json"})
_NTRIPLES = "application/n-triples"


class SparqlEndpointStore(SparqlProtocolStore):
    """A SPARQL 1.1 endpoint over HTTP (``[stores] rdf = "sparql"``).

    Args:
        query_url: full URL of the SPARQL query endpoint, e.g. ``http://127.0.0.1:3030/ds/query``.
        update_url: full URL of the SPARQL update endpoint; needed for every write.
        data_url: full URL of the Graph Store Protocol endpoint (``/ds/data``, ``/store``); makes bulk
            loads fast. Without it, loads go through ``update_url`` as ``INSERT DATA``.
        user: user name for HTTP basic auth (none when empty).
        password: password for HTTP basic auth.
        timeout: seconds to wait for the server on each request.
        chunk_triples: N-Triples lines per bulk-load request.
        base_iri: base of every kg IRI (see :mod:`kg.rdf`).
        read_only: refuse every write before anything is sent.

    Raises:
        ConfigError: ``timeout`` or ``chunk_triples`` is not positive.
    """

    max_update_bytes = 4 << 20  # one request body; servers commonly accept far more
    values_chunk = 2_000  # keeps a retract or delete request well under common body limits

    def __init__(
        self,
        query_url: str,
        update_url: str = "",
        data_url: str = "",
        user: str = "",
        password: str = "",
        timeout: float = 60.0,
        chunk_triples: int = 100_000,
        base_iri: str | None = None,
        read_only: bool = False,
    ) -> None:
        super().__init__(base_iri, read_only=read_only)
        if not timeout or timeout <= 0:
            raise ConfigError(f"[sparql] timeout must be a positive number of seconds, got {timeout!r}")
        if not isinstance(chunk_triples, int) or chunk_triples <= 0:
            raise ConfigError(f"[sparql] chunk_triples must be a positive integer, got {chunk_triples!r}")
        self.query_url = query_url
        self.update_url = update_url
        self.data_url = data_url
        self.user = user
        self._password = password
        self.timeout = float(timeout)
        self.chunk_triples = chunk_triples
        self._client: httpx.Client | None = None

    def __repr__(self) -> str:
        state = ("open" if self.is_open else "closed") + (" read-only" if self.read_only else "")
        return f"<SparqlEndpointStore {self.query_url or '(no query_url)'} {state}>"

    # -- lifecycle ---------------------------------------------------------------------------------

    def _open(self) -> None:
        try:
            import httpx
        except ImportError:
            raise StoreError("the SPARQL endpoint store needs httpx; pip install 'kg[server]'") from None
        _check_url(self.query_url, "query_url", required=True)
        _check_url(self.update_url, "update_url")
        _check_url(self.data_url, "data_url")
        auth = httpx.BasicAuth(self.user, self._password) if self.user else None
        self._client = httpx.Client(
            auth=auth, timeout=httpx.Timeout(self.timeout), headers={"User-Agent": "kg"}
        )
        try:
            # One cheap request, so a wrong URL, a server that is down or a bad password fails here.
            self._select("ASK {}")
        except BaseException:
            self._close()
            raise

    def _close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.close()

    # -- transport ---------------------------------------------------------------------------------

    def _select(self, text: str) -> Any:
        response = self._post(
            self.query_url, "query_url", "query", data={"query": text}, headers={"Accept": _RESULTS_JSON}
        )
        media = _media_type(response)
        if media not in _JSON_TYPES:
            raise _not_results(self.query_url, media)
        try:
            return response.json()
        except ValueError:
            raise StoreError(
                f"{self.query_url} returned malformed JSON; check that [sparql] query_url is the SPARQL "
                "query endpoint"
            ) from None

    def _construct(self, text: str) -> bytes:
        response = self._post(
            self.query_url, "query_url", "query", data={"query": text},
            headers={"Accept": f"{_NTRIPLES}, text/turtle;q=0.5"},
        )
        media = _media_type(response)
        if media in (_NTRIPLES, "text/plain"):
            return response.content
        try:
            rdf_format = ox.RdfFormat.from_media_type(media)
        except ValueError:
            rdf_format = None
        if rdf_format is None:
            raise _not_results(self.query_url, media, "RDF")
        try:  # a server that ignores Accept: re-serialize what it sent as N-Triples
            return ox.serialize(ox.parse(response.content, format=rdf_format), format=ox.RdfFormat.N_TRIPLES)
        except (SyntaxError, ValueError) as exc:
            raise StoreError(f"{self.query_url} returned malformed {media} ({first_line(exc)})") from None

    def _update(self, text: str) -> None:
        self._post(
            self._require_url(self.update_url, "update_url"), "update_url", "update",
            content=text.encode("utf-8"),
            headers={"Content-Type": "application/sparql-update; charset=utf-8"},
        )

    def _clear(self) -> None:
        self._update("CLEAR DEFAULT")

    def _bulk_load(self, chunks: Iterable[bytes]) -> None:
        if not self.data_url:
            super()._bulk_load(chunks)
            return
        url = _default_graph_url(self.data_url)
        for piece in rechunk_lines(chunks, self.chunk_triples):
            self._post(url, "data_url", "upload", content=piece, headers={"Content-Type": _NTRIPLES})

    # -- plumbing ----------------------------------------------------------------------------------

    def _post(self, url: str, setting: str, what: str, **kwargs: Any) -> httpx.Response:
        """POST to the endpoint and turn every failure into a one-line error that says what to fix."""
        import httpx

        if self._client is None:  # only reachable from _open's own check or after close
            raise StoreError(f"{self!r} is not open; call .open() or use it in a `with` block")
        env = f"KG_SPARQL_{setting.upper()}"
        try:
            response = self._client.post(url, **kwargs)
        except httpx.TimeoutException:
            raise StoreError(
                f"the SPARQL endpoint {url} did not answer within {self.timeout:g} s; raise [sparql] "
                "timeout in kg.toml (KG_SPARQL_TIMEOUT) or check that the server is not overloaded"
            ) from None
        except httpx.HTTPError as exc:
            raise StoreError(
                f"cannot reach the SPARQL endpoint {url} ({first_line(exc, 120) or type(exc).__name__}); "
                f"start the server or fix [sparql] {setting} in kg.toml ({env})"
            ) from None
        status = response.status_code
        if status < 300:
            return response
        body = first_line(response.text) if response.content else ""
        if status == 401:
            raise StoreError(
                f"the SPARQL endpoint {url} refused the credentials (HTTP 401); set the right [sparql] "
                "user and password in kg.toml (KG_SPARQL_USER / KG_SPARQL_PASSWORD)"
            )
        if status == 403:
            raise StoreError(
                f"the SPARQL endpoint {url} refused the {what} (HTTP 403); check [sparql] user/password "
                "and that this user may run it"
            )
        if status in (400, 422) or (status == 500 and _looks_like_syntax_error(body)):
            kind = "update" if what == "update" else "query"
            raise QueryError(
                f"the SPARQL endpoint rejected the {kind}: {body or 'HTTP 400'}; fix the {kind} and re-run"
            )
        if status == 404:
            raise StoreError(
                f"nothing answers at {url} (HTTP 404); set [sparql] {setting} in kg.toml ({env}) to the "
                "full endpoint URL, e.g. http://127.0.0.1:3030/ds/query"
            )
        if 300 <= status < 400:
            raise StoreError(
                f"{url} redirects to {response.headers.get('location', '?')} (HTTP {status}); set [sparql] "
                f"{setting} in kg.toml ({env}) to the final URL"
            )
        if status in (405, 415):
            raise StoreError(
                f"{url} does not accept a SPARQL {what} (HTTP {status}); check that [sparql] {setting} "
                "is the right endpoint and that the server allows writes"
            )
        raise StoreError(
            f"the SPARQL endpoint {url} failed (HTTP {status}: {body or 'no detail'}); check its log"
        )

    @staticmethod
    def _require_url(url: str, setting: str) -> str:
        if not url:
            raise StoreError(
                f"no [sparql] {setting} is set, so this store cannot write; set it in kg.toml "
                f"(KG_SPARQL_{setting.upper()}) to the endpoint's SPARQL update URL, e.g. "
                "http://127.0.0.1:3030/ds/update"
            )
        return url


def _check_url(url: str, setting: str, *, required: bool = False) -> None:
    if not url and not required:
        return
    if not url:
        raise StoreError(
            f"no SPARQL endpoint configured; set [sparql] {setting} in kg.toml "
            f"(KG_SPARQL_{setting.upper()}), e.g. http://127.0.0.1:3030/ds/query"
        )
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise StoreError(
            f"[sparql] {setting} {url!r} is not an http(s) URL; use a full URL such as "
            "http://127.0.0.1:3030/ds/query"
        )


def _media_type(response: httpx.Response) -> str:
    return response.headers.get("content-type", "").split(";")[0].strip().lower()


def _not_results(url: str, media: str, expected: str = "SPARQL results") -> StoreError:
    return StoreError(
        f"{url} returned {media or 'no content type'}, not {expected}; check that query_url is the SPARQL "
        "query endpoint (e.g. Fuseki http://host:3030/ds/query, Oxigraph http://host:7878/query)"
    )


def _default_graph_url(data_url: str) -> str:
    """The Graph Store Protocol URL of the default graph (``?default``) unless the URL names a graph."""
    query = urlsplit(data_url).query
    if "default" in query.split("&") or "graph=" in query:
        return data_url
    return data_url + ("&" if query else "?") + "default"


def _looks_like_syntax_error(body: str) -> bool:
    # Some servers (Virtuoso, older Fuseki) answer 500 for a query they cannot parse.
    lowered = body.lower()
    return any(word in lowered for word in ("syntax", "parse error", "lexical error", "encountered"))


__all__ = ["SparqlEndpointStore"]
