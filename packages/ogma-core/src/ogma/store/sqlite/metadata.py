"""Metadata updates and facts about metadata fields, in SQL over ``ogma_documents``.

Updates touch only the ``metadata`` column: texts, FTS rows and vectors stay, so no
index needs rebuilding; an update bumps the store's change counter (``generation``),
which retires the filter results cached for the old one. The facts (field names and types, distinct values, min/max)
are computed by SQLite's JSON functions over the top-level keys of each document's
metadata, optionally restricted by a compiled filter.

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> store = Store(":memory:", dim=2)
    >>> _ = store.add(["a", "b", "c"], [{"year": 2020}, {"year": 2024}, {"year": 2020, "tag": "x"}],
    ...               ids=["1", "2", "3"], embeddings=np.eye(3, 2))
    >>> store.metadata_fields()
    {'tag': 'str', 'year': 'int'}
    >>> store.metadata_values("year")
    [(2020, 2), (2024, 1)]
    >>> store.metadata_range("year")
    (2020, 2024)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ogma.store.field_types import TYPE_NAMES, merge_types
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.facets import index_metadata
from ogma.store.sqlite.schema import bump_generation
from ogma.store.sqlite.sql import DOCUMENTS, chunked, quote_identifier

__all__ = ["field_range", "field_types", "field_values", "update_metadata"]


def _json_path(field: str) -> str:
    return "$." + json.dumps(field, ensure_ascii=False)


def _where(where: tuple[str | None, Sequence[Any]]) -> tuple[str, list[Any]]:
    sql, params = where
    return (f" AND ({sql})" if sql else ""), list(params)


def update_metadata(
    conn: Connection,
    ids: Sequence[str] | None,
    where: tuple[str | None, Sequence[Any]] | None,
    metadata: Mapping[str, Any],
    *,
    replace: bool,
    on_commit: Callable[[int], None] | None = None,
) -> int:
    """Merge ``metadata`` into (or, with ``replace``, put it in place of) matching documents' metadata.

    The merge is shallow: top-level keys of ``metadata`` overwrite those stored, other
    stored keys stay. One transaction.

    Args:
        conn: The connection.
        ids: Ids to update (missing ids are ignored), or ``None`` for all matching ``where``.
        where: A compiled filter ``(sql, params)``; with ``ids``, only ids that also match.
        metadata: The new (validated, JSON-serialisable) metadata.
        replace: Replace the whole metadata instead of merging.
        on_commit: Called with the new change counter (``generation``, bumped when any
            document changed) after the transaction committed.

    Returns:
        How many documents were updated.
    """
    documents = quote_identifier(DOCUMENTS)
    extra, extra_params = _where(where) if where is not None else ("", [])
    with conn.transaction():
        rows: list[tuple[int, str]] = []
        if ids is not None:
            for chunk in chunked(list(dict.fromkeys(ids))):
                placeholders = ", ".join("?" * len(chunk))
                rows += conn.fetchall(
                    f"SELECT rowid, metadata FROM {documents} WHERE id IN ({placeholders}){extra}",
                    [*chunk, *extra_params],
                )
        else:
            rows = conn.fetchall(f"SELECT rowid, metadata FROM {documents} WHERE 1{extra}", extra_params)
        new_text = json.dumps(dict(metadata), ensure_ascii=False, allow_nan=False)
        updates = []
        for rowid, stored in rows:
            if replace:
                updates.append((new_text, int(rowid)))
            else:
                merged = {**json.loads(stored), **metadata}
                updates.append((json.dumps(merged, ensure_ascii=False, allow_nan=False), int(rowid)))
        conn.executemany(f"UPDATE {documents} SET metadata = ? WHERE rowid = ?", updates)
        index_metadata(conn, [rowid for _, rowid in updates])
        generation = bump_generation(conn) if updates else None  # cached filter results read the counter
    if generation is not None and on_commit is not None:
        on_commit(generation)
    return len(updates)


def field_types(conn: Connection, where: tuple[str | None, Sequence[Any]]) -> dict[str, str]:
    """Each top-level metadata key of the matching documents with its inferred type.

    Types are ``str``, ``int``, ``float``, ``bool``, ``list``, ``dict`` or ``null`` (only
    nulls seen); a key holding ints and floats is ``float``; other mixes are ``mixed``.
    Nulls do not count towards a key's type.
    """
    documents = quote_identifier(DOCUMENTS)
    extra, params = _where(where)
    rows = conn.fetchall(
        f"SELECT j.key, j.type FROM {documents}, json_each({documents}.metadata) AS j "
        f"WHERE 1{extra} GROUP BY j.key, j.type",
        params,
    )
    seen: dict[str, set[str]] = {}
    for key, kind in rows:
        seen.setdefault(str(key), set()).add(TYPE_NAMES.get(str(kind), str(kind)))
    return merge_types(seen)


def _decode(value: Any, kind: str) -> Any:
    if kind in ("true", "false"):
        return kind == "true"
    if kind in ("array", "object"):
        return json.loads(value)
    return value


def field_values(conn: Connection, field: str, where: tuple[str | None, Sequence[Any]]) -> list[tuple[Any, int]]:
    """Distinct non-null values of a top-level metadata field with their document counts.

    Ordered by count (descending), then by value type and value. Lists and dicts are
    compared whole.
    """
    documents = quote_identifier(DOCUMENTS)
    extra, params = _where(where)
    path = _json_path(field)
    rows = conn.fetchall(
        f"SELECT json_type(metadata, ?) AS t, json_extract(metadata, ?) AS v, count(*) AS n FROM {documents} "
        f"WHERE t IS NOT NULL AND t != 'null'{extra} GROUP BY t, v ORDER BY n DESC, t, v",
        [path, path, *params],
    )
    return [(_decode(value, str(kind)), int(count)) for kind, value, count in rows]


def field_range(conn: Connection, field: str, where: tuple[str | None, Sequence[Any]]) -> tuple[Any, Any] | None:
    """``(min, max)`` of a top-level metadata field over the matching documents.

    Numbers (ints and floats together) are compared when the field holds any; otherwise
    strings (by code point). Booleans, lists, dicts and nulls are ignored. ``None`` when
    no document holds a number or a string there.
    """
    documents = quote_identifier(DOCUMENTS)
    extra, params = _where(where)
    path = _json_path(field)
    for kinds in ("'integer', 'real'", "'text'"):
        row = conn.fetchall(
            f"SELECT min(json_extract(metadata, ?)), max(json_extract(metadata, ?)), count(*) FROM {documents} "
            f"WHERE json_type(metadata, ?) IN ({kinds}){extra}",
            [path, path, path, *params],
        )[0]
        if int(row[2]):
            return row[0], row[1]
    return None
