"""``ogma eval`` twice on the same data: the second run loads the corpus embeddings from the cache.

Runs ``ogma eval DATA --model MODEL --mode dense hybrid --json`` as a fresh process,
``--repeats`` times with an empty cache (cold) and ``--repeats`` times with the cache
filled (warm), alternating, each in a fresh ``OGMA_HOME`` copy so that only the
eval-embeddings cache differs. Reports median wall time per kind, the ratio, and checks
that the quality numbers of both kinds are identical.

Usage::

    python benchmarks/bench_eval_cache.py --data path/to/nano-dbpedia --threads 2

Writes ``benchmarks/results/eval-cache.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import cpu_flags

RESULTS = Path(__file__).resolve().parent / "results"
TIMING_KEYS = ("latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "index_seconds", "embed_seconds")


def run_eval(data: Path, model: str, threads: int, home: Path) -> tuple[float, list[dict[str, object]]]:
    env = {**os.environ, "OGMA_HOME": str(home), "HF_HUB_OFFLINE": "1"}
    argv = [sys.executable, "-m", "ogma.cli", "eval", str(data), "--model", model, "--mode", "dense", "hybrid"]
    argv += ["--threads", str(threads), "--json", "-q"]
    started = time.perf_counter()
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=True).stdout
    seconds = time.perf_counter() - started
    rows = [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in json.loads(out)]
    return seconds, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="a BEIR-format folder")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ogma-bench-eval-") as tmp:
        base = Path(tmp) / "base"
        run_eval(args.data, args.model, args.threads, base)  # converts the model once, fills the cache
        shutil.rmtree(base / "eval-embeddings")
        cold: list[float] = []
        warm: list[float] = []
        rows: dict[str, list[dict[str, object]]] = {}
        for i in range(args.repeats):
            cold_home = Path(tmp) / f"cold-{i}"
            shutil.copytree(base, cold_home)  # model conversions only: no cached embeddings
            seconds, rows["cold"] = run_eval(args.data, args.model, args.threads, cold_home)
            cold.append(seconds)
            seconds, rows["warm"] = run_eval(args.data, args.model, args.threads, cold_home)  # now cached
            warm.append(seconds)
            shutil.rmtree(cold_home)
    result = {
        "data": args.data.name,
        "model": args.model,
        "threads": args.threads,
        "repeats": args.repeats,
        "cold_seconds": cold,
        "warm_seconds": warm,
        "cold_median_s": statistics.median(cold),
        "warm_median_s": statistics.median(warm),
        "speedup": statistics.median(cold) / statistics.median(warm),
        "same_metrics": rows["cold"] == rows["warm"],
        "cpu": platform.processor() or platform.machine(),
        "cpu_flags": cpu_flags(),
        "python": platform.python_version(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "eval-cache.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
