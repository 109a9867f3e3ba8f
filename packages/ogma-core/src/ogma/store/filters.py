"""The one metadata filter language: parsing, validation and the pure-Python evaluator.

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

:func:`parse_filter` validates a filter into a small tree (:class:`And`, :class:`Or`,
:class:`Not`, :class:`Condition`) that each backend compiles with its own compiler:
``ogma.store.sqlite.filters.compile_filter`` to parameterised SQL,
``ogma.store.milvus.expressions.compile_expression`` to a
Milvus boolean expression. :func:`matches` evaluates the same filter in pure Python; it
is the reference both compilers are tested against, and what in-memory paths and
adapters use.

Example:
    >>> validate_filter({"year": {"$gte": 2020}})
    >>> matches({"tags": {"$contains": "a"}}, {"tags": ["a", "b"]})
    True
"""

from __future__ import annotations

import datetime as _dt
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
    "CONTENT_PATH",
    "ID_PATH",
    "LOGICAL_OPERATORS",
    "MAX_FILTER_DEPTH",
    "MAX_FILTER_NODES",
    "RESERVED_FIELDS",
    "And",
    "ComparisonOperator",
    "Condition",
    "Node",
    "Not",
    "Or",
    "Pattern",
    "check_nesting",
    "escape_like",
    "field_key",
    "matches",
    "parse_field_key",
    "parse_filter",
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

MAX_FILTER_NODES: Final = 100_000
"""How many sub-filters (operands of ``$and``/``$or``/``$not``) a filter may expand to, counting a
sub-filter object once per place it is used: a filter that reuses one object at every level would
otherwise expand exponentially."""

RESERVED_FIELDS: Final[tuple[str, ...]] = ("$id", "$content")
"""Top-level filter keys that address the document's id and text instead of metadata."""

# Internal paths of the reserved fields: their empty first part cannot come out of
# parse_field_key (it refuses empty parts), so they never equal a metadata path.
ID_PATH: Final = ("", "$id")
"""The parsed path of ``$id`` (it never equals a metadata path)."""
CONTENT_PATH: Final = ("", "$content")
"""The parsed path of ``$content``."""
_RESERVED_PATHS: Final = {"$id": ID_PATH, "$content": CONTENT_PATH}

_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_ORDERING: Final = ("$gt", "$gte", "$lt", "$lte")
OPERATORS_HELP: Final = (
    f"valid comparison operators: {', '.join(COMPARISON_OPERATORS)}; "
    f"valid logical operators: {', '.join(LOGICAL_OPERATORS)}"
)

Scalar: TypeAlias = "bool | int | float | str | None"


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True)
class And:
    """All children hold."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one child holds."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """The child does not hold."""

    child: Node


@dataclass(frozen=True)
class Condition:
    """One comparison: ``op`` applied to the field at ``path`` (a parsed key path, or a reserved path)."""

    path: tuple[str, ...]
    op: str
    value: Any  # a Scalar, a tuple of Scalars ($in/$nin), a bool ($exists/$empty) or Pattern


@dataclass(frozen=True)
class Pattern:
    """A ``$like``/``$ilike`` pattern: literal strings and the wildcards ``%`` (ANY) and ``_`` (ONE)."""

    tokens: tuple[str, ...]  # "%" and "_" are wildcards; literals are prefixed with "=".


Node: TypeAlias = "And | Or | Not | Condition"
"""The parsed form every backend's compiler walks (none re-parses a filter)."""


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


def _like_pattern(value: object, where: str, op: str) -> Pattern:
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
    return Pattern(tuple(tokens))


def _parse_condition(path: tuple[str, ...], op: str, value: object, where: str) -> Condition:
    if op in ("$eq", "$ne"):
        return Condition(path, op, _scalar(value, where, op))
    if op in _ORDERING:
        scalar = _scalar(value, where, op)
        if scalar is None or isinstance(scalar, bool):
            raise FilterError(
                f"{op} at {_where(where)} compares numbers or strings (including ISO dates), got {_short(value)}. "
                "Use $eq/$ne for booleans and None."
            )
        return Condition(path, op, scalar)
    if op in ("$in", "$nin"):
        return Condition(path, op, _sequence(value, where, op))
    if op in ("$exists", "$empty"):
        if not isinstance(value, bool):
            raise FilterError(f"{op} at {_where(where)} takes True or False, got {_short(value)}.")
        return Condition(path, op, value)
    if op == "$contains":
        scalar = _scalar(value, where, op)
        if scalar is None:
            raise FilterError(
                f"$contains at {_where(where)} needs a bool, number or string, got None. "
                "Use {'$empty': True} to find missing, null or empty fields."
            )
        return Condition(path, op, scalar)
    if op in ("$like", "$ilike"):
        return Condition(path, op, _like_pattern(value, where, op))
    raise FilterError(f"Unknown operator {op!r} at {_where(where)}; {OPERATORS_HELP}.")


def _parse_field(key: str, value: object, where: str) -> list[Node]:
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
        raise FilterError(f"Field {_short(key)} at {_where(where)} has an empty operator dict; {OPERATORS_HELP}.")
    nodes: list[Node] = []
    for op, operand in value.items():
        if not isinstance(op, str) or not op.startswith("$"):
            raise FilterError(
                f"Field {_short(key)} at {_where(where)} maps to a dict with the non-operator key {op!r}. "
                f"Nested fields are addressed with dotted keys: write {{{key + '.' + str(op)!r}: ...}} "
                f"instead of {{{_short(key)}: {{{op!r}: ...}}}}; {OPERATORS_HELP}."
            )
        nodes.append(_parse_condition(path, op, operand, f"{where}.{key}".lstrip(".")))
    return nodes


def _parse(filter_: object, where: str) -> Node:
    if not isinstance(filter_, Mapping):
        raise FilterError(
            f"A filter must be a dict such as {{'lang': 'en'}}; got {_short(filter_)} at {_where(where)}; "
            f"{OPERATORS_HELP}."
        )
    nodes: list[Node] = []
    for key, value in filter_.items():
        if not isinstance(key, str):
            raise FilterError(f"Filter keys must be strings; got {_short(key)} at {_where(where)}.")
        if key in ("$and", "$or"):
            if isinstance(value, str | bytes | Mapping) or not isinstance(value, list | tuple):
                raise FilterError(f"{key} at {_where(where)} takes a list of filters, got {_short(value)}.")
            children = tuple(_parse(child, f"{where}.{key}[{i}]".lstrip(".")) for i, child in enumerate(value))
            nodes.append(And(children) if key == "$and" else Or(children))
        elif key == "$not":
            nodes.append(Not(_parse(value, f"{where}.$not".lstrip("."))))
        elif key in _RESERVED_PATHS:
            nodes.extend(_parse_field(key, value, where))
        elif key.startswith("$"):
            raise FilterError(
                f"Unknown logical operator {_short(key)} at {_where(where)}; {OPERATORS_HELP}; "
                f"reserved document fields: {', '.join(RESERVED_FIELDS)}. "
                f"A field whose name starts with '$' is written with a backslash: {field_key(key)!r}."
            )
        else:
            nodes.extend(_parse_field(key, value, where))
    return nodes[0] if len(nodes) == 1 else And(tuple(nodes))


def check_nesting(root: object, children: Callable[[object], Iterable[object]], *, what: str = "The filter") -> None:
    """Refuse a filter tree nested deeper than :data:`MAX_FILTER_DEPTH`, or one that contains itself.

    The one depth and cycle guard for every filter form: the core's dicts and each
    adapter's framework filters (LlamaIndex ``MetadataFilters``, Haystack filter dicts,
    LangChain dicts) are walked with it *before* any recursive conversion, so a filter
    nested thousands deep, or holding itself, raises :class:`~ogma.errors.FilterError`
    instead of ``RecursionError``. The walk is iterative, level by level; a node shared by
    several parents is visited once per level (the walk costs at most the depth times the
    number of distinct objects), and the paths that reach it are counted: a filter may
    expand to at most :data:`MAX_FILTER_NODES` sub-filters, so one that reuses an object at
    every level cannot make the conversion or parsing after it run exponentially long. A
    cycle never runs out of levels and is reported as too deep.

    Args:
        root: The filter (any object).
        children: The nested filters of a node (its ``$and``/``$or``/``$not`` operands, its
            ``conditions``, ...); empty for a leaf. Each one is a level deeper.
        what: How the message names the filter.

    Raises:
        FilterError: Nesting deeper than :data:`MAX_FILTER_DEPTH` levels, a cycle, or more than
            :data:`MAX_FILTER_NODES` sub-filters.

    Example:
        >>> deep = {"a": 1}
        >>> for _ in range(101):
        ...     deep = {"$not": deep}
        >>> check_nesting(deep, lambda n: [n["$not"]] if isinstance(n, dict) and "$not" in n else [])
        Traceback (most recent call last):
        ...
        ogma.errors.FilterError: The filter nests more than 100 levels deep (or contains itself); ...
    """
    level: dict[int, tuple[object, int]] = {id(root): (root, 1)}  # node and how many paths reach it
    depth = 0
    expanded = 0
    while level:
        below: dict[int, tuple[object, int]] = {}
        for node, paths in level.values():
            for child in children(node):
                seen = below.get(id(child))
                below[id(child)] = (child, paths + (seen[1] if seen is not None else 0))
        if below and depth >= MAX_FILTER_DEPTH:
            raise FilterError(
                f"{what} nests more than {MAX_FILTER_DEPTH} levels deep (or contains itself); the maximum is "
                f"{MAX_FILTER_DEPTH}. Flatten it: list all conditions in one $and or $or (one AND/OR group), use "
                "$in for alternatives on one field, and drop double negations."
            )
        expanded += sum(paths for _, paths in below.values())
        if expanded > MAX_FILTER_NODES:
            raise FilterError(
                f"{what} expands to more than {MAX_FILTER_NODES:,} conditions (a sub-filter object used in several "
                "places counts once per place); write each condition once, and use $in for alternatives on one field."
            )
        level = below
        depth += 1


def _logical_operands(node: object) -> Iterable[object]:
    """The operands of a core filter dict's ``$and``/``$or``/``$not`` (see :func:`check_nesting`)."""
    if not isinstance(node, Mapping):
        return ()
    operands: list[object] = []
    for key, value in node.items():
        if key in ("$and", "$or") and isinstance(value, list | tuple):
            operands.extend(value)
        elif key == "$not":
            operands.append(value)
    return operands


def _check_depth(filter_: object) -> None:
    """Refuse filters nested deeper than :data:`MAX_FILTER_DEPTH` (or cyclic), without recursion."""
    check_nesting(filter_, _logical_operands)


def _parse_top(filter_: Mapping[str, Any] | None) -> Node:
    if filter_ is None:
        return And(())
    _check_depth(filter_)
    return _parse(filter_, "")


def parse_filter(filter: Mapping[str, Any] | None) -> Node:
    """Parse and validate a filter into the tree every backend compiles (``None``: an empty ``And``).

    Raises:
        FilterError: If the filter is malformed; the message names the offending part.

    Example:
        >>> parse_filter({"lang": "en"})
        Condition(path=('lang',), op='$eq', value='en')
    """
    return _parse_top(filter)


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


def _py_like(field: Any, pattern: Pattern, *, fold: bool) -> bool:
    if _kind(field) != "text":
        return False
    regex = "".join(re.escape(t[1:]) if t[0] == "=" else (".*" if t == "%" else ".") for t in pattern.tokens)
    if fold:
        return re.fullmatch(_ascii_lower(regex), _ascii_lower(field), flags=re.DOTALL) is not None
    return re.fullmatch(regex, field, flags=re.DOTALL) is not None


_Fields: TypeAlias = "Mapping[tuple[str, ...], Any]"


def _py_condition(cond: Condition, metadata: Mapping[str, Any] | None, fields: _Fields) -> bool:
    if cond.path in (ID_PATH, CONTENT_PATH):
        field = fields.get(cond.path, _MISSING)
        if field is _MISSING:
            name = "$id" if cond.path == ID_PATH else "$content"
            keyword = "id" if cond.path == ID_PATH else "content"
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
    if op in _ORDERING:
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
    raise FilterError(f"Unknown operator {op!r}; {OPERATORS_HELP}.")  # unreachable: parsing validated it


def _py_node(node: Node, metadata: Mapping[str, Any] | None, fields: _Fields) -> bool:
    if isinstance(node, Condition):
        return _py_condition(node, metadata, fields)
    if isinstance(node, Not):
        return not _py_node(node.child, metadata, fields)
    if isinstance(node, And):
        return all(_py_node(child, metadata, fields) for child in node.children)
    return any(_py_node(child, metadata, fields) for child in node.children)


_UNSET: Final = object()


def _fields(id: Any, content: Any) -> dict[tuple[str, ...], Any]:
    fields: dict[tuple[str, ...], Any] = {}
    if id is not _UNSET:
        fields[ID_PATH] = id
    if content is not _UNSET:
        fields[CONTENT_PATH] = content
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
