"""``OgmaVectorStore``: a LlamaIndex vector store over one :class:`ogma.Store` (a SQLite file, or memory).

Example:
    >>> from llama_index.core.schema import TextNode
    >>> from llama_index.core.vector_stores.types import VectorStoreQuery
    >>> from llama_index.vector_stores.ogma import OgmaVectorStore
    >>> store = OgmaVectorStore()  # ":memory:"; pass a path to keep it
    >>> store.add([TextNode(id_="p", text="Paris is in France.", embedding=[1.0, 0.0]),
    ...            TextNode(id_="c", text="Cats purr.", embedding=[0.0, 1.0])])
    ['p', 'c']
    >>> store.query(VectorStoreQuery(query_embedding=[0.9, 0.1], similarity_top_k=1)).ids
    ['p']
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.bridge.pydantic import PrivateAttr
from llama_index.core.schema import BaseNode, MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    BasePydanticVectorStore,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
    VectorStoreQueryResult,
)
from llama_index.core.vector_stores.utils import metadata_dict_to_node, node_to_metadata_dict

from llama_index.vector_stores.ogma.filters import NODE_ID_KEY, to_ogma_filter
from ogma.store import Store
from ogma.store.filters import matches
from ogma.store.fingerprint import EmbedderGuard
from ogma.store.protocol import StoreProtocol
from ogma.store.uri import open_store, sqlite_uri, store_uri
from ogma.store.validate import check_metadatas
from ogma.types import Hit
from ogma.validation import check_id_list, rename_arguments

__all__ = ["NODE_ID_KEY", "SUPPORTED_MODES", "OgmaVectorStore"]

logger = logging.getLogger(__name__)


SUPPORTED_MODES: tuple[VectorStoreQueryMode, ...] = (
    VectorStoreQueryMode.DEFAULT,
    VectorStoreQueryMode.TEXT_SEARCH,
    VectorStoreQueryMode.HYBRID,
    VectorStoreQueryMode.MMR,
)
_QUERY_KWARGS = frozenset({"mmr_threshold", "mmr_prefetch_k"})
_NODE_FIELDS = {"texts": "text", "metadatas": "metadata", "ids": "node_id", "embeddings": "embedding"}
"""What each argument of the core's ``add`` holds of a node (for error messages)."""


def _node_field(field: str) -> Callable[[int], str]:
    return lambda i: f"nodes[{i}].{field}"


def _no_extra_kwargs(method: str, kwargs: Mapping[str, Any], allowed: frozenset[str] = frozenset()) -> None:
    extra = sorted(set(kwargs) - allowed)
    if extra:
        raise TypeError(f"OgmaVectorStore.{method}() got unexpected keyword argument(s): {', '.join(extra)}")


class OgmaVectorStore(BasePydanticVectorStore):
    """LlamaIndex vector store backed by :class:`ogma.Store`: text, metadata, BM25 and vectors in one file.

    Nodes come back whole (text, metadata, ``ref_doc_id``, relationships), so the store
    needs no docstore: reopening the file with ``VectorStoreIndex.from_vector_store``
    serves the same answers. Nodes must carry their embeddings (the index or an
    ``IngestionPipeline`` computes them); the store holds them exactly as given.

    Query modes and their ``similarities``:

    * ``DEFAULT`` — dense search on ``query_embedding``: cosine similarity in ``[-1, 1]``.
    * ``TEXT_SEARCH`` — BM25 on ``query_str`` (no embedding needed): BM25 score, ``>= 0``.
    * ``HYBRID`` — both, fused by the core (:mod:`ogma.fusion`). ``alpha`` (LlamaIndex's dense
      weight: 1 = dense only, 0 = text only) selects the convex combination of normalised
      scores with that weight; without it the core's default fusion runs. ``hybrid_top_k``
      (default ``similarity_top_k``) results come back; ``sparse_top_k`` sets the depth of
      each ranked list (``max(similarity_top_k, sparse_top_k)``; default the core's, at least 50).
      Scores are the fused scores (in ``[0, 1]`` for the convex combinations).
    * ``MMR`` — dense candidates re-picked by maximal marginal relevance with
      ``mmr_threshold`` (the relevance weight λ, default 0.5) from ``mmr_prefetch_k``
      candidates (default ``max(20, 4 × similarity_top_k)``): cosine similarity.

    Filters: ``MetadataFilters`` (every operator and condition, nested too) are mapped by
    :func:`~llama_index.vector_stores.ogma.to_ogma_filter` and run inside the database.
    ``doc_ids`` and ``node_ids`` restrict the search; empty lists mean no restriction.
    A node's id is the store's document id, so ``node_ids`` become the core's ``$id`` filter.

    Args:
        path: The store file (created if missing), ``":memory:"``, or a store URI of another
            backend (``"milvus://host:19530/collection"``, see :mod:`ogma.store.uri`).
        store: An open store of any backend (:class:`ogma.Store`, ``MilvusStore``, any
            :class:`~ogma.store.protocol.StoreProtocol`) to use instead of opening ``path``.
        flat_metadata: Refuse nested metadata values, as LlamaIndex's flat-metadata stores do
            (default ``False``: Ogma stores any JSON metadata and filters nested keys).
        embed_model: The embedding model of the index (any LlamaIndex ``BaseEmbedding``). The
            store never embeds with it, but it recognises it: opening a store whose vectors
            came from another model raises :class:`~ogma.errors.StoreMismatchError` naming
            both (instead of answering queries with vectors of another model), and the first
            write records it in the store (``ogma search`` then embeds queries with the
            same model when it is an Ogma one). Not serialised by :meth:`to_dict`.
        **store_options: Passed to :class:`ogma.Store` when opening ``path`` (``precision``,
            ``dim``, ``fts_tokenizer``, ...).

    Example:
        >>> from llama_index.core import StorageContext, VectorStoreIndex  # doctest: +SKIP
        >>> from llama_index.embeddings.ogma import OgmaEmbedding  # doctest: +SKIP
        >>> storage = StorageContext.from_defaults(vector_store=OgmaVectorStore("notes.db"))  # doctest: +SKIP
        >>> index = VectorStoreIndex.from_documents(docs, storage_context=storage,
        ...                                         embed_model=OgmaEmbedding())  # doctest: +SKIP
        >>> index.as_retriever(vector_store_query_mode="hybrid", alpha=0.7).retrieve("question")  # doctest: +SKIP
    """

    stores_text: bool = True
    flat_metadata: bool = False
    path: str = ":memory:"

    _store: StoreProtocol = PrivateAttr()
    _guard: EmbedderGuard | None = PrivateAttr(default=None)

    def __init__(
        self,
        path: str | Path = ":memory:",
        *,
        store: StoreProtocol | None = None,
        flat_metadata: bool = False,
        embed_model: BaseEmbedding | None = None,
        **store_options: Any,
    ) -> None:
        if embed_model is not None and not isinstance(embed_model, BaseEmbedding):
            raise TypeError(
                "embed_model must be a llama_index BaseEmbedding (e.g. OgmaEmbedding), "
                f"got {type(embed_model).__name__}"
            )
        if store is not None:
            if not isinstance(store, StoreProtocol):
                raise TypeError(
                    "store must be an Ogma store (ogma.Store, MilvusStore, or any ogma.store.protocol.StoreProtocol), "
                    f"got {type(store).__name__}"
                )
            if store_options or str(path) != ":memory:":
                raise ValueError("pass either an open store= or a path (with options), not both")
            path = store_uri(store) or ""
        name = sqlite_uri(os.fspath(path)) if isinstance(path, os.PathLike) else str(path)
        super().__init__(path=name, flat_metadata=flat_metadata)  # type: ignore[call-arg]  # fields of this class
        if store is None:
            store = Store(path, **store_options) if isinstance(path, Path) else open_store(path, **store_options)
        self._store = store
        if embed_model is not None:
            self._guard = EmbedderGuard(
                embed_model,
                embed_model.get_text_embedding_batch,
                fix="Pass the embed_model the store was built with.",
                # LlamaIndex embeds a node's text with its metadata: check a stored node the same way
                embed_stored=lambda d: embed_model.get_text_embedding(
                    self._to_node(d.id, d.text, d.metadata).get_content(metadata_mode=MetadataMode.EMBED)
                ),
            )
            try:
                self._guard.check(store)
            except BaseException:
                store.close()
                raise

    def to_dict(self, **kwargs: Any) -> dict[str, Any]:
        """The fields that reopen this store: its path or URI (a store that cannot name itself is refused).

        Raises:
            ValueError: The store was given as ``store=`` and has no path or URI.

        Example:
            >>> OgmaVectorStore("notes.db").to_dict()["path"]  # doctest: +SKIP
            'notes.db'
        """
        if not self.path:
            raise ValueError(
                f"this OgmaVectorStore wraps a {type(self._store).__name__} that has no path or URI, so it cannot "
                "be serialised; open the store from a path or URI (e.g. 'milvus://host:19530/collection'), "
                "or rebuild the vector store with store= after loading"
            )
        return super().to_dict(**kwargs)

    @classmethod
    def from_dict(cls, data: dict[str, Any], **kwargs: Any) -> OgmaVectorStore:
        """Reopen the store that :meth:`to_dict` describes (its path or URI; the store keeps its own settings).

        Example:
            >>> OgmaVectorStore.from_dict(OgmaVectorStore().to_dict()).path
            ':memory:'
        """
        fields = {k: v for k, v in data.items() if k not in ("class_name", "stores_text", "is_embedding_query")}
        return cls(**fields, **kwargs)

    @classmethod
    def from_store(cls, store: StoreProtocol) -> OgmaVectorStore:
        """Wrap an open store of any backend (the same as ``OgmaVectorStore(store=store)``).

        Example:
            >>> from ogma import Store
            >>> OgmaVectorStore.from_store(Store(":memory:")).client.count()
            0
        """
        return cls(store=store)

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "OgmaVectorStore"

    @property
    def client(self) -> StoreProtocol:
        """The underlying store (an :class:`ogma.Store` unless another backend was given)."""
        return self._store

    def close(self) -> None:
        """Close the store's connections."""
        self._store.close()

    # -- writing ----------------------------------------------------------------------
    def add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """Add nodes with their embeddings; a node whose id exists already replaces it.

        All nodes are checked before anything is written, and each batch of the core's
        ``add`` is one transaction.

        Args:
            nodes: Nodes that carry embeddings.

        Returns:
            The node ids, in input order.

        Raises:
            TypeError: A non-node, or an unknown keyword argument.
            ValueError: A node without an embedding, embeddings of different lengths, the
                same node id twice, or metadata that is not JSON (messages name ``nodes[i]``).
            StoreMismatchError: Embeddings of another dimension than the store's.
        """
        _no_extra_kwargs("add", kwargs)
        nodes = list(nodes)
        if not nodes:
            return []
        texts: list[str] = []
        metadatas: list[dict[str, Any]] = []
        ids: list[str] = []
        vectors: list[list[float]] = []
        for index, node in enumerate(nodes):
            if not isinstance(node, BaseNode):
                raise TypeError(f"nodes[{index}] must be a llama_index node (BaseNode), got {type(node).__name__}")
            if node.embedding is None:
                raise ValueError(
                    f"nodes[{index}] (id {node.node_id!r}) has no embedding; embed nodes before adding them "
                    "(VectorStoreIndex and IngestionPipeline do, with an embed_model such as OgmaEmbedding)"
                )
            vectors.append(node.embedding)
        try:  # the nodes' own metadata, before LlamaIndex's serialiser turns NaN into None or fails on objects
            check_metadatas([node.metadata for node in nodes], len(nodes))
        except (TypeError, ValueError) as exc:
            renames = {arg: _node_field(field) for arg, field in _NODE_FIELDS.items()}
            raise type(exc)(rename_arguments(str(exc), renames)) from exc
        for node in nodes:
            metadata = node_to_metadata_dict(node, remove_text=True, flat_metadata=self.flat_metadata)
            texts.append(node.get_content(metadata_mode=MetadataMode.NONE))
            metadatas.append(metadata)
            ids.append(node.node_id)
        lengths = sorted({len(v) for v in vectors})
        if len(lengths) > 1:
            raise ValueError(f"the nodes' embeddings have different lengths {lengths}; embed them all with one model")
        try:
            written = self._store.add(texts, metadatas, ids, embeddings=np.asarray(vectors, dtype=np.float32))
        except (TypeError, ValueError) as exc:
            if type(exc) not in (TypeError, ValueError):
                raise
            renames = {arg: _node_field(field) for arg, field in _NODE_FIELDS.items()}
            raise type(exc)(rename_arguments(str(exc), renames)) from exc
        if self._guard is not None:
            self._guard.recorded(self._store)
        return written

    async def async_add(self, nodes: Sequence[BaseNode], **kwargs: Any) -> list[str]:
        """:meth:`add`, in a worker thread."""
        return await asyncio.to_thread(self.add, nodes, **kwargs)

    def delete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """Delete every node (chunk) of the source document ``ref_doc_id``.

        Raises:
            TypeError: ``ref_doc_id`` is not a string, or an unknown keyword argument.
        """
        _no_extra_kwargs("delete", delete_kwargs)
        if not isinstance(ref_doc_id, str):
            raise TypeError(f"ref_doc_id must be a str, got {type(ref_doc_id).__name__}")
        self._store.delete(filter={"ref_doc_id": ref_doc_id})

    async def adelete(self, ref_doc_id: str, **delete_kwargs: Any) -> None:
        """:meth:`delete`, in a worker thread."""
        await asyncio.to_thread(self.delete, ref_doc_id, **delete_kwargs)

    def delete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """Delete nodes by id, by filter, or both (the ids that also match), in one transaction.

        Raises:
            TypeError: ``node_ids`` is a single string (``"ab"`` is not ``["a", "b"]``) or holds a non-string.
            ValueError: Neither ids nor a non-empty filter (use :meth:`clear` to delete everything).
            FilterError: A filter Ogma cannot express.
        """
        _no_extra_kwargs("delete_nodes", delete_kwargs)
        ids = None if node_ids is None else check_id_list(node_ids, "node_ids")
        ogma_filter = to_ogma_filter(filters)
        if ids is None and ogma_filter is None:
            raise ValueError("give node_ids, filters or both to say which nodes to delete; clear() deletes all")
        self._store.delete(ids, filter=ogma_filter)

    async def adelete_nodes(
        self,
        node_ids: list[str] | None = None,
        filters: MetadataFilters | None = None,
        **delete_kwargs: Any,
    ) -> None:
        """:meth:`delete_nodes`, in a worker thread."""
        await asyncio.to_thread(self.delete_nodes, node_ids, filters, **delete_kwargs)

    def clear(self) -> None:
        """Delete every node (one transaction)."""
        self._store.delete_all(confirm=True)

    async def aclear(self) -> None:
        """:meth:`clear`, in a worker thread."""
        await asyncio.to_thread(self.clear)

    # -- reading ----------------------------------------------------------------------
    def get_nodes(self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None) -> list[BaseNode]:
        """Nodes by id (in input order, missing ids skipped) and/or filter; neither gives all nodes.

        Raises:
            TypeError: ``node_ids`` is a single string or holds a non-string.
            FilterError: A filter Ogma cannot express.
        """
        ids = None if node_ids is None else check_id_list(node_ids, "node_ids")
        ogma_filter = to_ogma_filter(filters)
        if ids is None:  # the filter runs in the database
            return [self._to_node(d.id, d.text, d.metadata) for d in self._store.iter_documents(filter=ogma_filter)]
        return [
            self._to_node(doc.id, doc.text, doc.metadata)
            for doc in self._store.get(ids)
            if ogma_filter is None or matches(ogma_filter, doc.metadata, id=doc.id, content=doc.text)
        ]

    async def aget_nodes(
        self, node_ids: list[str] | None = None, filters: MetadataFilters | None = None
    ) -> list[BaseNode]:
        """:meth:`get_nodes`, in a worker thread."""
        return await asyncio.to_thread(self.get_nodes, node_ids, filters)

    @staticmethod
    def _to_node(node_id: str, text: str | None, metadata: dict[str, Any]) -> BaseNode:
        text = text or ""  # a document stored without content: an empty node text
        if "_node_content" in metadata:
            return metadata_dict_to_node(metadata, text=text)
        # A document written by Ogma itself (e.g. `ogma index`): a plain text node.
        return TextNode(id_=node_id, text=text, metadata=metadata)

    # -- searching --------------------------------------------------------------------
    def query(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """Search in the query's mode (see the class docs); results best first.

        Args:
            query: The query. ``similarity_top_k=0`` gives an empty result.
            **kwargs: ``mmr_threshold`` and ``mmr_prefetch_k`` (MMR mode); nothing else.

        Raises:
            ValueError: An unsupported mode, a missing ``query_embedding`` or ``query_str``
                for the mode, or a negative ``similarity_top_k``.
            FilterError: A filter Ogma cannot express.
            StoreMismatchError: A query embedding of another dimension than the store's.
        """
        _no_extra_kwargs("query", kwargs, _QUERY_KWARGS)
        if not isinstance(query, VectorStoreQuery):
            raise TypeError(f"query must be a VectorStoreQuery, got {type(query).__name__}")
        hits = self._search(query, kwargs)
        nodes = [self._to_node(hit.id, hit.text, hit.metadata) for hit in hits]
        return VectorStoreQueryResult(nodes=nodes, similarities=[hit.score for hit in hits], ids=[h.id for h in hits])

    async def aquery(self, query: VectorStoreQuery, **kwargs: Any) -> VectorStoreQueryResult:
        """:meth:`query`, in a worker thread."""
        return await asyncio.to_thread(self.query, query, **kwargs)

    def _search(self, query: VectorStoreQuery, kwargs: Mapping[str, Any]) -> list[Hit]:
        mode = VectorStoreQueryMode(query.mode)
        if mode not in SUPPORTED_MODES:
            raise ValueError(
                f"OgmaVectorStore does not support query mode {mode.value!r}; "
                f"supported: {', '.join(m.value for m in SUPPORTED_MODES)}"
            )
        k = query.similarity_top_k
        ogma_filter = self._restriction(query)
        if mode == VectorStoreQueryMode.TEXT_SEARCH:
            return self._store.search(self._query_str(query, mode), k=k, mode="lexical", filter=ogma_filter)
        vector = self._embedding(query, mode)
        if mode == VectorStoreQueryMode.DEFAULT:
            return self._store.search(vector=vector, k=k, mode="dense", filter=ogma_filter)
        if mode == VectorStoreQueryMode.HYBRID:
            depth = None if query.sparse_top_k is None else max(k, query.sparse_top_k)
            return self._store.search(
                self._query_str(query, mode),
                vector=vector,
                k=query.hybrid_top_k if query.hybrid_top_k is not None else k,
                mode="hybrid",
                filter=ogma_filter,
                fusion=None if query.alpha is None else {"method": "convex", "alpha": query.alpha},
                candidates=depth,
            )
        threshold = query.mmr_threshold if query.mmr_threshold is not None else kwargs.get("mmr_threshold")
        prefetch = kwargs.get("mmr_prefetch_k")
        return self._store.max_marginal_relevance_search(
            vector=vector,
            k=k,
            fetch_k=max(20, 4 * k) if prefetch is None else prefetch,
            lambda_mult=0.5 if threshold is None else threshold,
            filter=ogma_filter,
        )

    @staticmethod
    def _embedding(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> Any:
        if query.query_embedding is None:
            raise ValueError(
                f"query mode {mode.value!r} needs query.query_embedding (set an embed_model on the index); "
                "text_search mode needs only query_str"
            )
        return np.asarray(query.query_embedding, dtype=np.float32)

    @staticmethod
    def _query_str(query: VectorStoreQuery, mode: VectorStoreQueryMode) -> str:
        if not isinstance(query.query_str, str):
            raise ValueError(f"query mode {mode.value!r} needs query.query_str (the query text)")
        return query.query_str

    @staticmethod
    def _restriction(query: VectorStoreQuery) -> dict[str, Any] | None:
        parts = [f for f in (to_ogma_filter(query.filters),) if f is not None]
        if query.doc_ids:
            parts.append({"ref_doc_id": {"$in": check_id_list(query.doc_ids, "query.doc_ids")}})
        if query.node_ids:
            parts.append({"$id": {"$in": check_id_list(query.node_ids, "query.node_ids")}})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}
