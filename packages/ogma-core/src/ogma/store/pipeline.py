"""The search pipeline every store backend shares, written once over a few backend primitives.

A backend supplies what only it can do (see "Adding a backend" in ``docs/architecture.md``):

* ``_pushdown(filter)``: the filter compiled to its own language (or :data:`NOTHING`
  when no document can match);
* ``_dense_candidates(ctx, unit, count, where, option)``: the best ``count`` documents
  by its dense index, as ``(key, score)`` pairs best first, optionally with the float
  vectors fetched along (:class:`DenseCandidates`);
* ``_lexical_candidates(ctx, query, count, where)``: the best ``count`` by BM25;
* ``_documents(ctx, keys, include_embeddings)``: the documents of those keys;
* ``_float_vectors(ctx, keys)`` when its index is quantized (``_quantized``), or its own
  ``_rescore``;
* optionally ``_window_rerank(ctx, ranked, unit, count, where)``: for a backend that keeps
  every window of a long document, the dense ranking re-ranked by each document's best
  window (:mod:`ogma.store.windows`); by default the ranking as it is.

Keys are whatever the backend ranks by (SQLite rowids, Milvus primary keys): the
pipeline and :func:`ogma.fusion.fuse` take any hashable key. The pipeline then does the
rest, once: argument checks, candidate depth, rescoring of quantized candidates, fusion
and the hybrid score (:func:`ogma.fusion.hybrid_score`), hits with every stage's score,
reranking, and maximal marginal relevance.

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> store = Store(":memory:", dim=2)
    >>> _ = store.add(["red apple", "green pear"], ids=["a", "p"], embeddings=np.eye(2))
    >>> isinstance(store, SearchPipeline)
    True
    >>> hits = store.search("which fruit is red?", vector=np.array([0.8, 0.6]), mode="hybrid")
    >>> [(h.id, round(h.score, 2)) for h in hits]
    [('a', 0.68), ('p', 0.51)]
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from ogma.compress import normalize
from ogma.store.document import Document
from ogma.store.encoding import StoreEncoder
from ogma.store.mmr import mmr_select
from ogma.store.ranking import DEFAULT_RERANK_ALPHA, fuse_ranked, rerank_depth, rerank_hits
from ogma.store.search_args import check_mmr_args, check_search_args
from ogma.store.validate import check_k
from ogma.store.vector_input import accepted_dims, fit_to, query_vector
from ogma.types import Hit, SearchMode
from ogma.validation import check_count

__all__ = ["NOTHING", "DenseCandidates", "Ranked", "SearchPipeline", "exact_cosines", "exact_rescore"]

FloatArray = npt.NDArray[np.float32]
Ranked = list[tuple[Hashable, float]]
"""``(key, score)`` pairs, best first."""

NOTHING: Final = object()
"""What ``_pushdown`` returns for a filter no document can match (the search returns ``[]``)."""


class DenseCandidates(NamedTuple):
    """Dense candidates, best first, and (optionally) their float vectors fetched along.

    Attributes:
        ranked: ``(key, score)`` pairs: exact cosines for a float index, the index's own
            score (e.g. Hamming similarity) for a quantized one.
        vectors: The stored float vectors of the candidates, in the same order, when the
            backend fetched them with the candidates; the pipeline then rescores them itself.
        exact: The scores are already exact cosines (e.g. an exact scan standing in for an
            approximate index that is not current): the pipeline does not rescore them.
    """

    ranked: Ranked
    vectors: FloatArray | None = None
    exact: bool = False


def exact_cosines(vectors: FloatArray, unit: FloatArray) -> FloatArray:
    """Cosines of the rows of ``vectors`` with the unit vector ``unit``, row by row.

    ``einsum`` rather than a BLAS product: each row's cosine comes out bit for bit the same
    whichever other rows are scored with it (a BLAS matrix-vector product rounds a row
    differently depending on the number of rows), and no BLAS thread has to wait for a busy
    core (milliseconds on a loaded machine, for a product of a few thousand rows).

    Example:
        >>> import numpy as np
        >>> exact_cosines(np.array([[3.0, 4.0], [0.0, 2.0]]), np.array([0.0, 1.0])).tolist()
        [0.800000011920929, 1.0]
    """
    rows = normalize(np.asarray(vectors, dtype=np.float32))
    return np.einsum("ij,j->i", rows, np.asarray(unit, dtype=rows.dtype))


def exact_rescore(unit: FloatArray, keys: Sequence[Hashable], vectors: FloatArray, count: int) -> Ranked:
    """The ``count`` best of ``keys`` by exact cosine of their float ``vectors`` with ``unit``.

    Ties go to the smaller key, so every backend orders equal scores the same way.

    Example:
        >>> import numpy as np
        >>> exact_rescore(np.array([1.0, 0.0]), ["a", "b"], np.array([[0.0, 2.0], [3.0, 0.0]]), 1)
        [('b', 1.0)]
    """
    if not len(keys):
        return []
    cosines = exact_cosines(vectors, unit)
    pool: Sequence[int] = range(len(keys))
    if 0 < count < len(keys):  # only the best `count` and any tie with the last of them can be chosen
        cut = np.partition(cosines, len(keys) - count)[len(keys) - count]
        pool = np.flatnonzero(cosines >= cut).tolist()
    order = sorted(pool, key=lambda i: (-float(cosines[i]), keys[i]))[:count]
    return [(keys[i], float(cosines[i])) for i in order]


class SearchPipeline:
    """``search`` and ``max_marginal_relevance_search`` over a backend's primitives.

    A backend class inherits from it, sets ``encoder`` and ``config`` (with ``dim``,
    ``full_dim`` and ``model_id``), and implements the primitives below.

    Example:
        >>> from ogma.store import Store
        >>> issubclass(Store, SearchPipeline)
        True
    """

    encoder: StoreEncoder | None
    config: Any

    # -- primitives a backend supplies ------------------------------------------------
    @property
    def oversample(self) -> float:
        """Candidates rescored per result when the dense index is quantized."""
        return 1.0

    @property
    def _quantized(self) -> bool:
        """Whether dense candidates come from a quantized index (and are rescored)."""
        return False

    @property
    def _adaptive_depth(self) -> bool:
        """Whether a quantized index picks its own candidate depth per query.

        When true, ``_dense_candidates`` is called with the number of results wanted
        (not ``count × oversample``) and returns as many candidates as it judges the query
        needs; they are rescored exactly like any others.
        """
        return False

    def _check_open(self) -> None:
        """Raise if the store is closed (default: nothing to check)."""

    def _search_context(self) -> AbstractContextManager[Any]:
        """A context (e.g. a connection) handed to every primitive of one search."""
        return nullcontext()

    def _pushdown(self, filter: Mapping[str, Any] | None) -> Any:
        """``filter`` compiled for the backend, or :data:`NOTHING` when no document can match."""
        raise NotImplementedError

    def _dense_candidates(self, ctx: Any, unit: FloatArray, count: int, where: Any, option: Any) -> DenseCandidates:
        """The best ``count`` documents with a vector that pass ``where``, by the dense index."""
        raise NotImplementedError

    def _lexical_candidates(self, ctx: Any, query: str, count: int, where: Any) -> Ranked:
        """The best ``count`` documents with text that pass ``where``, by positive BM25."""
        raise NotImplementedError

    def _documents(self, ctx: Any, keys: Sequence[Hashable], include_embeddings: bool) -> dict[Hashable, Document]:
        """The documents of ``keys`` (missing ones left out)."""
        raise NotImplementedError

    def _float_vectors(self, ctx: Any, keys: Sequence[Hashable]) -> dict[Hashable, FloatArray]:
        """The stored float vectors of ``keys`` (needed only by quantized indexes)."""
        raise NotImplementedError

    def _rescore(self, ctx: Any, unit: FloatArray, keys: Sequence[Hashable], count: int) -> Ranked:
        """Exact cosines of quantized candidates; by default from :meth:`_float_vectors`."""
        vectors = self._float_vectors(ctx, keys)
        kept = [key for key in keys if key in vectors]
        if not kept:
            return []
        return exact_rescore(unit, kept, np.stack([vectors[key] for key in kept]), count)

    def _window_rerank(self, ctx: Any, ranked: Ranked, unit: FloatArray, count: int, where: Any) -> Ranked:
        """The dense ranking by each document's best window (default: as it is, one vector per document).

        Called with the exact cosines (after rescoring); returns the ``count`` best.
        """
        return ranked

    # -- vectors ----------------------------------------------------------------------
    def _accepted_dims(self) -> list[int]:
        return accepted_dims(self.config, self.encoder)

    def _fit(self, vectors: FloatArray) -> FloatArray:
        """Truncate full-dimension vectors to the store's Matryoshka dimension."""
        return fit_to(vectors, self.config.dim, self.encoder, self.config.model_id)

    def _query_vector(self, query: str | None, vector: Any) -> FloatArray:
        return query_vector(query, vector, self.encoder, self._accepted_dims(), self._fit)

    # -- the pipeline -----------------------------------------------------------------
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
        """Search by meaning (dense), by words (lexical, BM25) or both (hybrid).

        The arguments, results and errors are those of :meth:`ogma.store.Store.search`
        (without its SQLite-only ``backend``).
        """
        return self._run_search(
            query,
            vector=vector,
            k=k,
            mode=mode,
            filter=filter,
            fusion=fusion,
            candidates=candidates,
            include_embeddings=include_embeddings,
            rerank=rerank,
            rerank_k=rerank_k,
            rerank_alpha=rerank_alpha,
        )

    def _run_search(
        self,
        query: str | None,
        *,
        vector: Any,
        k: int,
        mode: SearchMode,
        filter: Mapping[str, Any] | None,
        fusion: str | Mapping[str, Any] | None,
        candidates: int | None,
        include_embeddings: bool,
        rerank: Any,
        rerank_k: int | None,
        rerank_alpha: float | None,
        option: Any = None,
    ) -> list[Hit]:
        self._check_open()
        k = check_search_args(
            query, k=k, mode=mode, fusion=fusion, candidates=candidates, rerank=rerank, rerank_alpha=rerank_alpha
        )
        where = self._pushdown(filter)
        if k == 0:
            return []
        checked_rerank_k = check_k(rerank_k, "rerank_k") if rerank_k is not None else None
        first_k = rerank_depth(k, checked_rerank_k) if rerank is not None else k
        depth = check_count(candidates, "candidates") if candidates is not None else max(first_k, 50)
        unit = self._query_vector(query, vector) if mode != "lexical" else None
        if where is NOTHING:
            return []
        with self._search_context() as ctx:
            ranked, scores = self._rank(ctx, mode, query, unit, first_k, depth, where, fusion, option)
            documents = self._documents(ctx, [key for key, _ in ranked], include_embeddings)
        hits = []
        for key, score in ranked:
            doc = documents.get(key)
            if doc is not None:
                hits.append(Hit(doc.id, doc.text, doc.metadata, score, scores[key], doc.embedding))
        if rerank is not None and query is not None:
            hits = rerank_hits(rerank, query, hits, k, alpha=rerank_alpha, mode=mode)
        return hits[:k]

    def _dense(self, ctx: Any, unit: FloatArray, count: int, where: Any, option: Any) -> Ranked:
        """Dense candidates; a quantized index's are ``oversample`` times as many (or as many as
        it picks, :attr:`_adaptive_depth`), rescored exactly.

        Then long documents score by their best window (:meth:`_window_rerank`).
        """
        if count <= 0:
            return []
        if not self._quantized:
            ranked = self._dense_candidates(ctx, unit, count, where, option).ranked[:count]
        else:
            depth = count if self._adaptive_depth else max(count, math.ceil(count * self.oversample))
            found = self._dense_candidates(ctx, unit, depth, where, option)
            keys = [key for key, _ in found.ranked]
            if found.exact:
                ranked = found.ranked[:count]
            elif found.vectors is not None:
                ranked = exact_rescore(unit, keys, found.vectors, count)
            else:
                ranked = self._rescore(ctx, unit, keys, count)
        return self._window_rerank(ctx, ranked, unit, count, where)

    def _rank(
        self,
        ctx: Any,
        mode: SearchMode,
        query: str | None,
        unit: FloatArray | None,
        count: int,
        depth: int,
        where: Any,
        fusion: str | Mapping[str, Any] | None,
        option: Any,
    ) -> tuple[Ranked, dict[Hashable, dict[str, float]]]:
        dense_list: Ranked = []
        lexical_list: Ranked = []
        if mode in ("dense", "hybrid") and unit is not None:
            dense_list = self._dense(ctx, unit, count if mode == "dense" else depth, where, option)
        if mode in ("lexical", "hybrid") and query is not None:
            lexical_list = self._lexical_candidates(ctx, query, count if mode == "lexical" else depth, where)
        scores: dict[Hashable, dict[str, float]] = {}
        for key, score in dense_list:
            scores.setdefault(key, {})["dense"] = score
        for key, score in lexical_list:
            scores.setdefault(key, {})["lexical"] = score
        if mode == "dense":
            return dense_list, scores
        if mode == "lexical":
            return lexical_list, scores
        fused = fuse_ranked(dense_list, lexical_list, fusion, query=query)[:count]
        for key, score in fused:
            scores[key]["fused"] = score
        return fused, scores

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
        """Dense search for ``fetch_k`` candidates, then ``k`` picked by maximal marginal relevance.

        Args:
            query: Query text (needs an encoder) ...
            vector: ... or a query vector.
            k: Results wanted.
            fetch_k: Candidates to choose from.
            lambda_mult: 1 = relevance only, 0 = diversity only.
            filter: Metadata filter.

        Returns:
            Hits in MMR selection order; ``score`` is the cosine similarity to the query.
        """
        self._check_open()
        k, fetch_k = check_mmr_args(k, fetch_k, lambda_mult, query)
        if k == 0:
            return []
        unit = self._query_vector(query, vector)
        found = self.search(query, vector=unit, k=fetch_k, filter=filter, include_embeddings=True)
        pool = [h for h in found if h.embedding is not None]
        if not pool:
            return []
        matrix = np.stack([h.embedding for h in pool if h.embedding is not None])
        chosen = mmr_select(unit, self._fit(matrix), k, lambda_mult=lambda_mult)
        return [pool[i] for i in chosen]
