"""Checks of retrieval arguments and the ``scale_score`` maps of the three retrieval kinds.

Example:
    >>> scale_cosine(0.0), round(scale_bm25(0.0), 2)
    (0.5, 0.5)
    >>> fused_scale("rrf")(0.42)
    0.42
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

from ogma.store.search_args import check_query

__all__ = ["BM25_SCALING_FACTOR", "check_query", "check_top_k", "fused_scale", "scale_bm25", "scale_cosine"]

BM25_SCALING_FACTOR: Final = 8.0
"""``scale_score`` maps a BM25 score ``s`` to ``expit(s / 8)``, as Haystack's in-memory store does."""


def check_top_k(top_k: object) -> int:
    """``top_k`` as an int >= 0 (``TypeError``/``ValueError`` otherwise)."""
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise TypeError(f"top_k must be an integer, got {type(top_k).__name__}: {top_k!r}")
    if top_k < 0:
        raise ValueError(f"top_k must be >= 0 (0 returns no documents), got {top_k}")
    return top_k


def scale_cosine(score: float) -> float:
    """Cosine similarity in [-1, 1] to [0, 1]."""
    return (score + 1.0) / 2.0


def scale_bm25(score: float) -> float:
    """BM25 score to ``expit(score / 8)``."""
    return 1.0 / (1.0 + math.exp(-score / BM25_SCALING_FACTOR))


def fused_scale(fusion: str | Mapping[str, Any] | None) -> Callable[[float], float]:
    """The ``scale_score`` map of a hybrid search, after checking ``fusion``.

    Hybrid scores are already in ``[0, 1]`` and mean the same from one query to the next
    (:func:`ogma.fusion.hybrid_score`, ``docs/hybrid.md``) whatever the fusion method, so
    the map only clips them.
    """
    from ogma.store.ranking import fusion_params

    fusion_params(fusion)  # validates: a bad fusion fails here, before any search

    def scale(score: float) -> float:
        return min(1.0, max(0.0, score))

    return scale
