"""``ogma serve``: one local server for embeddings, reranking and search (needs ``ogma-core[serve]``).

Loads the models first (a bad name fails at once, one line, exit 2), then serves with
uvicorn, one worker process. SIGTERM or Ctrl-C stops accepting connections, finishes the
accepted requests, and exits 0.

Example:
    >>> from ogma.cli import build_parser
    >>> args = build_parser().parse_args(["serve", "--port", "9000", "--max-wait-ms", "2"])
    >>> args.host, args.port, args.max_wait_ms
    ('127.0.0.1', 9000, 2.0)
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

from ogma.cli.options import UsageError, add_model_options, positive_int

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)


def _port(text: str) -> int:
    value = positive_int(maximum=65535)(text)
    return value


def _milliseconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 <= value <= 60_000.0:
        raise argparse.ArgumentTypeError(f"expected milliseconds from 0 to 60000, got {text!r}")
    return value


def _seconds(text: str) -> float | None:
    if text.strip().lower() in ("none", "0", "off"):
        return None
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0.0 < value <= 86_400.0:
        raise argparse.ArgumentTypeError(f"expected seconds from 0 to 86400 (or 'none'), got {text!r}")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``serve`` command."""
    parser = subparsers.add_parser(
        "serve",
        help="serve embeddings, reranking and search over HTTP (OpenAI, Cohere/Jina and TEI shapes)",
        description="Serve one embedding model (and optionally a cross-encoder and a read-only store) over "
        "HTTP with dynamic batching: POST /v1/embeddings (OpenAI), /v1/rerank and /v2/rerank (Cohere/Jina), "
        "/embed and /rerank (TEI), /v1/search; GET /health, /metrics, /v1/models, /info. Listens on loopback "
        "unless --host says otherwise. Needs: pip install 'ogma-core[serve]'. See docs/serve.md.",
    )
    add_model_options(
        parser,
        dim="none",
        model_help="embedding model name, hub id or folder (default: the --db store's model, else all-MiniLM-L6-v2)",
    )
    parser.add_argument("--reranker", metavar="MODEL", help="cross-encoder for /v1/rerank, /v2/rerank and /rerank")
    parser.add_argument("--db", metavar="STORE_OR_URI", help="store searched by /v1/search (opened read-only)")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1, loopback only)")
    parser.add_argument("--port", type=_port, default=8080, help="port (default 8080)")
    parser.add_argument(
        "--api-key",
        help="require 'Authorization: Bearer KEY' on every route but /health (default: $OGMA_API_KEY, else none)",
    )
    limits = parser.add_argument_group("batching and limits")
    limits.add_argument(
        "--max-batch-tokens",
        type=positive_int(maximum=1 << 24),
        default=8192,
        help="padded tokens per model call (default 8192)",
    )
    limits.add_argument(
        "--max-batch-rows", type=positive_int(maximum=1 << 16), default=64, help="texts per model call (default 64)"
    )
    limits.add_argument(
        "--max-wait-ms",
        type=_milliseconds,
        default=5.0,
        help="how long a request may wait for others to share its model call (default 5)",
    )
    limits.add_argument(
        "--max-queue",
        type=positive_int(maximum=1 << 24),
        default=16384,
        help="texts that may wait at once; more get 503 with Retry-After (default 16384)",
    )
    limits.add_argument(
        "--max-inputs",
        type=positive_int(maximum=1 << 24),
        default=2048,
        help="texts or documents per request; more get 413 (default 2048, the openai client's batch)",
    )
    limits.add_argument(
        "--max-body-mb", type=float, default=8.0, help="request body size in MiB; larger gets 413 (default 8)"
    )
    limits.add_argument(
        "--queue-timeout",
        type=_seconds,
        default=30.0,
        help="seconds a request may wait for its first model call; longer gets 503 (default 30; 'none': no limit)",
    )
    limits.add_argument(
        "--truncation",
        choices=("count", "refuse"),
        default="count",
        help="texts longer than the model's window: cut them and count them in usage and /metrics (default), or "
        "refuse the request with 400",
    )
    limits.add_argument("--no-batching", action="store_true", help="one request per model call (for measuring)")
    parser.add_argument(
        "--cors-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="allow browser calls from this origin (repeatable; default: no CORS)",
    )
    parser.set_defaults(func=run)


def settings_from_args(args: argparse.Namespace) -> Any:
    """The :class:`~ogma.server.ServeSettings` for parsed ``ogma serve`` options.

    Raises:
        UsageError: Options that do not fit together.
    """
    from ogma.server import API_KEY_ENV, ServeSettings

    if args.max_inputs > args.max_queue:
        raise UsageError(
            f"--max-inputs {args.max_inputs} is larger than --max-queue {args.max_queue}: such a request could never "
            "be queued; raise --max-queue or lower --max-inputs"
        )
    if not 0 < args.max_body_mb <= 4096:
        raise UsageError(f"--max-body-mb must be between 0 and 4096, got {args.max_body_mb}")
    if args.api_key is not None and not args.api_key.strip():
        raise UsageError("--api-key must not be empty")
    return ServeSettings(
        model=args.model,
        reranker=args.reranker,
        db=args.db,
        api_key=args.api_key or os.environ.get(API_KEY_ENV) or None,
        max_batch_tokens=args.max_batch_tokens,
        max_batch_rows=args.max_batch_rows,
        max_wait_ms=args.max_wait_ms,
        max_queue=args.max_queue,
        max_inputs=args.max_inputs,
        max_body_bytes=int(args.max_body_mb * 1024 * 1024),
        queue_timeout=args.queue_timeout,
        truncation=args.truncation,
        threads=args.threads,
        device=args.device,
        batching=not args.no_batching,
        cors_origins=tuple(args.cors_origin),
    )


def run(args: argparse.Namespace) -> int:
    """Run ``ogma serve`` until SIGTERM or Ctrl-C; returns 0 after a clean drain."""
    try:
        import uvicorn

        from ogma.server import create_app, load_models
    except ImportError as exc:
        from ogma.errors import missing_extra

        raise missing_extra(exc.name or "starlette", "serve", "ogma serve") from exc
    settings = settings_from_args(args)
    if args.host not in ("127.0.0.1", "localhost", "::1") and not settings.api_key:
        logger.warning("listening on %s without --api-key: anyone who can reach it can use it", args.host)
    encoder, reranker, store = load_models(settings)
    app = create_app(settings, encoder=encoder, reranker=reranker, store=store)
    config = uvicorn.Config(
        app,
        host=args.host,
        port=args.port,
        log_level="warning" if args.quiet else "info",
        lifespan="on",
        access_log=bool(args.verbose),
        server_header=False,
    )
    server = _Server(config, app.state.ogma)
    try:
        server.run()
    finally:
        if store is not None:
            store.close()
    return 0 if server.started or server.should_exit else 1


class _Server:
    """uvicorn's server with signal handling that drains and exits 0 (uvicorn re-raises the signal)."""

    def __init__(self, config: Any, state: Any) -> None:
        import uvicorn

        outer = self

        class Server(uvicorn.Server):
            @contextlib.contextmanager
            def capture_signals(self) -> Iterator[None]:
                yield from outer._signals(self)

        self._server = Server(config)
        self._state = state

    @property
    def started(self) -> bool:
        return bool(self._server.started)

    @property
    def should_exit(self) -> bool:
        return bool(self._server.should_exit)

    def _signals(self, server: Any) -> Iterator[None]:
        def handle(signum: int, frame: Any) -> None:
            self._state.phase = "draining"
            logger.info("signal %d: no new connections; finishing the accepted requests", signum)
            server.handle_exit(signum, frame)

        previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    def run(self) -> None:
        self._server.run()
