"""``MilvusStore``: the store protocol on Milvus (a server, or Milvus Lite in one file).

Example:
    >>> import numpy as np
    >>> from ogma.store.milvus import MilvusStore
    >>> store = MilvusStore("./notes.db", collection="notes", dim=2)  # doctest: +SKIP
    >>> store.add(["red apple", "green pear"], ids=["a", "p"],
    ...           embeddings=np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))  # doctest: +SKIP
    ['a', 'p']
"""

from __future__ import annotations

import logging
import math
import sys
import threading
import time
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ogma.compress import quantize_binary
from ogma.errors import DuplicateDocumentError, FilterError, StoreError, StoreMismatchError, UnsupportedSearchError
from ogma.store.document import Document
from ogma.store.encoding import StoreEncoder, as_encoder
from ogma.store.milvus import metadata as facts
from ogma.store.milvus import reading, settings
from ogma.store.milvus.client import (
    LIKE_ANYWHERE_SINCE,
    at_least,
    check_uri,
    connect,
    has_bm25,
    is_lite,
    reopening_uri,
    server_version,
)
from ogma.store.milvus.expressions import Expression, compile_expression, literal, non_prefix_like
from ogma.store.milvus.opening import create_collection, described_config, open_collection
from ogma.store.milvus.paging import PAGE_SIZE, QUERY_WINDOW, key_pages
from ogma.store.milvus.paging import and_expr as _and
from ogma.store.milvus.rows import (
    DOCUMENT_FIELDS,
    doc_id_of,
    floats_of,
    key_of,
    make_row,
    row_fields,
    to_document,
    with_metadata,
)
from ogma.store.milvus.schema import (
    MAX_VARCHAR,
    PRECISIONS,
    MilvusConfig,
    MilvusPrecision,
    check_collection_name,
    check_index_type,
    search_params,
)
from ogma.store.pipeline import NOTHING, DenseCandidates, SearchPipeline
from ogma.store.protocol import OnConflict
from ogma.store.settings import check_setting_key
from ogma.store.validate import (
    check_add_args,
    check_field_name,
    check_lookup_ids,
    check_metadatas,
    check_optional_embeddings,
    lexical_query,
)
from ogma.store.vector_input import embed_texts
from ogma.validation import check_count, check_str

__all__ = ["DEFAULT_OVERSAMPLE", "MAX_LIMIT", "RESCORE_FETCH_BYTES", "MilvusStore"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

DEFAULT_OVERSAMPLE: dict[str, float] = {"float32": 1.0, "binary": 20.0}
"""Binary candidates rescored per wanted result (as in the SQLite store)."""

RESCORE_FETCH_BYTES = 1 << 20
"""Binary search: candidates whose float vectors total at most this many bytes (k=10 at
256-d: 200 × 1 KiB) are fetched with the candidates and rescored in Ogma, in one round
trip; larger sets are rescored by a second, filtered search inside Milvus."""

MAX_LIMIT = QUERY_WINDOW
"""The most results one Milvus search returns; larger ``k`` are clamped to it (enumerations page past it)."""

_ID_CHUNK = reading.ID_CHUNK


class MilvusStore(SearchPipeline):
    """Documents, metadata, dense (float or binary) and BM25 vectors in one Milvus collection.

    Semantics follow :class:`ogma.store.Store` (the SQLite backend); the differences
    that Milvus imposes are listed in ``docs/store.md`` ("Milvus backend"): writes are
    not transactions, one search returns at most :data:`MAX_LIMIT` hits, a few filter
    forms are refused, texts and ids are at most 65,535 bytes.

    Args:
        uri: ``"./milvus.db"`` (Milvus Lite, embedded, one file) or ``"http://host:19530"``.
        collection: The collection holding this store (created on first use).
        encoder: An :class:`ogma.TextEncoder` or any embedder (as for :class:`ogma.store.Store`).
        dim: Vector dimension (Matryoshka truncation below the encoder's, as in SQLite).
        precision: ``"float32"`` (default) or ``"binary"`` (Hamming candidates, rescored
            with the float vectors kept in the collection).
        index_type: Index of the searched vector field (``FLAT``/``BIN_FLAT`` by default;
            see :data:`~ogma.store.milvus.schema.INDEX_TYPES`).
        token: Milvus auth token (``"user:password"`` or an API key), for a server.
        oversample: Binary candidates rescored per result (default 20).
        show_progress: Progress bars in :meth:`add` (``None``: when stderr is a terminal).
        insert_new_ids: Write documents whose ids are not stored yet with Milvus ``insert``
            instead of ``upsert`` (stored ids are still upserted). Upsert deletes before it
            inserts, and on Milvus Lite 2.5 its cost per batch grows with the collection
            (from 900,000 to 1,000,000 rows: 524 rows/s by upsert, 3,650 by insert).
            Milvus does not keep primary keys unique on insert, so use this only when one
            writer adds the ids (a bulk load, ``ogma import``/``ogma migrate``): two
            writers adding the same new id at once would leave two copies.

    Attributes:
        server_version: The Milvus server's version (``"v2.3.5"``), or ``None`` for Milvus
            Lite. Before Milvus 2.5 there is no BM25: lexical and hybrid search raise
            :class:`~ogma.errors.UnsupportedSearchError`; dense search works.

    Raises:
        MissingExtraError: ``pymilvus`` is not installed (``pip install 'ogma-core[milvus]'``).
        StoreMismatchError: The collection was built with another model, dimension or precision.
        StoreError: Milvus cannot be reached, the collection is not an Ogma store, or a
            Milvus Lite path names an existing file that is not a Milvus Lite database.
        ValueError: An argument out of range (names it).

    Example:
        >>> import numpy as np
        >>> with MilvusStore("./notes.db", collection="demo", dim=3, precision="binary") as store:  # doctest: +SKIP
        ...     _ = store.add(["x"], embeddings=np.array([[0.1, -0.2, 0.3]]), ids=["x"])
        ...     store.count()
        1
    """

    def __init__(
        self,
        uri: str = "./milvus.db",
        collection: str = "ogma",
        encoder: Any = None,
        *,
        dim: int | None = None,
        precision: MilvusPrecision | None = None,
        index_type: str | None = None,
        token: str | None = None,
        oversample: float | None = None,
        show_progress: bool | None = None,
        insert_new_ids: bool = False,
    ) -> None:
        if not isinstance(insert_new_ids, bool):
            raise TypeError(f"insert_new_ids must be True or False, got {insert_new_ids!r}")
        if precision is not None and precision not in PRECISIONS:
            hint = " (Milvus 2.5 has no int8 vectors; use 'binary' or 'float32')" if precision == "int8" else ""
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}{hint}")
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if oversample is not None and not (
            isinstance(oversample, (int, float)) and not isinstance(oversample, bool) and 1.0 <= oversample < math.inf
        ):
            raise ValueError(f"oversample must be a finite number >= 1, got {oversample!r}")
        if token is not None and not isinstance(token, str):
            raise TypeError(f"token must be a str, got {type(token).__name__}")
        self.uri = check_uri(uri)
        self._lite = is_lite(self.uri)
        self.collection = check_collection_name(collection)
        self.encoder: StoreEncoder | None = None if encoder is None else as_encoder(encoder)
        self.show_progress = show_progress
        self.insert_new_ids = insert_new_ids
        self._oversample = oversample
        self._lock = threading.Lock()
        self._opened_dim = dim
        self._last_seq = 0
        self._closed = False
        asked_index = check_index_type(index_type, precision or "float32")
        self._client = connect(self.uri, token)
        self.server_version = server_version(self._client, self.uri)
        self._bm25 = has_bm25(self.server_version)  # lexical search: a BM25 field (Milvus >= 2.5)
        self._float_field = True  # the float vectors are a vector field (False: JSON, see opening.Fields)
        try:
            self.config = self._open(dim, precision, asked_index if index_type is not None else None)
        except BaseException:
            self._client.close()
            raise

    # -- opening --------------------------------------------------------------
    def _open(self, dim: int | None, precision: str | None, index_type: str | None) -> MilvusConfig:
        config, fields = open_collection(
            self._client,
            self.collection,
            self.encoder,
            dim=dim,
            precision=precision,
            index_type=index_type,
            lite=self._lite,
            version=self.server_version,
        )
        self._bm25, self._float_field = fields.bm25, fields.float_field
        return config

    def _create(self, config: MilvusConfig) -> None:
        fields = create_collection(self._client, self.collection, config, lite=self._lite, version=self.server_version)
        self._bm25, self._float_field = fields.bm25, fields.float_field

    @property
    def _exists(self) -> bool:
        """Whether the collection exists (another store may have created it since this one opened)."""
        if self.config.dim is None and self._client.has_collection(self.collection):
            self._adopt()
        return self.config.dim is not None

    def _adopt(self) -> None:
        """Take the configuration of a collection that another store created."""
        self.config, fields = described_config(self._client, self.collection, self.server_version)
        self._bm25, self._float_field = fields.bm25, fields.float_field
        self._client.load_collection(self.collection)

    @property
    def dim(self) -> int | None:
        """Dimension of the stored vectors (``None`` before the first vectors of a new collection)."""
        return self.config.dim

    @property
    def store_uri(self) -> str:
        """The store URI that reopens this store (``milvus://...`` or ``milvus-lite://...``, never with the token)."""
        return reopening_uri(self.uri, self.collection)

    @property
    def precision(self) -> MilvusPrecision:
        """``"float32"`` or ``"binary"``."""
        return self.config.precision

    @property
    def oversample(self) -> float:
        """Binary candidates rescored per result."""
        return self._oversample if self._oversample is not None else DEFAULT_OVERSAMPLE[self.config.precision]

    # -- vectors --------------------------------------------------------------
    def _settle(self, vectors: FloatArray) -> None:
        """Create the collection when the first vectors fix the dimension."""
        if self._exists:
            return
        with self._lock:
            if self._client.has_collection(self.collection):  # another store was first
                self._adopt()
                return
            dim = int(vectors.shape[1])
            config = replace(self.config, dim=dim, full_dim=self.config.full_dim or dim)
            self._create(config)
            self.config = config

    def _next_seq(self, count: int) -> int:
        """The first of ``count`` increasing insertion-order numbers (nanosecond clock based)."""
        with self._lock:
            first = max(time.time_ns(), self._last_seq + 1)
            self._last_seq = first + count - 1
            return first

    # -- helpers --------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this MilvusStore is closed")

    def _compile(self, filter: Mapping[str, Any] | None) -> Expression:
        compiled = compile_expression(filter)
        if isinstance(compiled, str) and not at_least(self.server_version, LIKE_ANYWHERE_SINCE):
            pattern = non_prefix_like(compiled)
            if pattern is not None:
                raise FilterError(
                    f"this Milvus server ({self.server_version}) matches strings by prefix only ('ab%'); the "
                    f"filter needs the pattern {pattern!r} ($contains on a string, $like or $ilike with a "
                    "wildcard before the end), which needs Milvus >= 2.4. Filter by prefix or equality here."
                )
        return compiled

    def _scan(self, expr: str, fields: list[str], page_size: int = PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Every row matching ``expr`` (``""``: all), in pages by primary key (see :mod:`.paging`)."""
        if not self._exists:
            return iter(())
        return key_pages(self._client, self.collection, expr, fields, page_size=page_size)

    def _rows_by_id(self, ids: Sequence[str], fields: list[str], expr: str = "") -> dict[str, dict[str, Any]]:
        return reading.rows_by_id(self._client, self.collection, ids, fields, expr) if self._exists else {}

    def _selection(self, ids: Sequence[str] | None, filter: Mapping[str, Any] | None, verb: str) -> str | None:
        """The expression of ids and/or a filter (``None``: nothing can match)."""
        if ids is None and filter is None:
            raise ValueError(f"give ids=, filter=, or both to say which documents to {verb}")
        expr = ""
        if filter is not None:
            if not isinstance(filter, Mapping) or not filter:
                raise ValueError(
                    f"filter must be a non-empty dict (an empty one would {verb} every document), got {filter!r}"
                )
            compiled = self._compile(filter)
            if compiled is False:
                return None
            expr = "" if compiled is True else str(compiled)
        return expr

    # -- writing --------------------------------------------------------------
    def add(
        self,
        texts: Sequence[str | None],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        embeddings: Any = None,
        *,
        batch_size: int = 1000,
        on_conflict: OnConflict = "replace",
    ) -> list[str]:
        """Insert or replace (by id) documents with their metadata and vectors.

        As :meth:`ogma.store.Store.add`, with Milvus' guarantees: each batch is one
        ``upsert`` request (Milvus applies it whole or not at all; with
        ``insert_new_ids=True``, the new ids of a batch go in one ``insert`` request and
        the stored ones in one ``upsert``), but there is no transaction across batches or
        with the ``skip``/``fail`` check, which reads the stored ids before writing. All
        input is validated (and embedded) before the first write, so bad input writes nothing.

        Args:
            texts: Document texts (``None``: a document without content).
            metadatas: One JSON-serialisable dict (or ``None``) per text.
            ids: One unique id per text (generated when ``None``).
            embeddings: Precomputed ``(n, d)`` vectors; a ``None`` row stores that document
                without a vector. Without them the encoder embeds the texts.
            batch_size: Documents per upsert request.
            on_conflict: ``"replace"`` (upsert), ``"skip"`` or ``"fail"``.

        Returns:
            The ids written, in input order (without skipped ones).

        Raises:
            DuplicateDocumentError: ``on_conflict="fail"`` and an id is stored already.
            TypeError: A text, id or metadata entry has the wrong type.
            ValueError: Length mismatch, duplicate ids, NaN/inf vectors, a text or id over 65,535 bytes.
            StoreMismatchError: Embeddings of the wrong dimension.
            StoreError: No encoder and no embeddings.
        """
        self._check_open()
        items, metas, doc_ids, batch_size = check_add_args(
            texts, metadatas, ids, batch_size=batch_size, on_conflict=on_conflict
        )
        if not items:
            return []
        for name, values in (("texts", items), ("ids", [key_of(i) for i in doc_ids])):
            for index, value in enumerate(values):
                if value is not None and len(value) * 4 > MAX_VARCHAR and len(value.encode("utf-8")) > MAX_VARCHAR:
                    raise ValueError(
                        f"{name}[{index}] is longer than {MAX_VARCHAR:,} bytes as UTF-8, the most a Milvus "
                        "VARCHAR holds; split it into smaller documents"
                    )
        vectors = self._vectors(items, embeddings)
        present = [v for v in vectors if v is not None]
        if present:
            self._settle(np.stack(present))
        if not self._exists:
            raise StoreError(
                "none of these documents has a vector and the collection's dimension is unknown; "
                "open the store with dim= (or an encoder), or add one document with a vector first"
            )
        fitted = [None if v is None else self._fit_one(v) for v in vectors]
        stored = self._rows_by_id(doc_ids, ["id", "seq"])
        if on_conflict == "fail" and stored:
            raise DuplicateDocumentError.for_ids([i for i in doc_ids if i in stored])
        keep = [i for i, doc_id in enumerate(doc_ids) if not (on_conflict == "skip" and doc_id in stored)]
        show = self.show_progress if self.show_progress is not None else sys.stderr.isatty()
        first = self._next_seq(len(keep))
        binary = self.config.precision == "binary"
        dim = int(self.config.dim or 0)
        with tqdm(total=len(keep), disable=not show, unit="doc") as bar:
            for start in range(0, len(keep), batch_size):
                new: list[dict[str, Any]] = []
                replaced: list[dict[str, Any]] = []
                for offset, index in enumerate(keep[start : start + batch_size]):
                    doc_id = doc_ids[index]
                    seq = int(stored[doc_id]["seq"]) if doc_id in stored else first + start + offset
                    row = make_row(
                        doc_id,
                        items[index],
                        metas[index],
                        fitted[index],
                        dim,
                        binary=binary,
                        seq=seq,
                        floats_in_json=not self._float_field,
                    )
                    (replaced if doc_id in stored else new).append(row)
                if self.insert_new_ids:
                    if new:
                        self._client.insert(self.collection, new)
                    if replaced:
                        self._client.upsert(self.collection, replaced)
                else:
                    self._client.upsert(self.collection, new + replaced)
                bar.update(len(new) + len(replaced))
        return [doc_ids[i] for i in keep]

    def _vectors(self, texts: list[str | None], embeddings: Any) -> list[FloatArray | None]:
        """One vector (or ``None``) per document, validated before anything is written."""
        out: list[FloatArray | None] = [None] * len(texts)
        if embeddings is not None:
            matrix, positions = check_optional_embeddings(embeddings, len(texts), self._accepted_dims())
        elif self.encoder is None:
            raise StoreError("this store has no encoder: pass embeddings= to add(), or open the store with an encoder")
        else:
            # long documents: one vector each, their windows' mean, with a warning (store/windows.py)
            matrix, positions = embed_texts(
                self.encoder, texts, self._accepted_dims(), self.config.dim, store="MilvusStore"
            )
        for row, position in enumerate(positions if positions is not None else range(len(texts))):
            out[position] = matrix[row]
        dims = {v.shape[0] for v in out if v is not None}
        if len(dims) > 1:
            raise StoreMismatchError(f"embeddings of one call have different dimensions: {sorted(dims)}")
        return out

    def _fit_one(self, vector: FloatArray) -> FloatArray:
        fitted = self._fit(vector[None, :])[0]
        if fitted.shape[0] != self.config.dim:
            raise StoreMismatchError(
                f"embeddings have dimension {fitted.shape[0]}, but this store expects {self.config.dim}"
            )
        return fitted.astype(np.float32)

    def delete(self, ids: Sequence[str] | None = None, *, filter: Mapping[str, Any] | None = None) -> int:
        """Delete documents by id, by filter, or both (ids that also match).

        Milvus deletes by expression; the matching ids are read first, a page at a time (by
        primary key, past Milvus' 16,384-row query window), and each page is deleted by id,
        so the count is exact and no page of ids is held longer than its delete.

        Returns:
            How many documents were deleted.

        Raises:
            TypeError: ``ids`` is a single string or holds a non-string.
            ValueError: Neither ``ids`` nor a filter, or an empty filter.
            FilterError: A malformed filter, or one Milvus cannot express.
        """
        self._check_open()
        doc_ids = None if ids is None else list(dict.fromkeys(check_lookup_ids(ids)))
        expr = self._selection(doc_ids, filter, "delete")
        if expr is None or doc_ids == [] or not self._exists:
            return 0
        if doc_ids is not None:
            found = [key_of(i) for i in self._rows_by_id(doc_ids, ["id"], expr)]
            for start in range(0, len(found), _ID_CHUNK):
                reading.delete_keys(self._client, self.collection, found[start : start + _ID_CHUNK])
            return len(found)
        return reading.delete_matching(self._client, self.collection, expr)

    def delete_all(self, *, confirm: bool = False) -> int:
        """Delete every document (the collection and its settings stay); needs ``confirm=True``."""
        self._check_open()
        if confirm is not True:
            raise ValueError("delete_all() deletes every document: call it as delete_all(confirm=True)")
        return reading.delete_matching(self._client, self.collection, "") if self._exists else 0

    def reset(self, *, confirm: bool = False) -> int:
        """Delete every document and forget what the first vectors fixed.

        The collection is dropped and made again as if this store had just created it:
        its dimension is the one given when opened (``dim=``, else the encoder's), or none,
        so the next vectors written fix it. Model id, precision, index type and settings
        stay. Other ``MilvusStore`` objects open on the collection must be reopened.

        Args:
            confirm: Must be ``True``.

        Returns:
            How many documents were deleted.

        Raises:
            ValueError: ``confirm`` is not ``True``.

        Example:
            >>> import numpy as np
            >>> store = MilvusStore("./notes.db", collection="demo")  # doctest: +SKIP
            >>> _ = store.add(["a"], embeddings=np.ones((1, 3)))  # doctest: +SKIP
            >>> store.reset(confirm=True), store.dim  # doctest: +SKIP
            (1, None)
        """
        self._check_open()
        if confirm is not True:
            raise ValueError("reset() deletes every document and the vector index: call it as reset(confirm=True)")
        encoder_dim = self.encoder.dim if self.encoder is not None else None
        dim = self._opened_dim if self._opened_dim is not None else encoder_dim
        with self._lock:
            deleted = self.count()
            if self._client.has_collection(self.collection):
                self._client.drop_collection(self.collection)
            fresh = replace(self.config, dim=dim, full_dim=encoder_dim if encoder_dim is not None else dim)
            if dim is not None:
                self._create(fresh)
            self.config = fresh
        return deleted

    def update(
        self,
        ids: Sequence[str] | None = None,
        *,
        metadata: Mapping[str, Any],
        filter: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> int:
        """Merge (or replace) the metadata of documents chosen by id and/or filter.

        Milvus 2.5 has no partial update: each document is read and written back whole
        (texts and vectors unchanged), in pages of 1,000 (one query and one upsert each).

        Returns:
            How many documents were updated.
        """
        self._check_open()
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        check_metadatas([dict(metadata)], 1)
        doc_ids = None if ids is None else check_lookup_ids(ids)
        expr = self._selection(doc_ids, filter, "update")
        if expr is None or doc_ids == [] or not self._exists:
            return 0
        binary = self.config.precision == "binary"
        fields = row_fields(binary)
        pages: Iterator[list[dict[str, Any]]]
        if doc_ids is not None:
            rows = list(self._rows_by_id(doc_ids, fields, expr).values())
            pages = (rows[start : start + _ID_CHUNK] for start in range(0, len(rows), _ID_CHUNK))
        else:
            pages = self._scan(expr, fields, page_size=_ID_CHUNK)
        new = dict(metadata)
        updated = 0
        for page in pages:
            out = [with_metadata(r, dict(new) if replace else {**(r["metadata"] or {}), **new}, binary) for r in page]
            if out:
                self._client.upsert(self.collection, out)
            updated += len(out)
        return updated

    # -- reading --------------------------------------------------------------
    def count(self, *, filter: Mapping[str, Any] | None = None) -> int:
        """Number of documents, or of those matching ``filter``."""
        self._check_open()
        compiled = self._compile(filter)
        if compiled is False or not self._exists:
            return 0
        expr = "" if compiled is True else str(compiled)
        result = self._client.query(self.collection, filter=expr, output_fields=["count(*)"])
        return int(result[0]["count(*)"])

    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[Document]:
        """Documents by id, in input order; missing ids are skipped."""
        self._check_open()
        wanted = check_lookup_ids(ids)
        fields = [*DOCUMENT_FIELDS, "has_vector", "vector"] if include_embeddings else DOCUMENT_FIELDS
        rows = self._rows_by_id(wanted, fields)
        return [to_document(rows[i], include_embeddings) for i in wanted if i in rows]

    def iter_documents(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        batch_size: int = 1000,
        include_embeddings: bool = False,
    ) -> Iterator[Document]:
        """Every document (or those matching ``filter``) in insertion order; a replaced document keeps its place.

        Milvus cannot order a query, so the matching documents' insertion numbers are read
        first (in pages, 8 bytes kept per document), then the documents in windows of
        consecutive insertion numbers (``batch_size`` of them, at least 1,000 and at most
        16,384), each sorted in memory: only one window of documents is held at a time.

        Args:
            filter: A filter (see ``docs/filters.md``); ``None`` or ``{}`` yields every document.
            batch_size: Documents read per query (>= 1; read in windows of 1,000 to 16,384).
            include_embeddings: Attach the stored float32 vectors.

        Raises:
            TypeError: ``batch_size`` is not an integer.
            ValueError: ``batch_size`` is below 1.
            FilterError: The filter is malformed or cannot be expressed (raised here, before iterating).
        """
        self._check_open()
        batch_size = check_count(batch_size, "batch_size")
        compiled = self._compile(filter)
        return self._iter(batch_size, include_embeddings, compiled)

    def _iter(self, batch_size: int, include_embeddings: bool, compiled: Expression) -> Iterator[Document]:
        if compiled is False or not self._exists:
            return
        expr = "" if compiled is True else str(compiled)
        yield from reading.documents_in_order(
            self._client, self.collection, expr, batch_size=batch_size, include_embeddings=include_embeddings
        )

    def _metadatas(self, filter: Mapping[str, Any] | None) -> Iterator[dict[str, Any]]:
        """The metadata of every matching document, streamed in pages (the filter is compiled at once)."""
        compiled = self._compile(filter)
        if compiled is False or not self._exists:
            return iter(())
        return reading.metadatas(self._client, self.collection, "" if compiled is True else str(compiled))

    @staticmethod
    def _field_name(field: Any) -> str:
        return check_field_name(field)

    def metadata_fields(self, *, filter: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Top-level metadata keys with their inferred types (as ``Store.metadata_fields``)."""
        self._check_open()
        return facts.field_types(self._metadatas(filter))

    def metadata_values(self, field: str, *, filter: Mapping[str, Any] | None = None) -> list[tuple[Any, int]]:
        """Distinct non-null values of a top-level field with their counts (as ``Store.metadata_values``)."""
        self._check_open()
        name = self._field_name(field)
        return facts.field_values(self._metadatas(filter), name)

    def metadata_range(self, field: str, *, filter: Mapping[str, Any] | None = None) -> tuple[Any, Any] | None:
        """``(min, max)`` of a top-level field (as ``Store.metadata_range``)."""
        self._check_open()
        name = self._field_name(field)
        return facts.field_range(self._metadatas(filter), name)

    # -- search primitives (the pipeline itself is ogma.store.pipeline) -----------
    def _pushdown(self, filter: Mapping[str, Any] | None) -> Any:
        compiled = self._compile(filter)
        if compiled is False:
            return NOTHING
        return "" if compiled is True else str(compiled)

    @property
    def _quantized(self) -> bool:
        return self.config.precision == "binary"

    def _dense_candidates(self, ctx: Any, unit: FloatArray, count: int, where: str, option: Any) -> DenseCandidates:
        if not self._exists or count == 0:
            return DenseCandidates([])
        expr = _and(where, "has_vector == true")
        config = self.config
        limit = min(count, MAX_LIMIT)
        if config.precision == "float32":
            found = self._client.search(
                self.collection,
                data=[unit.tolist()],
                anns_field="vector",
                limit=limit,
                filter=expr,
                search_params=search_params(config.index_type, "COSINE", limit),
                output_fields=["id"],
            )[0]
            return DenseCandidates([(doc_id_of(h["id"]), float(h["distance"])) for h in found])
        bits = quantize_binary(unit[None, :])[0].tobytes()
        # small candidate sets come back with their float vectors and are rescored by the
        # pipeline (one round trip); large ones by _rescore inside Milvus, so no big payload
        # crosses the network. Float vectors kept as JSON (Milvus 2.3) are always fetched.
        fetch = limit * len(unit) * 4 <= RESCORE_FETCH_BYTES or not self._float_field
        found = self._client.search(
            self.collection,
            data=[bits],
            anns_field="bits",
            limit=limit,
            filter=expr,
            search_params=search_params(config.index_type, "HAMMING", limit),
            output_fields=["id", "vector"] if fetch else ["id"],
        )[0]
        ranked: list[tuple[Hashable, float]] = [(doc_id_of(h["id"]), -float(h["distance"])) for h in found]
        if not fetch or not found:
            return DenseCandidates(ranked)
        return DenseCandidates(ranked, np.asarray([floats_of(h["entity"]["vector"]) for h in found], dtype=np.float32))

    def _rescore(
        self, ctx: Any, unit: FloatArray, keys: Sequence[Hashable], count: int
    ) -> list[tuple[Hashable, float]]:
        """An exact (FLAT) cosine search of the float vectors, restricted to the candidates."""
        if not keys:
            return []
        rescored = self._client.search(
            self.collection,
            data=[unit.tolist()],
            anns_field="vector",
            limit=min(count, len(keys)),
            filter=f"id in {literal([key_of(str(key)) for key in keys])}",
            search_params={"metric_type": "COSINE", "params": {}},
            output_fields=["id"],
        )[0]
        scored: list[tuple[Hashable, float]] = [(doc_id_of(h["id"]), float(h["distance"])) for h in rescored]
        scored.sort(key=lambda item: (-item[1], str(item[0])))
        return scored[:count]

    def _check_lexical(self) -> None:
        if not self._bm25:
            where = f"this Milvus server ({self.server_version})" if self.server_version else "this collection"
            raise UnsupportedSearchError(
                f"{where} has no BM25 full-text search: lexical and hybrid search need Milvus >= 2.5 "
                "(or Milvus Lite 2.5) and a collection created there; use mode='dense' on this server"
            )

    def _lexical_candidates(self, ctx: Any, query: str, count: int, where: str) -> list[tuple[Hashable, float]]:
        self._check_lexical()
        query = lexical_query(query)  # Milvus' analyzer would stop at a NUL; SQLite's reads on
        if not self._exists or count == 0 or not query.strip():
            return []
        limit = min(count, MAX_LIMIT)
        try:
            found = self._client.search(
                self.collection,
                data=[query],
                anns_field="sparse",
                limit=limit,
                filter=_and(where, "has_text == true"),
                search_params={"metric_type": "BM25"},
                output_fields=["id"],
            )[0]
        except Exception as exc:
            # BM25 over a collection without any text divides by an average length of 0
            if "Invalid sparse row" in str(exc) and self.count(filter={"$content": {"$empty": False}}) == 0:
                return []
            raise
        return [(doc_id_of(h["id"]), float(h["distance"])) for h in found if float(h["distance"]) > 0]

    def _documents(self, ctx: Any, keys: Sequence[Hashable], include_embeddings: bool) -> dict[Hashable, Document]:
        fields = [*DOCUMENT_FIELDS, "has_vector", "vector"] if include_embeddings else DOCUMENT_FIELDS
        rows = self._rows_by_id([str(key) for key in keys], fields)
        return {doc_id: to_document(row, include_embeddings) for doc_id, row in rows.items()}

    # -- settings ---------------------------------------------------------------
    def read_setting(self, key: str) -> str | None:
        """A setting kept beside the collection, or ``None`` (see :mod:`ogma.store.milvus.settings`).

        Example:
            >>> with MilvusStore("./notes.db", collection="demo") as store:  # doctest: +SKIP
            ...     store.write_setting_once("app.owner", "docs"), store.read_setting("app.owner")
            (True, 'docs')
        """
        key = check_setting_key(key)
        self._check_open()
        return settings.read_setting(self._client, self.collection, key)

    def write_setting_once(self, key: str, value: str) -> bool:
        """Record a setting unless it is set already (the first value stands); returns whether this call wrote it.

        Raises:
            ValueError: ``key`` names a configuration field, or ``value`` is over 65,535 bytes.
            TypeError: ``key`` or ``value`` is not a string.
        """
        key = check_setting_key(key, writing=True)
        check_str(value, "value")
        self._check_open()
        with self._lock:
            if settings.read_setting(self._client, self.collection, key) is not None:
                return False
            settings.write_setting(self._client, self.collection, key, value)
        return True

    # -- lifecycle --------------------------------------------------------------
    def drop(self) -> None:
        """Drop the whole collection (documents, configuration record and settings)."""
        self._check_open()
        settings.drop_settings(self._client, self.collection)
        if self._client.has_collection(self.collection):
            self._client.drop_collection(self.collection)
        self.config = replace(self.config, dim=self.config.dim and None)

    def close(self) -> None:
        """Close this store's connection (idempotent; the collection stays)."""
        if not self._closed:
            self._closed = True
            self._client.close()

    def __enter__(self) -> MilvusStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        c = self.config
        return (
            f"MilvusStore({self.uri!r}, collection={self.collection!r}, model_id={c.model_id!r}, dim={c.dim}, "
            f"precision={c.precision!r})"
        )
