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
import json
import logging
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ogma.compress import Int8Ranges
from ogma.errors import DuplicateDocumentError, StoreError, StoreMismatchError
from ogma.store.document import Document
from ogma.store.encoding import StoreEncoder, as_encoder
from ogma.store.mmr import mmr_select
from ogma.store.ranking import fuse_ranked, rerank_hits
from ogma.store.search_args import check_mmr_args, check_search_mode, check_search_options
from ogma.store.settings import check_setting_key
from ogma.store.sqlite.connect import Connection, Driver
from ogma.store.sqlite.metadata import field_range, field_types, field_values, update_metadata
from ogma.store.sqlite.mirror import VectorMirror
from ogma.store.sqlite.opening import Int8Setting, needs_first_vectors, open_config, settle_first_vectors
from ogma.store.sqlite.pool import ConnectionPool
from ogma.store.sqlite.schema import (
    CONFIG,
    INDEX_PRECISIONS,
    IndexPrecision,
    bump_generation,
    create_vector_tables,
    read_config,
    write_config,
)
from ogma.store.sqlite.search import BACKENDS, Backend, dense, lexical
from ogma.store.sqlite.sql import DOCUMENTS, VEC_INDEX, VECTORS, chunked, quote_identifier, select_in_sql
from ogma.store.sqlite.vectors import VectorCodec, fetch_vectors
from ogma.store.sqlite.windows import WindowScorer
from ogma.store.sqlite.writes import ON_CONFLICT, OnConflict, PreparedRows, prepare_rows, upsert
from ogma.store.sqlite.writes import delete as delete_rows
from ogma.store.validate import (
    check_embeddings,
    check_ids,
    check_k,
    check_lookup_ids,
    check_metadatas,
    check_optional_embeddings,
    check_store_texts,
)
from ogma.store.vector_input import accepted_dims, fit_to, query_vector
from ogma.store.windows import ExtraWindows
from ogma.types import Hit, SearchMode
from ogma.validation import check_count, check_str

__all__ = ["DEFAULT_OVERSAMPLE", "Store"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

DEFAULT_OVERSAMPLE: dict[str, float] = {"float32": 1.0, "int8": 4.0, "binary": 20.0}
"""Candidates rescored per wanted result, by precision (see ``docs/benchmarks.md``)."""

DEFAULT_BATCH_SIZE = 8192


def check_store_path(path: Any) -> str:
    """The store's path as a string, refusing values SQLite would silently misread.

    SQLite opens a private temporary database for ``""`` (every write is lost on close),
    and ``str(None)`` would create files named ``None``, ``None-wal`` and ``None-shm``.

    Raises:
        TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
        ValueError: ``path`` is empty or names a directory.

    Example:
        >>> check_store_path(":memory:")
        ':memory:'
        >>> check_store_path("")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: path is empty: SQLite would open a private temporary database and every write would be lost ...
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(
            f"path must be a file path (str or pathlib.Path), or ':memory:' for an in-memory store; "
            f"got {type(path).__name__} {path!r}"
        )
    if not path:
        raise ValueError(
            "path is empty: SQLite would open a private temporary database and every write would be lost when it "
            "closes; give a file path such as 'notes.db', or ':memory:' for an in-memory store"
        )
    if "\x00" in path:
        raise ValueError(f"path {path!r} contains a NUL character")
    from ogma.validation import check_unicode

    check_unicode(path, "path")
    if path != ":memory:" and os.path.isdir(path):
        raise ValueError(f"path {path!r} is a directory; give the store's file path inside it, e.g. {path}/ogma.db")
    return path


class Store:
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
        oversample: Approximate candidates rescored per result for int8/binary indexes.
        int8_ranges: int8 quantization ranges: ``"auto"`` (one symmetric range fitted to the
            first batch of at least 64 vectors, else ``"unit"``; see
            :func:`ogma.store.sqlite.opening.int8_ranges_for`), ``"unit"``, or :class:`~ogma.compress.Int8Ranges`.
        tracer: Called with ``(sql, params)`` before every statement.

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
        self.encoder: StoreEncoder | None = None if encoder is None else as_encoder(encoder)
        self.show_progress = show_progress
        self.backend: Backend = backend
        self._oversample = oversample
        self._int8_ranges: Int8Ranges | Int8Setting = int8_ranges
        self._opened_dim = dim
        self._write_lock = threading.Lock()
        self.read_only = read_only
        self._pool = ConnectionPool(
            self.path, driver=driver, busy_timeout=busy_timeout, read_only=read_only, tracer=tracer
        )
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
        if config.dim is None:
            self._mirror = None
            return
        codec = VectorCodec(config.precision, config.dim, config.int8_ranges, exact_in_index=config.exact_in_index)
        self._mirror = VectorMirror(codec)

    @property
    def dim(self) -> int | None:
        """Dimension of the stored vectors (``None`` before the first vectors of a new store)."""
        return self.config.dim

    @property
    def precision(self) -> IndexPrecision:
        """Precision of the search index."""
        return self.config.precision

    @property
    def oversample(self) -> float:
        """Approximate candidates rescored per result (int8 and binary indexes)."""
        return self._oversample if self._oversample is not None else DEFAULT_OVERSAMPLE[self.config.precision]

    # -- vectors ------------------------------------------------------------
    def _accepted_dims(self) -> list[int]:
        return accepted_dims(self.config, self.encoder)

    def _fit(self, vectors: FloatArray) -> FloatArray:
        """Truncate full-dimension vectors to the store's Matryoshka dimension."""
        return self._fit_to(vectors, self.config.dim)

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
        texts = check_store_texts(texts)
        metas = check_metadatas(metadatas, len(texts))
        doc_ids = check_ids(ids, len(texts))
        batch_size = check_count(batch_size, "batch_size")
        if on_conflict not in ON_CONFLICT:
            raise ValueError(f"on_conflict must be one of {', '.join(map(repr, ON_CONFLICT))}, got {on_conflict!r}")
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
        # SQLite's default WAL auto-checkpoint (every 1000 pages, 16 MiB) is kept on purpose:
        # adding 100k documents (float32, 256-d, file in tmpfs) took 1.65-1.99 s with it and
        # 2.20-2.34 s with checkpoints postponed to one at the end.
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
        batch = texts[start:stop]
        present = [i for i, text in enumerate(batch) if text is not None]
        if not present:
            return np.zeros((0, self.config.dim or 0), dtype=np.float32), [], None
        first_windows, windows = self.encoder.windowed_documents([batch[i] for i in present])  # type: ignore[misc]
        vectors = check_embeddings(first_windows, len(present), self._accepted_dims(), what="encoder outputs")
        if windows is not None:
            windows = windows.with_vectors(
                check_embeddings(windows.vectors, windows.count, self._accepted_dims(), what="encoder outputs")
            )
        return vectors, None if len(present) == len(batch) else present, windows

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
        if mirror is not None and result.rowids:
            mirror.record_write(
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
        if self._mirror is not None and result.rowids:
            self._mirror.record_write(result.old_generation, result.new_generation, np.asarray(result.rowids), None)
        return len(result.rowids)

    # -- reading ------------------------------------------------------------
    def count(self, *, filter: Mapping[str, Any] | None = None) -> int:
        """Number of documents, or of those matching ``filter``.

        Args:
            filter: A metadata filter (see ``docs/filters.md``); ``None`` or ``{}`` counts all.

        Raises:
            FilterError: The filter is malformed.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], [{"k": 1}, {"k": 2}], embeddings=np.eye(2))
            >>> store.count(), store.count(filter={"k": {"$gt": 1}})
            (2, 1)
        """
        sql, params = self._filter(filter)
        with self._pool.connection() as conn:
            return int(conn.scalar(f"SELECT count(*) FROM {quote_identifier(DOCUMENTS)} WHERE {sql or '1'}", params))

    def count_vectors(self) -> int:
        """Number of documents that have a vector (the others are found by text and filters only).

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], embeddings=[np.ones(2), None])
            >>> store.count(), store.count_vectors()
            (2, 1)
        """
        with self._pool.connection() as conn:
            # the vec0 index holds every stored vector's code (float32 stores keep no other copy)
            if conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (VEC_INDEX,)) is None:
                return 0
            return int(conn.scalar(f"SELECT count(*) FROM {quote_identifier(VEC_INDEX)}"))

    def _get_with(self, conn: Connection, ids: Sequence[str]) -> list[Document]:
        found = []
        for chunk in chunked(list(dict.fromkeys(ids))):
            sql = select_in_sql(DOCUMENTS, ["id", "text", "metadata"], "id", len(chunk))
            found += [Document(i, t, json.loads(m), None) for i, t, m in conn.fetchall(sql, list(chunk))]
        order = {doc_id: index for index, doc_id in enumerate(ids)}
        return sorted(found, key=lambda d: order[d.id])

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
        with self._pool.connection() as conn:
            return update_metadata(conn, doc_ids, where, metadata, replace=replace)

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
        if self._mirror is not None and result.rowids:
            self._mirror.record_write(result.old_generation, result.new_generation, np.asarray(result.rowids), None)
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

    def _field_name(self, field: Any) -> str:
        check_str(field, "field")
        if not field:
            raise ValueError("field must be a non-empty metadata key")
        return str(field)

    def metadata_fields(self, *, filter: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Top-level metadata keys of the (matching) documents with their inferred types.

        A type is ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"list"``, ``"dict"``,
        ``"null"`` (only nulls), or ``"mixed"``; ints and floats together give ``"float"``.

        Args:
            filter: Only look at documents matching this filter.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], [{"n": 1, "s": "x"}, {"n": 2.5}], embeddings=np.eye(2))
            >>> store.metadata_fields()
            {'n': 'float', 's': 'str'}
        """
        where = self._filter(filter)
        with self._pool.connection() as conn:
            return field_types(conn, where)

    def metadata_values(self, field: str, *, filter: Mapping[str, Any] | None = None) -> list[tuple[Any, int]]:
        """Distinct non-null values of a top-level metadata field, with how many documents hold each.

        Ordered by count (most frequent first). Lists and dicts count as whole values.

        Args:
            field: The top-level metadata key.
            filter: Only count documents matching this filter.

        Raises:
            TypeError: ``field`` is not a string.
            ValueError: ``field`` is empty.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b", "c"], [{"t": "x"}, {"t": "y"}, {"t": "x"}], embeddings=np.eye(3, 2))
            >>> store.metadata_values("t")
            [('x', 2), ('y', 1)]
        """
        name = self._field_name(field)
        where = self._filter(filter)
        with self._pool.connection() as conn:
            return field_values(conn, name, where)

    def metadata_range(self, field: str, *, filter: Mapping[str, Any] | None = None) -> tuple[Any, Any] | None:
        """``(min, max)`` of a top-level metadata field, or ``None`` if no document holds a number or string there.

        Numbers are compared when the field holds any (ints and floats together),
        otherwise strings (by code point); other values are ignored.

        Args:
            field: The top-level metadata key.
            filter: Only look at documents matching this filter.

        Example:
            >>> import numpy as np
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], [{"y": 2001}, {"y": 1999.5}], embeddings=np.eye(2))
            >>> store.metadata_range("y")
            (1999.5, 2001)
        """
        name = self._field_name(field)
        where = self._filter(filter)
        with self._pool.connection() as conn:
            return field_range(conn, name, where)

    def _rows_by_rowid(self, conn: Connection, rowids: Sequence[int]) -> dict[int, tuple[str, str | None, str]]:
        found: dict[int, tuple[str, str | None, str]] = {}
        for chunk in chunked(list(rowids)):
            sql = select_in_sql(DOCUMENTS, ["rowid", "id", "text", "metadata"], "rowid", len(chunk))
            for rowid, doc_id, text, meta in conn.fetchall(sql, list(chunk)):
                found[int(rowid)] = (doc_id, text, meta)
        return found

    def _embeddings(self, conn: Connection, rowids: Sequence[int]) -> dict[int, FloatArray]:
        self._refresh_config(conn)  # another Store on this file may have written the first vectors
        if self.config.dim is None or not rowids:
            return {}
        return fetch_vectors(conn, self._codec(), rowids)

    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[Document]:
        """Documents by id, in input order; missing ids are skipped.

        Args:
            ids: The ids to fetch (a list: a single string is refused, it is not a list of its characters).
            include_embeddings: Attach the stored float32 vectors (exactly as added).

        Raises:
            TypeError: ``ids`` is a single string or holds a non-string (the message names its index).
            ValueError: An id is not valid Unicode.
        """
        wanted = check_lookup_ids(ids)
        with self._pool.connection() as conn:
            by_id: dict[str, tuple[int, str | None, str]] = {}
            for chunk in chunked(list(dict.fromkeys(wanted))):
                sql = select_in_sql(DOCUMENTS, ["id", "rowid", "text", "metadata"], "id", len(chunk))
                for doc_id, rowid, text, meta in conn.fetchall(sql, list(chunk)):
                    by_id[doc_id] = (int(rowid), text, meta)
            vectors = self._embeddings(conn, [v[0] for v in by_id.values()]) if include_embeddings else {}
        return [
            Document(i, by_id[i][1], json.loads(by_id[i][2]), vectors.get(by_id[i][0])) for i in wanted if i in by_id
        ]

    def iter_documents(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        batch_size: int = 1000,
        include_embeddings: bool = False,
    ) -> Iterator[Document]:
        """Every document (or those matching ``filter``) in insertion (rowid) order, read in batches.

        Args:
            filter: A filter (see ``docs/filters.md``); ``None`` or ``{}`` yields every document.
            batch_size: Documents read per query (>= 1).
            include_embeddings: Attach the stored float32 vectors.

        Raises:
            TypeError: ``batch_size`` is not an integer.
            ValueError: ``batch_size`` is below 1.
            FilterError: The filter is malformed (raised here, before iteration starts).

        Example:
            >>> store = Store(":memory:")
            >>> _ = store.add(["a", "b"], [{"k": 1}, {"k": 2}], ids=["a", "b"], embeddings=[None, None])
            >>> [d.id for d in store.iter_documents(filter={"k": {"$gt": 1}})]
            ['b']
        """
        batch_size = check_count(batch_size, "batch_size")
        sql, params = self._filter(filter)
        return self._iter_documents(batch_size, include_embeddings, sql, params)

    def _iter_documents(
        self, batch_size: int, include_embeddings: bool, where: str | None = None, params: Sequence[Any] = ()
    ) -> Iterator[Document]:
        last = -(2**63)
        extra = f" AND ({where})" if where else ""
        while True:
            with self._pool.connection() as conn:
                rows = conn.fetchall(
                    f"SELECT rowid, id, text, metadata FROM {quote_identifier(DOCUMENTS)} "
                    f"WHERE rowid > ?{extra} ORDER BY rowid LIMIT ?",
                    (last, *params, batch_size),
                )
                vectors = self._embeddings(conn, [r[0] for r in rows]) if include_embeddings else {}
            if not rows:
                return
            for rowid, doc_id, text, meta in rows:
                yield Document(doc_id, text, json.loads(meta), vectors.get(int(rowid)))
            last = int(rows[-1][0])

    # -- searching ----------------------------------------------------------
    def _query_vector(self, query: str | None, vector: Any) -> FloatArray:
        return query_vector(query, vector, self.encoder, self._accepted_dims(), self._fit)

    def _filter(self, filter: Mapping[str, Any] | None) -> tuple[str | None, list[Any]]:
        if not filter:
            return None, []
        from ogma.store.sqlite.filters import compile_filter

        sql, params = compile_filter(filter, column=f"{DOCUMENTS}.metadata")
        return sql, list(params)

    def _dense(
        self,
        conn: Connection,
        unit: FloatArray,
        count: int,
        filter_sql: str | None,
        params: list[Any],
        backend: Backend,
    ) -> list[tuple[int, float]]:
        self._refresh_config(conn)
        if self._mirror is None:
            return []
        ranked = dense(
            conn,
            self._mirror,
            unit,
            count,
            filter_sql=filter_sql,
            filter_params=params,
            backend=backend,
            oversample=self.oversample,
        )
        # long documents: a document scores by its best window (store/sqlite/windows.py)
        return self._windows.rank(conn, ranked, unit, count, filter_sql=filter_sql, filter_params=params)

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
        rerank_alpha: float | None = None,
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
            rerank: A reranker (``rerank(query, documents, top_k, first_stage_scores=, alpha=)``);
                reorders the first ``rerank_k`` hits.
            rerank_k: First-stage hits handed to the reranker (default ``max(k, 50)``).
            rerank_alpha: Blend weight of the reranker with the first-stage score (``None``: rerank only).
            backend: Dense backend for this call (default: the store's).

        Returns:
            Hits, best first; ``score`` is the final score and ``scores`` holds each stage's
            (``"dense"`` cosine, ``"lexical"`` positive BM25, ``"fused"``, ``"rerank"``).
            A ``k`` larger than the store returns every match, in every mode (counts are
            clamped to ``2**63 - 1``, the most SQLite binds).

        Raises:
            TypeError: ``k``, ``candidates`` or ``rerank_k`` is not an integer (``bool`` and
                ``float`` included), or ``query`` is not a ``str``.
            ValueError: Negative ``k``, ``candidates`` below 1, unknown mode or backend, no
                query, a query that is not valid Unicode, or an all-zero query vector.
            FusionError: An invalid ``fusion``, or ``fusion``/``candidates`` outside hybrid mode.
            StoreMismatchError: A query vector of the wrong dimension.
            FilterError: A malformed filter, or one beyond the limits in ``docs/filters.md``.
        """
        k = check_k(k)
        check_search_mode(query, mode)
        backend = backend or self.backend
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(BACKENDS)}; got {backend!r}")
        check_search_options(
            query, mode, fusion=fusion, candidates=candidates, rerank=rerank, rerank_alpha=rerank_alpha
        )
        if k == 0:
            return []
        first_k = max(k, check_k(rerank_k, "rerank_k") if rerank_k is not None else 50) if rerank is not None else k
        depth = check_count(candidates, "candidates") if candidates is not None else max(first_k, 50)
        filter_sql, params = self._filter(filter)
        unit = self._query_vector(query, vector) if mode != "lexical" else None
        with self._pool.connection() as conn:
            ranked, scores = self._rank(conn, mode, query, unit, first_k, depth, filter_sql, params, backend, fusion)
            rows = self._rows_by_rowid(conn, [r for r, _ in ranked])
            vectors = self._embeddings(conn, [r for r, _ in ranked]) if include_embeddings else {}
        hits = [
            Hit(
                id=rows[r][0],
                text=rows[r][1],
                metadata=json.loads(rows[r][2]),
                score=score,
                scores=scores[r],
                embedding=vectors.get(r),
            )
            for r, score in ranked
            if r in rows
        ]
        if rerank is not None and query is not None:
            hits = rerank_hits(rerank, query, hits, k, alpha=rerank_alpha)
        return hits[:k]

    def _rank(
        self,
        conn: Connection,
        mode: SearchMode,
        query: str | None,
        unit: FloatArray | None,
        count: int,
        depth: int,
        filter_sql: str | None,
        params: list[Any],
        backend: Backend,
        fusion: str | Mapping[str, Any] | None,
    ) -> tuple[list[tuple[int, float]], dict[int, dict[str, float]]]:
        dense_list: list[tuple[int, float]] = []
        lexical_list: list[tuple[int, float]] = []
        if mode in ("dense", "hybrid") and unit is not None:
            dense_list = self._dense(conn, unit, count if mode == "dense" else depth, filter_sql, params, backend)
        if mode in ("lexical", "hybrid") and query is not None:
            from ogma.store.sqlite.fts import build_fts_query

            lexical_list = lexical(
                conn,
                build_fts_query(query),
                count if mode == "lexical" else depth,
                filter_sql=filter_sql or "1",
                filter_params=params,
            )
        scores: dict[int, dict[str, float]] = {}
        for rowid, score in dense_list:
            scores.setdefault(rowid, {})["dense"] = score
        for rowid, score in lexical_list:
            scores.setdefault(rowid, {})["lexical"] = score
        if mode == "dense":
            return dense_list, scores
        if mode == "lexical":
            return lexical_list, scores
        fused = fuse_ranked(dense_list, lexical_list, fusion, query=query)
        for rowid, score in fused:
            scores[rowid]["fused"] = score
        return fused[:count], scores

    def max_marginal_relevance_search(
        self,
        query: str | None = None,
        *,
        vector: Any = None,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Dense search for ``fetch_k`` candidates, then ``k`` picked by maximal marginal relevance.

        Args:
            query: Query text (needs an encoder) ...
            vector: ... or a query vector.
            k: Results wanted.
            fetch_k: Candidates to choose from.
            lambda_mult: 1 = relevance only, 0 = diversity only.
            filter: Metadata filter.

        Returns:
            Hits in MMR selection order; ``score`` is the cosine similarity to the query.
        """
        k, fetch_k = check_mmr_args(k, fetch_k, lambda_mult, query)
        if k == 0:
            return []
        unit = self._query_vector(query, vector)
        pool = self.search(query, vector=unit, k=fetch_k, filter=filter, include_embeddings=True)
        if not pool:
            return []
        matrix = np.stack([h.embedding for h in pool if h.embedding is not None])
        chosen = mmr_select(unit, self._fit(matrix), k, lambda_mult=lambda_mult)
        return [pool[i] for i in chosen]

    # -- settings -----------------------------------------------------------
    def read_setting(self, key: str) -> str | None:
        """A setting from the store's configuration record (``None`` when unset).

        Settings are small strings kept beside the configuration (the LangChain adapter
        keeps its embedder fingerprint there, see :mod:`ogma.store.fingerprint`).

        Example:
            >>> with Store(":memory:") as store:
            ...     store.write_setting_once("app.owner", "docs team"), store.read_setting("app.owner")
            (True, 'docs team')
        """
        key = check_setting_key(key)
        with self._pool.connection() as conn:
            value = conn.scalar(f"SELECT value FROM {CONFIG} WHERE key = ?", (key,))
        return None if value is None else str(value)

    def write_setting_once(self, key: str, value: str) -> bool:
        """Record a setting unless it is set already (the first value stands, also across processes).

        Returns:
            Whether this call wrote it.

        Raises:
            ValueError: ``key`` names a field of the configuration record (``dim``, ...).
            TypeError: ``key`` or ``value`` is not a string.
            StoreError: The store is read-only.
        """
        key = check_setting_key(key, writing=True)
        check_str(value, "value")
        if self.read_only:
            raise StoreError(f"this store was opened with read_only=True; open it without it to write setting {key!r}")
        with self._pool.connection() as conn, conn.transaction():
            if conn.scalar(f"SELECT 1 FROM {CONFIG} WHERE key = ?", (key,)) is not None:
                return False
            conn.execute(f"INSERT INTO {CONFIG} (key, value) VALUES (?, ?)", (key, value))
        return True

    # -- lifecycle ----------------------------------------------------------
    def close(self) -> None:
        """Close every connection (idempotent)."""
        self._pool.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        c = self.config
        return f"Store({self.path!r}, model_id={c.model_id!r}, dim={c.dim}, precision={c.precision!r})"
