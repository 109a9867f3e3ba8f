"""Facts about metadata fields (names and types, distinct values, min/max), in Python.

Milvus has no aggregation over JSON, so these read the matching documents' metadata
and compute the same answers as the SQLite store's SQL (``ogma.store.sqlite.metadata``).

Example:
    >>> field_types([{"n": 1, "s": "x"}, {"n": 2.5}])
    {'n': 'float', 's': 'str'}
    >>> field_values([{"t": "x"}, {"t": "y"}, {"t": "x"}], "t")
    [('x', 2), ('y', 1)]
    >>> field_range([{"y": 2001}, {"y": 1999.5}], "y")
    (1999.5, 2001)
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from ogma.store.field_types import TYPE_NAMES, merge_types

__all__ = ["field_range", "field_types", "field_values"]


def _sqlite_type(value: Any) -> str:
    """The name SQLite's ``json_type`` gives a value (the SQLite store orders by it)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "real"
    if isinstance(value, str):
        return "text"
    return "array" if isinstance(value, list | tuple) else "object"


def field_types(metadatas: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    """Each top-level key with its inferred type (see ``Store.metadata_fields``)."""
    seen: dict[str, set[str]] = {}
    for metadata in metadatas:
        for key, value in metadata.items():
            seen.setdefault(str(key), set()).add(TYPE_NAMES[_sqlite_type(value)])
    return merge_types(seen)


def field_values(metadatas: Iterable[Mapping[str, Any]], field: str) -> list[tuple[Any, int]]:
    """Distinct non-null values of a top-level field with their counts (most frequent first)."""
    counts: dict[tuple[str, str], tuple[Any, int]] = {}
    for metadata in metadatas:
        if field not in metadata or metadata[field] is None:
            continue
        value = metadata[field]
        kind = _sqlite_type(value)
        key = (kind, json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=False))
        stored, count = counts.get(key, (value, 0))
        counts[key] = (stored, count + 1)

    def order(item: tuple[tuple[str, str], tuple[Any, int]]) -> tuple[Any, ...]:
        (kind, text), (value, count) = item
        plain = value if kind in ("integer", "real", "text") else text
        return (-count, kind, plain)

    return [(value, count) for _, (value, count) in sorted(counts.items(), key=order)]


def field_range(metadatas: Iterable[Mapping[str, Any]], field: str) -> tuple[Any, Any] | None:
    """``(min, max)`` over numbers if any, else over strings; ``None`` if neither."""
    numbers: list[int | float] = []
    strings: list[str] = []
    for metadata in metadatas:
        value = metadata.get(field)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int | float):
            numbers.append(value)
        elif isinstance(value, str):
            strings.append(value)
    for group in (numbers, strings):
        if group:
            return min(group), max(group)
    return None
