"""``OgmaDocumentStore``: a Haystack document store over one Ogma store (a SQLite file, memory, or Milvus).

Texts, metadata, a BM25 index and vectors live in one file (or one Milvus collection); the retrievers in
``haystack_integrations.components.retrievers.ogma`` search it by embedding, by BM25, or
both fused in one call. Every method is a conversion plus one call of the core store
(:class:`ogma.store.protocol.StoreProtocol`): filters are translated by
:func:`~haystack_integrations.document_stores.ogma.filters.convert_filters` and evaluated
by the core.

Example:
    >>> from haystack import Document
    >>> store = OgmaDocumentStore()  # ":memory:"; pass path="docs.db" to keep it
    >>> store.write_documents([Document(id="1", content="Paris is in France.", embedding=[1.0, 0.0]),
    ...                        Document(id="2", content="Cats purr.", embedding=[0.0, 1.0], meta={"topic": "pets"})])
    2
    >>> [d.id for d in store.filter_documents({"field": "meta.topic", "operator": "==", "value": "pets"})]
    ['2']
    >>> [d.id for d in store.embedding_retrieval([0.9, 0.1], top_k=1)]
    ['1']
"""

from __future__ import annotations

import inspect
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, Final, Literal

import numpy as np
from haystack import default_from_dict, default_to_dict
from haystack.core.errors import SerializationError
from haystack.core.serialization import component_from_dict, component_to_dict, import_class_by_name
from haystack.dataclasses import Document
from haystack.document_stores.types import DuplicatePolicy

import ogma.errors
from haystack_integrations.document_stores.ogma import metadata_facts
from haystack_integrations.document_stores.ogma.async_mixin import AsyncDocumentStoreMixin
from haystack_integrations.document_stores.ogma.conversion import (
    SCORE_KEY,
    check_documents,
    check_embedding,
    dedupe,
    diagnose,
    to_core,
    to_haystack,
)
from haystack_integrations.document_stores.ogma.errors import OgmaDuplicateDocumentError, OgmaFilterError
from haystack_integrations.document_stores.ogma.filters import convert_filters
from haystack_integrations.document_stores.ogma.scoring import (
    check_query,
    check_top_k,
    fused_scale,
    scale_bm25,
    scale_cosine,
)
from ogma.store.fingerprint import EmbedderGuard
from ogma.store.protocol import OnConflict, StoreProtocol
from ogma.store.uri import open_store, parse_store_uri, sqlite_uri, store_uri
from ogma.types import Hit
from ogma.validation import check_id_list, rename_arguments

__all__ = ["OgmaDocumentStore"]

logger = logging.getLogger(__name__)

_DEFAULT_OPTIONS: Final[dict[str, Any]] = {
    "read_only": False,
    "busy_timeout": 5.0,
    "driver": "auto",
    "backend": "memory",
}
"""Options whose defaults are not ``None``; only options set otherwise go to a non-SQLite backend."""

_POLICIES: Final[dict[DuplicatePolicy, OnConflict]] = {
    DuplicatePolicy.NONE: "fail",
    DuplicatePolicy.FAIL: "fail",
    DuplicatePolicy.SKIP: "skip",
    DuplicatePolicy.OVERWRITE: "replace",
}


def _embedder_guard(embedder: Any) -> EmbedderGuard:
    """The core's embedder check for a Haystack document embedder (probes run through ``run(documents=...)``)."""
    run = getattr(embedder, "run", None)
    if not callable(run) or "documents" not in inspect.signature(run).parameters:
        kind = "a component whose run() takes no documents (a text embedder?)" if callable(run) else "not a component"
        raise TypeError(
            "embedder must be a Haystack document embedder (a component with run(documents=...), e.g. "
            f"OgmaDocumentEmbedder), got {type(embedder).__name__}: {kind}"
        )

    def embed_documents_of(documents: list[Document]) -> list[Any]:
        warm_up = getattr(embedder, "warm_up", None)
        if callable(warm_up):
            warm_up()
        out = run(documents=documents)
        embedded = out.get("documents") if isinstance(out, Mapping) else None
        if not isinstance(embedded, list) or len(embedded) != len(documents):
            raise TypeError(
                f"embedder {type(embedder).__name__} is not a document embedder: run(documents=...) did not return "
                "{'documents': [...]} (give the document embedder of the pipeline)"
            )
        return [doc.embedding for doc in embedded]

    def embed_stored(stored: Any) -> Any:  # as written: the embedder reads the meta fields it was told to
        return embed_documents_of([to_haystack(stored)])[0]

    return EmbedderGuard(
        embedder,
        lambda texts: embed_documents_of([Document(content=text) for text in texts]),
        fix="Give embedder= the document embedder the store was built with.",
        embed_stored=embed_stored,
    )


def _document_field(origin: list[int], field: str) -> Callable[[int], str]:
    """How the message names the ``i``-th row of a core ``add`` call: ``documents[j].field``."""
    return lambda i: f"documents[{origin[i]}].{field}" if 0 <= i < len(origin) else f"documents[?].{field}"


class OgmaDocumentStore(AsyncDocumentStoreMixin):
    """A Haystack document store backed by Ogma: text, metadata, BM25 and vectors in one SQLite file or Milvus.

    Documents round-trip whole: id, content, meta, embedding (stored as float32, so an
    embedding comes back rounded to float32) and score (``filter_documents`` returns the
    score written; retrievers set the retrieval score instead). The score is kept in the
    metadata under the reserved key ``"_haystack_score"``, which never shows in ``meta`` or
    the metadata facts; the filter field ``score`` reaches it. ``blob`` and
    ``sparse_embedding`` are refused rather than dropped.
    A document needs content (found by BM25 and filters), an embedding (found by
    embedding search and filters), or both. All embeddings have one dimension, fixed by
    the first one written.

    Args:
        path: The store file (created if missing), ``":memory:"`` (the default), or a store
            URI of another backend: ``"milvus://host:19530/collection"`` or
            ``"milvus-lite:///abs/file.db?collection=name"`` (see :mod:`ogma.store.uri`;
            the Milvus token comes from ``MILVUS_TOKEN``, never from the URI).
        store: An open Ogma store (any :class:`~ogma.store.protocol.StoreProtocol` backend)
            to use instead of ``path``. It is serialised by its path or URI; a store that
            cannot name itself cannot be serialised.
        dim: Vector dimension (default: fixed by the first embeddings written). A new Milvus
            collection needs it before documents without embeddings can be written.
        precision: Index precision for a new file: ``"float32"``, ``"int8"`` or ``"binary"``.
        fts_tokenizer: SQLite FTS5 tokenizer for a new file (the BM25 side). SQLite only.
        read_only: Open an existing file read-only. SQLite only.
        busy_timeout: Seconds a write waits for another writer. SQLite only.
        driver: SQLite driver, ``"auto"``, ``"sqlite3"`` or ``"apsw"``. SQLite only.
        backend: Dense search backend, ``"memory"`` or ``"sqlite-vec"``. SQLite only.
        oversample: Candidates rescored per result for int8/binary indexes.
        batch_size: Documents written per transaction.
        embedder: The document embedder of the pipeline that writes this store (e.g.
            ``OgmaDocumentEmbedder``; any Haystack component with ``run(documents=...)``).
            The store never embeds with it, but it recognises it: opening a store whose
            vectors came from another model raises :class:`~ogma.errors.StoreMismatchError`
            naming both (instead of answering queries with vectors of another model), and
            the first write records it in the store (``ogma search`` then embeds queries
            with the same model when it is an Ogma one). Serialised with the store.

    Raises:
        TypeError: ``store`` does not implement the store protocol, or ``embedder`` is not
            a document embedder.
        StoreMismatchError: ``embedder`` is not the model the store's vectors came from.
        ValueError: Both ``path`` and ``store`` given, a malformed store URI, an option the
            URI's backend does not take (``fts_tokenizer`` on Milvus), or an invalid option.

    Example:
        >>> store = OgmaDocumentStore(precision="int8")
        >>> store.to_dict()["init_parameters"]["path"]
        ':memory:'
    """

    def __init__(
        self,
        path: str | Path | None = ":memory:",
        *,
        store: StoreProtocol | None = None,
        dim: int | None = None,
        precision: Literal["float32", "int8", "binary"] | None = None,
        fts_tokenizer: str | None = None,
        read_only: bool = False,
        busy_timeout: float = 5.0,
        driver: Literal["auto", "sqlite3", "apsw"] = "auto",
        backend: Literal["memory", "sqlite-vec"] = "memory",
        oversample: float | None = None,
        batch_size: int = 1000,
        embedder: Any = None,
    ) -> None:
        self.embedder = embedder
        self._guard = None if embedder is None else _embedder_guard(embedder)
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.batch_size = batch_size
        self._options: dict[str, Any] = {
            "dim": dim,
            "precision": precision,
            "fts_tokenizer": fts_tokenizer,
            "read_only": read_only,
            "busy_timeout": busy_timeout,
            "driver": driver,
            "backend": backend,
            "oversample": oversample,
        }
        self._store: StoreProtocol
        if store is not None:
            if path not in (None, ":memory:"):
                raise ValueError(f"give path= or store=, not both (got path={path!r} and a store)")
            if not isinstance(store, StoreProtocol):
                raise TypeError(
                    "store must implement ogma.store.protocol.StoreProtocol (e.g. ogma.Store), "
                    f"got {type(store).__name__}"
                )
            self.path: str | None = store_uri(store)
            self._store = store
        else:
            if path is None:
                raise ValueError(
                    "path must be a file path, ':memory:' or a store URI; to wrap an open store pass store="
                )
            options = self._options
            if parse_store_uri(path).backend != "sqlite":
                options = {k: v for k, v in options.items() if v is not None and v != _DEFAULT_OPTIONS.get(k)}
            self._store = open_store(path, **options, show_progress=False)
            self.path = sqlite_uri(os.fspath(path)) if isinstance(path, os.PathLike) else str(path)
        if self._guard is not None:
            try:
                self._guard.check(self._store)
            except BaseException:
                self._store.close()
                raise

    @property
    def store(self) -> StoreProtocol:
        """The Ogma store underneath (for Ogma's own API: search options, ``ogma info``, ...)."""
        return self._store

    # -- serialisation ------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Serialise the path or store URI and the options (not the documents: they are in the store).

        A store given as ``store=`` is saved by its path or URI (``milvus-lite://...``); it
        reopens with the settings kept in the store (model, dimension, precision), not the
        run-time options of the object given.

        Raises:
            SerializationError: The wrapped store cannot name itself (a backend without a
                path or URI); build the document store from ``path=`` to save it in a pipeline.
        """
        if self.path is None:
            raise SerializationError(
                f"OgmaDocumentStore(store={type(self._store).__name__}(...)) cannot be serialised: this store has "
                "no path or URI. Build the document store with path= (a file or a store URI such as "
                "'milvus://host:19530/collection') to save it in a pipeline."
            )
        embedder = None if self.embedder is None else component_to_dict(self.embedder, "embedder")
        options: dict[str, Any] = {} if embedder is None else {"embedder": embedder}
        return default_to_dict(self, path=self.path, **self._options, batch_size=self.batch_size, **options)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OgmaDocumentStore:
        """Rebuild a document store from :meth:`to_dict` output (opens the same file)."""
        embedder = data.get("init_parameters", {}).get("embedder")
        if isinstance(embedder, dict) and "type" in embedder:
            parameters = {**data["init_parameters"]}
            parameters["embedder"] = component_from_dict(import_class_by_name(embedder["type"]), embedder, "embedder")
            data = {**data, "init_parameters": parameters}
        return default_from_dict(cls, data)

    def close(self) -> None:
        """Close the underlying store's connections."""
        self._store.close()

    # -- writing ------------------------------------------------------------
    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int:
        """Write documents; each batch is one transaction.

        Policies: ``FAIL`` (and ``NONE``, the default) raises
        :class:`~haystack_integrations.document_stores.ogma.errors.OgmaDuplicateDocumentError`
        if an id is stored already (or repeats in ``documents``) and writes nothing; ``SKIP``
        keeps stored documents (and the first of repeated ids); ``OVERWRITE`` replaces them
        (the last of repeated ids wins).

        Args:
            documents: The documents.
            policy: What to do with ids that are stored already.

        Returns:
            How many documents were written (skipped ones not counted).

        Raises:
            ValueError: ``documents`` is not a list of Documents, or a document is invalid
                (no content and no embedding, a blob, a sparse embedding, an embedding of the
                wrong dimension, metadata that is not JSON or uses the reserved key
                ``"_haystack_score"``, a score that is not a finite number); the message
                names ``documents[i]``.
            OgmaDuplicateDocumentError: ``FAIL``/``NONE`` and an id exists.
        """
        docs = check_documents(documents)
        if not isinstance(policy, DuplicatePolicy):
            raise ValueError(f"policy must be a DuplicatePolicy, got {policy!r}")
        on_conflict = _POLICIES[policy]
        origin = dedupe(docs, on_conflict)  # positions in ``documents`` of the documents to write
        docs = [docs[i] for i in origin]
        if not docs:
            return 0
        rows = to_core(docs)
        try:
            written = self._store.add(
                rows.texts,
                rows.metadatas,
                rows.ids,
                rows.embeddings,
                batch_size=self.batch_size,
                on_conflict=on_conflict,
            )
        except ogma.errors.DuplicateDocumentError as exc:
            error = OgmaDuplicateDocumentError(
                f"{len(exc.ids)} document id(s) already stored, e.g. {exc.ids[0]!r:.80}; nothing was written. "
                "Use policy=DuplicatePolicy.OVERWRITE to replace them or DuplicatePolicy.SKIP to keep the stored ones"
            )
            error.ids = list(exc.ids)
            raise error from exc
        except ogma.errors.StoreMismatchError as exc:
            raise ogma.errors.StoreMismatchError(f"{self._dimension_culprit(docs, origin)}: {exc}") from exc
        except (TypeError, ValueError) as exc:
            if type(exc) not in (TypeError, ValueError):
                raise
            diagnose(docs, origin, exc)
            fields = {"texts": "content", "metadatas": "meta", "ids": "id", "embeddings": "embedding"}
            renames = {arg: _document_field(origin, field) for arg, field in fields.items()}
            raise ValueError(f"write_documents: {rename_arguments(str(exc), renames)}") from exc
        if self._guard is not None and any(doc.embedding is not None for doc in docs):
            self._guard.recorded(self._store)
        return len(written)

    def _dimension_culprit(self, docs: list[Document], origin: list[int]) -> str:
        dim = self._store.dim
        for i, doc in zip(origin, docs):
            if doc.embedding is not None and dim is not None and len(doc.embedding) != dim:
                return f"documents[{i}].embedding has {len(doc.embedding)} values, this store holds {dim}-d vectors"
        return "an embedding has the wrong dimension"

    def delete_documents(self, document_ids: list[str]) -> None:
        """Delete the documents with these ids (unknown ids are ignored).

        Raises:
            TypeError: ``document_ids`` is a single string or holds a non-string.
        """
        self._store.delete(check_id_list(document_ids, "document_ids"))

    def delete_all_documents(self, recreate_index: bool = False) -> None:
        """Delete every document.

        Args:
            recreate_index: Also forget the vector dimension (and int8 ranges) the first
                embeddings fixed, so the next ones may have another dimension: the store is
                as if just created with this document store's options (a ``dim=`` given
                here stays). The file, its precision and tokenizer stay either way.

        Raises:
            NotImplementedError: ``recreate_index=True`` on a wrapped store whose backend
                has no ``reset`` (the SQLite and Milvus stores have it).
        """
        if not recreate_index:
            self._store.delete_all(confirm=True)
            return
        reset = getattr(self._store, "reset", None)
        if not callable(reset):
            raise NotImplementedError(
                f"delete_all_documents(recreate_index=True): the {type(self._store).__name__} backend cannot forget "
                "its vector dimension; use delete_all_documents() to delete the documents and keep the dimension"
            )
        reset(confirm=True)

    def delete_by_filter(self, filters: dict[str, Any]) -> int:
        """Delete the documents matching ``filters``; returns how many.

        Raises:
            OgmaFilterError: The filter is malformed, or empty (use :meth:`delete_all_documents`).
        """
        return self._store.delete(filter=self._required_filter(filters, "delete_by_filter", "delete_all_documents()"))

    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Merge ``meta`` into the metadata of the documents matching ``filters``; returns how many.

        Raises:
            OgmaFilterError: The filter is malformed or empty.
            TypeError: ``meta`` is not a dict of JSON values.
            ValueError: ``meta`` has the reserved score key.
        """
        where = self._required_filter(filters, "update_by_filter", "a filter every document matches")
        if not isinstance(meta, Mapping):
            raise TypeError(f"meta must be a dict of metadata to merge, got {type(meta).__name__}")
        if SCORE_KEY in meta:
            raise ValueError(f"meta has the key {SCORE_KEY!r}, which OgmaDocumentStore reserves for document scores")
        return self._store.update(metadata=meta, filter=where)

    @staticmethod
    def _required_filter(filters: Any, method: str, instead: str) -> dict[str, Any]:
        converted = convert_filters(filters)
        if converted is None:
            raise OgmaFilterError(
                f"{method} needs a non-empty filter (got {filters!r}); to affect every document use {instead}"
            )
        return converted

    # -- reading ------------------------------------------------------------
    def count_documents(self) -> int:
        """How many documents are stored."""
        return self._store.count()

    def count_documents_by_filter(self, filters: dict[str, Any]) -> int:
        """How many documents match ``filters`` (all of them for ``{}``)."""
        return self._store.count(filter=convert_filters(filters))

    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]:
        """The documents matching ``filters`` (every one for ``None``/``{}``), in insertion order, with embeddings.

        Args:
            filters: A Haystack filter (see ``docs/filters.md`` for the mapping).

        Raises:
            OgmaFilterError: The filter is malformed or cannot be expressed.
        """
        where = convert_filters(filters)
        return [to_haystack(d) for d in self._store.iter_documents(filter=where, include_embeddings=True)]

    def get_metadata_fields_info(self) -> dict[str, dict[str, str]]:
        """Each top-level metadata field with its type: ``keyword``, ``int``, ``float`` or ``boolean``.

        Fields holding only nulls are left out; lists, dicts and mixed types are ``keyword``.
        """
        return metadata_facts.fields_info(self._store)

    def get_metadata_field_min_max(self, metadata_field: str) -> dict[str, Any]:
        """``{"min": ..., "max": ...}`` of a top-level metadata field (numbers if it holds any, else strings).

        Both are ``None`` when no document holds a number or string there. ``"meta."`` is optional.
        """
        return metadata_facts.min_max(self._store, metadata_field)

    def count_unique_metadata_by_filter(self, filters: dict[str, Any], metadata_fields: list[str]) -> dict[str, int]:
        """How many distinct non-null values each field takes over the documents matching ``filters``.

        Values of different types are distinct (``1``, ``1.0``, ``"1"`` and ``True`` are four);
        lists and dicts count as whole values. Keys of the result have no ``"meta."`` prefix.
        """
        return metadata_facts.count_unique(self._store, filters, metadata_fields)

    def get_metadata_field_unique_values(
        self,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """Distinct non-null values of a top-level metadata field, a page at a time.

        Args:
            metadata_field: The field (``"meta."`` optional).
            search_term: Keep values whose text contains it, ignoring case.
            from_: Offset of the page in the ordered values.
            size: Page size.
            filters: Only look at documents matching this filter.

        Returns:
            ``(values, total)``: the page, ordered by the values' text (then type name), and
            how many distinct values there are in all.
        """
        return metadata_facts.unique_values(self._store, metadata_field, search_term, from_, size, filters)

    # -- retrieval ----------------------------------------------------------
    def _hits_to_documents(self, hits: list[Hit], scale: Callable[[float], float] | None) -> list[Document]:
        return [to_haystack(h, scale(h.score) if scale is not None else h.score, retrieved=True) for h in hits]

    def embedding_retrieval(
        self,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool = False,
    ) -> list[Document]:
        """The ``top_k`` documents closest to ``query_embedding`` (cosine similarity), best first.

        ``score`` is the cosine similarity in ``[-1, 1]``, or ``(cosine + 1) / 2`` in ``[0, 1]``
        with ``scale_score``. Documents without an embedding are never returned.
        """
        vector = check_embedding(query_embedding, "query_embedding")
        top_k = check_top_k(top_k)
        where = convert_filters(filters)
        if top_k == 0:
            return []
        try:
            hits = self._store.search(
                vector=np.asarray(vector, dtype=np.float32),
                k=top_k,
                mode="dense",
                filter=where,
                include_embeddings=return_embedding,
            )
        except ogma.errors.StoreMismatchError as exc:
            raise ogma.errors.StoreMismatchError(
                f"query_embedding has {len(vector)} values, this store holds {self._store.dim}-d vectors: {exc}"
            ) from exc
        return self._hits_to_documents(hits, scale_cosine if scale_score else None)

    def bm25_retrieval(
        self,
        query: str,
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool = False,
    ) -> list[Document]:
        """The ``top_k`` documents that best match the words of ``query`` (SQLite FTS5 BM25), best first.

        ``score`` is the BM25 score (``>= 0``, higher is better), or ``expit(score / 8)`` in
        ``[0.5, 1)`` with ``scale_score`` (Haystack's in-memory scaling). Documents without
        content are never returned.
        """
        query = check_query(query)
        top_k = check_top_k(top_k)
        where = convert_filters(filters)
        if top_k == 0:
            return []
        hits = self._store.search(query, k=top_k, mode="lexical", filter=where, include_embeddings=return_embedding)
        return self._hits_to_documents(hits, scale_bm25 if scale_score else None)

    def hybrid_retrieval(
        self,
        query: str,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        fusion: str | Mapping[str, Any] | None = None,
        candidates: int | None = None,
        scale_score: bool = False,
        return_embedding: bool = False,
    ) -> list[Document]:
        """Embedding and BM25 search fused by the core in one call (see ``docs/hybrid.md``), best first.

        Args:
            query: The query text (BM25 side, and the adaptive fusion weight).
            query_embedding: The query's embedding (dense side).
            filters: A Haystack filter, applied to both sides.
            top_k: Documents wanted.
            fusion: ``None`` (the core's default, a query-adaptive convex combination), a
                method name (``"rrf"``, ``"convex"``, ...) or ``{"method": ..., **options}``.
            candidates: Depth of each ranked list before fusion (default ``max(top_k, 50)``).
            scale_score: Scores in ``[0, 1]``. Hybrid scores are there already, whatever the
                fusion: the dense cosine and a saturating BM25 transform blended with the
                fusion's weights (``docs/hybrid.md``), comparable from one query to the next.
            return_embedding: Attach the stored embeddings.
        """
        query = check_query(query)
        vector = check_embedding(query_embedding, "query_embedding")
        top_k = check_top_k(top_k)
        where = convert_filters(filters)
        scale = fused_scale(fusion) if scale_score else None
        if top_k == 0:
            return []
        try:
            hits = self._store.search(
                query,
                vector=np.asarray(vector, dtype=np.float32),
                k=top_k,
                mode="hybrid",
                filter=where,
                fusion=fusion,
                candidates=candidates,
                include_embeddings=return_embedding,
            )
        except ogma.errors.StoreMismatchError as exc:
            raise ogma.errors.StoreMismatchError(
                f"query_embedding has {len(vector)} values, this store holds {self._store.dim}-d vectors: {exc}"
            ) from exc
        return self._hits_to_documents(hits, scale)

    def __repr__(self) -> str:
        return f"OgmaDocumentStore(path={self.path!r}, store={self._store!r})"
