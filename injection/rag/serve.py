"""`kg serve`: the retrieval API over HTTP (FastAPI + uvicorn).

Endpoints (OpenAPI docs at ``/docs``, the schema at ``/openapi.json``):

* ``POST /v1/retrieve``: graph-aware retrieval (:class:`~injection.rag.api.RetrieveRequest` in,
  :class:`~injection.rag.api.RetrieveResponse` out: facts, paths, sentences, citations, ``context``);
* ``GET /v1/entities/{id}``: an entity and its facts; ``GET /v1/entities?name=``: entities by name;
* ``POST /v1/chat/completions`` (with ``kg serve --chat``): an OpenAI-style answer of a local small
  model from the retrieved context, with the citations (:mod:`injection.rag.chat`);
* ``GET /healthz``: 200 when the loaded index matches the bundle on disk, 503 with what to do when
  the bundle has moved on (run ``kg index``, restart).

Everything is loaded once, before the server accepts connections: the index, the live graph, BM25
and the embedding models (whose lazy load is not thread-safe). Handlers are plain functions that run
in the server's thread pool, on read-only state, so concurrent requests are safe. An index older than
the bundle stops the start with a message to run ``kg index``.

API keys (``--api-key``, repeatable, or ``KG_API_KEYS``, comma-separated) are sent as
``Authorization: Bearer KEY`` or ``X-API-Key: KEY``; without keys the API is open (the default host is
127.0.0.1). Bodies over :data:`~injection.rag.api.MAX_BODY_BYTES`, queries over
:data:`~injection.rag.api.MAX_QUERY_CHARS` characters, ``k`` over :data:`~injection.rag.api.MAX_K`,
empty queries and malformed JSON get a 422 whose ``detail`` says what to send. SIGINT/SIGTERM stop
the server gracefully: it stops accepting, finishes the requests in flight, then exits.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import logging
import os
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Annotated, Any

import uvicorn
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Security
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from uvicorn.protocols.http.auto import AutoHTTPProtocol

from injection.rag.api import (
    LANG_PATTERN,
    MAX_BODY_BYTES,
    MAX_QUERY_CHARS,
    EntityOut,
    EntitySearch,
    ErrorOut,
    Health,
    RetrieveRequest,
    RetrieveResponse,
)
from injection.rag.chat import ChatModel, ChatRequest, answer
from injection.rag.retrieve import RetrieveOptions, Retriever
from kg.errors import InputError

API_KEYS_ENV = "KG_API_KEYS"
"""Environment variable with API keys (comma-separated), added to ``--api-key`` options."""
EXAMPLE_BODY = '{"query": "Who founded Tencent?", "k": 5}'
_DRAIN_BYTES = 32 * 1024 * 1024  # an oversized body is read this far before the 422, so the client
# sees the answer instead of a reset connection; beyond it the connection is simply closed
log = logging.getLogger("kg.serve")
# module level: handler annotations are strings (postponed evaluation) that FastAPI resolves in this
# module's namespace, so the schemes they name cannot be locals of create_app
_BEARER = HTTPBearer(auto_error=False, description="Authorization: Bearer KEY")
_API_KEY = APIKeyHeader(name="X-API-Key", auto_error=False, description="X-API-Key: KEY")


def api_keys_from(options: Sequence[str] = (), environ: dict[str, str] | None = None) -> tuple[str, ...]:
    """API keys from ``--api-key`` options and :data:`API_KEYS_ENV` (blank entries ignored)."""
    environ = os.environ if environ is None else environ
    keys = [*options, *environ.get(API_KEYS_ENV, "").split(",")]
    return tuple(dict.fromkeys(k.strip() for k in keys if k.strip()))


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets a 422 before the app sees it.

    The body is read here (chunked bodies have no Content-Length to trust) and replayed to the app.
    """

    def __init__(self, app: Any, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            more = message.get("more_body", False)
            if size <= self.max_bytes:
                chunks.append(chunk)
            elif size > _DRAIN_BYTES:
                break
        if size > self.max_bytes:
            detail = (f"the request body is {'over ' if more else ''}{size:,} bytes; the limit is "
                      f"{self.max_bytes:,} bytes (a query may have up to {MAX_QUERY_CHARS:,} characters)")
            await JSONResponse({"detail": detail, "errors": []}, status_code=422)(scope, receive, send)
            return
        body, replayed = b"".join(chunks), False

        async def replay() -> dict:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def validation_message(errors: Sequence[dict]) -> str:
    """One readable sentence for pydantic's validation errors of a request."""
    parts: list[str] = []
    for error in errors:
        loc = [str(x) for x in error.get("loc", ())]
        where, field = (loc[0] if loc else ""), ".".join(loc[1:])
        kind, message = error.get("type", ""), str(error.get("msg", ""))
        if kind == "json_invalid":
            reason = (error.get("ctx") or {}).get("error", "JSON decode error")
            position = f" at character {loc[1]}" if len(loc) > 1 else ""
            parts.append(f"the request body is not valid JSON ({reason}{position}); send a JSON object such "
                         f"as {EXAMPLE_BODY}")
        elif where == "body" and not field and kind == "missing":
            parts.append(f"the request needs a JSON body such as {EXAMPLE_BODY}")
        elif where == "body" and not field:
            parts.append(f"the request body must be a JSON object such as {EXAMPLE_BODY}")
        elif kind == "extra_forbidden":
            fields = ", ".join(RetrieveRequest.model_fields)
            parts.append(f"unknown field {field!r}; the fields are: {fields}")
        else:
            message = message.removeprefix("Value error, ")
            parts.append(f"{field or where}: {message}" if (field or where) else message)
    return "; ".join(parts) or "invalid request"


def create_app(retriever: Retriever, api_keys: Sequence[str] = (), *, chat: ChatModel | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:
    """The API over a loaded :class:`~injection.rag.retrieve.Retriever`.

    Args:
        retriever: loaded once and shared by every request (read-only).
        api_keys: accepted keys; empty: no key needed.
        chat: the model of ``POST /v1/chat/completions``; None: that endpoint answers 404.
        max_body_bytes: largest request body.
    """
    keys = tuple(api_keys)
    app = FastAPI(
        title="kg retrieval API",
        description="Graph-aware retrieval over a kg workspace: facts, paths, source sentences and a "
                    "ready context with citations for a small model. Send the key as "
                    "`Authorization: Bearer KEY` or `X-API-Key: KEY` when the server has keys.",
        version=_version(),
        responses={401: {"model": ErrorOut}, 422: {"model": ErrorOut}},
    )
    app.state.retriever = retriever
    app.add_middleware(BodyLimit, max_bytes=max_body_bytes)
    def require_key(credentials: Annotated[HTTPAuthorizationCredentials | None, Security(_BEARER)] = None,
                    api_key: Annotated[str | None, Security(_API_KEY)] = None) -> None:
        if not keys:
            return
        given = api_key or (credentials.credentials if credentials else None)
        if not given:
            raise HTTPException(401, "missing API key: send it as 'Authorization: Bearer KEY' or 'X-API-Key: KEY' "
                                     f"(the server's keys come from kg serve --api-key or {API_KEYS_ENV})",
                                headers={"WWW-Authenticate": "Bearer"})
        if not any(hmac.compare_digest(given.encode(), key.encode()) for key in keys):
            raise HTTPException(401, "invalid API key: it is not one of the keys this server was started with",
                                headers={"WWW-Authenticate": "Bearer"})

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = json.loads(json.dumps(exc.errors(), default=str))  # ctx may hold exception objects
        detail = validation_message(errors)
        content_type = request.headers.get("content-type", "")
        if any(tuple(e.get("loc", ())) == ("body",) for e in errors) and content_type \
                and "json" not in content_type:
            # FastAPI leaves a body it was not told is JSON unparsed (curl -d sends a form type)
            detail = (f"send the body as JSON with the header 'Content-Type: application/json' (this "
                      f"request said {content_type!r}), such as {EXAMPLE_BODY}")
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> JSONResponse:
        log.exception("request %s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); the server log has the "
                                       "traceback", "errors": []}, status_code=500)

    # retrieval is Python-bound: requests that share the GIL slice it between them every few ms and all
    # finish late; one at a time, in arrival order, the queue waits its turn and the tail is shorter
    one_at_a_time = threading.Lock()

    @app.post("/v1/retrieve", response_model=RetrieveResponse, dependencies=[Depends(require_key)],
              summary="Facts, paths, source sentences and a context for a question")
    def retrieve(body: RetrieveRequest) -> JSONResponse:
        options = RetrieveOptions(k=body.k, hops=body.hops, lang=body.lang, langs=tuple(body.langs),
                                  mode=body.mode, include_inferred=body.include_inferred,
                                  sentences=body.sentences, paths=body.paths,
                                  max_context_chars=body.max_context_chars)
        try:
            with one_at_a_time:
                result = retriever.retrieve(body.query, options)
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None
        stale = retriever.stale()
        if stale:
            result.warnings.append(stale)
        # built by the retriever to the documented shape: returned as is, not validated again
        return JSONResponse(result.to_dict())

    @app.get("/v1/entities/{entity_id}", response_model=EntityOut, dependencies=[Depends(require_key)],
             responses={404: {"model": ErrorOut}}, summary="An entity and its facts")
    def entity(entity_id: str,
               lang: Annotated[str | None, Query(pattern=LANG_PATTERN, description="Language of names and texts.")]
               = None,
               limit: Annotated[int, Query(ge=1, le=1000, description="Most facts returned.")] = 50) -> dict[str, Any]:
        found = retriever.entity(entity_id, lang=lang, limit=limit)
        if found is None:
            raise HTTPException(404, f"unknown entity {entity_id!r}; find entity ids with "
                                     "GET /v1/entities?name=NAME")
        return found

    @app.get("/v1/entities", response_model=EntitySearch, dependencies=[Depends(require_key)],
             summary="Entities by name or alias (either script), then by name prefix")
    def entities(name: Annotated[str, Query(min_length=1, max_length=200, description="A name or alias.")],
                 limit: Annotated[int, Query(ge=1, le=100, description="Most entities returned.")] = 10
                 ) -> dict[str, Any]:
        if not name.strip():
            raise HTTPException(422, "name: the name is empty; send the entity name to look for")
        return {"name": name, "entities": retriever.find_entities(name, limit=limit)}

    @app.post("/v1/chat/completions", dependencies=[Depends(require_key)], responses={404: {"model": ErrorOut}},
              summary="OpenAI-style chat answer from the retrieved context, with citations (kg serve --chat)")
    def chat_completions(body: ChatRequest) -> dict[str, Any]:
        if chat is None:
            raise HTTPException(404, "the chat endpoint is off; start the server with kg serve --chat")
        if body.stream:
            raise HTTPException(422, "stream: streaming is not supported; send stream=false")
        try:
            return answer(chat, retriever, body)
        except InputError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/healthz", response_model=Health, responses={503: {"model": Health}},
             summary="Whether the loaded index still matches the bundle")
    def healthz() -> Any:
        stale = retriever.stale()
        body = {"status": "stale" if stale else "ok", "detail": stale or "",
                "bundle_version": retriever.bundle_version,
                "index_generation": int(retriever.index.manifest.get("generation", 0)),
                "facts": len(retriever.graph.facts), "entities": len(retriever.graph.entities),
                "spaces": {name: list(space.langs) for name, space in retriever.index.spaces.items()}}
        return JSONResponse(body, status_code=503) if stale else body

    return app


def _version() -> str:
    from kg import __version__

    return __version__


class NoDelayHTTP(AutoHTTPProtocol):  # type: ignore[misc, valid-type]
    """uvicorn's HTTP protocol with Nagle's algorithm off on every connection.

    asyncio turns TCP_NODELAY on only for sockets that say they are TCP; the listening socket
    ``--workers`` hands to its processes does not say so, and every answer on a kept-alive connection
    then waited about 40 ms for the client's delayed ACK (a 6 ms retrieval took 50 ms).
    """

    def connection_made(self, transport: Any) -> None:
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().connection_made(transport)


class GracefulServer(uvicorn.Server):
    """uvicorn's server, ending normally after a graceful stop.

    uvicorn raises the signal it caught again once it has shut down, so that the process dies of it;
    for a command line that turns Ctrl-C into a KeyboardInterrupt traceback and SIGTERM into a death
    by signal. The stop was clean, so ``kg serve`` returns (exit code 0) instead.
    """

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        with super().capture_signals():
            try:
                yield
            finally:
                self._captured_signals.clear()  # where uvicorn < 0.55 (pinned) keeps them


def single_thread_inference() -> None:
    """One torch thread per request.

    A request embeds one short query: torch's intra-op threads gain nothing there, and on a busy
    machine they spin against the other requests' threads (a MiniLM query took 20x longer with two
    threads than with one on two loaded cores). Concurrency comes from serving requests in parallel.
    """
    try:
        import torch
    except ImportError:  # only the static and E5 models: nothing to set
        return
    torch.set_num_threads(1)


def serve(ws_path: str | Path, host: str = "127.0.0.1", port: int = 8000, api_keys: Sequence[str] = (),
          *, workers: int = 1, chat: bool = False, chat_model: str | Path | None = None,
          log_level: str = "info", progress: Callable[[str], None] | None = None) -> None:
    """Load the workspace's retrieval state and serve it until SIGINT/SIGTERM.

    Args:
        ws_path: the workspace.
        host: address to listen on.
        port: port to listen on.
        api_keys: accepted keys (empty: open).
        workers: server processes; each loads its own copy of everything (memory times ``workers``)
            and they share the port. Retrieval is Python work under one interpreter lock, so one
            process uses about one core; more processes use more cores.
        chat: serve ``POST /v1/chat/completions`` with ``chat_model``.
        chat_model: a chat ``.gguf``; None: the packaged SmolLM2-135M-Instruct.
        log_level: uvicorn's log level.
        progress: told what is being loaded.

    Raises:
        WorkspaceError: no workspace, no index, or an index older than the bundle (run ``kg index``).
        ConfigError: the chat model cannot be loaded.
    """
    from kg.workspace import Workspace

    single_thread_inference()
    ws = Workspace(ws_path).open()
    if workers > 1:
        _serve_workers(ws, host, port, api_keys, workers, chat, chat_model, log_level)
        return
    retriever = Retriever.open(ws, progress=progress)
    model = None
    if chat:
        if progress is not None:
            progress("loading the chat model")
        model = ChatModel(chat_model)
        model.load()
    app = create_app(retriever, api_keys, chat=model)
    # graceful: on a signal uvicorn stops accepting, lets requests in flight finish (up to the timeout)
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, timeout_graceful_shutdown=30,
                            server_header=False, http=NoDelayHTTP)
    GracefulServer(config).run()


_WORKER_ENV = "KG_SERVE_WORKER"  # settings handed to worker processes (they import worker_app)


def _serve_workers(ws: Any, host: str, port: int, api_keys: Sequence[str], workers: int, chat: bool,
                   chat_model: str | Path | None, log_level: str) -> None:
    """Run ``workers`` processes that each build the app with :func:`worker_app`."""
    from uvicorn.supervisors import Multiprocess

    from injection.rag.index import index_dir, read_manifest
    from injection.rag.retrieve import bundle_version_on_disk, stale_message
    from kg.errors import WorkspaceError

    # refuse here, once, with the message, rather than in every worker
    manifest = read_manifest(index_dir(ws))
    if manifest is None:
        raise WorkspaceError(f"no retrieval index in {ws.path}; run `kg index -w {ws.path}`")
    if int(manifest["bundle_version"]) != bundle_version_on_disk(ws.path):
        raise WorkspaceError(stale_message(ws.path, int(manifest["bundle_version"]),
                                           bundle_version_on_disk(ws.path)))
    os.environ[_WORKER_ENV] = json.dumps({"workspace": str(Path(ws.path).resolve()), "api_keys": list(api_keys),
                                          "chat": chat, "chat_model": str(chat_model) if chat_model else None})
    config = uvicorn.Config("injection.rag.serve:worker_app", factory=True, host=host, port=port,
                            workers=workers, log_level=log_level, timeout_graceful_shutdown=30,
                            server_header=False, http=NoDelayHTTP)
    Multiprocess(config, sockets=[config.bind_socket()]).run()


def worker_app() -> FastAPI:
    """The app of one worker process of ``kg serve --workers N`` (settings from the parent)."""
    from kg.workspace import Workspace

    settings = json.loads(os.environ[_WORKER_ENV])
    single_thread_inference()
    retriever = Retriever.open(Workspace(settings["workspace"]).open())
    model = None
    if settings["chat"]:
        model = ChatModel(settings["chat_model"])
        model.load()
    return create_app(retriever, settings["api_keys"], chat=model)


__all__ = ["API_KEYS_ENV", "BodyLimit", "GracefulServer", "NoDelayHTTP", "api_keys_from", "create_app", "serve", "single_thread_inference",
           "validation_message", "worker_app"]
