"""Ogma document store for Haystack: text, metadata, BM25 and vectors in one SQLite file."""

from haystack_integrations.document_stores.ogma.document_store import OgmaDocumentStore
from haystack_integrations.document_stores.ogma.errors import OgmaDuplicateDocumentError, OgmaFilterError
from haystack_integrations.document_stores.ogma.filters import convert_filters

__all__ = ["OgmaDocumentStore", "OgmaDuplicateDocumentError", "OgmaFilterError", "convert_filters"]
