"""The filter index kept beside each document's metadata: typed, flat facts per path.

Milvus filters JSON fields, but its expressions in Milvus 2.5 (and Milvus Lite 2.5) have
no ``NOT``, no JSON type test and no ``exists`` on a JSON key. The core filter
language needs all three (``$exists``, ``$empty``, typed ``$eq``, missing fields that
behave like ``null``). So every document also stores a flat JSON object, its *facets*:
for each path through nested metadata dicts, under a key built from the path
(:func:`facet_key`, hex, so no key ever needs quoting):

* ``<key>:t`` -- the value's type: ``null``, ``bool``, ``number``, ``text`` / ``text0``
  (empty), ``array`` / ``array0``, ``object`` / ``object0``;
* ``<key>:v`` -- the value itself, for bools, numbers and strings;
* ``<key>:i`` -- the string with ASCII letters lowered (for ``$ilike``);
* ``<key>:n`` -- the string's length in code points (for ``$like`` patterns of wildcards only);
* ``<key>:a`` -- the array's bool, number and string elements, tagged so that
  ``json_contains`` keeps JSON types apart (``"s:" + text``, ``"b:1"``/``"b:0"``, numbers as they are).

:mod:`~ogma.store.milvus.expressions` compiles filters against these keys.

Example:
    >>> facets({"lang": "en", "tags": ["a", 1]})["6c616e67:t"]
    'text'
    >>> facets({"tags": ["a", True]})[facet_key(("tags",)) + ":a"]
    ['s:a', 'b:1']
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = ["NON_EMPTY_TYPES", "NON_NULL_TYPES", "TEXT_TYPES", "TYPES", "facet_key", "facets", "tag_element"]

TYPES: Final[tuple[str, ...]] = ("null", "bool", "number", "text", "text0", "array", "array0", "object", "object0")
"""Every type code: a path whose ``:t`` key holds one of these exists."""

NON_NULL_TYPES: Final = tuple(t for t in TYPES if t != "null")
NON_EMPTY_TYPES: Final = ("bool", "number", "text", "array", "object")
TEXT_TYPES: Final = ("text", "text0")


def facet_key(path: tuple[str, ...]) -> str:
    """The facet key of a metadata path: each part's UTF-8 in hex, joined by dots.

    Example:
        >>> facet_key(("a", "b"))
        '61.62'
    """
    return ".".join(part.encode("utf-8", "surrogatepass").hex() for part in path)


def ascii_lower(text: str) -> str:
    """Lower ``A``-``Z`` only, as the filter language's ``$ilike`` does.

    Example:
        >>> ascii_lower("ÉcOLE")
        'École'
    """
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def tag_element(value: Any) -> Any:
    """How an array element is stored in ``<key>:a`` (``None`` for elements no filter can match).

    Example:
        >>> [tag_element(v) for v in ("x", True, 2.5, None)]
        ['s:x', 'b:1', 2.5, None]
    """
    if isinstance(value, bool):
        return "b:1" if value else "b:0"
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        return "s:" + value
    return None


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text" if value else "text0"
    if isinstance(value, list | tuple):
        return "array" if value else "array0"
    if isinstance(value, Mapping):
        return "object" if value else "object0"
    return "null"  # pragma: no cover - metadata is JSON (checked on add)


def facets(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """The facets of one document's metadata (see the module docs).

    Example:
        >>> sorted(facets({"a": {"b": 1}}))
        ['61.62:t', '61.62:v', '61:t']
    """
    out: dict[str, Any] = {}
    stack: list[tuple[tuple[str, ...], Mapping[str, Any]]] = [((), metadata or {})]
    while stack:
        prefix, mapping = stack.pop()
        for name, value in mapping.items():
            path = (*prefix, str(name))
            key = facet_key(path)
            kind = _type(value)
            out[key + ":t"] = kind
            if kind in ("bool", "number", "text", "text0"):
                out[key + ":v"] = value
            if kind in TEXT_TYPES:
                out[key + ":i"] = ascii_lower(value)
                out[key + ":n"] = len(value)
            elif kind == "array":
                tagged = [t for t in (tag_element(v) for v in value) if t is not None]
                if tagged:
                    out[key + ":a"] = tagged
            elif kind == "object":
                stack.append((path, value))
    return out
