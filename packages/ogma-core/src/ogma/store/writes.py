"""The write path: upserting and deleting documents with their FTS rows and vectors.

Each call runs in one ``BEGIN IMMEDIATE`` transaction, so a document, its FTS
row and its vectors are written (or removed) all together or not at all, even if
the process dies mid-call. Rowids of new documents are assigned inside the
transaction (``max(rowid) + 1 …``), which lets every table be filled with plain
``executemany`` inserts.

Example:
    >>> import numpy as np
    >>> from ogma.store.connect import connect
    >>> from ogma.store.schema import StoreConfig, create_schema
    >>> from ogma.store.vectors import VectorCodec
    >>> conn = connect(":memory:")
    >>> create_schema(conn, StoreConfig(dim=2))
    >>> v = np.array([[1.0, 0.0]], dtype=np.float32)
    >>> upsert(conn, VectorCodec("float32", 2), ["a"], ["hi"], ["{}"], v, v).rowids
    [1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.store.connect import Connection
from ogma.store.schema import bump_generation, content_hash
from ogma.store.sql import DOCUMENTS, FTS, chunked, fts_delete_sql, insert_sql, quote_identifier, select_in_sql
from ogma.store.validate import encode_text
from ogma.store.vectors import VectorCodec, delete_vectors, write_vectors

__all__ = ["WriteResult", "delete", "upsert"]

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class WriteResult:
    """What one write changed.

    Attributes:
        rowids: Rowids written (upsert) or removed (delete), in input order.
        old_generation: The change counter before the write.
        new_generation: The change counter after it.

    Example:
        >>> WriteResult(rowids=[1, 2], old_generation=4, new_generation=5).rowids
        [1, 2]
    """

    rowids: list[int]
    old_generation: int
    new_generation: int


def _existing(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for chunk in chunked(list(ids)):
        rows = conn.fetchall(select_in_sql(DOCUMENTS, ["id", "rowid", "text"], "id", len(chunk)), list(chunk))
        for doc_id, rowid, text in rows:
            found[doc_id] = (int(rowid), text)
    return found


def upsert(
    conn: Connection,
    codec: VectorCodec,
    ids: Sequence[str],
    texts: Sequence[str],
    metadatas: Sequence[str],
    vectors: FloatArray,
    codes: npt.NDArray[Any],
) -> WriteResult:
    """Insert or replace documents (by id) with their FTS rows and vectors, atomically.

    Args:
        conn: The connection.
        codec: The store's vector codec.
        ids: Unique ids.
        texts: Texts (valid Unicode).
        metadatas: Metadata as JSON text.
        vectors: Exact vectors to keep, one row per text.
        codes: Search codes for the ``vec0`` index, one row per text.
    """
    hashes = [content_hash(encode_text(text, index)) for index, text in enumerate(texts)]
    documents = quote_identifier(DOCUMENTS)
    with conn.transaction():
        existing = _existing(conn, ids)
        next_rowid = int(conn.scalar(f"SELECT COALESCE(MAX(rowid), 0) FROM {documents}")) + 1
        rowids: list[int] = []
        new_rows: list[tuple[Any, ...]] = []
        updated: list[tuple[Any, ...]] = []
        for doc_id, text, meta, digest in zip(ids, texts, metadatas, hashes):
            if doc_id in existing:
                rowid = existing[doc_id][0]
                updated.append((text, meta, digest, rowid))
            else:
                rowid = next_rowid
                next_rowid += 1
                new_rows.append((rowid, doc_id, text, meta, digest))
            rowids.append(rowid)
        if existing:
            old = list(existing.values())
            conn.executemany(fts_delete_sql(FTS), old)
            delete_vectors(conn, [rowid for rowid, _ in old])
            conn.executemany(
                f"UPDATE {documents} SET text = ?, metadata = ?, content_hash = ? WHERE rowid = ?", updated
            )
        if new_rows:
            conn.executemany(insert_sql(DOCUMENTS, ["rowid", "id", "text", "metadata", "content_hash"]), new_rows)
        conn.executemany(insert_sql(FTS, ["rowid", "text"]), list(zip(rowids, texts)))
        write_vectors(conn, codec, rowids, vectors, codes)
        new_generation = bump_generation(conn)
    return WriteResult(rowids, new_generation - 1, new_generation)


def delete(conn: Connection, ids: Sequence[str]) -> WriteResult:
    """Delete documents by id (missing ids are ignored), atomically."""
    with conn.transaction():
        existing = _existing(conn, list(dict.fromkeys(ids)))
        if not existing:
            generation = int(conn.scalar("SELECT value FROM ogma_config WHERE key = 'generation'") or 0)
            return WriteResult([], generation, generation)
        old = list(existing.values())
        rowids = [rowid for rowid, _ in old]
        conn.executemany(fts_delete_sql(FTS), old)
        delete_vectors(conn, rowids)
        for chunk in chunked(rowids):
            conn.execute(
                f"DELETE FROM {quote_identifier(DOCUMENTS)} WHERE rowid IN ({', '.join('?' * len(chunk))})",
                list(chunk),
            )
        new_generation = bump_generation(conn)
    return WriteResult(rowids, new_generation - 1, new_generation)
