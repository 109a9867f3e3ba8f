"""Filters on the reserved document fields ``$id`` and ``$content``: SQL and Python agree."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from typing import Any

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ogma.errors import FilterError
from ogma.store.filters import RESERVED_FIELDS, field_key, matches, predicate
from ogma.store.sqlite.filters import compile_filter

Row = tuple[str, str | None, dict[str, Any]]

ROWS: list[Row] = [
    ("a1", "the cat sat", {"lang": "en", "$id": "meta-id"}),
    ("a2", "The Dog", {"lang": "de"}),
    ("b1", "", {"$content": "x"}),
    ("b_2", None, {"lang": "en"}),
    ("c%", "100% cotton", {}),
]


def _runner(connect: Callable[[], Any], rows: list[Row]) -> Callable[[Mapping[str, Any] | None], set[str]]:
    con = connect()
    con.execute("CREATE TABLE docs (id TEXT NOT NULL, text TEXT, metadata TEXT NOT NULL)")
    for doc_id, text, meta in rows:
        con.execute("INSERT INTO docs VALUES (?, ?, ?)", (doc_id, text, json.dumps(meta, ensure_ascii=False)))

    def run(filter_: Mapping[str, Any] | None) -> set[str]:
        sql, params = compile_filter(filter_, column="docs.metadata")
        return {row[0] for row in con.execute(f"SELECT id FROM docs WHERE {sql}", params)}

    return run


def _py(filter_: Mapping[str, Any] | None, rows: list[Row]) -> set[str]:
    return {doc_id for doc_id, text, meta in rows if matches(filter_, meta, id=doc_id, content=text)}


CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"$id": "a1"}, {"a1"}),
    ({"$id": {"$in": ["a1", "b1", "zz"]}}, {"a1", "b1"}),
    ({"$id": {"$nin": ["a1"]}}, {"a2", "b1", "b_2", "c%"}),
    ({"$id": {"$like": "a%"}}, {"a1", "a2"}),
    ({"$id": {"$gte": "b"}}, {"b1", "b_2", "c%"}),
    ({"$id": {"$exists": True}}, {"a1", "a2", "b1", "b_2", "c%"}),
    ({"$id": {"$exists": False}}, set()),
    ({"$content": {"$contains": "cat"}}, {"a1"}),
    ({"$content": {"$ilike": "%dog"}}, {"a2"}),
    ({"$content": {"$like": "%dog"}}, set()),
    ({"$content": None}, {"b_2"}),
    ({"$content": {"$ne": None}}, {"a1", "a2", "b1", "c%"}),
    ({"$content": {"$empty": True}}, {"b1", "b_2"}),
    ({"$content": "100% cotton"}, {"c%"}),
    ({"$id": {"$in": ["a1", "b_2"]}, "lang": "en"}, {"a1", "b_2"}),
    ({"$or": [{"$id": "a2"}, {"$content": {"$contains": "cotton"}}]}, {"a2", "c%"}),
    ({"$not": {"$id": "a1"}}, {"a2", "b1", "b_2", "c%"}),
    # a metadata key spelled "$id" is addressed escaped and never means the document id
    ({field_key("$id"): "meta-id"}, {"a1"}),
    ({field_key("$content"): "x"}, {"b1"}),
    ({field_key("$id"): "a1"}, set()),
]


@pytest.mark.parametrize(("filter_", "expected"), CASES, ids=[json.dumps(c[0]) for c in CASES])
@pytest.mark.parametrize("driver", ["apsw", "sqlite3"])
def test_reserved_fields(driver: str, filter_: dict[str, Any], expected: set[str]) -> None:
    connect = (lambda: apsw.Connection(":memory:")) if driver == "apsw" else (lambda: sqlite3.connect(":memory:"))
    assert _runner(connect, ROWS)(filter_) == expected
    assert _py(filter_, ROWS) == expected


def test_reserved_names_are_listed_and_unknown_dollar_keys_refused() -> None:
    assert RESERVED_FIELDS == ("$id", "$content")
    with pytest.raises(FilterError, match=r"reserved document fields: \$id, \$content"):
        compile_filter({"$ids": "a"})


def test_python_evaluation_needs_the_fields_it_uses() -> None:
    with pytest.raises(FilterError, match=r"uses \$id: pass id="):
        matches({"$id": "a"}, {})
    with pytest.raises(FilterError, match=r"uses \$content: pass content="):
        predicate({"$content": {"$contains": "x"}})({}, id="a")
    assert matches({"lang": "en"}, {"lang": "en"})  # metadata-only filters need neither
    assert predicate({"$id": "a", "$content": None})({}, id="a", content=None)


_ids = st.sampled_from(["a", "b", "ab", "A", "a%", "", "ü"])
_texts = st.none() | st.text(alphabet=st.sampled_from(list("abAB %_ü")), max_size=5)
_values = st.one_of(st.none(), st.booleans(), st.integers(-2, 2), _texts)


def _condition() -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from(["$id", "$content", "m"])
    operator_value = st.one_of(
        st.tuples(st.sampled_from(["$eq", "$ne"]), _values),
        st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), _ids),
        st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(_values, max_size=3)),
        st.tuples(st.sampled_from(["$exists", "$empty"]), st.booleans()),
        st.tuples(st.just("$contains"), _ids),
        st.tuples(st.sampled_from(["$like", "$ilike"]), _ids),
    )
    return st.builds(lambda k, ov: {k: {ov[0]: ov[1]}}, key, operator_value)


_filter = st.recursive(
    _condition(),
    lambda inner: st.one_of(
        st.builds(lambda fs: {"$or": fs}, st.lists(inner, max_size=3)),
        st.builds(lambda f: {"$not": f}, inner),
        st.builds(lambda f, g: {**f, **g}, inner, inner),
    ),
    max_leaves=5,
)
_rows = st.lists(
    st.tuples(_ids, _texts, st.fixed_dictionaries({}, optional={"m": _values})),
    max_size=5,
    unique_by=lambda r: r[0],
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filter_=_filter, rows=_rows)
def test_sql_agrees_with_python_on_document_fields(filter_: dict[str, Any], rows: list[Row]) -> None:
    expected = _py(filter_, rows)
    for connect in (lambda: apsw.Connection(":memory:"), lambda: sqlite3.connect(":memory:")):
        assert _runner(connect, rows)(filter_) == expected, (filter_, rows)
