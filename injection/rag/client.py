"""A small Python client of the retrieval API (`kg serve`), on httpx.

::

    from injection.rag.client import retrieve

    result = retrieve("http://127.0.0.1:8000", "Who founded Tencent?", k=5, api_key="...")
    prompt = f"{result['context']}\\n\\nQuestion: Who founded Tencent?"

:func:`retrieve` opens a connection per call; :class:`RetrievalClient` keeps one open (and is safe to
share between threads, as httpx clients are). Errors from the server become :class:`ApiError` with the
server's message (``detail``) and status.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

import httpx

from kg.errors import KGError


class ApiError(KGError, RuntimeError):
    """The retrieval API answered with an error (the message is the server's ``detail``).

    Attributes:
        status: the HTTP status (401: missing or wrong key, 422: bad request, 404: unknown entity,
            503: the index is older than the bundle).
    """

    exit_code = 4

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"{status}: {detail}")
        self.status = status
        self.detail = detail


class RetrievalClient:
    """A connection to a `kg serve` server.

    Args:
        url: the server's base URL, e.g. ``http://127.0.0.1:8000``.
        api_key: sent as ``Authorization: Bearer``; None for a server without keys.
        timeout: seconds per request.
    """

    def __init__(self, url: str, api_key: str | None = None, timeout: float = 30.0) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection."""
        self._http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach the retrieval API at {self._http.base_url} ({exc}); is "
                              "`kg serve` running?") from None
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise ApiError(response.status_code, str(detail))
        return response.json()

    def retrieve(self, query: str, *, k: int = 8, hops: int = 2, lang: str | None = None,
                 langs: Sequence[str] = (), **options: Any) -> dict[str, Any]:
        """``POST /v1/retrieve``: facts, paths, sentences, citations and ``context`` for ``query``.

        Args:
            query: the question.
            k: facts to return.
            hops: graph expansion depth.
            lang: the query's language (detected when None).
            langs: item languages to search (default: the query's).
            options: other request fields (``mode``, ``include_inferred``, ``sentences``, ``paths``,
                ``max_context_chars``).

        Raises:
            ApiError: the server refused the request or cannot be reached.
        """
        body = {"query": query, "k": k, "hops": hops, "langs": list(langs), **options}
        if lang is not None:
            body["lang"] = lang
        return self._call("POST", "/v1/retrieve", json=body)

    def entity(self, entity_id: str, *, lang: str | None = None, limit: int = 50) -> dict[str, Any]:
        """``GET /v1/entities/{id}``: an entity and its facts (:class:`ApiError` 404 when unknown)."""
        params: dict[str, Any] = {"limit": limit}
        if lang is not None:
            params["lang"] = lang
        return self._call("GET", f"/v1/entities/{entity_id}", params=params)

    def find_entities(self, name: str, *, limit: int = 10) -> list[dict[str, Any]]:
        """``GET /v1/entities?name=``: entities by name or alias, then by prefix."""
        return self._call("GET", "/v1/entities", params={"name": name, "limit": limit})["entities"]

    def health(self) -> dict[str, Any]:
        """``GET /healthz`` (:class:`ApiError` 503 when the index is older than the bundle)."""
        return self._call("GET", "/healthz")


def retrieve(url: str, query: str, *, k: int = 8, hops: int = 2, api_key: str | None = None,
             timeout: float = 30.0, **options: Any) -> dict[str, Any]:
    """One retrieval call (see :meth:`RetrievalClient.retrieve`).

    Raises:
        ApiError: the server refused the request or cannot be reached.
    """
    with RetrievalClient(url, api_key=api_key, timeout=timeout) as client:
        return client.retrieve(query, k=k, hops=hops, **options)


__all__ = ["ApiError", "RetrievalClient", "retrieve"]
