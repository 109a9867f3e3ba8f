"""The filter language compiled to parameterised SQL over the store's JSON metadata column.

The language itself (parsing, validation, the pure-Python evaluator) is shared by every
backend and lives in :mod:`ogma.store.filters`; this is the SQLite backend's compiler.
Keys and values only ever travel as ``?`` parameters.

Example:
    >>> sql, params = compile_filter({"year": {"$gte": 2020}})
    >>> print(sql)
    (IFNULL(json_type("metadata", ?), 'missing') IN ('integer', 'real') AND json_extract("metadata", ?) >= ?)
    >>> params
    ['$."year"', '$."year"', 2020]
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from typing import Any, Final

from ogma.errors import FilterError
from ogma.store.filters import (
    CONTENT_PATH,
    ID_PATH,
    OPERATORS_HELP,
    And,
    Condition,
    Node,
    Not,
    Or,
    Scalar,
    parse_filter,
)

__all__ = ["IN_INLINE_MAX", "MAX_FILTER_PARAMETERS", "MAX_SQL_DEPTH", "compile_filter"]

logger = logging.getLogger(__name__)

RESERVED_COLUMNS: Final = {ID_PATH: "id", CONTENT_PATH: "text"}
"""The document column each reserved filter path (``$id``, ``$content``) names."""


def json_path(path: tuple[str, ...]) -> str:
    """The SQLite JSON path of a parsed key path.

    Example:
        >>> json_path(("a", "b"))
        '$."a"."b"'
    """
    return "$" + "".join("." + json.dumps(part, ensure_ascii=False) for part in path)


MAX_FILTER_PARAMETERS: Final = 32_000
"""Values a compiled filter may bind: SQLite takes 32,766 per statement, the store's own SQL needs a few."""

MAX_SQL_DEPTH: Final = 960
"""The compiled expression tree's height (estimated from above) must stay under SQLite's default 1,000."""

IN_INLINE_MAX = 64
"""``$in``/``$nin`` lists with more values of one type are bound as one JSON array (read by ``json_each``)."""

_CHAIN: Final = 16
"""Operands per flat ``AND``/``OR`` chain; longer lists are grouped in parentheses (bounded depth)."""

_LEAF_HEIGHT: Final = 12
"""An upper bound of the expression height of one compiled condition."""

_COLUMN_RE: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?")
_ORDERING_SQL: Final = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}


class _Sql:
    """Accumulates SQL for one column; every key and value becomes a ``?`` parameter."""

    def __init__(self, column: str) -> None:
        self.col = column
        self.params: list[object] = []
        table = column.rsplit(".", 1)[0] + "." if "." in column else ""
        self.reserved = {path: f'{table}"{name}"' for path, name in RESERVED_COLUMNS.items()}

    def type_(self, path: tuple[str, ...]) -> str:
        if path in self.reserved:  # the id or text column: a string (text may be NULL)
            return f"(CASE WHEN {self.reserved[path]} IS NULL THEN 'null' ELSE 'text' END)"
        self.params.append(json_path(path))
        return f"IFNULL(json_type({self.col}, ?), 'missing')"

    def value(self, path: tuple[str, ...]) -> str:
        if path in self.reserved:
            return self.reserved[path]
        self.params.append(json_path(path))
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
        each = f"EXISTS (SELECT 1 FROM json_each({self.col}, {self.param(json_path(path))}) AS _je WHERE "
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
        each = f"EXISTS (SELECT 1 FROM json_each({self.col}, {self.param(json_path(path))}) AS _je WHERE "
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
            f"(SELECT 1 FROM json_each({self.col}, {self.param(json_path(path))})))"
        )
        return f"({absent} OR {text} OR {container})"

    def condition(self, cond: Condition) -> str:
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
            if path == CONTENT_PATH:  # a document without content (NULL text) counts as missing
                return f"{self.reserved[path]} IS {'NOT NULL' if value else 'NULL'}"
            if path in self.reserved:  # every document has an id
                return "1" if value else "0"
            return f"json_type({self.col}, {self.param(json_path(path))}) IS {'NOT NULL' if value else 'NULL'}"
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
        raise FilterError(f"Unknown operator {op!r}; {OPERATORS_HELP}.")  # unreachable: parsing validated it

    def node(self, node: Node) -> tuple[str, int]:
        """The SQL of ``node`` and an upper bound of its expression tree's height."""
        if isinstance(node, Condition):
            return self.condition(node), _LEAF_HEIGHT
        if isinstance(node, Not):
            if isinstance(node.child, Not):  # the SQL is never NULL, so a double negation cancels
                return self.node(node.child.child)
            sql, height = self.node(node.child)
            return f"NOT ({sql})", height + 1
        children = _merge_alternatives(node)
        if not children:
            return ("1" if isinstance(node, And) else "0"), 1
        if len(children) == 1:
            return self.node(children[0])
        joiner = " AND " if isinstance(node, And) else " OR "
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


def _merge_alternatives(node: And | Or) -> list[Node]:
    """Children of ``node``, with same-field alternatives merged into one condition.

    Under ``$or``, ``$eq``/``$in`` on one field become one ``$in`` and ``$contains`` on one
    field one internal "contains any"; under ``$and``, ``$ne``/``$nin`` become one ``$nin``.
    The meaning is unchanged; the SQL binds each field's path once instead of once per value,
    which keeps filters such as LlamaIndex's ``ANY`` and Haystack's ``in`` within SQLite's limits.
    """
    merges = {"$eq": "$in", "$in": "$in", "$contains": _CONTAINS_ANY}
    if isinstance(node, And):
        merges = {"$ne": "$nin", "$nin": "$nin"}
    groups: dict[tuple[tuple[str, ...], str], list[Condition]] = {}
    for child in node.children:
        if isinstance(child, Condition) and child.op in merges:
            groups.setdefault((child.path, merges[child.op]), []).append(child)
    if all(len(group) < 2 for group in groups.values()):
        return list(node.children)
    out: list[Node] = []
    for child in node.children:
        if not (isinstance(child, Condition) and child.op in merges):
            out.append(child)
            continue
        group = groups[(child.path, merges[child.op])]
        if len(group) < 2:
            out.append(child)
        elif group[0] is child:
            values: list[Any] = []
            for member in group:
                values.extend(member.value if member.op in ("$in", "$nin") else (member.value,))
            out.append(Condition(child.path, merges[child.op], tuple(values)))
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
    sql, height = builder.node(parse_filter(filter))
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
