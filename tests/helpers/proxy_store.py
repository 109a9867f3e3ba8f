"""A store backend that is not ``ogma.Store``: it forwards every protocol method and nothing else.

Adapters must work with any :class:`~ogma.store.protocol.StoreProtocol`; wrapping the SQLite
store in this proxy hides its internals (no ``path``, ``config``, ``_pool``, ``encoder``), so
a test passes only when the adapter keeps to the protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

from ogma.store import Store
from ogma.store.document import Document
from ogma.store.protocol import OnConflict, StoreProtocol
from ogma.types import Hit, SearchMode

__all__ = ["ProxyStore"]


class ProxyStore:
    """Forwards the protocol to a hidden SQLite store (opened without an encoder)."""

    def __init__(self, **options: Any) -> None:
        self.__inner = Store(":memory:", **options)

    @property
    def dim(self) -> int | None:
        return self.__inner.dim

    @property
    def store_uri(self) -> str | None:
        return None  # the hidden store cannot be reopened from outside

    def add(
        self,
        texts: Sequence[str],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        embeddings: Any = None,
        *,
        batch_size: int = 8192,
        on_conflict: OnConflict = "replace",
    ) -> list[str]:
        return self.__inner.add(texts, metadatas, ids, embeddings, batch_size=batch_size, on_conflict=on_conflict)

    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[Document]:
        return self.__inner.get(ids, include_embeddings=include_embeddings)

    def iter_documents(
        self, *, filter: Mapping[str, Any] | None = None, batch_size: int = 1000, include_embeddings: bool = False
    ) -> Iterator[Document]:
        return self.__inner.iter_documents(filter=filter, batch_size=batch_size, include_embeddings=include_embeddings)

    def delete(self, ids: Sequence[str] | None = None, *, filter: Mapping[str, Any] | None = None) -> int:
        return self.__inner.delete(ids, filter=filter)

    def delete_all(self, *, confirm: bool = False) -> int:
        return self.__inner.delete_all(confirm=confirm)

    def reset(self, *, confirm: bool = False) -> int:
        return self.__inner.reset(confirm=confirm)

    def update(
        self,
        ids: Sequence[str] | None = None,
        *,
        metadata: Mapping[str, Any],
        filter: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> int:
        return self.__inner.update(ids, metadata=metadata, filter=filter, replace=replace)

    def count(self, *, filter: Mapping[str, Any] | None = None) -> int:
        return self.__inner.count(filter=filter)

    def metadata_fields(self, *, filter: Mapping[str, Any] | None = None) -> dict[str, str]:
        return self.__inner.metadata_fields(filter=filter)

    def metadata_values(self, field: str, *, filter: Mapping[str, Any] | None = None) -> list[tuple[Any, int]]:
        return self.__inner.metadata_values(field, filter=filter)

    def metadata_range(self, field: str, *, filter: Mapping[str, Any] | None = None) -> tuple[Any, Any] | None:
        return self.__inner.metadata_range(field, filter=filter)

    def search(self, query: str | None = None, *, mode: SearchMode = "dense", **options: Any) -> list[Hit]:
        return self.__inner.search(query, mode=mode, **options)

    def max_marginal_relevance_search(self, query: str | None = None, **options: Any) -> list[Hit]:
        return self.__inner.max_marginal_relevance_search(query, **options)

    def read_setting(self, key: str) -> str | None:
        return self.__inner.read_setting(key)

    def write_setting_once(self, key: str, value: str) -> bool:
        return self.__inner.write_setting_once(key, value)

    def close(self) -> None:
        self.__inner.close()

    def __enter__(self) -> StoreProtocol:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
