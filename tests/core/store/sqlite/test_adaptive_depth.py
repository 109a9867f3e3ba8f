"""Binary candidates: the adaptive depth (the default) and the explicit ``oversample``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.store import Store
from ogma.store.sqlite.kernels import hamming_margin, within_margin
from ogma.store.sqlite.mirror import AdaptiveDepth, VectorMirror
from ogma.store.sqlite.sql import VECTORS
from ogma.store.sqlite.vectors import VectorCodec

K = 10


def clustered(n: int, dim: int, clusters: int, queries: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Tight Gaussian clusters (as in benchmarks/bench_peers.py): sign bits mostly tell the cluster only."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))

    def draw(count: int) -> np.ndarray:
        x = centres[rng.integers(0, clusters, count)] + 0.35 * rng.standard_normal((count, dim))
        return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)

    return draw(n), draw(queries)


def recall(store: Store, docs: np.ndarray, queries: np.ndarray) -> float:
    hits = 0
    for q in queries:
        truth = set(np.argsort(-(docs @ q), kind="stable")[:K].tolist())
        hits += len(truth & {int(h.id) for h in store.search(vector=q, k=K)})
    return hits / (K * len(queries))


@pytest.fixture(scope="module")
def clustered_store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray, np.ndarray]:
    docs, queries = clustered(6000, 128, 6, 40)
    path = tmp_path_factory.mktemp("adaptive") / "clustered.db"
    with Store(path, dim=128, precision="binary", show_progress=False) as store:
        store.add([None] * len(docs), ids=[str(i) for i in range(len(docs))], embeddings=docs)
    return path, docs, queries


def test_the_default_depth_reaches_the_recall_a_fixed_oversampling_misses(clustered_store: Any) -> None:
    path, docs, queries = clustered_store
    with Store(path) as store:
        adaptive = recall(store, docs, queries)
    with Store(path, oversample=20) as store:  # the previous default: 200 candidates for k=10
        fixed = recall(store, docs, queries)
    assert adaptive >= 0.95
    assert fixed < 0.9


def rescored(path: Path, query: np.ndarray, *, int8_copy: bool = True, **options: Any) -> int:
    """How many candidates one search reads float vectors for (the parameters of its SELECT).

    ``int8_copy=False``: without the mirror's int8 estimates, which leave out the candidates
    that cannot reach the top results, so every candidate is read.
    """
    counts: list[int] = []

    def tracer(sql: str, params: Any) -> None:
        if f'FROM "{VECTORS}"' in sql and "IN (" in sql:
            counts.append(len(params))

    with Store(path, tracer=tracer, **options) as store:
        assert store._mirror is not None
        store._mirror.int8_copy = int8_copy
        store.search(vector=query, k=K)
    return sum(counts)


def test_an_explicit_oversample_is_honoured(clustered_store: Any) -> None:
    path, _, queries = clustered_store
    assert rescored(path, queries[0], oversample=3) == 3 * K
    assert rescored(path, queries[0], oversample=20) == 20 * K
    adaptive = rescored(path, queries[0], int8_copy=False)
    depth = AdaptiveDepth()
    assert depth.minimum * K <= adaptive <= depth.maximum * K
    assert adaptive != 20 * K  # the default is not a fixed factor
    assert K <= rescored(path, queries[0]) < adaptive  # the int8 estimates rule most candidates out


def test_the_sqlite_vec_backend_keeps_a_fixed_depth(clustered_store: Any) -> None:
    path, _, queries = clustered_store
    with Store(path) as store:
        hits = store.search(vector=queries[0], k=K, backend="sqlite-vec")
    assert len(hits) == K
    assert rescored(path, queries[0], backend="sqlite-vec") == 20 * K


def test_within_margin_takes_every_row_up_to_the_cut() -> None:
    distances = np.array([40, 2, 9, 3, 2, 30, 8], dtype=np.uint8)
    cut = 3 + hamming_margin(3, 64, 2.0)  # the 3rd smallest is 3
    expected = [i for i, d in enumerate(distances.tolist()) if d <= cut]
    assert within_margin(distances, 3, bits=64, z=2.0).tolist() == expected
    assert within_margin(distances, 3, bits=64, z=0.0).tolist() == [1, 3, 4]
    assert within_margin(distances, 3, bits=64, z=0.0, minimum=5).tolist() == [1, 2, 3, 4, 6]
    assert within_margin(distances, 3, bits=64, z=100.0, maximum=4).tolist() == [1, 3, 4, 6]
    assert within_margin(distances, 9, bits=64, z=0.0).tolist() == list(range(7))
    assert within_margin(distances, 0, bits=64, z=3.0).tolist() == []


def test_hamming_margin_is_binomial() -> None:
    assert hamming_margin(64, 256, 1.0) == pytest.approx((256 * 0.25 * 0.75) ** 0.5)
    assert hamming_margin(0, 256, 2.0) == pytest.approx(2 * (256 * (1 / 256) * (255 / 256)) ** 0.5)
    assert hamming_margin(200, 256, 1.0) == pytest.approx(8.0)  # p at most 1/2


@pytest.mark.parametrize("precision", ["float32", "binary"])
@pytest.mark.parametrize("size", [None, 0, 3, 40, 100])
def test_mirror_load_with_a_wrong_size_still_loads_every_row(precision: str, size: int | None) -> None:
    rng = np.random.default_rng(1)
    unit = rng.standard_normal((40, 16)).astype(np.float32)
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    batches = [(np.arange(s, s + 10, dtype=np.int64) + 100, unit[s : s + 10]) for s in (0, 10, 20, 30)]
    expected = VectorMirror(VectorCodec(precision, 16))  # type: ignore[arg-type]
    expected.replace(np.arange(40) + 100, unit, generation=1)
    mirror = VectorMirror(VectorCodec(precision, 16))  # type: ignore[arg-type]
    snap = mirror.sync(1, lambda: iter(batches), None if size is None else lambda: size)
    assert snap.rowids.tolist() == list(range(100, 140))
    assert np.array_equal(snap.data, expected.snapshot().data)
    assert snap.data.flags.c_contiguous
