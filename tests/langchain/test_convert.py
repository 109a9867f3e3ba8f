"""The LangChain -> Ogma filter mapping: one row per operator, alone and beside other operators.

Two tables. The first pins the exact Ogma filter each LangChain spelling becomes. The
second pins meaning: for each operator, the documents a filter selects, written as a
plain Python predicate, must be the documents the store returns (and those the core's
pure-Python evaluator accepts). Every mapped operator is also combined with other
operators on the same field, which must all hold (AND), never be replaced.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from langchain_ogma import OgmaVectorStore
from langchain_ogma._convert import to_ogma_filter
from ogma.errors import FilterError
from ogma.store.filters import matches

MAPPING: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = [
    ("eq-implicit", {"topic": "geo"}, {"topic": "geo"}),
    ("eq", {"topic": {"$eq": "geo"}}, {"topic": {"$eq": "geo"}}),
    ("ne", {"topic": {"$ne": "geo"}}, {"topic": {"$ne": "geo"}}),
    ("gt", {"year": {"$gt": 1}}, {"year": {"$gt": 1}}),
    ("gte", {"year": {"$gte": 1}}, {"year": {"$gte": 1}}),
    ("lt", {"year": {"$lt": 1}}, {"year": {"$lt": 1}}),
    ("lte", {"year": {"$lte": 1}}, {"year": {"$lte": 1}}),
    ("in", {"year": {"$in": [1, 2]}}, {"year": {"$in": [1, 2]}}),
    ("nin", {"year": {"$nin": [1, 2]}}, {"year": {"$nin": [1, 2]}}),
    ("exists", {"tags": {"$exists": True}}, {"tags": {"$exists": True}}),
    ("contains", {"tags": {"$contains": "a"}}, {"tags": {"$contains": "a"}}),
    ("like", {"title": {"$like": "A%"}}, {"title": {"$like": "A%"}}),
    ("ilike", {"title": {"$ilike": "a%"}}, {"title": {"$ilike": "a%"}}),
    ("empty", {"tags": {"$empty": True}}, {"tags": {"$empty": True}}),
    ("and", {"$and": [{"a": 1}, {"b": 2}]}, {"$and": [{"a": 1}, {"b": 2}]}),
    ("or", {"$or": [{"a": 1}, {"b": 2}]}, {"$or": [{"a": 1}, {"b": 2}]}),
    ("not", {"$not": {"a": 1}}, {"$not": {"a": 1}}),
    ("between", {"year": {"$between": [1, 2]}}, {"year": {"$gte": 1, "$lte": 2}}),
    ("not_contains", {"tags": {"$not_contains": "a"}}, {"$not": {"tags": {"$contains": "a"}}}),
    ("nor", {"$nor": [{"a": 1}, {"b": 2}]}, {"$not": {"$or": [{"a": 1}, {"b": 2}]}}),
    (
        "between+gte",
        {"year": {"$gte": 2004, "$between": [2000, 2009]}},
        {"$and": [{"year": {"$gte": 2004}}, {"year": {"$gte": 2000, "$lte": 2009}}]},
    ),
    (
        "between-first+lte",
        {"year": {"$between": [2000, 2009], "$lte": 2005}},
        {"$and": [{"year": {"$lte": 2005}}, {"year": {"$gte": 2000, "$lte": 2009}}]},
    ),
    (
        "between+between",
        {"year": {"$between": [2000, 2009]}, "n": {"$between": [1, 2]}},
        {"$and": [{"year": {"$gte": 2000, "$lte": 2009}}, {"n": {"$gte": 1, "$lte": 2}}]},
    ),
    (
        "not_contains+contains",
        {"tags": {"$contains": "a", "$not_contains": "b"}},
        {"$and": [{"tags": {"$contains": "a"}}, {"$not": {"tags": {"$contains": "b"}}}]},
    ),
    (
        "nor+not",
        {"$not": {"a": 1}, "$nor": [{"b": 2}]},
        {"$and": [{"$not": {"a": 1}}, {"$not": {"$or": [{"b": 2}]}}]},
    ),
    (
        "nested-between",
        {"$or": [{"year": {"$between": [1, 2], "$ne": 2}}, {"$not": {"year": {"$between": [5, 6]}}}]},
        {
            "$or": [
                {"$and": [{"year": {"$ne": 2}}, {"year": {"$gte": 1, "$lte": 2}}]},
                {"$not": {"year": {"$gte": 5, "$lte": 6}}},
            ]
        },
    ),
    ("empty-filter", {}, None),
]


@pytest.mark.parametrize(("filter_", "expected"), [(f, e) for _, f, e in MAPPING], ids=[i for i, _, _ in MAPPING])
def test_mapping(filter_: dict[str, Any], expected: dict[str, Any] | None) -> None:
    assert to_ogma_filter(filter_) == expected


def test_mapping_does_not_modify_the_input() -> None:
    filter_ = {"year": {"$gte": 2004, "$between": [2000, 2009]}, "$nor": [{"a": 1}]}
    snapshot = repr(filter_)
    to_ogma_filter(filter_)
    assert repr(filter_) == snapshot


# -- meaning: each operator selects what a plain predicate says ------------------------
def _doc(year: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"year": year, "title": f"{'Alpha' if year % 2 else 'beta'} {year}"}
    if year % 3:
        meta["tags"] = ["a"] if year % 3 == 1 else ["a", "b"]
    return meta


DOCS = {f"y{year}": _doc(year) for year in range(1996, 2014)}

Predicate = Callable[[dict[str, Any]], bool]


def _tags(m: dict[str, Any]) -> list[str]:
    return list(m.get("tags", []))


SEMANTICS: list[tuple[str, dict[str, Any], Predicate]] = [
    ("eq-implicit", {"year": 2004}, lambda m: m["year"] == 2004),
    ("eq", {"year": {"$eq": 2004}}, lambda m: m["year"] == 2004),
    ("ne", {"year": {"$ne": 2004}}, lambda m: m["year"] != 2004),
    ("gt", {"year": {"$gt": 2004}}, lambda m: m["year"] > 2004),
    ("gte", {"year": {"$gte": 2004}}, lambda m: m["year"] >= 2004),
    ("lt", {"year": {"$lt": 2004}}, lambda m: m["year"] < 2004),
    ("lte", {"year": {"$lte": 2004}}, lambda m: m["year"] <= 2004),
    ("in", {"year": {"$in": [2001, 2004]}}, lambda m: m["year"] in (2001, 2004)),
    ("nin", {"year": {"$nin": [2001, 2004]}}, lambda m: m["year"] not in (2001, 2004)),
    ("exists", {"tags": {"$exists": True}}, lambda m: "tags" in m),
    ("contains", {"tags": {"$contains": "b"}}, lambda m: "b" in _tags(m)),
    ("like", {"title": {"$like": "Alpha%"}}, lambda m: m["title"].startswith("Alpha")),
    ("ilike", {"title": {"$ilike": "alpha%"}}, lambda m: m["title"].lower().startswith("alpha")),
    ("empty", {"tags": {"$empty": True}}, lambda m: not _tags(m)),
    (
        "and",
        {"$and": [{"year": {"$gt": 2000}}, {"tags": {"$contains": "a"}}]},
        lambda m: m["year"] > 2000 and "a" in _tags(m),
    ),
    ("or", {"$or": [{"year": 1996}, {"year": 2013}]}, lambda m: m["year"] in (1996, 2013)),
    ("not", {"$not": {"year": {"$lt": 2010}}}, lambda m: m["year"] >= 2010),
    ("between", {"year": {"$between": [2000, 2009]}}, lambda m: 2000 <= m["year"] <= 2009),
    ("not_contains", {"tags": {"$not_contains": "b"}}, lambda m: "b" not in _tags(m)),
    ("nor", {"$nor": [{"year": {"$lt": 2000}}, {"year": {"$gt": 2010}}]}, lambda m: 2000 <= m["year"] <= 2010),
    # Mapped operators beside others on the same field: every operator holds.
    ("between+gte", {"year": {"$gte": 2004, "$between": [2000, 2009]}}, lambda m: 2004 <= m["year"] <= 2009),
    ("between+lte", {"year": {"$between": [2000, 2009], "$lte": 2005}}, lambda m: 2000 <= m["year"] <= 2005),
    (
        "between+gt+lt",
        {"year": {"$gt": 2001, "$between": [2000, 2009], "$lt": 2008}},
        lambda m: 2001 < m["year"] < 2008,
    ),
    ("between+ne", {"year": {"$between": [2000, 2003], "$ne": 2002}}, lambda m: m["year"] in (2000, 2001, 2003)),
    ("between+in", {"year": {"$in": [1999, 2005, 2011], "$between": [2000, 2010]}}, lambda m: m["year"] == 2005),
    (
        "not_contains+contains",
        {"tags": {"$contains": "a", "$not_contains": "b"}},
        lambda m: "a" in _tags(m) and "b" not in _tags(m),
    ),
    (
        "not_contains+exists",
        {"tags": {"$exists": True, "$not_contains": "b"}},
        lambda m: "tags" in m and "b" not in _tags(m),
    ),
    (
        "nor+field",
        {"year": {"$gte": 2005}, "$nor": [{"year": 2006}, {"tags": {"$contains": "b"}}]},
        lambda m: m["year"] >= 2005 and m["year"] != 2006 and "b" not in _tags(m),
    ),
    (
        "nor+and",
        {"$and": [{"year": {"$lt": 2008}}], "$nor": [{"year": {"$lt": 2002}}]},
        lambda m: 2002 <= m["year"] < 2008,
    ),
    (
        "all-mapped",
        {
            "year": {"$between": [1998, 2010], "$gte": 2000},
            "tags": {"$not_contains": "b"},
            "$nor": [{"year": 2004}],
        },
        lambda m: 2000 <= m["year"] <= 2010 and "b" not in _tags(m) and m["year"] != 2004,
    ),
]


@pytest.fixture(scope="module")
def store() -> Generator[OgmaVectorStore, None, None]:
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=4))
    vs.add_texts([f"text {key}" for key in DOCS], list(DOCS.values()), ids=list(DOCS))
    yield vs
    vs.close()


@pytest.mark.parametrize(("filter_", "predicate"), [(f, p) for _, f, p in SEMANTICS], ids=[i for i, _, _ in SEMANTICS])
def test_operator_semantics(store: OgmaVectorStore, filter_: dict[str, Any], predicate: Predicate) -> None:
    expected = {key for key, meta in DOCS.items() if predicate(meta)}
    assert expected and expected != set(DOCS)  # every row tells documents apart
    mapped = to_ogma_filter(filter_)
    assert {key for key, meta in DOCS.items() if matches(mapped, meta)} == expected
    assert {d.id for d in store.similarity_search("text", k=len(DOCS), filter=filter_)} == expected


def test_issue_case_between_does_not_overwrite_gte(store: OgmaVectorStore) -> None:
    docs = store.similarity_search("x", k=50, filter={"year": {"$gte": 2004, "$between": [2000, 2009]}})
    assert sorted(d.metadata["year"] for d in docs) == list(range(2004, 2010))


@pytest.mark.parametrize(
    "bad",
    [
        {"year": {"$between": [2000]}},
        {"year": {"$between": "2000-2009"}},
        {"year": {"$between": [1, 2, 3]}},
        {"year": {"$after": 2000}},
        {"year": {}},
        {"$nor": {"a": 1}},
    ],
    ids=["between-one", "between-str", "between-three", "unknown-op", "empty-ops", "nor-not-list"],
)
def test_malformed_filters_are_filter_errors(bad: dict[str, Any]) -> None:
    with pytest.raises(FilterError):
        to_ogma_filter(bad)
