"""Dense and lexical candidate generation over one connection.

Dense search runs on the in-process mirror (``backend="memory"``, the default) or
through sqlite-vec's ``vec0`` index (``backend="sqlite-vec"``). Quantized indexes
(int8, binary) give candidates by their own score; the search pipeline
(:mod:`ogma.store.pipeline`) asks for ``count × oversample`` of them, or, for a binary
index without an explicit ``oversample``, for as many as the query's own Hamming
distances call for (:class:`ogma.store.sqlite.mirror.AdaptiveDepth`), and rescores them
exactly with the stored float vectors. A metadata filter is applied inside candidate
generation: only rows that pass it are ranked. The passing rows come from the metadata
facets' index (:mod:`ogma.store.sqlite.facets`), once per filter and store generation,
and are cached on the mirror's snapshot; a write (documents,
vectors or metadata) makes a new snapshot, so a cached result is never reused after one.

Example:
    >>> from ogma.store.sqlite.search import lexical
    >>> callable(lexical)
    True
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ogma.compress import normalize
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.filters import RowSet
from ogma.store.sqlite.mirror import AdaptiveDepth, MirrorSnapshot, VectorMirror
from ogma.store.sqlite.schema import read_generation, search_generation
from ogma.store.sqlite.sql import DOCUMENTS, fts_search_sql, quote_identifier
from ogma.store.sqlite.vectors import VectorCodec, count_vectors, fetch_matrix, iter_vectors, vec0_search

__all__ = ["BACKENDS", "Backend", "dense", "dense_arrays", "lexical", "with_float_vectors"]

logger = logging.getLogger(__name__)

Backend = Literal["memory", "sqlite-vec"]
BACKENDS: tuple[Backend, ...] = ("memory", "sqlite-vec")

FloatArray = npt.NDArray[np.float32]
Ranked = list[tuple[int, float]]


def _reload(
    conn: Connection, codec: VectorCodec, *, signs_only: bool
) -> Iterator[tuple[npt.NDArray[np.int64], FloatArray]]:
    """Every stored vector, in batches, read without the memory map.

    A full scan through the map would leave every page of the vectors resident in this
    process (a second copy of the vectors in its RSS, beside the mirror); read through
    SQLite's bounded page cache instead, and map again for the random reads of rescoring.
    """
    mapped = conn.scalar("PRAGMA mmap_size")
    conn.execute("PRAGMA mmap_size = 0")
    try:
        for rowids, matrix in iter_vectors(conn, codec):
            yield rowids, matrix if signs_only else normalize(matrix)  # sign bits do not need unit length
    finally:
        conn.execute(f"PRAGMA mmap_size = {int(mapped or 0)}")


def _rowids(conn: Connection, sql: str, params: Sequence[Any]) -> npt.NDArray[np.int64]:
    """The rowids a one-column query returns, as an array.

    They travel as one comma-separated text (``group_concat``) parsed by numpy: five to
    six times faster than a Python tuple per row at 10,000 rows.
    """
    text = conn.scalar(f"WITH passing(rowid) AS ({sql}) SELECT group_concat(rowid) FROM passing", list(params))
    if not text:
        return np.zeros(0, dtype=np.int64)
    return np.fromstring(text, dtype=np.int64, sep=",")


def _passing(
    conn: Connection, snapshot: MirrorSnapshot, filter_sql: str, params: Sequence[Any], rows: RowSet | None
) -> npt.NDArray[np.intp]:
    """Mirror positions of the rows that pass the filter.

    From the facets index alone when the filter has a rowid set (``rows``: no read of the
    documents table; a complement is taken against the mirror's rows), else the rows of the
    documents table the SQL expression selects.
    """
    if rows is None:
        return snapshot.positions(
            _rowids(conn, f"SELECT rowid FROM {quote_identifier(DOCUMENTS)} WHERE {filter_sql}", params)
        )
    found = snapshot.positions(_rowids(conn, rows.sql, rows.params))
    if not rows.complement:
        return found
    keep = np.ones(snapshot.size, dtype=bool)
    keep[found] = False
    return np.flatnonzero(keep).astype(np.intp)


def _passing_positions(
    conn: Connection,
    snapshot: MirrorSnapshot,
    filter_sql: str,
    filter_params: Sequence[Any],
    rows: RowSet | None = None,
) -> npt.NDArray[np.intp]:
    """Mirror positions of the rows that pass the filter, cached on the snapshot (one generation).

    The key is the compiled SQL and its typed parameters. A result is cached only when the
    change counter still reads the snapshot's generation after the query: no write
    committed in between, so it is the filter's result at that generation.
    """
    key = (filter_sql, tuple((type(p).__name__, p) for p in filter_params))
    positions = snapshot.cached_positions(key)
    if positions is None:
        positions = _passing(conn, snapshot, filter_sql, filter_params, rows)
        if read_generation(conn) == snapshot.generation:
            snapshot.cache_positions(key, positions)
    return positions


def dense_arrays(
    conn: Connection,
    mirror: VectorMirror,
    unit_query: FloatArray,
    count: int,
    *,
    filter_sql: str | None = None,
    filter_params: Sequence[Any] = (),
    filter_rows: RowSet | None = None,
    backend: Backend = "memory",
    adaptive: AdaptiveDepth | None = None,
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    """:func:`dense` as arrays: ``(rowids, scores)``, best first.

    ``filter_rows`` (the filter's rowid set in the facets table, when it has one) finds the
    passing rows of the in-process index without reading the documents table.
    """
    codec = mirror.codec
    if count <= 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    if backend == "sqlite-vec":
        rows = vec0_search(conn, codec, unit_query, count, filter_sql=filter_sql, filter_params=filter_params)
        return (
            np.fromiter((rowid for rowid, _ in rows), dtype=np.int64, count=len(rows)),
            np.fromiter((1.0 - distance for _, distance in rows), dtype=np.float64, count=len(rows)),
        )
    binary = codec.precision == "binary"
    snapshot = mirror.sync(
        search_generation(conn), lambda: _reload(conn, codec, signs_only=binary), lambda: count_vectors(conn, codec)
    )
    positions = None
    if filter_sql is not None:
        positions = _passing_positions(conn, snapshot, filter_sql, filter_params, filter_rows)
    rowids, scores = snapshot.candidates(unit_query, count, positions, adaptive=adaptive if binary else None)
    return rowids, scores.astype(np.float64)


def dense(conn: Connection, mirror: VectorMirror, unit_query: FloatArray, count: int, **options: Any) -> Ranked:
    """The ``count`` best candidates of the dense index as ``(rowid, score)``, best first.

    The options (``filter_sql``, ``filter_params``, ``filter_rows``, ``backend``, ``adaptive``) are those of
    :func:`dense_arrays`. For a float32 index the score is the exact cosine similarity; for a
    quantized one it is the index's own score, and the search pipeline
    (:mod:`ogma.store.pipeline`) rescores the candidates with the stored float vectors. With
    ``adaptive`` (a binary index on the in-process mirror), ``count`` is the number of results
    wanted and the index's own distances decide how many candidates come back
    (:class:`ogma.store.sqlite.mirror.AdaptiveDepth`).
    """
    rowids, scores = dense_arrays(conn, mirror, unit_query, count, **options)
    return [(int(r), float(s)) for r, s in zip(rowids.tolist(), scores.tolist())]


def with_float_vectors(
    conn: Connection, codec: VectorCodec, rowids: npt.NDArray[np.int64], scores: npt.NDArray[np.float64]
) -> tuple[Ranked, FloatArray]:
    """Quantized candidates with their stored float vectors (read in one pass), best first.

    Candidates whose vector is gone are left out; the vectors' rows follow the ranking.
    """
    if rowids.shape[0] == 0:
        return [], np.zeros((0, codec.dim), dtype=np.float32)
    by_rowid = np.argsort(rowids, kind="stable")
    sorted_ids = rowids[by_rowid]
    found, matrix = fetch_matrix(conn, codec, sorted_ids.tolist())
    found_scores = scores[by_rowid[np.searchsorted(sorted_ids, found)]]
    order = np.argsort(-found_scores, kind="stable")
    ranked: Ranked = list(zip(found[order].tolist(), found_scores[order].tolist()))
    return ranked, matrix[order]


def lexical(
    conn: Connection,
    match: str | None,
    count: int,
    *,
    filter_sql: str = "1",
    filter_params: Sequence[Any] = (),
) -> Ranked:
    """BM25 over FTS5 as ``(rowid, score)``, best first; the score is positive (higher is better)."""
    if match is None or count <= 0:
        return []
    rows = conn.fetchall(fts_search_sql(filter_sql), [match, *filter_params, count])
    return [(int(r), float(s)) for r, s in rows]
