"""``OgmaBM25Retriever``: documents that best match the words of a query (BM25), from an ``OgmaDocumentStore``.

Example:
    >>> from haystack import Document
    >>> from haystack_integrations.document_stores.ogma import OgmaDocumentStore
    >>> store = OgmaDocumentStore()
    >>> _ = store.write_documents([Document(id="a", content="Paris is the capital of France"),
    ...                            Document(id="b", content="Cats purr when they are happy")])
    >>> retriever = OgmaBM25Retriever(document_store=store)
    >>> [d.id for d in retriever.run(query="why do cats purr")["documents"]]
    ['b']
"""

from __future__ import annotations

from typing import Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.document_stores.types import FilterPolicy, apply_filter_policy

from haystack_integrations.components.retrievers.ogma._common import (
    check_document_store,
    check_init_filters,
    check_init_top_k,
    check_policy,
    check_runtime_top_k,
)
from haystack_integrations.document_stores.ogma import OgmaDocumentStore

__all__ = ["OgmaBM25Retriever"]


@component
class OgmaBM25Retriever:
    """Retrieves documents by keyword relevance: SQLite FTS5's BM25 over the document contents.

    No embeddings are needed. Documents without content are never returned.

    Scores: the BM25 score (``>= 0``, higher is better); with ``scale_score``,
    ``expit(score / 8)`` in ``[0.5, 1)``, the scaling of Haystack's in-memory BM25.

    Args:
        document_store: The :class:`OgmaDocumentStore` to search.
        filters: Haystack filters narrowing the search (checked here: a malformed one fails now).
        top_k: Documents to return (> 0).
        scale_score: Scale scores to ``[0, 1]``.
        return_embedding: Attach the stored embeddings to the returned documents.
        filter_policy: ``REPLACE`` (run filters replace the init filters) or ``MERGE``
            (both apply, joined with AND).

    Raises:
        TypeError: ``document_store`` is not an ``OgmaDocumentStore``.
        ValueError: ``top_k`` is not > 0, or ``filter_policy`` is unknown.
        OgmaFilterError: ``filters`` is malformed.
    """

    def __init__(
        self,
        document_store: OgmaDocumentStore,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool = False,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
    ) -> None:
        self.document_store = check_document_store(document_store, type(self).__name__)
        self.filters = check_init_filters(filters)
        self.top_k = check_init_top_k(top_k)
        self.scale_score = scale_score
        self.return_embedding = return_embedding
        self.filter_policy = check_policy(filter_policy)

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component (the document store nested by its own ``to_dict``)."""
        return default_to_dict(
            self,
            document_store=self.document_store,
            filters=self.filters,
            top_k=self.top_k,
            scale_score=self.scale_score,
            return_embedding=self.return_embedding,
            filter_policy=self.filter_policy.value,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OgmaBM25Retriever:
        """Rebuild the component from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

    def _arguments(
        self,
        filters: dict[str, Any] | None,
        top_k: int | None,
        scale_score: bool | None,
        return_embedding: bool | None,
    ) -> dict[str, Any]:
        return {
            "filters": apply_filter_policy(self.filter_policy, self.filters, filters),
            "top_k": check_runtime_top_k(top_k, self.top_k),
            "scale_score": self.scale_score if scale_score is None else scale_score,
            "return_embedding": self.return_embedding if return_embedding is None else return_embedding,
        }

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
        return_embedding: bool | None = None,
    ) -> dict[str, list[Document]]:
        """Retrieve documents by BM25.

        Args:
            query: The query text (non-empty).
            filters: Filters for this run, combined with the init filters by ``filter_policy``.
            top_k: Documents to return (0 returns none); default the init value.
            scale_score: Override the init ``scale_score``.
            return_embedding: Override the init ``return_embedding``.

        Returns:
            ``{"documents": [...]}``, best first, each with its ``score``.

        Raises:
            TypeError: ``query`` is not a string.
            ValueError: ``query`` is empty, or ``top_k`` < 0.
            OgmaFilterError: A filter is malformed.
        """
        arguments = self._arguments(filters, top_k, scale_score, return_embedding)
        return {"documents": self.document_store.bm25_retrieval(query, **arguments)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
        return_embedding: bool | None = None,
    ) -> dict[str, list[Document]]:
        """Async :meth:`run` (the search runs in a worker thread)."""
        arguments = self._arguments(filters, top_k, scale_score, return_embedding)
        return {"documents": await self.document_store.bm25_retrieval_async(query, **arguments)}
