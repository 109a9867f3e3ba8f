"""``OgmaVectorStore``: a LangChain vector store over an Ogma store (a SQLite file, memory, or any backend).

Example:
    >>> from langchain_core.embeddings import DeterministicFakeEmbedding
    >>> from langchain_ogma import OgmaVectorStore
    >>> store = OgmaVectorStore(DeterministicFakeEmbedding(size=8))
    >>> store.add_texts(["Paris is in France."], metadatas=[{"topic": "geo"}], ids=["p"])
    ['p']
    >>> store.similarity_search("Paris", k=1, filter={"topic": "geo"})[0].id
    'p'
    >>> store.as_retriever(search_type="hybrid", search_kwargs={"k": 1}).invoke("France")[0].id
    'p'
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Literal, get_args

import numpy as np
from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.runnables.config import run_in_executor
from langchain_core.vectorstores import VectorStore, VectorStoreRetriever

from langchain_ogma._convert import (
    check_documents,
    check_id_list,
    content_hash_id,
    hit_to_document,
    no_extra_kwargs,
    to_ogma_filter,
    with_generated_ids,
)
from langchain_ogma.rerankers import OgmaReranker
from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.store.fingerprint import EmbedderGuard
from ogma.store.protocol import StoreProtocol
from ogma.store.search_args import check_mmr_args, check_query, check_search_args, check_search_mode
from ogma.store.uri import open_store
from ogma.store.validate import check_add_args, check_metadatas, check_texts
from ogma.types import Hit, SearchMode
from ogma.validation import rename_arguments

__all__ = [
    "IdStrategy",
    "OgmaVectorStore",
    "OgmaVectorStoreRetriever",
    "clipped_cosine_relevance",
    "shifted_cosine_relevance",
]

logger = logging.getLogger(__name__)

IdStrategy = Literal["uuid4", "content_hash"]
"""How documents without an id get one: random, or a SHA-256 of their text and metadata."""

_SEARCH_OPTIONS = ("mode", "fusion", "rerank", "rerank_k")


def clipped_cosine_relevance(score: float) -> float:
    """The default relevance: the cosine similarity itself, clipped to ``[0, 1]``.

    With normalised sentence embeddings, unrelated text sits near 0 and close
    paraphrases near 1, so a ``score_threshold`` reads as a cosine (the measured
    distributions for all-MiniLM-L6-v2 are in ``docs/langchain.md``).

    Example:
        >>> clipped_cosine_relevance(0.42), clipped_cosine_relevance(-0.3), clipped_cosine_relevance(1.0000001)
        (0.42, 0.0, 1.0)
    """
    return min(1.0, max(0.0, score))


def shifted_cosine_relevance(score: float) -> float:
    """``(1 + cosine) / 2``: every cosine gets a distinct relevance, but unrelated text lands near 0.5-0.6.

    Pass it as ``relevance_score_fn=`` when negative cosines must stay ordered.

    Example:
        >>> shifted_cosine_relevance(1.0), shifted_cosine_relevance(0.0), shifted_cosine_relevance(-1.0)
        (1.0, 0.5, 0.0)
    """
    return min(1.0, max(0.0, (score + 1.0) / 2.0))


@dataclass(frozen=True)
class _SearchOptions:
    mode: SearchMode
    fusion: Any = None
    rerank: Any = None
    rerank_k: int | None = None
    rerank_alpha: float | None = DEFAULT_RERANK_ALPHA


class OgmaVectorStore(VectorStore):
    """A LangChain vector store backed by an Ogma store, with any LangChain ``Embeddings``.

    By default documents, metadata, a full-text index and the vectors live in one SQLite
    file (or in memory with ``":memory:"``); ``store=`` takes any other backend that
    implements :class:`~ogma.store.protocol.StoreProtocol` (e.g. ``MilvusStore``), with
    the same code otherwise. Adding with existing ids replaces those documents.
    ``embedding`` embeds documents and queries for every method here; it is also given
    to the :class:`ogma.Store` (so :class:`~langchain_ogma.OgmaRetriever` can run
    lexical and hybrid search on it).

    Search modes: ``"dense"`` (cosine similarity of embeddings), ``"lexical"`` (BM25
    full text) and ``"hybrid"`` (both, fused). ``retrieval_mode`` is the default of
    :meth:`similarity_search`; each call can pass ``mode=``, and
    ``as_retriever(search_type="hybrid")`` / ``"lexical"`` give retrievers for them.

    Scores: :meth:`similarity_search_with_score` returns the score the results are
    ranked by (dense: cosine in ``[-1, 1]``; lexical: BM25; hybrid: the fused score;
    reranked: the reranker's). Relevance scores (``similarity_score_threshold``) are
    always ``relevance_score_fn(cosine of query and document)``, whatever ranked the
    results; the default clips the cosine to ``[0, 1]``.

    Filters are dicts in Ogma's filter language (see ``docs/filters.md``), e.g.
    ``{"topic": "geo", "year": {"$gte": 2020}}``.

    Opening an existing file checks that ``embedding`` is the model its vectors came
    from (see ``check_embeddings``); async methods run the sync ones in the default
    executor (the store is safe to use from several threads).

    Args:
        embedding: Any LangChain ``Embeddings`` (e.g. :class:`~langchain_ogma.OgmaEmbeddings`).
        path: The store file (created if missing), ``":memory:"``, or a store URI of another
            backend (``"milvus://host:19530/collection"``, see :mod:`ogma.store.uri`).
        store: An open store of any backend (:class:`~ogma.store.protocol.StoreProtocol`)
            to use instead of opening ``path``; ``embedding`` must be the model its
            vectors came from. Not with ``path`` or ``store_options``.
        retrieval_mode: Default search mode of :meth:`similarity_search`.
        fusion: Default hybrid fusion (a method name or ``{"method": ..., **params}``;
            ``None``: the core's default).
        relevance_score_fn: Maps a cosine similarity to a relevance in ``[0, 1]``
            (default :func:`clipped_cosine_relevance`).
        id_strategy: Ids for documents that come without one: ``"uuid4"`` (random) or
            ``"content_hash"`` (SHA-256 of text and metadata, so adding the same
            documents again replaces them instead of duplicating them).
        check_embeddings: On opening a file that holds vectors, check that ``embedding``
            makes them (at most one short embedding call; none when the recorded identity
            names the same model). Mismatches raise :class:`~ogma.errors.StoreMismatchError`.
        **store_options: Passed to the store ``path`` opens (e.g. ``dim``, ``precision``);
            an option that backend does not take raises ``ValueError`` naming it.

    Raises:
        StoreMismatchError: The file was built with other embeddings or settings.
        ValueError: An unknown ``retrieval_mode`` or ``id_strategy``, or ``store=`` with
            ``path`` or store options.
        TypeError: ``store`` is not an Ogma store.

    Example:
        >>> from langchain_ogma import OgmaEmbeddings  # doctest: +SKIP
        >>> store = OgmaVectorStore(OgmaEmbeddings(), path="notes.db", retrieval_mode="hybrid")  # doctest: +SKIP
        >>> store.add_texts(["Cats purr."], metadatas=[{"topic": "pets"}])  # doctest: +SKIP
        >>> store.similarity_search_with_relevance_scores("Why do cats purr?", k=1)  # doctest: +SKIP
        >>> from ogma.store.milvus import MilvusStore  # doctest: +SKIP
        >>> milvus = MilvusStore("milvus.db", collection="notes")  # doctest: +SKIP
        >>> store = OgmaVectorStore(OgmaEmbeddings(), store=milvus)  # doctest: +SKIP
        >>> store = OgmaVectorStore(OgmaEmbeddings(), path="milvus://localhost:19530/notes")  # doctest: +SKIP
    """

    def __init__(
        self,
        embedding: Embeddings,
        path: str | Path = ":memory:",
        *,
        store: StoreProtocol | None = None,
        retrieval_mode: SearchMode = "dense",
        fusion: str | Mapping[str, Any] | None = None,
        relevance_score_fn: Callable[[float], float] | None = None,
        id_strategy: IdStrategy = "uuid4",
        check_embeddings: bool = True,
        **store_options: Any,
    ) -> None:
        if store is not None:
            if not isinstance(store, StoreProtocol):
                raise TypeError(
                    f"store must be an Ogma store (ogma.Store, MilvusStore, or any ogma.store.protocol.StoreProtocol), "
                    f"got {type(store).__name__}"
                )
            if store_options or str(path) != ":memory:":
                raise ValueError("pass either an open store= or a path (with store options), not both")
        self._configure(embedding, retrieval_mode, fusion, relevance_score_fn, id_strategy)
        self._store: StoreProtocol = store if store is not None else open_store(path, embedding, **store_options)
        self._open_checks(check_embeddings)

    def _configure(
        self,
        embedding: Embeddings,
        retrieval_mode: SearchMode,
        fusion: str | Mapping[str, Any] | None,
        relevance_score_fn: Callable[[float], float] | None,
        id_strategy: IdStrategy,
    ) -> None:
        check_search_mode(None, retrieval_mode, name="retrieval_mode")
        if id_strategy not in get_args(IdStrategy):
            raise ValueError(f"id_strategy must be one of {', '.join(get_args(IdStrategy))}; got {id_strategy!r}")
        if relevance_score_fn is not None and not callable(relevance_score_fn):
            raise TypeError(f"relevance_score_fn must be a callable float -> float, got {type(relevance_score_fn)}")
        self._embedding = embedding
        self.retrieval_mode: SearchMode = retrieval_mode
        self.fusion = fusion
        self.id_strategy: IdStrategy = id_strategy
        self._relevance_fn = relevance_score_fn or clipped_cosine_relevance
        self._guard = EmbedderGuard(
            embedding, embedding.embed_documents, fix="If they are the same model, pass check_embeddings=False."
        )

    def _open_checks(self, check_embeddings: bool) -> None:
        """Check the embeddings against the file (closing it on a mismatch)."""
        self._check_embeddings = check_embeddings
        if not check_embeddings:
            return
        try:
            self._guard.check(self._store)
        except BaseException:
            self._store.close()
            raise

    @classmethod
    def from_store(
        cls,
        store: StoreProtocol,
        embedding: Embeddings,
        *,
        retrieval_mode: SearchMode = "dense",
        fusion: str | Mapping[str, Any] | None = None,
        relevance_score_fn: Callable[[float], float] | None = None,
        id_strategy: IdStrategy = "uuid4",
        check_embeddings: bool = True,
    ) -> OgmaVectorStore:
        """Wrap an open store of any backend; ``embedding`` must be the model its vectors came from.

        The same as ``OgmaVectorStore(embedding, store=store, ...)``; options as for the
        constructor. The store is closed when the embeddings do not match.

        Example:
            >>> from langchain_core.embeddings import DeterministicFakeEmbedding
            >>> from ogma import Store
            >>> vs = OgmaVectorStore.from_store(Store(":memory:"), DeterministicFakeEmbedding(size=4))
            >>> vs.store.count()
            0
        """
        return cls(
            embedding,
            store=store,
            retrieval_mode=retrieval_mode,
            fusion=fusion,
            relevance_score_fn=relevance_score_fn,
            id_strategy=id_strategy,
            check_embeddings=check_embeddings,
        )

    @property
    def embeddings(self) -> Embeddings:
        """The embeddings used for documents and queries."""
        return self._embedding

    @property
    def store(self) -> StoreProtocol:
        """The underlying store (an :class:`ogma.Store` unless another backend was given)."""
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

        Everything is checked before anything is embedded, so bad input costs no
        embedding call and writes nothing.

        Args:
            texts: The texts (a list; a single string is refused, not split into characters).
            metadatas: One JSON-serialisable dict per text.
            ids: One id per text. ``None`` entries and ``ids=None`` get ids by
                ``id_strategy``; with ``"content_hash"``, identical documents in one call
                are stored once (each input position still gets its id back).
            **kwargs: ``batch_size`` (documents per transaction); nothing else.

        Returns:
            The ids, in input order.

        Raises:
            TypeError: ``texts``/``ids`` is a single string, a non-string text, a bad
                metadata entry, or an unknown keyword.
            ValueError: Length mismatches, duplicate or empty ids, or invalid Unicode.
            StoreMismatchError: The embeddings do not have the store's dimension.
        """
        batch_size = kwargs.pop("batch_size", None)
        no_extra_kwargs("add_texts", kwargs)
        options = {} if batch_size is None else {"batch_size": batch_size}
        if isinstance(texts, (str, bytes)):
            raise TypeError(
                f"texts must be a list of strings, not a single {type(texts).__name__} "
                "(it would be split into characters); pass [text]"
            )
        if not isinstance(texts, Iterable) or isinstance(texts, Mapping):
            raise TypeError(f"texts must be a list of strings, got {type(texts).__name__}")
        items = check_texts(list(texts))
        check_metadatas(metadatas, len(items))  # before the ids: content hashes read the metadata
        given = None if ids is None else check_id_list(ids, "ids", allow_none=True)
        if given is not None and len(given) != len(items):
            raise ValueError(f"got {len(given)} ids for {len(items)} texts; pass one id per text (or none)")
        doc_ids, keep = self._resolve_ids(given, items, metadatas)
        if not items:
            return []
        kept_texts = [items[i] for i in keep]
        kept_metas = None if metadatas is None else [metadatas[i] for i in keep]
        kept_ids = check_add_args(kept_texts, kept_metas, [doc_ids[i] for i in keep], **options).ids
        vectors = self._embedding.embed_documents(kept_texts)
        self._store.add(kept_texts, kept_metas, kept_ids, embeddings=vectors, **options)
        if self._check_embeddings:
            self._guard.recorded(self._store)
        return doc_ids

    def _resolve_ids(
        self, given: list[str | None] | None, texts: list[str], metadatas: list[dict[str, Any]] | None
    ) -> tuple[list[str], list[int]]:
        """Every position's id, and the positions to write (hashed duplicates are written once)."""
        slots: list[str | None] = [None] * len(texts) if given is None else list(given)
        if self.id_strategy == "uuid4":
            return with_generated_ids(slots, len(texts)), list(range(len(texts)))
        doc_ids: list[str] = []
        keep: list[int] = []
        hashed: set[str] = set()
        for index, slot in enumerate(slots):
            if slot is not None:
                doc_ids.append(slot)
                keep.append(index)
                continue
            doc_id = content_hash_id(texts[index], metadatas[index] if metadatas is not None else None)
            doc_ids.append(doc_id)
            if doc_id not in hashed:
                hashed.add(doc_id)
                keep.append(index)
        return doc_ids, keep

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        """Add LangChain documents (``Document.id`` is used when set); see :meth:`add_texts`.

        Raises:
            TypeError: ``documents`` is not a list of ``Document``.
        """
        try:
            return super().add_documents(check_documents(documents), **kwargs)
        except (TypeError, ValueError) as exc:
            if type(exc) not in (TypeError, ValueError):
                raise
            fields = {"texts": "page_content", "metadatas": "metadata", "ids": "id"}
            renames = {arg: (lambda i, field=field: f"documents[{i}].{field}") for arg, field in fields.items()}
            raise type(exc)(rename_arguments(str(exc), renames)) from exc

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete documents by id; unknown ids are ignored.

        Raises:
            ValueError: ``ids`` is ``None`` (deleting everything needs a new store instead).
            TypeError: ``ids`` is a single string or holds a non-string.
        """
        no_extra_kwargs("delete", kwargs)
        if ids is None:
            raise ValueError("pass the ids to delete; to delete everything, use a new store file or ':memory:'")
        self._store.delete(check_id_list(ids, "ids"))
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        """Documents by id, in input order; missing ids are skipped.

        Raises:
            TypeError: ``ids`` is a single string or holds a non-string.
        """
        return [hit_to_document(doc) for doc in self._store.get([] if ids is None else check_id_list(ids, "ids"))]

    # -- searching ------------------------------------------------------------------
    def _options(self, method: str, kwargs: dict[str, Any], query: Any, k: Any) -> _SearchOptions:
        """Pop the search options from ``kwargs`` and check them with the query (before any embedding).

        Anything else left in ``kwargs`` is an error.
        """
        mode = kwargs.pop("mode", None)
        mode = self.retrieval_mode if mode is None else mode
        fusion = kwargs.pop("fusion", None)
        rerank = kwargs.pop("rerank", None)
        rerank_k = kwargs.pop("rerank_k", None)
        no_extra_kwargs(method, kwargs)
        alpha = rerank.alpha if isinstance(rerank, OgmaReranker) else DEFAULT_RERANK_ALPHA
        rerank = rerank.model if isinstance(rerank, OgmaReranker) else rerank
        if rerank is not None and not callable(getattr(rerank, "rerank", None)):
            raise TypeError(
                "rerank must be an OgmaReranker, an ogma.Reranker, or an object with "
                f"rerank(query, documents, top_k); got {type(rerank).__name__}"
            )
        if rerank_k is not None and rerank is None:
            raise ValueError("rerank_k= needs rerank= (a reranker); drop it or pass the reranker")
        if fusion is None and mode == "hybrid":
            fusion = self.fusion
        check_search_args(check_query(query), k=k, mode=mode, fusion=fusion, rerank=rerank)
        return _SearchOptions(mode, fusion, rerank, rerank_k, alpha)

    def _hits(
        self,
        query: str,
        k: int,
        filter: Any,
        options: _SearchOptions,
        *,
        vector: Sequence[float] | None = None,
        include_embeddings: bool = False,
    ) -> list[Hit]:
        ogma_filter = to_ogma_filter(filter)
        if vector is None and options.mode != "lexical":
            vector = self._embedding.embed_query(query)
        search: dict[str, Any] = {"fusion": options.fusion} if options.mode == "hybrid" else {}
        if options.rerank is not None:
            search.update(rerank=options.rerank, rerank_k=options.rerank_k, rerank_alpha=options.rerank_alpha)
        return self._store.search(
            query,
            vector=vector,
            k=k,
            mode=options.mode,
            filter=ogma_filter,
            include_embeddings=include_embeddings,
            **search,
        )

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` best documents for ``query`` (optionally among those matching ``filter``).

        Args:
            query: The query text.
            k: Documents to return.
            filter: Metadata filter.
            **kwargs: ``mode`` (``"dense"``, ``"lexical"``, ``"hybrid"``; default
                ``retrieval_mode``), ``fusion`` (hybrid), ``rerank`` (an
                :class:`~langchain_ogma.OgmaReranker` or :class:`ogma.Reranker`) and
                ``rerank_k`` (first-stage hits it reorders); nothing else.
        """
        return [doc for doc, _ in self.similarity_search_with_score(query, k, filter=filter, **kwargs)]

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Like :meth:`similarity_search`, with each document's score (higher is better).

        The score is the one the results are ranked by: the cosine similarity in dense
        mode, BM25 in lexical mode, the fused score in hybrid mode, the reranker's score
        when reranked.

        Raises:
            TypeError: ``query`` is not a string, the filter is not a dict, or an unknown keyword.
            ValueError: Negative ``k`` or an unknown mode.
            FilterError: A malformed filter.
        """
        options = self._options("similarity_search", dict(kwargs), query, k)
        return [(hit_to_document(hit), hit.score) for hit in self._hits(query, k, filter, options)]

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        """The ``k`` documents closest to a query vector (dense search)."""
        no_extra_kwargs("similarity_search_by_vector", kwargs)
        return [doc for doc, _ in self._by_vector(embedding, k, filter)]

    def similarity_search_with_score_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None
    ) -> list[tuple[Document, float]]:
        """Like :meth:`similarity_search_by_vector`, with cosine similarities."""
        return self._by_vector(embedding, k, filter)

    def _by_vector(self, vector: Sequence[float], k: int, filter: Any) -> list[tuple[Document, float]]:
        hits = self._store.search(vector=vector, k=k, mode="dense", filter=to_ogma_filter(filter))
        return [(hit_to_document(hit), hit.score) for hit in hits]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        return self._relevance_fn

    def _similarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Results of any mode, each with ``relevance_score_fn`` of its cosine to the query."""
        filter = kwargs.pop("filter", None)
        options = self._options("similarity_search_with_relevance_scores", dict(kwargs), query, k)
        vector = np.asarray(self._embedding.embed_query(query), dtype=np.float32)
        hits = self._hits(query, k, filter, options, vector=vector.tolist(), include_embeddings=options.mode != "dense")
        unit = vector / (float(np.linalg.norm(vector)) or 1.0)
        scored: list[tuple[Document, float]] = []
        for hit in hits:
            cosine = hit.scores.get("dense")
            if cosine is None and hit.embedding is not None:
                stored = np.asarray(hit.embedding, dtype=np.float32)[: len(unit)]
                cosine = float(unit[: len(stored)] @ stored / (float(np.linalg.norm(stored)) or 1.0))
            scored.append((hit_to_document(hit), self._relevance_fn(float(cosine or 0.0))))
        return scored

    async def _asimilarity_search_with_relevance_scores(
        self, query: str, k: int = 4, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return await run_in_executor(None, self._similarity_search_with_relevance_scores, query, k, **kwargs)

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        """``k`` documents chosen from the ``fetch_k`` closest (dense) for relevance and diversity.

        Args:
            query: The query.
            k: Documents to return.
            fetch_k: Candidates to choose from.
            lambda_mult: 1 favours relevance only, 0 diversity only.
            filter: Metadata filter.
            **kwargs: None accepted.
        """
        no_extra_kwargs("max_marginal_relevance_search", kwargs)
        check_mmr_args(k, fetch_k, lambda_mult, query)
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

    def search(self, query: str, search_type: str, **kwargs: Any) -> list[Document]:
        """Search by ``search_type``: LangChain's three, plus ``"hybrid"`` and ``"lexical"``.

        Example:
            >>> from langchain_core.embeddings import DeterministicFakeEmbedding
            >>> vs = OgmaVectorStore.from_texts(["red apple", "green pear"], DeterministicFakeEmbedding(size=4))
            >>> [d.page_content for d in vs.search("pear", "lexical")]
            ['green pear']
        """
        if search_type in ("hybrid", "lexical"):
            return self.similarity_search(query, **_with_mode(kwargs, search_type))
        return super().search(query, search_type, **kwargs)

    async def asearch(self, query: str, search_type: str, **kwargs: Any) -> list[Document]:
        """Async :meth:`search` (run in the default executor)."""
        return await run_in_executor(None, self.search, query, search_type, **kwargs)

    def as_retriever(self, **kwargs: Any) -> OgmaVectorStoreRetriever:
        """A :class:`OgmaVectorStoreRetriever`: LangChain's retriever, with hybrid and lexical search too.

        ``search_type`` is ``"similarity"`` (the store's ``retrieval_mode``; ``mode=`` in
        ``search_kwargs`` picks another), ``"mmr"``, ``"similarity_score_threshold"``
        (relevance is the clipped cosine by default, whatever the mode), ``"hybrid"`` or
        ``"lexical"``. ``search_kwargs`` takes ``k``, ``filter``, ``fusion``, ``rerank``,
        ``rerank_k`` and the usual MMR and threshold options.

        Example:
            >>> from langchain_core.embeddings import DeterministicFakeEmbedding
            >>> vs = OgmaVectorStore.from_texts(["red apple", "green pear"], DeterministicFakeEmbedding(size=4))
            >>> [d.page_content for d in vs.as_retriever(search_type="lexical").invoke("apple")]
            ['red apple']
        """
        tags = kwargs.pop("tags", None) or [*self._get_retriever_tags()]
        return OgmaVectorStoreRetriever(vectorstore=self, tags=tags, **kwargs)

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
        """Open (or create) the store at ``path`` and add ``texts``.

        ``store_options`` go to the constructor (``id_strategy``, ``retrieval_mode``,
        ``dim``, ...). With ``id_strategy="content_hash"``, running this twice on the
        same texts leaves one copy of each.

        Example:
            >>> from langchain_core.embeddings import DeterministicFakeEmbedding
            >>> vs = OgmaVectorStore.from_texts(["a", "b"], DeterministicFakeEmbedding(size=4), ids=["1", "2"])
            >>> vs.store.count()
            2
        """
        store = cls(embedding, path, **store_options)
        store.add_texts(texts, metadatas, ids=ids)
        return store


def _with_mode(kwargs: Mapping[str, Any], mode: str) -> dict[str, Any]:
    """``kwargs`` with ``mode`` set; a different ``mode`` already there is an error."""
    given = kwargs.get("mode")
    if given is not None and given != mode:
        raise ValueError(f"search_type {mode!r} conflicts with mode={given!r} in search_kwargs; give one of them")
    return {**kwargs, "mode": mode}


class OgmaVectorStoreRetriever(VectorStoreRetriever):
    """LangChain's ``VectorStoreRetriever`` over an :class:`OgmaVectorStore`, with ``"hybrid"`` and ``"lexical"``.

    Made by :meth:`OgmaVectorStore.as_retriever`. The three LangChain search types work
    as everywhere; ``"hybrid"`` and ``"lexical"`` run :meth:`OgmaVectorStore.similarity_search`
    in that mode. ``search_kwargs`` (and per-call keyword arguments) are passed on.

    Example:
        >>> from langchain_core.embeddings import DeterministicFakeEmbedding
        >>> vs = OgmaVectorStore.from_texts(["red apple", "green pear"], DeterministicFakeEmbedding(size=4))
        >>> retriever = vs.as_retriever(search_type="hybrid", search_kwargs={"k": 1})
        >>> retriever.invoke("green pear")[0].page_content
        'green pear'
    """

    allowed_search_types: ClassVar[tuple[str, ...]] = (
        "similarity",
        "similarity_score_threshold",
        "mmr",
        "hybrid",
        "lexical",
    )

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        if self.search_type in ("hybrid", "lexical"):
            merged = _with_mode(self.search_kwargs | kwargs, self.search_type)
            return self.vectorstore.similarity_search(query, **merged)
        return super()._get_relevant_documents(query, run_manager=run_manager, **kwargs)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        if self.search_type in ("hybrid", "lexical"):
            merged = _with_mode(self.search_kwargs | kwargs, self.search_type)
            return await self.vectorstore.asimilarity_search(query, **merged)
        return await super()._aget_relevant_documents(query, run_manager=run_manager, **kwargs)
