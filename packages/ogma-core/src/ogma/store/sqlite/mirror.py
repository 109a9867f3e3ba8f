"""The in-process copy of a store's search codes, kept in sync with the file.

A KNN query through sqlite-vec scans every vector inside SQLite; at a million
vectors that alone costs tens to hundreds of milliseconds. The mirror keeps the
search codes in numpy instead (packed bits, int8 codes or unit float32 rows),
loaded lazily from the float table on the first search, and scores them with
:mod:`ogma.store.sqlite.kernels`. A binary store's mirror also keeps an int8 copy of the
unit vectors (:class:`Int8Copy`, a quarter of the float bytes): it estimates the cosines of
the Hamming candidates, with a bound on each estimate's error, so that exact rescoring reads
only the float vectors of the candidates that can still reach the top results.

Staying in sync: every committed write bumps the store's change counter
(``ogma_config.generation``). This process's own writes are queued as deltas and
applied before the next search; when the counter moved for any other reason
(another process or connection wrote), the mirror reloads from the file.

Example:
    >>> import numpy as np
    >>> from ogma.store.sqlite.vectors import VectorCodec
    >>> mirror = VectorMirror(VectorCodec("binary", 8))
    >>> mirror.replace(np.array([1, 2]), np.array([[1.0] * 8, [-1.0] * 8], dtype=np.float32), generation=0)
    >>> snap = mirror.snapshot()
    >>> snap.candidates(np.array([1.0] * 8, dtype=np.float32), 1)[0].tolist()
    [1]
"""

from __future__ import annotations

import itertools
import logging
import math
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.heap import release_free_heap
from ogma.store.sqlite.kernels import (
    Int8Scorer,
    hamming,
    pack_columns,
    query_words,
    smallest,
    top_indices,
    within_margin,
)
from ogma.store.sqlite.vectors import VectorCodec

__all__ = ["AdaptiveDepth", "Int8Copy", "MirrorSnapshot", "VectorMirror"]

logger = logging.getLogger(__name__)

Int64Array = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float32]

MAX_PENDING = 64
"""Queued write deltas beyond which the mirror is dropped and reloaded instead."""

SCORE_ALL_ABOVE = 0.25
"""Filters passing more than this share of the rows score every vector and keep the passing
scores (a mask); more selective ones gather the passing rows first and score only those."""

SCORE_BLOCK_BYTES = 2**20
"""A selective filter's passing rows are gathered and scored this many bytes of rows at a time:
the copy stays small (at 10% of a million 256-d rows, 1 MiB instead of 100 MB per query), and
blocks that fit the CPU's cache made the gather and product about twice as fast."""

PASSING_ENTRIES = 64
"""Filter results (passing positions) a snapshot keeps, least recently used dropped first."""

PASSING_ROWS_PER_VECTOR = 4
"""Cached passing positions a snapshot may hold in all, per vector (8 bytes each)."""

_INT8_SCORER = Int8Scorer()

ENCODE_BLOCK = 8192
"""Rows :meth:`Int8Copy.of` encodes at a time."""


@dataclass(frozen=True)
class AdaptiveDepth:
    """How many binary candidates a query gets when the store picks the depth (the default).

    Every row whose Hamming distance is within ``z`` standard deviations of the ``k``-th
    smallest (:func:`ogma.store.sqlite.kernels.within_margin`), at least ``minimum × k``
    and at most ``maximum × k`` rows. Chosen by measurement on uniform random,
    clustered and real sentence-embedding vectors (``docs/benchmarks.md``, "Binary
    candidates: adaptive depth").

    Example:
        >>> AdaptiveDepth().z
        3.5
    """

    z: float = 3.5
    minimum: float = 10.0
    maximum: float = 2000.0


@dataclass(frozen=True)
class Int8Copy:
    """An int8 copy of unit vectors: cosine estimates with a bound on their error.

    Each row ``x`` is kept as int8 codes ``c`` and one scale ``s`` (``c = round(x / s)``,
    ``s = max|x| / 127``), and the norm of what rounding lost, ``e = ‖x − s·c‖``. For a unit
    query ``q`` the estimate ``s·(c·q)`` differs from the exact ``x·q`` by at most ``e``
    (Cauchy-Schwarz), so a row whose estimate plus ``e`` stays below the ``k``-th best exact
    cosine cannot be among the best ``k``. ``d + 8`` bytes per row (a quarter of float32).

    Example:
        >>> import numpy as np
        >>> copy = Int8Copy.of(np.array([[0.6, 0.8], [1.0, 0.0]], dtype=np.float32))
        >>> estimate, bound = copy.estimates(np.array([0.0, 1.0], dtype=np.float32), np.array([0, 1]))
        >>> bool(np.all(np.abs(estimate - np.array([0.8, 0.0])) <= bound))
        True
    """

    codes: npt.NDArray[np.int8]
    scales: FloatArray
    bounds: FloatArray

    @classmethod
    def of(cls, unit: FloatArray) -> Int8Copy:
        """The copy of ``(n, d)`` unit vectors (zero rows stay zero, with bound 0).

        Encoded :data:`ENCODE_BLOCK` rows at a time, so the float temporaries stay a few MB.
        """
        rows = np.asarray(unit, dtype=np.float32)
        out = cls.empty(rows.shape[0], rows.shape[1])
        for start in range(0, rows.shape[0], ENCODE_BLOCK):
            block = rows[start : start + ENCODE_BLOCK]
            stop = start + block.shape[0]
            scales = (np.max(np.abs(block), axis=1, initial=0.0) / 127.0).astype(np.float32)
            safe = np.where(scales > 0, scales, 1.0).astype(np.float32)
            codes = np.clip(np.rint(block / safe[:, None]), -127, 127).astype(np.int8)
            lost = block - codes.astype(np.float32) * scales[:, None]
            out.codes[start:stop] = codes
            out.scales[start:stop] = scales
            out.bounds[start:stop] = np.sqrt(np.einsum("ij,ij->i", lost, lost))
        return out

    @classmethod
    def empty(cls, rows: int, dim: int) -> Int8Copy:
        """An uninitialised copy of ``rows`` rows, to be filled with :meth:`put`."""
        return cls(np.empty((rows, dim), dtype=np.int8), np.empty(rows, np.float32), np.empty(rows, np.float32))

    @property
    def size(self) -> int:
        """Number of rows."""
        return int(self.scales.shape[0])

    def put(self, start: int, other: Int8Copy) -> None:
        """Write ``other``'s rows at ``start`` (a copy being filled as batches arrive)."""
        stop = start + other.size
        self.codes[start:stop] = other.codes
        self.scales[start:stop] = other.scales
        self.bounds[start:stop] = other.bounds

    def rows(self, index: Any) -> Int8Copy:
        """The rows at ``index`` (a slice, mask or positions)."""
        return Int8Copy(self.codes[index], self.scales[index], self.bounds[index])

    @staticmethod
    def concat(parts: Sequence[Int8Copy]) -> Int8Copy:
        """The rows of ``parts`` one after the other."""
        return Int8Copy(
            np.concatenate([p.codes for p in parts]),
            np.concatenate([p.scales for p in parts]),
            np.concatenate([p.bounds for p in parts]),
        )

    def estimates(self, unit_query: FloatArray, positions: npt.NDArray[np.intp]) -> tuple[FloatArray, FloatArray]:
        """Estimated cosines of the rows at ``positions`` with a unit query, and their error bounds.

        ``einsum`` rather than a BLAS product: a multi-threaded BLAS call on a few thousand
        rows can wait milliseconds for a busy core, where this takes a fraction of one.
        """
        codes = self.codes[positions].astype(np.float32)
        dots = np.einsum("ij,j->i", codes, np.asarray(unit_query, dtype=np.float32))
        return (dots * self.scales[positions]).astype(np.float32), self.bounds[positions]


@dataclass
class MirrorSnapshot:
    """An immutable view of the mirror at one generation; safe to search from any thread.

    Attributes:
        rowids: ``(n,)`` rowids, in mirror order.
        data: Unit float32 rows ``(n, d)``, int8 codes ``(n, d)`` or packed bits as
            column-major uint64 words ``(words, n)``.
        codec: How queries are encoded.
        generation: The store change counter this snapshot reflects.
        approx: The int8 copy of the unit vectors (binary stores), in mirror order, or ``None``.

    Example:
        >>> import numpy as np
        >>> from ogma.store.sqlite.vectors import VectorCodec
        >>> unit = np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32)
        >>> snap = MirrorSnapshot(np.array([7, 9]), unit, VectorCodec("float32", 2), generation=1)
        >>> snap.candidates(np.array([0.0, 1.0], dtype=np.float32), 1)[0].tolist(), snap.positions([9]).tolist()
        ([9], [1])
    """

    rowids: Int64Array
    data: npt.NDArray[Any]
    codec: VectorCodec
    generation: int
    approx: Int8Copy | None = None
    _order: Int64Array | None = field(default=None, repr=False)
    _dense: bool | None = field(default=None, repr=False)
    _passing: OrderedDict[Hashable, npt.NDArray[np.intp]] = field(default_factory=OrderedDict, repr=False)
    _passing_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def size(self) -> int:
        """Number of vectors."""
        return int(self.rowids.shape[0])

    def positions(self, rowids: Iterable[int]) -> npt.NDArray[np.intp]:
        """Mirror positions of the given rowids (rowids not in the mirror are dropped)."""
        wanted = rowids if isinstance(rowids, np.ndarray) else np.fromiter(rowids, dtype=np.int64)
        if wanted.size == 0 or self.size == 0:
            return np.zeros(0, dtype=np.intp)
        if self._dense is None:  # rowids first..first+n-1 in order (a bulk-loaded store): a position is an offset
            ids = self.rowids
            self._dense = bool(ids[-1] - ids[0] + 1 == ids.shape[0] and np.all(ids[1:] > ids[:-1]))
        if self._dense:
            offsets = wanted - self.rowids[0]
            return np.sort(offsets[(offsets >= 0) & (offsets < self.size)]).astype(np.intp)
        if self._order is None:
            self._order = np.argsort(self.rowids, kind="stable").astype(np.int64)
        sorted_ids = self.rowids[self._order]
        where = np.searchsorted(sorted_ids, wanted)
        where = np.minimum(where, sorted_ids.shape[0] - 1)
        hit = sorted_ids[where] == wanted
        return np.sort(self._order[where[hit]]).astype(np.intp)

    def cached_positions(self, key: Hashable) -> npt.NDArray[np.intp] | None:
        """The positions cached under ``key`` (a compiled filter) at this snapshot's generation, if any."""
        with self._passing_lock:
            found = self._passing.get(key)
            if found is not None:
                self._passing.move_to_end(key)
            return found

    def cache_positions(self, key: Hashable, positions: npt.NDArray[np.intp]) -> None:
        """Keep ``positions`` (the rows passing the filter ``key`` at this generation) for later searches.

        The cache lives and dies with the snapshot: a write makes a new snapshot, so a
        result is never used at another generation. It holds at most
        :data:`PASSING_ENTRIES` results and :data:`PASSING_ROWS_PER_VECTOR` positions per vector.
        """
        budget = PASSING_ROWS_PER_VECTOR * max(self.size, 1)
        if positions.shape[0] > budget:
            return
        positions.setflags(write=False)
        with self._passing_lock:
            self._passing[key] = positions
            self._passing.move_to_end(key)
            held = sum(p.shape[0] for p in self._passing.values())
            while len(self._passing) > PASSING_ENTRIES or held > budget:
                _, dropped = self._passing.popitem(last=False)
                held -= dropped.shape[0]

    def _subset(self, positions: npt.NDArray[np.intp] | None) -> npt.NDArray[Any]:
        if positions is None:
            return self.data
        if self.codec.precision == "binary":
            return self.data[:, positions]
        return self.data[positions]

    def _scores(self, unit_query: FloatArray, positions: npt.NDArray[np.intp] | None) -> npt.NDArray[Any]:
        """The precision's own score (higher is better; Hamming distance for binary) of the passing rows.

        A broad filter scores every row and keeps the passing ones (no copy of the vectors);
        a selective one gathers the passing rows and scores only those.
        """
        mask = positions is not None and positions.shape[0] > SCORE_ALL_ABOVE * self.size
        precision = self.codec.precision
        if precision == "binary":
            packed = self.codec.codes(unit_query.reshape(1, -1))[0]
            scores: npt.NDArray[Any] = hamming(self.data if mask else self._subset(positions), query_words(packed))
        elif mask or positions is None:
            scores = self._row_scores(self.data, unit_query)
        else:  # gathered a block at a time: no copy of every passing row at once
            least = 1 if precision == "float32" else 2048  # int8: blocks big enough for the onnxruntime kernel
            step = max(least, SCORE_BLOCK_BYTES // max(1, self.data.strides[0]))
            scores = np.concatenate(
                [
                    self._row_scores(self.data[positions[start : start + step]], unit_query)
                    for start in range(0, positions.shape[0], step)
                ]
                or [self._row_scores(self.data[:0], unit_query)]
            )
        return scores[positions] if mask else scores

    def _row_scores(self, rows: npt.NDArray[Any], unit_query: FloatArray) -> npt.NDArray[Any]:
        """Float32 or int8 scores of ``rows`` (unit rows or int8 codes) with the query."""
        if self.codec.precision == "float32":
            return rows @ unit_query.astype(np.float32)
        return _INT8_SCORER.scores(rows, self.codec.int8_query(unit_query))

    def candidates(
        self,
        unit_query: FloatArray,
        count: int,
        positions: npt.NDArray[np.intp] | None = None,
        *,
        adaptive: AdaptiveDepth | None = None,
    ) -> tuple[Int64Array, FloatArray]:
        """The ``count`` best rowids by the precision's own score, best first.

        With ``adaptive`` (binary only), ``count`` is the number of results wanted and the
        candidates are every row within the margin of the ``count``-th Hamming distance
        (:class:`AdaptiveDepth`).

        Returns:
            ``(rowids, scores)``; scores are exact cosines for float32 and
            approximate (for ranking only) for int8 and binary.
        """
        chosen, scores = self.candidate_positions(unit_query, count, positions, adaptive=adaptive)
        return self.rowids[chosen], scores

    def candidate_positions(
        self,
        unit_query: FloatArray,
        count: int,
        positions: npt.NDArray[np.intp] | None = None,
        *,
        adaptive: AdaptiveDepth | None = None,
    ) -> tuple[npt.NDArray[np.intp], FloatArray]:
        """:meth:`candidates` as mirror positions (what :attr:`approx` is indexed by) and scores."""
        size = self.size if positions is None else positions.shape[0]
        if size == 0 or count <= 0:
            return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.float32)
        scores = self._scores(unit_query, positions)
        if self.codec.precision != "binary":
            best = top_indices(scores, count)
            return (best if positions is None else positions[best]), scores[best].astype(np.float32)
        distances = scores
        if adaptive is None:
            chosen = smallest(distances, count)
        else:
            chosen = within_margin(
                distances,
                count,
                bits=self.codec.dim,
                z=adaptive.z,
                minimum=math.ceil(count * adaptive.minimum),
                maximum=math.ceil(count * adaptive.maximum),
            )
        order = np.lexsort((chosen, distances[chosen]))
        chosen = chosen[order]
        found = chosen if positions is None else positions[chosen]
        return found.astype(np.intp), -distances[chosen].astype(np.float32)


def _encode(codec: VectorCodec, unit: FloatArray) -> npt.NDArray[Any]:
    codes = codec.codes(unit)
    return pack_columns(codes) if codec.precision == "binary" else np.ascontiguousarray(codes)


def _concat(codec: VectorCodec, parts: list[npt.NDArray[Any]]) -> npt.NDArray[Any]:
    return np.concatenate(parts, axis=1 if codec.precision == "binary" else 0)


def _keep(codec: VectorCodec, data: npt.NDArray[Any], mask: npt.NDArray[np.bool_]) -> npt.NDArray[Any]:
    return data[:, mask] if codec.precision == "binary" else data[mask]


class VectorMirror:
    """The mirror of one store's search codes (thread-safe).

    Args:
        codec: Encodes unit vectors into search codes.
        int8_copy: Also keep an :class:`Int8Copy` of the unit vectors, to estimate the
            cosines of candidates before exact rescoring (default: for a binary index).

    Example:
        >>> from ogma.store.sqlite.vectors import VectorCodec
        >>> VectorMirror(VectorCodec("float32", 4)).loaded, VectorMirror(VectorCodec("binary", 8)).int8_copy
        (False, True)
    """

    def __init__(self, codec: VectorCodec, *, int8_copy: bool | None = None) -> None:
        self.codec = codec
        self.int8_copy = codec.precision == "binary" if int8_copy is None else int8_copy
        self._lock = threading.Lock()
        self._snapshot: MirrorSnapshot | None = None
        self._target = -1
        self._pending: list[tuple[Int64Array, Int64Array, FloatArray | None]] = []

    @property
    def loaded(self) -> bool:
        """Whether a snapshot is held (possibly with queued deltas)."""
        return self._snapshot is not None

    def invalidate(self) -> None:
        """Drop everything; the next :meth:`sync` reloads."""
        with self._lock:
            self._snapshot = None
            self._pending = []
            self._target = -1

    def replace(self, rowids: Int64Array, unit: FloatArray, *, generation: int) -> None:
        """Load the mirror from unit vectors (used by reloads and tests)."""
        snapshot = MirrorSnapshot(
            np.asarray(rowids, dtype=np.int64),
            _encode(self.codec, unit),
            self.codec,
            generation,
            Int8Copy.of(unit) if self.int8_copy else None,
        )
        with self._lock:
            self._snapshot = snapshot
            self._pending = []
            self._target = generation

    def record_write(
        self,
        old_generation: int,
        new_generation: int,
        rowids: Int64Array,
        unit: FloatArray | None,
        *,
        added: Int64Array | None = None,
    ) -> None:
        """Queue this process's committed write (``unit=None`` for a delete) as a delta.

        ``rowids`` are first removed, then (for upserts) ``added`` (default: ``rowids``)
        are added with their new vectors ``unit``, one row each: an upsert of documents
        without vectors passes all its rowids and only those with a vector in ``added``.
        """
        with self._lock:
            if self._snapshot is None:
                return
            if self._target != old_generation or len(self._pending) >= MAX_PENDING:
                self._snapshot = None
                self._pending = []
                self._target = -1
                return
            removed = np.asarray(rowids, dtype=np.int64)
            self._pending.append((removed, removed if added is None else np.asarray(added, dtype=np.int64), unit))
            self._target = new_generation

    def sync(
        self,
        generation: int,
        reload: Callable[[], Iterable[tuple[Int64Array, FloatArray]]],
        size: Callable[[], int] | None = None,
    ) -> MirrorSnapshot:
        """A snapshot at ``generation``: apply queued deltas, or reload from ``reload()``'s
        ``(rowids, unit vectors)`` batches (``size()``, when given, is about how many rows
        come: the codes are then written into one array as they arrive, not copied at the end).
        The batches must be unit vectors when the mirror keeps an :class:`Int8Copy`; else,
        for a binary index, any vectors with the same signs do."""
        with self._lock:
            snapshot = self._snapshot
            if snapshot is not None and self._target == generation:
                if self._pending:
                    snapshot = self._apply(snapshot, self._pending, generation)
                    self._snapshot = snapshot
                    self._pending = []
                return snapshot
            logger.debug("loading the vector mirror (generation %d)", generation)
            rowids, data, approx = self._load(reload(), size)
            release_free_heap(rowids.shape[0] * 4 * self.codec.dim)  # the float batches read, freed in the heap
            snapshot = MirrorSnapshot(rowids, data, self.codec, generation, approx)
            self._snapshot = snapshot
            self._pending = []
            self._target = generation
            return snapshot

    def _load(
        self, batches: Iterable[tuple[Int64Array, FloatArray]], size: Callable[[], int] | None
    ) -> tuple[Int64Array, npt.NDArray[Any], Int8Copy | None]:
        """Rowids, codes and int8 copy of every batch. With a size, the codes go into an array of
        that size as they arrive (peak memory: the codes plus one batch); rows beyond it are appended."""
        codec = self.codec
        batches = iter(batches)
        first = next(batches, None)  # started first: the reader's own setup comes before the count
        expected = max(0, size()) if size is not None and first is not None else 0
        binary = codec.precision == "binary"
        empty = _encode(codec, np.zeros((0, codec.dim), dtype=np.float32))
        shape = (empty.shape[0], expected) if binary else (expected, *empty.shape[1:])
        data = np.empty(shape, dtype=empty.dtype)
        rowids = np.empty(expected, dtype=np.int64)
        approx = Int8Copy.empty(expected, codec.dim) if self.int8_copy else None
        filled = 0
        id_parts: list[Int64Array] = []
        code_parts: list[npt.NDArray[Any]] = []
        approx_parts: list[Int8Copy] = []
        for batch_rowids, batch_unit in itertools.chain([first] if first is not None else [], batches):
            codes = _encode(codec, batch_unit)
            batch_copy = Int8Copy.of(batch_unit) if approx is not None else None
            ids = np.asarray(batch_rowids, dtype=np.int64)
            fit = max(0, min(ids.shape[0], expected - filled))
            if fit:
                rowids[filled : filled + fit] = ids[:fit]
                if binary:
                    data[:, filled : filled + fit] = codes[:, :fit]
                else:
                    data[filled : filled + fit] = codes[:fit]
                if approx is not None and batch_copy is not None:
                    approx.put(filled, batch_copy.rows(slice(0, fit)))
                filled += fit
            if fit < ids.shape[0]:  # more rows than counted (a write in between): append the rest
                id_parts.append(ids[fit:])
                code_parts.append(codes[:, fit:] if binary else codes[fit:])
                if batch_copy is not None:
                    approx_parts.append(batch_copy.rows(slice(fit, None)))
        if filled < expected:
            rowids = rowids[:filled].copy()
            data = np.ascontiguousarray(data[:, :filled] if binary else data[:filled])
            approx = approx.rows(slice(0, filled)) if approx is not None else None
        if code_parts:
            rowids = np.concatenate([rowids, *id_parts])
            data = np.ascontiguousarray(_concat(codec, [data, *code_parts]))
            approx = Int8Copy.concat([approx, *approx_parts]) if approx is not None else None
        return rowids, data, approx

    def snapshot(self) -> MirrorSnapshot:
        """The current snapshot (pending deltas applied). Raises ``LookupError`` if not loaded."""
        with self._lock:
            if self._snapshot is None:
                raise LookupError("the vector mirror is not loaded")
            if self._pending:
                self._snapshot = self._apply(self._snapshot, self._pending, self._target)
                self._pending = []
            return self._snapshot

    def _apply(
        self,
        snapshot: MirrorSnapshot,
        pending: list[tuple[Int64Array, Int64Array, FloatArray | None]],
        generation: int,
    ) -> MirrorSnapshot:
        rowids = snapshot.rowids
        data = snapshot.data
        approx = snapshot.approx
        for touched, added, unit in pending:
            if touched.size:
                mask = ~np.isin(rowids, touched)
                if not mask.all():
                    rowids = rowids[mask]
                    data = _keep(self.codec, data, mask)
                    approx = approx.rows(mask) if approx is not None else None
            if unit is not None and added.size:
                rowids = np.concatenate([rowids, added])
                data = _concat(self.codec, [data, _encode(self.codec, unit)])
                approx = Int8Copy.concat([approx, Int8Copy.of(unit)]) if approx is not None else None
        return MirrorSnapshot(rowids, np.ascontiguousarray(data), self.codec, generation, approx)
