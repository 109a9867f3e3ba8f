"""Combining ranked lists: hybrid fusion and reranking of first-stage hits.

The fusion maths lives in :mod:`ogma.fusion`; this module only adapts the store's
``(key, score)`` lists and :class:`~ogma.types.Hit` objects to it and to a reranker.

Example:
    >>> from ogma.types import Hit
    >>> class Reverse:
    ...     def rerank(self, query, documents, top_k=None, **kw):
    ...         from types import SimpleNamespace
    ...         return [SimpleNamespace(index=i, score=float(i)) for i in reversed(range(len(documents)))][:top_k]
    >>> hits = [Hit("a", "x", {}, 0.9), Hit("b", "y", {}, 0.5)]
    >>> [h.id for h in rerank_hits(Reverse(), "q", hits, 2)]
    ['b', 'a']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

import numpy as np

from ogma.blend import DEFAULT_RERANK_ALPHA, FirstStageKind, blend_scores, first_stage_relevance, is_blend
from ogma.types import Hit

FIRST_STAGE_KIND: dict[str, FirstStageKind] = {"dense": "cosine", "hybrid": "hybrid", "lexical": "bm25"}
"""The kind of :attr:`Hit.score` each search mode gives, for :func:`ogma.blend.first_stage_relevance`."""

__all__ = [
    "DEFAULT_RERANK_ALPHA",
    "DEFAULT_RERANK_DEPTH",
    "FUSION_OPTIONS",
    "fuse_ranked",
    "fusion_params",
    "refuse_hybrid_options",
    "rerank_depth",
    "rerank_hits",
]

DEFAULT_RERANK_DEPTH = 50
"""First-stage hits a reranker sees by default (``max(k, 50)``); chosen in docs/benchmarks.md
("Reranking on real models") by the worst case over five sets: reranking the top 50 of dense
search gained on every set, the top 10 or 20 lost on one."""


def rerank_depth(k: int, rerank_k: int | None) -> int:
    """The number of first-stage hits handed to a reranker: ``max(k, rerank_k or DEFAULT_RERANK_DEPTH)``.

    Example:
        >>> rerank_depth(10, None), rerank_depth(10, 4), rerank_depth(60, None)
        (50, 10, 60)
    """
    return max(k, DEFAULT_RERANK_DEPTH if rerank_k is None else rerank_k)


K = TypeVar("K")

_WEIGHT_OPTIONS = ("method", "alpha", "weights", "alpha_lexical")

FUSION_OPTIONS: tuple[str, ...] = ("method", "alpha", "alpha_lexical", "normalization", "k", "weights")
"""The keys a ``fusion={...}`` mapping may hold (the options of :func:`ogma.fusion.fuse`)."""


def fusion_params(fusion: object) -> dict[str, Any]:
    """Check a ``fusion=`` argument and turn it into :func:`ogma.fusion.fuse` keyword arguments.

    Everything is validated before any search runs: the type, the keys, the method
    name and each option's value (by fusing two empty lists).

    Args:
        fusion: ``None`` (the default method), a method name, or ``{"method": name, **options}``.

    Returns:
        The keyword arguments (without ``method`` when it is the default).

    Raises:
        TypeError: If ``fusion`` is not None, a str or a mapping with str keys.
        FusionError: If the method, an option name or an option value is invalid.

    Example:
        >>> fusion_params({"method": "convex", "alpha": 0.7})
        {'method': 'convex', 'alpha': 0.7}
        >>> fusion_params("rrf")
        {'method': 'rrf'}
    """
    from ogma.errors import FusionError
    from ogma.fusion import FUSION_METHODS, fuse

    if fusion is None:
        return {}
    if isinstance(fusion, str):
        params: dict[str, Any] = {"method": fusion}
    elif isinstance(fusion, Mapping):
        params = dict(fusion)
        if not all(isinstance(key, str) for key in params):
            raise TypeError(f"fusion keys must be str, got {sorted(map(repr, params))}.")
        unknown = sorted(set(params) - set(FUSION_OPTIONS))
        if unknown:
            raise FusionError(
                f"fusion has unknown option(s) {', '.join(map(repr, unknown))}; "
                f"valid keys: {', '.join(FUSION_OPTIONS)}. Example: fusion={{'method': 'convex', 'alpha': 0.7}}."
            )
    else:
        raise TypeError(
            f"fusion must be None, a method name or a dict such as {{'method': 'rrf', 'k': 60}}; "
            f"got {type(fusion).__name__}."
        )
    if params.get("method") is None:
        params.pop("method", None)
    elif params["method"] not in FUSION_METHODS:
        raise FusionError(f"Unknown fusion method {params['method']!r}; valid: {', '.join(FUSION_METHODS)}.")
    try:
        fuse([], [], **params)
    except TypeError as exc:
        raise FusionError(f"Invalid fusion option value in {fusion!r}: {exc}") from exc
    except ValueError as exc:
        if isinstance(exc, FusionError):
            raise
        raise FusionError(str(exc)) from exc
    return params


def refuse_hybrid_options(mode: str, **options: object) -> None:
    """Raise if a hybrid-only option (``fusion``, ``candidates``) is given for another mode.

    Such an option would otherwise be silently ignored, so a typo or a wrong mode
    could not be noticed.

    Args:
        mode: The search mode (``"dense"`` or ``"lexical"``).
        **options: The hybrid-only options as passed (None when not given).

    Raises:
        FusionError: If any option is not None.

    Example:
        >>> refuse_hybrid_options("dense", fusion=None, candidates=None)
        >>> refuse_hybrid_options("dense", fusion="rrf")
        Traceback (most recent call last):
        ...
        ogma.errors.FusionError: fusion='rrf' applies to mode='hybrid' only, but mode='dense': ...
    """
    from ogma.errors import FusionError

    given = [f"{name}={value!r}" for name, value in options.items() if value is not None]
    if given:
        raise FusionError(
            f"{', '.join(given)} applies to mode='hybrid' only, but mode={mode!r}: it would be ignored. "
            "Drop it, or search with mode='hybrid'."
        )


def fuse_ranked(
    dense: Sequence[tuple[K, float]], lexical: Sequence[tuple[K, float]], fusion: object, *, query: str | None = None
) -> list[tuple[K, float]]:
    """Fuse two ranked ``(key, score)`` lists in the order of :func:`ogma.fusion.fuse`, with hybrid scores.

    The order is the fusion's; each hit's score is :func:`ogma.fusion.hybrid_score` of its
    cosine and BM25 with the fusion's dense weight, so it means the same from one query to
    the next (the fusion's own per-query score does not). Keys are any hashable values.

    Args:
        dense: Dense ``(key, cosine)`` pairs, best first.
        lexical: Lexical ``(key, positive BM25)`` pairs, best first.
        fusion: ``None`` (the default method), a method name, or ``{"method": name, **params}``.
        query: The query text, for query-adaptive methods (the default).

    Example:
        >>> [(key, round(score, 3)) for key, score in fuse_ranked([(7, 0.11), (3, 0.1)], [], None)]
        [(7, 0.093), (3, 0.085)]
    """
    from ogma.fusion import dense_weight, fuse, hybrid_score

    params = fusion_params(fusion)
    weight = dense_weight(**{name: params[name] for name in _WEIGHT_OPTIONS if name in params}, query=query)
    fused = fuse(dense, lexical, query=query, **params)
    return [(hit.id, hybrid_score(hit.scores["dense"], hit.scores["lexical"], weight)) for hit in fused]


def rerank_hits(
    reranker: Any,
    query: str,
    hits: Sequence[Hit],
    k: int,
    *,
    alpha: float | None = DEFAULT_RERANK_ALPHA,
    mode: str = "dense",
) -> list[Hit]:
    """Reorder ``hits`` with ``reranker``; keeps the first-stage scores and adds ``"rerank"``.

    With a blending ``alpha`` (below 1; the default :data:`~ogma.blend.DEFAULT_RERANK_ALPHA`),
    :attr:`Hit.score` becomes ``alpha * cross + (1 - alpha) * first_stage``: ``first_stage`` is
    the hit's score on ``[0, 1]`` by ``mode`` (cosine and hybrid score clipped, BM25 saturated
    as ``bm25 / (bm25 + 5)``: :func:`ogma.blend.first_stage_relevance`), and ``cross`` the
    linear rescale of the logit (:func:`ogma.blend.blend_scores`) for a reranker whose results
    carry ``raw_score`` and that has a ``linear_range`` (:class:`ogma.Reranker`), else the
    result's ``score`` (which should then be in ``[0, 1]``). With ``alpha`` ``None`` or ``1``
    the rerank score is :attr:`Hit.score` (reranking alone).

    A reranker cannot score a hit without text (a document stored without content):
    such hits are not handed to it and come after the reranked ones, in their
    first-stage order, with their first-stage score and no ``"rerank"`` entry.
    """
    if not hits:
        return []
    unscored = [h for h in hits if h.text is None]
    if unscored:
        scored = rerank_hits(reranker, query, [h for h in hits if h.text is not None], k, alpha=alpha, mode=mode)
        return (scored + unscored)[:k]
    texts = [h.text for h in hits]
    # Blending happens here, not in the reranker, so that any object with rerank(query, documents,
    # top_k) works with the default blend; for ogma.Reranker it is the same formula as its own.
    results = list(reranker.rerank(query, texts, top_k=k if alpha is None or not is_blend(alpha) else None))
    rerank_scores = [float(result.score) for result in results]
    finals = rerank_scores
    if alpha is not None and is_blend(alpha):
        first = first_stage_relevance([hits[int(r.index)].score for r in results], FIRST_STAGE_KIND[mode])
        linear_range = getattr(reranker, "linear_range", None)
        if linear_range is not None and all(hasattr(r, "raw_score") for r in results):
            raw = [float(r.raw_score) for r in results]
            finals = blend_scores(raw, first, alpha, linear_range=linear_range).tolist()
        else:
            finals = (alpha * np.asarray(rerank_scores, dtype=np.float64) + (1.0 - alpha) * first).tolist()
    out = [
        dataclasses.replace(hit, score=float(final), scores={**hit.scores, "rerank": rerank_score})
        for hit, final, rerank_score in zip((hits[int(r.index)] for r in results), finals, rerank_scores, strict=True)
    ]
    out.sort(key=lambda h: -h.score)
    return out[:k]
