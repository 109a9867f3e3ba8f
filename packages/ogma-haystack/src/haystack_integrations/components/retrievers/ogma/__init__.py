"""Ogma retrievers for Haystack: embedding, BM25 and hybrid search over an ``OgmaDocumentStore``."""

from haystack_integrations.components.retrievers.ogma.bm25_retriever import OgmaBM25Retriever
from haystack_integrations.components.retrievers.ogma.embedding_retriever import OgmaEmbeddingRetriever
from haystack_integrations.components.retrievers.ogma.hybrid_retriever import OgmaHybridRetriever

__all__ = ["OgmaBM25Retriever", "OgmaEmbeddingRetriever", "OgmaHybridRetriever"]
