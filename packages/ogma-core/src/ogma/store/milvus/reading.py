"""Reading and deleting many rows of a Milvus collection, in pages (see :mod:`.paging`).

``MilvusStore`` checks its arguments and that its collection exists; these functions do the
enumerations: rows by id in chunks of :data:`ID_CHUNK`, documents in insertion order one
window at a time, metadata streamed, and deletion one page of keys at a time.

Example:
    >>> ID_CHUNK
    1000
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Final

from ogma.store.document import Document
from ogma.store.milvus.expressions import literal
from ogma.store.milvus.paging import QUERY_WINDOW, and_expr, key_pages, scan, seq_bounds, seq_windows
from ogma.store.milvus.rows import DOCUMENT_FIELDS, doc_id_of, key_of, to_document

__all__ = ["ID_CHUNK", "delete_keys", "delete_matching", "documents_in_order", "metadatas", "rows_by_id"]

ID_CHUNK: Final = 1_000
"""Ids per ``id in [...]`` query, delete or upsert."""


def rows_by_id(
    client: Any, collection: str, ids: Sequence[str], fields: list[str], expr: str = ""
) -> dict[str, dict[str, Any]]:
    """The rows of ``ids`` (those that also match ``expr``), by document id; missing ids are left out."""
    found: dict[str, dict[str, Any]] = {}
    unique = [key_of(i) for i in dict.fromkeys(ids)]
    for start in range(0, len(unique), ID_CHUNK):
        chunk = unique[start : start + ID_CHUNK]
        where = and_expr(f"id in {literal(chunk)}", expr)
        for row in scan(client, collection, where, fields, page_size=len(chunk)):
            found[doc_id_of(row["id"])] = row
    return found


def documents_in_order(
    client: Any, collection: str, expr: str, *, batch_size: int, include_embeddings: bool
) -> Iterator[Document]:
    """The documents matching ``expr`` (``""``: all) in insertion order (``seq``, then id).

    The insertion numbers are read first, then the documents in windows of consecutive
    numbers (``batch_size`` of them, at least :data:`ID_CHUNK`, at most the query window),
    each sorted in memory: one window of documents is held at a time.
    """
    fields = [*DOCUMENT_FIELDS, "seq", "has_vector", "vector"] if include_embeddings else [*DOCUMENT_FIELDS, "seq"]
    window = min(max(batch_size, ID_CHUNK), QUERY_WINDOW)
    pages = key_pages(client, collection, expr, ["seq"], page_size=QUERY_WINDOW)
    windows = seq_windows((int(row["seq"]) for page in pages for row in page), window)
    for index in range(len(windows)):
        rows = list(scan(client, collection, and_expr(expr, seq_bounds(windows, index)), fields))
        rows.sort(key=lambda r: (int(r["seq"]), r["id"]))
        for row in rows:
            yield to_document(row, include_embeddings)


def metadatas(client: Any, collection: str, expr: str) -> Iterator[dict[str, Any]]:
    """The metadata of every row matching ``expr`` (``""``: all), streamed in pages."""
    for page in key_pages(client, collection, expr, ["metadata"]):
        for row in page:
            yield dict(row["metadata"] or {})


def delete_keys(client: Any, collection: str, keys: list[str]) -> None:
    """Delete the rows of these primary keys (at most :data:`ID_CHUNK` of them: one request)."""
    client.delete(collection, filter=f"id in {literal(keys)}")


def delete_matching(client: Any, collection: str, expr: str) -> int:
    """Delete every row matching ``expr`` (``""``: every row), one page of keys at a time; returns how many."""
    deleted = 0
    for page in key_pages(client, collection, expr, ["id"], page_size=ID_CHUNK):
        keys = list(dict.fromkeys(str(row["id"]) for row in page))
        delete_keys(client, collection, keys)
        deleted += len(keys)
    return deleted
