"""The Milvus backend: one collection per store, on a Milvus server or Milvus Lite.

Install with ``pip install 'ogma-core[milvus]'``. Modules: ``client`` (connecting),
``schema`` (fields, indexes, configuration record), ``facets`` (the typed filter index),
``expressions`` (filters to Milvus expressions), ``rows`` (documents to rows),
``metadata`` (field facts), ``paging`` (reading past the 16,384-row query window),
``store`` (:class:`MilvusStore`).

Example:
    >>> from ogma.store.milvus import MilvusStore
    >>> MilvusStore.__name__
    'MilvusStore'
"""

from __future__ import annotations

from ogma.store.milvus.store import MilvusStore

__all__ = ["MilvusStore"]
