"""convert_filters: one table row per Haystack operator and field kind, and one per malformed filter."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from haystack.errors import FilterError

import ogma.errors
from haystack_integrations.document_stores.ogma import OgmaFilterError, convert_filters
from haystack_integrations.document_stores.ogma.filters import COMPARISON_OPERATORS
from ogma.store.filters import matches

EQ_EN = {"field": "meta.lang", "operator": "==", "value": "en"}

TRANSLATIONS: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    ("==", {"field": "meta.year", "operator": "==", "value": 2020}, {"year": {"$eq": 2020}}),
    ("== None", {"field": "meta.year", "operator": "==", "value": None}, {"year": {"$eq": None}}),
    ("!=", {"field": "meta.lang", "operator": "!=", "value": "en"}, {"lang": {"$ne": "en"}}),
    ("!= None", {"field": "meta.lang", "operator": "!=", "value": None}, {"lang": {"$ne": None}}),
    (">", {"field": "meta.year", "operator": ">", "value": 2020}, {"year": {"$gt": 2020}}),
    (">=", {"field": "meta.score", "operator": ">=", "value": 0.5}, {"score": {"$gte": 0.5}}),
    ("score", {"field": "score", "operator": ">", "value": 0.5}, {"_haystack_score": {"$gt": 0.5}}),
    ("<", {"field": "meta.year", "operator": "<", "value": -3}, {"year": {"$lt": -3}}),
    ("<=", {"field": "meta.year", "operator": "<=", "value": 2020}, {"year": {"$lte": 2020}}),
    (
        "> ISO date",
        {"field": "meta.d", "operator": ">", "value": "1972-12-11T19:54:58"},
        {"d": {"$gt": "1972-12-11T19:54:58"}},
    ),
    ("<= date", {"field": "meta.d", "operator": "<=", "value": "2024-03-01"}, {"d": {"$lte": "2024-03-01"}}),
    (
        "> datetime",
        {"field": "meta.d", "operator": ">", "value": dt.datetime(2024, 3, 1, 10)},
        {"d": {"$gt": dt.datetime(2024, 3, 1, 10)}},
    ),
    ("> None", {"field": "meta.year", "operator": ">", "value": None}, {"$or": []}),
    (">= None", {"field": "meta.year", "operator": ">=", "value": None}, {"$or": []}),
    ("< None", {"field": "meta.year", "operator": "<", "value": None}, {"$or": []}),
    ("<= None", {"field": "meta.year", "operator": "<=", "value": None}, {"$or": []}),
    (
        "in",
        {"field": "meta.lang", "operator": "in", "value": ["en", "de", None]},
        {"lang": {"$in": ["en", "de", None]}},
    ),
    ("not in", {"field": "meta.n", "operator": "not in", "value": [1, 2]}, {"n": {"$nin": [1, 2]}}),
    ("in []", {"field": "meta.n", "operator": "in", "value": []}, {"n": {"$in": []}}),
    ("AND", {"operator": "AND", "conditions": [EQ_EN]}, {"$and": [{"lang": {"$eq": "en"}}]}),
    ("OR", {"operator": "OR", "conditions": [EQ_EN, EQ_EN]}, {"$or": [{"lang": {"$eq": "en"}}] * 2}),
    ("NOT", {"operator": "NOT", "conditions": [EQ_EN]}, {"$not": {"$and": [{"lang": {"$eq": "en"}}]}}),
    ("AND []", {"operator": "AND", "conditions": []}, {"$and": []}),
    (
        "nested",
        {"operator": "OR", "conditions": [{"operator": "NOT", "conditions": [EQ_EN]}]},
        {"$or": [{"$not": {"$and": [{"lang": {"$eq": "en"}}]}}]},
    ),
    ("meta.a.b", {"field": "meta.author.name", "operator": "==", "value": "Ann"}, {"author.name": {"$eq": "Ann"}}),
    ("meta.$x", {"field": "meta.$x", "operator": "==", "value": 1}, {"\\$x": {"$eq": 1}}),
    ("id", {"field": "id", "operator": "in", "value": ["a", "b"]}, {"$id": {"$in": ["a", "b"]}}),
    ("content", {"field": "content", "operator": "==", "value": None}, {"$content": {"$eq": None}}),
    ("bare name", {"field": "lang", "operator": "==", "value": "en"}, {"lang": {"$eq": "en"}}),
]


@pytest.mark.parametrize(("case", "haystack", "ogma_filter"), TRANSLATIONS, ids=[t[0] for t in TRANSLATIONS])
def test_translation(case: str, haystack: dict[str, Any], ogma_filter: dict[str, Any]) -> None:
    assert convert_filters(haystack) == ogma_filter


def test_every_comparison_operator_has_a_row() -> None:
    covered = {t[1].get("operator") for t in TRANSLATIONS}
    assert set(COMPARISON_OPERATORS) <= covered
    assert {"AND", "OR", "NOT"} <= covered


def test_no_filter() -> None:
    assert convert_filters(None) is None
    assert convert_filters({}) is None


def test_none_ordering_matches_nothing_and_not_of_it_everything() -> None:
    never = convert_filters({"field": "meta.n", "operator": ">", "value": None})
    assert not matches(never, {"n": 5})
    assert matches({"$not": never}, {"n": 5})


MALFORMED: list[tuple[str, Any, str]] = [
    ("not a dict", "lang == en", "filters must be a dict"),
    ("list", [EQ_EN], "filters must be a dict"),
    ("no operator", {"conditions": [EQ_EN]}, "no 'operator' key"),
    ("no conditions", {"operator": "AND"}, "no 'conditions' key"),
    ("conditions not a list", {"operator": "AND", "conditions": EQ_EN}, "conditions must be a list"),
    ("unknown logic", {"operator": "XOR", "conditions": []}, "unknown logical operator 'XOR'"),
    ("condition not a dict", {"operator": "AND", "conditions": ["x"]}, "filters.conditions[0] must be"),
    ("no field", {"operator": "AND", "conditions": [{"operator": "==", "value": 1}]}, "has a 'value' but no 'field'"),
    ("no comparison operator", {"field": "meta.x", "value": 1}, "has a 'field' but no 'operator'"),
    ("no value", {"field": "meta.x", "operator": "=="}, "has a 'field' but no 'value'"),
    ("unknown comparison", {"field": "meta.x", "operator": "~=", "value": 1}, "unknown comparison operator '~='"),
    ("field not a string", {"field": 3, "operator": "==", "value": 1}, "field must be a non-empty string"),
    ("empty field", {"field": "", "operator": "==", "value": 1}, "field must be a non-empty string"),
    ("empty part", {"field": "meta.a..b", "operator": "==", "value": 1}, "has an empty part"),
    ("embedding", {"field": "embedding", "operator": "==", "value": None}, "'embedding' cannot be filtered on"),
    ("reserved key", {"field": "meta._haystack_score", "operator": ">", "value": 0.5}, "filter on the field 'score'"),
    ("reserved bare", {"field": "_haystack_score", "operator": "==", "value": 1}, "filter on the field 'score'"),
    ("reserved nested", {"field": "meta._haystack_score.x", "operator": "==", "value": 1}, "keeps document scores"),
    ("blob", {"field": "blob.mime_type", "operator": "==", "value": "x"}, "'blob.mime_type' cannot be filtered on"),
    ("meta itself", {"field": "meta", "operator": "==", "value": {}}, "'meta' cannot be filtered on"),
    ("dotted non-meta", {"field": "foo.bar", "operator": "==", "value": 1}, "metadata fields start with 'meta.'"),
    ("== list", {"field": "meta.x", "operator": "==", "value": [1]}, "use 'in' / 'not in'"),
    ("== dict", {"field": "meta.x", "operator": "==", "value": {"a": 1}}, "got dict"),
    ("> string", {"field": "meta.x", "operator": ">", "value": "1"}, "only when they are ISO 8601 dates"),
    (">= list", {"field": "meta.x", "operator": ">=", "value": [1]}, "use 'in' / 'not in'"),
    ("< bool", {"field": "meta.x", "operator": "<", "value": True}, "cannot order booleans"),
    ("in scalar", {"field": "meta.x", "operator": "in", "value": 9}, "needs a list of values, got int"),
    ("in tuple", {"field": "meta.x", "operator": "in", "value": (10, 11)}, "needs a list of values, got tuple"),
    ("not in string", {"field": "meta.x", "operator": "not in", "value": "ab"}, "needs a list of values, got str"),
    ("in nested list", {"field": "meta.x", "operator": "in", "value": [[1]]}, "got list"),
    ("NaN", {"field": "meta.x", "operator": "==", "value": float("nan")}, "not a finite number"),
    ("huge int", {"field": "meta.x", "operator": "==", "value": 2**70}, "outside the 64-bit range"),
    ("lone surrogate", {"field": "meta.x", "operator": "==", "value": "\ud800"}, "not valid Unicode"),
]


@pytest.mark.parametrize(("case", "bad", "message"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_filters_raise_filter_error_naming_the_problem(case: str, bad: Any, message: str) -> None:
    with pytest.raises(FilterError, match=None) as info:
        convert_filters(bad)
    assert message in str(info.value)
    assert isinstance(info.value, OgmaFilterError)
    assert isinstance(info.value, ogma.errors.FilterError)  # and Ogma's own FilterError (a ValueError)


def test_the_error_names_the_condition() -> None:
    bad = {"operator": "AND", "conditions": [EQ_EN, {"operator": "OR", "conditions": [{"field": "meta.x"}]}]}
    with pytest.raises(OgmaFilterError, match=r"filters\.conditions\[1\]\.conditions\[0\]"):
        convert_filters(bad)
