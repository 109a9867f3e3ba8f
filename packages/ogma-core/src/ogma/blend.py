"""The reranking blend: a cross-encoder's logit and a first-stage score on one scale.

``Store.search(rerank=...)`` and the frameworks' rerankers rank by
``alpha * linear_rescale(logit) + (1 - alpha) * first_stage`` by default
(``alpha`` :data:`DEFAULT_RERANK_ALPHA`), where the first-stage score is put on ``[0, 1]`` by
its kind (:func:`first_stage_relevance`: a cosine and the hybrid score clipped, BM25 saturated
as ``bm25 / (bm25 + 5)``). The cross-encoder side is always the linear rescale of the logit
(:func:`linear_rescale`), whatever a :class:`ogma.Reranker`'s ``normalize`` (which only sets the
score it reports): that is the scale the blend was measured on (``docs/benchmarks.md``,
"Reranking on real models"). ``alpha=None`` or ``1`` ranks by the cross-encoder alone.

This module needs only numpy, so the store imports it without ONNX Runtime.

Example:
    >>> blend_scores([6.0, -12.0], first_stage_relevance([0.2, 0.9], "cosine"), DEFAULT_RERANK_ALPHA).round(2).tolist()
    [0.44, 0.63]
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal, get_args

import numpy as np
import numpy.typing as npt

__all__ = [
    "DEFAULT_LINEAR_RANGE",
    "DEFAULT_RERANK_ALPHA",
    "FIRST_STAGE_KINDS",
    "FirstStageKind",
    "blend_scores",
    "first_stage_for_blend",
    "first_stage_relevance",
    "is_blend",
    "linear_rescale",
]

logger = logging.getLogger(__name__)

DEFAULT_LINEAR_RANGE: tuple[float, float] = (-12.0, 6.0)
"""The logit range of ``ms-marco-MiniLM-L-6-v2`` mapped onto ``[0, 1]`` by the linear rescale."""

DEFAULT_RERANK_ALPHA = 0.3
"""Weight of the cross-encoder in the default blend with the first-stage score (``Store.search(rerank=...)``,
``ogma search --rerank``, ``ogma eval --rerank`` and the frameworks' rerankers). Chosen in
docs/benchmarks.md ("Reranking on real models") by the worst case over five sets: at depth 50 it
gains over dense search on every set (worst +0.0262 nDCG@10, against +0.0140 for reranking
alone), and reranked hybrid and lexical search never fall below their own first stage (reranking
alone lost up to 0.0087 and 0.0095 there)."""

FirstStageKind = Literal["cosine", "hybrid", "bm25", "relevance"]
"""What a first-stage score is, for :func:`first_stage_relevance`: a cosine similarity, Ogma's
hybrid score, a (positive) BM25 score, or any relevance already in ``[0, 1]``."""

FIRST_STAGE_KINDS: tuple[FirstStageKind, ...] = get_args(FirstStageKind)


def linear_rescale(scores: npt.ArrayLike, *, low: float = -12.0, high: float = 6.0) -> npt.NDArray[np.float32]:
    """Map ``[low, high]`` linearly onto ``[0, 1]`` and clip.

    Unlike the sigmoid this keeps the spacing of strongly negative logits, so a
    cross-encoder can still push clearly irrelevant results down when blended.

    Args:
        scores: Raw logits.
        low: The logit mapped to 0.
        high: The logit mapped to 1; must be greater than ``low``.

    Raises:
        ValueError: ``high <= low``.

    Example:
        >>> linear_rescale([0.0], low=-2.0, high=2.0).tolist()
        [0.5]
    """
    if not high > low:
        raise ValueError(f"linear_range must be (low, high) with high > low, got ({low}, {high})")
    x = np.asarray(scores, dtype=np.float64)
    return np.clip((x - low) / (high - low), 0.0, 1.0).astype(np.float32)


def is_blend(alpha: float | None) -> bool:
    """Whether ``alpha`` blends (``0 <= alpha < 1``) or ranks by the cross-encoder alone (``None`` or ``1``).

    Example:
        >>> is_blend(0.3), is_blend(None), is_blend(1.0)
        (True, False, False)
    """
    return alpha is not None and float(alpha) < 1.0


def first_stage_relevance(scores: npt.ArrayLike, kind: FirstStageKind) -> npt.NDArray[np.float64]:
    """First-stage scores on the ``[0, 1]`` scale a blend needs, by their kind.

    * ``"cosine"``, ``"hybrid"``, ``"relevance"``: clipped to ``[0, 1]`` (a cosine below 0
      counts as no evidence, as in :func:`ogma.fusion.hybrid_score`);
    * ``"bm25"``: :func:`ogma.fusion.saturate_bm25`, ``bm25 / (bm25 + 5)``, the same scale
      the hybrid score gives BM25: it does not depend on the other hits of the query.

    Raises:
        ValueError: An unknown ``kind``.

    Example:
        >>> first_stage_relevance([0.8, -0.1], "cosine").tolist()
        [0.8, 0.0]
        >>> first_stage_relevance([5.0, 15.0], "bm25").tolist()
        [0.5, 0.75]
    """
    from ogma.fusion import BM25_SATURATION

    if kind not in FIRST_STAGE_KINDS:
        raise ValueError(f"kind must be one of {', '.join(FIRST_STAGE_KINDS)}, got {kind!r}")
    x = np.asarray(scores, dtype=np.float64).reshape(-1)
    if kind == "bm25":
        positive = np.maximum(x, 0.0)
        return positive / (positive + BM25_SATURATION)
    return np.clip(x, 0.0, 1.0)


def blend_scores(
    logits: npt.ArrayLike,
    first_stage: npt.ArrayLike,
    alpha: float,
    *,
    linear_range: tuple[float, float] = DEFAULT_LINEAR_RANGE,
) -> npt.NDArray[np.float64]:
    """The blend ``alpha * linear_rescale(logit) + (1 - alpha) * first_stage``.

    Args:
        logits: Raw cross-encoder logits.
        first_stage: The first-stage scores on ``[0, 1]`` (see :func:`first_stage_relevance`).
        alpha: Weight of the cross-encoder, in ``[0, 1]``.
        linear_range: The logits mapped to 0 and 1 (:func:`linear_rescale`, clipped).

    Example:
        >>> blend_scores([-3.0, 6.0], [1.0, 0.0], 0.5).tolist()
        [0.75, 0.5]
    """
    cross = linear_rescale(logits, low=linear_range[0], high=linear_range[1]).astype(np.float64)
    return float(alpha) * cross + (1.0 - float(alpha)) * np.asarray(first_stage, dtype=np.float64).reshape(-1)


def first_stage_for_blend(
    scores: Sequence[object], alpha: float | None, *, explicit: bool = False
) -> npt.NDArray[np.float64] | None:
    """The frameworks' rule: blend with the documents' own scores when they are there and comparable.

    A framework's reranker (LangChain ``OgmaReranker``, LlamaIndex ``OgmaRerank``, Haystack
    ``OgmaRanker``) receives documents from any retriever, with a score or without one, on a
    scale it cannot know. It blends (``alpha``, default :data:`DEFAULT_RERANK_ALPHA`) only when
    every document has a finite score in ``[-1, 1]`` (a cosine similarity, Ogma's hybrid score,
    or another relevance in ``[0, 1]``; negative cosines count as 0); otherwise (a missing score,
    or one beyond that range, such as raw BM25 or a logit) it ranks by the cross-encoder alone.

    Args:
        scores: One first-stage score per document (``None`` where a document has none).
        alpha: The blend weight (``None`` or ``1``: no blend).
        explicit: ``alpha`` was asked for by the caller: a list that cannot be blended is an
            error rather than a quiet fallback to reranking alone.

    Returns:
        The scores on ``[0, 1]`` to blend with, or ``None`` to rank by the cross-encoder alone.

    Raises:
        ValueError: ``explicit`` and the scores cannot be blended (the message says which).

    Example:
        >>> first_stage_for_blend([0.8, 0.4], 0.3).tolist()
        [0.8, 0.4]
        >>> first_stage_for_blend([12.5, None], 0.3) is None  # BM25, and a document without a score
        True
    """
    if not is_blend(alpha) or not scores:
        return None
    missing = [i for i, s in enumerate(scores) if s is None]
    why = ""
    if missing:
        why = f"documents {missing[:5]} have no first-stage score"
    else:
        try:
            values = np.asarray(scores, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            values = None
        if values is None or not np.all(np.isfinite(values)):
            why = "the first-stage scores are not all finite numbers"
        elif np.any(np.abs(values) > 1.0):
            worst = int(np.argmax(np.abs(values)))
            why = (
                f"the first-stage scores are not on a [-1, 1] scale (document {worst} has {values[worst]:g}, "
                "e.g. raw BM25), so they have no sound blend with the cross-encoder"
            )
        else:
            return first_stage_relevance(values, "relevance")
    if explicit:
        raise ValueError(
            f"alpha={alpha} blends with the first-stage scores, but {why}; use alpha=None to rank by "
            "the cross-encoder alone"
        )
    logger.debug("Ranking by the cross-encoder alone: %s.", why)
    return None
