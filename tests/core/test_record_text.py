"""``record_text``: the text embedders and rerankers read for a record with metadata."""

from __future__ import annotations

from typing import Any

import pytest

from ogma.record_text import RecordTextBuilder, record_text


@pytest.mark.parametrize(
    ("content", "meta", "options", "want"),
    [
        ("body", {"title": "T"}, {"fields": ["title"]}, "T\nbody"),
        ("body", {"title": "T", "year": 2024}, {"fields": ["year", "title"], "separator": " | "}, "2024 | T | body"),
        ("body", {"title": None}, {"fields": ["title", "missing"]}, "body"),
        ("body", {"title": "T"}, {}, "body"),
        ("", {"title": "T"}, {"fields": ["title"]}, "T\n"),
        ("body", {}, {"prefix": "passage: ", "suffix": "!"}, "passage: body!"),
        (None, {"title": "T", "n": 0}, {"fields": ["title", "n"]}, "T\n0"),
        (None, {"flag": False}, {"fields": ["flag"]}, "False"),
        ("body", None, {"fields": ["title"]}, "body"),
        ("body", {"tags": ["a", "b"]}, {"fields": ["tags"]}, "['a', 'b']\nbody"),
    ],
)
def test_composition(content: str | None, meta: dict[str, Any] | None, options: dict[str, Any], want: str) -> None:
    assert record_text(content, meta, **options) == want
    assert RecordTextBuilder(**options)(content=content, metadata=meta) == want


@pytest.mark.parametrize("meta", [None, {}, {"title": None}, {"other": "x"}])
def test_nothing_to_read_is_none(meta: dict[str, Any] | None) -> None:
    assert record_text(None, meta, fields=["title"], prefix="p", suffix="s") is None


def test_settings_are_checked_with_their_haystack_names() -> None:
    with pytest.raises(TypeError, match="meta_fields_to_embed"):
        RecordTextBuilder(fields="title")
    with pytest.raises(TypeError, match=r"meta_fields_to_embed\[1\]"):
        RecordTextBuilder(fields=["title", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="embedding_separator"):
        RecordTextBuilder(separator=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="prefix"):
        RecordTextBuilder(prefix=1)  # type: ignore[arg-type]


def test_bad_record_types() -> None:
    build = RecordTextBuilder(fields=["a"])
    with pytest.raises(TypeError, match="content must be a string or None, got bytes"):
        build(content=b"x", metadata={})  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="metadata must be a mapping"):
        build(content="x", metadata=[("a", 1)])  # type: ignore[arg-type]
