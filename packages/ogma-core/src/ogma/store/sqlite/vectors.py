"""The vector tables: encoding search codes, writing and reading vectors, sqlite-vec KNN.

Two tables hold a store's vectors (see :mod:`ogma.store.sqlite.schema`):

* ``ogma_vec`` is the sqlite-vec ``vec0`` index of the *search codes*. Any SQLite
  with sqlite-vec can query it, and ``backend="sqlite-vec"`` searches through it.
* ``ogma_vectors`` keeps each vector exactly as it was given (float32 blob) when the
  index is quantized (int8 codes or sign bits of the L2-normalised vectors): exact
  rescoring, ``include_embeddings`` and the in-process index
  (:mod:`ogma.store.sqlite.mirror`) read it.

A float32 index (schema 3 and later) holds the exact vectors themselves (its cosine
metric does not need unit length), so ``ogma_vectors`` stays empty: the vectors are
written once, not twice, which makes ingest faster and the file smaller. Reading them
back out of ``vec0`` is slower (a full scan about 3x, a single rowid about 100x a
plain table), which only the first search (loading the in-process index) and
``include_embeddings`` feel. Files from earlier versions keep both tables
(``VectorCodec.exact_in_index`` is false for them).

Example:
    >>> import numpy as np
    >>> codec = VectorCodec("binary", 8)
    >>> codec.codes(np.array([[1, -1, 1, -1, 1, -1, 1, -1]], dtype=np.float32)).tolist()
    [[85]]
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.compress import Int8Ranges, normalize, quantize_binary, quantize_int8
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.schema import IndexPrecision
from ogma.store.sqlite.sql import (
    VEC_INDEX,
    VECTORS,
    chunked,
    delete_in_sql,
    quote_identifier,
    select_in_sql,
    vec_knn_sql,
)
from ogma.store.sqlite.windows import delete_windows

__all__ = [
    "READ_BATCH_BYTES",
    "VEC0_KNN_LIMIT",
    "VectorCodec",
    "batch_rows",
    "count_vectors",
    "delete_vectors",
    "fetch_matrix",
    "fetch_vectors",
    "iter_vectors",
    "vec0_search",
    "write_vectors",
]

VEC0_KNN_LIMIT = 4096
"""sqlite-vec refuses ``k`` above this in a KNN query; larger requests use a full scan."""

READ_BATCH_BYTES = 2**20
"""Float32 vector bytes :func:`iter_vectors` reads per batch (682 rows at 384-d, 1,024 at 256-d).

A bulk read (loading the in-process index, building the graph) holds one batch of rows at
a time: SQLite's blobs, the matrix and whatever the caller derives from it. Bounded by bytes
rather than rows, so that its transient memory does not grow with the dimension. Loading a
100,000 × 384-d index with 1 MiB batches peaked 13 MB (float32) and 21 MB (binary) lower than
with 4 MiB ones, and took no longer (``docs/benchmarks.md``, "Peak memory at 100,000 × 384-d")."""

FloatArray = npt.NDArray[np.float32]

_VEC_FUNCTION = {"float32": "", "int8": "vec_int8", "binary": "vec_bit"}
_DISTANCE_FUNCTION = {"float32": "vec_distance_cosine", "int8": "vec_distance_cosine", "binary": "vec_distance_hamming"}


class VectorCodec:
    """Turns unit vectors into the search codes of one precision.

    Args:
        precision: ``"float32"``, ``"int8"`` or ``"binary"``.
        dim: Vector dimension.
        ranges: int8 quantization ranges (``None`` means sqlite-vec's fixed ``'unit'`` ranges).
        exact_in_index: The ``vec0`` index holds the exact vectors (float32 stores of
            schema 3+), so there is no separate copy in ``ogma_vectors``.

    Example:
        >>> import numpy as np
        >>> VectorCodec("int8", 2).codes(np.array([[1.0, -1.0]], dtype=np.float32)).tolist()
        [[126, -128]]
    """

    def __init__(
        self, precision: IndexPrecision, dim: int, ranges: Int8Ranges | None = None, *, exact_in_index: bool = False
    ) -> None:
        if exact_in_index and precision != "float32":
            raise ValueError("only a float32 index can hold the exact vectors")
        self.precision = precision
        self.dim = dim
        self.exact_in_index = exact_in_index
        self.ranges = ranges if ranges is not None else Int8Ranges.unit(dim)
        self.function = _VEC_FUNCTION[precision]
        self.distance_function = _DISTANCE_FUNCTION[precision]

    def codes(self, unit: FloatArray) -> npt.NDArray[Any]:
        """Search codes of ``(n, dim)`` unit vectors: float32, int8 or packed bits (uint8)."""
        if self.precision == "float32":
            return np.ascontiguousarray(unit, dtype=np.float32)
        if self.precision == "int8":
            return quantize_int8(unit, self.ranges)
        return quantize_binary(unit)

    def int8_query(self, query: FloatArray) -> npt.NDArray[np.int8]:
        """The int8 query whose dot product with int8 codes ranks like ``query · dequantized(codes)``.

        Dequantization is affine per dimension (``x = (c + 128)·step + low``), so the
        ranking only depends on ``Σ query_j·step_j·c_j``; that weight vector is
        scaled to the int8 range.
        """
        steps = np.maximum((self.ranges.high - self.ranges.low) / 255.0, 1e-12)
        weights = query.astype(np.float32) * steps
        scale = float(np.max(np.abs(weights))) or 1.0
        return np.clip(np.rint(weights / scale * 127.0), -127, 127).astype(np.int8)

    def insert_sql(self) -> str:
        """Insert one row of the ``vec0`` index: parameters rowid, code blob."""
        value = f"{self.function}(?)" if self.function else "?"
        return f"INSERT INTO {quote_identifier(VEC_INDEX)} (rowid, embedding) VALUES (?, {value})"


def write_vectors(
    conn: Connection,
    codec: VectorCodec,
    rowids: Sequence[int],
    vector_blobs: Sequence[bytes],
    code_blobs: Sequence[bytes],
) -> None:
    """Insert exact vectors (float32 bytes) and their search codes for new rowids; call inside a transaction.

    With ``codec.exact_in_index`` the codes are the exact vectors, written once, to the index only.
    """
    if not codec.exact_in_index:
        table = quote_identifier(VECTORS)
        conn.executemany(f"INSERT INTO {table} (rowid, vector) VALUES (?, ?)", zip(rowids, vector_blobs))
    conn.executemany(codec.insert_sql(), zip(rowids, code_blobs))


def delete_vectors(conn: Connection, rowids: Sequence[int]) -> None:
    """Remove the vectors of ``rowids`` (and their extra windows); call inside a transaction."""
    for chunk in chunked(list(rowids)):
        conn.execute(delete_in_sql(VECTORS, "rowid", len(chunk)), list(chunk))
        conn.execute(delete_in_sql(VEC_INDEX, "rowid", len(chunk)), list(chunk))
    delete_windows(conn, rowids)


def fetch_vectors(conn: Connection, codec: VectorCodec, rowids: Sequence[int]) -> dict[int, FloatArray]:
    """The exact stored vectors of ``rowids`` (missing rowids are absent)."""
    dim = codec.dim
    found: dict[int, FloatArray] = {}
    if codec.exact_in_index:
        # vec0 answers ``rowid = ?`` with a point lookup but scans for ``rowid IN (...)``
        sql = f"SELECT embedding FROM {quote_identifier(VEC_INDEX)} WHERE rowid = ?"
        for rowid in dict.fromkeys(int(r) for r in rowids):
            blob = conn.scalar(sql, (rowid,))
            if blob is not None:
                found[rowid] = _vector(blob, dim)
        return found
    for chunk in chunked(list(rowids)):
        for rowid, blob in conn.fetchall(select_in_sql(VECTORS, ["rowid", "vector"], "rowid", len(chunk)), list(chunk)):
            found[int(rowid)] = _vector(blob, dim)
    return found


def fetch_matrix(
    conn: Connection, codec: VectorCodec, rowids: Sequence[int]
) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """The exact stored vectors of ``rowids`` as one matrix: ``(found rowids, (m, dim) float32)``.

    What exact rescoring reads: one query per chunk and one buffer for all rows, instead of
    an array per row. Rowids without a vector are left out; the order is SQLite's.
    """
    if codec.exact_in_index:
        found = fetch_vectors(conn, codec, rowids)
        keys = np.fromiter(found, dtype=np.int64, count=len(found))
        matrix = np.stack(list(found.values())) if found else np.zeros((0, codec.dim), dtype=np.float32)
        return keys, matrix
    id_parts: list[npt.NDArray[np.int64]] = []
    parts: list[FloatArray] = []
    for chunk in chunked(list(rowids)):
        rows = conn.fetchall(select_in_sql(VECTORS, ["rowid", "vector"], "rowid", len(chunk)), list(chunk))
        if rows:
            found_ids, matrix = _unpack(rows, codec.dim)
            id_parts.append(found_ids)
            parts.append(matrix)
    if not parts:
        return np.zeros(0, dtype=np.int64), np.zeros((0, codec.dim), dtype=np.float32)
    return np.concatenate(id_parts), np.concatenate(parts) if len(parts) > 1 else parts[0]


def count_vectors(conn: Connection, codec: VectorCodec) -> int:
    """How many vectors are stored (what :func:`iter_vectors` yields, barring writes in between)."""
    table = VEC_INDEX if codec.exact_in_index else VECTORS
    return int(conn.scalar(f"SELECT count(*) FROM {quote_identifier(table)}") or 0)


def batch_rows(dim: int, batch_bytes: int = READ_BATCH_BYTES) -> int:
    """Rows of ``dim`` float32 values in a batch of at most ``batch_bytes`` (at least one row).

    Example:
        >>> batch_rows(384), batch_rows(256), batch_rows(4096, 1000)
        (682, 1024, 1)
    """
    return max(1, int(batch_bytes) // (4 * int(dim)))


def iter_vectors(
    conn: Connection, codec: VectorCodec, *, batch_bytes: int = READ_BATCH_BYTES
) -> Iterator[tuple[npt.NDArray[np.int64], FloatArray]]:
    """All stored exact vectors as ``(rowids, matrix)`` batches (rowid order for a plain table).

    Each batch holds at most ``batch_bytes`` of vectors (:func:`batch_rows`; at least one
    row). The matrix is a fresh, writable array the caller may change in place (normalise
    it, for instance) without another copy.
    """
    batch_size = batch_rows(codec.dim, batch_bytes)
    if codec.exact_in_index:
        for rows in conn.fetchbatches(f"SELECT rowid, embedding FROM {quote_identifier(VEC_INDEX)}", size=batch_size):
            yield _unpack(rows, codec.dim)
        return
    last = -(2**63)
    table = quote_identifier(VECTORS)
    while True:
        rows = conn.fetchall(
            f"SELECT rowid, vector FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT ?", (last, batch_size)
        )
        if not rows:
            return
        rowids, matrix = _unpack(rows, codec.dim)
        yield rowids, matrix
        last = int(rowids[-1])


def _vector(blob: bytes, dim: int) -> FloatArray:
    return np.frombuffer(blob, dtype="<f4", count=dim).astype(np.float32)


def _unpack(rows: Sequence[tuple[Any, ...]], dim: int) -> tuple[npt.NDArray[np.int64], FloatArray]:
    """Rowids and a writable ``(len(rows), dim)`` float32 matrix of ``(rowid, blob)`` rows."""
    rowids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
    matrix = np.frombuffer(bytearray().join(r[1] for r in rows), dtype="<f4").reshape(len(rows), dim)
    return rowids, matrix.astype(np.float32, copy=False)


def vec0_search(
    conn: Connection,
    codec: VectorCodec,
    unit_query: FloatArray,
    count: int,
    *,
    filter_sql: str | None = None,
    filter_params: Sequence[Any] = (),
    documents_table: str = "ogma_documents",
) -> list[tuple[int, float]]:
    """Candidates from the ``vec0`` index, nearest first, as ``(rowid, distance)``.

    Uses sqlite-vec's KNN when possible; a filter or ``count`` above
    :data:`VEC0_KNN_LIMIT` switches to an exact scan with sqlite-vec's distance
    function, restricted to the filter's rows.
    """
    if count <= 0:
        return []
    blob = codec.codes(unit_query.reshape(1, -1))[0].tobytes()
    if filter_sql is None and count <= VEC0_KNN_LIMIT:
        rows = conn.fetchall(vec_knn_sql(codec.function), (blob, count))
        return [(int(r), float(d)) for r, d in rows]
    arg = f"{codec.function}(?)" if codec.function else "?"
    where = ""
    params: list[Any] = [blob]
    if filter_sql is not None:
        where = f" WHERE rowid IN (SELECT rowid FROM {quote_identifier(documents_table)} WHERE {filter_sql})"
        params.extend(filter_params)
    params.append(count)
    sql = (
        f"SELECT rowid, {codec.distance_function}(embedding, {arg}) AS distance "
        f"FROM {quote_identifier(VEC_INDEX)}{where} ORDER BY distance, rowid LIMIT ?"
    )
    return [(int(r), float(d)) for r, d in conn.fetchall(sql, params)]


def unit_rows(vectors: FloatArray) -> FloatArray:
    """L2-normalised copy of ``vectors`` (zero rows stay zero)."""
    return normalize(vectors)
