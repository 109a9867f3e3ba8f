"""The one metadata filter language, compiled to parameterised SQL over a JSON column.

A filter is a dict. Field keys are dotted paths into the metadata (``"author.name"``);
values are either a plain value (equality) or a dict of operators. Several entries in
one dict are combined with AND; ``$and``, ``$or`` and ``$not`` combine sub-filters.
The full reference, with the mappings from LangChain, LlamaIndex and Haystack filters,
is in ``docs/filters.md``. In short:

* ``{"lang": "en"}`` is ``{"lang": {"$eq": "en"}}``.
* Comparison operators: ``$eq $ne $gt $gte $lt $lte $in $nin $exists $contains $like
  $ilike $empty``.
* JSON types are kept apart: ``true`` never equals ``1``, ``"5"`` never equals ``5``,
  and ordering compares numbers with numbers and strings with strings only.
* A missing field behaves like ``null``: ``$eq``/``$in`` with ``None`` match it,
  ``$ne``/``$nin`` (the negations of ``$eq``/``$in``) match it, every other operator
  does not, except ``$exists: False`` and ``$empty: True``.
* A literal ``.`` (or a leading ``$``) in a key is escaped with a backslash; build such
  keys with :func:`field_key`.
* The reserved keys ``$id`` and ``$content`` address the document's id and text (not
  metadata), with the same operators: ``{"$id": {"$in": ["a", "b"]}}``. A metadata key
  spelled ``$id`` is written ``field_key("$id")`` (``"\\$id"``), so the two never collide.
  A document without content (text ``None``) behaves like a missing field under
  ``$content``: ``$eq: None``, ``$exists: False`` and ``$empty: True`` match it.

:func:`compile_filter` turns a filter into a SQL boolean expression plus parameters;
keys and values only ever travel as parameters. :func:`matches` evaluates the same
filter in pure Python with identical semantics, for in-memory paths and adapters.

Example:
    >>> sql, params = compile_filter({"year": {"$gte": 2020}})
    >>> print(sql)
    (IFNULL(json_type("metadata", ?), 'missing') IN ('integer', 'real') AND json_extract("metadata", ?) >= ?)
    >>> params
    ['$."year"', '$."year"', 2020]
    >>> matches({"tags": {"$contains": "a"}}, {"tags": ["a", "b"]})
    True
"""

from __future__ import annotations

import datetime as _dt
import json
import logging
import math
import re
import reprlib
from collections.abc import Callable, Iterable, Mapping, Set
from dataclasses import dataclass
from typing import Any, Final, Literal, TypeAlias, get_args

from ogma.errors import FilterError
from ogma.validation import check_unicode

__all__ = [
    "COMPARISON_OPERATORS",
    "IN_INLINE_MAX",
    "LOGICAL_OPERATORS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_PARAMETERS",
    "RESERVED_FIELDS",
    "ComparisonOperator",
    "compile_filter",
    "escape_like",
    "field_key",
    "matches",
    "parse_field_key",
    "predicate",
    "validate_filter",
]

logger = logging.getLogger(__name__)

ComparisonOperator = Literal[
    "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$exists", "$contains", "$like", "$ilike", "$empty"
]
COMPARISON_OPERATORS: Final[tuple[str, ...]] = get_args(ComparisonOperator)
LOGICAL_OPERATORS: Final[tuple[str, ...]] = ("$and", "$or", "$not")

MAX_FILTER_DEPTH: Final = 100
"""How deep ``$and``/``$or``/``$not`` may nest (each one is a level)."""

MAX_FILTER_PARAMETERS: Final = 32_000
"""Values a compiled filter may bind: SQLite takes 32,766 per statement, the store's own SQL needs a few."""

MAX_SQL_DEPTH: Final = 960
"""The compiled expression tree's height (estimated from above) must stay under SQLite's default 1,000."""

IN_INLINE_MAX = 64

RESERVED_FIELDS: Final[tuple[str, ...]] = ("$id", "$content")
"""Top-level filter keys that address the document's id and text instead of metadata."""

# Internal paths of the reserved fields: their empty first part cannot come out of
# parse_field_key (it refuses empty parts), so they never equal a metadata path.
_ID_PATH: Final = ("", "$id")
_CONTENT_PATH: Final = ("", "$content")
_RESERVED_PATHS: Final = {"$id": _ID_PATH, "$content": _CONTENT_PATH}
_RESERVED_COLUMNS: Final = {_ID_PATH: "id", _CONTENT_PATH: "text"}
"""``$in``/``$nin`` lists with more values of one type are bound as one JSON array (read by ``json_each``)."""

_CHAIN: Final = 16
"""Operands per flat ``AND``/``OR`` chain; longer lists are grouped in parentheses (bounded depth)."""

_LEAF_HEIGHT: Final = 12
"""An upper bound of the expression height of one compiled condition."""

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_COLUMN_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_ORDERING_SQL: Final = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
_OPERATORS_HELP: Final = (
    f"valid comparison operators: {', '.join(COMPARISON_OPERATORS)}; "
    f"valid logical operators: {', '.join(LOGICAL_OPERATORS)}"
)

Scalar: TypeAlias = "bool | int | float | str | None"


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class _And:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Or:
    children: tuple[_Node, ...]


@dataclass(frozen=True)
class _Not:
    child: _Node


@dataclass(frozen=True)
class _Cond:
    path: tuple[str, ...]
    op: str
    value: Any  # a Scalar, a tuple of Scalars ($in/$nin), a bool ($exists/$empty) or _Pattern


@dataclass(frozen=True)
class _Pattern:
    """A ``$like``/``$ilike`` pattern: literal strings and the wildcards ``%`` (ANY) and ``_`` (ONE)."""

    tokens: tuple[str, ...]  # "%" and "_" are wildcards; literals are prefixed with "=".


_Node: TypeAlias = "_And | _Or | _Not | _Cond"


# --------------------------------------------------------------------------- keys


def field_key(*parts: str) -> str:
    """Build a filter key addressing the nested path ``parts``, escaping dots and backslashes.

    Use it when a metadata key itself contains a ``.``, a backslash or starts with ``$``.

    Args:
        *parts: The object keys from the outermost to the innermost.

    Returns:
        The escaped dotted key.

    Raises:
        FilterError: If no part is given or a part is empty.

    Example:
        >>> field_key("file.name")
        'file\\\\.name'
        >>> field_key("author", "name")
        'author.name'
        >>> parse_field_key(field_key("a.b", "$c"))
        ('a.b', '$c')
    """
    if not parts or any(not isinstance(p, str) or p == "" for p in parts):
        raise FilterError(f"field_key needs one or more non-empty strings, got {parts!r}")
    escaped = [p.replace("\\", "\\\\").replace(".", "\\.") for p in parts]
    if escaped[0].startswith("$"):
        escaped[0] = "\\" + escaped[0]
    return ".".join(escaped)


def parse_field_key(key: str) -> tuple[str, ...]:
    """Split a filter key into its path parts (the inverse of :func:`field_key`).

    ``.`` separates parts; a backslash makes the next character literal.

    Args:
        key: A filter key such as ``"a.b"`` or ``"file\\\\.name"``.

    Returns:
        The path parts.

    Raises:
        FilterError: If the key has an empty part or ends in a lone backslash.

    Example:
        >>> parse_field_key("a.b")
        ('a', 'b')
        >>> parse_field_key("a\\\\.b")
        ('a.b',)
    """
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in key:
        if escaped:
            current.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ".":
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if escaped:
        raise FilterError(
            f"Filter key {key!r} ends in a lone backslash; a backslash escapes the next character. "
            "Write '\\\\\\\\' for a literal backslash, or build the key with ogma.store.filters.field_key(...)."
        )
    parts.append("".join(current))
    if any(p == "" for p in parts):
        raise FilterError(
            f"Filter key {key!r} has an empty part; keys are dot-separated paths such as 'author.name'. "
            "Escape a literal dot as '\\\\.' or build the key with ogma.store.filters.field_key(...)."
        )
    return tuple(parts)


def escape_like(text: str) -> str:
    """Escape ``%``, ``_`` and backslash so ``text`` matches literally inside a ``$like``/``$ilike`` pattern.

    Args:
        text: Literal text.

    Returns:
        The escaped text.

    Example:
        >>> escape_like("50%_off")
        '50\\\\%\\\\_off'
        >>> matches({"t": {"$ilike": "%" + escape_like("50%") + "%"}}, {"t": "Save 50% now"})
        True
    """
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _json_path(path: tuple[str, ...]) -> str:
    return "$" + "".join("." + json.dumps(part, ensure_ascii=False) for part in path)


# --------------------------------------------------------------------------- parsing


def _short(value: object) -> str:
    """A repr of bounded length for messages (a filter may hold 40,000 values)."""
    return _REPR.repr(value)


_REPR = reprlib.Repr()
_REPR.maxstring = _REPR.maxother = 80
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 8


def _where(where: str) -> str:
    return where or "the top level"


def _valid_unicode(text: str, what: str) -> str:
    try:
        check_unicode(text, what)
    except ValueError as exc:
        raise FilterError(str(exc)) from exc
    return text


def _scalar(value: object, where: str, op: str) -> Scalar:
    if isinstance(value, str):
        return _valid_unicode(value, f"the {op} value at {_where(where)}")
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not _INT64_MIN <= value <= _INT64_MAX:
            raise FilterError(
                f"{op} at {_where(where)}: integer {_short(value)} is outside the 64-bit range SQLite stores."
            )
        return int(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise FilterError(f"{op} at {_where(where)}: {_short(value)} is not a finite number; JSON cannot store it.")
        return float(value)
    if isinstance(value, _dt.date | _dt.time):
        return value.isoformat()
    raise FilterError(
        f"{op} at {_where(where)}: unsupported value {_short(value)} of type {type(value).__name__}; "
        "use None, a bool, a number, a string or a date/datetime (compared as its ISO 8601 string). "
        "To test list membership use $contains; to match one of several values use $in."
    )


def _sequence(value: object, where: str, op: str) -> tuple[Scalar, ...]:
    if isinstance(value, str | bytes | Mapping) or not isinstance(value, Iterable):
        raise FilterError(
            f"{op} at {_where(where)} needs a list of values, got {_short(value)}; e.g. {{{op!r}: ['a', 'b']}}."
        )
    return tuple(_scalar(v, where, op) for v in (sorted(value, key=repr) if isinstance(value, Set) else value))


def _like_pattern(value: object, where: str, op: str) -> _Pattern:
    if not isinstance(value, str):
        raise FilterError(f"{op} at {_where(where)} needs a string pattern such as 'intro%', got {_short(value)}.")
    _valid_unicode(value, f"the {op} pattern at {_where(where)}")
    tokens: list[str] = []
    chars = iter(value)
    for char in chars:
        if char == "\\":
            tokens.append("=" + next(chars, "\\"))
        elif char in "%_":
            tokens.append(char)
        else:
            tokens.append("=" + char)
    return _Pattern(tuple(tokens))


def _parse_condition(path: tuple[str, ...], op: str, value: object, where: str) -> _Cond:
    if op in ("$eq", "$ne"):
        return _Cond(path, op, _scalar(value, where, op))
    if op in _ORDERING_SQL:
        scalar = _scalar(value, where, op)
        if scalar is None or isinstance(scalar, bool):
            raise FilterError(
                f"{op} at {_where(where)} compares numbers or strings (including ISO dates), got {_short(value)}. "
                "Use $eq/$ne for booleans and None."
            )
        return _Cond(path, op, scalar)
    if op in ("$in", "$nin"):
        return _Cond(path, op, _sequence(value, where, op))
    if op in ("$exists", "$empty"):
        if not isinstance(value, bool):
            raise FilterError(f"{op} at {_where(where)} takes True or False, got {_short(value)}.")
        return _Cond(path, op, value)
    if op == "$contains":
        scalar = _scalar(value, where, op)
        if scalar is None:
            raise FilterError(
                f"$contains at {_where(where)} needs a bool, number or string, got None. "
                "Use {'$empty': True} to find missing, null or empty fields."
            )
        return _Cond(path, op, scalar)
    if op in ("$like", "$ilike"):
        return _Cond(path, op, _like_pattern(value, where, op))
    raise FilterError(f"Unknown operator {op!r} at {_where(where)}; {_OPERATORS_HELP}.")


def _parse_field(key: str, value: object, where: str) -> list[_Node]:
    path: tuple[str, ...]
    if key in _RESERVED_PATHS:
        path = _RESERVED_PATHS[key]
    else:
        path = parse_field_key(_valid_unicode(key, f"the filter key {_short(key)} at {_where(where)}"))
    if not isinstance(value, Mapping):
        if isinstance(value, list | tuple | Set):
            raise FilterError(
                f"Field {_short(key)} at {_where(where)} is compared with the list {_short(value)}; "
                f"use {{{_short(key)}: {{'$in': [...]}}}} to match any of the values, "
                f"or {{{_short(key)}: {{'$contains': x}}}} to test membership in a list field."
            )
        return [_parse_condition(path, "$eq", value, f"{where}.{key}".lstrip("."))]
    if not value:
        raise FilterError(f"Field {_short(key)} at {_where(where)} has an empty operator dict; {_OPERATORS_HELP}.")
    nodes: list[_Node] = []
    for op, operand in value.items():
        if not isinstance(op, str) or not op.startswith("$"):
            raise FilterError(
                f"Field {_short(key)} at {_where(where)} maps to a dict with the non-operator key {op!r}. "
                f"Nested fields are addressed with dotted keys: write {{{key + '.' + str(op)!r}: ...}} "
                f"instead of {{{_short(key)}: {{{op!r}: ...}}}}; {_OPERATORS_HELP}."
            )
        nodes.append(_parse_condition(path, op, operand, f"{where}.{key}".lstrip(".")))
    return nodes


def _parse(filter_: object, where: str) -> _Node:
    if not isinstance(filter_, Mapping):
        raise FilterError(
            f"A filter must be a dict such as {{'lang': 'en'}}; got {_short(filter_)} at {_where(where)}; "
            f"{_OPERATORS_HELP}."
        )
    nodes: list[_Node] = []
    for key, value in filter_.items():
        if not isinstance(key, str):
            raise FilterError(f"Filter keys must be strings; got {_short(key)} at {_where(where)}.")
        if key in ("$and", "$or"):
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
                raise FilterError(f"{key} at {_where(where)} takes a list of filters, got {_short(value)}.")
            children = tuple(_parse(child, f"{where}.{key}[{i}]".lstrip(".")) for i, child in enumerate(value))
            nodes.append(_And(children) if key == "$and" else _Or(children))
        elif key == "$not":
            nodes.append(_Not(_parse(value, f"{where}.$not".lstrip("."))))
        elif key in _RESERVED_PATHS:
            nodes.extend(_parse_field(key, value, where))
        elif key.startswith("$"):
            raise FilterError(
                f"Unknown logical operator {_short(key)} at {_where(where)}; {_OPERATORS_HELP}; "
                f"reserved document fields: {', '.join(RESERVED_FIELDS)}. "
                f"A field whose name starts with '$' is written with a backslash: {field_key(key)!r}."
            )
        else:
            nodes.extend(_parse_field(key, value, where))
    return nodes[0] if len(nodes) == 1 else _And(tuple(nodes))


def _check_depth(filter_: object) -> None:
    """Refuse filters nested deeper than :data:`MAX_FILTER_DEPTH`, without recursion."""
    stack: list[tuple[object, int]] = [(filter_, 0)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Mapping):
            continue
        for key, value in node.items():
            if key in ("$and", "$or") and isinstance(value, list | tuple):
                children: Iterable[object] = value
            elif key == "$not":
                children = (value,)
            else:
                continue
            if depth >= MAX_FILTER_DEPTH:
                raise FilterError(
                    f"The filter nests $and/$or/$not more than {MAX_FILTER_DEPTH} levels deep (or contains "
                    f"itself); the maximum is {MAX_FILTER_DEPTH}. Flatten it: list all conditions in one "
                    "$and or $or, use $in for alternatives on one field, and drop double $not."
                )
            stack.extend((child, depth + 1) for child in children)


def _parse_top(filter_: Mapping[str, Any] | None) -> _Node:
    if filter_ is None:
        return _And(())
    _check_depth(filter_)
    return _parse(filter_, "")


def validate_filter(filter: Mapping[str, Any] | None) -> None:
    """Check a filter without compiling it.

    Args:
        filter: The filter dict, or None.

    Raises:
        FilterError: If the filter is malformed; the message names the offending part.

    Example:
        >>> validate_filter({"year": {"$gte": 2020}})
        >>> validate_filter({"year": {"$after": 2020}})  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ogma.errors.FilterError: Unknown operator '$after' at year; valid comparison operators: ...
    """
    _parse_top(filter)


# --------------------------------------------------------------------------- SQL


class _Sql:
    """Accumulates SQL for one column; every key and value becomes a ``?`` parameter."""

    def __init__(self, column: str) -> None:
        self.col = column
        self.params: list[object] = []
        table = column.rsplit(".", 1)[0] + "." if "." in column else ""
        self.reserved = {path: f'{table}"{name}"' for path, name in _RESERVED_COLUMNS.items()}

    def type_(self, path: tuple[str, ...]) -> str:
        if path in self.reserved:  # the id or text column: a string (text may be NULL)
            return f"(CASE WHEN {self.reserved[path]} IS NULL THEN 'null' ELSE 'text' END)"
        self.params.append(_json_path(path))
        return f"IFNULL(json_type({self.col}, ?), 'missing')"

    def value(self, path: tuple[str, ...]) -> str:
        if path in self.reserved:
            return self.reserved[path]
        self.params.append(_json_path(path))
        return f"json_extract({self.col}, ?)"

    def param(self, value: object) -> str:
        self.params.append(value)
        return "?"

    def typed_eq(self, path: tuple[str, ...], value: Scalar) -> str:
        if value is None:
            return f"{self.type_(path)} IN ('null', 'missing')"
        if isinstance(value, bool):
            return f"{self.type_(path)} = '{'true' if value else 'false'}'"
        if isinstance(value, int | float):
            return f"({self.type_(path)} IN ('integer', 'real') AND {self.value(path)} = {self.param(value)})"
        return f"({self.type_(path)} = 'text' AND {self.value(path)} = {self.param(value)})"

    def typed_in(self, path: tuple[str, ...], values: tuple[Scalar, ...]) -> str:
        constants: list[str] = []
        numbers: list[int | float] = []
        strings: list[str] = []
        for v in values:
            if v is None:
                constants += ["'null'", "'missing'"]
            elif isinstance(v, bool):
                constants.append("'true'" if v else "'false'")
            elif isinstance(v, int | float):
                numbers.append(v)
            else:
                strings.append(v)
        parts: list[str] = []
        if constants:
            parts.append(f"{self.type_(path)} IN ({', '.join(dict.fromkeys(constants))})")
        for kind, group in (("IN ('integer', 'real')", numbers), ("= 'text'", strings)):
            if group:
                head = f"({self.type_(path)} {kind} AND {self.value(path)} IN "
                parts.append(f"{head}{self.in_list(group)})")
        if not parts:
            return "0"
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def in_list(self, values: list[Any]) -> str:
        """``(?, ?, ...)``, or one JSON array read by ``json_each`` when there are many values."""
        distinct = list(dict.fromkeys(values))
        if len(distinct) > IN_INLINE_MAX:
            return f"(SELECT value FROM json_each({self.param(json.dumps(distinct, ensure_ascii=False))}))"
        return "(" + ", ".join(self.param(v) for v in distinct) + ")"

    def contains_any(self, path: tuple[str, ...], values: tuple[Scalar, ...]) -> str:
        """``$or`` of several ``$contains`` on one field, as one condition (binds each value once)."""
        flags: list[str] = []
        numbers: list[int | float] = []
        strings: list[str] = []
        for v in values:
            if isinstance(v, bool):
                flags.append("'true'" if v else "'false'")
            elif isinstance(v, int | float):
                numbers.append(v)
            elif isinstance(v, str):
                strings.append(v)
        element: list[str] = []
        if flags:
            element.append(f"_je.type IN ({', '.join(dict.fromkeys(flags))})")
        kind = self.type_(path)
        each = f"EXISTS (SELECT 1 FROM json_each({self.col}, {self.param(_json_path(path))}) AS _je WHERE "
        if numbers:
            element.append(f"(_je.type IN ('integer', 'real') AND _je.value IN {self.in_list(numbers)})")
        if strings:
            element.append(f"(_je.type = 'text' AND _je.value IN {self.in_list(strings)})")
        array = f"({kind} = 'array' AND {each}{' OR '.join(element)}))"
        if not strings:
            return array
        text_kind = self.type_(path)
        needles = self.param(json.dumps(list(dict.fromkeys(strings)), ensure_ascii=False))
        substring = (
            f"({text_kind} = 'text' AND EXISTS (SELECT 1 FROM json_each({needles}) AS _jn "
            f"WHERE instr({self.value(path)}, _jn.value) > 0))"
        )
        return f"({array} OR {substring})"

    def contains(self, path: tuple[str, ...], value: Scalar) -> str:
        kind = self.type_(path)
        each = f"EXISTS (SELECT 1 FROM json_each({self.col}, {self.param(_json_path(path))}) AS _je WHERE "
        if isinstance(value, bool):
            element = f"_je.type = '{'true' if value else 'false'}'"
        elif isinstance(value, int | float):
            element = f"_je.type IN ('integer', 'real') AND _je.value = {self.param(value)}"
        else:
            element = f"_je.type = 'text' AND _je.value = {self.param(value)}"
        array = f"({kind} = 'array' AND {each}{element}))"
        if not isinstance(value, str):
            return array
        substring = f"({self.type_(path)} = 'text' AND instr({self.value(path)}, {self.param(value)}) > 0)"
        return f"({array} OR {substring})"

    def empty(self, path: tuple[str, ...]) -> str:
        absent = f"{self.type_(path)} IN ('null', 'missing')"
        text = f"({self.type_(path)} = 'text' AND {self.value(path)} = '')"
        container = (
            f"({self.type_(path)} IN ('array', 'object') AND NOT EXISTS "
            f"(SELECT 1 FROM json_each({self.col}, {self.param(_json_path(path))})))"
        )
        return f"({absent} OR {text} OR {container})"

    def condition(self, cond: _Cond) -> str:
        path, op, value = cond.path, cond.op, cond.value
        if op == "$eq":
            return self.typed_eq(path, value)
        if op == "$ne":
            return f"NOT {self.typed_eq(path, value)}"
        if op in _ORDERING_SQL:
            kind = "IN ('integer', 'real')" if isinstance(value, int | float) else "= 'text'"
            return f"({self.type_(path)} {kind} AND {self.value(path)} {_ORDERING_SQL[op]} {self.param(value)})"
        if op == "$in":
            return self.typed_in(path, value)
        if op == "$nin":
            inner = self.typed_in(path, value)
            return "1" if inner == "0" else f"NOT {inner}"
        if op == "$exists":
            if path == _CONTENT_PATH:  # a document without content (NULL text) counts as missing
                return f"{self.reserved[path]} IS {'NOT NULL' if value else 'NULL'}"
            if path in self.reserved:  # every document has an id
                return "1" if value else "0"
            return f"json_type({self.col}, {self.param(_json_path(path))}) IS {'NOT NULL' if value else 'NULL'}"
        if op == "$contains":
            return self.contains(path, value)
        if op == _CONTAINS_ANY:
            return self.contains_any(path, value)
        if op == "$like":
            glob = "".join(_GLOB_LITERAL.get(t[1:], t[1:]) if t[0] == "=" else _GLOB_WILDCARD[t] for t in value.tokens)
            return f"({self.type_(path)} = 'text' AND {self.value(path)} GLOB {self.param(glob)})"
        if op == "$ilike":
            like = "".join(_like_literal(t[1:]) if t[0] == "=" else t for t in value.tokens)
            return f"({self.type_(path)} = 'text' AND {self.value(path)} LIKE {self.param(like)} ESCAPE '\\')"
        if op == "$empty":
            return self.empty(path) if value else f"NOT {self.empty(path)}"
        raise FilterError(f"Unknown operator {op!r}; {_OPERATORS_HELP}.")  # unreachable: parsing validated it

    def node(self, node: _Node) -> tuple[str, int]:
        """The SQL of ``node`` and an upper bound of its expression tree's height."""
        if isinstance(node, _Cond):
            return self.condition(node), _LEAF_HEIGHT
        if isinstance(node, _Not):
            if isinstance(node.child, _Not):  # the SQL is never NULL, so a double negation cancels
                return self.node(node.child.child)
            sql, height = self.node(node.child)
            return f"NOT ({sql})", height + 1
        children = _merge_alternatives(node)
        if not children:
            return ("1" if isinstance(node, _And) else "0"), 1
        if len(children) == 1:
            return self.node(children[0])
        joiner = " AND " if isinstance(node, _And) else " OR "
        parts = [self.node(child) for child in children]
        while len(parts) > _CHAIN:  # long lists: chains of _CHAIN in parentheses, so depth grows slowly
            parts = [_chain(parts[i : i + _CHAIN], joiner) for i in range(0, len(parts), _CHAIN)]
        return _chain(parts, joiner)


_CONTAINS_ANY: Final = "$contains_any"
"""Internal operator: ``$or`` of ``$contains`` on one field, merged by :func:`_merge_alternatives`."""


def _chain(parts: list[tuple[str, int]], joiner: str) -> tuple[str, int]:
    if len(parts) == 1:
        return parts[0]
    return "(" + joiner.join(sql for sql, _ in parts) + ")", max(height for _, height in parts) + len(parts) - 1


def _merge_alternatives(node: _And | _Or) -> list[_Node]:
    """Children of ``node``, with same-field alternatives merged into one condition.

    Under ``$or``, ``$eq``/``$in`` on one field become one ``$in`` and ``$contains`` on one
    field one internal "contains any"; under ``$and``, ``$ne``/``$nin`` become one ``$nin``.
    The meaning is unchanged; the SQL binds each field's path once instead of once per value,
    which keeps filters such as LlamaIndex's ``ANY`` and Haystack's ``in`` within SQLite's limits.
    """
    merges = {"$eq": "$in", "$in": "$in", "$contains": _CONTAINS_ANY}
    if isinstance(node, _And):
        merges = {"$ne": "$nin", "$nin": "$nin"}
    groups: dict[tuple[tuple[str, ...], str], list[_Cond]] = {}
    for child in node.children:
        if isinstance(child, _Cond) and child.op in merges:
            groups.setdefault((child.path, merges[child.op]), []).append(child)
    if all(len(group) < 2 for group in groups.values()):
        return list(node.children)
    out: list[_Node] = []
    for child in node.children:
        if not (isinstance(child, _Cond) and child.op in merges):
            out.append(child)
            continue
        group = groups[(child.path, merges[child.op])]
        if len(group) < 2:
            out.append(child)
        elif group[0] is child:
            values: list[Any] = []
            for member in group:
                values.extend(member.value if member.op in ("$in", "$nin") else (member.value,))
            out.append(_Cond(child.path, merges[child.op], tuple(values)))
    return out


_GLOB_LITERAL: Final = {"*": "[*]", "?": "[?]", "[": "[[]"}
_GLOB_WILDCARD: Final = {"%": "*", "_": "?"}


def _like_literal(char: str) -> str:
    return "\\" + char if char in "%_\\" else char


def _quote_column(column: str) -> str:
    if not isinstance(column, str) or not _COLUMN_RE.fullmatch(column):
        raise FilterError(
            f"Invalid metadata column {column!r}; give a column name such as 'metadata' or a qualified "
            "name such as 'd.metadata' (letters, digits and underscores)."
        )
    return ".".join(f'"{part}"' for part in column.split("."))


def compile_filter(filter: Mapping[str, Any] | None, *, column: str = "metadata") -> tuple[str, list[object]]:
    """Compile a metadata filter to a SQL boolean expression over a JSON text column.

    Every key (as a JSON path) and every value is passed as a ``?`` parameter; nothing
    from the filter is interpolated into the SQL text. The expression always evaluates
    to 0 or 1 (never NULL), so it can be negated and combined safely. It needs SQLite's
    JSON functions (SQLite 3.38 or newer, or any build with JSON1). Keys containing a
    double quote need SQLite 3.45 or newer, and on older versions keys with non-ASCII
    characters only match if the JSON was written with ``ensure_ascii=False``.

    Args:
        filter: The filter dict (see the module docs and ``docs/filters.md``), or None.
        column: The JSON metadata column, optionally qualified (``"d.metadata"``).

    Returns:
        ``(sql, params)``: the expression (``"1"`` for None or ``{}``) and its parameters.

    Raises:
        FilterError: If the filter or the column name is malformed.

    Example:
        >>> compile_filter(None)
        ('1', [])
        >>> sql, params = compile_filter({"lang": "en"}, column="d.metadata")
        >>> print(sql)
        (IFNULL(json_type("d"."metadata", ?), 'missing') = 'text' AND json_extract("d"."metadata", ?) = ?)
        >>> params
        ['$."lang"', '$."lang"', 'en']
    """
    builder = _Sql(_quote_column(column))
    sql, height = builder.node(_parse_top(filter))
    if len(builder.params) > MAX_FILTER_PARAMETERS:
        raise FilterError(
            f"The filter needs {len(builder.params):,} SQL parameters; at most {MAX_FILTER_PARAMETERS:,} fit in one "
            "SQLite statement. Alternatives on one field cost one parameter per list (write them as one $in, or "
            "as one $or of $eq/$contains on that field); split the search otherwise."
        )
    if height > MAX_SQL_DEPTH:
        raise FilterError(
            f"The filter compiles to an expression about {height} levels deep; SQLite allows {MAX_SQL_DEPTH} here. "
            "Flatten it: list the conditions in one $and or $or instead of nesting them."
        )
    logger.debug("compiled filter to %d characters of SQL with %d parameters", len(sql), len(builder.params))
    return sql, builder.params


# --------------------------------------------------------------------------- Python evaluation

_MISSING: Final = object()


def _lookup(metadata: Mapping[str, Any] | None, path: tuple[str, ...]) -> Any:
    current: Any = metadata
    for part in path:
        if not isinstance(current, Mapping) or part not in current:
            return _MISSING
        current = current[part]
    return current


def _kind(value: Any) -> str:
    if value is _MISSING:
        return "missing"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, Mapping):
        return "object"
    return "other"


def _normalise(value: Any) -> Any:
    return value.isoformat() if isinstance(value, _dt.date | _dt.time) else value


def _py_eq(field: Any, target: Scalar) -> bool:
    if target is None:
        return field is _MISSING or field is None
    kind = _kind(target)
    return _kind(field) == kind and field == target


def _ascii_lower(text: str) -> str:
    return text.translate(_ASCII_LOWER)


_ASCII_LOWER: Final = {c: c + 32 for c in range(ord("A"), ord("Z") + 1)}


def _py_like(field: Any, pattern: _Pattern, *, fold: bool) -> bool:
    if _kind(field) != "text":
        return False
    regex = "".join(re.escape(t[1:]) if t[0] == "=" else (".*" if t == "%" else ".") for t in pattern.tokens)
    if fold:
        return re.fullmatch(_ascii_lower(regex), _ascii_lower(field), flags=re.DOTALL) is not None
    return re.fullmatch(regex, field, flags=re.DOTALL) is not None


_Fields: TypeAlias = "Mapping[tuple[str, ...], Any]"


def _py_condition(cond: _Cond, metadata: Mapping[str, Any] | None, fields: _Fields) -> bool:
    if cond.path in _RESERVED_COLUMNS:
        field = fields.get(cond.path, _MISSING)
        if field is _MISSING:
            name = "$id" if cond.path == _ID_PATH else "$content"
            keyword = "id" if cond.path == _ID_PATH else "content"
            raise FilterError(f"The filter uses {name}: pass {keyword}= to matches() (or to the predicate).")
        if cond.op == "$exists":  # every document has an id; a None text counts as missing
            return (field is not None) is cond.value
    else:
        field = _normalise(_lookup(metadata, cond.path))
    op, target = cond.op, cond.value
    if op == "$eq":
        return _py_eq(field, target)
    if op == "$ne":
        return not _py_eq(field, target)
    if op in _ORDERING_SQL:
        if _kind(field) != _kind(target):
            return False
        if op == "$gt":
            return bool(field > target)
        if op == "$gte":
            return bool(field >= target)
        if op == "$lt":
            return bool(field < target)
        return bool(field <= target)
    if op == "$in":
        return any(_py_eq(field, t) for t in target)
    if op == "$nin":
        return not any(_py_eq(field, t) for t in target)
    if op == "$exists":
        return (field is not _MISSING) is target
    if op == "$contains":
        kind = _kind(field)
        if kind == "array":
            return any(_py_eq(_normalise(element), target) for element in field)
        return kind == "text" and isinstance(target, str) and target in field
    if op in ("$like", "$ilike"):
        return _py_like(field, target, fold=op == "$ilike")
    if op == "$empty":
        kind = _kind(field)
        is_empty = kind in ("missing", "null") or (kind in ("text", "array", "object") and len(field) == 0)
        return is_empty is target
    raise FilterError(f"Unknown operator {op!r}; {_OPERATORS_HELP}.")  # unreachable: parsing validated it


def _py_node(node: _Node, metadata: Mapping[str, Any] | None, fields: _Fields) -> bool:
    if isinstance(node, _Cond):
        return _py_condition(node, metadata, fields)
    if isinstance(node, _Not):
        return not _py_node(node.child, metadata, fields)
    if isinstance(node, _And):
        return all(_py_node(child, metadata, fields) for child in node.children)
    return any(_py_node(child, metadata, fields) for child in node.children)


_UNSET: Final = object()


def _fields(id: Any, content: Any) -> dict[tuple[str, ...], Any]:
    fields: dict[tuple[str, ...], Any] = {}
    if id is not _UNSET:
        fields[_ID_PATH] = id
    if content is not _UNSET:
        fields[_CONTENT_PATH] = content
    return fields


def matches(
    filter: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    *,
    id: str | None = _UNSET,  # type: ignore[assignment]  # a sentinel: "not given" differs from None
    content: str | None = _UNSET,  # type: ignore[assignment]
) -> bool:
    """Evaluate a filter against one metadata dict in pure Python.

    The semantics are exactly those of the SQL that :func:`compile_filter` produces
    (a property test checks this), so in-memory paths and adapters can reuse it.

    Args:
        filter: The filter dict, or None (matches everything).
        metadata: The document's metadata (JSON-like values), or None (no fields).
        id: The document's id, for filters on ``$id``.
        content: The document's text (``None`` for a document without one), for filters on ``$content``.

    Returns:
        Whether the metadata satisfies the filter.

    Raises:
        FilterError: If the filter is malformed, or uses ``$id``/``$content`` without
            ``id=``/``content=`` given.

    Example:
        >>> matches({"year": {"$gte": 2020}, "lang": "en"}, {"year": 2021, "lang": "en"})
        True
        >>> matches({"lang": {"$ne": "en"}}, {})
        True
        >>> matches({"flag": 1}, {"flag": True})
        False
        >>> matches({"$id": {"$in": ["a", "b"]}, "$content": {"$contains": "cat"}}, {}, id="a", content="a cat")
        True
    """
    return _py_node(_parse_top(filter), metadata, _fields(id, content))


def predicate(filter: Mapping[str, Any] | None) -> Callable[..., bool]:
    """Parse a filter once and return a function that evaluates it like :func:`matches`.

    Use it to test many documents against one filter: :func:`matches` parses the filter
    on every call, which dominates for filters with thousands of conditions.

    Args:
        filter: The filter dict, or None (matches everything).

    Returns:
        A function from one metadata dict (or None), and the keywords ``id=``/``content=``
        of :func:`matches`, to whether the document satisfies the filter.

    Raises:
        FilterError: If the filter is malformed (raised here, not when the function runs).

    Example:
        >>> recent = predicate({"year": {"$gte": 2020}})
        >>> [recent(m) for m in ({"year": 2021}, {"year": 2019}, None)]
        [True, False, False]
    """
    node = _parse_top(filter)

    def check(
        metadata: Mapping[str, Any] | None,
        *,
        id: str | None = _UNSET,  # type: ignore[assignment]
        content: str | None = _UNSET,  # type: ignore[assignment]
    ) -> bool:
        return _py_node(node, metadata, _fields(id, content))

    return check
