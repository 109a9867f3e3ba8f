"""benchmarks/bench_binary_depth.py: its rules pick the depths they name, on tiny shapes."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.benchmark_scripts import load_benchmark

bench = load_benchmark("bench_binary_depth")


def test_fixed_rules_take_their_depth_and_the_adaptive_one_its_own(tmp_path: Path) -> None:
    out = tmp_path / "depth.json"
    shapes = ["--shape", "clustered:6000x64", "--shape", "uniform:3000x64"]
    assert bench.main([*shapes, "--queries", "8", "--out", str(out)]) == 0
    results = json.loads(out.read_text())["results"]
    assert [r["shape"] for r in results] == ["clustered 6,000 × 64", "uniform 3,000 × 64"]
    for r in results:
        for f in bench.FIXED:
            assert r["rules"][f"fixed {f}"]["depth_mean"] == 10 * f
        adaptive = r["rules"]["adaptive 3.5"]
        assert 100 <= adaptive["depth_mean"] <= 20000
        assert 0.0 <= adaptive["recall"] <= 1.0
        assert r["rules"]["fixed 200"]["recall"] >= r["rules"]["fixed 20"]["recall"]
