"""LlamaIndex ``MetadataFilters`` → Ogma's filter language, in one function.

Every :class:`~llama_index.core.vector_stores.types.FilterOperator` and
:class:`~llama_index.core.vector_stores.types.FilterCondition` is either mapped by the
table below or refused with :class:`ogma.errors.FilterError` naming it. What the
mapped filter means (missing keys, ``None``, types, arrays) is the core's filter
language (``docs/filters.md``); nothing about filter semantics lives here.

A LlamaIndex key is one literal metadata key, so dots in it are escaped
(:func:`ogma.store.filters.field_key`) rather than read as nested paths. The one
exception is :data:`NODE_ID_KEY` (``"_node_id"``), the node id: it maps to the core's
``$id``, the store's own document id.

Example:
    >>> from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters
    >>> to_ogma_filter(MetadataFilters(filters=[MetadataFilter(key="year", value=2020, operator=">=")]))
    {'$and': [{'year': {'$gte': 2020}}]}
    >>> to_ogma_filter(None) is None
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters

from ogma.errors import FilterError
from ogma.store.filters import check_nesting, escape_like, field_key, validate_filter

__all__ = ["CONDITIONS", "NODE_ID_KEY", "OPERATORS", "to_ogma_filter"]

NODE_ID_KEY: Final = "_node_id"
"""The node id as a filter key (the core's ``$id``: a node's id is the store's document id).

Earlier versions of ``OgmaVectorStore`` also wrote each node's id into its metadata under
this key; nothing is written there any more, and a filter on it means ``$id`` in old and
new stores alike.
"""


def _comparison(op: str) -> Callable[[str, Any], dict[str, Any]]:
    return lambda key, value: {key: {op: value}}


def _list_of(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise FilterError(f"this operator takes a list of values, got {type(value).__name__}")
    return value


def _every(logical: str) -> Callable[[str, Any], dict[str, Any]]:
    # ANY / ALL: the field (an array) holds any / all of the values.
    return lambda key, value: {logical: [{key: {"$contains": item}} for item in _list_of(value)]}


def _members(op: str) -> Callable[[str, Any], dict[str, Any]]:
    return lambda key, value: {key: {op: _list_of(value)}}


def _substring(op: str) -> Callable[[str, Any], dict[str, Any]]:
    def build(key: str, value: Any) -> dict[str, Any]:
        if not isinstance(value, str):
            raise FilterError(f"this operator takes a string, got {type(value).__name__}")
        return {key: {op: f"%{escape_like(value)}%"}}

    return build


OPERATORS: Final[Mapping[FilterOperator, Callable[[str, Any], dict[str, Any]]]] = {
    FilterOperator.EQ: _comparison("$eq"),
    FilterOperator.NE: _comparison("$ne"),
    FilterOperator.GT: _comparison("$gt"),
    FilterOperator.GTE: _comparison("$gte"),
    FilterOperator.LT: _comparison("$lt"),
    FilterOperator.LTE: _comparison("$lte"),
    FilterOperator.IN: _members("$in"),
    FilterOperator.NIN: _members("$nin"),
    FilterOperator.ANY: _every("$or"),
    FilterOperator.ALL: _every("$and"),
    FilterOperator.CONTAINS: _comparison("$contains"),
    FilterOperator.TEXT_MATCH: _substring("$like"),
    FilterOperator.TEXT_MATCH_INSENSITIVE: _substring("$ilike"),
    FilterOperator.IS_EMPTY: lambda key, _value: {key: {"$empty": True}},
}
"""How each LlamaIndex operator is written in Ogma's filter language (``key`` already escaped)."""

CONDITIONS: Final[Mapping[FilterCondition, Callable[[list[dict[str, Any]]], dict[str, Any]]]] = {
    FilterCondition.AND: lambda parts: {"$and": parts},
    FilterCondition.OR: lambda parts: {"$or": parts},
    FilterCondition.NOT: lambda parts: {"$not": {"$or": parts}},  # LlamaIndex: none of the filters holds
}
"""How each LlamaIndex condition combines the mapped filters."""


def to_ogma_filter(filters: MetadataFilters | None) -> dict[str, Any] | None:
    """Map LlamaIndex ``MetadataFilters`` (nested ones too) onto one Ogma filter dict.

    Args:
        filters: The filters, or ``None``. ``MetadataFilters(filters=[])`` means no filter.

    Returns:
        The Ogma filter (see ``docs/filters.md``), or ``None`` for no filter.

    Raises:
        FilterError: An operator or condition Ogma cannot express, a value of the wrong
            type for its operator (the message names the operator and the key), or filters
            nested deeper than ``ogma.store.filters.MAX_FILTER_DEPTH`` or containing themselves.
        TypeError: ``filters`` is not a ``MetadataFilters``.

    Example:
        >>> from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters
        >>> to_ogma_filter(MetadataFilters(filters=[MetadataFilter(key="tags", value=["a", "b"], operator="any")],
        ...                                condition="not"))
        {'$not': {'$or': [{'$or': [{'tags': {'$contains': 'a'}}, {'tags': {'$contains': 'b'}}]}]}}
    """
    if filters is None:
        return None
    if not isinstance(filters, MetadataFilters):
        raise TypeError(
            f"filters must be llama_index MetadataFilters, got {type(filters).__name__}; "
            "build them with MetadataFilters(filters=[MetadataFilter(key=..., value=..., operator=...)])"
        )
    if not filters.filters:
        return None
    check_nesting(filters, _nested, what="The MetadataFilters")  # before the recursive mapping below
    return _group(filters)


def _nested(node: object) -> list[object]:
    return [f for f in node.filters if isinstance(f, MetadataFilters)] if isinstance(node, MetadataFilters) else []


def _group(filters: MetadataFilters) -> dict[str, Any]:
    parts: list[dict[str, Any]] = []
    for item in filters.filters:
        if isinstance(item, MetadataFilters):
            parts.append(_group(item))
        elif isinstance(item, MetadataFilter):
            parts.append(_leaf(item))
        else:
            raise FilterError(f"MetadataFilters.filters holds a {type(item).__name__}; expected MetadataFilter(s)")
    condition = filters.condition if filters.condition is not None else FilterCondition.AND
    combine = CONDITIONS.get(condition)
    if combine is None:
        raise FilterError(
            f"FilterCondition {condition!r} cannot be expressed in Ogma's filter language; "
            f"supported: {', '.join(c.name for c in CONDITIONS)}"
        )
    return combine(parts)


def _leaf(item: MetadataFilter) -> dict[str, Any]:
    operator = item.operator
    build = OPERATORS.get(operator)
    name = getattr(operator, "name", repr(operator))
    if build is None:
        raise FilterError(
            f"FilterOperator {name} (on key {item.key!r}) cannot be expressed in Ogma's filter language; "
            f"supported: {', '.join(op.name for op in OPERATORS)}"
        )
    if not isinstance(item.key, str) or not item.key:
        raise FilterError(f"FilterOperator.{name}: the key must be a non-empty string, got {item.key!r}")
    try:
        out = build("$id" if item.key == NODE_ID_KEY else field_key(item.key), item.value)
        validate_filter(out)
    except FilterError as exc:
        raise FilterError(f"FilterOperator.{name} on key {item.key!r} with value {item.value!r}: {exc}") from exc
    return out
