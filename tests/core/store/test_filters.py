"""The metadata filter language: exact SQL, behaviour on real rows, and SQL == Python."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import apsw
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ogma.errors import FilterError
from ogma.store.filters import (
    COMPARISON_OPERATORS,
    escape_like,
    field_key,
    matches,
    parse_field_key,
)
from ogma.store.sqlite import filters as filters_module
from ogma.store.sqlite.facets import FACETS, facets_sql, fill_sql
from ogma.store.sqlite.filters import compile_filter, compile_search_filter

T = "IFNULL(json_type(\"metadata\", ?), 'missing')"
V = 'json_extract("metadata", ?)'

Runner = Callable[[Mapping[str, Any] | None], set[str]]

ROWS: dict[str, Any] = {
    "en2020": {"lang": "en", "year": 2020, "score": 0.5, "tags": ["a", "b"], "draft": False},
    "de2021": {"lang": "de", "year": 2021, "score": 1.5, "tags": ["b"], "draft": True, "author": {"name": "Ada"}},
    "fr_str_year": {"lang": "fr", "year": "2021", "tags": [], "author": {"name": "Bob", "age": 40}},
    "null_lang": {"lang": None, "year": 2019.5, "title": "Intro to SQL_99%"},
    "empty": {},
    "bool_int": {"flag": True, "one": 1, "zero": 0, "flag_false": False, "title": ""},
    "dotted": {"file.name": "a.txt", "$weird": 1, 'q"uote': "x", "ünï": "ok", "back\\slash": 2},
    "dates": {"date": "2024-03-01", "when": "2024-03-01T10:00:00", "tags": [1, 2.5, True, "1"], "obj": {}},
    "nested_list": {"tags": [["a"]], "author": "plain", "title": "INTRO to sql"},
}


def _connect_apsw() -> Any:
    return apsw.Connection(":memory:")


def _connect_stdlib() -> Any:
    return sqlite3.connect(":memory:")


def _runner(
    connect: Callable[[], Any], rows: Mapping[str, Any], *, ensure_ascii: bool = False, form: str = "json"
) -> Runner:
    """Documents in a table, and the filter's rows as SQLite selects them.

    ``form``: ``"json"`` (the JSON expression), ``"facets"`` (the expression over the facets
    table where it answers) or ``"rowset"`` (the facets' rowid set alone, when the filter has one;
    else the expression). The facets are written by the store's own statements.
    """
    con = connect()
    con.execute("CREATE TABLE documents (rowid INTEGER PRIMARY KEY, id TEXT, metadata TEXT)")
    for doc_id, meta in rows.items():
        con.execute(
            "INSERT INTO documents (id, metadata) VALUES (?, ?)", (doc_id, json.dumps(meta, ensure_ascii=ensure_ascii))
        )
    if form != "json":
        for statement in facets_sql(FACETS):
            con.execute(statement)
        con.execute(fill_sql(documents="documents"))
    ids = {rowid: doc_id for rowid, doc_id in con.execute("SELECT rowid, id FROM documents")}

    def run(filter_: Mapping[str, Any] | None) -> set[str]:
        if form == "rowset" and filter_:
            found = compile_search_filter(filter_, column="metadata", facets=FACETS)
            if found.rows is not None:
                passing = {ids[row[0]] for row in con.execute(found.rows.sql, found.rows.params)}
                return set(ids.values()) - passing if found.rows.complement else passing
        sql, params = compile_filter(filter_, facets=None if form == "json" else FACETS)
        return {row[0] for row in con.execute(f"SELECT id FROM documents WHERE {sql}", params)}

    return run


FORMS = ("json", "facets", "rowset")


@pytest.fixture(params=[(driver, form) for driver in ("apsw", "sqlite3") for form in FORMS], ids=str)
def run(request: pytest.FixtureRequest) -> Iterator[Runner]:
    driver, form = request.param
    connect = _connect_apsw if driver == "apsw" else _connect_stdlib
    rows = dict(ROWS)
    if driver == "sqlite3" and sqlite3.sqlite_version_info < (3, 45):
        rows["dotted"] = {k: v for k, v in rows["dotted"].items() if '"' not in k}
    yield _runner(connect, rows, form=form)


def _py(filter_: Mapping[str, Any] | None, rows: Mapping[str, Any] = ROWS) -> set[str]:
    return {doc_id for doc_id, meta in rows.items() if matches(filter_, meta)}


# ----------------------------------------------------------------------------- exact SQL


def test_none_and_empty_compile_to_true() -> None:
    assert compile_filter(None) == ("1", [])
    assert compile_filter({}) == ("1", [])
    assert compile_filter({"$and": []}) == ("1", [])
    assert compile_filter({"$or": []}) == ("0", [])


def test_eq_shorthand_exact_sql() -> None:
    sql, params = compile_filter({"lang": "en"})
    assert sql == f"({T} = 'text' AND {V} = ?)"
    assert params == ['$."lang"', '$."lang"', "en"]


def test_number_bool_none_exact_sql() -> None:
    assert compile_filter({"n": 3}) == (f"({T} IN ('integer', 'real') AND {V} = ?)", ['$."n"', '$."n"', 3])
    assert compile_filter({"b": True}) == (f"{T} = 'true'", ['$."b"'])
    assert compile_filter({"b": {"$ne": False}}) == (f"NOT {T} = 'false'", ['$."b"'])
    assert compile_filter({"x": None}) == (f"{T} IN ('null', 'missing')", ['$."x"'])


def test_ordering_and_several_keys_exact_sql() -> None:
    sql, params = compile_filter({"year": {"$gte": 2020, "$lt": 2024}, "lang": "en"})
    assert sql == (
        f"(({T} IN ('integer', 'real') AND {V} >= ?) AND ({T} IN ('integer', 'real') AND {V} < ?)"
        f" AND ({T} = 'text' AND {V} = ?))"
    )
    assert params == ['$."year"', '$."year"', 2020, '$."year"', '$."year"', 2024, '$."lang"', '$."lang"', "en"]


def test_in_groups_values_by_type_exact_sql() -> None:
    sql, params = compile_filter({"k": {"$in": ["a", 1, None, True, "b"]}})
    assert sql == (
        f"({T} IN ('null', 'missing', 'true') OR ({T} IN ('integer', 'real') AND {V} IN (?))"
        f" OR ({T} = 'text' AND {V} IN (?, ?)))"
    )
    assert params == ['$."k"', '$."k"', '$."k"', 1, '$."k"', '$."k"', "a", "b"]
    assert compile_filter({"k": {"$in": []}}) == ("0", [])
    assert compile_filter({"k": {"$nin": []}}) == ("1", [])


def test_logical_operators_exact_sql() -> None:
    sql, params = compile_filter({"$or": [{"a": 1}, {"$not": {"b": True}}]})
    assert sql == f"(({T} IN ('integer', 'real') AND {V} = ?) OR NOT ({T} = 'true'))"
    assert params == ['$."a"', '$."a"', 1, '$."b"']


def test_exists_contains_like_exact_sql() -> None:
    assert compile_filter({"a": {"$exists": True}}) == ('json_type("metadata", ?) IS NOT NULL', ['$."a"'])
    sql, params = compile_filter({"t": {"$contains": 2}})
    assert sql == (
        f"({T} = 'array' AND EXISTS (SELECT 1 FROM json_each(\"metadata\", ?) AS _je"
        " WHERE _je.type IN ('integer', 'real') AND _je.value = ?))"
    )
    assert params == ['$."t"', '$."t"', 2]
    sql, params = compile_filter({"t": {"$like": "a%_*"}})
    assert sql == f"({T} = 'text' AND {V} GLOB ?)"
    assert params[-1] == "a*?[*]"
    sql, params = compile_filter({"t": {"$ilike": "50\\%%"}})
    assert sql == f"({T} = 'text' AND {V} LIKE ? ESCAPE '\\')"
    assert params[-1] == "50\\%%"


def test_paths_column_and_dates() -> None:
    sql, params = compile_filter({"author.name": "Ada"}, column="d.metadata")
    assert '"d"."metadata"' in sql
    assert params[0] == '$."author"."name"'
    assert compile_filter({field_key("file.name"): 1})[1][0] == '$."file.name"'
    assert compile_filter({"day": dt.date(2024, 3, 1)})[1][-1] == "2024-03-01"
    assert compile_filter({"at": {"$gt": dt.datetime(2024, 3, 1, 10)}})[1][-1] == "2024-03-01T10:00:00"


# ----------------------------------------------------------------------------- injection


HOSTILE = ["x'); DROP TABLE documents; --", 'a"b', "a\\", "$.x", "'", '"', "\x00", "a]b[0]", "ü😀"]


@pytest.mark.parametrize("text", HOSTILE)
def test_keys_and_values_never_reach_the_sql_text(text: str) -> None:
    key = field_key(text.replace("\x00", "z"))
    for filter_ in ({key: text}, {key: {"$in": [text]}}, {key: {"$contains": text}}, {key: {"$like": text}}):
        sql, params = compile_filter(filter_)
        assert text not in sql or text in ("'", '"')  # quotes only appear as SQL's own literals
        assert "DROP" not in sql
        assert params


def test_injection_attempt_runs_harmlessly() -> None:
    con = apsw.Connection(":memory:")
    con.execute("CREATE TABLE documents (id TEXT, metadata TEXT)")
    evil = "x') OR 1=1; DROP TABLE documents; --"
    con.execute("INSERT INTO documents VALUES ('d', ?)", (json.dumps({evil: evil}),))
    sql, params = compile_filter({field_key(evil): evil})
    assert [r[0] for r in con.execute(f"SELECT id FROM documents WHERE {sql}", params)] == ["d"]
    sql, params = compile_filter({field_key(evil): "other"})
    assert list(con.execute(f"SELECT id FROM documents WHERE {sql}", params)) == []
    assert list(con.execute("SELECT count(*) FROM documents")) == [(1,)]


@pytest.mark.parametrize("column", ["meta data", "metadata; DROP", '"x"', "a.b.c", ""])
def test_bad_column_rejected(column: str) -> None:
    with pytest.raises(FilterError, match="Invalid metadata column"):
        compile_filter({"a": 1}, column=column)


# ----------------------------------------------------------------------------- behaviour on real rows

CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"lang": "en"}, {"en2020"}),
    ({"lang": {"$ne": "en"}}, set(ROWS) - {"en2020"}),
    ({"lang": None}, set(ROWS) - {"en2020", "de2021", "fr_str_year"}),
    ({"lang": {"$ne": None}}, {"en2020", "de2021", "fr_str_year"}),
    ({"lang": {"$exists": True}}, {"en2020", "de2021", "fr_str_year", "null_lang"}),
    ({"lang": {"$exists": False}}, set(ROWS) - {"en2020", "de2021", "fr_str_year", "null_lang"}),
    ({"year": 2021}, {"de2021"}),
    ({"year": "2021"}, {"fr_str_year"}),
    ({"year": {"$gt": 2019}}, {"en2020", "de2021", "null_lang"}),
    ({"year": {"$gte": "2000"}}, {"fr_str_year"}),
    ({"year": {"$lte": 2020, "$gt": 2019.5}}, {"en2020"}),
    ({"score": {"$in": [0.5, 1.5]}}, {"en2020", "de2021"}),
    ({"year": {"$nin": [2020, 2021]}}, set(ROWS) - {"en2020", "de2021"}),
    ({"lang": {"$in": ["en", None]}}, set(ROWS) - {"de2021", "fr_str_year"}),
    ({"flag": True}, {"bool_int"}),
    ({"flag": 1}, set()),
    ({"one": True}, set()),
    ({"one": 1}, {"bool_int"}),
    ({"zero": False}, set()),
    ({"flag_false": False}, {"bool_int"}),
    ({"draft": {"$ne": True}}, set(ROWS) - {"de2021"}),
    ({"tags": {"$contains": "b"}}, {"en2020", "de2021"}),
    ({"tags": {"$contains": 1}}, {"dates"}),
    ({"tags": {"$contains": 2.5}}, {"dates"}),
    ({"tags": {"$contains": True}}, {"dates"}),
    ({"tags": {"$contains": "1"}}, {"dates"}),
    ({"tags": {"$contains": "a"}}, {"en2020"}),
    ({"title": {"$contains": "SQL"}}, {"null_lang"}),
    ({"title": {"$like": "Intro%"}}, {"null_lang"}),
    ({"title": {"$ilike": "intro%"}}, {"null_lang", "nested_list"}),
    ({"title": {"$like": "%SQL\\_99\\%"}}, {"null_lang"}),
    ({"title": {"$like": "%SQL_99%"}}, {"null_lang"}),
    ({"title": {"$ilike": "%sql"}}, {"nested_list"}),
    ({"tags": {"$empty": True}}, set(ROWS) - {"en2020", "de2021", "dates", "nested_list"}),
    ({"title": {"$empty": True}}, set(ROWS) - {"null_lang", "nested_list"}),
    ({"obj": {"$empty": True}}, set(ROWS)),
    ({"author.name": "Ada"}, {"de2021"}),
    ({"author.age": {"$gte": 18}}, {"fr_str_year"}),
    ({"author.name": {"$exists": False}}, set(ROWS) - {"de2021", "fr_str_year"}),
    ({field_key("file.name"): "a.txt"}, {"dotted"}),
    ({"file.name": "a.txt"}, set()),
    ({field_key("$weird"): 1}, {"dotted"}),
    ({"ünï": "ok"}, {"dotted"}),
    ({field_key("back\\slash"): 2}, {"dotted"}),
    ({"date": {"$gte": "2024-01-01", "$lt": "2024-04-01"}}, {"dates"}),
    ({"when": {"$gt": dt.datetime(2024, 3, 1, 9, 59)}}, {"dates"}),
    ({"$or": [{"lang": "en"}, {"lang": "de"}]}, {"en2020", "de2021"}),
    ({"$and": [{"tags": {"$contains": "b"}}, {"$not": {"lang": "en"}}]}, {"de2021"}),
    ({"$not": {"lang": {"$exists": True}}}, set(ROWS) - {"en2020", "de2021", "fr_str_year", "null_lang"}),
    ({"$not": {"$or": []}}, set(ROWS)),
    # the facets' own paths: kinds kept apart, ranges merged per field, sets joined, negations taken
    ({"one": 1.0}, {"bool_int"}),
    ({"score": 0.5}, {"en2020"}),
    ({"one": {"$in": [1.0, True, "1"]}}, {"bool_int"}),
    ({"flag": {"$in": [1, 0]}}, set()),
    ({"flag": {"$in": [False, True]}}, {"bool_int"}),
    ({"year": {"$in": [2020, "2021", None]}}, set(ROWS) - {"de2021", "null_lang"}),
    ({"year": {"$nin": [2021, None]}}, {"en2020", "fr_str_year", "null_lang"}),
    ({"year": {"$gte": 2019.5, "$lt": 2021}}, {"en2020", "null_lang"}),
    ({"year": {"$gt": 2019, "$lt": "3000"}}, set()),
    ({"year": {"$gt": "2", "$lte": "2021"}}, {"fr_str_year"}),
    ({"year": {"$gt": 2020.5, "$lt": 2020.6}}, set()),
    ({"tags": "a"}, set()),
    ({"tags": {"$exists": True}}, {"en2020", "de2021", "fr_str_year", "dates", "nested_list"}),
    ({"tags": {"$ne": None}}, {"en2020", "de2021", "fr_str_year", "dates", "nested_list"}),
    ({"author": {"$exists": True}, "author.name": {"$exists": False}}, {"nested_list"}),
    ({"obj": None}, set(ROWS) - {"dates"}),
    ({"lang": {"$gte": ""}}, {"en2020", "de2021", "fr_str_year"}),
    ({"title": {"$lt": "a"}}, {"bool_int", "null_lang", "nested_list"}),
    ({"$or": [{"lang": "en"}, {"lang": {"$ne": "de"}}]}, set(ROWS) - {"de2021"}),
    ({"$or": [{"year": {"$lt": 2020}}, {"$not": {"draft": {"$exists": True}}}]}, set(ROWS) - {"en2020", "de2021"}),
    ({"$and": [{"year": {"$gt": 2019}}, {"$not": {"lang": "en"}}]}, {"de2021", "null_lang"}),
    (
        {"$and": [{"lang": {"$ne": "en"}}, {"lang": {"$ne": "de"}}, {"year": {"$exists": True}}]},
        {"fr_str_year", "null_lang"},
    ),
    ({"$and": [{"$or": []}, {"lang": "en"}]}, set()),
    ({"$or": [{"$and": []}, {"lang": "en"}]}, set(ROWS)),
    ({"title": {"$like": "%SQL%"}, "lang": None}, {"null_lang"}),
    ({field_key("back\\slash"): {"$gte": 2}, "ünï": {"$in": ["ok", "no"]}}, {"dotted"}),
    ({"a'; DROP TABLE documents; --": 1}, set()),
    ({"ünï": {"$ne": "ok"}}, set(ROWS) - {"dotted"}),
]


@pytest.mark.parametrize(("filter_", "expected"), CASES, ids=[json.dumps(c[0], default=str) for c in CASES])
def test_sql_on_real_rows(run: Runner, filter_: dict[str, Any], expected: set[str]) -> None:
    assert run(filter_) == expected
    assert _py(filter_) == expected


@pytest.mark.parametrize("form", FORMS)
def test_quote_in_key_on_new_sqlite(form: str) -> None:
    run = _runner(_connect_apsw, ROWS, form=form)
    assert run({'q"uote': "x"}) == {"dotted"}
    assert _py({'q"uote': "x"}) == {"dotted"}


@pytest.mark.parametrize("form", FORMS)
def test_escaped_json_text_is_read_correctly(form: str) -> None:
    run = _runner(_connect_apsw, ROWS, ensure_ascii=True, form=form)
    assert run({"ünï": "ok"}) == {"dotted"}
    assert run({'q"uote': {"$in": ["x", None]}}) == set(ROWS)


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("filter_", "message"),
    [
        ({"a": {"$gtx": 1}}, r"Unknown operator '\$gtx' at a; valid comparison operators: \$eq"),
        ({"$xor": []}, r"Unknown logical operator '\$xor'.*\\\\\$xor"),
        ({"a": {"b": 1}}, r"non-operator key 'b'.*'a\.b'"),
        ({"a": [1, 2]}, r"\$in"),
        ({"a": {"$in": "abc"}}, r"\$in at a needs a list"),
        ({"a": {"$gt": None}}, r"\$gt at a compares numbers or strings"),
        ({"a": {"$gt": True}}, r"\$gt at a compares numbers or strings"),
        ({"a": {"$exists": 1}}, r"\$exists at a takes True or False"),
        ({"a": {"$contains": None}}, r"\$contains at a needs"),
        ({"a": {"$like": 5}}, r"\$like at a needs a string pattern"),
        ({"a": {}}, r"empty operator dict"),
        ({"a": object()}, r"unsupported value"),
        ({"a": float("nan")}, r"not a finite number"),
        ({"a": 2**70}, r"64-bit"),
        ({"a..b": 1}, r"empty part"),
        ({"a\\": 1}, r"lone backslash"),
        ({"$and": {"a": 1}}, r"\$and at the top level takes a list"),
        ({"$or": [{"a": 1}, 3]}, r"got 3 at \$or\[1\]"),
        ({"$not": [{"a": 1}]}, r"must be a dict"),
        ({1: 2}, r"keys must be strings"),
        (["a"], r"must be a dict"),
    ],
)
def test_malformed_filters_raise_filter_error(filter_: Any, message: str) -> None:
    with pytest.raises(FilterError, match=message):
        compile_filter(filter_)
    with pytest.raises(FilterError):
        matches(filter_, {})


def test_filter_error_is_value_error() -> None:
    with pytest.raises(ValueError):
        compile_filter({"a": {"$nope": 1}})


def test_field_key_round_trip() -> None:
    for parts in [("a",), ("a.b", "c"), ("$x", "y\\z"), ("ü", "😀.")]:
        assert parse_field_key(field_key(*parts)) == parts
    with pytest.raises(FilterError):
        field_key()


# ----------------------------------------------------------------------------- SQL == Python (property)

KEYS = ["a", "b", "n.x", "n.y", field_key("d.k")]
_text = st.one_of(
    st.sampled_from(["", "a", "ab", "A", "aB", "a%", "b_c", "ü", "1"]),
    st.text(alphabet=st.sampled_from(list("abAB%_\\ü😀*?[] ")), max_size=4),
)
_number = st.one_of(
    st.integers(min_value=-2, max_value=2),
    st.integers(min_value=-8, max_value=8).map(lambda i: i / 4),
    st.integers(min_value=-(2**53), max_value=2**53),
)
_POOL = [None, True, False, 0, 1, 2, 1.0, 0.5, -1, "", "a", "ab", "A", "aB", "a%", "b_c", "1", "ü"]
_scalar = st.one_of(st.sampled_from(_POOL), st.none(), st.booleans(), _number, _text)
_json_value = _scalar | st.recursive(
    _scalar,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["x", "y"]), inner, max_size=2)
    ),
    max_leaves=5,
)
_metadata = st.fixed_dictionaries(
    {},
    optional={
        "a": _json_value,
        "b": _json_value,
        "n": st.fixed_dictionaries({}, optional={"x": _json_value, "y": _json_value}) | _json_value,
        "d.k": _json_value,
    },
)


def _condition() -> st.SearchStrategy[dict[str, Any]]:
    key = st.sampled_from(KEYS)
    operator_value = st.one_of(
        st.tuples(st.sampled_from(["$eq", "$ne"]), _scalar),
        st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), st.one_of(_number, _text)),
        st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(_scalar, max_size=4)),
        st.tuples(st.sampled_from(["$exists", "$empty"]), st.booleans()),
        st.tuples(st.just("$contains"), st.one_of(st.booleans(), _number, _text)),
        st.tuples(st.sampled_from(["$like", "$ilike"]), _text),
    )
    return st.builds(lambda k, ov: {k: {ov[0]: ov[1]}}, key, operator_value) | st.builds(
        lambda k, v: {k: v}, key, _scalar
    )


_filter = st.recursive(
    _condition(),
    lambda inner: st.one_of(
        st.builds(lambda fs: {"$and": fs}, st.lists(inner, max_size=3)),
        st.builds(lambda fs: {"$or": fs}, st.lists(inner, max_size=3)),
        st.builds(lambda f: {"$not": f}, inner),
        st.builds(lambda f, g: {**f, **g}, inner, inner),
    ),
    max_leaves=6,
)


_FIXED_ROWS: list[dict[str, Any]] = [
    *({"a": v, "n": {"x": v}, "d.k": v} for v in _POOL),
    *({"b": v, "n": v, "a": [v, "a"]} for v in _POOL),
    {"a": [], "b": {}, "n": {"y": [1, "ab"]}},
    {"a": {"x": 1}, "b": [[1]], "n": {"x": None, "y": "a%b"}},
    {},
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filter_=_filter, rows=st.lists(_metadata, max_size=4))
def test_sql_agrees_with_python_reference(filter_: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    table = {str(i): row for i, row in enumerate(_FIXED_ROWS + rows)}
    expected = _py(filter_, table)
    for connect in (_connect_apsw, _connect_stdlib):
        for form in FORMS:
            assert _runner(connect, table, form=form)(filter_) == expected, (form, filter_, table)


def test_operator_list_is_documented() -> None:
    doc = compile_filter.__module__
    assert doc == "ogma.store.sqlite.filters"
    assert set(COMPARISON_OPERATORS) == {
        "$eq",
        "$ne",
        "$gt",
        "$gte",
        "$lt",
        "$lte",
        "$in",
        "$nin",
        "$exists",
        "$contains",
        "$like",
        "$ilike",
        "$empty",
    }


@pytest.mark.parametrize("literal", ["50%", "a_b", "back\\slash", "%%", "\\", "[*?]"])
def test_escape_like_matches_literally(literal: str) -> None:
    rows = {"exact": {"t": literal}, "longer": {"t": f"xx{literal}yy"}, "other": {"t": "zzz"}}
    for connect, form in [(c, f) for c in (_connect_apsw, _connect_stdlib) for f in FORMS]:
        run = _runner(connect, rows, form=form)
        assert (
            run({"t": {"$like": escape_like(literal)}})
            == {"exact"}
            == _py({"t": {"$like": escape_like(literal)}}, rows)
        )
        contains = {"t": {"$ilike": "%" + escape_like(literal) + "%"}}
        assert run(contains) == {"exact", "longer"} == _py(contains, rows)


def test_documented_missing_field_table_holds() -> None:
    """The semantics table in docs/filters.md is checked against both evaluators."""
    import ast
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[3] / "docs" / "filters.md").read_text(encoding="utf-8")
    start = doc.index('| filter | `{"x": 1}`')
    table = doc[start:].split("\n\n")[0]
    lines = table.splitlines()[2:]
    docs = {"one": {"x": 1}, "null": {"x": None}, "missing": {}, "string": {"x": "1"}, "true": {"x": True}}
    assert len(lines) == 11
    for connect, form in [(c, f) for c in (_connect_apsw, _connect_stdlib) for f in FORMS]:
        run = _runner(connect, docs, form=form)
        for line in lines:
            cells = [c.strip() for c in line.strip("|").split("|")]
            filter_ = ast.literal_eval(cells[0].strip("`"))
            expected = {name for name, cell in zip(docs, cells[1:]) if cell == "yes"}
            assert run(filter_) == expected == _py(filter_, docs), line


# ----------------------------------------------------------------------------- large-filter SQL == Python

_same_field_alternatives = st.builds(
    lambda key, op, values: {op: [{key: v} if op == "$or" else {key: {"$ne": v}} for v in values]},
    st.sampled_from(KEYS),
    st.sampled_from(["$or", "$and"]),
    st.lists(_scalar, min_size=2, max_size=6),
) | st.builds(
    lambda key, values: {"$or": [{key: {"$contains": v}} for v in values]},
    st.sampled_from(KEYS),
    st.lists(st.one_of(st.booleans(), _number, _text), min_size=2, max_size=6),
)
_wide_filter = st.recursive(
    _condition() | _same_field_alternatives,
    lambda inner: st.one_of(
        st.builds(lambda fs: {"$and": fs}, st.lists(inner, max_size=5)),
        st.builds(lambda fs: {"$or": fs}, st.lists(inner, max_size=5)),
        st.builds(lambda f: {"$not": f}, inner),
    ),
    max_leaves=10,
)


@contextlib.contextmanager
def _small_sql_limits() -> Iterator[None]:
    """Every $in as a JSON array through json_each, every chain of three or more grouped."""
    saved = filters_module.IN_INLINE_MAX, filters_module._CHAIN, filters_module.MAX_COMPOUND_TERMS
    filters_module.IN_INLINE_MAX = 0
    setattr(filters_module, "_CHAIN", 2)  # noqa: B010 - a Final constant, changed for this test only
    setattr(filters_module, "MAX_COMPOUND_TERMS", 3)  # noqa: B010 - larger filters fall back to the expression
    try:
        yield
    finally:
        filters_module.IN_INLINE_MAX = saved[0]
        setattr(filters_module, "_CHAIN", saved[1])  # noqa: B010
        setattr(filters_module, "MAX_COMPOUND_TERMS", saved[2])  # noqa: B010


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filter_=_wide_filter, rows=st.lists(_metadata, max_size=4), small=st.booleans())
def test_merged_and_json_each_sql_agrees_with_python(
    filter_: dict[str, Any], rows: list[dict[str, Any]], small: bool
) -> None:
    """Same-field alternatives (merged into one $in / contains-any) and long lists (json_each) keep the meaning."""
    table = {str(i): row for i, row in enumerate(_FIXED_ROWS + rows)}
    expected = _py(filter_, table)
    with _small_sql_limits() if small else contextlib.nullcontext():
        for connect in (_connect_apsw, _connect_stdlib):
            for form in FORMS:
                assert _runner(connect, table, form=form)(filter_) == expected, (form, filter_, table)


def test_same_field_alternatives_are_merged_exact_sql() -> None:
    sql, params = compile_filter({"$or": [{"k": "a"}, {"k": {"$in": ["b", 1]}}, {"j": 2}]})
    assert sql == (
        f"((({T} IN ('integer', 'real') AND {V} IN (?)) OR ({T} = 'text' AND {V} IN (?, ?)))"
        f" OR ({T} IN ('integer', 'real') AND {V} = ?))"
    )
    assert params == ['$."k"', '$."k"', 1, '$."k"', '$."k"', "a", "b", '$."j"', '$."j"', 2]


def test_long_in_lists_bind_one_json_array() -> None:
    values = list(range(filters_module.IN_INLINE_MAX + 1))
    sql, params = compile_filter({"k": {"$in": values}})
    assert sql == f"({T} IN ('integer', 'real') AND {V} IN (SELECT value FROM json_each(?)))"
    assert params == ['$."k"', '$."k"', json.dumps(values)]


def test_double_negation_cancels_and_long_chains_are_grouped() -> None:
    assert compile_filter({"$not": {"$not": {"b": True}}}) == compile_filter({"b": True})
    sql, params = compile_filter({"$and": [{f"k{i}": True} for i in range(40)]})
    assert sql.count("(") - sql.count("IFNULL(json_type(") * 2 == 4  # 40 conditions: groups of 16, 16, 8, joined
    assert len(params) == 40


# ----------------------------------------------------------------------------- facets: the set algebra

_ATOMS: list[dict[str, Any]] = [
    {"a": 1},
    {"a": {"$ne": 1}},
    {"a": {"$in": [None, "a"]}},
    {"b": {"$exists": False}},
    {"b": {"$gte": 0, "$lt": 2}},
    {"a": {"$nin": [True, 0.5]}},
    {"n": {"$contains": 1}},  # needs the JSON: the rowid set falls back to the expression
]


@pytest.mark.parametrize("joiner", ["$and", "$or"])
def test_facet_sets_join_like_python(joiner: str) -> None:
    """Every pair and triple of plain, negated and JSON-only conditions, under $and/$or/$not."""
    table = {str(i): row for i, row in enumerate(_FIXED_ROWS)}
    runs = {form: _runner(_connect_apsw, table, form=form) for form in FORMS}
    filters: list[dict[str, Any]] = []
    for first in _ATOMS:
        for second in _ATOMS:
            filters.append({joiner: [first, second]})
            filters.append({"$not": {joiner: [first, {"$not": second}]}})
            filters += [{joiner: [first, second, third]} for third in _ATOMS[::2]]
    set_forms = 0
    for filter_ in filters:
        expected = _py(filter_, table)
        for form, run in runs.items():
            assert run(filter_) == expected, (form, filter_)
        set_forms += compile_search_filter(filter_, column="metadata", facets=FACETS).rows is not None
    assert set_forms > len(filters) // 2  # most of them run as rowid sets, not through the fallback


def test_rowid_set_of_a_filter_exact_sql() -> None:
    found = compile_search_filter({"$or": [{"a": {"$ne": 1}}, {"b": "x"}]}, column="metadata", facets=FACETS)
    assert found.rows is not None
    assert found.rows.sql == (
        'SELECT doc FROM "ogma_facets" WHERE field = ? AND kind = 1 AND value = ? '
        'EXCEPT SELECT doc FROM "ogma_facets" WHERE field = ? AND kind = 2 AND value = ?'
    )
    assert (found.rows.params, found.rows.complement) == (["a", 1, "b", "x"], True)
    assert compile_search_filter({"n.x": 1}, column="metadata", facets=FACETS).rows is None
    assert compile_filter({"a": {"$gt": 1, "$lte": 5}}, facets=FACETS) == (
        'rowid IN (SELECT doc FROM "ogma_facets" WHERE field = ? AND kind = 1 AND value > ? AND value <= ?)',
        ["a", 1, 5],
    )


def test_large_filters_fall_back_to_the_expression() -> None:
    filter_ = {"$or": [{f"k{i}": i} for i in range(filters_module.MAX_COMPOUND_TERMS + 1)]}
    assert compile_search_filter(filter_, column="metadata", facets=FACETS).rows is None
    rows = {"hit": {"k7": 7}, "miss": {"k7": 8}}
    assert _runner(_connect_apsw, rows, form="rowset")(filter_) == {"hit"} == _py(filter_, rows)
