"""SQL builders: the store's statements as plain strings, separate from execution.

Every identifier goes through :func:`quote_identifier` and every string literal
that must sit inside DDL through :func:`quote_string`; values always travel as
``?`` parameters. Builders are pure, so tests pin their exact SQL.

Example:
    >>> quote_identifier('a"b')
    '"a""b"'
    >>> insert_sql("t", ["a", "b"])
    'INSERT INTO "t" ("a", "b") VALUES (?, ?)'
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TypeVar

__all__ = [
    "DOCUMENTS",
    "FTS",
    "MAX_VARIABLES",
    "VECTORS",
    "VEC_INDEX",
    "WINDOWS",
    "chunked",
    "delete_in_sql",
    "fts_delete_sql",
    "fts_search_sql",
    "insert_sql",
    "placeholders",
    "quote_identifier",
    "quote_string",
    "select_in_sql",
    "vec_knn_sql",
    "windows_table_sql",
]

DOCUMENTS = "ogma_documents"
"""Documents: ``rowid``, ``id``, ``text``, ``metadata`` (JSON), ``content_hash``."""
FTS = "ogma_fts"
"""FTS5 index over ``ogma_documents.text`` (external content, same rowids)."""
VEC_INDEX = "ogma_vec"
"""sqlite-vec ``vec0`` table of the search vectors (float / int8 / bit)."""
VECTORS = "ogma_vectors"
"""Plain table of the exact float32 vectors as blobs, by rowid."""
WINDOWS = "ogma_windows"
"""Extra window vectors of long documents: ``doc_rowid``, ``position`` (1, 2, ...), ``vector``."""

MAX_VARIABLES = 30000
"""Bound parameters per statement; SQLite >= 3.32 allows 32766."""

T = TypeVar("T")


def quote_identifier(name: str) -> str:
    """Quote an SQL identifier: wrap in double quotes, double any inner double quote.

    Raises:
        ValueError: Empty name or a NUL character.

    Example:
        >>> quote_identifier("documents")
        '"documents"'
    """
    if not isinstance(name, str) or not name or "\x00" in name:
        raise ValueError(f"invalid SQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'


def quote_string(value: str) -> str:
    """Quote an SQL string literal (for DDL options that cannot be parameters).

    Example:
        >>> quote_string("porter unicode61 tokenchars '-'")
        "'porter unicode61 tokenchars ''-'''"
    """
    if "\x00" in value:
        raise ValueError(f"invalid SQL string literal: {value!r}")
    return "'" + value.replace("'", "''") + "'"


def placeholders(count: int) -> str:
    """``count`` comma-separated ``?`` markers.

    Example:
        >>> placeholders(3)
        '?, ?, ?'
    """
    if count < 1:
        raise ValueError(f"need at least one placeholder, got {count}")
    return ", ".join("?" * count)


def chunked(items: Sequence[T], size: int = MAX_VARIABLES) -> Iterator[Sequence[T]]:
    """Consecutive slices of at most ``size`` items.

    Example:
        >>> [list(c) for c in chunked([1, 2, 3], 2)]
        [[1, 2], [3]]
    """
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_sql(table: str, columns: Sequence[str]) -> str:
    """``INSERT INTO table (columns) VALUES (?, ...)``."""
    cols = ", ".join(quote_identifier(c) for c in columns)
    return f"INSERT INTO {quote_identifier(table)} ({cols}) VALUES ({placeholders(len(columns))})"


def select_in_sql(table: str, columns: Sequence[str], key: str, count: int) -> str:
    """``SELECT columns FROM table WHERE key IN (?, ...)``.

    Example:
        >>> select_in_sql("t", ["rowid", "id"], "id", 2)
        'SELECT "rowid", "id" FROM "t" WHERE "id" IN (?, ?)'
    """
    cols = ", ".join(quote_identifier(c) for c in columns)
    return f"SELECT {cols} FROM {quote_identifier(table)} WHERE {quote_identifier(key)} IN ({placeholders(count)})"


def delete_in_sql(table: str, key: str, count: int) -> str:
    """``DELETE FROM table WHERE key IN (?, ...)``.

    Example:
        >>> delete_in_sql("t", "rowid", 2)
        'DELETE FROM "t" WHERE "rowid" IN (?, ?)'
    """
    return f"DELETE FROM {quote_identifier(table)} WHERE {quote_identifier(key)} IN ({placeholders(count)})"


def fts_delete_sql(fts_table: str = FTS) -> str:
    """Remove one row from an external-content FTS5 index (needs the old text).

    Example:
        >>> fts_delete_sql("f")
        'INSERT INTO "f" ("f", rowid, text) VALUES (\\'delete\\', ?, ?)'
    """
    name = quote_identifier(fts_table)
    return f"INSERT INTO {name} ({name}, rowid, text) VALUES ('delete', ?, ?)"


def fts_search_sql(filter_sql: str = "1", *, fts_table: str = FTS, documents: str = DOCUMENTS) -> str:
    """BM25-ranked FTS5 query, restricted by a compiled metadata filter.

    Parameters, in order: the MATCH expression, the filter's parameters, the limit.
    The score is ``-bm25()`` so that higher is better.

    Example:
        >>> print(fts_search_sql("1", fts_table="f", documents="d"))
        SELECT "f".rowid, -bm25("f") AS score FROM "f" JOIN "d" ON "d".rowid = "f".rowid
        WHERE "f" MATCH ? AND (1) ORDER BY bm25("f") LIMIT ?
    """
    f = quote_identifier(fts_table)
    d = quote_identifier(documents)
    return (
        f"SELECT {f}.rowid, -bm25({f}) AS score FROM {f} JOIN {d} ON {d}.rowid = {f}.rowid\n"
        f"WHERE {f} MATCH ? AND ({filter_sql}) ORDER BY bm25({f}) LIMIT ?"
    )


def vec_knn_sql(query_function: str = "", *, table: str = VEC_INDEX) -> str:
    """sqlite-vec KNN over a ``vec0`` table; parameters: the query vector, k.

    Args:
        query_function: ``""`` for float32, ``"vec_int8"`` or ``"vec_bit"`` to type the query blob.
        table: The ``vec0`` table.

    Example:
        >>> vec_knn_sql("vec_bit", table="v")
        'SELECT rowid, distance FROM "v" WHERE embedding MATCH vec_bit(?) AND k = ? ORDER BY distance'
    """
    if query_function not in ("", "vec_int8", "vec_bit"):
        raise ValueError(f"unknown vector function {query_function!r}")
    arg = f"{query_function}(?)" if query_function else "?"
    name = quote_identifier(table)
    return f"SELECT rowid, distance FROM {name} WHERE embedding MATCH {arg} AND k = ? ORDER BY distance"


def windows_table_sql() -> str:
    """The ``CREATE TABLE`` statement of :data:`WINDOWS` (see ``store/sqlite/windows.py``).

    Example:
        >>> windows_table_sql()  # doctest: +ELLIPSIS
        'CREATE TABLE IF NOT EXISTS "ogma_windows" (doc_rowid INTEGER NOT NULL, ...'
    """
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(WINDOWS)} (doc_rowid INTEGER NOT NULL, "
        "position INTEGER NOT NULL, vector BLOB NOT NULL, PRIMARY KEY (doc_rowid, position)) WITHOUT ROWID"
    )
