"""Hostile and extreme metadata filters: large valid filters work, bad ones raise FilterError.

Every case runs against a real store. Valid filters must return exactly what the pure-Python
evaluator ``matches`` says, on both SQLite drivers where they are usable. Invalid ones must
raise ``FilterError`` (never ``RecursionError``, ``OverflowError`` or a raw SQLite error),
including through ``Store.delete(filter=...)``, and leave every document in place.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from ogma.errors import FilterError
from ogma.store import Store
from ogma.store.filters import MAX_FILTER_DEPTH, matches, predicate
from ogma.store.sqlite.filters import compile_filter

DIM = 4
N_DOCS = 60


def _metadata(i: int) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "n": i,
        "s": f"v{i}",
        "tags": [f"t{i % 7}", i % 5, i % 3 == 0],
        "title": f"Title {i} of the set",
        "half": i / 2,
    }
    if i % 4 == 0:
        meta["opt"] = None
    if i % 6 == 0:
        del meta["s"]
    if i % 9 == 0:
        meta["n"] = str(i)  # a string where most documents hold a number
    return meta


METAS = {f"d{i}": _metadata(i) for i in range(N_DOCS)}


@pytest.fixture
def store() -> Iterator[Store]:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((N_DOCS, DIM)).astype(np.float32)
    with Store(":memory:", dim=DIM) as s:
        s.add([f"text {i}" for i in range(N_DOCS)], list(METAS.values()), list(METAS), embeddings=vectors)
        yield s


def _snapshot(store: Store) -> list[tuple[str, str, str]]:
    return [(d.id, d.text, json.dumps(d.metadata, sort_keys=True)) for d in store.iter_documents()]


def _expected(filter_: dict[str, Any]) -> set[str]:
    check = predicate(filter_)
    expected = {doc_id for doc_id, meta in METAS.items() if check(meta)}
    some = next(iter(METAS))
    assert (some in expected) is matches(filter_, METAS[some])  # predicate() is matches() parsed once
    return expected


def _nest(depth: int, key: str = "$not") -> dict[str, Any]:
    f: dict[str, Any] = {"n": 1}
    for _ in range(depth):
        f = {key: f} if key == "$not" else {key: [f]}
    return f


def _alternating(depth: int) -> dict[str, Any]:
    f: dict[str, Any] = {"n": 1}
    for i in range(depth):
        f = {"$and" if i % 2 else "$or": [f, {"n": {"$ne": i}}]}
    return f


BIG = 40_000
WIDE = 12_000  # alternatives on one field: more than SQLite's 32,766 variables at three per condition

# Valid filters of the sizes that LlamaIndex's ANY/IN and Haystack's "in" produce.
LARGE_VALID: list[Any] = [
    pytest.param({"$or": [{"n": i} for i in range(996)]}, id="or-996-eq-one-field"),
    pytest.param({"$or": [{f"k{i}": i} for i in range(995)] + [{"n": 3}]}, id="or-996-eq-distinct-fields"),
    pytest.param({"$and": [{"n": {"$ne": i}} for i in range(996)]}, id="and-996-ne-one-field"),
    pytest.param({"$and": [{f"k{i}": {"$exists": False}} for i in range(2_000)]}, id="and-2000-distinct-fields"),
    pytest.param({"n": {"$in": list(range(BIG))}}, id="in-40000-ints"),
    pytest.param({"s": {"$in": [f"v{i}" for i in range(BIG)]}}, id="in-40000-strings"),
    pytest.param({"n": {"$nin": list(range(0, BIG, 2))}}, id="nin-20000-ints"),
    pytest.param({"n": {"$in": [*range(BIG), *map(str, range(BIG)), None, True, 2.5]}}, id="in-80000-mixed-types"),
    pytest.param({"$or": [{"n": i} for i in range(WIDE)]}, id="or-12000-eq-one-field"),
    pytest.param({"$or": [{"tags": {"$contains": f"t{i}"}} for i in range(5_000)]}, id="llamaindex-any-5000"),
    pytest.param({"$or": [{"tags": {"$contains": v}} for v in [*range(WIDE), True, "t1"]]}, id="any-mixed-12002"),
    pytest.param({"$or": [{"title": {"$contains": f"{i} of"}} for i in range(300)]}, id="any-substring-300"),
    pytest.param(
        {"$and": [{"n": {"$in": list(range(0, BIG, 3))}}, {"$or": [{"s": f"v{i}"} for i in range(0, 60, 3)]}]},
        id="haystack-in-and-or",
    ),
    pytest.param(_nest(MAX_FILTER_DEPTH), id="not-100-deep"),
    pytest.param(_nest(MAX_FILTER_DEPTH, "$and"), id="and-100-deep"),
    pytest.param(_alternating(40), id="alternating-40-deep"),
    pytest.param(_alternating(MAX_FILTER_DEPTH), id="alternating-100-deep"),
    pytest.param({"$or": [{"$and": [{"n": i}, {"half": {"$gte": i / 2}}]} for i in range(1_000)]}, id="or-of-and-1000"),
]


@pytest.mark.parametrize("filter_", LARGE_VALID)
def test_large_valid_filters_work_in_the_store(store: Store, filter_: dict[str, Any]) -> None:
    before = _snapshot(store)
    hits = store.search(vector=np.ones(DIM, dtype=np.float32), k=N_DOCS, filter=filter_)
    assert {h.id for h in hits} == _expected(filter_)
    lexical = store.search("text", mode="lexical", k=N_DOCS, filter=filter_)
    assert {h.id for h in lexical} == _expected(filter_)
    assert _snapshot(store) == before


def _raw_runner(connect: Callable[[], Any]) -> Callable[[dict[str, Any]], set[str]]:
    con = connect()
    con.execute("CREATE TABLE documents (id TEXT, metadata TEXT)")
    for doc_id, meta in METAS.items():
        con.execute("INSERT INTO documents VALUES (?, ?)", (doc_id, json.dumps(meta, ensure_ascii=False)))

    def run(filter_: dict[str, Any]) -> set[str]:
        sql, params = compile_filter(filter_)
        return {row[0] for row in con.execute(f"SELECT id FROM documents WHERE {sql}", params)}

    return run


@pytest.mark.parametrize(
    "filter_",
    [p for p in LARGE_VALID if p.id != "alternating-100-deep"],  # deeper than an old parser stack
)
def test_large_valid_filters_on_the_standard_library_sqlite(filter_: dict[str, Any]) -> None:
    """The same SQL on the standard library's SQLite (often older, with a small parser stack)."""
    assert _raw_runner(lambda: sqlite3.connect(":memory:"))(filter_) == _expected(filter_)


def _circular() -> dict[str, Any]:
    f: dict[str, Any] = {}
    f["$not"] = f
    return f


def _circular_list() -> dict[str, Any]:
    children: list[Any] = []
    f: dict[str, Any] = {"$or": children}
    children.append(f)
    return f


BAD: list[Any] = [
    pytest.param(_nest(MAX_FILTER_DEPTH + 1), "more than 100 levels deep", id="not-101-deep"),
    pytest.param(_nest(1_200), "the maximum is 100", id="not-1200-deep"),
    pytest.param(_nest(5_000), "the maximum is 100", id="not-5000-deep"),
    pytest.param(_nest(5_000, "$and"), "the maximum is 100", id="and-5000-deep"),
    pytest.param(_nest(5_000, "$or"), "the maximum is 100", id="or-5000-deep"),
    pytest.param(_alternating(5_000), "the maximum is 100", id="alternating-5000-deep"),
    pytest.param(_circular(), "contains itself", id="circular-not"),
    pytest.param(_circular_list(), "contains itself", id="circular-or"),
    # 17,000 fields: 34,000 parameters over the facets (key, value), 68,000 over the JSON (path twice, value)
    pytest.param({"$or": [{f"k{i}": i} for i in range(17_000)]}, "at most 32,000 fit", id="sql-too-many-parameters"),
    pytest.param({"n": "\ud800"}, r"the \$eq value at n is not valid Unicode", id="surrogate-value"),
    pytest.param({"\udcff": 1}, "filter key .* is not valid Unicode", id="surrogate-key"),
    pytest.param({"n": {"$in": ["a", "\ud800"]}}, r"\$in value at n is not valid Unicode", id="surrogate-in-list"),
    pytest.param({"s": {"$like": "a\udc80%"}}, r"\$like pattern at s is not valid Unicode", id="surrogate-pattern"),
    pytest.param({"n": 2**63}, "outside the 64-bit range", id="int-too-large"),
    pytest.param({"n": {"$in": [*range(10), -(2**64)]}}, "outside the 64-bit range", id="int-too-small-in-list"),
    pytest.param({"n": float("nan")}, "not a finite number", id="nan"),
    pytest.param({"n": {"$gt": float("inf")}}, "not a finite number", id="inf"),
    pytest.param({"n": b"\xff"}, "unsupported value", id="bytes-value"),
    pytest.param({"n": {"$in": "abc"}}, "needs a list of values", id="in-bare-string"),
    pytest.param({"$or": {"n": 1}}, "takes a list of filters", id="or-dict"),
    pytest.param({"$and": [1, 2]}, "must be a dict", id="and-of-ints"),
    pytest.param({1: "x"}, "keys must be strings", id="int-key"),
    pytest.param({"n": {"$where": "1"}}, "Unknown operator", id="unknown-operator"),
    pytest.param({"a..b": 1}, "empty part", id="empty-key-part"),
]


@pytest.mark.parametrize(("filter_", "message"), BAD)
@pytest.mark.parametrize("entry", ["search", "delete", "compile", "matches"])
def test_bad_filters_raise_filter_error_and_change_nothing(
    store: Store, filter_: dict[str, Any], message: str, entry: str, request: pytest.FixtureRequest
) -> None:
    if entry == "matches" and "-sql-" in f"-{request.node.callspec.id}":
        pytest.skip("a limit of SQLite, not of the filter language: the Python evaluator has none")
    before = _snapshot(store)
    with pytest.raises(FilterError, match=message):
        if entry == "search":
            store.search(vector=np.ones(DIM, dtype=np.float32), filter=filter_)
        elif entry == "delete":
            store.delete(filter=filter_)
        elif entry == "compile":
            compile_filter(filter_)
        else:
            matches(filter_, {"n": 1})
    assert _snapshot(store) == before
    assert store.count() == N_DOCS


def test_filter_error_is_a_value_error_never_recursion_error() -> None:
    for depth in (101, 1_000, 10_000):
        with pytest.raises(ValueError, match="maximum is 100"):
            compile_filter(_nest(depth))


def test_delete_with_a_large_filter_deletes_exactly_the_matches(store: Store) -> None:
    filter_ = {"n": {"$in": list(range(0, BIG, 2))}}
    expected = _expected(filter_)
    assert store.delete(filter=filter_) == len(expected)
    assert {d.id for d in store.iter_documents()} == set(METAS) - expected


def test_deep_nesting_beyond_an_old_sqlite_parser_is_a_filter_error() -> None:
    """An old SQLite's fixed parser stack overflows on deep nesting: FilterError, not a raw error."""
    from ogma.store.sqlite.connect import connect

    conn = connect(":memory:")
    try:
        sql = "SELECT " + "NOT (" * 5000 + "1" + ")" * 5000
        with pytest.raises(FilterError, match="flatten it"):
            conn.fetchall(sql)
    finally:
        conn.close()


@pytest.mark.parametrize(
    "filter_",
    [
        pytest.param({"n": list(range(BIG))}, id="list-instead-of-in"),
        pytest.param({"n": {"$in": "x" * 1_000_000}}, id="huge-string-instead-of-list"),
        pytest.param([{"n": i} for i in range(BIG)], id="list-instead-of-dict"),
        pytest.param({"n": {"$gt": [1] * BIG}}, id="list-to-compare"),
    ],
)
def test_error_messages_stay_short_for_huge_filters(filter_: Any) -> None:
    with pytest.raises(FilterError) as info:
        compile_filter(filter_)
    assert len(str(info.value)) < 600


# -- the one depth and cycle guard, for the core's dicts and every adapter's filter objects -------------

from ogma.store.filters import check_nesting, validate_filter  # noqa: E402


class _Group:
    """A framework's filter group (LlamaIndex's MetadataFilters, a Haystack logic dict) in miniature."""

    def __init__(self, *children: Any) -> None:
        self.children = list(children)


def _children(node: object) -> list[object]:
    return node.children if isinstance(node, _Group) else []


def _groups(levels: int) -> _Group:
    """``levels`` groups, each inside the next (a leaf in the innermost)."""
    group = _Group("leaf")
    for _ in range(levels - 1):
        group = _Group(group)
    return group


def test_check_nesting_allows_100_levels_and_refuses_101() -> None:
    check_nesting(_groups(MAX_FILTER_DEPTH), _children)
    with pytest.raises(FilterError, match="The group nests more than 100 levels deep"):
        check_nesting(_groups(MAX_FILTER_DEPTH + 1), _children, what="The group")


def test_check_nesting_refuses_thousands_of_levels_without_recursion() -> None:
    with pytest.raises(FilterError, match="the maximum is 100"):
        check_nesting(_groups(100_000), _children)


def test_check_nesting_refuses_a_cycle() -> None:
    outer = _Group("leaf")
    inner = _Group(outer)
    outer.children.append(inner)
    with pytest.raises(FilterError, match="contains itself"):
        check_nesting(outer, _children)


def test_check_nesting_counts_a_shared_group_once_per_place() -> None:
    small = _Group("leaf")
    for _ in range(10):  # 2**11 - 2 places: fine
        small = _Group(small, small)
    check_nesting(small, _children)
    # 2**90 places, 91 distinct objects: refused at once (converting or parsing it would never end).
    group = _Group("leaf")
    for _ in range(90):
        group = _Group(group, group)
    with pytest.raises(FilterError, match=r"expands to more than 100,000 conditions"):
        check_nesting(group, _children)
    shared: dict[str, Any] = {"a": 1}
    for _ in range(90):
        shared = {"$or": [shared, shared]}
    with pytest.raises(FilterError, match=r"expands to more than 100,000 conditions"):
        validate_filter(shared)
