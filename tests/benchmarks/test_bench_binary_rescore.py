"""benchmarks/bench_binary_rescore.py keeps running, end to end at a tiny size."""

from __future__ import annotations

import json
from pathlib import Path

from tests.helpers.benchmark_scripts import load_benchmark

bench = load_benchmark("bench_binary_rescore")


def test_stages_and_both_paths(tmp_path: Path) -> None:
    out = tmp_path / "rescore.json"
    assert bench.main(["--size", "3000x32", "--queries", "8", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert report["n"] == 3000 and report["queries"] == 8
    assert report["identical_results"] == 8  # the int8 shortlist gives what reading every candidate gives
    assert set(report["search_p50_ms"]) == {"int8 shortlist", "every candidate"}
    assert report["recall"]["int8 shortlist"] == report["recall"]["every candidate"]
    stages = report["stages_p50_ms"]
    assert {"hamming", "select", "read_all", "dot_all", "estimate", "read_shortlist", "fetch"} <= set(stages)
    assert 10 <= stages["rows_read"] <= stages["candidates"]
    assert report["peak_rss_mb"] > 0
