"""The ASGI app: routes in the OpenAI, Cohere/Jina and TEI shapes over one shared model.

Everything here is translation: parse a body (:mod:`ogma.server.schemas`), hand the work
to the core (:class:`~ogma.batching.DynamicBatcher`, :class:`~ogma.Reranker`, a store's
``search``), shape the answer. Limits, authentication, errors and metrics are applied
once, by :func:`_endpoint`, to every route.

Example:
    >>> from ogma.server import ServeSettings, create_app
    >>> app = create_app(ServeSettings(model="all-MiniLM-L6-v2"))  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import math
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ogma.batching import (
    BatcherClosedError,
    DynamicBatcher,
    InputTooLongError,
    QueueFullError,
    QueueTimeoutError,
    Truncation,
)
from ogma.errors import FilterError, OgmaError
from ogma.server.metrics import CONTENT_TYPE, Metrics
from ogma.server.schemas import (
    RequestError,
    parse_embeddings,
    parse_rerank,
    parse_search,
    parse_tei_embed,
    parse_tei_rerank,
)
from ogma.windows import LongText

__all__ = ["API_KEY_ENV", "ServeSettings", "ServerState", "create_app"]

logger = logging.getLogger(__name__)

API_KEY_ENV = "OGMA_API_KEY"
"""Environment variable read for the API key when none is given."""

MAX_WAITING_CALLS = 64
"""Rerank and search requests that may wait for the model at once; more get 503."""


@dataclass(frozen=True)
class ServeSettings:
    """What ``ogma serve`` was asked for; every field has a safe default.

    Attributes:
        model: Embedding model (name, hub id or folder); ``None``: the store's model when
            ``db`` is given, else Ogma's default model.
        reranker: Cross-encoder for the rerank routes (``None``: those routes answer 404).
        db: Store path or URI searched by ``/v1/search`` (opened read-only).
        api_key: Bearer key every route but ``/health`` requires (``None``: open).
        max_batch_tokens: Padded tokens per model call.
        max_batch_rows: Texts per model call.
        max_wait_ms: How long a request waits for others to share its model call.
        max_queue: Texts that may wait at once (more: 503).
        max_inputs: Texts (or rerank documents) per request (more: 413).
        max_body_bytes: Request body size (more: 413).
        queue_timeout: Seconds a request may wait for its first model call (more: 503).
        truncation: ``"count"``: cut texts longer than the window and count them in
            ``usage``; ``"refuse"``: answer 400.
        threads: Inference threads per model (``None``: all cores).
        device: ``"cpu"`` or ``"cuda"``.
        batching: ``False`` runs one request per model call (for measuring).
        cors_origins: Origins allowed by CORS (empty: no CORS headers).

    Example:
        >>> ServeSettings(max_inputs=10).max_inputs
        10
    """

    model: str | None = None
    reranker: str | None = None
    db: str | None = None
    api_key: str | None = None
    max_batch_tokens: int = 8192
    max_batch_rows: int = 64
    max_wait_ms: float = 5.0
    max_queue: int = 16384
    max_inputs: int = 2048
    max_body_bytes: int = 8 * 1024 * 1024
    queue_timeout: float | None = 30.0
    truncation: Truncation = "count"
    threads: int | None = None
    device: Literal["cpu", "cuda"] = "cpu"
    batching: bool = True
    cors_origins: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("max_batch_tokens", "max_batch_rows", "max_queue", "max_inputs", "max_body_bytes"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.max_inputs > self.max_queue:
            raise ValueError(
                f"max_inputs ({self.max_inputs}) must not exceed max_queue ({self.max_queue}): such a request "
                "could never be queued"
            )
        if self.truncation not in ("count", "refuse"):
            raise ValueError(f"truncation must be 'count' or 'refuse', got {self.truncation!r}")


@dataclass
class ServerState:
    """The loaded models and the server's phase (``starting``, ``ready``, ``failed``, ``draining``)."""

    settings: ServeSettings
    metrics: Metrics = field(default_factory=Metrics)
    phase: str = "starting"
    error: str | None = None
    encoder: Any = None
    batcher: DynamicBatcher | None = None
    reranker: Any = None
    store: Any = None
    model_lock: threading.Lock = field(default_factory=threading.Lock)
    waiting_calls: int = 0

    def attach(self, encoder: Any, reranker: Any = None, store: Any = None) -> None:
        """Start serving these objects (builds the batcher around ``encoder``)."""
        s = self.settings
        self.encoder = encoder
        self.batcher = DynamicBatcher(
            encoder,
            max_batch_tokens=s.max_batch_tokens,
            max_batch_rows=s.max_batch_rows,
            max_wait_ms=s.max_wait_ms,
            max_queue=s.max_queue,
            queue_timeout=s.queue_timeout,
            merge=s.batching,
            truncation=s.truncation,
            on_batch=self.metrics.observe_batch,
        )
        self.reranker = reranker
        self.store = store
        self.phase = "ready"


def load_models(settings: ServeSettings) -> tuple[Any, Any, Any]:
    """Load the encoder, the reranker and the read-only store the settings name.

    Returns:
        ``(encoder, reranker or None, store or None)``.

    Raises:
        OgmaError: A model or store cannot be loaded (the message names it).
    """
    from ogma.encoder import TextEncoder

    model = settings.model
    stored_model = None
    options: dict[str, Any] = {}
    if settings.db is not None:
        from ogma.store.uri import open_store, parse_store_uri

        options = {"read_only": True} if parse_store_uri(settings.db).backend == "sqlite" else {}
        with open_store(settings.db, None, **options) as probe:
            config = getattr(probe, "config", None)
            stored_model = getattr(config, "model_id", None)
        model = model or stored_model
    encoder = (
        TextEncoder(model, threads=settings.threads, device=settings.device, show_progress=False)
        if model
        else (TextEncoder(threads=settings.threads, device=settings.device, show_progress=False))
    )
    reranker = None
    if settings.reranker is not None:
        from ogma.rerank import Reranker

        reranker = Reranker(settings.reranker, threads=settings.threads, device=settings.device)
    store = None
    if settings.db is not None:
        from ogma.store.uri import open_store

        store = open_store(settings.db, encoder if stored_model else None, **options)
    return encoder, reranker, store


def create_app(
    settings: ServeSettings | None = None,
    *,
    encoder: Any = None,
    reranker: Any = None,
    store: Any = None,
) -> Starlette:
    """Build the ASGI app (the factory behind ``ogma serve``; mount it or serve it yourself).

    With ``encoder`` given, the app serves it at once; otherwise the models the settings
    name load on a background thread at startup, and ``/health`` answers 503 until they
    are ready.

    Args:
        settings: Limits and models (default: :class:`ServeSettings` defaults; the API key
            falls back to the ``OGMA_API_KEY`` environment variable).
        encoder: A loaded :class:`~ogma.TextEncoder` to serve.
        reranker: A loaded :class:`~ogma.Reranker` for the rerank routes.
        store: An open store for ``/v1/search`` (search through the served model).

    Example:
        >>> # uvicorn --factory ogma.server:create_app --port 8080
        >>> app = create_app(encoder=TextEncoder())  # doctest: +SKIP
    """
    import os

    settings = settings or ServeSettings()
    if settings.api_key is None and os.environ.get(API_KEY_ENV):
        from dataclasses import replace

        settings = replace(settings, api_key=os.environ[API_KEY_ENV])
    state = ServerState(settings)
    if encoder is not None:
        state.attach(encoder, reranker, store)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loader: threading.Thread | None = None
        if state.phase == "starting":
            loader = threading.Thread(target=_load_in_background, args=(state,), name="ogma-load", daemon=True)
            loader.start()
        try:
            yield
        finally:
            state.phase = "draining"
            if state.batcher is not None:
                await asyncio.to_thread(state.batcher.close, drain=True)
            if state.store is not None and encoder is None:
                state.store.close()

    routes = [
        Route("/health", _endpoint(state, "/health", _health, auth=False, ready=False), methods=["GET"]),
        Route("/metrics", _endpoint(state, "/metrics", _metrics, ready=False), methods=["GET"]),
        Route("/v1/models", _endpoint(state, "/v1/models", _models), methods=["GET"]),
        Route("/models", _endpoint(state, "/v1/models", _models), methods=["GET"]),
        Route("/info", _endpoint(state, "/info", _info), methods=["GET"]),
        Route("/v1/embeddings", _endpoint(state, "/v1/embeddings", _embeddings), methods=["POST"]),
        Route("/embeddings", _endpoint(state, "/v1/embeddings", _embeddings), methods=["POST"]),
        Route("/embed", _endpoint(state, "/embed", _tei_embed), methods=["POST"]),
        Route("/v1/rerank", _endpoint(state, "/v1/rerank", _rerank), methods=["POST"]),
        Route("/v2/rerank", _endpoint(state, "/v1/rerank", _rerank), methods=["POST"]),
        Route("/rerank", _endpoint(state, "/rerank", _tei_rerank), methods=["POST"]),
        Route("/v1/search", _endpoint(state, "/v1/search", _search), methods=["POST"]),
    ]
    middleware: list[Middleware] = []
    if settings.cors_origins:
        from starlette.middleware.cors import CORSMiddleware

        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["authorization", "content-type"],
            )
        )
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.ogma = state
    return app


def _load_in_background(state: ServerState) -> None:
    try:
        encoder, reranker, store = load_models(state.settings)
    except Exception as exc:  # reported by /health and the log; the server stays up to say so
        state.phase, state.error = "failed", f"{type(exc).__name__}: {exc}"
        logger.error("loading the models failed: %s", state.error)
        return
    if state.phase == "starting":
        state.attach(encoder, reranker, store)
        logger.info("ready: serving %s", encoder.model_id)


# -- the one wrapper every route goes through ------------------------------------------------

Handler = Callable[[ServerState, Request], Awaitable[Response]]


def error_response(status: int, message: str, *, param: str | None = None, code: str | None = None) -> JSONResponse:
    """OpenAI's error body plus ``detail`` (what TEI-style and FastAPI-style clients read).

    Example:
        >>> error_response(400, "bad", param="input").status_code
        400
    """
    kind = "invalid_request_error" if status < 500 else ("overloaded_error" if status == 503 else "server_error")
    if status == 401:
        kind = "authentication_error"
    body = {"error": {"message": message, "type": kind, "param": param, "code": code}, "detail": message}
    return JSONResponse(body, status_code=status)


def _unavailable(message: str, retry_after: int, code: str) -> JSONResponse:
    response = error_response(503, message, code=code)
    response.headers["Retry-After"] = str(max(1, retry_after))
    return response


def _authorized(state: ServerState, request: Request) -> bool:
    key = state.settings.api_key
    if not key:
        return True
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    given = token.strip() if scheme.lower() == "bearer" else ""
    return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), key.encode("utf-8"))


def _endpoint(state: ServerState, name: str, handler: Handler, *, auth: bool = True, ready: bool = True) -> Any:
    async def endpoint(request: Request) -> Response:
        started = time.perf_counter()
        state.metrics.request_started()
        response = await _answer(state, request, handler, auth=auth, ready=ready)
        state.metrics.observe_request(name, response.status_code, time.perf_counter() - started)
        return response

    return endpoint


async def _answer(state: ServerState, request: Request, handler: Handler, *, auth: bool, ready: bool) -> Response:
    if auth and not _authorized(state, request):
        response = error_response(
            401, "missing or wrong API key: send 'Authorization: Bearer KEY'", code="invalid_api_key"
        )
        response.headers["WWW-Authenticate"] = "Bearer"
        return response
    if ready and state.phase != "ready":
        if state.phase == "failed":
            return error_response(500, f"the models failed to load: {state.error}", code="load_failed")
        return _unavailable(f"the server is {state.phase}; retry shortly", 1, state.phase)
    try:
        return await handler(state, request)
    except RequestError as exc:
        return error_response(exc.status, str(exc), param=exc.param, code=exc.code)
    except QueueFullError as exc:
        return _unavailable(str(exc), exc.retry_after, "queue_full")
    except QueueTimeoutError as exc:
        return _unavailable(str(exc), exc.retry_after, "queue_timeout")
    except BatcherClosedError as exc:
        return _unavailable(str(exc), 1, "draining")
    except InputTooLongError as exc:
        return error_response(400, str(exc), param=f"input[{exc.index}]", code="input_too_long")
    except (FilterError, ValueError, TypeError) as exc:
        return error_response(400, str(exc), code="invalid_value")
    except ClientGone:
        return Response(status_code=499)
    except OgmaError as exc:
        logger.error("request failed: %s", exc)
        return error_response(500, str(exc), code="internal_error")
    except Exception:
        logger.exception("unexpected error answering %s", request.url.path)
        return error_response(500, "internal error; see the server log", code="internal_error")


class ClientGone(Exception):
    """The client disconnected before its answer was ready."""


async def _body(state: ServerState, request: Request) -> Any:
    """The JSON body, refusing oversized (413) and malformed (400) ones without holding more than the limit."""
    limit = state.settings.max_body_bytes
    declared = request.headers.get("content-length")
    too_big = RequestError(
        f"the request body is larger than this server's limit of {limit} bytes (--max-body-mb): split the request",
        status=413,
        code="body_too_large",
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_big
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_big
        chunks.append(chunk)
    try:
        return json.loads(b"".join(chunks))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise RequestError(f"the request body is not valid JSON: {exc}", code="invalid_json") from None
    except RecursionError:
        raise RequestError("the request body nests too deeply", code="invalid_json") from None


async def _until_disconnect(request: Request) -> None:
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return


async def _unless_gone(request: Request, work: Coroutine[Any, Any, Any]) -> Any:
    """Run ``work``; if the client disconnects first, cancel it (its queued rows are dropped)."""
    task = asyncio.ensure_future(work)
    watcher = asyncio.ensure_future(_until_disconnect(request))
    try:
        done, _ = await asyncio.wait({task, watcher}, return_when=asyncio.FIRST_COMPLETED)
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        watcher.cancel()
    if task not in done:
        task.cancel()
        raise ClientGone
    return task.result()


async def _in_model_thread(state: ServerState, call: Callable[[], Any]) -> Any:
    """Run a reranker or store call on a worker thread, one at a time, refusing a long line."""
    if state.waiting_calls >= MAX_WAITING_CALLS:
        raise QueueFullError(f"{state.waiting_calls} rerank/search requests are waiting; retry later", retry_after=1)
    state.waiting_calls += 1
    try:

        def locked() -> Any:
            with state.model_lock:
                return call()

        return await asyncio.to_thread(locked)
    finally:
        state.waiting_calls -= 1


# -- routes -------------------------------------------------------------------------------------


async def _health(state: ServerState, request: Request) -> Response:
    body = {"status": "ok" if state.phase == "ready" else state.phase}
    if state.error:
        body["error"] = state.error
    return JSONResponse(body, status_code=200 if state.phase == "ready" else 503)


async def _metrics(state: ServerState, request: Request) -> Response:
    depth = state.batcher.queue_depth if state.batcher is not None else 0
    return Response(state.metrics.render(queue_depth=depth), media_type=CONTENT_TYPE)


async def _models(state: ServerState, request: Request) -> Response:
    data = [{"id": state.encoder.model_id, "object": "model", "created": 0, "owned_by": "ogma"}]
    if state.reranker is not None:
        data.append({"id": _reranker_id(state), "object": "model", "created": 0, "owned_by": "ogma"})
    return JSONResponse({"object": "list", "data": data})


def _reranker_id(state: ServerState) -> str:
    return str(getattr(state.reranker, "model_id", None) or getattr(state.reranker, "name", None) or "reranker")


async def _info(state: ServerState, request: Request) -> Response:
    from ogma.cli import ogma_version

    s = state.settings
    encoder = state.encoder
    return JSONResponse(
        {
            "model_id": encoder.model_id,
            "model_sha": None,
            "model_dtype": "float32",
            "model_type": {"embedding": {"pooling": str(encoder.spec.pooling)}},
            "dim": encoder.dim,
            "matryoshka_dims": list(encoder.matryoshka_dims),
            "task_scheme": encoder.task_scheme_name,
            "max_concurrent_requests": s.max_queue,
            "max_input_length": encoder.max_length,
            "max_tokens": encoder.max_tokens,
            "max_batch_tokens": s.max_batch_tokens,
            "max_batch_requests": s.max_batch_rows,
            "max_client_batch_size": s.max_inputs,
            "auto_truncate": s.truncation == "count",
            "tokenization_workers": 1,
            "version": ogma_version(),
            "reranker": _reranker_id(state) if state.reranker is not None else None,
        }
    )


async def _embed(
    state: ServerState,
    request: Request,
    texts: list[str],
    task: Any,
    dim: int | None,
    truncate: bool | None,
    long_text: LongText | None = None,
) -> Any:
    batcher = state.batcher
    if batcher is None:  # pragma: no cover - ready implies a batcher
        raise BatcherClosedError("no model is loaded")
    mode: Truncation | None = None if truncate is None else ("count" if truncate else "refuse")
    call = batcher.encode_async(texts, task=task, dim=dim, truncation=mode, long_text=long_text)
    result = await _unless_gone(request, call)
    state.metrics.observe_inputs(len(texts), result.tokens, result.truncated)
    return result


async def _embeddings(state: ServerState, request: Request) -> Response:
    body = await _body(state, request)
    req = parse_embeddings(body, max_inputs=state.settings.max_inputs, dim=state.encoder.dim)
    result = await _embed(state, request, req.texts, req.task, req.dimensions, req.truncate, req.long_text)
    vectors = result.vectors
    if req.base64:
        rows: list[Any] = [base64.b64encode(row.astype("<f4").tobytes()).decode("ascii") for row in vectors]
    else:
        rows = vectors.tolist()
    data = [{"object": "embedding", "index": i, "embedding": row} for i, row in enumerate(rows)]
    usage = {"prompt_tokens": result.tokens, "total_tokens": result.tokens, "truncated_inputs": result.truncated}
    return JSONResponse({"object": "list", "data": data, "model": state.encoder.model_id, "usage": usage})


async def _tei_embed(state: ServerState, request: Request) -> Response:
    body = await _body(state, request)
    req = parse_tei_embed(body, max_inputs=state.settings.max_inputs, dim=state.encoder.dim)
    result = await _embed(state, request, req.texts, req.task, req.dimensions, req.truncate)
    response = JSONResponse(result.vectors.tolist())
    response.headers["x-prompt-tokens"] = str(result.tokens)
    response.headers["x-truncated-inputs"] = str(result.truncated)
    return response


def _scored(state: ServerState, query: str, documents: list[str]) -> tuple[np.ndarray, np.ndarray]:
    reranker = state.reranker
    raw = reranker.score(query, documents)
    return raw, reranker.normalize_scores(raw)


async def _rerank_scores(state: ServerState, request: Request, query: str, documents: list[str]) -> tuple[Any, Any]:
    if state.reranker is None:
        raise RequestError(
            "this server has no reranker: start it with --reranker MODEL", status=404, code="no_reranker"
        )
    return await _in_model_thread(state, lambda: _scored(state, query, documents))


def _order(scores: Any) -> list[int]:
    return sorted(range(len(scores)), key=lambda i: (-float(scores[i]), i))


async def _rerank(state: ServerState, request: Request) -> Response:
    body = await _body(state, request)
    req = parse_rerank(body, max_inputs=state.settings.max_inputs)
    raw, norm = await _rerank_scores(state, request, req.query, req.documents)
    order = _order(raw)[: req.top_n] if req.top_n is not None else _order(raw)
    results = []
    for i in order:
        item: dict[str, Any] = {"index": i, "relevance_score": float(norm[i])}
        if req.return_documents:
            item["document"] = {"text": req.documents[i]}
        results.append(item)
    return JSONResponse(
        {
            "id": str(uuid.uuid4()),
            "model": _reranker_id(state),
            "results": results,
            "meta": {"api_version": {"version": "2"}, "billed_units": {"search_units": 1}},
            "usage": {"total_tokens": 0},
        }
    )


async def _tei_rerank(state: ServerState, request: Request) -> Response:
    body = await _body(state, request)
    req = parse_tei_rerank(body, max_inputs=state.settings.max_inputs)
    raw, norm = await _rerank_scores(state, request, req.query, req.documents)
    scores = raw if req.raw_scores else norm
    out = []
    for i in _order(raw):
        item: dict[str, Any] = {"index": i, "score": float(scores[i])}
        if req.return_documents:
            item["text"] = req.documents[i]
        out.append(item)
    return JSONResponse(out)


async def _search(state: ServerState, request: Request) -> Response:
    if state.store is None:
        raise RequestError("this server has no store: start it with --db STORE", status=404, code="no_store")
    body = await _body(state, request)
    req = parse_search(body)
    if req.rerank and state.reranker is None:
        raise RequestError("'rerank': true needs a server started with --reranker MODEL", param="rerank")
    store = state.store

    def run() -> Any:
        return store.search(
            req.query,
            k=req.k,
            mode=req.mode,
            filter=req.filter,
            rerank=state.reranker if req.rerank else None,
            rerank_k=req.rerank_k if req.rerank else None,
        )

    # The store embeds the query through the batcher (it may wait for a batch): not under the model lock.
    if state.waiting_calls >= MAX_WAITING_CALLS:
        raise QueueFullError(f"{state.waiting_calls} rerank/search requests are waiting; retry later", retry_after=1)
    state.waiting_calls += 1
    try:
        hits = await asyncio.to_thread(run)
    finally:
        state.waiting_calls -= 1
    return JSONResponse(
        {
            "object": "list",
            "model": state.encoder.model_id,
            "hits": [
                {
                    "id": h.id,
                    "text": h.text,
                    "metadata": h.metadata,
                    "score": _finite(h.score),
                    "scores": {k: _finite(v) for k, v in h.scores.items()},
                }
                for h in hits
            ],
        }
    )


def _finite(value: float) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
