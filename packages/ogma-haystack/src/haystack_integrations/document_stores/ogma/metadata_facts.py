"""Facts about the stored metadata: field types, min/max, distinct values (the reserved score key hidden).

Each function is a conversion plus one call of the core store's metadata API
(``metadata_fields``, ``metadata_range``, ``metadata_values``). The key that holds written
scores (:data:`~haystack_integrations.document_stores.ogma.conversion.SCORE_KEY`) is not a
metadata field: it is left out of the field list and refused as a field name.

Example:
    >>> from ogma.store import Store
    >>> store = Store(":memory:")
    >>> _ = store.add(["a"], [{"year": 2024, "_haystack_score": 0.5}], embeddings=[[1.0, 0.0]])
    >>> fields_info(store)
    {'year': {'type': 'int'}}
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from haystack_integrations.document_stores.ogma.conversion import SCORE_KEY
from haystack_integrations.document_stores.ogma.filters import convert_filters
from ogma.store.protocol import StoreProtocol

__all__ = ["FIELD_TYPES", "count_unique", "field_name", "fields_info", "min_max", "unique_values"]

FIELD_TYPES: Final = {"str": "keyword", "int": "int", "float": "float", "bool": "boolean"}
"""Core metadata types and the names ``get_metadata_fields_info`` reports (Haystack's
in-memory names); lists, dicts and mixed fields are ``"keyword"``."""


def field_name(name: object, method: str) -> str:
    """The metadata key of a field name (``"meta."`` optional).

    Raises:
        ValueError: Not a non-empty string, or the reserved score key.
    """
    if not isinstance(name, str) or not name.removeprefix("meta."):
        raise ValueError(f"{method}: metadata_field must be a metadata key such as 'year' or 'meta.year', got {name!r}")
    key = name.removeprefix("meta.")
    if key == SCORE_KEY:
        raise ValueError(
            f"{method}: {SCORE_KEY!r} is where OgmaDocumentStore keeps document scores, not a metadata field"
        )
    return key


def fields_info(store: StoreProtocol) -> dict[str, dict[str, str]]:
    """Each top-level metadata field with its Haystack type name (fields holding only nulls left out)."""
    fields = store.metadata_fields()
    return {
        name: {"type": FIELD_TYPES.get(kind, "keyword")}
        for name, kind in fields.items()
        if kind != "null" and name != SCORE_KEY
    }


def min_max(store: StoreProtocol, metadata_field: str) -> dict[str, Any]:
    """``{"min": ..., "max": ...}`` of a top-level field (``None``s when it holds no number or string)."""
    found = store.metadata_range(field_name(metadata_field, "get_metadata_field_min_max"))
    low, high = found if found is not None else (None, None)
    return {"min": low, "max": high}


def count_unique(store: StoreProtocol, filters: dict[str, Any] | None, metadata_fields: object) -> dict[str, int]:
    """How many distinct non-null values each field takes over the documents matching ``filters``."""
    if isinstance(metadata_fields, str) or not isinstance(metadata_fields, Iterable):
        raise TypeError(f"metadata_fields must be a list of field names, got {metadata_fields!r:.80}")
    where = convert_filters(filters)
    out: dict[str, int] = {}
    for name in metadata_fields:
        key = field_name(name, "count_unique_metadata_by_filter")
        out[key] = len(store.metadata_values(key, filter=where))
    return out


def unique_values(
    store: StoreProtocol,
    metadata_field: str,
    search_term: str | None,
    from_: int,
    size: int,
    filters: dict[str, Any] | None,
) -> tuple[list[Any], int]:
    """One page of the distinct values of a field, ordered by their text, and how many there are."""
    key = field_name(metadata_field, "get_metadata_field_unique_values")
    for name, number in (("from_", from_), ("size", size)):
        if isinstance(number, bool) or not isinstance(number, int) or number < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {number!r}")
    if search_term is not None and not isinstance(search_term, str):
        raise TypeError(f"search_term must be a string or None, got {type(search_term).__name__}")
    values = [value for value, _ in store.metadata_values(key, filter=convert_filters(filters))]
    if search_term:
        needle = search_term.lower()
        values = [v for v in values if needle in str(v).lower()]
    values.sort(key=lambda v: (str(v), type(v).__name__))
    return values[from_ : from_ + size], len(values)
