"""Filtered dense search: the rows that pass a filter, cached per store generation, scored by mask or gather."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ogma.store import Store
from ogma.store.filters import matches
from ogma.store.sqlite import mirror as mirror_module
from ogma.store.sqlite.mirror import PASSING_ENTRIES, MirrorSnapshot
from ogma.store.sqlite.passing import PassingRows
from ogma.store.sqlite.vectors import VectorCodec
from tests.core.store.test_filters import _FIXED_ROWS, _filter, _metadata

PRECISIONS = ("float32", "int8", "binary")


def _ids(store: Store, query: Any, k: int, filter_: Any) -> set[str]:
    return {hit.id for hit in store.search(vector=query, k=k, filter=filter_)}


def _expected(table: dict[str, Any], filter_: Any) -> set[str]:
    return {doc_id for doc_id, meta in table.items() if matches(filter_, meta)}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    filter_=_filter,
    rows=st.lists(_metadata, max_size=4),
    precision=st.sampled_from(PRECISIONS),
    score_all=st.booleans(),
    changed=_metadata,
)
def test_filtered_search_agrees_with_python_through_cache_mask_and_updates(
    filter_: dict[str, Any], rows: list[dict[str, Any]], precision: str, score_all: bool, changed: dict[str, Any]
) -> None:
    """Every document passing the filter comes back (k = all), before and after a cache hit and a metadata update,
    with type mixing (ints, floats, bools, strings, nulls, lists, objects, missing fields) from the shared strategy."""
    table = {str(i): row for i, row in enumerate(_FIXED_ROWS + rows)}
    vectors = np.random.default_rng(len(table)).standard_normal((len(table), 8)).astype(np.float32)
    threshold = 0.0 if score_all else 1.0  # 0: always score every row and mask; 1: always gather the passing rows
    with (
        mock.patch.object(mirror_module, "SCORE_ALL_ABOVE", threshold),
        Store(":memory:", dim=8, precision=precision) as store,
    ):  # type: ignore[arg-type]
        store.add(list(table), metadatas=list(table.values()), ids=list(table), embeddings=vectors)
        n = len(table)
        expected = _expected(table, filter_)
        assert _ids(store, vectors[0], n, filter_) == expected, (filter_, table)
        assert _ids(store, vectors[1], n, filter_) == expected  # the cached result
        store.update(ids=["0"], metadata=changed, replace=True)
        table["0"] = changed
        passing = _expected(table, filter_)
        if filter_ and passing:  # rewrite exactly the passing rows: their cached result must not survive
            assert store.update(filter=filter_, metadata=changed, replace=True) == len(passing)
            table.update(dict.fromkeys(passing, changed))
        assert _ids(store, vectors[0], n, filter_) == _expected(table, filter_), (filter_, table)


def _fill(store: Store, n: int, dim: int = 8) -> np.ndarray:
    vectors = np.random.default_rng(0).standard_normal((n, dim)).astype(np.float32)
    store.add(
        [f"doc {i}" for i in range(n)],
        metadatas=[{"cat": i % 4, "x": float(i)} for i in range(n)],
        ids=[str(i) for i in range(n)],
        embeddings=vectors,
    )
    return vectors


@pytest.mark.parametrize("precision", PRECISIONS)
def test_cached_filter_results_follow_every_write(tmp_path: Path, precision: str) -> None:
    path = tmp_path / "s.db"
    with Store(path, dim=8, precision=precision) as a, Store(path) as b:  # type: ignore[arg-type]
        vectors = _fill(a, 40)
        cat1 = {str(i) for i in range(40) if i % 4 == 1}
        assert _ids(a, vectors[0], 100, {"cat": 1}) == cat1
        a.update(ids=["0"], metadata={"cat": 1})  # a metadata update (merge)
        assert _ids(a, vectors[0], 100, {"cat": 1}) == cat1 | {"0"}
        a.update(filter={"x": {"$gte": 38.0}}, metadata={"cat": 1})  # an update by filter
        assert _ids(a, vectors[0], 100, {"cat": 1}) == cat1 | {"0", "38", "39"}
        a.add(["new"], metadatas=[{"cat": 1}], ids=["new"], embeddings=vectors[:1])
        a.delete(["1"])
        now = (cat1 | {"0", "38", "39", "new"}) - {"1"}
        assert _ids(a, vectors[0], 100, {"cat": 1}) == now
        assert _ids(b, vectors[0], 100, {"cat": 1}) == now  # another connection, its own mirror
        b.update(ids=["5"], metadata={"cat": 2}, replace=True)  # a foreign write: a must notice
        assert _ids(a, vectors[0], 100, {"cat": 1}) == now - {"5"}
        a.add(["2"], metadatas=[{"cat": 1}], ids=["2"], embeddings=vectors[2:3])  # replace by id
        assert _ids(a, vectors[0], 100, {"cat": 1}) == (now - {"5"}) | {"2"}


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize("filter_", [{"cat": 1}, {"x": {"$lt": 3.0}}, {"cat": {"$ne": 1}}])
def test_mask_and_gather_rank_alike(precision: str, filter_: dict[str, Any]) -> None:
    with Store(":memory:", dim=16, precision=precision) as store:  # type: ignore[arg-type]
        vectors = _fill(store, 200, dim=16)
        results = []
        for threshold in (0.0, 1.0):
            with mock.patch.object(mirror_module, "SCORE_ALL_ABOVE", threshold):
                hits = store.search(vector=vectors[3], k=10, filter=filter_)
                results.append([(h.id, round(h.score, 5)) for h in hits])
        assert results[0] == results[1]
        assert len(results[0]) == (3 if "x" in filter_ else 10)


def test_snapshot_cache_is_bounded() -> None:
    unit = np.eye(4, dtype=np.float32)
    snap = MirrorSnapshot(np.arange(4), unit, VectorCodec("float32", 4), generation=1)
    for i in range(PASSING_ENTRIES + 5):
        snap.cache_positions(("f", i), np.array([i % 4], dtype=np.intp))
    assert snap.cached_positions(("f", 0)) is None  # the least recently used went first
    assert snap.cached_positions(("f", PASSING_ENTRIES + 4)) is not None
    too_many = np.zeros(4 * mirror_module.PASSING_ROWS_PER_VECTOR + 1, dtype=np.intp)
    snap.cache_positions("big", too_many)
    assert snap.cached_positions("big") is None
    kept = snap.cached_positions(("f", PASSING_ENTRIES + 4))
    assert kept is not None and not kept.flags.writeable


@settings(max_examples=100, deadline=None)
@given(
    stored=st.lists(st.integers(min_value=1, max_value=60), unique=True, max_size=30),
    wanted=st.lists(st.integers(min_value=-3, max_value=70), max_size=40),
    shuffled=st.booleans(),
)
def test_positions_of_dense_and_scattered_rowids(stored: list[int], wanted: list[int], shuffled: bool) -> None:
    """Rowids to mirror positions: a bulk-loaded mirror (first..last in order) by offsets, others by search."""
    rowids = sorted(stored) if not shuffled else stored
    for ids in (np.array(rowids, dtype=np.int64), np.arange(1, len(rowids) + 1, dtype=np.int64)):
        snap = MirrorSnapshot(ids, np.zeros((ids.shape[0], 2), np.float32), VectorCodec("float32", 2), generation=1)
        where = {int(rowid): position for position, rowid in enumerate(ids)}
        expected = sorted(where[w] for w in wanted if w in where)
        for asked in (wanted, np.array(wanted, dtype=np.int64)):
            assert snap.positions(asked).tolist() == expected


def test_passing_rows_membership() -> None:
    rng = np.random.default_rng(5)
    keys = rng.integers(-5, 200_000, 5000)
    for rowids in (np.arange(10, 5000, 3), rng.integers(0, 10**12, 100), np.zeros(0, dtype=np.int64)):
        rows = PassingRows(rowids[::-1].copy())  # any order, duplicates allowed
        assert rows.rowids.tolist() == sorted(set(rowids.tolist()))
        assert rows.contains(keys).tolist() == np.isin(keys, rowids).tolist()
    assert PassingRows(np.arange(0, 64 * 100, 64))._mask is not None  # dense enough: a mask
    assert PassingRows(np.arange(0, 65 * 100, 65 * 100 // 99))._mask is None  # sparser: binary search
