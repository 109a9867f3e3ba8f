"""The approximate index's part of ``Store``: options, write hooks, graph candidates, build and info.

Mixed into :class:`ogma.store.sqlite.store.Store`; the graph itself is
:class:`ogma.store.sqlite.hnsw.HnswIndex`. Exact search (the in-process mirror, or
sqlite-vec) stays the default, and is what runs whenever the graph is not current or the store
is below :data:`~ogma.store.sqlite.hnsw.EXACT_BELOW` vectors (per precision).

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> store = Store(":memory:", dim=2)
    >>> store.index_info() is None
    True
"""

from __future__ import annotations

import logging
import math
from collections.abc import Hashable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.errors import StoreError
from ogma.store.pipeline import DenseCandidates
from ogma.store.sqlite.binary_graph import BINARY_OVERSAMPLE
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.hnsw import (
    HALF_OVERSAMPLE,
    HnswIndex,
    HnswOptions,
    IndexInfo,
    IndexKind,
    hnsw_options,
    read_index_info,
)
from ogma.store.sqlite.mirror import VectorMirror
from ogma.store.sqlite.pool import ConnectionPool
from ogma.store.sqlite.schema import StoreConfig, read_generation
from ogma.store.sqlite.search import MapBudget, bounded_shortlist, read_blocks, with_float_vectors
from ogma.store.sqlite.vectors import VectorCodec

__all__ = ["GraphIndexing", "IndexOption"]

logger = logging.getLogger(__name__)

IndexOption = IndexKind | HnswOptions | None
"""What ``Store(index=...)`` takes: ``None`` (exact), ``"hnsw"`` or :class:`~ogma.store.sqlite.hnsw.HnswOptions`."""

FloatArray = npt.NDArray[np.float32]


DEFAULT_OVERSAMPLE: dict[str, float] = {"float32": 1.0, "int8": 4.0, "binary": 20.0}
"""Candidates rescored per wanted result (``docs/benchmarks.md``); binary: ``backend="sqlite-vec"`` only (the
in-process search picks its depth per query, and a binary store's graph takes
:data:`~ogma.store.sqlite.binary_graph.BINARY_OVERSAMPLE`)."""


MAP_MIN = 256 * 1024 * 1024
"""The smallest map budget (bytes): a store of up to about 100,000 vectors of 384 dimensions keeps all of its
``vec0`` table mapped (a budget of half of it made the unfiltered p50 at 100,000 × 384-d 1.71 ms against 1.41 ms,
runs minutes apart: the reads after each drop are page faults again)."""


class GraphIndexing:
    """The approximate index of a SQLite store (mixed into ``Store``)."""

    _pool: ConnectionPool
    _mirror: VectorMirror | None
    config: StoreConfig
    path: str
    read_only: bool
    show_progress: bool | None
    _graph_options: HnswOptions | None = None
    _graph: HnswIndex | None = None
    _map_budget: MapBudget | None = None
    _oversample: float | None

    @property
    def oversample(self) -> float:
        """Approximate candidates rescored per result (binary by default: ``backend="sqlite-vec"`` only)."""
        if self._oversample is not None:
            return self._oversample
        if self._graph_rescored:  # a float32 store's half-precision graph
            return HALF_OVERSAMPLE
        return DEFAULT_OVERSAMPLE[self.config.precision]

    @property
    def _adaptive_depth(self) -> bool:
        return self._oversample is None and self.config.precision == "binary"

    def _set_index_option(self, index: Any) -> None:
        """Check ``Store(index=...)`` (before anything is opened)."""
        self._graph_options = hnsw_options(index)
        self._graph = None

    def _setup_graph(self) -> None:
        """A graph for the current codec, loaded (or started empty) when it can be trusted."""
        self._graph = None
        if self._graph_options is None or self._mirror is None:
            return
        self._graph = HnswIndex(self.path, self._mirror.codec, self._graph_options, read_only=self.read_only)
        with self._pool.connection() as conn:
            self._graph.attach(conn)

    @property
    def _graph_rescored(self) -> bool:
        """Whether graph candidates of this float32 store are rescored (a half-precision graph is loaded)."""
        graph = self._graph
        return graph is not None and graph.rescored

    def _record_write(
        self, old: int, new: int, rowids: npt.NDArray[np.int64], unit: FloatArray | None, *, added: Any = None
    ) -> None:
        """A committed write of this process (generation ``old`` to ``new``), passed on to the mirror and the graph."""
        if self._mirror is not None:
            self._mirror.record_write(old, new, rowids, unit, added=added)
        if self._graph is not None:
            self._graph.record_write(old, new, rowids, unit, added)

    def _graph_candidates(
        self, ctx: Connection, unit: FloatArray, count: int, where: Sequence[Any], option: Any
    ) -> DenseCandidates | None:
        """Candidates from the graph, or ``None`` when the search must be exact (no current graph, small store).

        ``count`` is what the pipeline asked for: for a binary store without an explicit
        ``oversample`` (:attr:`_adaptive_depth`) the results wanted, of which the int8 graph gives
        :data:`~ogma.store.sqlite.binary_graph.BINARY_OVERSAMPLE` times as many candidates. ``where`` is
        what ``_pushdown`` returned; its first two items are the filter's SQL (``None``: no
        filter) and parameters.
        """
        graph = self._graph
        if graph is None or option != "memory" or not graph.attach(ctx):
            return None
        if graph.size < graph.exact_below or graph.expansion() is None:  # None: an unfit binary graph
            return None
        if self._adaptive_depth:
            count = max(count, math.ceil(count * BINARY_OVERSAMPLE))
        sql, params = where[0], where[1]
        passing = None if sql is None else graph.passing(ctx, sql, params)
        found = graph.search(unit, count, passing)
        if found is None and passing is not None and graph.vector_bound is not None:
            return self._passing_exactly(ctx, graph, unit, count, passing.rowids)
        if found is None:  # a filter too selective for an int8 / binary graph: the mirror's exact scan
            return None
        if self.config.precision == "float32" and not graph.rescored:  # exact cosines, nothing to read
            ranked: list[tuple[Hashable, float]] = list(zip(found.keys.tolist(), found.scores.tolist()))
            return DenseCandidates(ranked)
        # the pipeline rescores these: their float vectors are read here, within the map budget
        pairs, matrix = with_float_vectors(ctx, self._mirror_codec(), found.keys, found.scores)
        self._charge_reads(ctx, graph, found.keys)
        return DenseCandidates(list(pairs), matrix)

    def _charge_reads(self, ctx: Connection, graph: HnswIndex, rowids: npt.NDArray[np.int64]) -> None:
        """Charge the float vectors a graph search read (``rowids``) to the connection's map budget.

        The budget is :attr:`HnswOptions.mapped_share <ogma.store.sqlite.hnsw.HnswOptions>` of the graph's
        vectors' float32 bytes, at least :data:`MAP_MIN`: what the memory map may keep resident between
        drops (:class:`~ogma.store.sqlite.search.MapBudget`; ``None``: no limit). With 0.5 (the default)
        a million-vector store's peak RSS was 1.33x the raw vector bytes, graph included, where unbounded
        reads grew it by 1.1 GB, the whole ``vec0`` table (``docs/benchmarks.md``).
        """
        share = graph.options.mapped_share
        if share is None:
            return
        budget = self._map_budget
        if budget is None:
            budget = self._map_budget = MapBudget(MAP_MIN)
        budget.limit = max(MAP_MIN, int(share * graph.size * graph.codec.dim * 4))
        rows, size = read_blocks(graph.codec)
        budget.charge(ctx, rowids, rows_per_block=rows, block_bytes=size)

    def _passing_exactly(
        self, ctx: Connection, graph: HnswIndex, unit: FloatArray, count: int, rowids: npt.NDArray[np.int64]
    ) -> DenseCandidates:
        """The exact ``count`` best of ``rowids`` (a selective filter's rows) for a float32 store's graph.

        Scored with the graph's own copies of their vectors, not the in-process mirror (which
        would hold a full float32 copy of the store beside the graph). An f32 graph holds the
        unit vectors themselves: its cosines are exact. A half-precision graph's are within
        :attr:`~ogma.store.sqlite.hnsw.HnswIndex.vector_bound` of the exact ones: only the rows that
        can still reach the best ``count`` are read from SQLite and rescored
        (:func:`~ogma.store.sqlite.search.bounded_shortlist`).
        """
        keys, vectors = graph.vectors(rowids)
        query = np.asarray(unit, dtype=np.float32)
        cosines = np.einsum("ij,j->i", vectors, query)
        bound = graph.vector_bound or 0.0
        if bound == 0.0 or keys.size <= count:
            if bound > 0.0:  # every passing row is a candidate: the pipeline rescores them all
                ranked, matrix = with_float_vectors(ctx, self._mirror_codec(), keys, cosines.astype(np.float64))
                self._charge_reads(ctx, graph, keys)
                return DenseCandidates(list(ranked), matrix)
            order = np.lexsort((keys, -cosines))[:count]
            return DenseCandidates(list(zip(keys[order].tolist(), cosines[order].astype(np.float64).tolist())))
        ranked, matrix = bounded_shortlist(
            ctx,
            self._mirror_codec(),
            query,
            count,
            keys,
            cosines.astype(np.float64),
            cosines,
            np.full(keys.size, bound, dtype=np.float32),
        )
        self._charge_reads(ctx, graph, np.fromiter((key for key, _ in ranked), dtype=np.int64, count=len(ranked)))
        return DenseCandidates(list(ranked), matrix)

    def _mirror_codec(self) -> VectorCodec:
        if self._mirror is None:  # pragma: no cover - a graph exists only with a codec
            raise StoreError("the store has no vectors yet")
        return self._mirror.codec

    def _save_graph(self) -> None:
        """Save the graph if it is current and not saved yet (called by ``close``; never raises)."""
        graph = self._graph
        if graph is None or not graph.unsaved:
            return
        try:
            with self._pool.connection() as conn:
                current = read_generation(conn)
            if graph.generation == current:  # a graph behind the store would only overwrite a newer file
                graph.save()
        except (OSError, StoreError, RuntimeError) as exc:
            logger.warning("could not save the HNSW index of %s (%s): it will count as stale", self.path, exc)

    def build_index(self, kind: IndexKind = "hnsw", *, show_progress: bool | None = None) -> IndexInfo | None:
        """Build (or rebuild) the approximate index from the stored vectors and save it beside the store.

        Afterwards this store searches with it (as if opened with ``index="hnsw"``), and so does
        every store opened later with ``index="hnsw"`` until a write it does not see (another
        process's, or one not saved before its process ended) makes it stale. The vectors are
        read in one snapshot; writers are not blocked.

        Args:
            kind: ``"hnsw"`` (the only kind).
            show_progress: A progress bar (``None``: the store's ``show_progress``).

        Returns:
            What :meth:`index_info` says afterwards (``None`` for a ``":memory:"`` store, whose
            index lives only in this process).

        Raises:
            ValueError: An unknown ``kind``.
            MissingExtraError: usearch is not installed (``pip install 'ogma-core[hnsw]'``).
            StoreError: The store is read-only, or has no vectors yet (its dimension is unknown).

        Example:
            >>> import numpy as np
            >>> from ogma.store import Store
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], ids=["a", "b"], embeddings=np.eye(2))
            >>> store.build_index() is None  # an in-memory store's index is not saved
            True
            >>> [h.id for h in store.search(vector=[1.0, 0.1], k=1)]
            ['a']
        """
        if kind != "hnsw":
            raise ValueError(f"kind must be 'hnsw' (the only approximate index), got {kind!r}")
        options = self._graph_options or hnsw_options(kind) or HnswOptions()
        if self.read_only:
            raise StoreError("this store was opened with read_only=True; open it without it to build its index")
        if self._mirror is None:
            raise StoreError("the store has no vectors yet (its dimension is not known): add documents first")
        self._graph_options = options
        graph = self._graph
        if graph is None:
            graph = self._graph = HnswIndex(self.path, self._mirror.codec, options, read_only=False)
        show = bool(self.show_progress) if show_progress is None else show_progress
        with self._pool.connection() as conn:
            graph.build(conn, show_progress=show)
        return self.index_info()

    def index_is_current(self) -> bool:
        """Whether this store has an approximate index that reflects every committed write.

        Only then do searches use it (above ``exact_below`` vectors); otherwise they are exact.

        Example:
            >>> from ogma.store import Store
            >>> Store(":memory:").index_is_current()
            False
        """
        graph = self._graph
        if graph is None:
            return False
        with self._pool.connection() as conn:
            return graph.attach(conn)

    def index_info(self) -> IndexInfo | None:
        """The saved approximate index: its file, size, vectors, and whether it is current (``None``: none).

        Reads only; works on any store, whatever its ``index`` option.

        Example:
            >>> from ogma.store import Store
            >>> Store(":memory:").index_info() is None
            True
        """
        with self._pool.connection() as conn:
            return read_index_info(conn, self.path, self._mirror.codec if self._mirror is not None else None)
