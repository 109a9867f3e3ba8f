"""``to_ogma_filter``: one row per FilterOperator and FilterCondition, and what each row means.

Each row gives the exact Ogma filter and documents that must (and must not) match it under
the core's pure-Python evaluator, which the SQL compiler is property-tested against.
"""

from __future__ import annotations

from typing import Any

import pytest
from llama_index.core.vector_stores.types import FilterCondition, FilterOperator, MetadataFilter, MetadataFilters

from llama_index.vector_stores.ogma import to_ogma_filter
from llama_index.vector_stores.ogma.filters import CONDITIONS, OPERATORS
from ogma.errors import FilterError
from ogma.store.filters import matches

F = MetadataFilter
OP = FilterOperator

# (operator, value, expected Ogma leaf, metadata that match, metadata that do not)
OPERATOR_TABLE: list[tuple[FilterOperator, Any, dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]] = [
    (OP.EQ, "en", {"k": {"$eq": "en"}}, [{"k": "en"}], [{"k": "fr"}, {}, {"k": None}]),
    (OP.NE, "en", {"k": {"$ne": "en"}}, [{"k": "fr"}, {}], [{"k": "en"}]),
    (OP.GT, 3, {"k": {"$gt": 3}}, [{"k": 4}, {"k": 3.5}], [{"k": 3}, {}, {"k": "9"}]),
    (OP.GTE, 3, {"k": {"$gte": 3}}, [{"k": 3}, {"k": 4}], [{"k": 2}, {}]),
    (OP.LT, 3, {"k": {"$lt": 3}}, [{"k": 2}], [{"k": 3}, {}]),
    (OP.LTE, 3, {"k": {"$lte": 3}}, [{"k": 3}, {"k": -1}], [{"k": 4}, {}]),
    (OP.IN, ["a", "b"], {"k": {"$in": ["a", "b"]}}, [{"k": "a"}, {"k": "b"}], [{"k": "c"}, {}, {"k": ["a"]}]),
    (OP.NIN, ["a", "b"], {"k": {"$nin": ["a", "b"]}}, [{"k": "c"}, {}], [{"k": "a"}]),
    (
        OP.ANY,
        ["a", "b"],
        {"$or": [{"k": {"$contains": "a"}}, {"k": {"$contains": "b"}}]},
        [{"k": ["a"]}, {"k": ["x", "b"]}],
        [{"k": ["c"]}, {"k": []}, {}],
    ),
    (
        OP.ALL,
        ["a", "b"],
        {"$and": [{"k": {"$contains": "a"}}, {"k": {"$contains": "b"}}]},
        [{"k": ["b", "a", "c"]}],
        [{"k": ["a"]}, {}],
    ),
    (OP.CONTAINS, "a", {"k": {"$contains": "a"}}, [{"k": ["a", "z"]}, {"k": "cat"}], [{"k": ["b"]}, {}]),
    (
        OP.TEXT_MATCH,
        "50%_off",
        {"k": {"$like": "%50\\%\\_off%"}},
        [{"k": "get 50%_off now"}],
        [{"k": "get 50% off"}, {"k": "GET 50%_OFF"}, {"k": ["50%_off"]}, {}],
    ),
    (
        OP.TEXT_MATCH_INSENSITIVE,
        "Paris",
        {"k": {"$ilike": "%Paris%"}},
        [{"k": "in PARIS today"}, {"k": "paris"}],
        [{"k": "Pari"}, {"k": ["paris"]}, {}],
    ),
    (OP.IS_EMPTY, None, {"k": {"$empty": True}}, [{}, {"k": None}, {"k": ""}, {"k": []}], [{"k": "x"}, {"k": [1]}]),
]


def test_the_table_covers_every_operator() -> None:
    assert {row[0] for row in OPERATOR_TABLE} == set(FilterOperator) == set(OPERATORS)
    assert set(CONDITIONS) == set(FilterCondition)


@pytest.mark.parametrize(
    ("operator", "value", "expected", "hits", "misses"), OPERATOR_TABLE, ids=[row[0].name for row in OPERATOR_TABLE]
)
def test_operator(
    operator: FilterOperator,
    value: Any,
    expected: dict[str, Any],
    hits: list[dict[str, Any]],
    misses: list[dict[str, Any]],
) -> None:
    ogma = to_ogma_filter(MetadataFilters(filters=[F(key="k", value=value, operator=operator)]))
    assert ogma == {"$and": [expected]}
    assert all(matches(ogma, m) for m in hits)
    assert not any(matches(ogma, m) for m in misses)


A = F(key="a", value=1)
B = F(key="b", value=2)


@pytest.mark.parametrize(
    ("filters", "expected", "hits", "misses"),
    [
        (
            MetadataFilters(filters=[A, B]),
            {"$and": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]},
            [{"a": 1, "b": 2}],
            [{"a": 1}, {"b": 2}],
        ),
        (
            MetadataFilters(filters=[A, B], condition=FilterCondition.OR),
            {"$or": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]},
            [{"a": 1}, {"b": 2}],
            [{}, {"a": 2}],
        ),
        (
            MetadataFilters(filters=[A, B], condition=FilterCondition.NOT),
            {"$not": {"$or": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]}},
            [{}, {"a": 2, "b": 1}],
            [{"a": 1}, {"b": 2}],
        ),
        (
            MetadataFilters(filters=[A, B], condition=None),
            {"$and": [{"a": {"$eq": 1}}, {"b": {"$eq": 2}}]},
            [{"a": 1, "b": 2}],
            [{"a": 1}],
        ),
        (
            MetadataFilters(
                filters=[
                    A,
                    MetadataFilters(
                        filters=[B, MetadataFilters(filters=[F(key="c", value=3)], condition=FilterCondition.NOT)],
                        condition=FilterCondition.OR,
                    ),
                ]
            ),
            {
                "$and": [
                    {"a": {"$eq": 1}},
                    {"$or": [{"b": {"$eq": 2}}, {"$not": {"$or": [{"c": {"$eq": 3}}]}}]},
                ]
            },
            [{"a": 1, "b": 2, "c": 3}, {"a": 1, "c": 4}],
            [{"a": 1, "b": 1, "c": 3}, {"b": 2}],
        ),
    ],
    ids=["AND", "OR", "NOT", "default-AND", "nested"],
)
def test_condition(
    filters: MetadataFilters, expected: dict[str, Any], hits: list[dict[str, Any]], misses: list[dict[str, Any]]
) -> None:
    ogma = to_ogma_filter(filters)
    assert ogma == expected
    assert all(matches(ogma, m) for m in hits)
    assert not any(matches(ogma, m) for m in misses)


def test_no_filter() -> None:
    assert to_ogma_filter(None) is None
    assert to_ogma_filter(MetadataFilters(filters=[])) is None


def test_keys_are_literal_not_paths() -> None:
    ogma = to_ogma_filter(MetadataFilters(filters=[F(key="file.name", value="a.txt")]))
    assert matches(ogma, {"file.name": "a.txt"})
    assert not matches(ogma, {"file": {"name": "a.txt"}})


def test_moderately_large_any_and_in() -> None:
    values = [f"v{i}" for i in range(200)]
    any_filter = to_ogma_filter(MetadataFilters(filters=[F(key="k", value=values, operator=OP.ANY)]))
    in_filter = to_ogma_filter(MetadataFilters(filters=[F(key="k", value=values, operator=OP.IN)]))
    assert matches(any_filter, {"k": ["v199"]}) and not matches(any_filter, {"k": ["v200"]})
    assert matches(in_filter, {"k": "v0"}) and not matches(in_filter, {"k": "v200"})


def test_unmappable_operator_is_named() -> None:
    class Operator:
        name = "NEAR"

    bad = MetadataFilter.model_construct(key="k", value=1, operator=Operator())
    with pytest.raises(FilterError, match="NEAR") as info:
        to_ogma_filter(MetadataFilters(filters=[bad]))
    assert "EQ" in str(info.value)  # the supported operators are listed


def test_unmappable_condition_is_named() -> None:
    bad = MetadataFilters.model_construct(filters=[A], condition="xor")
    with pytest.raises(FilterError, match="xor"):
        to_ogma_filter(bad)


@pytest.mark.parametrize(
    ("operator", "value"),
    [(OP.IN, "ab"), (OP.NIN, 3), (OP.ANY, "ab"), (OP.ALL, 1), (OP.TEXT_MATCH, 5), (OP.TEXT_MATCH_INSENSITIVE, ["a"])],
    ids=lambda v: getattr(v, "name", repr(v)),
)
def test_wrong_value_type_names_the_operator(operator: FilterOperator, value: Any) -> None:
    with pytest.raises(FilterError, match=operator.name):
        to_ogma_filter(MetadataFilters(filters=[F(key="k", value=value, operator=operator)]))


def test_value_the_core_refuses_names_the_operator() -> None:
    with pytest.raises(FilterError, match="GT"):
        to_ogma_filter(MetadataFilters(filters=[F(key="k", value=["a"], operator=OP.GT)]))


def test_not_metadata_filters() -> None:
    with pytest.raises(TypeError, match="MetadataFilters"):
        to_ogma_filter({"k": 1})  # type: ignore[arg-type]
