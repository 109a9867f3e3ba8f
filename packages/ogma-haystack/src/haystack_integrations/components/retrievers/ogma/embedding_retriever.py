"""``OgmaEmbeddingRetriever``: documents nearest to a query embedding, from an ``OgmaDocumentStore``.

Example:
    >>> from haystack import Document
    >>> from haystack_integrations.document_stores.ogma import OgmaDocumentStore
    >>> store = OgmaDocumentStore()
    >>> _ = store.write_documents([Document(id="a", content="Paris", embedding=[1.0, 0.0]),
    ...                            Document(id="b", content="cats", embedding=[0.0, 1.0])])
    >>> retriever = OgmaEmbeddingRetriever(document_store=store, top_k=1)
    >>> [d.id for d in retriever.run(query_embedding=[0.8, 0.2])["documents"]]
    ['a']
"""

from __future__ import annotations

from typing import Any

from haystack import Document, component

from haystack_integrations.components.retrievers.ogma._common import OgmaRetrieverBase

__all__ = ["OgmaEmbeddingRetriever"]


@component
class OgmaEmbeddingRetriever(OgmaRetrieverBase):
    """Retrieves the documents whose embeddings are closest (cosine) to the query embedding.

    Put a text embedder in front of it (e.g. ``OgmaTextEmbedder``) and embed the documents
    with the matching document embedder. Documents without an embedding are never returned.

    Scores: cosine similarity in ``[-1, 1]``; with ``scale_score``, ``(cosine + 1) / 2`` in ``[0, 1]``.

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
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
        return_embedding: bool | None = None,
    ) -> dict[str, list[Document]]:
        """Retrieve documents by embedding.

        Args:
            query_embedding: The query's embedding.
            filters: Filters for this run, combined with the init filters by ``filter_policy``.
            top_k: Documents to return (0 returns none); default the init value.
            scale_score: Override the init ``scale_score``.
            return_embedding: Override the init ``return_embedding``.

        Returns:
            ``{"documents": [...]}``, best first, each with its ``score``.

        Raises:
            TypeError: ``query_embedding`` is not a list of numbers.
            ValueError: ``query_embedding`` is empty or has the wrong dimension, or ``top_k`` < 0.
            OgmaFilterError: A filter is malformed.
        """
        arguments = self._arguments(filters, top_k, scale_score, return_embedding)
        return {"documents": self.document_store.embedding_retrieval(query_embedding, **arguments)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
        return_embedding: bool | None = None,
    ) -> dict[str, list[Document]]:
        """Async :meth:`run` (the search runs in a worker thread)."""
        arguments = self._arguments(filters, top_k, scale_score, return_embedding)
        return {"documents": await self.document_store.embedding_retrieval_async(query_embedding, **arguments)}
