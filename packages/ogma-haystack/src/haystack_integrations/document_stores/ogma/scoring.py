"""Checks of retrieval arguments and the ``scale_score`` maps of the three retrieval kinds.

Example:
    >>> scale_cosine(0.0), round(scale_bm25(0.0), 2)
    (0.5, 0.5)
    >>> fused_scale("rrf")(2 / 61)
    1.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Final

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


def check_query(query: object) -> str:
    """``query`` as a non-blank string (``TypeError``/``ValueError`` otherwise)."""
    if not isinstance(query, str):
        raise TypeError(f"query must be a string, got {type(query).__name__}: {query!r:.80}")
    if not query.strip():
        raise ValueError("query must be a non-empty string: BM25 has no words to look for in an empty query")
    return query


def scale_cosine(score: float) -> float:
    """Cosine similarity in [-1, 1] to [0, 1]."""
    return (score + 1.0) / 2.0


def scale_bm25(score: float) -> float:
    """BM25 score to ``expit(score / 8)``."""
    return 1.0 / (1.0 + math.exp(-score / BM25_SCALING_FACTOR))


def fused_scale(fusion: str | Mapping[str, Any] | None) -> Callable[[float], float]:
    """The ``scale_score`` map of a hybrid fusion: divide by the method's best score, clip to [0, 1]."""
    from ogma.fusion import DEFAULT_RRF_K, DEFAULT_RRF_WEIGHTS
    from ogma.store.ranking import fusion_params

    params = fusion_params(fusion)  # validates: a bad fusion fails here, before any search
    method = params.get("method", "default")
    best = 1.0
    if method in ("rrf", "weighted_rrf"):
        k = float(DEFAULT_RRF_K if params.get("k") is None else params["k"])
        weights = params.get("weights") or (DEFAULT_RRF_WEIGHTS if method == "weighted_rrf" else (1.0, 1.0))
        best = float(sum(weights)) / (k + 1.0)

    def scale(score: float) -> float:
        return min(1.0, max(0.0, score / best))

    return scale
