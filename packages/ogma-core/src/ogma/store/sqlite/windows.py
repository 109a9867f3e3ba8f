"""The SQLite side of long documents: extra window vectors by document rowid, scored in process.

``ogma_windows`` (schema 5) holds the vectors of every window of a long document after
its first (the first is the document's own vector, in ``ogma_vec``): ``(doc_rowid,
position, vector)``, the vector as little-endian float32 bytes exactly as the encoder gave
it (at the store's dimension). Rows are written in the same transaction as their
document (:func:`ogma.store.sqlite.writes.upsert`) and removed with its vectors on delete
or replace (:func:`ogma.store.sqlite.vectors.delete_vectors`), so they never outlive it.

Dense search scores them in process (:class:`WindowScorer`, exact cosine, loaded on the
first search and reloaded when the store's change counter moves) and merges each
document's best window into the ranking (:func:`ogma.store.windows.merge_best`); a store
without long documents pays one empty read per change.

The table itself is created by the schema (:func:`ogma.store.sqlite.sql.windows_table_sql`).

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> store = Store(":memory:", dim=2)
    >>> _ = store.add(["a"], ids=["a"], embeddings=np.eye(1, 2))
    >>> with store._pool.connection() as conn:
    ...     count_windows(conn)
    0
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.compress import normalize_in_place
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.schema import search_generation
from ogma.store.sqlite.sql import DOCUMENTS, WINDOWS, chunked, delete_in_sql, quote_identifier
from ogma.store.windows import ExtraWindows, best_per_owner, merge_best

__all__ = ["WindowScorer", "count_windows", "delete_windows", "write_windows"]

FloatArray = npt.NDArray[np.float32]
Ranked = list[tuple[int, float]]


def _has_table(conn: Connection) -> bool:
    return conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (WINDOWS,)) is not None


WINDOW_BATCH_ROWS = 2048
"""Window rows read per batch when the scorer loads (3 MiB of vectors at 384-d): the load holds
the unit vectors and one batch, never every row's bytes at once."""


def _no_windows() -> tuple[npt.NDArray[np.int64], FloatArray]:
    return np.zeros(0, dtype=np.int64), np.zeros((0, 0), dtype=np.float32)


def _read_windows(conn: Connection) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Every window's owner and unit vector, in ``(doc_rowid, position)`` order, read in bounded batches."""
    table = quote_identifier(WINDOWS)
    expected = int(conn.scalar(f"SELECT count(*) FROM {table}") or 0)
    owners, unit = _no_windows()
    filled = 0
    sql = f"SELECT doc_rowid, vector FROM {table} ORDER BY doc_rowid, position"
    for rows in conn.fetchbatches(sql, size=WINDOW_BATCH_ROWS):
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        matrix = np.frombuffer(bytearray().join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1)
        if filled == 0:
            owners = np.empty(max(expected, len(rows)), dtype=np.int64)
            unit = np.empty((owners.shape[0], matrix.shape[1]), dtype=np.float32)
        if filled + len(rows) > owners.shape[0]:  # rows written since the count: grow
            owners = np.concatenate([owners[:filled], np.empty(len(rows), dtype=np.int64)])
            unit = np.concatenate([unit[:filled], np.empty((len(rows), unit.shape[1]), dtype=np.float32)])
        owners[filled : filled + len(rows)] = ids
        unit[filled : filled + len(rows)] = matrix
        normalize_in_place(unit[filled : filled + len(rows)])
        filled += len(rows)
    if filled < owners.shape[0]:
        owners, unit = owners[:filled].copy(), unit[:filled].copy()
    return owners, unit


def write_windows(conn: Connection, doc_rowids: Sequence[int], windows: ExtraWindows) -> None:
    """Insert the extra windows of documents just written; call inside their transaction.

    Args:
        conn: The connection.
        doc_rowids: The rowid of each document position ``windows.owners`` refers to.
        windows: The extra windows, at the store's dimension.
    """
    if windows.count == 0:
        return
    blobs = np.ascontiguousarray(windows.vectors, dtype="<f4")
    rows: list[tuple[int, int, bytes]] = []
    position, previous = 0, -1
    for owner, vector in zip(windows.owners, blobs, strict=True):
        position = position + 1 if owner == previous else 1
        previous = owner
        rows.append((int(doc_rowids[owner]), position, vector.tobytes()))
    conn.executemany(
        f"INSERT OR REPLACE INTO {quote_identifier(WINDOWS)} (doc_rowid, position, vector) VALUES (?, ?, ?)", rows
    )


def delete_windows(conn: Connection, rowids: Sequence[int]) -> None:
    """Remove the extra windows of documents; call inside a transaction (no table: nothing to do)."""
    if not _has_table(conn):
        return
    for chunk in chunked(list(rowids)):
        conn.execute(delete_in_sql(WINDOWS, "doc_rowid", len(chunk)), list(chunk))


def count_windows(conn: Connection) -> int:
    """Number of extra window vectors stored."""
    return int(conn.scalar(f"SELECT count(*) FROM {quote_identifier(WINDOWS)}")) if _has_table(conn) else 0


class WindowScorer:
    """The extra windows of one store in memory, for best-window dense search.

    Example:
        >>> scorer = WindowScorer()
        >>> scorer.loaded_generation is None
        True
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.loaded_generation: int | None = None
        self._owners: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
        self._unit: FloatArray = np.zeros((0, 0), dtype=np.float32)

    def _sync(self, conn: Connection) -> tuple[npt.NDArray[np.int64], FloatArray]:
        generation = search_generation(conn)
        with self._lock:
            if generation != self.loaded_generation:
                self._owners, self._unit = _read_windows(conn) if _has_table(conn) else _no_windows()
                self.loaded_generation = generation
            return self._owners, self._unit

    def rank(
        self,
        conn: Connection,
        ranked: Ranked,
        unit_query: FloatArray,
        count: int,
        *,
        filter_sql: str | None = None,
        filter_params: Sequence[Any] = (),
    ) -> Ranked:
        """``ranked`` (documents by their own vectors) re-ranked by each document's best window.

        Args:
            conn: The connection.
            ranked: The ``count`` best ``(rowid, cosine)`` by the documents' own vectors.
            unit_query: The unit query vector.
            count: Results wanted.
            filter_sql: The compiled metadata filter (documents outside it are not ranked).
            filter_params: Its parameters.
        """
        owners, unit = self._sync(conn)
        if owners.size == 0 or count <= 0:
            return ranked
        scores = unit @ unit_query.astype(np.float32)
        best = best_per_owner(scores, owners)
        if filter_sql is not None:
            allowed = _allowed(conn, list(best), filter_sql, filter_params)
            best = {rowid: score for rowid, score in best.items() if rowid in allowed}
        keep = sorted(best, key=lambda r: -best[r])[:count]
        wanted = {r: best[r] for r in keep}
        for rowid, _ in ranked:
            if rowid in best:
                wanted[rowid] = best[rowid]
        return merge_best(ranked, wanted, count)


def _allowed(conn: Connection, rowids: list[int], filter_sql: str, params: Sequence[Any]) -> set[int]:
    allowed: set[int] = set()
    for chunk in chunked(rowids, size=max(1, 30000 - len(params))):
        sql = (
            f"SELECT rowid FROM {quote_identifier(DOCUMENTS)} "
            f"WHERE rowid IN ({', '.join('?' * len(chunk))}) AND ({filter_sql})"
        )
        allowed.update(int(r[0]) for r in conn.fetchall(sql, [*chunk, *params]))
    return allowed
