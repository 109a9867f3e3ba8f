"""Bulk reads of every vector (the in-process index's load, the graph's build) hold a few MB at a time."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.compress import normalize, normalize_in_place
from ogma.store import Store
from ogma.store.sqlite import mirror as mirror_module
from ogma.store.sqlite import search as search_module
from ogma.store.sqlite import store as store_module
from ogma.store.sqlite.connect import connect
from ogma.store.sqlite.mirror import MirrorSnapshot
from ogma.store.sqlite.search import SCAN_CACHE_KIB
from ogma.store.sqlite.vectors import READ_BATCH_BYTES, VectorCodec, batch_rows, iter_vectors

DIM = 384
ROWS = 3000  # several batches of READ_BATCH_BYTES at 384-d (682 rows)


def _store(path: Path, precision: str, rows: int = ROWS, **options: Any) -> tuple[Store, np.ndarray]:
    vectors = np.random.default_rng(3).standard_normal((rows, DIM)).astype(np.float32)
    store = Store(path, dim=DIM, precision=precision, show_progress=False, **options)
    store.add([f"d{i}" for i in range(rows)], ids=[str(i) for i in range(rows)], embeddings=vectors)
    return store, vectors


def _spy(monkeypatch: pytest.MonkeyPatch, module: Any) -> list[tuple[int, int]]:
    """Record ``(rows, page cache setting)`` of each batch ``module.iter_vectors`` yields."""
    seen: list[tuple[int, int]] = []
    real = module.iter_vectors

    def spying(conn: Any, codec: VectorCodec, **kwargs: Any) -> Iterator[Any]:
        for rowids, matrix in real(conn, codec, **kwargs):
            seen.append((len(rowids), int(conn.scalar("PRAGMA cache_size"))))
            yield rowids, matrix

    monkeypatch.setattr(module, "iter_vectors", spying)
    return seen


def test_batch_rows_is_bounded_by_bytes() -> None:
    for dim in (2, 64, 256, 384, 768, 1024, 4096):
        rows = batch_rows(dim)
        assert rows * 4 * dim <= READ_BATCH_BYTES < (rows + 1) * 4 * dim
    assert batch_rows(10**7) == 1  # one row even when a row is larger than a batch
    assert batch_rows(384, 4 * 384 * 7) == 7


@pytest.mark.parametrize("precision", ["float32", "binary"])  # vectors in vec0 / in the plain float table
def test_iter_vectors_never_yields_more_than_the_batch_bytes(tmp_path: Path, precision: str) -> None:
    store, vectors = _store(tmp_path / "s.db", precision)
    store.close()
    conn = connect(tmp_path / "s.db")
    try:
        codec = VectorCodec(precision, DIM, exact_in_index=precision == "float32")  # type: ignore[arg-type]
        for batch_bytes, limit in ((READ_BATCH_BYTES, batch_rows(DIM)), (4 * DIM * 7, 7)):
            batches = list(iter_vectors(conn, codec, batch_bytes=batch_bytes))
            assert max(len(r) for r, _ in batches) == limit  # full batches, none larger
            rowids = np.concatenate([r for r, _ in batches])
            matrix = np.concatenate([m for _, m in batches])
            assert sorted(rowids.tolist()) == list(range(1, ROWS + 1))  # every row once
            assert np.array_equal(matrix[np.argsort(rowids)], vectors)
            assert all(m.flags.writeable and m.dtype == np.float32 for _, m in batches)
    finally:
        conn.close()


@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_the_mirror_loads_in_bounded_batches_through_a_small_page_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    store, vectors = _store(tmp_path / "s.db", precision)
    store.close()
    seen = _spy(monkeypatch, search_module)
    with Store(tmp_path / "s.db", show_progress=False) as reopened:
        hits = reopened.search(vector=vectors[17], k=3)
        assert hits[0].id == "17"
        with reopened._pool.connection() as conn:
            restored = int(conn.scalar("PRAGMA cache_size"))
    assert sum(rows for rows, _ in seen) == ROWS
    assert max(rows for rows, _ in seen) <= batch_rows(DIM) < ROWS
    assert {cache for _, cache in seen} == {-SCAN_CACHE_KIB}  # the scan's own small cache
    assert restored == -64 * 1024  # the connection's usual cache afterwards


def test_the_graph_builds_from_bounded_batches(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("usearch")
    from ogma.store.sqlite import hnsw

    store, _ = _store(tmp_path / "s.db", "float32")
    seen = _spy(monkeypatch, hnsw)
    try:
        info = store.build_index(show_progress=False)
        assert info is not None and info.vectors == ROWS
    finally:
        store.close()
    assert sum(rows for rows, _ in seen) == ROWS
    assert max(rows for rows, _ in seen) <= batch_rows(DIM)
    assert {cache for _, cache in seen} == {-SCAN_CACHE_KIB}


def test_normalize_in_place_equals_normalize() -> None:
    matrix = np.random.default_rng(0).standard_normal((50, 9)).astype(np.float32)
    matrix[4] = 0.0
    expected = normalize(matrix)
    out = normalize_in_place(matrix)
    assert out is matrix and np.array_equal(matrix, expected)


@pytest.mark.parametrize("precision", ["float32", "int8"])
def test_selective_filters_score_in_blocks_with_the_same_result(
    monkeypatch: pytest.MonkeyPatch, precision: str
) -> None:
    rng = np.random.default_rng(5)
    unit = normalize(rng.standard_normal((3000, 24)).astype(np.float32))
    codec = VectorCodec(precision, 24)  # type: ignore[arg-type]
    data = codec.codes(unit)
    snapshot = MirrorSnapshot(np.arange(3000, dtype=np.int64) + 1, data, codec, generation=0)
    positions = np.sort(rng.choice(3000, 500, replace=False)).astype(np.intp)  # below SCORE_ALL_ABOVE
    query = unit[positions[3]]
    whole = snapshot.candidates(query, 20, positions)
    gathered: list[int] = []
    real = MirrorSnapshot._row_scores

    def counting(self: MirrorSnapshot, rows: np.ndarray, unit_query: np.ndarray) -> Any:
        gathered.append(rows.shape[0])
        return real(self, rows, unit_query)

    monkeypatch.setattr(mirror_module, "SCORE_BLOCK_BYTES", 24 * 4 * 7)  # float32: 7 rows a block
    monkeypatch.setattr(MirrorSnapshot, "_row_scores", counting)
    blocked = snapshot.candidates(query, 20, positions)
    assert np.array_equal(whole[0], blocked[0])
    assert np.allclose(whole[1], blocked[1], atol=1e-6)  # a BLAS product may round the last bit differently
    assert sum(gathered) == 500
    assert max(gathered) == (7 if precision == "float32" else 500)  # int8 blocks hold at least 2,048 rows
    assert whole[0][0] == positions[3] + 1


def test_closing_a_store_and_loading_the_mirror_release_the_heap(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[str, int | None]] = []
    monkeypatch.setattr(store_module, "release_free_heap", lambda handled=None: calls.append(("close", handled)))
    monkeypatch.setattr(mirror_module, "release_free_heap", lambda handled=None: calls.append(("load", handled)))
    store, vectors = _store(tmp_path / "s.db", "float32", rows=50)
    store.search(vector=vectors[0], k=1)
    assert calls == [("load", 50 * DIM * 4)]  # the float vectors the load read
    store.close()
    size = (tmp_path / "s.db").stat().st_size
    assert calls[1] == ("close", max(size, 50 * DIM * 4))  # what its page caches could hold, or its writes


def test_the_heap_is_left_alone_after_small_operations(monkeypatch: pytest.MonkeyPatch) -> None:
    from ogma import heap

    asked: list[int] = []
    monkeypatch.setattr(heap, "_malloc_trim", lambda: asked.append(1) or (lambda pad: 1))
    assert heap.release_free_heap(heap.TRIM_ABOVE - 1) is False and asked == []
    assert heap.release_free_heap(heap.TRIM_ABOVE) is True and asked == [1]
    assert heap.release_free_heap() is True and asked == [1, 1]
