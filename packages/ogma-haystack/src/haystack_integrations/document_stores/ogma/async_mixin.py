"""The ``*_async`` twins of the document store's methods: the same call, run in a worker thread.

SQLite work releases the GIL, so an event loop stays responsive while a query or a
write runs. :class:`AsyncDocumentStoreMixin` adds the twins to any class with the sync
methods (:class:`SyncDocumentStore`).

Example:
    >>> import asyncio
    >>> from haystack_integrations.document_stores.ogma import OgmaDocumentStore
    >>> asyncio.run(OgmaDocumentStore().count_documents_async())
    0
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any, Protocol

from haystack.dataclasses import Document
from haystack.document_stores.types import DuplicatePolicy

__all__ = ["AsyncDocumentStoreMixin", "SyncDocumentStore"]


class SyncDocumentStore(Protocol):
    """The sync methods :class:`AsyncDocumentStoreMixin` runs in a worker thread."""

    def count_documents(self) -> int: ...
    def filter_documents(self, filters: dict[str, Any] | None = None) -> list[Document]: ...
    def write_documents(self, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE) -> int: ...
    def delete_documents(self, document_ids: list[str]) -> None: ...
    def delete_all_documents(self, recreate_index: bool = False) -> None: ...
    def delete_by_filter(self, filters: dict[str, Any]) -> int: ...
    def update_by_filter(self, filters: dict[str, Any], meta: dict[str, Any]) -> int: ...
    def count_documents_by_filter(self, filters: dict[str, Any]) -> int: ...
    def count_unique_metadata_by_filter(
        self, filters: dict[str, Any], metadata_fields: list[str]
    ) -> dict[str, int]: ...
    def get_metadata_fields_info(self) -> dict[str, dict[str, str]]: ...
    def get_metadata_field_min_max(self, metadata_field: str) -> dict[str, Any]: ...
    def get_metadata_field_unique_values(
        self,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]: ...
    def embedding_retrieval(
        self,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool = False,
    ) -> list[Document]: ...
    def bm25_retrieval(
        self,
        query: str,
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool = False,
    ) -> list[Document]: ...
    def hybrid_retrieval(
        self,
        query: str,
        query_embedding: list[float],
        *,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        fusion: str | Mapping[str, Any] | None = None,
        candidates: int | None = None,
        scale_score: bool = False,
        return_embedding: bool = False,
    ) -> list[Document]: ...


class AsyncDocumentStoreMixin:
    """Async twins of every document-store method (each runs the sync method in a worker thread)."""

    async def count_documents_async(self: SyncDocumentStore) -> int:
        """Async :meth:`count_documents` (runs in a worker thread)."""
        return await asyncio.to_thread(self.count_documents)

    async def filter_documents_async(self: SyncDocumentStore, filters: dict[str, Any] | None = None) -> list[Document]:
        """Async :meth:`filter_documents` (runs in a worker thread)."""
        return await asyncio.to_thread(self.filter_documents, filters)

    async def write_documents_async(
        self: SyncDocumentStore, documents: list[Document], policy: DuplicatePolicy = DuplicatePolicy.NONE
    ) -> int:
        """Async :meth:`write_documents` (runs in a worker thread)."""
        return await asyncio.to_thread(self.write_documents, documents, policy)

    async def delete_documents_async(self: SyncDocumentStore, document_ids: list[str]) -> None:
        """Async :meth:`delete_documents` (runs in a worker thread)."""
        await asyncio.to_thread(self.delete_documents, document_ids)

    async def delete_all_documents_async(self: SyncDocumentStore, recreate_index: bool = False) -> None:
        """Async :meth:`delete_all_documents` (runs in a worker thread)."""
        await asyncio.to_thread(self.delete_all_documents, recreate_index)

    async def delete_by_filter_async(self: SyncDocumentStore, filters: dict[str, Any]) -> int:
        """Async :meth:`delete_by_filter` (runs in a worker thread)."""
        return await asyncio.to_thread(self.delete_by_filter, filters)

    async def update_by_filter_async(self: SyncDocumentStore, filters: dict[str, Any], meta: dict[str, Any]) -> int:
        """Async :meth:`update_by_filter` (runs in a worker thread)."""
        return await asyncio.to_thread(self.update_by_filter, filters, meta)

    async def count_documents_by_filter_async(self: SyncDocumentStore, filters: dict[str, Any]) -> int:
        """Async :meth:`count_documents_by_filter` (runs in a worker thread)."""
        return await asyncio.to_thread(self.count_documents_by_filter, filters)

    async def count_unique_metadata_by_filter_async(
        self: SyncDocumentStore, filters: dict[str, Any], metadata_fields: list[str]
    ) -> dict[str, int]:
        """Async :meth:`count_unique_metadata_by_filter` (runs in a worker thread)."""
        return await asyncio.to_thread(self.count_unique_metadata_by_filter, filters, metadata_fields)

    async def get_metadata_fields_info_async(self: SyncDocumentStore) -> dict[str, dict[str, str]]:
        """Async :meth:`get_metadata_fields_info` (runs in a worker thread)."""
        return await asyncio.to_thread(self.get_metadata_fields_info)

    async def get_metadata_field_min_max_async(self: SyncDocumentStore, metadata_field: str) -> dict[str, Any]:
        """Async :meth:`get_metadata_field_min_max` (runs in a worker thread)."""
        return await asyncio.to_thread(self.get_metadata_field_min_max, metadata_field)

    async def get_metadata_field_unique_values_async(
        self: SyncDocumentStore,
        metadata_field: str,
        search_term: str | None = None,
        from_: int = 0,
        size: int = 10,
        filters: dict[str, Any] | None = None,
    ) -> tuple[list[Any], int]:
        """Async :meth:`get_metadata_field_unique_values` (runs in a worker thread)."""
        return await asyncio.to_thread(
            self.get_metadata_field_unique_values, metadata_field, search_term, from_, size, filters
        )

    async def embedding_retrieval_async(
        self: SyncDocumentStore, query_embedding: list[float], **kwargs: Any
    ) -> list[Document]:
        """Async :meth:`embedding_retrieval` (runs in a worker thread; same keyword arguments)."""
        return await asyncio.to_thread(lambda: self.embedding_retrieval(query_embedding, **kwargs))

    async def bm25_retrieval_async(self: SyncDocumentStore, query: str, **kwargs: Any) -> list[Document]:
        """Async :meth:`bm25_retrieval` (runs in a worker thread; same keyword arguments)."""
        return await asyncio.to_thread(lambda: self.bm25_retrieval(query, **kwargs))

    async def hybrid_retrieval_async(
        self: SyncDocumentStore, query: str, query_embedding: list[float], **kwargs: Any
    ) -> list[Document]:
        """Async :meth:`hybrid_retrieval` (runs in a worker thread; same keyword arguments)."""
        return await asyncio.to_thread(lambda: self.hybrid_retrieval(query, query_embedding, **kwargs))
