"""Dense and lexical candidate generation over one connection.

Dense search runs on the in-process mirror (``backend="memory"``, the default) or
through sqlite-vec's ``vec0`` index (``backend="sqlite-vec"``). Quantized indexes
(int8, binary) give candidates by their own score; the search pipeline
(:mod:`ogma.store.pipeline`) asks for ``count × oversample`` of them, or, for a binary
index without an explicit ``oversample``, for as many as the query's own Hamming
distances call for (:class:`ogma.store.sqlite.mirror.AdaptiveDepth`), and rescores them
exactly with the stored float vectors. For a binary index the mirror's int8 copy first
estimates the candidates' cosines with an error bound (:func:`exact_shortlist`): only the
candidates whose bound reaches the best exact cosines are read from SQLite and rescored,
which gives the same top results as rescoring every candidate. A metadata filter is applied inside candidate
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
import threading
import weakref
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ogma.compress import normalize_in_place
from ogma.store.pipeline import exact_cosines
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.filters import RowSet
from ogma.store.sqlite.mirror import AdaptiveDepth, MirrorSnapshot, VectorMirror
from ogma.store.sqlite.schema import read_generation, search_generation
from ogma.store.sqlite.sql import DOCUMENTS, fts_search_sql, quote_identifier
from ogma.store.sqlite.vectors import (
    VectorCodec,
    count_vectors,
    fetch_matrix,
    iter_vectors,
    vec0_search,
)

__all__ = [
    "BACKENDS",
    "Backend",
    "MapBudget",
    "bounded_shortlist",
    "dense",
    "dense_arrays",
    "exact_shortlist",
    "lexical",
    "read_blocks",
    "scanning",
    "select_rowids",
    "with_float_vectors",
]

logger = logging.getLogger(__name__)

Backend = Literal["memory", "sqlite-vec"]
BACKENDS: tuple[Backend, ...] = ("memory", "sqlite-vec")

FloatArray = npt.NDArray[np.float32]
Ranked = list[tuple[int, float]]

ESTIMATE_SLACK = 1e-4
"""Added to every int8 error bound: covers float32 rounding in the estimate and the exact cosine."""


@contextmanager
def _unmapped(conn: Connection) -> Iterator[None]:
    """Reads through SQLite's bounded page cache instead of the memory map, for the block.

    Every page a mapped read touches stays resident in this process (with the kernel's
    fault-around, 64 KiB or more per random row), counted in its RSS until the map goes; switching
    the map off unmaps them. Pages read meanwhile go through SQLite's page cache (``cache_size``).
    """
    mapped = conn.scalar("PRAGMA mmap_size")
    conn.execute("PRAGMA mmap_size = 0")
    try:
        yield
    finally:
        conn.execute(f"PRAGMA mmap_size = {int(mapped or 0)}")


SCAN_CACHE_KIB = 2048
"""SQLite's page cache (KiB) while a full scan reads every vector (see :func:`scanning`)."""


@contextmanager
def scanning(conn: Connection) -> Iterator[None]:
    """A full scan of the vectors: unmapped (:func:`_unmapped`), through a page cache of
    :data:`SCAN_CACHE_KIB` instead of the connection's own.

    A scan reads each page once, so a large cache gains nothing; at its usual size (64 MiB) it
    would fill with vector pages no later search reads and hold them in this process until they
    are evicted. Shrinking the cache frees its pages; the usual size comes back afterwards.
    """
    size = conn.scalar("PRAGMA cache_size")
    conn.execute(f"PRAGMA cache_size = {-SCAN_CACHE_KIB}")
    try:
        with _unmapped(conn):
            yield
    finally:
        conn.execute(f"PRAGMA cache_size = {int(size)}")


VEC0_CHUNK_ROWS = 1024
"""Vectors per chunk of sqlite-vec's ``vec0`` table (its default ``chunk_size``; Ogma does not change it)."""

PAGE_TOUCH = 64 * 1024
"""What one random mapped read of a small row leaves resident: the kernel maps 64 KiB around a faulting page."""


def read_blocks(codec: VectorCodec) -> tuple[int, int]:
    """How random mapped reads of stored float vectors stay resident: ``(rows per block, bytes per block)``.

    A float32 store keeps its vectors only in ``vec0``, in blobs of :data:`VEC0_CHUNK_ROWS`
    vectors (1 MiB at 256 dimensions) spread over overflow pages; SQLite reaches a vector by
    walking the blob's chain of pages from its start, so reads into one blob leave up to all
    of it resident. A plain table row (``ogma_vectors``) touches one page and the kernel maps
    :data:`PAGE_TOUCH` around it. Blocks are counted by rowid (rows are appended in rowid
    order, so a block of consecutive rowids is about one blob or one mapped span).

    Example:
        >>> rows, size = read_blocks(VectorCodec("float32", 256, exact_in_index=True))
        >>> rows, size // 1024  # a 1 MiB blob of 1,024 vectors
        (1024, 1024)
    """
    if codec.exact_in_index:
        return VEC0_CHUNK_ROWS, max(PAGE_TOUCH, VEC0_CHUNK_ROWS * codec.dim * 4)
    return max(1, PAGE_TOUCH // (codec.dim * 4)), PAGE_TOUCH


class MapBudget:
    """Bounds what random reads through a connection's memory map keep resident in this process.

    Every page a mapped read touches stays in the RSS until the map goes (see :func:`_unmapped`),
    so reading the float vectors of a few candidates per query grows it, query after query, to
    the whole table. Reading them unmapped instead costs several times as long (a ``vec0`` read
    walks its blob's page chain through SQLite's page cache, one read call per page). So reads
    stay mapped, and each connection is charged the blocks its reads may have left resident
    (:func:`read_blocks`, each block once); past ``limit`` bytes the map is dropped (its pages
    leave the RSS; the next read maps the file again) and the count starts over.

    Example:
        >>> import numpy as np
        >>> from ogma.store.sqlite.connect import connect
        >>> conn = connect(":memory:")
        >>> budget = MapBudget(limit=2 * 65536)
        >>> for rowid in (1, 2, 5000, 9000):  # the first two share a block
        ...     budget.charge(conn, np.array([rowid]), rows_per_block=1000, block_bytes=65536)
        >>> budget.drops
        1
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.drops = 0
        self._seen: weakref.WeakKeyDictionary[Connection, set[int]] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()  # one connection per thread: the connections share the dictionary

    def charge(self, conn: Connection, rowids: npt.NDArray[np.int64], *, rows_per_block: int, block_bytes: int) -> None:
        """Count the blocks of ``rowids`` read through ``conn``'s map; drop the map once past the limit."""
        blocks = (np.asarray(rowids, dtype=np.int64) // rows_per_block).tolist()
        with self._lock:
            seen = self._seen.setdefault(conn, set())
            seen.update(blocks)
            full = len(seen) * block_bytes > self.limit
            if full:
                self.drops += 1
                seen.clear()
        if full:  # only this thread uses conn
            with _unmapped(conn):
                pass


def _reload(
    conn: Connection, codec: VectorCodec, *, signs_only: bool
) -> Iterator[tuple[npt.NDArray[np.int64], FloatArray]]:
    """Every stored vector, in batches of 1 MiB, read without the memory map.

    A full scan through the map would leave every page of the vectors resident in this
    process (a second copy of the vectors in its RSS, beside the mirror); read through
    a small page cache instead (:func:`scanning`). Each batch is normalised in place.
    """
    with scanning(conn):
        for rowids, matrix in iter_vectors(conn, codec):
            yield rowids, matrix if signs_only else normalize_in_place(matrix)  # sign bits need no unit length


def select_rowids(conn: Connection, sql: str, params: Sequence[Any]) -> npt.NDArray[np.int64]:
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
            select_rowids(conn, f"SELECT rowid FROM {quote_identifier(DOCUMENTS)} WHERE {filter_sql}", params)
        )
    found = snapshot.positions(select_rowids(conn, rows.sql, rows.params))
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
    snapshot, positions = _synced(conn, mirror, filter_sql, filter_params, filter_rows)
    rowids, scores = snapshot.candidates(unit_query, count, positions, adaptive=adaptive if binary else None)
    return rowids, scores.astype(np.float64)


def _synced(
    conn: Connection,
    mirror: VectorMirror,
    filter_sql: str | None,
    filter_params: Sequence[Any],
    filter_rows: RowSet | None,
) -> tuple[MirrorSnapshot, npt.NDArray[np.intp] | None]:
    """The mirror at the store's generation, and the positions passing the filter (``None``: no filter)."""
    codec = mirror.codec
    signs_only = codec.precision == "binary" and not mirror.int8_copy
    snapshot = mirror.sync(
        search_generation(conn), lambda: _reload(conn, codec, signs_only=signs_only), lambda: count_vectors(conn, codec)
    )
    if filter_sql is None:
        return snapshot, None
    return snapshot, _passing_positions(conn, snapshot, filter_sql, filter_params, filter_rows)


def exact_shortlist(
    conn: Connection,
    mirror: VectorMirror,
    unit_query: FloatArray,
    count: int,
    *,
    filter_sql: str | None = None,
    filter_params: Sequence[Any] = (),
    filter_rows: RowSet | None = None,
    adaptive: AdaptiveDepth | None = None,
) -> tuple[Ranked, FloatArray]:
    """Binary candidates for exact rescoring to ``count`` results, with their float vectors, best first.

    The same top ``count`` by exact cosine as :func:`with_float_vectors` over every candidate
    of :func:`dense_arrays`, reading fewer rows: the mirror's int8 copy estimates each
    candidate's cosine, with a bound on its error (:class:`ogma.store.sqlite.mirror.Int8Copy`).
    The ``count`` best estimates are read first; their exact cosines give the ``count``-th best
    exact score, and only candidates whose estimate plus bound reaches it are read next. Every
    other candidate scores below ``count`` exact cosines already read, so it cannot be in the top
    ``count``. On clustered 300,000 × 256 data (``docs/benchmarks.md``): 117 rows read of 2,691
    candidates (p50).

    Falls back to reading every candidate when the mirror keeps no int8 copy.
    """
    codec = mirror.codec
    snapshot, passing = _synced(conn, mirror, filter_sql, filter_params, filter_rows)
    positions, scores = snapshot.candidate_positions(unit_query, count, passing, adaptive=adaptive)
    rowids = snapshot.rowids[positions]
    hamming = scores.astype(np.float64)
    if snapshot.approx is None or positions.shape[0] <= count:
        return with_float_vectors(conn, codec, rowids, hamming)
    estimate, bound = snapshot.approx.estimates(unit_query, positions)
    with _unmapped(conn):  # a few hundred random rows: the map would keep ~64 KiB resident for each
        return bounded_shortlist(conn, codec, unit_query, count, rowids, hamming, estimate, bound)


def bounded_shortlist(
    conn: Connection,
    codec: VectorCodec,
    unit_query: FloatArray,
    count: int,
    rowids: npt.NDArray[np.int64],
    scores: npt.NDArray[np.float64],
    estimate: FloatArray,
    bound: FloatArray,
) -> tuple[Ranked, FloatArray]:
    """Candidates that can reach the exact top ``count``, with their float vectors, best first by ``scores``.

    ``estimate`` is each candidate's estimated cosine with the unit query and ``bound`` the most
    it can be off by. The float vectors of the ``count`` best estimates are read first; their
    exact cosines give the ``count``-th best exact score, and only candidates whose estimate plus
    bound reaches it are read next: every other one scores below ``count`` exact cosines already
    read. The search pipeline rescores what comes back exactly.
    """
    order = np.argsort(-estimate, kind="stable")
    first, rest = order[:count], order[count:]
    ranked, matrix = with_float_vectors(conn, codec, rowids[first], scores[first])
    if len(ranked) < count:  # vectors gone since the estimates were made: no bound to prune with
        more = rest
    else:
        exact = exact_cosines(matrix, unit_query)
        kth = float(np.partition(exact, len(ranked) - count)[len(ranked) - count])
        more = rest[estimate[rest] + bound[rest] + ESTIMATE_SLACK >= kth]
    if more.shape[0] == 0:
        return ranked, matrix
    extra, extra_matrix = with_float_vectors(conn, codec, rowids[more], scores[more])
    keys = np.array([key for key, _ in ranked] + [key for key, _ in extra], dtype=np.int64)
    values = np.array([score for _, score in ranked] + [score for _, score in extra], dtype=np.float64)
    merged = np.lexsort((keys, -values))
    both = np.concatenate([matrix, extra_matrix])
    return list(zip(keys[merged].tolist(), values[merged].tolist())), both[merged]


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
