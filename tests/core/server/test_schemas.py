"""Request parsing: one test per rule, without HTTP."""

from __future__ import annotations

from typing import Any

import pytest

from ogma.server.schemas import (
    INPUT_TYPES,
    RequestError,
    parse_embeddings,
    parse_rerank,
    parse_search,
    parse_tei_embed,
    parse_tei_rerank,
)


@pytest.mark.parametrize(("spelling", "task"), sorted(INPUT_TYPES.items()))
def test_every_input_type_spelling(spelling: str, task: str) -> None:
    assert parse_embeddings({"input": "a", "input_type": spelling}).task == task
    assert parse_embeddings({"input": "a", "task": spelling.upper()}).task == task


def test_embeddings_defaults_and_fields() -> None:
    request = parse_embeddings({"input": ["", "b"], "model": "m", "encoding_format": "base64", "dimensions": 8}, dim=16)
    assert (request.texts, request.single, request.task, request.base64, request.dimensions) == (
        ["", "b"],
        False,
        "symmetric",
        True,
        8,
    )
    assert parse_embeddings({"input": "x", "encoding_format": None}).base64 is False
    assert parse_embeddings({"input": "x"}).single is True


@pytest.mark.parametrize("tokens", [[1, 2, 3], [[1, 2], [3]]])
def test_token_ids_are_refused_with_the_langchain_setting(tokens: Any) -> None:
    with pytest.raises(RequestError, match="check_embedding_ctx_length=False") as info:
        parse_embeddings({"input": tokens})
    assert info.value.status == 400 and info.value.code == "token_ids_not_supported"


@pytest.mark.parametrize(
    ("body", "param", "status"),
    [
        ("text", None, 400),
        ({"input": ["a"] * 3}, "input", 413),
        ({"input": [True]}, "input[0]", 400),
        ({"input": ["a", {"text": "b"}]}, "input[1]", 400),
        ({"input": "a", "dimensions": 17}, "dimensions", 400),
        ({"input": "a", "dimensions": True}, "dimensions", 400),
        ({"input": "a", "model": 3}, "model", 400),
        ({"input": "a", "input_type": 3}, "input_type", 400),
        ({"input": "\ud800"}, "input", 400),
    ],
)
def test_embeddings_errors_name_the_field(body: Any, param: str | None, status: int) -> None:
    with pytest.raises(RequestError) as info:
        parse_embeddings(body, max_inputs=2, dim=16)
    assert info.value.param == param and info.value.status == status


def test_tei_embed() -> None:
    request = parse_tei_embed({"inputs": "a", "truncate": False})
    assert request.texts == ["a"] and request.truncate is False
    with pytest.raises(RequestError, match="normalize"):
        parse_tei_embed({"inputs": "a", "normalize": False})
    with pytest.raises(RequestError, match="truncate"):
        parse_tei_embed({"inputs": "a", "truncate": "yes"})


def test_rerank_shapes() -> None:
    request = parse_rerank({"query": "q", "documents": ["a", {"text": "b"}], "top_n": 1, "return_documents": True})
    assert (request.documents, request.top_n, request.return_documents) == (["a", "b"], 1, True)
    tei = parse_tei_rerank({"query": "q", "texts": ["a"], "raw_scores": True, "return_text": True})
    assert tei.raw_scores and tei.return_documents
    with pytest.raises(RequestError) as info:
        parse_rerank({"query": "q", "documents": ["a"] * 5}, max_inputs=4)
    assert info.value.status == 413


def test_search_request() -> None:
    request = parse_search({"query": "q"})
    assert (request.k, request.mode, request.filter, request.rerank) == (10, "hybrid", None, False)
    with pytest.raises(RequestError, match="filter"):
        parse_search({"query": "q", "filter": "n > 3"})
    with pytest.raises(RequestError, match="k"):
        parse_search({"query": "q", "k": 10**9})
