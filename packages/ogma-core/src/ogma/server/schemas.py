"""Request bodies of every route, checked into plain values; every mistake is a :class:`RequestError`.

Pure functions (no HTTP objects), so each rule has a direct test. The shapes follow the
clients' own schemas: OpenAI embeddings, Cohere/Jina rerank, Hugging Face TEI
(``/embed``, ``/rerank``), and Ogma's ``/v1/search``.

Example:
    >>> parse_embeddings({"input": "hi", "model": "x", "input_type": "search_query"}).task
    'query'
    >>> parse_embeddings({"input": [1, 2, 3]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ogma.server.schemas.RequestError: 'input' holds token ids, not text. ...check_embedding_ctx_length=False
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from ogma.errors import OgmaError
from ogma.types import SEARCH_MODES, Task
from ogma.windows import LONG_TEXT_MODES, LongText

__all__ = [
    "INPUT_TYPES",
    "EmbeddingsRequest",
    "RequestError",
    "RerankRequest",
    "SearchRequest",
    "parse_embeddings",
    "parse_rerank",
    "parse_search",
    "parse_tei_embed",
    "parse_tei_rerank",
]

INPUT_TYPES: dict[str, Task] = {
    "query": "query",
    "search_query": "query",  # Cohere
    "retrieval.query": "query",  # Jina
    "document": "document",
    "passage": "document",
    "search_document": "document",  # Cohere
    "retrieval.passage": "document",  # Jina
    "symmetric": "symmetric",
    "classification": "symmetric",
    "clustering": "symmetric",
    "text-matching": "symmetric",  # Jina
    "separation": "symmetric",  # Jina
}
"""``input_type`` (or Jina's ``task``) spellings and the task each means."""

TOKEN_IDS_MESSAGE = (
    "'input' holds token ids, not text. Ogma serves its own model, whose vocabulary is not OpenAI's, so "
    "tiktoken ids cannot be embedded faithfully: send the texts as strings. LangChain's OpenAIEmbeddings sends "
    "token ids by default; construct it with check_embedding_ctx_length=False"
)


class RequestError(OgmaError, ValueError):
    """A request the server refuses, with its HTTP status and OpenAI's error fields.

    Attributes:
        status: HTTP status (400, 413, ...).
        param: The offending field (``None``: the whole body).
        code: A short machine-readable code.
    """

    def __init__(self, message: str, *, param: str | None = None, status: int = 400, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.param = param
        self.code = code or ("invalid_value" if status == 400 else None)


@dataclass(frozen=True)
class EmbeddingsRequest:
    """A checked embeddings request."""

    texts: list[str]
    single: bool
    task: Task
    dimensions: int | None
    base64: bool
    model: str | None
    truncate: bool | None = None
    long_text: LongText | None = None


@dataclass(frozen=True)
class RerankRequest:
    """A checked rerank request."""

    query: str
    documents: list[str]
    top_n: int | None
    return_documents: bool
    model: str | None = None
    raw_scores: bool = False


@dataclass(frozen=True)
class SearchRequest:
    """A checked search request."""

    query: str
    k: int
    mode: str
    filter: dict[str, Any] | None
    rerank: bool
    rerank_k: int | None


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object, got {_kind(body)}")
    return body


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return names.get(type(value), type(value).__name__)


def _texts(value: Any, param: str, *, allow_token_ids: bool = False, max_inputs: int) -> tuple[list[str], bool]:
    """A string or a non-empty list of strings; token-id arrays get the LangChain hint."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(f"'{param}' is not valid Unicode (it holds a lone surrogate)", param=param) from None
        return [value], True
    if not isinstance(value, list):
        raise RequestError(f"'{param}' must be a string or an array of strings, got {_kind(value)}", param=param)
    if not value:
        raise RequestError(f"'{param}' must not be an empty array", param=param)
    _check_count(value, param, max_inputs)
    if not allow_token_ids and _token_ids(value):
        raise RequestError(TOKEN_IDS_MESSAGE, param=param, code="token_ids_not_supported")
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise RequestError(f"'{param}[{index}]' must be a string, got {_kind(item)}", param=f"{param}[{index}]")
        try:
            item.encode("utf-8")
        except UnicodeEncodeError:
            raise RequestError(
                f"'{param}[{index}]' is not valid Unicode (it holds a lone surrogate)", param=f"{param}[{index}]"
            ) from None
    return list(value), False


def _check_count(value: list[Any], param: str, max_inputs: int) -> None:
    if len(value) > max_inputs:
        raise RequestError(
            f"'{param}' holds {len(value)} items; this server takes at most {max_inputs} per request "
            "(--max-inputs): split the request",
            param=param,
            status=413,
            code="too_many_inputs",
        )


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _token_ids(value: list[Any]) -> bool:
    """An array of token ids, or an array of such arrays (what tiktoken-based clients send)."""
    if all(_is_int(item) for item in value):
        return True
    return all(isinstance(item, list) and item and all(_is_int(i) for i in item) for item in value)


def _optional_int(body: dict[str, Any], name: str, *, minimum: int, maximum: int | None = None) -> int | None:
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum or (maximum and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum else f"at least {minimum}"
        raise RequestError(f"'{name}' must be an integer {bound}, got {value!r}", param=name)
    return value


def _optional_bool(body: dict[str, Any], name: str, default: bool | None) -> bool | None:
    value = body.get(name)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise RequestError(f"'{name}' must be true or false, got {value!r}", param=name)
    return value


def _optional_str(body: dict[str, Any], name: str) -> str | None:
    value = body.get(name)
    if value is not None and not isinstance(value, str):
        raise RequestError(f"'{name}' must be a string, got {_kind(value)}", param=name)
    return value


def _task(body: dict[str, Any]) -> Task:
    for name in ("input_type", "task"):
        value = body.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or value.lower() not in INPUT_TYPES:
            raise RequestError(
                f"'{name}' must be one of {', '.join(INPUT_TYPES)}, got {value!r}",
                param=name,
                code="invalid_input_type",
            )
        return INPUT_TYPES[value.lower()]
    return "symmetric"


def parse_embeddings(body: Any, *, max_inputs: int = 2048, dim: int | None = None) -> EmbeddingsRequest:
    """``POST /v1/embeddings`` (OpenAI's schema; extensions: ``input_type``, TEI's ``truncate``, and ``long_text``).

    Raises:
        RequestError: A missing or malformed field (400), or too many inputs (413).
    """
    data = _object(body)
    if "input" not in data:
        raise RequestError("'input' is required: a string or an array of strings", param="input")
    texts, single = _texts(data["input"], "input", max_inputs=max_inputs)
    fmt = data.get("encoding_format") or "float"
    if fmt not in ("float", "base64"):
        raise RequestError(f"'encoding_format' must be 'float' or 'base64', got {fmt!r}", param="encoding_format")
    dimensions = _optional_int(data, "dimensions", minimum=1, maximum=dim)
    return EmbeddingsRequest(
        texts=texts,
        single=single,
        task=_task(data),
        dimensions=dimensions,
        base64=fmt == "base64",
        model=_optional_str(data, "model"),
        truncate=_optional_bool(data, "truncate", None),
        long_text=_long_text(data),
    )


def _long_text(data: dict[str, Any]) -> LongText | None:
    """The ``long_text`` extension: how a text longer than the window is read (``None``: the server's option)."""
    value = data.get("long_text")
    if value is None:
        return None
    if value not in LONG_TEXT_MODES:
        raise RequestError(
            f"'long_text' must be one of {', '.join(repr(m) for m in LONG_TEXT_MODES)}, got {value!r}",
            param="long_text",
        )
    return cast(LongText, value)


def parse_tei_embed(body: Any, *, max_inputs: int = 2048, dim: int | None = None) -> EmbeddingsRequest:
    """``POST /embed`` (TEI: ``inputs``, ``truncate``, ``dimensions``, ``normalize``)."""
    data = _object(body)
    if "inputs" not in data:
        raise RequestError("'inputs' is required: a string or an array of strings", param="inputs")
    texts, single = _texts(data["inputs"], "inputs", max_inputs=max_inputs)
    if data.get("normalize", True) is not True:
        raise RequestError(
            "'normalize': false is not supported: Ogma returns the model's own output", param="normalize"
        )
    return EmbeddingsRequest(
        texts=texts,
        single=single,
        task=_task(data),
        dimensions=_optional_int(data, "dimensions", minimum=1, maximum=dim),
        base64=False,
        model=None,
        truncate=_optional_bool(data, "truncate", None),
    )


def _documents(value: Any, param: str, *, max_inputs: int) -> list[str]:
    if not isinstance(value, list):
        raise RequestError(f"'{param}' must be an array of strings or {{\"text\": ...}} objects", param=param)
    _check_count(value, param, max_inputs)
    out: list[str] = []
    for index, item in enumerate(value):
        text = item.get("text") if isinstance(item, dict) else item
        if not isinstance(text, str):
            raise RequestError(
                f"'{param}[{index}]' must be a string or an object with a string 'text', got {_kind(item)}",
                param=f"{param}[{index}]",
            )
        out.append(text)
    return out


def _query(data: dict[str, Any]) -> str:
    query = data.get("query")
    if not isinstance(query, str):
        raise RequestError(f"'query' is required and must be a string, got {_kind(query)}", param="query")
    return query


def parse_rerank(body: Any, *, max_inputs: int = 2048) -> RerankRequest:
    """``POST /v1/rerank`` and ``/v2/rerank`` (Cohere and Jina)."""
    data = _object(body)
    query = _query(data)
    documents = _documents(data.get("documents"), "documents", max_inputs=max_inputs)
    return RerankRequest(
        query=query,
        documents=documents,
        top_n=_optional_int(data, "top_n", minimum=1),
        return_documents=bool(_optional_bool(data, "return_documents", False)),
        model=_optional_str(data, "model"),
    )


def parse_tei_rerank(body: Any, *, max_inputs: int = 2048) -> RerankRequest:
    """``POST /rerank`` (TEI: ``query``, ``texts``, ``raw_scores``, ``return_text``)."""
    data = _object(body)
    query = _query(data)
    texts = _documents(data.get("texts"), "texts", max_inputs=max_inputs)
    return RerankRequest(
        query=query,
        documents=texts,
        top_n=None,
        return_documents=bool(_optional_bool(data, "return_text", False)),
        raw_scores=bool(_optional_bool(data, "raw_scores", False)),
    )


def parse_search(body: Any, *, max_k: int = 1000) -> SearchRequest:
    """``POST /v1/search``: ``query``, ``k``, ``mode``, ``filter``, ``rerank``, ``rerank_k``."""
    data = _object(body)
    query = _query(data)
    k = _optional_int(data, "k", minimum=1, maximum=max_k) or 10
    mode = data.get("mode", "hybrid")
    if mode not in SEARCH_MODES:
        raise RequestError(f"'mode' must be one of {', '.join(SEARCH_MODES)}, got {mode!r}", param="mode")
    filter_ = data.get("filter")
    if filter_ is not None and not isinstance(filter_, dict):
        raise RequestError(f"'filter' must be an object (Ogma's filter language), got {_kind(filter_)}", param="filter")
    return SearchRequest(
        query=query,
        k=k,
        mode=mode,
        filter=filter_,
        rerank=bool(_optional_bool(data, "rerank", False)),
        rerank_k=_optional_int(data, "rerank_k", minimum=1, maximum=max_k),
    )
