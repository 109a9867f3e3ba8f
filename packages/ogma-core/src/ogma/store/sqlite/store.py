"""``Store``: documents, metadata, FTS5 and vectors in one SQLite file.

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> store = Store(":memory:", dim=2)
    >>> store.add(["red apple", "green pear"], ids=["a", "p"],
    ...           embeddings=np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    ['a', 'p']
    >>> [h.id for h in store.search(vector=np.array([0.9, 0.1], dtype=np.float32), k=1)]
    ['a']
    >>> store.close()
"""

from __future__ import annotations

import bisect
import contextlib
import json
import logging
import math
import sys
import threading
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.compress import Int8Ranges
from ogma.errors import DuplicateDocumentError, StoreError, StoreMismatchError
from ogma.heap import release_free_heap
from ogma.store.document import Document
from ogma.store.encoding import StoreEncoder, as_encoder
from ogma.store.pipeline import DenseCandidates, Ranked, SearchPipeline
from ogma.store.sqlite.checkpoint import BackgroundCheckpoint
from ogma.store.sqlite.connect import Connection, Driver
from ogma.store.sqlite.indexing import DEFAULT_OVERSAMPLE, GraphIndexing, IndexOption
from ogma.store.sqlite.metadata import update_metadata
from ogma.store.sqlite.mirror import AdaptiveDepth, VectorMirror
from ogma.store.sqlite.opening import (
    Int8Setting,
    check_store_path,
    file_size,
    needs_first_vectors,
    open_config,
    settle_first_vectors,
)
from ogma.store.sqlite.pool import ConnectionPool
from ogma.store.sqlite.reading import Reading, SearchFilter
from ogma.store.sqlite.schema import (
    INDEX_PRECISIONS,
    IndexPrecision,
    bump_generation,
    create_vector_tables,
    pin_generation,
    read_config,
    write_config,
)
from ogma.store.sqlite.search import BACKENDS, Backend, dense_arrays, exact_shortlist, lexical, with_float_vectors
from ogma.store.sqlite.settings import StoreSettings
from ogma.store.sqlite.sql import VEC_INDEX, VECTORS, quote_identifier
from ogma.store.sqlite.vectors import VectorCodec
from ogma.store.sqlite.windows import WindowScorer
from ogma.store.sqlite.writes import OnConflict, PreparedRows, prepare_rows, upsert
from ogma.store.sqlite.writes import delete as delete_rows
from ogma.store.uri_syntax import sqlite_uri
from ogma.store.validate import (
    check_add_args,
    check_lookup_ids,
    check_metadatas,
    check_optional_embeddings,
)
from ogma.store.vector_input import embed_windows, fit_to
from ogma.store.windows import ExtraWindows
from ogma.types import Hit, SearchMode

__all__ = ["DEFAULT_OVERSAMPLE", "Store"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

DEFAULT_BATCH_SIZE = 8192


class Store(Reading, StoreSettings, GraphIndexing, SearchPipeline):
    """A single-file SQLite store with dense, lexical and hybrid search.

    Args:
        path: The store file (created if missing), or ``":memory:"``.
        encoder: An :class:`ogma.TextEncoder`, any embedder with ``embed_documents`` /
            ``embed_query``, or a callable ``list[str] -> array``. Optional: without it,
            pass ``embeddings=`` to :meth:`add` and ``vector=`` to :meth:`search`.
        dim: Vector dimension. Below the encoder's dimension, vectors are truncated and
            re-normalised (Matryoshka). Defaults to the encoder's (or the file's) dimension.
        precision: Search index precision, ``"float32"``, ``"int8"`` or ``"binary"``
            (default ``"float32"`` for new files; an existing file's own otherwise).
        fts_tokenizer: FTS5 tokenizer for new files (default
            ``"porter unicode61 remove_diacritics 2"``).
        busy_timeout: Seconds a write waits for another writer's lock.
        read_only: Open an existing file read-only. Works on read-only files and directories
            (see ``docs/store.md``); :meth:`add` and :meth:`delete` then raise ``StoreError``.
        show_progress: Progress bars in :meth:`add` (``None``: when stderr is a terminal).
        driver: ``"auto"``, ``"sqlite3"`` or ``"apsw"``.
        backend: Default dense backend: ``"memory"`` (in-process index) or ``"sqlite-vec"``.
        oversample: Approximate candidates rescored per result for int8/binary indexes and a float32 store's
            half-precision graph (default: ``docs/store.md``).
        int8_ranges: int8 quantization ranges: ``"auto"`` (one symmetric range fitted to the
            first batch of at least 64 vectors, else ``"unit"``; see
            :func:`ogma.store.sqlite.opening.int8_ranges_for`), ``"unit"``, or :class:`~ogma.compress.Int8Ranges`.
        tracer: Called with ``(sql, params)`` before every statement.
        index: ``"hnsw"`` (or :class:`~ogma.store.sqlite.hnsw.HnswOptions`) searches an approximate graph index
            kept beside the file (``ogma-core[hnsw]``; see "Approximate index" in ``docs/store.md``); ``None``: exact.

    Raises:
        TypeError: ``path`` is not a ``str`` or ``os.PathLike`` (``None`` included).
        ValueError: ``path`` is empty (SQLite would silently use a temporary database),
            a directory, or not valid Unicode; or another argument is out of range.
        StoreMismatchError: The file was built with another model id, dimension, precision
            or tokenizer.
        StoreError: The file cannot be opened (the message says why: not a database,
            permissions, a pending ``-wal`` file in a read-only directory).
        SqliteDriverError: No SQLite driver can load sqlite-vec.

    Example:
        >>> import numpy as np
        >>> with Store(":memory:", dim=3, precision="binary") as store:
        ...     _ = store.add(["x"], embeddings=np.array([[0.1, -0.2, 0.3]], dtype=np.float32), ids=["x"])
        ...     store.count()
        1
    """

    def __init__(
        self,
        path: str | Path,
        encoder: Any = None,
        *,
        dim: int | None = None,
        precision: IndexPrecision | None = None,
        fts_tokenizer: str | None = None,
        busy_timeout: float = 5.0,
        read_only: bool = False,
        show_progress: bool | None = None,
        driver: Driver = "auto",
        backend: Backend = "memory",
        oversample: float | None = None,
        int8_ranges: Int8Ranges | Int8Setting = "auto",
        tracer: Callable[[str, Any], None] | None = None,
        index: IndexOption = None,
    ) -> None:
        if precision is not None and precision not in INDEX_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(INDEX_PRECISIONS)}; got {precision!r}")
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if not (isinstance(int8_ranges, Int8Ranges) or int8_ranges in ("auto", "unit")):
            raise ValueError(f"int8_ranges must be 'auto', 'unit' or Int8Ranges, got {int8_ranges!r}")
        if oversample is not None and not (isinstance(oversample, (int, float)) and 1.0 <= oversample < math.inf):
            raise ValueError(f"oversample must be a finite number >= 1, got {oversample!r}")
        if isinstance(busy_timeout, bool) or not (
            isinstance(busy_timeout, (int, float)) and 0 <= busy_timeout < math.inf
        ):
            raise ValueError(f"busy_timeout must be a finite number of seconds >= 0, got {busy_timeout!r}")
        self.path = check_store_path(path)
        self._set_index_option(index)
        self.encoder: StoreEncoder | None = None if encoder is None else as_encoder(encoder)
        self.show_progress = show_progress
        self.backend: Backend = backend
        self._oversample = oversample
        self._int8_ranges: Int8Ranges | Int8Setting = int8_ranges
        self._opened_dim = dim
        self._write_lock = threading.Lock()
        self._written_bytes = 0  # vectors written through this object (see close)
        self.read_only = read_only
        self._pool = ConnectionPool(
            self.path, driver=driver, busy_timeout=busy_timeout, read_only=read_only, tracer=tracer
        )
        self._checkpoints = BackgroundCheckpoint(self._pool)  # bulk writes' WAL copied on a thread of its own
        try:
            with self._pool.connection() as conn:
                self.config = open_config(
                    conn,
                    path=self.path,
                    encoder=self.encoder,
                    dim=dim,
                    precision=precision,
                    fts_tokenizer=fts_tokenizer,
                    int8_ranges=int8_ranges,
                    read_only=read_only,
                )
        except BaseException:
            self._pool.close()
            raise
        self._mirror: VectorMirror | None = None
        self._windows = WindowScorer()  # long documents: extra window vectors (store/sqlite/windows.py)
        self._setup_vectors()

    def _setup_vectors(self) -> None:
        config = self.config
        self._mirror = None
        if config.dim is not None:
            codec = VectorCodec(config.precision, config.dim, config.int8_ranges, exact_in_index=config.exact_in_index)
            self._mirror = VectorMirror(codec)
        self._setup_graph()

    @property
    def dim(self) -> int | None:
        """Dimension of the stored vectors (``None`` before the first vectors of a new store)."""
        return self.config.dim

    @property
    def store_uri(self) -> str:
        """The store URI that reopens this store: its path (a ``sqlite://`` URI when the path would read as another)."""
        return sqlite_uri(self.path)

    @property
    def precision(self) -> IndexPrecision:
        """Precision of the search index."""
        return self.config.precision

    # -- vectors ------------------------------------------------------------
    def _fit_to(self, vectors: FloatArray, dim: int | None) -> FloatArray:
        return fit_to(vectors, dim, self.encoder, self.config.model_id)

    def _refresh_config(self, conn: Connection) -> None:
        """Another process may have fixed the dimension or ranges since we opened."""
        if needs_first_vectors(self.config):
            fresh = read_config(conn)
            if fresh != self.config:
                self.config = fresh
                self._setup_vectors()

    # -- writing ------------------------------------------------------------
    def add(
        self,
        texts: Sequence[str | None],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        embeddings: Any = None,
        *,
        batch_size: int = DEFAULT_BATCH_SIZE,
        on_conflict: OnConflict = "replace",
    ) -> list[str]:
        """Insert or replace (by id) documents with their metadata and vectors.

        Each batch is one transaction: a document's row, FTS entry and vectors are
        written together or not at all.

        ``on_conflict`` says what happens to an id that is already stored: ``"replace"``
        (the default: upsert), ``"skip"`` (keep the stored document, drop the new row) or
        ``"fail"`` (raise :class:`~ogma.errors.DuplicateDocumentError` and write nothing).
        The check runs inside each batch's write transaction; with ``"fail"`` all ids are
        also checked before the first batch, so a call spanning several batches writes
        nothing when an id existed when it started.

        Documents may lack content or a vector (see "Documents without a vector or
        text" in ``docs/store.md``): a ``None`` text is stored without content (no FTS
        row: lexical search never finds it), and a ``None`` row in ``embeddings`` stores
        that document without a vector (dense search, hybrid's dense side and MMR skip
        it). Replacing a document drops its old text and vector with it.

        Args:
            texts: Document texts; ``None`` for a document without content.
            metadatas: One JSON-serialisable dict (or ``None``) per text.
            ids: One unique id per text; generated (uuid4 hex) when ``None``. An id that
                exists already is replaced (upsert). The same id twice in one call is an error.
            embeddings: Precomputed ``(n, d)`` vectors, stored exactly as given (``d`` is the
                store's dimension, or the model's full dimension which is then truncated).
                A list whose rows may be ``None`` (no vector for that document; a numpy
                object array too). Without them the encoder embeds every text that is not
                ``None`` (``None`` texts get no vector).
            batch_size: Documents per transaction (and per encoder call).
            on_conflict: ``"replace"``, ``"skip"`` or ``"fail"`` (see above).

        Returns:
            The ids written, in input order (with ``on_conflict="skip"``, without the skipped ones).

        Raises:
            DuplicateDocumentError: ``on_conflict="fail"`` and an id is stored already.
            TypeError: A text (neither ``str`` nor ``None``), id or metadata entry has the wrong
                type (the message names its index).
            ValueError: Length mismatch, duplicate ids, NaN/inf vectors, or invalid Unicode text.
            StoreMismatchError: Embeddings of the wrong dimension.
            StoreError: No encoder and no embeddings, or the write failed.
        """
        self._check_writable("add")
        texts, metas, doc_ids, batch_size = check_add_args(
            texts, metadatas, ids, batch_size=batch_size, on_conflict=on_conflict
        )
        if not texts:
            return []
        given: FloatArray | None = None
        given_rows: list[int] | None = None
        if embeddings is not None:
            given, given_rows = check_optional_embeddings(embeddings, len(texts), self._accepted_dims())
        elif self.encoder is None:
            raise StoreError(
                "this store has no encoder: pass embeddings= to add() (embeddings=[None] * len(texts) stores the "
                "documents without vectors), or open the store with an encoder"
            )
        show = self.show_progress if self.show_progress is not None else sys.stderr.isatty()
        # Checkpoints are not postponed to the end of a load (adding 100k documents, float32, 256-d, file in
        # tmpfs, took 1.65-1.99 s with them and 2.20-2.34 s with one at the end); each batch's WAL pages are
        # copied by a thread of their own (_write_rows, checkpoint.py) while the next batch is prepared
        # (docs/benchmarks.md, "Ingest: Ogma, lancedb and what SQLite itself allows").
        with self._pool.connection() as conn, tqdm(total=len(texts), disable=not show, unit="doc") as bar:
            if on_conflict == "fail" and len(texts) > batch_size:
                stored = [d.id for d in self._get_with(conn, doc_ids)]
                if stored:
                    raise DuplicateDocumentError.for_ids(stored)
            skipped = self._add_batches(conn, bar, doc_ids, texts, metas, (given, given_rows), batch_size, on_conflict)
        return [i for i in doc_ids if i not in skipped] if skipped else doc_ids

    def _add_batches(
        self,
        conn: Connection,
        bar: Any,
        doc_ids: list[str],
        texts: list[str | None],
        metas: list[str],
        given: tuple[FloatArray | None, list[int] | None],
        batch_size: int,
        on_conflict: OnConflict = "replace",
    ) -> set[str]:
        """Write ``batch_size`` documents per transaction, in order; return the skipped ids.

        Everything that does not need the database (embedding, hashing, packing) is done
        before the batch's transaction opens, so the write lock is held only for SQL.
        """
        skipped: set[str] = set()
        for start in range(0, len(texts), batch_size):
            stop = min(start + batch_size, len(texts))
            vectors, vector_rows, windows = self._batch_vectors(texts, given, start, stop)
            codec: VectorCodec | None = None
            if vectors.shape[0]:
                self._settle(conn, vectors)
                vectors = self._fit_checked(vectors)
                windows = windows.with_vectors(self._fit_checked(windows.vectors)) if windows is not None else None
                codec = self._codec()
            else:
                self._refresh_config(conn)
                codec = self._mirror.codec if self._mirror is not None else None
            rows = prepare_rows(
                codec,
                doc_ids[start:stop],
                texts[start:stop],
                metas[start:stop],
                vectors,
                vector_rows=vector_rows,
                first_index=start,
                windows=windows,
            )
            skipped |= self._write_rows(conn, rows, on_conflict)
            bar.update(stop - start)
        return skipped

    def _batch_vectors(
        self,
        texts: list[str | None],
        given: tuple[FloatArray | None, list[int] | None],
        start: int,
        stop: int,
    ) -> tuple[FloatArray, list[int] | None, ExtraWindows | None]:
        """The vectors of ``texts[start:stop]``, their positions in the batch (``None``: every
        document), and the extra windows of long documents (``None``: none)."""
        matrix, positions = given
        if matrix is not None:
            if positions is None:
                return matrix[start:stop], None, None
            first, last = bisect.bisect_left(positions, start), bisect.bisect_left(positions, stop)
            return matrix[first:last], [p - start for p in positions[first:last]], None
        if self.encoder is None:  # pragma: no cover - add() checks this first
            raise StoreError("no encoder and no embeddings")
        return embed_windows(self.encoder, texts[start:stop], self._accepted_dims(), self.config.dim)

    def _settle(self, conn: Connection, vectors: FloatArray) -> None:
        """Fix the dimension (and int8 ranges) of a store that has no vectors yet."""
        self._refresh_config(conn)
        if needs_first_vectors(self.config):
            with self._write_lock:
                fitted = self._fit_to(vectors, self.config.dim)
                self.config = settle_first_vectors(conn, fitted, int8_ranges=self._int8_ranges)
                self._setup_vectors()

    def _fit_checked(self, vectors: FloatArray) -> FloatArray:
        vectors = self._fit(vectors)
        if vectors.shape[1] != self.config.dim:
            raise StoreMismatchError(
                f"embeddings have dimension {vectors.shape[1]}, but this store expects {self.config.dim}"
            )
        return vectors

    def _vector_mirror(self) -> VectorMirror:
        if self._mirror is None:  # pragma: no cover - set by _settle
            raise StoreError("the vector index is not initialised")
        return self._mirror

    def _codec(self) -> VectorCodec:
        return self._vector_mirror().codec

    def _check_writable(self, method: str) -> None:
        if self.read_only:
            raise StoreError(f"this store was opened with read_only=True; open it without it to {method} documents")

    def _write_rows(self, conn: Connection, rows: PreparedRows, on_conflict: OnConflict = "replace") -> set[str]:
        mirror = self._mirror
        result = upsert(conn, mirror.codec if mirror is not None else None, rows, on_conflict=on_conflict)
        self._checkpoints.wrote(rows.payload_bytes())
        self._written_bytes += rows.unit.nbytes
        if result.rowids:
            self._record_write(
                result.old_generation,
                result.new_generation,
                np.asarray(result.rowids),
                result.unit,
                added=np.asarray(result.vector_rowids, dtype=np.int64),
            )
        if result.written is None:
            return set()
        kept = set(result.written)
        return {doc_id for index, doc_id in enumerate(rows.ids) if index not in kept}

    def delete(self, ids: Sequence[str] | None = None, *, filter: Mapping[str, Any] | None = None) -> int:
        """Delete documents by id, by metadata filter, or both (ids that also match).

        Unknown ids are ignored. The deletion is one transaction: a concurrent writer
        never sees half of it.

        Args:
            ids: Ids to delete.
            filter: A metadata filter (the language of :meth:`search`, see
                ``docs/filters.md``); every matching document is deleted.

        Returns:
            How many documents were deleted.

        Raises:
            TypeError: ``ids`` is a single string or holds a non-string.
            ValueError: Neither ``ids`` nor a filter was given, the filter is empty (it
                would match every document), or it is malformed.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b", "c"], [{"src": "x"}, {"src": "y"}, {"src": "x"}],
            ...               ids=["1", "2", "3"], embeddings=np.eye(3, 2))
            >>> store.delete(filter={"src": "x"}), store.count()
            (2, 1)
        """
        self._check_writable("delete")
        if ids is None and filter is None:
            raise ValueError("give ids=, filter=, or both to say which documents to delete")
        doc_ids = None if ids is None else list(dict.fromkeys(check_lookup_ids(ids)))
        where = None
        if filter is not None:
            if not isinstance(filter, Mapping) or not filter:
                raise ValueError(
                    f"filter must be a non-empty dict (an empty one would delete every document), got {filter!r}"
                )
            sql, params = self._filter(filter)
            where = (sql or "1", params)
        if doc_ids == []:
            return 0
        with self._pool.connection() as conn:
            result = delete_rows(conn, doc_ids, where=where)
        if result.rowids:
            self._record_write(result.old_generation, result.new_generation, np.asarray(result.rowids), None)
        return len(result.rowids)

    def update(
        self,
        ids: Sequence[str] | None = None,
        *,
        metadata: Mapping[str, Any],
        filter: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> int:
        """Change the metadata of documents chosen by id, by filter, or both (ids that also match).

        Texts and vectors are untouched. The update is one transaction.

        Args:
            ids: Ids to update (unknown ids are ignored).
            metadata: New metadata. Merged into the stored metadata (its top-level keys
                overwrite those stored, others stay), or put in its place with ``replace=True``.
            filter: A metadata filter (see ``docs/filters.md``) choosing the documents; an
                empty one is refused like in :meth:`delete`.
            replace: Replace the whole metadata instead of merging.

        Returns:
            How many documents were updated.

        Raises:
            TypeError: ``metadata`` is not a dict of JSON-serialisable values, or ``ids`` is a string.
            ValueError: Neither ``ids`` nor a filter was given, or the filter is empty.
            FilterError: The filter is malformed.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], [{"k": 1}, {"k": 2}], ids=["1", "2"], embeddings=np.eye(2))
            >>> store.update(filter={"k": 2}, metadata={"seen": True})
            1
            >>> store.get(["2"])[0].metadata
            {'k': 2, 'seen': True}
        """
        self._check_writable("update")
        if ids is None and filter is None:
            raise ValueError("give ids=, filter=, or both to say which documents to update")
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        check_metadatas([dict(metadata)], 1)
        doc_ids = None if ids is None else check_lookup_ids(ids)
        where = None
        if filter is not None:
            if not isinstance(filter, Mapping) or not filter:
                raise ValueError(
                    f"filter must be a non-empty dict (an empty one would update every document), got {filter!r}"
                )
            where = self._filter(filter)
        if doc_ids == []:
            return 0

        def committed(generation: int) -> None:  # the vectors are unchanged: an empty delta moves the indexes on
            self._record_write(generation - 1, generation, np.zeros(0, dtype=np.int64), None)

        with self._pool.connection() as conn:
            return update_metadata(conn, doc_ids, where, metadata, replace=replace, on_commit=committed)

    def delete_all(self, *, confirm: bool = False) -> int:
        """Delete every document (the store, its settings and dimension stay).

        ``delete(filter={})`` is refused so that an empty filter built by mistake cannot
        wipe a store; this is the deliberate way, and it needs ``confirm=True``.

        Args:
            confirm: Must be ``True``.

        Returns:
            How many documents were deleted.

        Raises:
            ValueError: ``confirm`` is not ``True``.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], embeddings=np.eye(2))
            >>> store.delete_all(confirm=True), store.count()
            (2, 0)
        """
        self._check_writable("delete")
        if confirm is not True:
            raise ValueError("delete_all() deletes every document: call it as delete_all(confirm=True)")
        with self._pool.connection() as conn:
            result = delete_rows(conn, None, where=("1", []))
        if result.rowids:
            self._record_write(result.old_generation, result.new_generation, np.asarray(result.rowids), None)
        return len(result.rowids)

    def reset(self, *, confirm: bool = False) -> int:
        """Delete every document and forget what the first vectors fixed, in one transaction.

        After :meth:`delete_all` the store keeps its vector dimension (and int8 ranges);
        after ``reset`` it is as if just created with this object's options: the dimension
        is the one given when it was opened (``dim=``, else the encoder's), or none, so the
        next vectors written fix it again. Model id, precision and tokenizer stay. Other
        ``Store`` objects open on the same file must be reopened afterwards.

        Args:
            confirm: Must be ``True``.

        Returns:
            How many documents were deleted.

        Raises:
            ValueError: ``confirm`` is not ``True``.
            StoreError: The store is read-only.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:")
            >>> _ = store.add(["a"], embeddings=np.ones((1, 3)))
            >>> store.reset(confirm=True), store.dim
            (1, None)
            >>> _ = store.add(["b"], embeddings=np.ones((1, 5)))
            >>> store.dim
            5
        """
        self._check_writable("reset")
        if confirm is not True:
            raise ValueError("reset() deletes every document and the vector index: call it as reset(confirm=True)")
        encoder_dim = self.encoder.dim if self.encoder is not None else None
        dim = self._opened_dim if self._opened_dim is not None else encoder_dim
        with self._write_lock, self._pool.connection() as conn, conn.transaction():
            deleted = delete_rows(conn, None, where=("1", [])).rowids
            for table in (VEC_INDEX, VECTORS):
                conn.execute(f"DROP TABLE IF EXISTS {quote_identifier(table)}")
            fresh = replace(
                read_config(conn),
                dim=dim,
                full_dim=encoder_dim if encoder_dim is not None else dim,
                int8_ranges=self._int8_ranges if isinstance(self._int8_ranges, Int8Ranges) else None,
            )
            if dim is not None:
                create_vector_tables(conn, dim, fresh.precision)
            write_config(conn, fresh)
            bump_generation(conn)
            self.config = read_config(conn)
        self._setup_vectors()
        return len(deleted)

    # -- search primitives (the pipeline itself is ogma.store.pipeline) ------
    def _pushdown(self, filter: Mapping[str, Any] | None) -> SearchFilter:
        return self._search_filter(filter)

    @property
    def _quantized(self) -> bool:
        return self.config.precision != "float32" or self._graph_rescored

    @contextlib.contextmanager
    def _search_context(self) -> Iterator[Connection]:
        # one read of the change counter serves every in-process index the search syncs (schema.pin_generation)
        with self._pool.connection() as conn, pin_generation(conn):
            yield conn

    def _dense_candidates(
        self, ctx: Connection, unit: FloatArray, count: int, where: SearchFilter, option: Any
    ) -> DenseCandidates:
        self._refresh_config(ctx)
        if self._mirror is None:
            return DenseCandidates([])
        # a binary store without an explicit oversample: the pipeline asks for the results wanted;
        # the mirror picks its depth per query, the graph its own oversampling, vec0 takes count x oversample
        fixed = max(count, math.ceil(count * self.oversample)) if self._adaptive_depth else count
        graph = self._graph_candidates(ctx, unit, count, where, option)  # index="hnsw" (store/sqlite/indexing.py)
        if graph is not None:
            return graph
        sql, params, rows = where
        adaptive = AdaptiveDepth() if self._adaptive_depth and option != "sqlite-vec" else None
        if adaptive is not None and self._mirror.int8_copy:
            # count is the results wanted: read only the candidates that can reach them (search.py)
            ranked, matrix = exact_shortlist(
                ctx,
                self._mirror,
                unit,
                count,
                filter_sql=sql,
                filter_params=params,
                filter_rows=rows,
                adaptive=adaptive,
            )
            return DenseCandidates(list(ranked), matrix)
        rowids, scores = dense_arrays(
            ctx,
            self._mirror,
            unit,
            count if adaptive else fixed,
            filter_sql=sql,
            filter_params=params,
            filter_rows=rows,
            backend=option,
            adaptive=adaptive,
        )
        if self.config.precision == "float32":  # exact cosines, even where a half-precision graph would be rescored
            return DenseCandidates(list(zip(rowids.tolist(), scores.tolist())), exact=True)
        ranked, matrix = with_float_vectors(ctx, self._codec(), rowids, scores)  # for exact rescoring
        return DenseCandidates(list(ranked), matrix)

    def _window_rerank(
        self, ctx: Connection, ranked: Ranked, unit: FloatArray, count: int, where: SearchFilter
    ) -> Ranked:
        # long documents: a document scores by its best window (store/sqlite/windows.py)
        rowids = [(key, score) for key, score in ranked if isinstance(key, int)]  # the keys are rowids
        return list(self._windows.rank(ctx, rowids, unit, count, filter_sql=where[0], filter_params=where[1]))

    def _lexical_candidates(
        self, ctx: Connection, query: str, count: int, where: SearchFilter
    ) -> list[tuple[Hashable, float]]:
        from ogma.store.sqlite.fts import build_fts_query

        sql, params, _ = where
        return list(lexical(ctx, build_fts_query(query), count, filter_sql=sql or "1", filter_params=params))

    def _documents(
        self, ctx: Connection, keys: Sequence[Hashable], include_embeddings: bool
    ) -> dict[Hashable, Document]:
        rowids = [key for key in keys if isinstance(key, int)]  # the keys are rowids
        rows = self._rows_by_rowid(ctx, rowids)
        vectors = self._embeddings(ctx, rowids) if include_embeddings else {}
        return {r: Document(row[0], row[1], json.loads(row[2]), vectors.get(r)) for r, row in rows.items()}

    def _float_vectors(self, ctx: Connection, keys: Sequence[Hashable]) -> dict[Hashable, FloatArray]:
        found = self._embeddings(ctx, [key for key in keys if isinstance(key, int)])
        return {rowid: vector for rowid, vector in found.items()}

    def search(
        self,
        query: str | None = None,
        *,
        vector: Any = None,
        k: int = 10,
        mode: SearchMode = "dense",
        filter: Mapping[str, Any] | None = None,
        fusion: str | Mapping[str, Any] | None = None,
        candidates: int | None = None,
        include_embeddings: bool = False,
        rerank: Any = None,
        rerank_k: int | None = None,
        rerank_alpha: float | None = DEFAULT_RERANK_ALPHA,
        backend: Backend | None = None,
    ) -> list[Hit]:
        """Search by meaning (dense), by words (lexical, BM25) or both (hybrid).

        Args:
            query: The query text (needed for lexical, hybrid and reranking).
            vector: A query vector instead of embedding ``query`` (dense part).
            k: Results wanted (0 gives ``[]``).
            mode: ``"dense"``, ``"lexical"`` or ``"hybrid"``.
            filter: Metadata filter (see ``ogma.store.filters``), applied inside candidate
                generation: if at least ``k`` documents match, ``k`` come back.
            fusion: Hybrid fusion method name, or ``{"method": ..., **params}`` for
                :func:`ogma.fusion.fuse` (``None``: its default). Hybrid mode only.
            candidates: Depth of each ranked list before fusion (default ``max(k, 50)``).
                Hybrid mode only; ``rerank_k`` sets the depth handed to a reranker.
            include_embeddings: Attach the stored vectors to the hits.
            rerank: A reranker (``rerank(query, documents, top_k)`` returning ``.index``/``.score`` results);
                reorders the first ``rerank_k`` hits.
            rerank_k: First-stage hits handed to the reranker (default ``max(k, 50)``).
            rerank_alpha: Weight of the reranker in its blend with the first-stage score
                (default 0.3, :data:`ogma.blend.DEFAULT_RERANK_ALPHA`: the best worst case in
                docs/benchmarks.md, "Reranking on real models"): ``Hit.score`` is
                ``rerank_alpha * linear_rescale(logit) + (1 - rerank_alpha) * first_stage``, the
                first-stage score on ``[0, 1]`` by mode (cosine, hybrid score, BM25 as
                ``bm25 / (bm25 + 5)``). ``1.0`` or ``None``: rank by the reranker alone.
            backend: Dense backend for this call (default: the store's).

        Returns:
            Hits, best first; ``score`` is the final score and ``scores`` holds each stage's
            (``"dense"`` cosine, ``"lexical"`` positive BM25, ``"fused"`` the hybrid score,
            comparable across queries (``docs/hybrid.md``), ``"rerank"``).
            A ``k`` larger than the store returns every match, in every mode (counts are
            clamped to ``2**63 - 1``, the most SQLite binds).

        Raises:
            TypeError: ``k``, ``candidates`` or ``rerank_k`` is not an integer (``bool`` and
                ``float`` included), or ``query`` is not a ``str``.
            ValueError: Negative ``k``, ``candidates`` below 1, unknown mode or backend, no
                query, an empty (or blank) query, a query that is not valid Unicode, or an
                all-zero query vector.
            FusionError: An invalid ``fusion``, or ``fusion``/``candidates`` outside hybrid mode.
            StoreMismatchError: A query vector of the wrong dimension.
            FilterError: A malformed filter, or one beyond the limits in ``docs/filters.md``.
        """
        backend = backend or self.backend
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        return self._run_search(
            query,
            vector=vector,
            k=k,
            mode=mode,
            filter=filter,
            fusion=fusion,
            candidates=candidates,
            include_embeddings=include_embeddings,
            rerank=rerank,
            rerank_k=rerank_k,
            rerank_alpha=rerank_alpha,
            option=backend,
        )

    # -- lifecycle ----------------------------------------------------------
    def close(self) -> None:
        """Save the approximate index if this process changed it, and close every connection (idempotent);
        what their page caches and this store's writes held goes back to the system (:mod:`ogma.heap`)."""
        self._save_graph()
        self._checkpoints.close()
        self._pool.close()
        release_free_heap(max(self._written_bytes, file_size(self.path)))  # file: what the caches could hold

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        c = self.config
        return f"Store({self.path!r}, model_id={c.model_id!r}, dim={c.dim}, precision={c.precision!r})"
