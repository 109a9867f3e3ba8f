"""``ogma serve``: one local HTTP server for embeddings, reranking and search (``ogma-core[serve]``).

A thin ASGI layer (Starlette, served by uvicorn) over the core: a
:class:`~ogma.batching.DynamicBatcher` in front of one :class:`~ogma.TextEncoder`, an
optional :class:`~ogma.Reranker`, an optional read-only store. It speaks the shapes
stock clients send: OpenAI embeddings, Cohere/Jina rerank, Hugging Face TEI. See
``docs/serve.md``.

Example:
    >>> from ogma.server import ServeSettings, create_app   # doctest: +SKIP
    >>> app = create_app(ServeSettings(model="all-MiniLM-L6-v2", max_wait_ms=2))  # doctest: +SKIP
    >>> # uvicorn.run(app, host="127.0.0.1", port=8080)
"""

from __future__ import annotations

from ogma.errors import missing_extra

try:
    import starlette  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised in an environment without the extra
    raise missing_extra("starlette", "serve", "ogma.server") from exc

from ogma.server.app import API_KEY_ENV, ServerState, ServeSettings, create_app, load_models

__all__ = ["API_KEY_ENV", "ServeSettings", "ServerState", "create_app", "load_models"]
