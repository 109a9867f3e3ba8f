"""Ogma embedders for Haystack: local ONNX models, queries and documents each embedded their own way.

Example:
    >>> from haystack_integrations.components.embedders.ogma import OgmaDocumentEmbedder, OgmaTextEmbedder
    >>> OgmaTextEmbedder().model
    'sentence-transformers/all-MiniLM-L6-v2'
"""

from haystack_integrations.components.embedders.ogma.document_embedder import OgmaDocumentEmbedder
from haystack_integrations.components.embedders.ogma.text_embedder import OgmaTextEmbedder

__all__ = ["OgmaDocumentEmbedder", "OgmaTextEmbedder"]
