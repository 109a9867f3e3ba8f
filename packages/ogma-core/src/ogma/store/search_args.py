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
from ogma.validation import check_unicode

__all__ = ["check_mmr_args", "check_query", "check_search_args", "check_search_mode", "check_search_options"]


def check_query(query: Any, name: str = "query") -> str:
    """A query text: a valid Unicode ``str`` with something besides whitespace.

    An empty query is an error in every mode, store and adapter: BM25 has no words to look
    for, and the embedding of an empty string ranks the store by noise.

    Raises:
        TypeError: ``query`` is not a ``str``.
        ValueError: ``query`` is empty, only whitespace, or not valid Unicode.

    Example:
        >>> check_query("  ")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: query must be a non-empty string: it is empty or only whitespace, ...
    """
    if not isinstance(query, str):
        raise TypeError(f"{name} must be a string, got {type(query).__name__}: {query!r:.80}")
    check_unicode(query, name)
    if not query.strip():
        raise ValueError(
            f"{name} must be a non-empty string: it is empty or only whitespace, so there is nothing to search "
            "for; give the words or question to search for"
        )
    return query


def check_search_mode(query: str | None, mode: Any, *, name: str = "mode") -> None:
    """Check the query (``None``, or a non-empty valid ``str``, see :func:`check_query`) and the search mode.

    ``name`` is how the caller calls the mode argument (``retrieval_mode`` in the LangChain store).
    """
    if query is not None:
        check_query(query)
    if mode not in SEARCH_MODES:
        raise ValueError(f"{name} must be one of {', '.join(SEARCH_MODES)}; got {mode!r}")


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


def check_search_args(
    query: str | None,
    *,
    k: Any = 10,
    mode: Any = "dense",
    fusion: str | Mapping[str, Any] | None = None,
    candidates: int | None = None,
    rerank: Any = None,
    rerank_alpha: float | None = None,
) -> int:
    """Every check of a ``search()`` call's arguments, before anything is embedded or searched.

    Stores run it first; adapters call it before they embed a query, so a bad argument
    costs no embedding call and reads the same everywhere.

    Returns:
        ``k``, checked.

    Example:
        >>> check_search_args("capital of France", k=3, mode="hybrid", fusion="rrf")
        3
        >>> check_search_args("x", mode="dense", fusion="rrf")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ogma.errors.FusionError: fusion='rrf' applies to mode='hybrid' only, but mode='dense': ...
    """
    k = check_k(k)
    plain = fusion is None and candidates is None and rerank is None and rerank_alpha is None
    if plain and query is None and mode == "dense":
        return k  # a plain vector search: nothing else to check (the checks below would all pass)
    check_search_mode(query, mode)
    check_search_options(query, mode, fusion=fusion, candidates=candidates, rerank=rerank, rerank_alpha=rerank_alpha)
    return k


def check_mmr_args(k: Any, fetch_k: Any, lambda_mult: Any, query: str | None) -> tuple[int, int]:
    """``k`` and ``fetch_k`` (at least ``k``) checked, after checking ``lambda_mult`` and ``query``."""
    k = check_k(k)
    fetch_k = max(check_k(fetch_k, "fetch_k"), k)
    if isinstance(lambda_mult, bool) or not (isinstance(lambda_mult, (int, float)) and 0 <= lambda_mult <= 1):
        raise ValueError(f"lambda_mult must be a number between 0 and 1, got {lambda_mult!r}")
    if query is not None:
        check_query(query)
    return k, fetch_k
