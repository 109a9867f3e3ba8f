"""The write path: upserting and deleting documents with their FTS rows, facets and vectors.

Each call runs in one ``BEGIN IMMEDIATE`` transaction, so a document, its FTS
row, its metadata facets (:mod:`ogma.store.sqlite.facets`) and its vectors are written
(or removed) all together or not at all, even if the process dies mid-call. Rowids
of new documents are assigned inside the transaction (``max(rowid) + 1 …``), which
lets every table be filled with plain ``executemany`` inserts.

Example:
    >>> import numpy as np
    >>> from ogma.store.sqlite.connect import connect
    >>> from ogma.store.sqlite.schema import StoreConfig, create_schema
    >>> from ogma.store.sqlite.vectors import VectorCodec
    >>> conn = connect(":memory:")
    >>> create_schema(conn, StoreConfig(dim=2))
    >>> v = np.array([[1.0, 0.0]], dtype=np.float32)
    >>> codec = VectorCodec("float32", 2)
    >>> upsert(conn, codec, prepare_rows(codec, ["a"], ["hi"], ["{}"], v)).rowids
    [1]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.errors import DuplicateDocumentError
from ogma.store.protocol import ON_CONFLICT, OnConflict
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.facets import drop_facets, index_metadata
from ogma.store.sqlite.schema import bump_generation, content_hash
from ogma.store.sqlite.sql import (
    DOCUMENTS,
    FTS,
    VEC_INDEX,
    chunked,
    fts_delete_sql,
    insert_sql,
    quote_identifier,
    select_in_sql,
)
from ogma.store.sqlite.vectors import VectorCodec, delete_vectors, unit_rows, write_vectors
from ogma.store.sqlite.windows import write_windows
from ogma.store.validate import encode_text
from ogma.store.windows import ExtraWindows

__all__ = ["ON_CONFLICT", "OnConflict", "PreparedRows", "WriteResult", "delete", "prepare_rows", "upsert"]

"""What :func:`upsert` does with an id that is already stored."""

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True)
class WriteResult:
    """What one write changed.

    Attributes:
        rowids: Rowids written (upsert) or removed (delete), in input order.
        old_generation: The change counter before the write.
        new_generation: The change counter after it.
        written: For an upsert, the positions (in the prepared batch) of the rows that
            were written, parallel to ``rowids``; ``None`` when every row was written.
        vector_rowids: For an upsert, the rowids written with a vector (a subset of ``rowids``).
        unit: The L2-normalised vectors of ``vector_rowids``, parallel to them.

    Example:
        >>> WriteResult(rowids=[1, 2], old_generation=4, new_generation=5).rowids
        [1, 2]
    """

    rowids: list[int]
    old_generation: int
    new_generation: int
    written: list[int] | None = None
    vector_rowids: list[int] = field(default_factory=list)
    unit: FloatArray | None = None


@dataclass(frozen=True)
class PreparedRows:
    """A batch of documents with everything computed that does not need the database.

    Built by :func:`prepare_rows` before the write transaction opens, so the write
    lock is held only while SQLite works.

    Attributes:
        ids: Unique ids.
        texts: Texts (valid Unicode); ``None`` for a document without content (it gets no FTS row).
        metadatas: Metadata as JSON text.
        hashes: Content hash of each text (``None`` for a ``None`` text).
        vector_blobs: Each exact vector as little-endian float32 bytes.
        code_blobs: Each search code (the ``vec0`` column) as bytes; the same list as
            ``vector_blobs`` when the index holds the exact vectors themselves.
        unit: The L2-normalised vectors (for the in-process index).
        vector_rows: The positions (in ``ids``) of the documents that have a vector, parallel
            to ``vector_blobs``, ``code_blobs`` and ``unit``; ``None`` when every document has one.
        windows: The extra windows of long documents (their ``owners`` index the vectors,
            like ``unit``), written with them (``ogma_windows``); ``None``: none.
    """

    ids: list[str]
    texts: list[str | None]
    metadatas: list[str]
    hashes: list[bytes | None]
    vector_blobs: list[bytes]
    code_blobs: list[bytes]
    unit: FloatArray
    vector_rows: list[int] | None = None
    windows: ExtraWindows | None = None

    def vector_positions(self) -> list[int]:
        """The positions of the documents that have a vector."""
        return list(range(len(self.ids))) if self.vector_rows is None else self.vector_rows

    def payload_bytes(self) -> int:
        """About how many bytes the batch writes: its vectors, search codes, texts and metadata."""
        blobs, codes = self.vector_blobs, self.code_blobs
        vectors = len(blobs) * len(blobs[0]) if blobs else 0
        if codes and not (blobs and codes[0] is blobs[0]):  # codes apart from the exact vectors
            vectors += len(codes) * len(codes[0])
        texts = sum(len(text) for text in self.texts if text is not None)
        return vectors + texts + sum(map(len, self.metadatas))


def _row_blobs(matrix: npt.NDArray[Any]) -> list[bytes]:
    """One ``bytes`` per row, in a single C-level pass (no per-row ``tobytes`` calls)."""
    contiguous = np.ascontiguousarray(matrix)
    row = np.dtype((np.void, contiguous.dtype.itemsize * contiguous.shape[1]))
    blobs: list[bytes] = contiguous.view(row).ravel().tolist()  # type: ignore[assignment]  # void rows are bytes
    return blobs


def prepare_rows(
    codec: VectorCodec | None,
    ids: list[str],
    texts: list[str | None],
    metadatas: list[str],
    vectors: FloatArray,
    *,
    vector_rows: list[int] | None = None,
    first_index: int = 0,
    windows: ExtraWindows | None = None,
) -> PreparedRows:
    """Hash the texts and pack vectors and search codes for :func:`upsert`.

    Args:
        codec: The store's vector codec (``None`` while the store has no vectors; then
            ``vectors`` must have no rows).
        ids: Unique ids.
        texts: Texts (``None``: no content).
        metadatas: Metadata as JSON text.
        vectors: Exact vectors to keep, at the store's dimension: one row per text, or one
            per position in ``vector_rows``.
        vector_rows: Positions of the texts that have a vector (``None``: all of them).
        first_index: Position of ``texts[0]`` in the caller's input (for error messages).
        windows: Extra windows of long documents (owners index the rows of ``vectors``).

    Raises:
        ValueError: A text is not valid Unicode (names its index in the caller's input).
    """
    if vector_rows is not None and len(vector_rows) == len(ids):
        vector_rows = None
    if codec is None or vectors.shape[0] == 0:
        if vectors.shape[0]:
            raise ValueError("vectors need the store's vector codec")  # pragma: no cover - the store settles first
        hashes = text_hashes(texts, first_index=first_index)
        empty = np.zeros((0, codec.dim if codec is not None else 0), dtype=np.float32)
        return PreparedRows(ids, texts, metadatas, hashes, [], [], empty, [] if ids else None)
    unit = unit_rows(vectors)
    vector_blobs = _row_blobs(np.asarray(vectors, dtype="<f4"))
    return PreparedRows(
        ids=ids,
        texts=texts,
        metadatas=metadatas,
        hashes=text_hashes(texts, first_index=first_index),
        vector_blobs=vector_blobs,
        code_blobs=vector_blobs if codec.exact_in_index else _row_blobs(codec.codes(unit)),
        unit=unit,
        vector_rows=vector_rows,
        windows=windows if windows is not None and windows.count else None,
    )


def text_hashes(texts: Sequence[str | None], *, first_index: int = 0) -> list[bytes | None]:
    """:func:`~ogma.store.sqlite.schema.content_hash` of each text's UTF-8 bytes (``None`` for ``None``).

    Raises:
        ValueError: A text is not valid Unicode (names its index, counted from ``first_index``).
    """
    try:
        if None not in texts:
            return list(map(content_hash, map(str.encode, texts)))  # type: ignore[arg-type]  # str.encode: UTF-8
        return [None if text is None else content_hash(text.encode()) for text in texts]
    except UnicodeEncodeError:
        for index, text in enumerate(texts, start=first_index):
            if text is not None:
                encode_text(text, index)  # raises the error that names the text
        raise


def _existing(conn: Connection, ids: Sequence[str]) -> dict[str, tuple[int, str | None]]:
    found: dict[str, tuple[int, str | None]] = {}
    for chunk in chunked(list(ids)):
        rows = conn.fetchall(select_in_sql(DOCUMENTS, ["id", "rowid", "text"], "id", len(chunk)), list(chunk))
        for doc_id, rowid, text in rows:
            found[doc_id] = (int(rowid), text)
    return found


def _skip_existing(rows: PreparedRows, existing: dict[str, tuple[int, str | None]]) -> tuple[PreparedRows, list[int]]:
    """The rows whose ids are not stored yet, and their positions in ``rows``."""
    keep = [i for i, doc_id in enumerate(rows.ids) if doc_id not in existing]
    new_position = {old: new for new, old in enumerate(keep)}
    vectors = [(j, new_position[i]) for j, i in enumerate(rows.vector_positions()) if i in new_position]
    picked = [j for j, _ in vectors]

    def pick(values: list[Any], positions: list[int]) -> list[Any]:
        return [values[i] for i in positions]

    windows = None
    if rows.windows is not None:
        moved = {old: new for new, old in enumerate(picked)}
        kept_windows = [w for w, owner in enumerate(rows.windows.owners) if owner in moved]
        windows = ExtraWindows(
            [moved[rows.windows.owners[w]] for w in kept_windows], rows.windows.vectors[kept_windows]
        )

    kept = PreparedRows(
        ids=pick(rows.ids, keep),
        texts=pick(rows.texts, keep),
        metadatas=pick(rows.metadatas, keep),
        hashes=pick(rows.hashes, keep),
        vector_blobs=pick(rows.vector_blobs, picked),
        code_blobs=pick(rows.code_blobs, picked),
        unit=rows.unit[picked],
        vector_rows=[i for _, i in vectors],
        windows=windows,
    )
    return kept, keep


def _fts_rows(pairs: Any) -> list[tuple[int, str]]:
    """``(rowid, text)`` pairs of the documents that have a text (the only ones in FTS)."""
    return [(rowid, text) for rowid, text in pairs if text is not None]


def _new_fts_rows(rowids: Sequence[int], texts: list[str | None]) -> Any:
    """:func:`_fts_rows` of a batch: the pairs themselves, unfiltered, when every text is present."""
    return zip(rowids, texts) if None not in texts else _fts_rows(zip(rowids, texts))


def _has_vector_tables(conn: Connection) -> bool:
    return conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (VEC_INDEX,)) is not None


def upsert(
    conn: Connection, codec: VectorCodec | None, rows: PreparedRows, *, on_conflict: OnConflict = "replace"
) -> WriteResult:
    """Insert documents (by id) with their FTS rows and vectors, atomically.

    Args:
        conn: The connection.
        codec: The store's vector codec (the one ``rows`` were prepared with; ``None``
            while the store has no vectors).
        rows: The batch, from :func:`prepare_rows`.
        on_conflict: For ids already stored: ``"replace"`` them, ``"skip"`` those rows
            (the stored documents stay), or ``"fail"`` (raise, write nothing). Checked
            inside the write transaction, so a concurrent writer cannot slip in between.

    Raises:
        DuplicateDocumentError: ``on_conflict="fail"`` and some ids are stored already
            (the transaction is rolled back: nothing of the batch is written).
    """
    documents = quote_identifier(DOCUMENTS)
    with conn.transaction():
        existing = _existing(conn, rows.ids)
        written: list[int] | None = None
        if existing and on_conflict == "fail":
            raise DuplicateDocumentError.for_ids([i for i in rows.ids if i in existing])
        if existing and on_conflict == "skip":
            rows, written = _skip_existing(rows, existing)
            existing = {}
            if not rows.ids:
                generation = int(conn.scalar("SELECT value FROM ogma_config WHERE key = 'generation'") or 0)
                return WriteResult([], generation, generation, [])
        next_rowid = int(conn.scalar(f"SELECT COALESCE(MAX(rowid), 0) FROM {documents}")) + 1
        new_rows: list[tuple[Any, ...]]
        updated: list[tuple[Any, ...]] = []
        fresh: range | None = None
        if not existing:  # the bulk-load case: every row is new, their rowids one run
            fresh = range(next_rowid, next_rowid + len(rows.ids))
            rowids = list(fresh)
            new_rows = list(zip(rowids, rows.ids, rows.texts, rows.metadatas, rows.hashes))
        else:
            rowids, new_rows = [], []
            for doc_id, text, meta, digest in zip(rows.ids, rows.texts, rows.metadatas, rows.hashes):
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
            conn.executemany(fts_delete_sql(FTS), _fts_rows(old))
            if codec is not None or _has_vector_tables(conn):
                delete_vectors(conn, [rowid for rowid, _ in old])
            conn.executemany(
                f"UPDATE {documents} SET text = ?, metadata = ?, content_hash = ? WHERE rowid = ?", updated
            )
            index_metadata(conn, [row[-1] for row in updated])
        if new_rows:
            conn.executemany(insert_sql(DOCUMENTS, ["rowid", "id", "text", "metadata", "content_hash"]), new_rows)
            index_metadata(conn, fresh if fresh is not None else [row[0] for row in new_rows], fresh=True)
        conn.executemany(insert_sql(FTS, ["rowid", "text"]), _new_fts_rows(rowids, rows.texts))
        vector_rowids = rowids if rows.vector_rows is None else [rowids[i] for i in rows.vector_rows]
        if codec is not None and vector_rowids:
            write_vectors(conn, codec, vector_rowids, rows.vector_blobs, rows.code_blobs)
            if rows.windows is not None:
                write_windows(conn, vector_rowids, rows.windows)
        new_generation = bump_generation(conn)
    return WriteResult(rowids, new_generation - 1, new_generation, written, vector_rowids, rows.unit)


def delete(
    conn: Connection, ids: Sequence[str] | None, *, where: tuple[str, Sequence[Any]] | None = None
) -> WriteResult:
    """Delete documents atomically: by id (missing ids are ignored), by a metadata condition, or both.

    Args:
        conn: The connection.
        ids: Ids to delete, or None for every document matching ``where``.
        where: A compiled filter ``(sql, params)`` over ``ogma_documents``; with ``ids``,
            only those ids that also match are deleted.
    """
    documents = quote_identifier(DOCUMENTS)
    with conn.transaction():
        existing = _existing(conn, list(dict.fromkeys(ids))) if ids is not None else None
        if where is not None:
            sql, params = where
            matching = {
                doc_id: (int(rowid), text)
                for doc_id, rowid, text in conn.fetchall(f"SELECT id, rowid, text FROM {documents} WHERE {sql}", params)
            }
            existing = matching if existing is None else {k: v for k, v in existing.items() if k in matching}
        if not existing:
            generation = int(conn.scalar("SELECT value FROM ogma_config WHERE key = 'generation'") or 0)
            return WriteResult([], generation, generation)
        old = list(existing.values())
        rowids = [rowid for rowid, _ in old]
        conn.executemany(fts_delete_sql(FTS), _fts_rows(old))
        if _has_vector_tables(conn):
            delete_vectors(conn, rowids)
        for chunk in chunked(rowids):
            conn.execute(f"DELETE FROM {documents} WHERE rowid IN ({', '.join('?' * len(chunk))})", list(chunk))
        drop_facets(conn, rowids)
        new_generation = bump_generation(conn)
    return WriteResult(rowids, new_generation - 1, new_generation)
