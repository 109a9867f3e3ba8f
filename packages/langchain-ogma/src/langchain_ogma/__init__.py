"""LangChain integration for Ogma: local embeddings, a SQLite vector store, retrieval and reranking.

Example:
    >>> import langchain_ogma
    >>> sorted(langchain_ogma.__all__)
    ['OgmaEmbeddings', 'OgmaReranker', 'OgmaRetriever', 'OgmaVectorStore', '__version__']
"""

from __future__ import annotations

from langchain_ogma.embeddings import OgmaEmbeddings
from langchain_ogma.rerankers import OgmaReranker
from langchain_ogma.retrievers import OgmaRetriever
from langchain_ogma.vectorstores import OgmaVectorStore

__version__ = "0.1.0"
__all__ = ["OgmaEmbeddings", "OgmaReranker", "OgmaRetriever", "OgmaVectorStore", "__version__"]
