"""Haystack filters to Ogma's filter language, in one function.

Haystack writes a filter as nested dicts: comparisons
``{"field": "meta.year", "operator": ">=", "value": 2020}`` and logic
``{"operator": "AND", "conditions": [...]}``. :func:`convert_filters` maps them onto the
core language of :mod:`ogma.store.filters`, whose evaluator and SQL compiler do the rest:

=================================  ===========================================
Haystack                           Ogma
=================================  ===========================================
``meta.x`` / ``meta.a.b``          ``"x"`` / ``"a.b"`` (a path into the metadata)
``id`` / ``content``               ``"$id"`` / ``"$content"``
``score``                          ``"_haystack_score"`` (a reserved key)
``==`` / ``!=``                    ``$eq`` / ``$ne``
``>`` ``>=`` ``<`` ``<=``          ``$gt`` ``$gte`` ``$lt`` ``$lte``
``in`` / ``not in``                ``$in`` / ``$nin``
``AND`` / ``OR``                   ``$and`` / ``$or``
``NOT``                            ``$not`` of the ``$and`` of the conditions
=================================  ===========================================

A missing field compares as ``None`` in both. Ordering operators take numbers, ISO 8601
date strings, ``date``/``datetime`` objects (compared as their ISO strings), or ``None``
(which matches nothing, as in Haystack). What the core cannot express raises
:class:`~haystack_integrations.document_stores.ogma.errors.OgmaFilterError` (a Haystack
``FilterError``) naming the condition: other operators, ordering by a boolean or a
non-date string, list values outside ``in``/``not in``, the fields ``embedding``,
``sparse_embedding``, ``blob`` and ``meta`` itself, and ``meta._haystack_score`` (the
reserved key where written scores live: filter on ``score``).

Example:
    >>> convert_filters({"field": "meta.year", "operator": ">=", "value": 2020})
    {'year': {'$gte': 2020}}
    >>> convert_filters({"operator": "NOT", "conditions": [{"field": "id", "operator": "in", "value": ["a"]}]})
    {'$not': {'$and': [{'$id': {'$in': ['a']}}]}}
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Final

import ogma.errors
from haystack_integrations.document_stores.ogma.conversion import SCORE_KEY
from haystack_integrations.document_stores.ogma.errors import OgmaFilterError
from ogma.store.filters import check_nesting, field_key, validate_filter

__all__ = ["COMPARISON_OPERATORS", "LOGICAL_OPERATORS", "convert_filters"]

COMPARISON_OPERATORS: Final = {
    "==": "$eq",
    "!=": "$ne",
    ">": "$gt",
    ">=": "$gte",
    "<": "$lt",
    "<=": "$lte",
    "in": "$in",
    "not in": "$nin",
}
"""Haystack comparison operators and the Ogma operator each becomes."""

LOGICAL_OPERATORS: Final = ("AND", "OR", "NOT")

_DOCUMENT_FIELDS: Final = {"id": "$id", "content": "$content", "score": field_key(SCORE_KEY)}
_UNFILTERABLE: Final = ("meta", "embedding", "sparse_embedding", "blob")
_ORDERING: Final = (">", ">=", "<", "<=")
_NEVER: Final[dict[str, Any]] = {"$or": []}
"""A filter no document matches (an empty disjunction)."""


def convert_filters(filters: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Translate a Haystack filter into an Ogma filter.

    Args:
        filters: A Haystack filter (comparison or logic dict), or ``None``/``{}`` for no filter.

    Returns:
        The Ogma filter, or ``None`` when there is nothing to filter on.

    Raises:
        OgmaFilterError: The filter is malformed or cannot be expressed; the message
            names the condition (``filters.conditions[1].value``) and what was expected.
            Also for logic nested deeper than ``ogma.store.filters.MAX_FILTER_DEPTH``, or a
            filter that contains itself.

    Example:
        >>> convert_filters({"operator": "OR", "conditions": [
        ...     {"field": "meta.lang", "operator": "==", "value": "en"},
        ...     {"field": "content", "operator": "!=", "value": None}]})
        {'$or': [{'lang': {'$eq': 'en'}}, {'$content': {'$ne': None}}]}
        >>> convert_filters(None) is None
        True
    """
    if filters is None:
        return None
    if not isinstance(filters, Mapping):
        raise OgmaFilterError(
            f"filters must be a dict such as {{'field': 'meta.lang', 'operator': '==', 'value': 'en'}}, "
            f"got {type(filters).__name__}: {filters!r:.80}"
        )
    if not filters:
        return None
    try:  # before the recursive conversion below: a filter thousands deep, or holding itself
        check_nesting(filters, _conditions, what="The Haystack filter")
    except ogma.errors.FilterError as exc:
        raise OgmaFilterError(str(exc)) from exc
    converted = _convert(filters, "filters")
    try:
        validate_filter(converted)  # values the core refuses (NaN, huge ints, invalid Unicode, ...)
    except ogma.errors.FilterError as exc:
        raise OgmaFilterError(f"{exc} (in the Haystack filter {filters!r:.200})") from exc
    return converted


def _conditions(node: object) -> list[object]:
    if isinstance(node, Mapping) and "field" not in node:
        conditions = node.get("conditions")
        if isinstance(conditions, list | tuple):
            return list(conditions)
    return []


def _convert(node: object, where: str) -> dict[str, Any]:
    if not isinstance(node, Mapping):
        raise OgmaFilterError(f"{where} must be a comparison or logic dict, got {type(node).__name__}: {node!r:.80}")
    if "field" in node:
        return _comparison(node, where)
    if "value" in node:
        raise OgmaFilterError(
            f"{where} has a 'value' but no 'field': a comparison is {{'field': 'meta.x', 'operator': '==', "
            "'value': ...}"
        )
    if "operator" not in node:
        raise OgmaFilterError(
            f"{where} has no 'operator' key: a logic filter is {{'operator': 'AND', 'conditions': [...]}} and a "
            f"comparison {{'field': 'meta.x', 'operator': '==', 'value': ...}}; got keys {sorted(map(str, node))}"
        )
    if "conditions" not in node:
        raise OgmaFilterError(
            f"{where} has no 'conditions' key: a logic filter is {{'operator': {node['operator']!r}, "
            "'conditions': [...]}; a comparison needs 'field' and 'value'"
        )
    operator = node["operator"]
    if operator not in LOGICAL_OPERATORS:
        raise OgmaFilterError(
            f"{where}.operator: unknown logical operator {operator!r}; valid: {', '.join(LOGICAL_OPERATORS)} "
            f"(comparisons need a 'field': {', '.join(COMPARISON_OPERATORS)})"
        )
    conditions = node["conditions"]
    if not isinstance(conditions, list | tuple):
        raise OgmaFilterError(f"{where}.conditions must be a list of filters, got {type(conditions).__name__}")
    children = [_convert(child, f"{where}.conditions[{i}]") for i, child in enumerate(conditions)]
    if operator == "AND":
        return {"$and": children}
    if operator == "OR":
        return {"$or": children}
    return {"$not": {"$and": children}}


def _field(field: object, where: str) -> str:
    if not isinstance(field, str) or not field:
        raise OgmaFilterError(f"{where}.field must be a non-empty string such as 'meta.lang', got {field!r:.80}")
    if field in _DOCUMENT_FIELDS:
        return _DOCUMENT_FIELDS[field]
    head, dot, rest = field.partition(".")
    if SCORE_KEY in (field, rest.partition(".")[0] if head == "meta" else None):
        raise OgmaFilterError(
            f"{where}.field {field!r}: {SCORE_KEY!r} is where OgmaDocumentStore keeps document scores; filter on "
            "the field 'score' instead"
        )
    if head == "meta" and dot:
        try:
            return field_key(*rest.split("."))
        except ogma.errors.FilterError as exc:
            raise OgmaFilterError(f"{where}.field {field!r} has an empty part; write 'meta.a.b'") from exc
    if head in _UNFILTERABLE or head in _DOCUMENT_FIELDS:
        raise OgmaFilterError(
            f"{where}.field {field!r} cannot be filtered on; filter on 'id', 'content' or metadata ('meta.<key>')"
        )
    if dot:
        raise OgmaFilterError(f"{where}.field {field!r} is not a document field; metadata fields start with 'meta.'")
    return field_key(field)  # Haystack reads a bare unknown name as a metadata key (converted legacy filters)


def _scalar(value: object, where: str, operator: str) -> object:
    if value is None or isinstance(value, bool | int | float | str | dt.date | dt.time):
        return value
    kind = type(value).__name__
    hint = " (use 'in' / 'not in' to compare with several values)" if isinstance(value, list | tuple | set) else ""
    raise OgmaFilterError(
        f"{where}.value: operator {operator!r} compares with one None, bool, number, string or date, got {kind}{hint}"
    )


def _looks_like_iso_date(value: str) -> bool:
    if len(value) < 10 or value[4:5] != "-" or value[7:8] != "-" or (len(value) > 10 and value[10] not in "Tt "):
        return False
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def _comparison(node: Mapping[str, Any], where: str) -> dict[str, Any]:
    if "operator" not in node:
        raise OgmaFilterError(f"{where} has a 'field' but no 'operator'; valid: {', '.join(COMPARISON_OPERATORS)}")
    if "value" not in node:
        raise OgmaFilterError(f"{where} has a 'field' but no 'value' (write 'value': None to compare with None)")
    operator = node["operator"]
    if not isinstance(operator, str) or operator not in COMPARISON_OPERATORS:
        raise OgmaFilterError(
            f"{where}.operator: unknown comparison operator {operator!r}; valid: {', '.join(COMPARISON_OPERATORS)}"
        )
    key = _field(node["field"], where)
    value = node["value"]
    if operator in ("in", "not in"):
        if not isinstance(value, list):
            raise OgmaFilterError(
                f"{where}.value: operator {operator!r} needs a list of values, got {type(value).__name__}"
            )
        return {key: {COMPARISON_OPERATORS[operator]: [_scalar(v, where, "==") for v in value]}}
    value = _scalar(value, where, operator)
    if operator in _ORDERING:
        if value is None:
            return _NEVER  # Haystack: None is never greater or smaller than anything
        if isinstance(value, bool):
            raise OgmaFilterError(f"{where}.value: operator {operator!r} cannot order booleans; use '==' or '!='")
        if isinstance(value, str) and not _looks_like_iso_date(value):
            raise OgmaFilterError(
                f"{where}.value: operator {operator!r} compares strings only when they are ISO 8601 dates "
                f"('2024-03-01' or '2024-03-01T10:00:00'), got {value!r:.80}"
            )
    return {key: {COMPARISON_OPERATORS[operator]: value}}
