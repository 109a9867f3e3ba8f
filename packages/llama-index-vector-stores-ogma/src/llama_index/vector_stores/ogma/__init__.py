"""LlamaIndex vector store backed by one Ogma SQLite file (or memory).

Example:
    >>> from llama_index.vector_stores.ogma import OgmaVectorStore
    >>> OgmaVectorStore().stores_text
    True
"""

from __future__ import annotations

from llama_index.vector_stores.ogma.base import OgmaVectorStore
from llama_index.vector_stores.ogma.filters import to_ogma_filter

__version__ = "0.1.0"
__all__ = ["OgmaVectorStore", "__version__", "to_ogma_filter"]
