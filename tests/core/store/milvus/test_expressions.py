"""The filter language compiled to Milvus expressions: exact text, refusals, and Milvus == Python.

The property test runs every generated filter on Milvus Lite and compares the matching
documents with the pure-Python evaluator (:func:`ogma.store.filters.matches`), as the SQL
compiler is compared in ``tests/core/store/test_filters.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from ogma.errors import FilterError
from ogma.store.filters import matches
from ogma.store.milvus.expressions import compile_expression, literal
from tests.core.store.test_filters import _FIXED_ROWS, _filter, _metadata, _scalar, _text

# --------------------------------------------------------------------------- exact expressions


def test_constants_fold() -> None:
    assert compile_expression(None) is True
    assert compile_expression({}) is True
    assert compile_expression({"$and": []}) is True
    assert compile_expression({"$or": []}) is False
    assert compile_expression({"$not": {"$or": []}}) is True
    assert compile_expression({"$id": {"$exists": True}}) is True
    assert compile_expression({"$id": None}) is False


def test_typed_comparisons_and_negations() -> None:
    v = 'facets["6b:v"]'
    t = 'facets["6b:t"]'
    assert compile_expression({"k": 3}) == f"{v} == 3"
    assert compile_expression({"k": {"$ne": True}}) == f"{v} != true"
    assert compile_expression({"k": None}) == (
        f'{t} not in ["bool", "number", "text", "text0", "array", "array0", "object", "object0"]'
    )
    assert compile_expression({"$not": {"k": {"$gt": 2}}}) == f'({t} not in ["number"] or {v} <= 2)'
    assert compile_expression({"k": {"$in": [1, 2.5, 2.0, "x", None]}}) == (
        f'({v} in ["x"] or {v} in [1, 2] or {v} in [2.5] or {t} not in '
        '["bool", "number", "text", "text0", "array", "array0", "object", "object0"])'
    )
    assert compile_expression({"k": {"$empty": False}}) == f'{t} in ["bool", "number", "text", "array", "object"]'


def test_document_fields() -> None:
    assert compile_expression({"$id": {"$in": ["a", "b"]}}) == 'doc_id in ["a", "b"]'
    assert compile_expression({"$content": "x"}) == '(has_text == true and text == "x")'
    assert compile_expression({"$content": {"$ne": "x"}}) == '(has_text == false or text != "x")'
    assert compile_expression({"$content": {"$exists": False}}) == "has_text == false"
    assert compile_expression({"$content": {"$contains": "a%"}}) == '(has_text == true and text like "%a\\\\%%")'


def test_keys_never_need_quoting() -> None:
    evil = 'x"] or id != "'
    expression = compile_expression({evil: "v"})
    assert isinstance(expression, str) and evil not in expression
    assert literal('a"b\\c') == '"a\\"b\\\\c"'


@pytest.mark.parametrize(
    ("filter_", "operator"),
    [
        ({"$not": {"t": {"$contains": "a"}}}, r"\$contains"),
        ({"$not": {"t": {"$like": "a%b"}}}, r"\$like"),
        ({"t": {"$like": "a\\%%"}}, r"\$like"),
        ({"$content": {"$ilike": "abc%"}}, r"\$ilike"),
        ({"$content": {"$like": "__"}}, r"\$like"),
        ({"t": "line\nbreak"}, "line break"),
    ],
)
def test_what_milvus_cannot_express_is_refused(filter_: dict[str, Any], operator: str) -> None:
    with pytest.raises(FilterError, match=operator):
        compile_expression(filter_)


def test_malformed_filters_raise_the_language_error() -> None:
    with pytest.raises(FilterError, match="Unknown operator"):
        compile_expression({"k": {"$bogus": 1}})
    with pytest.raises(FilterError, match="must be a dict"):
        compile_expression(["k"])  # type: ignore[arg-type]


# --------------------------------------------------------------------------- Milvus == Python (property)

_CONTENT_KEYS = ["$id", "$content"]


def _document_condition() -> st.SearchStrategy[dict[str, Any]]:
    operator_value = st.one_of(
        st.tuples(st.sampled_from(["$eq", "$ne"]), _scalar),
        st.tuples(st.sampled_from(["$gt", "$gte", "$lt", "$lte"]), _text),
        st.tuples(st.sampled_from(["$in", "$nin"]), st.lists(_scalar, max_size=3)),
        st.tuples(st.sampled_from(["$exists", "$empty"]), st.booleans()),
        st.tuples(st.just("$contains"), _text),
        st.tuples(st.sampled_from(["$like", "$ilike"]), _text),
    )
    return st.builds(lambda k, ov: {k: {ov[0]: ov[1]}}, st.sampled_from(_CONTENT_KEYS), operator_value)


_any_filter = st.one_of(
    _filter,
    _document_condition(),
    st.builds(lambda f, g: {"$and": [f, g]}, _filter, _document_condition()),
    st.builds(lambda f, g: {"$or": [f, g]}, _filter, _document_condition()),
)

_counter = itertools.count()


@pytest.fixture(scope="module")
def table(milvus_uri: str) -> Iterator[Any]:
    from ogma.store.milvus import MilvusStore

    store = MilvusStore(milvus_uri, f"expressions_{next(_counter)}", dim=2)
    rows = [(f"fixed{i}", text, meta) for i, (meta, text) in enumerate(zip(_FIXED_ROWS, itertools.cycle(TEXTS)))]
    store.add(
        [t for _, t, _ in rows],
        [{**m, "_fixed": True} for _, _, m in rows],
        [i for i, _, _ in rows],
        embeddings=np.ones((len(rows), 2)),
    )
    yield store, rows
    store.drop()
    store.close()


TEXTS = [None, "", "a", "ab", "A%b", "b_c", "ü a", "aB"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(filter_=_any_filter, rows=st.lists(st.tuples(_metadata, st.one_of(st.none(), _text)), max_size=4))
def test_milvus_agrees_with_python_reference(
    table: Any, filter_: dict[str, Any], rows: list[tuple[dict[str, Any], str | None]]
) -> None:
    store, fixed = table
    example = next(_counter)
    extra = [(f"e{example}-{i}", text, meta) for i, (meta, text) in enumerate(rows)]
    if extra:
        store.add(
            [t for _, t, _ in extra],
            [{**m, "_ex": example} for _, _, m in extra],
            [i for i, _, _ in extra],
            embeddings=np.ones((len(extra), 2)),
        )
    documents = fixed + extra
    expected = {doc_id for doc_id, text, meta in documents if matches(filter_, meta, id=doc_id, content=text)}
    try:
        compile_expression(filter_)
    except FilterError as exc:
        note(f"refused: {exc}")
        event("refused")
        assert "Milvus" in str(exc) or "line break" in str(exc)
        return
    scope = {"$or": [{"_fixed": True}, {"_ex": example}]}
    event("compared, some documents match" if expected else "compared, none match")
    hits = store.search(vector=np.ones(2), k=1000, filter={"$and": [scope, filter_]})
    assert {h.id for h in hits} == expected, (filter_, documents)


# --------------------------------------------------------------------------- the SQL tests' tables, on Milvus


def _matching(store: Any, filter_: dict[str, Any]) -> set[str]:
    return {h.id for h in store.search(vector=np.ones(2), k=1000, filter=filter_)}


@pytest.fixture(scope="module")
def metadata_rows(milvus_uri: str) -> Iterator[Any]:
    from ogma.store.milvus import MilvusStore
    from tests.core.store.test_filters import ROWS

    store = MilvusStore(milvus_uri, f"metadata_rows_{next(_counter)}", dim=2)
    store.add([""] * len(ROWS), list(ROWS.values()), list(ROWS), embeddings=np.ones((len(ROWS), 2)))
    yield store
    store.drop()
    store.close()


@pytest.fixture(scope="module")
def document_rows(milvus_uri: str) -> Iterator[Any]:
    from ogma.store.milvus import MilvusStore
    from tests.core.store.test_filters_documents import ROWS

    store = MilvusStore(milvus_uri, f"document_rows_{next(_counter)}", dim=2)
    store.add([t for _, t, _ in ROWS], [m for _, _, m in ROWS], [i for i, _, _ in ROWS], embeddings=np.ones((5, 2)))
    yield store
    store.drop()
    store.close()


def _cases(module: str) -> list[Any]:
    import importlib
    import json

    cases = importlib.import_module(module).CASES
    return [pytest.param(f, e, id=json.dumps(f, default=str)) for f, e in cases]


@pytest.mark.parametrize(("filter_", "expected"), _cases("tests.core.store.test_filters"))
def test_the_metadata_table_on_milvus(metadata_rows: Any, filter_: dict[str, Any], expected: set[str]) -> None:
    assert _matching(metadata_rows, filter_) == expected


REFUSED_DOCUMENT_CASES = [{"$content": {"$ilike": "%dog"}}]
"""``$ilike`` with letters on ``$content``: Milvus keeps no lowered copy of the text."""


@pytest.mark.parametrize(("filter_", "expected"), _cases("tests.core.store.test_filters_documents"))
def test_the_document_field_table_on_milvus(document_rows: Any, filter_: dict[str, Any], expected: set[str]) -> None:
    if filter_ in REFUSED_DOCUMENT_CASES:
        with pytest.raises(FilterError, match=r"\$ilike on \$content"):
            _matching(document_rows, filter_)
    else:
        assert _matching(document_rows, filter_) == expected
