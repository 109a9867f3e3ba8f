"""``RemoteEncoder``: embed through an ``ogma serve`` server with ``TextEncoder``'s contract.

Standard library only (``urllib``). The server's ``/info`` tells the model id and
dimension, so a store built with one model refuses a server that serves another
(the store checks the model id, as it does for a local encoder).

Example:
    >>> from ogma import RemoteEncoder
    >>> encoder = RemoteEncoder("http://127.0.0.1:8080")  # no I/O yet
    >>> encoder.url
    'http://127.0.0.1:8080'
    >>> encoder.encode_queries(["where is Paris?"]).shape  # doctest: +SKIP
    (1, 384)
"""

from __future__ import annotations

import base64
import http.client
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ogma.compress import Int8Ranges, quantize
from ogma.errors import OgmaError
from ogma.model_cache import shared_model
from ogma.types import Precision, Task
from ogma.validation import check_dim, check_encode_inputs, check_texts
from ogma.windows import DEFAULT_LONG_TEXT, LONG_TEXT_MODES, LongText

__all__ = ["RemoteEncoder", "RemoteError", "shared_remote_encoder"]

logger = logging.getLogger(__name__)


FloatArray = npt.NDArray[np.float32]

_RETRY_STATUSES = frozenset({502, 503, 504})


class RemoteError(OgmaError, RuntimeError):
    """The server refused a request, or could not be reached after the retries.

    Attributes:
        status: The HTTP status (``None``: no answer).
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class RemoteEncoder:
    """Embeddings from an ``ogma serve`` server, with :class:`~ogma.TextEncoder`'s methods.

    ``encode``, ``encode_queries``, ``encode_documents``, ``embed_documents`` and
    ``embed_query`` behave as the local encoder's (same shapes, dtypes, tasks and
    Matryoshka ``dim``); the texts travel as JSON and the vectors come back as
    little-endian float32 (``encoding_format="base64"``).

    Args:
        url: The server's base URL (``http://host:port``; a trailing ``/v1`` is accepted).
        api_key: Bearer key (default: ``$OGMA_API_KEY``, else none).
        timeout: Seconds per HTTP request.
        retries: Extra attempts after a 502/503/504 or a connection error; waits follow
            the server's ``Retry-After``, else ``backoff * 2**attempt`` (at most 30 s).
        backoff: First wait, in seconds.
        batch_size: Texts per HTTP request (default: the server's ``max_client_batch_size``).

    Raises:
        ValueError: ``url`` is not an http(s) URL, or an option is out of range.

    Example:
        >>> from ogma import RemoteEncoder, Store                    # doctest: +SKIP
        >>> store = Store("notes.db", RemoteEncoder("http://127.0.0.1:8080"))  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = 120.0,
        retries: int = 5,
        backoff: float = 0.5,
        batch_size: int | None = None,
    ) -> None:
        if not _is_http_url(url):
            raise ValueError(f"url must be an http(s) URL such as 'http://127.0.0.1:8080', got {url!r}")
        for name, value in (("retries", retries),):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if batch_size is not None and (
            isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1
        ):
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        if not timeout > 0 or not backoff >= 0:
            raise ValueError(f"timeout must be > 0 and backoff >= 0, got timeout={timeout!r}, backoff={backoff!r}")
        base = url.rstrip("/")
        self.url = base[: -len("/v1")] if base.endswith("/v1") else base
        self.api_key = api_key if api_key is not None else os.environ.get("OGMA_API_KEY") or None
        self.timeout = float(timeout)
        self.retries = retries
        self.backoff = float(backoff)
        self._batch_size = batch_size
        self._info: dict[str, Any] | None = None
        self._lock = threading.Lock()

    # -- what the server serves ----------------------------------------------------------
    @property
    def info(self) -> dict[str, Any]:
        """The server's ``/info`` (fetched once)."""
        with self._lock:
            if self._info is None:
                info = self._request("GET", "/info")
                if not isinstance(info, dict) or not isinstance(info.get("model_id"), str):
                    raise RemoteError(f"{self.url}/info did not answer with a model id; is this an ogma server?")
                self._info = info
            return self._info

    @property
    def model_id(self) -> str:
        """The served model's id (what a store records and checks)."""
        return str(self.info["model_id"])

    @property
    def dim(self) -> int:
        """The served model's full dimension."""
        return int(self.info["dim"])

    @property
    def matryoshka_dims(self) -> tuple[int, ...]:
        """The served model's Matryoshka dims."""
        return tuple(int(d) for d in self.info.get("matryoshka_dims") or ())

    @property
    def task_scheme_name(self) -> str | None:
        """The served model's task scheme."""
        value = self.info.get("task_scheme")
        return value if isinstance(value, str) else None

    @property
    def max_length(self) -> int:
        """The served model's token window."""
        return int(self.info["max_input_length"])

    @property
    def max_tokens(self) -> int:
        """Tokens of document text one model input holds (:attr:`ogma.TextEncoder.max_tokens` on the server).

        Size a framework's text splitter with it so that every chunk is read whole by one vector.

        Raises:
            RemoteError: The server does not report it (not an ``ogma serve`` of this version).
        """
        value = self.info.get("max_tokens")
        if isinstance(value, bool) or not isinstance(value, int):
            raise RemoteError(f"{self.url}/info does not report max_tokens; upgrade the server to this Ogma version")
        return value

    # -- encoding -------------------------------------------------------------------------
    def encode(
        self,
        texts: Sequence[str] | str,
        *,
        task: Task = "symmetric",
        dim: int | None = None,
        precision: Precision = "float32",
        int8_ranges: Int8Ranges | Literal["unit"] = "unit",
        batch_size: int | None = None,
        show_progress: bool | None = None,
        long_text: LongText = DEFAULT_LONG_TEXT,
    ) -> npt.NDArray[Any]:
        """Embed texts on the server; rows come back in input order (see :meth:`ogma.TextEncoder.encode`).

        ``batch_size`` is texts per HTTP request (the server batches for its model);
        ``show_progress`` shows a bar over the requests (default: when stderr is a terminal).
        ``long_text`` is read on the server as :meth:`ogma.TextEncoder.encode` reads it
        locally: ``"mean"`` (default) embeds a text longer than the window in overlapping
        windows and returns their mean, ``"truncate"`` cuts it there (the texts cut are
        counted in a warning), ``"error"`` has the server refuse it (:class:`RemoteError`, 400).

        Raises:
            TypeError: ``texts`` is not a string or a list of strings.
            ValueError: Unknown task or precision, a bad ``dim``, invalid Unicode.
            RemoteError: The server refused the request or stayed unreachable.
        """
        items, single = check_encode_inputs(texts, task, precision)
        check_dim(dim, self.dim, self.matryoshka_dims)
        if long_text not in LONG_TEXT_MODES:
            raise ValueError(f"long_text must be one of {', '.join(LONG_TEXT_MODES)}; got {long_text!r}")
        truncated = 0
        size = batch_size or self._batch_size or int(self.info.get("max_client_batch_size") or 256)
        width = dim or self.dim
        out = np.zeros((len(items), width), dtype=np.float32)
        show = sys.stderr.isatty() if show_progress is None else show_progress
        for start in tqdm(
            range(0, len(items), size), desc="Encoding", unit="request", disable=not show or len(items) <= size
        ):
            chunk = items[start : start + size]
            body: dict[str, Any] = {
                "input": chunk,
                "encoding_format": "base64",
                "input_type": task,
                "long_text": long_text,
            }
            if dim is not None:
                body["dimensions"] = dim
            answer = self._request("POST", "/v1/embeddings", body)
            usage = answer.get("usage") if isinstance(answer, dict) else None
            truncated += int(usage.get("truncated_inputs") or 0) if isinstance(usage, dict) else 0
            rows = answer.get("data") if isinstance(answer, dict) else None
            if not isinstance(rows, list) or len(rows) != len(chunk):
                raise RemoteError(f"{self.url} answered {len(rows or [])} embeddings for {len(chunk)} texts")
            for row in rows:
                vector = np.frombuffer(base64.b64decode(row["embedding"]), dtype="<f4")
                out[start + int(row["index"])] = vector
        if truncated:
            logger.warning(
                "%d of %d texts were longer than the window of the model at %s and were cut there "
                "(long_text='truncate'); long_text='mean' reads them whole, long_text='error' refuses them",
                truncated,
                len(items),
                self.url,
            )
        result = quantize(out, precision, ranges=int8_ranges) if precision != "float32" else out
        return result[0] if single else result

    def encode_queries(self, texts: Sequence[str], **kwargs: Any) -> npt.NDArray[Any]:
        """Embed search queries (``task="query"``)."""
        return self.encode(texts, task="query", **kwargs)

    def encode_documents(self, texts: Sequence[str], **kwargs: Any) -> npt.NDArray[Any]:
        """Embed documents (``task="document"``)."""
        return self.encode(texts, task="document", **kwargs)

    def embed_documents(self, texts: list[str]) -> FloatArray:
        """The embedder protocol: float32 document embeddings."""
        return self.encode(check_texts(texts), task="document")

    def embed_query(self, text: str) -> FloatArray:
        """The embedder protocol: one float32 query embedding."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self.encode([text], task="query")[0]

    def __repr__(self) -> str:
        return f"RemoteEncoder(url={self.url!r})"

    # -- HTTP ------------------------------------------------------------------------------
    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        attempt = 0
        while True:
            wait = min(30.0, self.backoff * (2**attempt))
            try:
                request = urllib.request.Request(self.url + path, data=data, headers=headers, method=method)
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read())
            except urllib.error.HTTPError as exc:
                message = _error_message(exc)
                if exc.code not in _RETRY_STATUSES or attempt >= self.retries:
                    raise RemoteError(f"{self.url}{path}: HTTP {exc.code}: {message}", status=exc.code) from None
                retry_after = exc.headers.get("Retry-After") if exc.headers else None
                if retry_after and retry_after.strip().isdigit():
                    wait = min(30.0, float(retry_after))
                logger.info("%s%s answered %d (%s); retrying in %.1f s", self.url, path, exc.code, message, wait)
            except (urllib.error.URLError, ConnectionError, http.client.HTTPException, TimeoutError) as exc:
                if attempt >= self.retries:
                    raise RemoteError(
                        f"cannot reach {self.url}{path} after {attempt + 1} attempts: {exc}. Is 'ogma serve' running?"
                    ) from exc
                logger.info("cannot reach %s%s (%s); retrying in %.1f s", self.url, path, exc, wait)
            attempt += 1
            time.sleep(wait)


def shared_remote_encoder(url: str, api_key: str | None = None) -> RemoteEncoder:
    """The one :class:`RemoteEncoder` per URL and key that the framework adapters share (``/info`` is read once).

    Example:
        >>> shared_remote_encoder("http://127.0.0.1:8080") is shared_remote_encoder("http://127.0.0.1:8080")
        True
    """
    return shared_model(RemoteEncoder, key=(url, api_key), url=url, api_key=api_key)


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read())
    except (ValueError, OSError):
        return exc.reason if isinstance(exc.reason, str) else str(exc.reason)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])
    return str(body)[:500]


def _is_http_url(url: object) -> bool:
    """Whether ``url`` is an ``http(s)://host...`` string (a malformed host such as ``http://[x`` is not)."""
    if not isinstance(url, str):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a port out of range or not a number
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.netloc)
