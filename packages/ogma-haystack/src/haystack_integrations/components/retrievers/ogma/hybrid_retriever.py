"""``OgmaHybridRetriever``: embedding and BM25 search fused by the core, in one component.

One component replaces Haystack's usual two retrievers and a ``DocumentJoiner``: both
ranked lists come from one store call and are fused by :mod:`ogma.fusion` (by default a
query-adaptive convex combination, see ``docs/hybrid.md``).

Example:
    >>> from haystack import Document
    >>> from haystack_integrations.document_stores.ogma import OgmaDocumentStore
    >>> store = OgmaDocumentStore()
    >>> _ = store.write_documents([Document(id="a", content="Paris is in France", embedding=[1.0, 0.0]),
    ...                            Document(id="b", content="cats purr", embedding=[0.0, 1.0])])
    >>> retriever = OgmaHybridRetriever(document_store=store, top_k=1)
    >>> [d.id for d in retriever.run(query="cats", query_embedding=[0.1, 0.9])["documents"]]
    ['b']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from haystack import Document, component
from haystack.document_stores.types import FilterPolicy

from haystack_integrations.components.retrievers.ogma._common import OgmaRetrieverBase, check_init_top_k
from haystack_integrations.document_stores.ogma import OgmaDocumentStore
from ogma.store.ranking import fusion_params

__all__ = ["OgmaHybridRetriever"]


@component
class OgmaHybridRetriever(OgmaRetrieverBase):
    """Retrieves documents by meaning and by words at once, fused by Ogma's hybrid search.

    Takes the query text (BM25 side) and its embedding (dense side, from a text embedder).
    A document with only content is found by the BM25 side, one with only an embedding
    by the dense side.

    Scores: the core's hybrid score, in ``[0, 1]`` for every fusion method: the dense
    cosine and a saturating BM25 transform blended with the fusion's weights, so a score
    means the same from one query to the next and a threshold on it is stable
    (``docs/hybrid.md``). The order is the fusion's. ``scale_score`` only clips.

    Args:
        document_store: The :class:`OgmaDocumentStore` to search.
        filters: Haystack filters narrowing both searches (checked here).
        top_k: Documents to return (> 0).
        fusion: ``None`` (the core's default), a method name (``"default"``, ``"adaptive"``,
            ``"convex"``, ``"rrf"``, ``"weighted_rrf"``) or ``{"method": ..., **options}``
            (e.g. ``{"method": "convex", "alpha": 0.7}``); see :func:`ogma.fusion.fuse`.
        candidates: Depth of each ranked list before fusion (default ``max(top_k, 50)``).
        scale_score: Scale scores to ``[0, 1]`` (see above).
        return_embedding: Attach the stored embeddings to the returned documents.
        filter_policy: ``REPLACE`` (run filters replace the init filters) or ``MERGE``
            (both apply, joined with AND).

    Raises:
        TypeError: ``document_store`` is not an ``OgmaDocumentStore``.
        ValueError: ``top_k`` or ``candidates`` is not > 0, ``filter_policy`` is unknown.
        FusionError: ``fusion`` names an unknown method or option.
        OgmaFilterError: ``filters`` is malformed.
    """

    def __init__(
        self,
        document_store: OgmaDocumentStore,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        fusion: str | dict[str, Any] | None = None,
        candidates: int | None = None,
        scale_score: bool = False,
        return_embedding: bool = False,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
    ) -> None:
        # Not super(): @component rebuilds the class, which breaks the zero-argument form.
        OgmaRetrieverBase.__init__(
            self,
            document_store,
            filters=filters,
            top_k=top_k,
            scale_score=scale_score,
            return_embedding=return_embedding,
            filter_policy=filter_policy,
        )
        fusion_params(fusion)  # an unknown method or option fails here, not at the first query
        self.fusion = dict(fusion) if isinstance(fusion, Mapping) else fusion
        if candidates is not None:
            check_init_top_k(candidates, "candidates")
        self.candidates = candidates

    def _extra_init_parameters(self) -> dict[str, Any]:
        return {"fusion": self.fusion, "candidates": self.candidates}

    def _extra_run_arguments(self) -> dict[str, Any]:
        return {"fusion": self.fusion, "candidates": self.candidates}

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
        return_embedding: bool | None = None,
    ) -> dict[str, list[Document]]:
        """Retrieve documents by hybrid search.

        Args:
            query: The query text (non-empty).
            query_embedding: The query's embedding.
            filters: Filters for this run, combined with the init filters by ``filter_policy``.
            top_k: Documents to return (0 returns none); default the init value.
            scale_score: Override the init ``scale_score``.
            return_embedding: Override the init ``return_embedding``.

        Returns:
            ``{"documents": [...]}``, best first, each with its fused ``score``.

        Raises:
            TypeError: ``query`` is not a string or ``query_embedding`` not a list of numbers.
            ValueError: ``query`` is empty, ``query_embedding`` is empty or has the wrong
                dimension, or ``top_k`` < 0.
            OgmaFilterError: A filter is malformed.
        """
        arguments = self._arguments(filters, top_k, scale_score, return_embedding)
        return {"documents": self.document_store.hybrid_retrieval(query, query_embedding, **arguments)}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        query_embedding: list[float],
        filters: dict[str, Any] | None = None,
        top_k: int | None = None,
        scale_score: bool | None = None,
        return_embedding: bool | None = None,
    ) -> dict[str, list[Document]]:
        """Async :meth:`run` (the search runs in a worker thread)."""
        arguments = self._arguments(filters, top_k, scale_score, return_embedding)
        return {"documents": await self.document_store.hybrid_retrieval_async(query, query_embedding, **arguments)}
