"""``OgmaRetriever``: dense, lexical or hybrid retrieval from an Ogma store, optionally reranked.

Example:
    >>> from langchain_core.embeddings import DeterministicFakeEmbedding
    >>> from langchain_ogma import OgmaRetriever, OgmaVectorStore
    >>> vs = OgmaVectorStore(DeterministicFakeEmbedding(size=8))
    >>> _ = vs.add_texts(["Paris is in France.", "Cats purr."], ids=["p", "c"])
    >>> retriever = OgmaRetriever(store=vs, k=1)
    >>> [doc.id for doc in retriever.invoke("Paris is in France.")]
    ['p']
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables.config import run_in_executor
from pydantic import ConfigDict, Field, field_validator, model_validator

from langchain_ogma._convert import hit_to_document, to_ogma_filter
from langchain_ogma.rerankers import OgmaReranker
from langchain_ogma.vectorstores import OgmaVectorStore
from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.store.protocol import StoreProtocol
from ogma.store.search_args import check_query, check_search_args

__all__ = ["OgmaRetriever"]

logger = logging.getLogger(__name__)

Mode = Literal["dense", "lexical", "hybrid"]


class OgmaRetriever(BaseRetriever):
    """Retrieve documents from an Ogma store (any backend) by meaning, by words, or both.

    The search, filtering, fusion and reranking all run in the store; async calls run the
    sync search in the default executor. Each returned ``Document`` is a copy with the
    final score in ``metadata["score"]`` and every stage's score in ``metadata["scores"]``
    (``"dense"`` cosine, ``"lexical"`` BM25, ``"fused"``, ``"rerank"``; only the stages
    that ran).

    ``k``, ``filter`` and ``mode`` can be overridden per call:
    ``retriever.invoke("query", k=3, filter={"topic": "geo"})``.

    Args:
        store: The store to search: an :class:`~langchain_ogma.OgmaVectorStore` or an
            Ogma store of any backend (:class:`ogma.Store`, ``MilvusStore``, ...). A vector
            store is replaced by its Ogma store, and its embeddings become ``embedding``
            unless one is given.
        k: Documents to return.
        mode: ``"dense"``, ``"lexical"`` (BM25 full-text) or ``"hybrid"`` (both, fused).
        filter: Metadata filter in Ogma's filter language, e.g. ``{"year": {"$gte": 2020}}``.
        reranker: An :class:`~langchain_ogma.OgmaReranker` or :class:`ogma.Reranker`
            that reorders the first ``rerank_k`` hits.
        rerank_k: First-stage hits handed to the reranker (``None``: the store's default).
        embedding: Embeds the query for dense and hybrid search; needed only when the
            store was opened without an encoder (``None``: the store's encoder).

    Example:
        >>> retriever = OgmaRetriever(store=vs, k=5, mode="hybrid", reranker=OgmaReranker())  # doctest: +SKIP
        >>> docs = retriever.invoke("capital of France", filter={"lang": "en"})  # doctest: +SKIP
        >>> docs[0].metadata["scores"]  # doctest: +SKIP
        {'dense': 0.61, 'lexical': 3.2, 'fused': 0.032, 'rerank': 0.97}
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    store: StoreProtocol
    k: int = Field(default=4, ge=0)
    mode: Mode = "dense"
    filter: dict[str, Any] | None = None
    reranker: Any = None
    rerank_k: int | None = Field(default=None, ge=1)
    embedding: Embeddings | None = None

    @model_validator(mode="before")
    @classmethod
    def _unwrap_store(cls, data: Any) -> Any:
        if isinstance(data, dict) and isinstance(data.get("store"), OgmaVectorStore):
            vs = data["store"]
            data = {**data, "store": vs.store}
            if data.get("embedding") is None:
                data["embedding"] = vs.embeddings
        return data  # pydantic checks the rest

    @property
    def ogma_store(self) -> StoreProtocol:
        """The Ogma store searched (``store``; a vector store given there was unwrapped)."""
        return self.store

    @field_validator("filter")
    @classmethod
    def _check_filter(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        to_ogma_filter(value)  # a malformed filter fails here, not at the first query
        return value

    def _get_relevant_documents(
        self,
        query: str,
        *,
        run_manager: CallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: dict[str, Any] | None = None,
        mode: Mode | None = None,
    ) -> list[Document]:
        search_mode = mode or self.mode
        reranker = self.reranker.model if isinstance(self.reranker, OgmaReranker) else self.reranker
        # an OgmaReranker's alpha is the store's blend weight too
        alpha = self.reranker.alpha if isinstance(self.reranker, OgmaReranker) else DEFAULT_RERANK_ALPHA
        check_search_args(check_query(query), k=self.k if k is None else k, mode=search_mode, rerank=reranker)
        vector = None
        if self.embedding is not None and search_mode != "lexical":
            vector = self.embedding.embed_query(query)
        hits = self.ogma_store.search(
            query,
            vector=vector,
            k=self.k if k is None else k,
            mode=search_mode,
            filter=to_ogma_filter(self.filter if filter is None else filter),
            rerank=reranker,
            rerank_k=self.rerank_k if reranker is not None else None,
            rerank_alpha=alpha,
        )
        return [hit_to_document(hit, extra_metadata={"score": hit.score, "scores": dict(hit.scores)}) for hit in hits]

    async def _aget_relevant_documents(
        self,
        query: str,
        *,
        run_manager: AsyncCallbackManagerForRetrieverRun,
        k: int | None = None,
        filter: dict[str, Any] | None = None,
        mode: Mode | None = None,
    ) -> list[Document]:
        search = partial(
            self._get_relevant_documents, query, run_manager=run_manager.get_sync(), k=k, filter=filter, mode=mode
        )
        return await run_in_executor(None, search)
