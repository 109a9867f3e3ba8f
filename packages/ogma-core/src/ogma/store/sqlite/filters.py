"""The filter language compiled to parameterised SQL over the store's JSON metadata column and facets table.

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
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
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
    Pattern,
    Scalar,
    parse_filter,
)
from ogma.store.sqlite.facets import KIND_BOOLEAN, KIND_NULL, KIND_NUMBER, KIND_TEXT
from ogma.store.sqlite.sql import quote_identifier

__all__ = [
    "IN_INLINE_MAX",
    "MAX_COMPOUND_TERMS",
    "MAX_FILTER_PARAMETERS",
    "MAX_SQL_DEPTH",
    "CompiledFilter",
    "RowSet",
    "compile_filter",
    "compile_search_filter",
]

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

    def __init__(self, column: str, facets: str | None = None) -> None:
        self.col = column
        self.params: list[object] = []
        table = column.rsplit(".", 1)[0] + "." if "." in column else ""
        self.reserved = {path: f'{table}"{name}"' for path, name in RESERVED_COLUMNS.items()}
        self.facets = facets
        self.rowid = f"{table}rowid"

    # -- the facets table: top-level keys, answered by its (field, kind, value) index
    def indexed(self, path: tuple[str, ...]) -> bool:
        """Whether conditions on ``path`` are answered by the facets table (top-level metadata keys)."""
        return self.facets is not None and len(path) == 1

    def facet_rows(self, path: tuple[str, ...], where: Callable[[], str] | None = None) -> str:
        """``SELECT doc`` of the facet rows of ``path`` that satisfy ``where()`` (SQL over ``kind``/``value``).

        ``where`` is called after the field is bound, so the parameters stay in SQL text order.
        """
        field = self.param(path[0])
        return f"SELECT doc FROM {self.facets} WHERE field = {field}{' AND ' + where() if where else ''}"

    def facet_scalar(self, value: bool | int | float | str) -> str:
        """``kind = ... AND value = ?`` for one non-null scalar (booleans are kind 3 with 1/0)."""
        if isinstance(value, bool):
            return f"kind = {KIND_BOOLEAN} AND value = {int(value)}"
        kind = KIND_NUMBER if isinstance(value, int | float) else KIND_TEXT
        return f"kind = {kind} AND value = {self.param(value)}"

    def facet_in(self, path: tuple[str, ...], values: tuple[Scalar, ...]) -> _Set:
        flags = sorted({int(v) for v in values if isinstance(v, bool)})
        numbers = [v for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        strings = [v for v in values if isinstance(v, str)]
        has_none = any(v is None for v in values)
        if has_none:  # null or missing, or one of the values: all but the other non-null facets
            others = self.facet_rows(path, lambda: f"kind > {KIND_NULL}")
        selects: list[str] = []
        if flags:
            listed = ", ".join(map(str, flags))
            selects.append(self.facet_rows(path, lambda: f"kind = {KIND_BOOLEAN} AND value IN ({listed})"))
        if numbers:
            selects.append(self.facet_rows(path, lambda: f"kind = {KIND_NUMBER} AND value IN {self.in_list(numbers)}"))
        if strings:
            selects.append(self.facet_rows(path, lambda: f"kind = {KIND_TEXT} AND value IN {self.in_list(strings)}"))
        if has_none:
            return _Set(" EXCEPT ".join([others, *selects]), complement=True, compound=bool(selects))
        if not selects:
            return _Set(self.nothing(), complement=False)
        return _Set(" UNION ALL ".join(selects), complement=False, compound=len(selects) > 1)

    def nothing(self) -> str:
        return f"SELECT doc FROM {self.facets} WHERE 0"

    def facet_set(self, cond: Condition) -> _Set | None:
        """The documents passing ``cond`` as facet rows (or all but them), or ``None`` when the facets cannot tell."""
        path, op, value = cond.path, cond.op, cond.value
        if op in ("$eq", "$ne"):
            if value is None:  # null or missing: no facet of another kind
                found = _Set(self.facet_rows(path, lambda: f"kind > {KIND_NULL}"), complement=True)
            else:
                found = _Set(self.facet_rows(path, lambda: self.facet_scalar(value)), complement=False)
            return found.flipped() if op == "$ne" else found
        if op in _ORDERING_SQL:
            return self.facet_set(Condition(path, _RANGE, ((op, value),)))
        if op == _RANGE:  # several bounds on one field and kind, one index range
            kind = KIND_NUMBER if isinstance(value[0][1], int | float) else KIND_TEXT

            def bounds() -> str:
                return " AND ".join(
                    [f"kind = {kind}", *(f"value {_ORDERING_SQL[o]} {self.param(v)}" for o, v in value)]
                )

            return _Set(self.facet_rows(path, bounds), complement=False)
        if op in ("$in", "$nin"):
            found = self.facet_in(path, value)
            return found.flipped() if op == "$nin" else found
        if op == "$exists":
            return _Set(self.facet_rows(path), complement=not value)
        if op == "$like":
            glob = _glob(value)
            return _Set(self.facet_rows(path, lambda: f"kind = {KIND_TEXT} AND value GLOB {self.param(glob)}"), False)
        if op == "$ilike":
            like = _like(value)
            return _Set(
                self.facet_rows(path, lambda: f"kind = {KIND_TEXT} AND value LIKE {self.param(like)} ESCAPE '\\'"),
                complement=False,
            )
        return None  # $contains and $empty look inside arrays and objects: the JSON answers them

    def facet_condition(self, cond: Condition) -> str | None:
        """The condition as a membership test in facet rows, or ``None`` when the facets cannot answer it."""
        found = self.facet_set(cond)
        if found is None:
            return None
        return f"{self.rowid} {'NOT IN' if found.complement else 'IN'} ({found.sql})"

    def rowset(self, node: Node, budget: list[int]) -> _Set | None:
        """The documents passing ``node`` from the facets alone (compound SELECTs), or ``None``.

        ``None`` when some condition needs the JSON, or when the compound would have more than
        :data:`MAX_COMPOUND_TERMS` SELECTs (``budget`` counts them down).
        """
        budget[0] -= 1
        if budget[0] < 0:
            return None
        if isinstance(node, Condition):
            if not self.indexed(node.path):
                return None
            leaf = _Sql(self.col, self.facets)
            found = leaf.facet_set(node)
            return None if found is None else replace(found, params=tuple(leaf.params))
        if isinstance(node, Not):
            inner = self.rowset(node.child, budget)
            return None if inner is None else inner.flipped()
        sets: list[_Set] = []
        for child in _merge_ranges(node, _merge_alternatives(node)):
            found = self.rowset(child, budget)
            if found is None:
                return None
            sets.append(found)
        plain = [s for s in sets if not s.complement]
        excluded = [s for s in sets if s.complement]
        if not sets:  # {"$and": []} holds for every document, {"$or": []} for none
            return _Set(self.nothing(), complement=isinstance(node, And))
        if isinstance(node, And):  # (P1 ∩ P2 ...) \ N1 \ N2 ..., or all but (N1 ∪ N2 ...)
            if plain:
                return _join([(" INTERSECT ", plain), (" EXCEPT ", excluded)], complement=False)
            return _join([(" UNION ", excluded)], complement=True)
        if excluded:  # P1 ∪ ... ∪ ¬N1 ∪ ... = all but ((N1 ∩ N2 ...) \ P1 \ P2 ...)
            return _join([(" INTERSECT ", excluded), (" EXCEPT ", plain)], complement=True)
        return _join([(" UNION ", plain)], complement=False)

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
        if self.indexed(cond.path):
            indexed = self.facet_condition(cond)
            if indexed is not None:
                return indexed
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
            return f"({self.type_(path)} = 'text' AND {self.value(path)} GLOB {self.param(_glob(value))})"
        if op == "$ilike":
            return f"({self.type_(path)} = 'text' AND {self.value(path)} LIKE {self.param(_like(value))} ESCAPE '\\')"
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
        if self.facets is not None:
            children = _merge_ranges(node, children)
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


_RANGE: Final = "$range"
"""Internal operator: several ``$gt/$gte/$lt/$lte`` bounds on one top-level field and kind (one index range)."""

MAX_COMPOUND_TERMS: Final = 200
"""SELECTs a filter's rowid set may join (SQLite allows 500 per compound); beyond, the JSON form runs."""


@dataclass(frozen=True)
class _Set:
    """Documents as facet rows: ``sql`` selects their ``doc`` rowids, or (``complement``) every other document."""

    sql: str
    complement: bool
    compound: bool = False
    params: tuple[object, ...] = ()

    def flipped(self) -> _Set:
        return replace(self, complement=not self.complement)

    def operand(self) -> str:
        """The SQL as one operand of a compound SELECT."""
        return f"SELECT doc FROM ({self.sql})" if self.compound else self.sql


def _join(groups: list[tuple[str, list[_Set]]], *, complement: bool) -> _Set:
    """Sets joined left to right: ``[(" INTERSECT ", [a, b]), (" EXCEPT ", [c])]`` is ``(a ∩ b) \\ c``."""
    sql: list[str] = []
    params: list[object] = []
    for joiner, sets in groups:
        for one in sets:
            sql.append((joiner if sql else "") + one.operand())
            params.extend(one.params)
    return _Set("".join(sql), complement, compound=len(sql) > 1, params=tuple(params))


def _merge_ranges(node: And | Or, children: list[Node]) -> list[Node]:
    """Under ``$and``, the bounds on one top-level field and kind (number or text) as one internal range.

    ``{"score": {"$gte": 0.5, "$lt": 0.6}}`` then reads one index range instead of
    intersecting two half-open ones.
    """
    if not isinstance(node, And):
        return children
    groups: dict[tuple[tuple[str, ...], bool], list[Condition]] = {}
    for child in children:
        if isinstance(child, Condition) and child.op in _ORDERING_SQL and len(child.path) == 1:
            groups.setdefault((child.path, isinstance(child.value, str)), []).append(child)
    if all(len(group) < 2 for group in groups.values()):
        return children
    out: list[Node] = []
    for child in children:
        if isinstance(child, Condition) and child.op in _ORDERING_SQL and len(child.path) == 1:
            group = groups[(child.path, isinstance(child.value, str))]
            if len(group) > 1:
                if group[0] is child:
                    out.append(Condition(child.path, _RANGE, tuple((c.op, c.value) for c in group)))
                continue
        out.append(child)
    return out


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


def _glob(pattern: Pattern) -> str:
    """A ``$like`` pattern as a GLOB pattern (case-sensitive, like the Python evaluator)."""
    return "".join(_GLOB_LITERAL.get(t[1:], t[1:]) if t[0] == "=" else _GLOB_WILDCARD[t] for t in pattern.tokens)


def _like(pattern: Pattern) -> str:
    """An ``$ilike`` pattern as a LIKE pattern with ``\\`` escapes (ASCII case folding, like SQLite's LIKE)."""
    return "".join(_like_literal(t[1:]) if t[0] == "=" else t for t in pattern.tokens)


def _quote_column(column: str) -> str:
    if not isinstance(column, str) or not _COLUMN_RE.fullmatch(column):
        raise FilterError(
            f"Invalid metadata column {column!r}; give a column name such as 'metadata' or a qualified "
            "name such as 'd.metadata' (letters, digits and underscores)."
        )
    return ".".join(f'"{part}"' for part in column.split("."))


def compile_filter(
    filter: Mapping[str, Any] | None, *, column: str = "metadata", facets: str | None = None
) -> tuple[str, list[object]]:
    """Compile a metadata filter to a SQL boolean expression over a JSON text column.

    Every key (as a JSON path) and every value is passed as a ``?`` parameter; nothing
    from the filter is interpolated into the SQL text. The expression always evaluates
    to 0 or 1 (never NULL), so it can be negated and combined safely. It needs SQLite's
    JSON functions (SQLite 3.38 or newer, or any build with JSON1). Keys containing a
    double quote need SQLite 3.45 or newer, and on older versions keys with non-ASCII
    characters only match if the JSON was written with ``ensure_ascii=False``.

    With ``facets`` (the store's facets table, :mod:`ogma.store.sqlite.facets`),
    equality, ``$in``, ranges, ``$exists``, ``$like`` and ``$ilike`` on a top-level key (and
    their negations ``$ne``/``$nin``) become lookups in its index instead: ``rowid IN
    (SELECT doc FROM facets WHERE field = ? AND kind = ? AND value ...)``, where ``rowid``
    is the rowid of the column's table. Nested keys, ``$contains``, ``$empty``, ``$id`` and
    ``$content`` keep the JSON form. Both forms select the same rows.

    Args:
        filter: The filter dict (see the module docs and ``docs/filters.md``), or None.
        column: The JSON metadata column, optionally qualified (``"d.metadata"``).
        facets: The facets table kept for the column's table, or ``None`` to read the JSON only.

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
        >>> compile_filter({"year": {"$gte": 2020}}, column="d.metadata", facets="ogma_facets")
        ('"d".rowid IN (SELECT doc FROM "ogma_facets" WHERE field = ? AND kind = 1 AND value >= ?)', ['year', 2020])
    """
    return _compile(parse_filter(filter), column, facets)


def _compile(node: Node, column: str, facets: str | None) -> tuple[str, list[object]]:
    builder = _Sql(_quote_column(column), None if facets is None else quote_identifier(facets))
    sql, height = builder.node(node)
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


@dataclass(frozen=True)
class RowSet:
    """The documents passing a filter, read from the facets table alone.

    Attributes:
        sql: A ``SELECT`` of one column of document rowids (compound SELECTs over the facets table).
        params: Its parameters.
        complement: The filter passes every document *except* those ``sql`` selects.
    """

    sql: str
    params: list[object]
    complement: bool


@dataclass(frozen=True)
class CompiledFilter:
    """A filter compiled for a search: the SQL expression, and its rowid set when the facets alone answer it.

    Attributes:
        sql: The boolean expression of :func:`compile_filter` (over the documents table).
        params: Its parameters.
        rows: The same documents as a :class:`RowSet` (no read of the documents table), or ``None``
            when a condition needs the JSON (nested keys, ``$contains``, ``$empty``, ``$id``, ``$content``).
    """

    sql: str
    params: list[object]
    rows: RowSet | None


def compile_search_filter(filter: Mapping[str, Any], *, column: str, facets: str) -> CompiledFilter:
    """Compile a filter once into both forms a search uses: the expression and the rowid set.

    The expression restricts joins (lexical search, sqlite-vec); the rowid set gives the
    in-process vector index the passing rows straight from the facets index.

    Raises:
        FilterError: If the filter is malformed or too large for SQLite (see :func:`compile_filter`).

    Example:
        >>> found = compile_search_filter({"year": {"$gte": 2020}, "lang": {"$ne": "en"}}, column="d.metadata",
        ...                               facets="ogma_facets")
        >>> print(found.rows.sql.replace(" EXCEPT ", "\\nEXCEPT "))
        SELECT doc FROM "ogma_facets" WHERE field = ? AND kind = 1 AND value >= ?
        EXCEPT SELECT doc FROM "ogma_facets" WHERE field = ? AND kind = 2 AND value = ?
        >>> found.rows.params, found.rows.complement
        (['year', 2020, 'lang', 'en'], False)
    """
    node = parse_filter(filter)
    sql, params = _compile(node, column, facets)
    quoted = quote_identifier(facets)
    found = _Sql(_quote_column(column), quoted).rowset(node, [MAX_COMPOUND_TERMS])
    rows = None if found is None else RowSet(found.sql, list(found.params), found.complement)
    return CompiledFilter(sql, params, rows)
