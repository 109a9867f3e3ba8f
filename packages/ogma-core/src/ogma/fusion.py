"""Pure fusion of ranked result lists: reciprocal rank fusion and (query-adaptive) convex combination.

Every function takes ranked lists of ``(id, score)`` pairs (best first, higher score is
better) and returns a new ranking; nothing here touches a database or a model.

The default hybrid method (``fuse(..., method="default")``, the same as
``method="adaptive"``) is a query-adaptive convex combination
``alpha * dense + (1 - alpha) * lexical`` of normalised scores: the dense (cosine)
candidates are min-max scaled per query, and BM25 is divided by the query's best BM25
score (its theoretical minimum is 0, so a document without a lexical match scores
exactly 0). A document missing from one list scores 0 there. The dense weight is 0.85
for a natural-language query and falls to 0.2 for a keyword query: one word
(``proxy``) or identifiers (``init.defaultBranch``, ``max_seq_length``, ``--dry-run``),
in proportion to the share of identifier tokens (:func:`keyword_likeness`). Without the
query text, it is the fixed ``0.85`` combination. ``docs/hybrid.md`` has every
configuration measured on every evaluation set and why this one was chosen.

Example:
    >>> dense = [("a", 0.82), ("b", 0.80), ("c", 0.41)]
    >>> lexical = [("c", 12.0), ("a", 3.0)]
    >>> [hit.id for hit in fuse(dense, lexical, query="what is a?")]
    ['a', 'b', 'c']
    >>> [hit.id for hit in fuse(dense, lexical, query="c_value")]  # an identifier: BM25 leads
    ['c', 'a', 'b']
    >>> [hit.id for hit in fuse(dense, lexical, method="rrf")]
    ['a', 'c', 'b']
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Hashable, Mapping, Sequence
from typing import Any, Final, Generic, Literal, NamedTuple, TypeVar

from ogma.errors import FusionError

__all__ = [
    "BM25_SATURATION",
    "DEFAULT_ALPHA",
    "DEFAULT_ALPHA_LEXICAL",
    "DEFAULT_NORMALIZATION",
    "DEFAULT_RRF_K",
    "FUSION_METHODS",
    "NORMALIZATIONS",
    "FusedHit",
    "FusionMethod",
    "Normalization",
    "Ranking",
    "ScoreKind",
    "convex_combination",
    "dense_weight",
    "fuse",
    "hybrid_score",
    "identifier_likeness",
    "keyword_likeness",
    "normalize_scores",
    "reciprocal_rank_fusion",
    "saturate_bm25",
]

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
"""A document key: any hashable value (a string id, a backend's row number)."""

Ranking = Sequence[tuple[K, float]]
"""A ranked list of ``(key, score)`` pairs, best first; higher scores are better. A key is any
hashable value (ids, row numbers), so a backend fuses its own keys without renumbering them."""

FusionMethod = Literal["default", "rrf", "weighted_rrf", "convex", "adaptive"]
Normalization = Literal["theoretical", "minmax", "max", "none"]
ScoreKind = Literal["cosine", "bm25", "unbounded"]

FUSION_METHODS: Final[tuple[str, ...]] = ("default", "rrf", "weighted_rrf", "convex", "adaptive")
NORMALIZATIONS: Final[tuple[str, ...]] = ("theoretical", "minmax", "max", "none")

DEFAULT_ALPHA: Final = 0.85
"""Weight of the dense scores in the default combination, for a natural-language query."""
DEFAULT_NORMALIZATION: Final[tuple[Normalization, Normalization]] = ("minmax", "theoretical")
"""Dense and lexical normalisation of the default convex combination."""
DEFAULT_RRF_K: Final = 60
"""The usual RRF constant (Cormack et al., 2009)."""
DEFAULT_RRF_WEIGHTS: Final = (1.0, 0.5)
"""Dense and lexical weights for ``weighted_rrf`` when none are given."""

DEFAULT_ALPHA_LEXICAL: Final = 0.2
"""Weight of the dense scores in the default combination, for a keyword query (one word or identifiers)."""

_THEORETICAL_MIN: Final[Mapping[str, float]] = {"cosine": -1.0, "bm25": 0.0}


class FusedHit(NamedTuple, Generic[K]):
    """One fused result: the key, the fused score, and the inputs' raw scores.

    Attributes:
        id: The document key (an id, or whatever hashable key the rankings used).
        score: The fused score (higher is better; comparable within one call only).
        scores: ``{"dense": s or None, "lexical": s or None}``: the raw input scores,
            None where the document was not in that list.

    Example:
        >>> FusedHit("a", 0.9, {"dense": 0.8, "lexical": None}).scores["lexical"] is None
        True
    """

    id: K
    score: float
    scores: dict[str, float | None]


def _check_finite(ranking: Ranking[K], name: str) -> None:
    for item in ranking:
        if len(item) != 2 or not isinstance(item[1], int | float) or not math.isfinite(item[1]):
            raise ValueError(
                f"{name} must be a list of (id, finite score) pairs, best first; got the item {item!r}. "
                "Drop or replace NaN/inf scores before fusing."
            )


_TOKEN_STRIP: Final = "\"'`()[]{}<>,;:!?"
_IDENTIFIER_RE: Final = re.compile(
    r"""
    ^--?[A-Za-z][\w-]*$                        # a command-line option: --dry-run, -v
    | ^[\w$@-]*[^\W\d_][\w$@-]*(?:[./:#]+[\w$@-]+)+$   # dotted, path-like or scoped: init.defaultBranch, os.path
    | ^_*[^\W_]+(?:_+[^\W_]+)+_*$              # snake_case, SCREAMING_CASE
    | ^__[^\W_]\w*__$                          # __dunder__ names
    | ^[a-z]+[0-9]*[A-Z]\w*$                     # camelCase: defaultBranch
    | ^[A-Z][a-z0-9]+[A-Z]\w*$                   # CamelCase: ArgumentParser
    """,
    re.VERBOSE,
)


def identifier_likeness(query: str) -> float:
    """Share of a query's whitespace-separated tokens that look like code identifiers.

    Identifiers are tokens such as ``init.defaultBranch``, ``os.path.join``,
    ``max_seq_length``, ``ArgumentParser``, ``defaultBranch`` or ``--dry-run``: strings
    whose exact form a user means, and that an embedding model sees as a few unrelated
    sub-words. Plain words, numbers and sentence punctuation do not count.

    Args:
        query: The raw user query.

    Returns:
        A number in [0, 1]; 0 for a natural-language query or an empty one.

    Example:
        >>> identifier_likeness("init.defaultBranch")
        1.0
        >>> identifier_likeness("how do I set max_seq_length?")
        0.2
        >>> identifier_likeness("Who founded the city of Rome?")
        0.0
    """
    if not isinstance(query, str):
        return 0.0
    tokens = [t.strip(_TOKEN_STRIP).rstrip(".") for t in query.split()]
    tokens = [t for t in tokens if t]
    if not tokens:
        return 0.0
    return sum(1 for t in tokens if _is_identifier(t)) / len(tokens)


def keyword_likeness(query: str) -> float:
    """How much a query asks for exact words rather than meaning, in [0, 1].

    A query of a single word (``proxy``, ``Guggenheim``) is a keyword query: 1.
    Otherwise, the share of its tokens that are identifiers (:func:`identifier_likeness`).
    The default fusion moves its dense weight from ``alpha`` (0) towards
    ``alpha_lexical`` (1) with this number.

    Args:
        query: The raw user query.

    Returns:
        A number in [0, 1].

    Example:
        >>> keyword_likeness("proxy"), keyword_likeness("init.defaultBranch")
        (1.0, 1.0)
        >>> keyword_likeness("which proxy settings does pip read?")
        0.0
    """
    if not isinstance(query, str):
        return 0.0
    tokens = [t.strip(_TOKEN_STRIP).rstrip(".") for t in query.split()]
    tokens = [t for t in tokens if t]
    if len(tokens) == 1 and any(c.isalpha() for c in tokens[0]):
        return 1.0
    return identifier_likeness(query)


def _is_identifier(token: str) -> bool:
    if not _IDENTIFIER_RE.match(token):
        return False
    # Abbreviations such as "e.g" or "U.S" are dotted but not identifiers.
    return any(len(part) > 1 for part in re.split(r"[./:#]+", token))


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking[K] | Sequence[str]],
    *,
    k: float = DEFAULT_RRF_K,
    weights: Sequence[float] | None = None,
) -> list[tuple[K, float]]:
    """Reciprocal rank fusion: ``score(d) = sum_i w_i / (k + rank_i(d))``, ranks from 1.

    Only ranks matter, so the lists may be string ids or ``(key, score)`` pairs, best first.
    A document missing from a list gets nothing from it. Ties keep first-seen order.

    Args:
        rankings: The ranked lists.
        k: The smoothing constant; larger values flatten the rank discount.
        weights: One non-negative weight per list (default all 1).

    Returns:
        ``(id, fused score)`` pairs, best first.

    Raises:
        FusionError: If ``k`` is negative or the weights do not match the lists.

    Example:
        >>> reciprocal_rank_fusion([["a", "b"], ["b", "c"]], k=1)
        [('b', 0.8333333333333333), ('a', 0.5), ('c', 0.3333333333333333)]
    """
    if k < 0:
        raise FusionError(f"RRF k must be >= 0, got {k!r}; 60 is the usual choice.")
    if weights is None:
        weights = [1.0] * len(rankings)
    if len(weights) != len(rankings) or any(w < 0 or not math.isfinite(w) for w in weights):
        raise FusionError(
            f"RRF needs one finite, non-negative weight per ranking: got {list(weights)!r} "
            f"for {len(rankings)} rankings."
        )
    fused: dict[Any, float] = {}
    for ranking, weight in zip(rankings, weights):
        seen: set[Any] = set()
        for item in ranking:
            doc_id = item if isinstance(item, str) else item[0]
            if doc_id in seen:
                continue  # a repeated id keeps its best rank and takes no rank of its own
            seen.add(doc_id)
            fused[doc_id] = fused.get(doc_id, 0.0) + weight / (k + len(seen))
    return sorted(fused.items(), key=lambda pair: -pair[1])


def normalize_scores(
    scores: Sequence[float],
    *,
    method: Normalization = "theoretical",
    kind: ScoreKind = "unbounded",
) -> list[float]:
    """Map one query's scores to [0, 1] (best score -> 1).

    * ``"theoretical"``: ``(s - m) / (max - m)`` with ``m`` the score's theoretical
      minimum (-1 for cosine, 0 for BM25; the observed minimum for unbounded scores).
      Stable across queries and list lengths.
    * ``"minmax"``: ``(s - min) / (max - min)`` over the given scores.
    * ``"max"``: ``s / max`` (for non-negative scores such as BM25).
    * ``"none"``: the scores unchanged.

    A list whose scores are all equal maps to all 1.

    Args:
        scores: One query's scores.
        method: The normalisation.
        kind: What the scores are, for ``"theoretical"``.

    Returns:
        The normalised scores, in input order.

    Raises:
        FusionError: If ``method`` or ``kind`` is unknown.

    Example:
        >>> normalize_scores([0.6, 0.0], kind="cosine")
        [1.0, 0.625]
        >>> normalize_scores([8.0, 2.0, 4.0], method="minmax")
        [1.0, 0.0, 0.3333333333333333]
    """
    if method not in NORMALIZATIONS:
        raise FusionError(f"Unknown normalisation {method!r}; valid: {', '.join(NORMALIZATIONS)}.")
    if kind not in ("cosine", "bm25", "unbounded"):
        raise FusionError(f"Unknown score kind {kind!r}; valid: 'cosine', 'bm25', 'unbounded'.")
    values = [float(s) for s in scores]
    if not values or method == "none":
        return values
    top = max(values)
    if method == "theoretical":
        low = min(_THEORETICAL_MIN.get(kind, min(values)), min(values))
    elif method == "minmax":
        low = min(values)
    else:
        low = 0.0
    span = top - low
    if span <= 0:
        return [1.0] * len(values)
    return [(v - low) / span for v in values]


def convex_combination(
    dense: Ranking[K],
    lexical: Ranking[K],
    *,
    alpha: float = DEFAULT_ALPHA,
    normalization: Normalization | tuple[Normalization, Normalization] = DEFAULT_NORMALIZATION,
    dense_kind: ScoreKind = "cosine",
    lexical_kind: ScoreKind = "bm25",
) -> list[tuple[K, float]]:
    """Convex combination ``alpha * dense + (1 - alpha) * lexical`` of normalised scores.

    A document missing from one list scores 0 there after normalisation (the
    theoretical minimum: no lexical match, or a cosine below every fetched one).

    Args:
        dense: Dense ``(id, score)`` pairs (cosine similarity by default).
        lexical: Lexical ``(id, score)`` pairs (BM25, higher is better, by default).
        alpha: Weight of the dense scores, in [0, 1].
        normalization: How the lists are mapped to [0, 1], one method for both or a
            ``(dense, lexical)`` pair; see :func:`normalize_scores`. The default,
            ``("minmax", "theoretical")``, min-max scales the dense candidates and divides
            BM25 by the query's best BM25 score.
        dense_kind: What the dense scores are (for ``"theoretical"``).
        lexical_kind: What the lexical scores are (for ``"theoretical"``).

    Returns:
        ``(id, fused score)`` pairs, best first.

    Raises:
        FusionError: If ``alpha`` is outside [0, 1] or an option is unknown.

    Example:
        >>> convex_combination([("a", 0.5), ("b", 0.3)], [("b", 10.0)], alpha=0.5)
        [('a', 0.5), ('b', 0.5)]
        >>> convex_combination([("a", 0.5), ("b", 0.3)], [("b", 10.0)], alpha=0.5, normalization="theoretical")
        [('b', 0.9333333333333333), ('a', 0.5)]
    """
    if not 0.0 <= alpha <= 1.0:
        raise FusionError(f"alpha must be in [0, 1] (the dense weight), got {alpha!r}; try 0.85.")
    dense_norm, lexical_norm = (normalization, normalization) if isinstance(normalization, str) else normalization
    fused: dict[K, float] = {}
    for ranking, weight, kind, method in (
        (dense, alpha, dense_kind, dense_norm),
        (lexical, 1.0 - alpha, lexical_kind, lexical_norm),
    ):
        normalised = normalize_scores([s for _, s in ranking], method=method, kind=kind)
        seen: set[K] = set()
        for (doc_id, _), value in zip(ranking, normalised):
            if doc_id not in seen:
                seen.add(doc_id)
                fused[doc_id] = fused.get(doc_id, 0.0) + weight * value
    return sorted(fused.items(), key=lambda pair: -pair[1])


BM25_SATURATION: Final = 5.0
"""The BM25 score that :func:`hybrid_score` counts as half of full lexical evidence."""


def saturate_bm25(score: float | None) -> float:
    """BM25 as lexical evidence in ``[0, 1)``: ``bm25 / (bm25 + BM25_SATURATION)`` (0 without a match).

    The scale :func:`hybrid_score` gives the lexical side, and the one a reranker blend
    (``Store.search(rerank_alpha=...)`` in lexical mode) gives BM25.

    Example:
        >>> saturate_bm25(5.0), saturate_bm25(None), saturate_bm25(-1.0)
        (0.5, 0.0, 0.0)
    """
    bm25 = 0.0 if score is None or not score > 0 else float(score)
    return bm25 / (bm25 + BM25_SATURATION)


def dense_weight(
    *,
    method: FusionMethod = "default",
    alpha: float | None = None,
    weights: Sequence[float] | None = None,
    alpha_lexical: float | None = None,
    query: str | None = None,
) -> float:
    """The weight of the dense evidence in a fusion, in [0, 1] (the lexical evidence has the rest).

    For the convex methods it is the dense weight the fusion uses (for ``"adaptive"`` and
    ``"default"``, moved towards ``alpha_lexical`` by :func:`keyword_likeness` of ``query``);
    for ``"weighted_rrf"`` the dense share of the weights, for ``"rrf"`` one half.

    Raises:
        FusionError: ``alpha_lexical`` outside [0, 1].

    Example:
        >>> dense_weight(query="which proxy settings does pip read?"), round(dense_weight(query="proxy"), 6)
        (0.85, 0.2)
        >>> dense_weight(method="weighted_rrf")
        0.6666666666666666
    """
    if method == "rrf":
        return 0.5
    if method == "weighted_rrf":
        shares = list(weights or DEFAULT_RRF_WEIGHTS)
        total = float(sum(shares))
        return float(shares[0]) / total if total > 0 else 0.5
    weight = DEFAULT_ALPHA if alpha is None else alpha
    if method != "convex":
        low = DEFAULT_ALPHA_LEXICAL if alpha_lexical is None else alpha_lexical
        if not 0.0 <= low <= 1.0:
            raise FusionError(f"alpha_lexical must be in [0, 1] (the dense weight), got {low!r}; try 0.2.")
        weight = weight - (weight - low) * keyword_likeness(query or "")
    return float(weight)


def hybrid_score(dense: float | None, lexical: float | None, weight: float) -> float:
    """A hybrid hit's score that means the same from one query to the next, in [0, 1].

    ``weight * cosine + (1 - weight) * bm25 / (bm25 + BM25_SATURATION)``: the dense
    evidence is the cosine similarity itself (clipped to [0, 1]), the lexical evidence a
    saturating transform of the BM25 score (0 without a match, one half at
    :data:`BM25_SATURATION`, towards 1 for strong matches). Neither depends on the other
    candidates of the query, unlike the per-query normalisation that orders the fusion;
    a side that did not find the document contributes 0. ``weight`` is
    :func:`dense_weight` of the fusion.

    Example:
        >>> round(hybrid_score(0.11, None, 0.85), 4)  # an unrelated query's best hit
        0.0935
        >>> round(hybrid_score(0.8, 10.0, 0.85), 4)
        0.78
    """
    cosine = 0.0 if dense is None else min(max(float(dense), 0.0), 1.0)
    return weight * cosine + (1.0 - weight) * saturate_bm25(lexical)


def fuse(
    dense: Ranking[K],
    lexical: Ranking[K],
    *,
    method: FusionMethod = "default",
    alpha: float | None = None,
    normalization: Normalization | tuple[Normalization, Normalization] | None = None,
    k: float | None = None,
    weights: Sequence[float] | None = None,
    alpha_lexical: float | None = None,
    query: str | None = None,
    limit: int | None = None,
) -> list[FusedHit[K]]:
    """Fuse a dense and a lexical ranking into one.

    Methods:

    * ``"default"``: the recommended method, currently ``"adaptive"`` with its defaults;
      see ``docs/hybrid.md`` for the measurements.
    * ``"adaptive"``: a convex combination whose dense weight moves from ``alpha``
      (default 0.85) to ``alpha_lexical`` (default 0.2) with
      :func:`keyword_likeness` of ``query``: ``alpha - (alpha - alpha_lexical) * likeness``.
    * ``"rrf"``: reciprocal rank fusion with ``k`` (default 60), equal weights.
    * ``"weighted_rrf"``: RRF with ``weights`` (dense, lexical); default ``(1.0, 0.5)``.
    * ``"convex"``: convex combination with a fixed ``alpha`` and ``normalization``.

    Options that do not apply to the chosen method are rejected rather than ignored.

    Args:
        dense: Dense ``(id, cosine similarity)`` pairs, best first.
        lexical: Lexical ``(id, BM25 score)`` pairs (higher is better), best first.
        method: The fusion method.
        alpha: Dense weight in [0, 1] for ``"convex"``, and for a natural-language query
            with ``"adaptive"``/``"default"`` (default 0.85).
        normalization: Score normalisation for the convex methods: one method or a
            ``(dense, lexical)`` pair (default ``("minmax", "theoretical")``).
        k: RRF constant for ``"rrf"``/``"weighted_rrf"`` (default 60).
        weights: ``(dense, lexical)`` weights for ``"weighted_rrf"``.
        alpha_lexical: Dense weight in [0, 1] for a keyword query with
            ``"adaptive"``/``"default"`` (default 0.2).
        query: The raw query text, which the adaptive methods read; without it they
            use ``alpha``. The other methods ignore it.
        limit: Keep only the best ``limit`` results.

    Returns:
        :class:`FusedHit` tuples ``(id, score, {"dense": s or None, "lexical": s or None})``,
        best first. If one list is empty the other's order is kept.

    Raises:
        FusionError: If the method or an option is invalid (a ``ValueError``).
        ValueError: If a score is not finite.

    Example:
        >>> hits = fuse([("a", 0.9), ("b", 0.7)], [("b", 5.0)], method="rrf")
        >>> hits[0]
        FusedHit(id='b', score=0.03252247488101534, scores={'dense': 0.7, 'lexical': 5.0})
    """
    if method not in FUSION_METHODS:
        raise FusionError(f"Unknown fusion method {method!r}; valid: {', '.join(FUSION_METHODS)}.")
    rank_based = method in ("rrf", "weighted_rrf")
    given = {
        "alpha": alpha,
        "normalization": normalization,
        "k": k,
        "weights": weights,
        "alpha_lexical": alpha_lexical,
    }
    allowed = {
        "rrf": {"k"},
        "weighted_rrf": {"k", "weights"},
        "convex": {"alpha", "normalization"},
    }.get(method, {"alpha", "alpha_lexical", "normalization"})
    extra = sorted(name for name, value in given.items() if value is not None and name not in allowed)
    if extra:
        raise FusionError(
            f"Option(s) {', '.join(extra)} do not apply to method={method!r}; "
            f"it takes {', '.join(sorted(allowed))}. "
            + ("Use method='convex' for alpha/normalization." if rank_based else "Use method='rrf' for k.")
        )
    _check_finite(dense, "dense")
    _check_finite(lexical, "lexical")
    if method == "rrf":
        fused = reciprocal_rank_fusion([dense, lexical], k=DEFAULT_RRF_K if k is None else k)
    elif method == "weighted_rrf":
        fused = reciprocal_rank_fusion(
            [dense, lexical], k=DEFAULT_RRF_K if k is None else k, weights=weights or DEFAULT_RRF_WEIGHTS
        )
    else:
        weight = dense_weight(method=method, alpha=alpha, alpha_lexical=alpha_lexical, query=query)
        fused = convex_combination(dense, lexical, alpha=weight, normalization=normalization or DEFAULT_NORMALIZATION)
    dense_scores: dict[K, float] = {}
    for doc_id, score in dense:
        dense_scores.setdefault(doc_id, float(score))
    lexical_scores: dict[K, float] = {}
    for doc_id, score in lexical:
        lexical_scores.setdefault(doc_id, float(score))
    if limit is not None:
        fused = fused[: max(limit, 0)]
    return [
        FusedHit(doc_id, score, {"dense": dense_scores.get(doc_id), "lexical": lexical_scores.get(doc_id)})
        for doc_id, score in fused
    ]
