"""benchmarks/bench_peers.py keeps running: its Ogma part, end to end at a tiny size.

The peers (chromadb, lancedb, faiss, ...) are not needed: only Ogma's two systems run, each in
its own subprocess as in a real run.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.benchmark_scripts import load_benchmark

bench = load_benchmark("bench_peers")


def test_exact_answers_and_recall() -> None:
    data = bench.make_data(300, 8, 5, seed=1)
    assert np.allclose(np.linalg.norm(data["vectors"], axis=1), 1.0, atol=1e-5)
    mask = bench.filter_mask(data, "eq 10%")
    truth = bench.exact_top(data["vectors"], data["queries"], 10, mask)
    assert all(mask[i] for i in truth.reshape(-1) if i >= 0)
    scores = data["queries"] @ data["vectors"].T
    assert truth[0, 0] == int(np.argmax(np.where(mask, scores[0], -np.inf)))
    assert bench.recall_at_k(truth.tolist(), truth) == 1.0
    assert bench.recall_at_k([row[:5] for row in truth.tolist()], truth) == 0.5


def test_ogma_systems_run_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "peers.json"
    code = bench.main(
        ["--sizes", "500x16", "--queries", "5", "--systems", ",".join(bench.OGMA_SYSTEMS), "--out", str(out)]
    )
    assert code == 0
    report = json.loads(out.read_text())
    (run,) = report["runs"]
    assert (run["n"], run["dim"]) == (500, 16)
    results = {r["system"]: r for r in run["results"]}
    assert set(results) == set(bench.OGMA_SYSTEMS)
    for r in results.values():
        assert "error" not in r, r
        assert r["ingest_per_s"] > 0 and r["peak_rss_mb"] > 0 and r["disk_mb"] > 0
        assert set(r["filtered"]) == set(bench.FILTERS)
    # float32 search is exact, with and without filters
    assert results["ogma-float32"]["recall"] == 1.0
    assert all(f["recall"] == 1.0 for f in results["ogma-float32"]["filtered"].values())
    table = bench.markdown(report)
    assert "| ogma-binary |" in table and "eq 0.1%" in table


def test_bad_size_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--sizes", "500by16"])
    assert exc.value.code == 2
    assert "--sizes" in capsys.readouterr().err


def test_a_failing_system_is_reported_not_dropped(tmp_path: Path) -> None:
    # a child that fails (here: no data where it expects it) comes back as an error entry
    res = bench.run_child("ogma-float32", tmp_path, timeout=300)
    assert res["system"] == "ogma-float32" and res["error"]


def test_too_few_faiss_candidates_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--faiss-rescore", "5"])
    assert exc.value.code == 2
    assert "--faiss-rescore" in capsys.readouterr().err


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads /proc (Linux)")
def test_memory_is_this_process_own() -> None:
    before = bench.memory_mb()
    block = np.ones(64 * 1024 * 1024 // 8)  # 64 MB touched
    after = bench.memory_mb()
    assert after["rss_anon_mb"] >= before["rss_anon_mb"] + 60
    assert after["peak_rss_mb"] >= after["rss_anon_mb"] + after["rss_file_mb"] - 1  # the peak covers the present
    assert after["rss_file_mb"] >= 0
    del block
