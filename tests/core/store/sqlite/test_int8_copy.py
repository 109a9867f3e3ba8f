"""The binary mirror's int8 copy: bounded cosine estimates, kept in sync, same results as reading every candidate."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.compress import normalize
from ogma.store import Store
from ogma.store.sqlite.mirror import Int8Copy, VectorMirror
from ogma.store.sqlite.sql import VECTORS
from ogma.store.sqlite.vectors import VectorCodec

K = 10
DIM = 32


def unit_rows(n: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return normalize(x)


def clustered(n: int, dim: int, seed: int = 5) -> np.ndarray:
    """Tight clusters (as in benchmarks/bench_peers.py): many candidates per query, close cosines.

    The same four centres whatever the seed: other seeds draw queries from the stored clusters.
    """
    centres = np.random.default_rng(5).standard_normal((4, dim))
    rng = np.random.default_rng(seed)
    x = centres[rng.integers(0, 4, n)] + 0.35 * rng.standard_normal((n, dim))
    return normalize(x.astype(np.float32))


@pytest.mark.parametrize("dim", [1, 3, 64, 257])
def test_estimates_stay_within_their_bounds(dim: int) -> None:
    rows = unit_rows(500, dim, seed=dim)
    rows[7] = 0.0  # a zero vector: estimate 0, bound 0
    rows[8] = np.eye(1, dim, 0, dtype=np.float32)  # one non-zero dimension: exact in int8
    copy = Int8Copy.of(rows)
    assert copy.codes.dtype == np.int8 and copy.size == 500
    every = np.arange(500)
    for query in unit_rows(20, dim, seed=dim + 1):
        estimate, bound = copy.estimates(query, every)
        assert np.all(np.abs(estimate - rows @ query) <= bound + 1e-6)
    assert copy.bounds[7] == 0.0 and copy.bounds[8] == 0.0
    assert float(np.max(copy.bounds)) < 0.05  # a quarter of the bytes, cosines to a few hundredths at worst


def test_copy_rows_put_and_concat() -> None:
    rows = unit_rows(30, 8, seed=1)
    whole = Int8Copy.of(rows)
    filled = Int8Copy.empty(30, 8)
    filled.put(0, Int8Copy.of(rows[:12]))
    filled.put(12, Int8Copy.of(rows[12:]))
    joined = Int8Copy.concat([whole.rows(slice(0, 5)), whole.rows(slice(5, None))])
    for other in (filled, joined):
        assert np.array_equal(other.codes, whole.codes)
        assert np.array_equal(other.scales, whole.scales)
        assert np.array_equal(other.bounds, whole.bounds)
    mask = np.arange(30) % 3 == 0
    assert np.array_equal(whole.rows(mask).codes, Int8Copy.of(rows[mask]).codes)


def test_only_a_binary_mirror_keeps_a_copy_by_default() -> None:
    assert VectorMirror(VectorCodec("binary", 8)).int8_copy
    assert not VectorMirror(VectorCodec("float32", 8)).int8_copy
    assert not VectorMirror(VectorCodec("int8", 8)).int8_copy
    rows = unit_rows(4, 8, seed=2)
    plain = VectorMirror(VectorCodec("binary", 8), int8_copy=False)
    plain.replace(np.arange(4), rows, generation=1)
    assert plain.snapshot().approx is None


def test_mirror_deltas_keep_the_copy_in_step() -> None:
    rows = unit_rows(12, 16, seed=3)
    mirror = VectorMirror(VectorCodec("binary", 16))
    mirror.replace(np.arange(1, 11), rows[:10], generation=5)
    mirror.record_write(5, 6, np.array([3, 11]), rows[10:12])  # upsert rowid 3, add 11
    mirror.record_write(6, 7, np.array([4]), None)  # delete 4
    snap = mirror.sync(7, lambda: pytest.fail("must not reload"))
    expected = {r: rows[r - 1] for r in range(1, 11)} | {3: rows[10], 11: rows[11]}
    del expected[4]
    assert snap.approx is not None
    want = Int8Copy.of(np.stack([expected[int(r)] for r in snap.rowids]))
    assert np.array_equal(snap.approx.codes, want.codes)
    assert np.array_equal(snap.approx.bounds, want.bounds)


@pytest.mark.parametrize("size", [None, 0, 15, 40])
def test_mirror_load_fills_the_copy_whatever_the_counted_size(size: int | None) -> None:
    rows = unit_rows(40, 16, seed=4)
    batches = [(np.arange(s, s + 10, dtype=np.int64), rows[s : s + 10]) for s in (0, 10, 20, 30)]
    mirror = VectorMirror(VectorCodec("binary", 16))
    snap = mirror.sync(1, lambda: iter(batches), None if size is None else lambda: size)
    assert snap.approx is not None and snap.approx.size == 40
    assert np.array_equal(snap.approx.codes, Int8Copy.of(rows).codes)


def _stored_units(store: Store, rowids: np.ndarray) -> np.ndarray:
    with store._pool.connection() as conn:
        found = store._embeddings(conn, rowids.tolist())
    return normalize(np.stack([found[int(r)] for r in rowids]))


def assert_copy_matches_the_file(store: Store) -> None:
    """The copy holds exactly the stored vectors' rows, in mirror order, and bounds their estimates."""
    mirror = store._mirror
    assert mirror is not None
    snap = mirror.snapshot()
    assert snap.approx is not None and snap.approx.size == snap.size
    with store._pool.connection() as conn:
        count = conn.scalar(f'SELECT count(*) FROM "{VECTORS}"')
    assert snap.size == count
    stored = _stored_units(store, snap.rowids)
    want = Int8Copy.of(stored)
    assert np.array_equal(snap.approx.codes, want.codes)
    assert np.allclose(snap.approx.scales, want.scales, rtol=1e-6, atol=0)
    every = np.arange(snap.size)
    for query in unit_rows(5, stored.shape[1], seed=snap.size):
        estimate, bound = snap.approx.estimates(query, every)
        assert np.all(np.abs(estimate - stored @ query) <= bound + 1e-6)


def _add(store: Store, vectors: np.ndarray, start: int) -> None:
    ids = [str(i) for i in range(start, start + len(vectors))]
    store.add([f"doc {i}" for i in ids], [{"n": int(i)} for i in ids], ids=ids, embeddings=vectors)


def test_the_copy_follows_adds_deletes_updates_reopen_and_other_writers(tmp_path: Path) -> None:
    path = tmp_path / "copy.db"
    vectors = unit_rows(400, DIM, seed=6)
    with Store(path, dim=DIM, precision="binary", show_progress=False) as a, Store(path) as b:
        _add(a, vectors[:200], 0)
        a.search(vector=vectors[0], k=K)  # loads a's mirror and its copy
        assert_copy_matches_the_file(a)
        _add(a, vectors[200:300], 200)  # own writes: deltas
        a.delete(["5", "17"])
        _add(a, -vectors[:3], 0)  # an update: same ids, new vectors
        a.search(vector=vectors[0], k=K)
        assert_copy_matches_the_file(a)
        assert a.search(vector=-vectors[1], k=1)[0].id == "1"
        b.search(vector=vectors[0], k=K)  # b loads after a's writes
        assert_copy_matches_the_file(b)
        _add(b, vectors[300:], 300)  # another connection writes: a reloads
        b.delete(["250"])
        assert a.search(vector=vectors[350], k=1)[0].id == "350"
        assert_copy_matches_the_file(a)
    with Store(path) as reopened:
        assert reopened.search(vector=vectors[399], k=1)[0].id == "399"
        assert_copy_matches_the_file(reopened)


def both_ways(store: Store, **search: Any) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
    """One search through the int8 copy and the same search reading every candidate's vector."""
    mirror = store._mirror
    assert mirror is not None
    mirror.int8_copy = True
    shortlisted = [(h.id, h.score) for h in store.search(**search)]
    mirror.int8_copy = False  # the store then reads and rescores every Hamming candidate
    try:
        every = [(h.id, h.score) for h in store.search(**search)]
    finally:
        mirror.int8_copy = True
    return shortlisted, every


@pytest.fixture(scope="module")
def clustered_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, np.ndarray]]:
    docs = clustered(3000, DIM)
    docs[100:110] = docs[50]  # exact duplicates: ties in the exact cosine, broken the same way
    path = tmp_path_factory.mktemp("int8copy") / "clustered.db"
    with Store(path, dim=DIM, precision="binary", show_progress=False) as store:
        _add(store, docs, 0)
    with Store(path) as store:
        yield store, docs


@pytest.mark.parametrize("k", [1, 10, 50])
def test_results_equal_reading_every_candidate(clustered_store: Any, k: int) -> None:
    store, docs = clustered_store
    queries = clustered(30, DIM, seed=9)
    for query in [*queries, docs[50], docs[3]]:
        shortlisted, every = both_ways(store, vector=query, k=k)
        assert shortlisted == every
        assert len(shortlisted) == k


def test_filtered_and_hybrid_results_equal_reading_every_candidate(clustered_store: Any) -> None:
    store, _ = clustered_store
    for query in clustered(10, DIM, seed=10):
        for where in ({"n": {"$lt": 1500}}, {"n": {"$in": [1, 2, 50, 100, 101, 2999]}}):
            shortlisted, every = both_ways(store, vector=query, k=K, filter=where)
            assert shortlisted == every
        shortlisted, every = both_ways(store, query="doc", vector=query, k=K, mode="hybrid")
        assert shortlisted == every


def test_fewer_float_vectors_are_read(clustered_store: Any) -> None:
    store, _ = clustered_store
    counts: list[int] = []

    def tracer(sql: str, params: Any) -> None:
        if f'FROM "{VECTORS}"' in sql and "IN (" in sql:
            counts.append(len(params))

    query = clustered(1, DIM, seed=11)[0]
    with Store(store.path, tracer=tracer) as traced:
        traced.search(vector=query, k=K)
        shortlisted = sum(counts)
        counts.clear()
        assert traced._mirror is not None
        traced._mirror.int8_copy = False
        traced.search(vector=query, k=K)
        every = sum(counts)
    assert K <= shortlisted < every
