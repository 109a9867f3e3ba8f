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

from haystack import Document, component

from haystack_integrations.components.retrievers.ogma._common import OgmaRetrieverBase

__all__ = ["OgmaBM25Retriever"]


@component
class OgmaBM25Retriever(OgmaRetrieverBase):
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
