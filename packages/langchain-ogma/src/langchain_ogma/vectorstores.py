"""``OgmaVectorStore``: a LangChain vector store over one Ogma SQLite file (or memory).

Example:
    >>> from langchain_core.embeddings import DeterministicFakeEmbedding
    >>> from langchain_ogma import OgmaVectorStore
    >>> store = OgmaVectorStore(DeterministicFakeEmbedding(size=8))
    >>> store.add_texts(["Paris is in France."], metadatas=[{"topic": "geo"}], ids=["p"])
    ['p']
    >>> store.similarity_search("Paris", k=1, filter={"topic": "geo"})[0].id
    'p'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from langchain_ogma._convert import hit_to_document, no_extra_kwargs, to_ogma_filter, with_generated_ids
from ogma.store import Store
from ogma.store.validate import check_ids, check_metadatas, check_texts

__all__ = ["OgmaVectorStore", "cosine_relevance"]

logger = logging.getLogger(__name__)


def cosine_relevance(score: float) -> float:
    """Map a cosine similarity in ``[-1, 1]`` onto a relevance in ``[0, 1]``.

    Example:
        >>> cosine_relevance(1.0), cosine_relevance(0.0), cosine_relevance(-1.0)
        (1.0, 0.5, 0.0)
    """
    return min(1.0, max(0.0, (score + 1.0) / 2.0))


class OgmaVectorStore(VectorStore):
    """A LangChain vector store backed by :class:`ogma.Store`, with any LangChain ``Embeddings``.

    Documents, metadata, a full-text index and the vectors live in one SQLite file (or
    in memory with ``":memory:"``). Adding with existing ids replaces those documents.
    ``embedding`` embeds documents and queries for every method here; it is also given
    to the :class:`ogma.Store` (so :class:`~langchain_ogma.OgmaRetriever` can run
    lexical and hybrid search on :attr:`store`).

    Scores: :meth:`similarity_search_with_score` returns the cosine similarity
    (``[-1, 1]``, higher is closer); relevance scores map it onto ``[0, 1]`` as
    ``(1 + cosine) / 2``. Filters are dicts in Ogma's filter language (see
    ``docs/filters.md``), e.g. ``{"topic": "geo", "year": {"$gte": 2020}}``.

    Async methods are LangChain's defaults: the sync method runs in the default
    executor (the store is safe to use from several threads).

    Args:
        embedding: Any LangChain ``Embeddings`` (e.g. :class:`~langchain_ogma.OgmaEmbeddings`).
        path: The store file (created if missing) or ``":memory:"``.
        **store_options: Passed to :class:`ogma.Store` (e.g. ``dim``, ``precision``).

    Example:
        >>> from langchain_ogma import OgmaEmbeddings  # doctest: +SKIP
        >>> store = OgmaVectorStore(OgmaEmbeddings(), path="notes.db")  # doctest: +SKIP
        >>> store.add_texts(["Cats purr."], metadatas=[{"topic": "pets"}])  # doctest: +SKIP
        >>> store.similarity_search_with_score("Why do cats purr?", k=1)  # doctest: +SKIP
    """

    def __init__(self, embedding: Embeddings, path: str | Path = ":memory:", **store_options: Any) -> None:
        self._embedding = embedding
        self._store = Store(path, encoder=embedding, **store_options)

    @classmethod
    def from_store(cls, store: Store, embedding: Embeddings) -> OgmaVectorStore:
        """Wrap an open :class:`ogma.Store`; ``embedding`` must be the model its vectors came from.

        Example:
            >>> from langchain_core.embeddings import DeterministicFakeEmbedding
            >>> from ogma import Store
            >>> vs = OgmaVectorStore.from_store(Store(":memory:"), DeterministicFakeEmbedding(size=4))
            >>> vs.store.count()
            0
        """
        self = cls.__new__(cls)
        self._embedding = embedding
        self._store = store
        return self

    @property
    def embeddings(self) -> Embeddings:
        """The embeddings used for documents and queries."""
        return self._embedding

    @property
    def store(self) -> Store:
        """The underlying :class:`ogma.Store`."""
        return self._store

    def close(self) -> None:
        """Close the store's connections."""
        self._store.close()

    # -- writing --------------------------------------------------------------------
    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and add texts; existing ids are replaced.

        Args:
            texts: The texts.
            metadatas: One JSON-serialisable dict per text.
            ids: One id per text (``None`` entries and ``ids=None`` get fresh ids).
            **kwargs: ``batch_size`` (documents per transaction); nothing else.

        Returns:
            The ids, in input order.

        Raises:
            TypeError: A non-string text, a bad metadata entry, or an unknown keyword.
            ValueError: Length mismatches or duplicate ids.
            StoreMismatchError: The embeddings do not have the store's dimension.
        """
        batch_size = kwargs.pop("batch_size", None)
        no_extra_kwargs("add_texts", kwargs)
        items = check_texts(list(texts))
        check_metadatas(metadatas, len(items))
        doc_ids = check_ids(with_generated_ids(ids, len(items)), len(items))
        if not items:
            return []
        vectors = self._embedding.embed_documents(items)
        options = {} if batch_size is None else {"batch_size": batch_size}
        return self._store.add(items, metadatas, doc_ids, embeddings=vectors, **options)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete documents by id; unknown ids are ignored.

        Raises:
            ValueError: ``ids`` is ``None`` (deleting everything needs a new store instead).
        """
        no_extra_kwargs("delete", kwargs)
        if ids is None:
            raise ValueError("pass the ids to delete; to delete everything, use a new store file or ':memory:'")
        self._store.delete(ids)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Documents by id, in input order; missing ids are skipped."""
        return [hit_to_document(doc) for doc in self._store.get(list(ids))]

    # -- searching ------------------------------------------------------------------
    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents closest to ``query`` (optionally among those matching ``filter``)."""
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter=filter, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Like :meth:`similarity_search`, with each document's cosine similarity (higher is closer).

        Raises:
            TypeError: ``query`` is not a string, the filter is not a dict, or an unknown keyword.
            ValueError: Negative ``k``.
            FilterError: A malformed filter.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        no_extra_kwargs("similarity_search", kwargs)
        ogma_filter = to_ogma_filter(filter)
        return self._by_vector(self._embedding.embed_query(query), k, ogma_filter)

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents closest to a query vector."""
        no_extra_kwargs("similarity_search_by_vector", kwargs)
        return [doc for doc, _ in self._by_vector(embedding, k, to_ogma_filter(filter))]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None
    ) -> list[tuple[Document, float]]:
        """Like :meth:`similarity_search_by_vector`, with cosine similarities."""
        return self._by_vector(embedding, k, to_ogma_filter(filter))

    def _by_vector(
        self, vector: Sequence[float], k: int, ogma_filter: dict[str, Any] | None
    ) -> list[tuple[Document, float]]:
        hits = self._store.search(vector=vector, k=k, mode="dense", filter=ogma_filter)
        return [(hit_to_document(hit), hit.score) for hit in hits]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return cosine_relevance

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """``k`` documents chosen from the ``fetch_k`` closest for relevance and diversity.

        Args:
            query: The query.
            k: Documents to return.
            fetch_k: Candidates to choose from.
            lambda_mult: 1 favours relevance only, 0 diversity only.
            filter: Metadata filter.
            **kwargs: None accepted.
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        no_extra_kwargs("max_marginal_relevance_search", kwargs)
        return self.max_marginal_relevance_search_by_vector(
            self._embedding.embed_query(query), k, fetch_k, lambda_mult, filter=filter
        )

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """Like :meth:`max_marginal_relevance_search`, from a query vector."""
        no_extra_kwargs("max_marginal_relevance_search_by_vector", kwargs)
        hits = self._store.max_marginal_relevance_search(
            vector=embedding, k=k, fetch_k=fetch_k, lambda_mult=lambda_mult, filter=to_ogma_filter(filter)
        )
        return [hit_to_document(hit) for hit in hits]

    # -- construction ---------------------------------------------------------------
    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        path: str | Path = ":memory:",
        **store_options: Any,
    ) -> OgmaVectorStore:
        """Create a store at ``path`` and add ``texts``.

        Example:
            >>> from langchain_core.embeddings import DeterministicFakeEmbedding
            >>> vs = OgmaVectorStore.from_texts(["a", "b"], DeterministicFakeEmbedding(size=4), ids=["1", "2"])
            >>> vs.store.count()
            2
        """
        store = cls(embedding, path, **store_options)
        store.add_texts(texts, metadatas, ids=ids)
        return store
