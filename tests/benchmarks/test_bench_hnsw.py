"""benchmarks/bench_hnsw.py keeps running: the binary graph designs and a uniform store, at a tiny size."""

from __future__ import annotations

import pytest

from tests.helpers.benchmark_scripts import load_benchmark

pytest.importorskip("usearch")

bench = load_benchmark("bench_hnsw")


def test_binary_designs_at_a_tiny_size() -> None:
    report = bench.binary_designs(["clustered:400x16", "uniform:400x16"], 5)
    designs = {(row["shape"], row["design"]) for row in report["rows"]}
    assert len(designs) == 8  # two shapes, four graphs
    for row in report["rows"]:
        assert 0.0 <= row["recall"] <= 1.0 and row["build_per_s"] > 0 and row["memory_mb"] > 0


def test_the_default_expansion_of_a_uniform_binary_store() -> None:
    report = bench.measure(600, 16, 5, [None], ["binary"], "uniform")
    assert report["shape"] == "uniform"
    exact, graph = report["rows"]
    assert exact["search"] == "exact" and graph["search"].startswith("hnsw default (ef ")
    assert 0.0 <= graph["recall"] <= 1.0
