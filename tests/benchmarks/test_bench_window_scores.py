"""benchmarks/bench_window_scores.py: the aggregations of a document's window cosines."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from tests.helpers.benchmark_scripts import load_benchmark

load_benchmark("_common")  # the script imports its siblings as top-level modules
load_benchmark("bench_long_documents")
bench = load_benchmark("bench_window_scores")


def _windows() -> SimpleNamespace:
    """Document 0: a first window and a 32-token window; document 1: short, one window."""
    owners = np.array([0, 0, 1])
    return SimpleNamespace(
        owners=owners,
        size=np.array([0, 32, 0]),
        n_docs=2,
        count=np.bincount(owners),
        first=np.array([0, 2]),
    )


SIMS = np.array([[0.60, 0.65, 0.62]])  # one query: document 0's best window is its 32-token one


def test_size_delta_reorders_by_the_small_window_offset() -> None:
    w = _windows()
    best = bench.aggregate(w, SIMS, "max", 0.0, None)
    np.testing.assert_allclose(best, [[0.65, 0.62]])
    shifted = bench.aggregate(w, SIMS, "size-delta", 0.05, None)
    np.testing.assert_allclose(shifted, [[0.60, 0.62]])  # the short document now ranks first


@pytest.mark.parametrize(("method", "c"), [("size-delta", 0.05), ("max-std", 0.5), ("zmax", 0.05), ("max+first", 0.5)])
def test_a_short_document_keeps_its_cosine(method: str, c: float) -> None:
    scores = bench.aggregate(_windows(), SIMS, method, c, None)
    assert scores[0, 1] == pytest.approx(0.62)


def test_count_corrections_and_top_k() -> None:
    w = _windows()
    assert bench.expected_max(np.array([1]))[0] == 0.0
    assert bench.expected_max(np.array([2, 30])).tolist() == sorted(bench.expected_max(np.array([2, 30])).tolist())
    zmax = bench.aggregate(w, SIMS, "zmax", 0.1, None)
    assert zmax[0, 0] == pytest.approx(0.65 - 0.1 * bench.expected_max(np.array([2]))[0])
    top2 = bench.aggregate(w, SIMS, "topk-mean", 2, None)
    np.testing.assert_allclose(top2, [[0.625, 0.62]])
