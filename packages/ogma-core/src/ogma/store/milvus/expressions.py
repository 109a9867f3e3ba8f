"""The core filter language compiled to Milvus boolean expressions.

Filters are parsed by :mod:`ogma.store.filters` (the one language, shared by every
backend) and compiled here against the document's columns (``doc_id``, ``text`` with its
``has_text`` flag) and its *facets* (:mod:`~ogma.store.milvus.facets`), which carry the
JSON types that Milvus expressions cannot test.

Milvus 2.5 expressions have no ``NOT``, so negations are pushed down to the conditions
(De Morgan), each of which has a positive and a negated form. Constants are folded:
the result is ``True`` (no filter), ``False`` (nothing matches) or an expression.

What Milvus cannot express is refused with :class:`~ogma.errors.FilterError` naming the
operator (``docs/filters.md`` lists the cases):

* ``$contains``, ``$like`` and ``$ilike`` under a negation (``$not``; Milvus has no
  ``NOT LIKE`` / ``NOT json_contains``);
* a ``$like``/``$ilike`` prefix pattern (``abc%``) whose literal part escapes ``%``,
  ``_`` or a backslash (Milvus' prefix matching does not unescape);
* ``$ilike`` on ``$id``/``$content`` with ASCII letters in the pattern, and ``$like`` on
  them with only ``_`` wildcards;
* string values containing a line break or NUL (a Milvus string literal cannot hold them).

Example:
    >>> compile_expression({"lang": "en"})
    'facets["6c616e67:v"] == "en"'
    >>> compile_expression({"lang": {"$ne": "en"}, "$id": {"$in": ["a", "b"]}})
    '(facets["6c616e67:v"] != "en" and doc_id in ["a", "b"])'
    >>> compile_expression({"$or": []})
    False
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final, TypeAlias

from ogma.errors import FilterError
from ogma.store.filters import CONTENT_PATH, ID_PATH, And, Condition, Node, Not, Pattern, parse_filter
from ogma.store.milvus.facets import (
    NON_EMPTY_TYPES,
    NON_NULL_TYPES,
    TEXT_TYPES,
    TYPES,
    ascii_lower,
    facet_key,
    tag_element,
)

__all__ = ["Expression", "compile_expression", "literal", "non_prefix_like"]

Expression: TypeAlias = "str | bool"
"""A Milvus expression, or a constant: ``True`` matches every document, ``False`` none."""

FACETS: Final = "facets"
_ORDER: Final = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_NEGATED_ORDER: Final = {"$gt": "<=", "$gte": "<", "$lt": ">=", "$lte": ">"}
_INT64: Final = (-(2**63), 2**63 - 1)


def literal(value: Any) -> str:
    """A Milvus literal for a bool, number or string (or a list of them).

    Raises:
        FilterError: A string holds a line break or NUL, which Milvus string literals cannot hold.

    Example:
        >>> literal('say "hi"'), literal(True), literal([1, 2])
        ('"say \\\\"hi\\\\""', 'true', '[1, 2]')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        if any(c in value for c in "\n\r\x00"):
            raise FilterError(
                f"the filter value {value[:40]!r} holds a line break or NUL character; Milvus expressions "
                "cannot hold one in a string. Match a part of it instead ($like with '%'), or filter "
                "with the SQLite store."
            )
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    raise FilterError(f"cannot write {value!r} in a Milvus expression")  # pragma: no cover - parsing checked it


def _and(parts: list[Expression]) -> Expression:
    if any(p is False for p in parts):
        return False
    kept = [p for p in parts if p is not True]
    if not kept:
        return True
    return kept[0] if len(kept) == 1 else "(" + " and ".join(str(p) for p in kept) + ")"


def _or(parts: list[Expression]) -> Expression:
    if any(p is True for p in parts):
        return True
    kept = [p for p in parts if p is not False]
    if not kept:
        return False
    return kept[0] if len(kept) == 1 else "(" + " or ".join(str(p) for p in kept) + ")"


def _cannot(op: str, why: str) -> FilterError:
    return FilterError(f"{op} {why}; Milvus cannot express it. Filter with the SQLite store, or rewrite the filter.")


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _numbers(values: list[Any]) -> tuple[list[int], list[float]]:
    """Split numbers into ints and non-integral floats (Milvus refuses mixed ``in`` lists)."""
    ints: list[int] = []
    floats: list[float] = []
    for v in values:
        if isinstance(v, float) and v.is_integer() and _INT64[0] <= v <= _INT64[1]:
            ints.append(int(v))
        elif isinstance(v, float):
            floats.append(v)
        else:
            ints.append(v)
    return list(dict.fromkeys(ints)), list(dict.fromkeys(floats))


def _like_literal(char: str) -> str:
    return "\\" + char if char in "%_\\" else char


class _Target:
    """Where one condition looks: a metadata path (facets) or the ``id`` / ``text`` column."""

    def __init__(self, path: tuple[str, ...]) -> None:
        self.column: str | None = None
        self.guard: Expression = True  # the document has this reserved field
        if path == ID_PATH:
            self.column = "doc_id"
        elif path == CONTENT_PATH:
            self.column = "text"
            self.guard = "has_text == true"
        else:
            key = facet_key(path)
            self.type = f'{FACETS}["{key}:t"]'
            self.value = f'{FACETS}["{key}:v"]'
            self.lower = f'{FACETS}["{key}:i"]'
            self.length = f'{FACETS}["{key}:n"]'
            self.array = f'{FACETS}["{key}:a"]'

    @property
    def unguard(self) -> Expression:
        return "has_text == false" if self.guard is not True else False

    def types(self, kinds: tuple[str, ...], negated: bool = False) -> Expression:
        """The field's type is (not) one of ``kinds`` (a missing field has no type)."""
        if self.column is not None:  # a string column, present when guarded
            hit = any(k in TEXT_TYPES for k in kinds)
            return (self.guard if hit else False) if not negated else (self.unguard if hit else True)
        return f"{self.type} {'not in' if negated else 'in'} {literal(list(kinds))}"

    def val(self) -> str:
        return self.column if self.column is not None else self.value


class _Compiler:
    def node(self, node: Node, negated: bool) -> Expression:
        if isinstance(node, Condition):
            return self.condition(node, negated)
        if isinstance(node, Not):
            return self.node(node.child, not negated)
        parts = [self.node(child, negated) for child in node.children]
        conjunction = isinstance(node, And) != negated
        return _and(parts) if conjunction else _or(parts)

    # -- equality ---------------------------------------------------------
    def eq(self, target: _Target, value: Any, negated: bool) -> Expression:
        if value is None:
            return target.types(NON_NULL_TYPES, negated=not negated)
        if target.column is not None:
            if not isinstance(value, str):
                return negated
            if negated:
                return _or([target.unguard, f"{target.column} != {literal(value)}"])
            return _and([target.guard, f"{target.column} == {literal(value)}"])
        return f"{target.value} {'!=' if negated else '=='} {literal(value)}"

    def in_(self, target: _Target, values: tuple[Any, ...], negated: bool) -> Expression:
        parts: list[Expression] = []
        strings = list(dict.fromkeys(v for v in values if isinstance(v, str)))
        ints, floats = _numbers([v for v in values if _is_number(v)])
        others = list(dict.fromkeys(v for v in values if v is None or isinstance(v, bool)))
        op = "not in" if negated else "in"
        if strings:
            if target.column is not None:
                test = f"{target.column} {op} {literal(strings)}"
                parts.append(_or([target.unguard, test]) if negated else _and([target.guard, test]))
            else:
                parts.append(f"{target.value} {op} {literal(strings)}")
        if target.column is None:
            for group in (ints, floats):
                if group:
                    parts.append(f"{target.value} {op} {literal(group)}")
        parts.extend(self.eq(target, v, negated) for v in others)
        return _and(parts) if negated else _or(parts)

    # -- the rest -----------------------------------------------------------
    def order(self, target: _Target, op: str, value: Any, negated: bool) -> Expression:
        if target.column is not None and not isinstance(value, str):
            return negated
        if target.column is not None:
            if negated:
                return _or([target.unguard, f"{target.column} {_NEGATED_ORDER[op]} {literal(value)}"])
            return _and([target.guard, f"{target.column} {_ORDER[op]} {literal(value)}"])
        kinds = TEXT_TYPES if isinstance(value, str) else ("number",)
        if negated:
            return _or([target.types(kinds, negated=True), f"{target.value} {_NEGATED_ORDER[op]} {literal(value)}"])
        return f"{target.value} {_ORDER[op]} {literal(value)}"

    def contains(self, target: _Target, value: Any, negated: bool) -> Expression:
        if negated:
            raise _cannot("$contains", "under a negation ($not, or a $nor built from it)")
        parts: list[Expression] = []
        if target.column is None:
            parts.append(f"json_contains({target.array}, {literal(tag_element(value))})")
        if isinstance(value, str):
            if value == "":
                parts.append(target.types(TEXT_TYPES))
            else:
                pattern = "%" + "".join(_like_literal(c) for c in value) + "%"
                parts.append(_and([target.guard, f"{target.val()} like {literal(pattern)}"]))
        return _or(parts)

    def like(self, target: _Target, op: str, pattern: Pattern, negated: bool) -> Expression:
        fold = op == "$ilike"
        tokens = pattern.tokens
        literal_text = "".join(t[1:] for t in tokens if t[0] == "=")
        if fold and target.column is not None and any("A" <= c <= "Z" or "a" <= c <= "z" for c in literal_text):
            name = "$id" if target.column == "doc_id" else "$content"
            raise _cannot("$ilike", f"on {name} with ASCII letters in the pattern (only metadata keeps a lowered copy)")
        if fold and target.column is None:
            tokens = tuple("=" + ascii_lower(t[1:]) if t[0] == "=" else t for t in tokens)
        column = target.lower if fold and target.column is None else target.val()
        wildcards = [t for t in tokens if t[0] != "="]
        if not wildcards:  # no wildcard: equality on the (lowered) string
            if target.column is not None:
                return self.eq(target, literal_text, negated)
            comparison = f"{column} {'!=' if negated else '=='} {literal(''.join(t[1:] for t in tokens))}"
            return comparison
        if len(wildcards) == len(tokens):  # only wildcards: a length test
            ones = wildcards.count("_")
            if ones == 0:
                return target.types(TEXT_TYPES, negated=negated)
            if target.column is not None:
                raise _cannot(op, "with only '_' wildcards on $id/$content (Milvus has no string length)")
            sign = (">=" if "%" in wildcards else "==") if not negated else ("<" if "%" in wildcards else "!=")
            test = f"{target.length} {sign} {ones}"
            if negated:
                return _or([target.types(TEXT_TYPES, negated=True), test])
            return test
        if negated:
            raise _cannot(op, "under a negation ($not; Milvus has no NOT LIKE)")
        text = "".join(_like_literal(t[1:]) if t[0] == "=" else t for t in tokens)
        first_wildcard = next(i for i, t in enumerate(tokens) if t[0] != "=")
        is_prefix = first_wildcard > 0 and all(t == "%" for t in tokens[first_wildcard:])
        if is_prefix and any(t[1:] in "%_\\" for t in tokens[:first_wildcard]):
            raise _cannot(op, f"pattern {text!r} escapes '%', '_' or '\\' before a trailing '%'")
        return _and([target.guard, f"{column} like {literal(text)}"])

    def condition(self, cond: Condition, negated: bool) -> Expression:
        target = _Target(cond.path)
        op, value = cond.op, cond.value
        if op == "$eq":
            return self.eq(target, value, negated)
        if op == "$ne":
            return self.eq(target, value, not negated)
        if op in _ORDER:
            return self.order(target, op, value, negated)
        if op == "$in":
            return self.in_(target, value, negated)
        if op == "$nin":
            return self.in_(target, value, not negated)
        if op == "$exists":
            if target.column == "doc_id":
                return bool(value) != negated
            kinds = TEXT_TYPES if target.column == "text" else TYPES
            return target.types(kinds, negated=value == negated)
        if op == "$empty":
            if target.column is not None:
                empty = _or([target.unguard, f"{target.column} == {literal('')}"])
                full = _and([target.guard, f"{target.column} != {literal('')}"])
                return empty if (value != negated) else full
            return target.types(NON_EMPTY_TYPES, negated=value != negated)
        if op == "$contains":
            return self.contains(target, value, negated)
        if op in ("$like", "$ilike"):
            return self.like(target, op, value, negated)
        raise FilterError(f"unknown operator {op!r}")  # pragma: no cover - parsing validated it


def compile_expression(filter: Mapping[str, Any] | None) -> Expression:
    """Compile a filter to a Milvus boolean expression (or a constant).

    Args:
        filter: A filter in the core language (``docs/filters.md``), or ``None``.

    Returns:
        ``True`` when every document matches (no filter), ``False`` when none can,
        otherwise the expression.

    Raises:
        FilterError: The filter is malformed, or uses what Milvus cannot express (the
            message names the operator).

    Example:
        >>> compile_expression({"year": {"$gte": 2020}})
        'facets["79656172:v"] >= 2020'
        >>> compile_expression(None)
        True
    """
    if not filter:
        return True if filter is None or isinstance(filter, Mapping) else _reject(filter)
    return _Compiler().node(parse_filter(filter), False)


def _reject(filter: object) -> Expression:
    parse_filter(filter)  # type: ignore[arg-type]  # raises the language's own error
    return True  # pragma: no cover


def expression_text(expression: Expression) -> str:
    """The expression as Milvus filter text (``True`` gives ``""``; ``False`` must be handled first)."""
    if expression is True:
        return ""
    if expression is False:  # pragma: no cover - callers short-circuit
        raise ValueError("a filter that matches nothing has no Milvus expression")
    return str(expression)


_LIKE: Final = re.compile(r'like "((?:[^"\\]|\\.)*)"')


def non_prefix_like(expr: str) -> str | None:
    """The first ``like`` pattern of a compiled expression with a wildcard before its end, or ``None``.

    Milvus 2.3 servers match ``like`` by prefix only (``"ab%"``); ``$contains`` on strings,
    ``$like`` and ``$ilike`` compile to other patterns too.

    Example:
        >>> non_prefix_like('a like "x%" and b like "%y"'), non_prefix_like('a like "50\\\\%"')
        ('%y', None)
    """
    for found in _LIKE.finditer(expr):
        pattern = re.sub(r"\\(.)", r"\1", found.group(1))  # the string literal's escapes
        index, wildcards = 0, []
        while index < len(pattern):
            if pattern[index] == "\\":  # an escaped character of the pattern
                index += 2
                continue
            if pattern[index] in "%_":
                wildcards.append(index)
            index += 1
        if wildcards and (wildcards != [len(pattern) - 1] or pattern[-1] != "%"):
            return pattern
    return None
