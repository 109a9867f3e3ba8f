"""Checks shared by the Ogma retrievers (init arguments and the filter policy)."""

from __future__ import annotations

from typing import Any

from haystack.document_stores.types import FilterPolicy

from haystack_integrations.document_stores.ogma import OgmaDocumentStore
from haystack_integrations.document_stores.ogma.filters import convert_filters

__all__ = [
    "check_document_store",
    "check_init_filters",
    "check_init_top_k",
    "check_policy",
    "check_runtime_top_k",
]


def check_document_store(document_store: object, retriever: str) -> OgmaDocumentStore:
    if not isinstance(document_store, OgmaDocumentStore):
        kind = type(document_store).__name__
        raise TypeError(f"{retriever} needs an OgmaDocumentStore as document_store, got {kind}")
    return document_store


def check_init_top_k(top_k: object) -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise TypeError(f"top_k must be an integer, got {type(top_k).__name__}: {top_k!r}")
    if top_k <= 0:
        raise ValueError(f"top_k must be greater than 0, got {top_k} (a run may pass top_k=0 to get no documents)")
    return top_k


def check_runtime_top_k(top_k: int | None, default: int) -> int:
    """The run's ``top_k`` (the init value when ``None``); the store checks the range."""
    return default if top_k is None else top_k


def check_policy(filter_policy: FilterPolicy | str) -> FilterPolicy:
    if isinstance(filter_policy, FilterPolicy):
        return filter_policy
    if isinstance(filter_policy, str):
        try:
            return FilterPolicy.from_str(filter_policy)
        except ValueError as exc:
            raise ValueError(f"filter_policy must be 'replace' or 'merge', got {filter_policy!r}") from exc
    raise TypeError(f"filter_policy must be a FilterPolicy or 'replace'/'merge', got {type(filter_policy).__name__}")


def check_init_filters(filters: dict[str, Any] | None) -> dict[str, Any] | None:
    """Translate once so that a malformed filter fails when the retriever is built, not at the first query."""
    convert_filters(filters)
    return filters
