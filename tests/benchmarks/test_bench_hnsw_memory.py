"""benchmarks/bench_hnsw_memory.py keeps running: build, open with the graph, measure, at a tiny size."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from tests.helpers.benchmark_scripts import BENCHMARKS, load_benchmark

pytest.importorskip("usearch")
if sys.platform != "linux":  # pragma: no cover - reads /proc/self/status
    pytest.skip("the RSS split reads /proc/self/status", allow_module_level=True)

bench = load_benchmark("bench_hnsw_memory")


def test_split_of_a_tiny_graph_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # bench_peers, as when run from the repository root
    out = tmp_path / "split.json"
    args = ["--size", "600x16", "--queries", "5", "--dir", str(tmp_path / "d"), "--out", str(out)]
    assert bench.main(args, log=lambda s: None) == 0
    report = json.loads(out.read_text())
    assert set(report["kinds"]) == {"unfiltered", "eq 10%", "eq 0.1%", "range 10%", "range 0.1%"}
    for kind in report["kinds"].values():
        assert 0.0 <= kind["recall"] <= 1.0 and kind["median_ms"]["search"] > 0
        assert kind["after_mb"]["VmHWM"] >= report["stages_mb"]["open"]["RssAnon"]
    assert report["graph"]["vectors"] == 600  # kept up to date; at 600 vectors searches are exact (exact_below)


def test_split_of_a_tiny_binary_graph_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    out = tmp_path / "split.json"
    args = [
        "--size",
        "600x16",
        "--queries",
        "5",
        "--dir",
        str(tmp_path / "d"),
        "--out",
        str(out),
        "--precision",
        "binary",
    ]
    assert bench.main(args, log=lambda s: None) == 0
    report = json.loads(out.read_text())
    assert report["precision"] == "binary" and report["graph"] == {**report["graph"], "vectors": 600, "dtype": "i8"}


def test_stages_of_tiny_stores(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    out = tmp_path / "stages.json"
    args = ["--stages", "ogma-float32,ogma-binary", "--size", "600x16", "--queries", "5"]
    assert bench.main([*args, "--dir", str(tmp_path / "d"), "--out", str(out)], log=lambda s: None) == 0
    report = json.loads(out.read_text())
    assert [s["system"] for s in report["systems"]] == ["ogma-float32", "ogma-binary"]
    for system in report["systems"]:
        steps = system["steps"]
        first = ["interpreter and imports", "input (the vectors array)", "ingest", "open", "first query"]
        assert list(steps)[:5] == first
        assert len(steps) == 5 + 1 + 2 * 4  # the unfiltered queries, then each filter's first query and the rest
        for step in steps.values():  # the kernel's RSS counters are per thread, synced lazily: within 2 MB
            assert step["before_mb"] > 0 and step["peak_mb"] >= max(step["before_mb"], step["after_mb"]) - 2
        assert system["peak_mb"] == max(step["peak_mb"] for step in steps.values())
        assert system["peak_over_start_mb"] == system["peak_mb"] - steps["input (the vectors array)"]["after_mb"]
