"""The store protocol: the operations adapters and the CLI may use, whatever the backend.

Every backend (``ogma.store.sqlite.Store``, ``ogma.store.milvus.MilvusStore``) implements
this protocol, and the LangChain, LlamaIndex and Haystack adapters depend on it rather
than on one backend, so switching backend is one argument (``store=...``). What the
backends share lives beside this file: the document record (:mod:`~ogma.store.document`),
the filter language and its pure-Python evaluator (:mod:`~ogma.store.filters`), input
checks (:mod:`~ogma.store.validate`, :mod:`~ogma.store.search_args`), fusion and
reranking glue (:mod:`~ogma.store.ranking`), MMR (:mod:`~ogma.store.mmr`), and the search
pipeline itself (:mod:`~ogma.store.pipeline`), which each backend inherits and feeds with a
few primitives (see "Adding a backend" in ``docs/architecture.md``).

Example:
    >>> from ogma.store import Store
    >>> from ogma.store.protocol import StoreProtocol
    >>> isinstance(Store(":memory:"), StoreProtocol)
    True
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Protocol, runtime_checkable

from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.store.document import Document
from ogma.types import Hit, SearchMode

__all__ = ["ON_CONFLICT", "OnConflict", "StoreProtocol"]

OnConflict = Literal["replace", "skip", "fail"]
ON_CONFLICT: tuple[OnConflict, ...] = ("replace", "skip", "fail")
"""What ``add(on_conflict=...)`` may do with an id that is stored already."""


@runtime_checkable
class StoreProtocol(Protocol):
    """What every Ogma store backend offers.

    Semantics are those documented on :class:`ogma.store.Store` (the SQLite backend,
    the reference implementation); the conformance suite in ``tests/core/store`` runs
    the same tests against every backend.
    """

    @property
    def dim(self) -> int | None:
        """Dimension of the stored vectors (``None`` before the first vectors)."""
        ...

    @property
    def store_uri(self) -> str | None:
        """The store URI that reopens this store (see :mod:`ogma.store.uri`), or ``None`` if none can.

        Adapters serialise it (``to_dict``) and ``ogma migrate`` prints it. Named ``store_uri``
        because ``MilvusStore.uri`` is the server address it was given.
        """
        ...

    def add(
        self,
        texts: Sequence[str | None],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        embeddings: Any = None,
        *,
        batch_size: int = ...,
        on_conflict: OnConflict = "replace",
    ) -> list[str]:
        """Add (or upsert) documents; returns their ids.

        A ``None`` text stores a document without content; a ``None`` row in
        ``embeddings`` stores one without a vector (see ``docs/store.md``).
        """
        ...

    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[Document]:
        """The documents with these ids (missing ids are skipped), in the order asked."""
        ...

    def iter_documents(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        batch_size: int = 1000,
        include_embeddings: bool = False,
    ) -> Iterator[Document]:
        """Every document (or those matching ``filter``), in insertion order."""
        ...

    def delete(self, ids: Sequence[str] | None = None, *, filter: Mapping[str, Any] | None = None) -> int:
        """Delete by ids or by filter; returns how many were deleted."""
        ...

    def delete_all(self, *, confirm: bool = False) -> int:
        """Delete every document (``confirm=True`` required)."""
        ...

    def reset(self, *, confirm: bool = False) -> int:
        """Delete every document and forget the dimension the first vectors fixed (``confirm=True`` required)."""
        ...

    def update(
        self,
        ids: Sequence[str] | None = None,
        *,
        metadata: Mapping[str, Any],
        filter: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> int:
        """Merge (or replace) metadata of the documents selected by ids or filter."""
        ...

    def count(self, *, filter: Mapping[str, Any] | None = None) -> int:
        """How many documents (matching ``filter``)."""
        ...

    def metadata_fields(self, *, filter: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Top-level metadata field names and their value types."""
        ...

    def metadata_values(self, field: str, *, filter: Mapping[str, Any] | None = None) -> list[tuple[Any, int]]:
        """Distinct values of a metadata field with their counts."""
        ...

    def metadata_range(self, field: str, *, filter: Mapping[str, Any] | None = None) -> tuple[Any, Any] | None:
        """``(min, max)`` of a metadata field, or ``None`` when no document has it."""
        ...

    def search(
        self,
        query: str | None = None,
        *,
        vector: Any = None,
        k: int = 10,
        mode: SearchMode = "dense",
        filter: Mapping[str, Any] | None = None,
        fusion: str | Mapping[str, Any] | None = None,
        candidates: int | None = None,
        include_embeddings: bool = False,
        rerank: Any = None,
        rerank_k: int | None = None,
        rerank_alpha: float | None = DEFAULT_RERANK_ALPHA,
    ) -> list[Hit]:
        """Dense, lexical or hybrid search, optionally filtered and reranked."""
        ...

    def max_marginal_relevance_search(
        self,
        query: str | None = None,
        *,
        vector: Any = None,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: Mapping[str, Any] | None = None,
    ) -> list[Hit]:
        """Results that are relevant and unlike each other."""
        ...

    def read_setting(self, key: str) -> str | None:
        """A setting kept beside the configuration record, or ``None`` (see :mod:`ogma.store.settings`)."""
        ...

    def write_setting_once(self, key: str, value: str) -> bool:
        """Record a setting unless it is set already; returns whether this call wrote it."""
        ...

    def close(self) -> None:
        """Release connections; the store is unusable afterwards."""
        ...

    def __enter__(self) -> StoreProtocol: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...
