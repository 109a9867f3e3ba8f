"""What the Ogma retrievers share: init checks, the filter policy, serialisation and run arguments."""

from __future__ import annotations

from typing import Any, Self

from haystack import default_from_dict, default_to_dict
from haystack.document_stores.types import FilterPolicy, apply_filter_policy

from haystack_integrations.document_stores.ogma import OgmaDocumentStore
from haystack_integrations.document_stores.ogma.filters import convert_filters

__all__ = [
    "OgmaRetrieverBase",
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


def check_init_top_k(top_k: object, name: str = "top_k") -> int:
    if isinstance(top_k, bool) or not isinstance(top_k, int):
        raise TypeError(f"{name} must be an integer, got {type(top_k).__name__}: {top_k!r}")
    if top_k <= 0:
        hint = " (a run may pass top_k=0 to get no documents)" if name == "top_k" else ""
        raise ValueError(f"{name} must be greater than 0, got {top_k}{hint}")
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


class OgmaRetrieverBase:
    """The init arguments, serialisation and run arguments every Ogma retriever shares.

    Each retriever is a ``@component`` subclass defining its own ``run``/``run_async``
    (their signatures are the component's input sockets); a retriever with more init
    arguments adds them through :meth:`_extra_init_parameters` and :meth:`_extra_run_arguments`.
    """

    def __init__(
        self,
        document_store: OgmaDocumentStore,
        filters: dict[str, Any] | None = None,
        top_k: int = 10,
        scale_score: bool = False,
        return_embedding: bool = False,
        filter_policy: FilterPolicy | str = FilterPolicy.REPLACE,
    ) -> None:
        self.document_store = check_document_store(document_store, type(self).__name__)
        self.filters = check_init_filters(filters)
        self.top_k = check_init_top_k(top_k)
        self.scale_score = scale_score
        self.return_embedding = return_embedding
        self.filter_policy = check_policy(filter_policy)

    def _extra_init_parameters(self) -> dict[str, Any]:
        """Init parameters beyond the shared ones, serialised after ``top_k``."""
        return {}

    def _extra_run_arguments(self) -> dict[str, Any]:
        """Store arguments beyond the shared ones, passed on every run."""
        return {}

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component (the document store nested by its own ``to_dict``)."""
        return default_to_dict(
            self,
            document_store=self.document_store,
            filters=self.filters,
            top_k=self.top_k,
            **self._extra_init_parameters(),
            scale_score=self.scale_score,
            return_embedding=self.return_embedding,
            filter_policy=self.filter_policy.value,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Rebuild the component from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

    def _arguments(
        self,
        filters: dict[str, Any] | None,
        top_k: int | None,
        scale_score: bool | None,
        return_embedding: bool | None,
    ) -> dict[str, Any]:
        """The store call's keyword arguments: run values over the init values, filters by the policy."""
        return {
            "filters": apply_filter_policy(self.filter_policy, self.filters, filters),
            "top_k": check_runtime_top_k(top_k, self.top_k),
            **self._extra_run_arguments(),
            "scale_score": self.scale_score if scale_score is None else scale_score,
            "return_embedding": self.return_embedding if return_embedding is None else return_embedding,
        }
