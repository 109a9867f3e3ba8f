from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.compress import hamming_distance, quantize_binary
from ogma.store import Store
from ogma.store.sqlite.kernels import Int8Scorer, hamming, pack_columns, query_words, smallest, top_indices
from ogma.store.sqlite.mirror import VectorMirror
from ogma.store.sqlite.vectors import VEC0_KNN_LIMIT, VectorCodec

PRECISIONS = ("float32", "int8", "binary")


@pytest.mark.parametrize("dim", [8, 20, 64, 256, 300])
def test_hamming_matches_compress(dim: int) -> None:
    rng = np.random.default_rng(dim)
    x = rng.standard_normal((50, dim)).astype(np.float32)
    packed = quantize_binary(x)
    got = hamming(pack_columns(packed), query_words(packed[7]))
    assert got.tolist() == hamming_distance(packed[7], packed).tolist()


def test_smallest_and_top_indices() -> None:
    d = np.array([3, 0, 2, 2, 5, 1], dtype=np.uint16)
    assert smallest(d, 3).tolist() == [1, 2, 5]  # 0, 1, then the first tie at 2
    assert smallest(d, 10).tolist() == list(range(6))
    assert smallest(d, 0).tolist() == []
    s = np.array([0.1, 0.9, 0.5, 0.9])
    assert top_indices(s, 3).tolist() == [1, 3, 2]
    assert top_indices(s, 0).tolist() == []


def test_int8_scorer_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    codes = rng.integers(-128, 128, (5000, 40), dtype=np.int8)  # large enough for the onnxruntime path
    q = rng.integers(-127, 128, 40, dtype=np.int8)
    expected = codes.astype(np.int32) @ q.astype(np.int32)
    assert np.array_equal(Int8Scorer().scores(codes, q), expected)


def test_int8_query_ranks_like_dequantized_dot() -> None:
    rng = np.random.default_rng(1)
    unit = rng.standard_normal((300, 16)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    codec = VectorCodec("int8", 16)
    codes = codec.codes(unit)
    q = unit[0]
    approx = codes.astype(np.int32) @ codec.int8_query(q).astype(np.int32)
    exact = unit @ q
    assert np.corrcoef(approx, exact)[0, 1] > 0.95


def test_mirror_deltas_and_positions() -> None:
    codec = VectorCodec("binary", 16)
    mirror = VectorMirror(codec)
    rng = np.random.default_rng(0)
    v = rng.standard_normal((10, 16)).astype(np.float32)
    mirror.replace(np.arange(1, 11), v, generation=5)
    mirror.record_write(5, 6, np.array([3, 11]), v[:2])  # upsert rowid 3, add 11
    mirror.record_write(6, 7, np.array([4]), None)  # delete 4
    snap = mirror.sync(7, lambda: pytest.fail("must not reload"))
    assert sorted(snap.rowids.tolist()) == [1, 2, 3, 5, 6, 7, 8, 9, 10, 11]
    assert snap.positions([11, 4, 1]).tolist() == sorted(
        [int(np.flatnonzero(snap.rowids == 11)[0]), int(np.flatnonzero(snap.rowids == 1)[0])]
    )
    mirror.record_write(3, 4, np.array([1]), None)  # out of order: the mirror drops itself
    assert not mirror.loaded


def _fill(store: Store, vecs: np.ndarray, start: int = 0) -> None:
    n = len(vecs)
    store.add(
        [f"doc {i}" for i in range(start, start + n)],
        [{"g": i % 3} for i in range(start, start + n)],
        [str(i) for i in range(start, start + n)],
        embeddings=vecs,
    )


@pytest.mark.parametrize("precision", PRECISIONS)
def test_memory_backend_equals_sqlite_vec_backend(tmp_path: Path, precision: str, vectors: Any, clustered: Any) -> None:
    # Equal up to ties at the candidate boundary, which structured data does not hit.
    vecs = clustered(600, 64, seed=2)
    with Store(tmp_path / "s.db", dim=64, precision=precision) as store:  # type: ignore[arg-type]
        _fill(store, vecs)
        for qi in (0, 17, 333):
            q = vecs[qi] + 0.05 * vectors(1, 64, seed=qi)[0]
            for flt in (None, {"g": 1}):
                mem = store.search(vector=q, k=10, filter=flt)
                vec = store.search(vector=q, k=10, filter=flt, backend="sqlite-vec")
                assert [h.id for h in mem] == [h.id for h in vec]
                assert np.allclose([h.score for h in mem], [h.score for h in vec], atol=1e-5)


@pytest.mark.parametrize("precision", PRECISIONS)
def test_quantized_search_recovers_exact_top_k(tmp_path: Path, precision: str, vectors: Any, clustered: Any) -> None:
    dim = 64
    vecs = clustered(2000, dim, seed=5)
    with Store(tmp_path / "s.db", dim=dim, precision=precision) as store:  # type: ignore[arg-type]
        _fill(store, vecs)
        recalls = []
        for qi in range(20):
            q = vectors(1, dim, seed=100 + qi)[0] * 0.15 + vecs[qi]
            exact = np.argsort(-(vecs @ (q / np.linalg.norm(q))))[:10]
            got = [int(h.id) for h in store.search(vector=q, k=10)]
            recalls.append(len(set(got) & set(exact.tolist())) / 10)
        assert np.mean(recalls) >= (1.0 if precision == "float32" else 0.95)


def test_k_above_the_vec0_limit(tmp_path: Path, vectors: Any) -> None:
    n = VEC0_KNN_LIMIT + 500
    vecs = vectors(n, 8, seed=9)
    with Store(tmp_path / "big.db", dim=8, precision="binary") as store:
        _fill(store, vecs)
        for backend in ("memory", "sqlite-vec"):
            hits = store.search(vector=vecs[0], k=n, backend=backend)
            assert len(hits) == n and hits[0].id == "0"
            assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_mirror_follows_own_and_foreign_writes(tmp_path: Path, vectors: Any) -> None:
    path = tmp_path / "s.db"
    vecs = vectors(300, 16, seed=4)
    with Store(path, dim=16, precision="binary") as a, Store(path) as b:
        _fill(a, vecs[:200])
        assert a.search(vector=vecs[5], k=1)[0].id == "5"  # loads a's mirror
        assert b.search(vector=vecs[5], k=1)[0].id == "5"  # loads b's mirror
        _fill(a, vecs[200:], start=200)  # a's own write: a delta
        a.delete(["5"])
        assert a.search(vector=vecs[250], k=1)[0].id == "250"
        assert a.search(vector=vecs[5], k=1)[0].id != "5"
        # b sees a's writes through the change counter
        assert b.search(vector=vecs[250], k=1)[0].id == "250"
        assert b.search(vector=vecs[5], k=1)[0].id != "5"
        b.add(["new"], ids=["new"], embeddings=-vecs[5:6])
        assert a.search(vector=-vecs[5], k=1)[0].id == "new"


def test_int8_calibration_is_recorded(tmp_path: Path, vectors: Any) -> None:
    path = tmp_path / "i.db"
    with Store(path, dim=32, precision="int8") as store:
        _fill(store, vectors(100, 32))
        ranges = store.config.int8_ranges
        assert ranges is not None and float(ranges.high.max()) < 1.0
        # one symmetric range for every dimension: codes stay proportional to the values
        assert np.all(ranges.high == ranges.high[0]) and np.array_equal(ranges.low, -ranges.high)
    with Store(path) as store:
        assert store.config.int8_ranges is not None
        assert np.array_equal(store.config.int8_ranges.low, ranges.low)


def test_hamming_saturates_instead_of_wrapping_at_256_bits() -> None:
    x = np.random.default_rng(0).standard_normal((2, 256)).astype(np.float32)
    packed = quantize_binary(np.stack([x[0], -x[0]]))
    got = hamming(pack_columns(packed), query_words(packed[0]))
    assert got.tolist() == [0, 255]
