"""Argument checks shared by every backend's ``search`` and ``max_marginal_relevance_search``.

Example:
    >>> check_mmr_args(4, 2, 0.5, None)
    (4, 4)
    >>> check_search_mode("hi", "fuzzy")
    Traceback (most recent call last):
    ...
    ValueError: mode must be one of dense, lexical, hybrid; got 'fuzzy'
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ogma.store.ranking import fusion_params, refuse_hybrid_options
from ogma.store.validate import check_k
from ogma.types import SEARCH_MODES
from ogma.validation import check_str

__all__ = ["check_mmr_args", "check_search_mode", "check_search_options"]


def check_search_mode(query: str | None, mode: Any) -> None:
    """Check the query (a valid ``str`` or ``None``) and the search mode."""
    if query is not None:
        check_str(query, "query")
    if mode not in SEARCH_MODES:
        raise ValueError(f"mode must be one of {', '.join(SEARCH_MODES)}; got {mode!r}")


def check_search_options(
    query: str | None,
    mode: str,
    *,
    fusion: str | Mapping[str, Any] | None,
    candidates: int | None,
    rerank: Any,
    rerank_alpha: float | None,
) -> None:
    """Check what the mode and reranking need, and the hybrid options (before any search)."""
    if mode != "dense" and query is None:
        raise ValueError(f"{mode} search needs a query string")
    if rerank is not None and query is None:
        raise ValueError("reranking needs a query string")
    if rerank_alpha is not None and not (
        isinstance(rerank_alpha, (int, float)) and not isinstance(rerank_alpha, bool) and 0 <= rerank_alpha <= 1
    ):
        raise ValueError(f"rerank_alpha must be a number between 0 and 1 (or None), got {rerank_alpha!r}")
    if mode != "hybrid":
        refuse_hybrid_options(mode, fusion=fusion, candidates=candidates)
    fusion_params(fusion)  # an invalid fusion fails before any search or encoding


def check_mmr_args(k: Any, fetch_k: Any, lambda_mult: Any, query: str | None) -> tuple[int, int]:
    """``k`` and ``fetch_k`` (at least ``k``) checked, after checking ``lambda_mult`` and ``query``."""
    k = check_k(k)
    fetch_k = max(check_k(fetch_k, "fetch_k"), k)
    if isinstance(lambda_mult, bool) or not (isinstance(lambda_mult, (int, float)) and 0 <= lambda_mult <= 1):
        raise ValueError(f"lambda_mult must be a number between 0 and 1, got {lambda_mult!r}")
    if query is not None:
        check_str(query, "query")
    return k, fetch_k
