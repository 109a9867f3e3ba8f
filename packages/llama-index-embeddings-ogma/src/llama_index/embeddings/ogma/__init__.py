"""LlamaIndex embeddings backed by a local Ogma model.

Example:
    >>> from llama_index.embeddings.ogma import OgmaEmbedding
    >>> OgmaEmbedding.class_name()
    'OgmaEmbedding'
"""

from __future__ import annotations

from llama_index.embeddings.ogma.base import OgmaEmbedding

__version__ = "0.1.0"
__all__ = ["OgmaEmbedding", "__version__"]
