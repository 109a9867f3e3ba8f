"""Benchmark filtered against unfiltered dense search in the SQLite store.

N documents with random unit vectors and three metadata fields:

* ``cat``: an int in 0..9 (an equality filter passes 10%),
* ``rare``: an int in 0..999 (an equality filter passes 0.1%),
* ``score``: a float in [0, 1) (range filters passing 10% and 0.1%).

For float32 and binary (+ exact rescoring) it times ``Store.search(vector=q, k=10,
filter=...)`` for each query, and reports the p50 of every filter next to the
unfiltered p50, wall clock and process CPU time (the ratios are what matter on a shared machine), the first query of
each filter (nothing cached yet), and recall@10 against exact filtered search in numpy.

The rows marked ``fresh`` measure a filter's first use on every query: its value changes
from query to query (``cat = i % 10``, ``rare = 37 i % 1000``, ``score < 0.1 + i / 10^5``,
``x <= score < x + 0.001`` with ``x = 0.3 + i / 500``, ``cat != i % 10``) and the store's
filter-result cache is turned off while they run (``ogma.store.sqlite.mirror.PASSING_ENTRIES
= 0``), so no query reuses the rows another one found. The other rows repeat one filter, so all
but their first query may reuse the cached rows. It also reports ingest (documents/s, one
``add`` call) and the store file's size.

Usage::

    python benchmarks/bench_filters.py                   # 100,000 x 384, 200 queries
    python benchmarks/bench_filters.py --n 20000 --queries 50

Prints a markdown table; ``--json PATH`` also writes the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from ogma.store import Store
from ogma.store.sqlite import mirror as mirror_module

FILTERS: dict[str, Any] = {
    "none": None,
    "cat = 3 (10%)": {"cat": 3},
    "rare = 7 (0.1%)": {"rare": 7},
    "score < 0.1 (10%)": {"score": {"$lt": 0.1}},
    "0.5 <= score < 0.501 (0.1%)": {"score": {"$gte": 0.5, "$lt": 0.501}},
    "cat != 3 (90%)": {"cat": {"$ne": 3}},
    "cat = v (10%, fresh)": lambda i: {"cat": i % 10},
    "rare = v (0.1%, fresh)": lambda i: {"rare": (i * 37) % 1000},
    "score < x (10%, fresh)": lambda i: {"score": {"$lt": 0.1 + i / 100_000}},
    "x <= score < x + 0.001 (0.1%, fresh)": lambda i: {"score": {"$gte": 0.3 + i / 500, "$lt": 0.301 + i / 500}},
    "cat != v (90%, fresh)": lambda i: {"cat": {"$ne": i % 10}},
}


def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    block = rng.standard_normal((n, dim)).astype(np.float32)
    return block / np.linalg.norm(block, axis=1, keepdims=True)


def passing(meta: dict[str, np.ndarray], value: dict[str, Any] | None) -> np.ndarray:
    """The rows ``value`` (one of the filters above) passes, computed in numpy."""
    if value is None:
        return np.ones(meta["cat"].shape[0], dtype=bool)
    ((field, condition),) = value.items()
    column = meta[field]
    if not isinstance(condition, dict):
        return np.asarray(column == condition)
    mask = np.ones(column.shape[0], dtype=bool)
    for op, bound in condition.items():
        mask &= {"$ne": column != bound, "$lt": column < bound, "$gte": column >= bound}[op]
    return mask


def run(n: int, dim: int, queries: int, precision: str, seed: int = 0) -> list[dict[str, Any]]:
    vectors = unit_vectors(n, dim, seed)
    rng = np.random.default_rng(seed + 1)
    meta = {
        "cat": rng.integers(0, 10, n),
        "rare": rng.integers(0, 1000, n),
        "score": rng.random(n),
    }
    metadatas = [
        {"cat": int(c), "rare": int(r), "score": float(s)} for c, r, s in zip(meta["cat"], meta["rare"], meta["score"])
    ]
    qs = unit_vectors(queries, dim, seed + 2)
    rows: list[dict[str, Any]] = []
    cache_entries = mirror_module.PASSING_ENTRIES
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db", dim=dim, precision=precision)  # type: ignore[arg-type]
        start = time.perf_counter()
        store.add(
            [f"doc {i}" for i in range(n)], metadatas=metadatas, ids=[str(i) for i in range(n)], embeddings=vectors
        )
        ingest = time.perf_counter() - start
        disk = sum(p.stat().st_size for p in Path(tmp).iterdir() if p.is_file())
        store.search(vector=qs[0], k=10)  # loads the in-process index
        for name, spec in FILTERS.items():
            times: list[float] = []
            cpu: list[float] = []
            recalls: list[float] = []
            fresh = callable(spec)
            mirror_module.PASSING_ENTRIES = 0 if fresh else cache_entries  # fresh: nothing is reused
            for i, q in enumerate(qs):
                f = spec(i) if fresh else spec
                t0, c0 = time.perf_counter(), time.process_time()
                hits = store.search(vector=q, k=10, filter=f)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
                exact_scores = np.where(passing(meta, f), vectors @ q, -np.inf)
                best = np.argpartition(-exact_scores, 10)[:10]
                exact = [int(i) for i in best if np.isfinite(exact_scores[i])]
                if len(exact):
                    recalls.append(len({int(h.id) for h in hits} & {int(e) for e in exact}) / len(exact))
            rows.append(
                {
                    "precision": precision,
                    "filter": name,
                    "first_ms": round(times[0] * 1000, 2),
                    "p50_ms": round(statistics.median(times) * 1000, 2),
                    "cpu_p50_ms": round(statistics.median(cpu) * 1000, 2),
                    "recall": round(float(np.mean(recalls)), 4) if recalls else None,
                    "ingest_s": round(ingest, 1),
                    "ingest_per_s": round(n / ingest),
                    "disk_mb": round(disk / 1e6, 1),
                }
            )
        mirror_module.PASSING_ENTRIES = cache_entries
        store.close()
    base = next(r["p50_ms"] for r in rows if r["filter"] == "none")
    cpu_base = next(r["cpu_p50_ms"] for r in rows if r["filter"] == "none")
    for r in rows:
        r["ratio"] = round(r["p50_ms"] / base, 2)
        r["cpu_ratio"] = round(r["cpu_p50_ms"] / cpu_base, 2)
    return rows


def ingest_only(n: int, dim: int, precision: str, seed: int = 0) -> dict[str, Any]:
    """One ``add`` of the benchmark's documents into a new store: documents/s, and the file's size once closed."""
    vectors = unit_vectors(n, dim, seed)
    rng = np.random.default_rng(seed + 1)
    metadatas = [
        {"cat": int(c), "rare": int(r), "score": float(s)}
        for c, r, s in zip(rng.integers(0, 10, n), rng.integers(0, 1000, n), rng.random(n))
    ]
    texts, ids = [f"doc {i}" for i in range(n)], [str(i) for i in range(n)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        with Store(path, dim=dim, precision=precision) as store:  # type: ignore[arg-type]
            start = time.perf_counter()
            store.add(texts, metadatas=metadatas, ids=ids, embeddings=vectors)
            seconds = time.perf_counter() - start
        disk = sum(p.stat().st_size for p in Path(tmp).iterdir() if p.is_file())
    return {"precision": precision, "ingest_per_s": round(n / seconds), "disk_mb": round(disk / 1e6, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--precisions", nargs="+", default=["float32", "binary"])
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--ingest-only", action="store_true", help="only time one add per precision, and the file size")
    args = parser.parse_args()
    if args.ingest_only:
        for precision in args.precisions:
            print(json.dumps({**ingest_only(args.n, args.dim, precision), "load": os.getloadavg()[0]}))
        return
    load = os.getloadavg()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _common import cpu_flags

    print(f"# {args.n:,} x {args.dim}, {args.queries} queries, {platform.processor() or platform.machine()}")
    print(f"# CPU flags: {', '.join(cpu_flags()) or 'unknown'}")
    print(f"# load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    rows: list[dict[str, Any]] = []
    for precision in args.precisions:
        rows += run(args.n, args.dim, args.queries, precision)
    load = os.getloadavg()
    print(f"# load average at end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}\n")
    for precision in args.precisions:
        first = next(r for r in rows if r["precision"] == precision)
        print(f"# {precision}: ingest {first['ingest_per_s']:,} documents/s, store file {first['disk_mb']} MB")
    print("| precision | filter | first query ms | p50 ms | / unfiltered | CPU p50 ms | / unfiltered | recall@10 |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['precision']} | {r['filter']} | {r['first_ms']} | {r['p50_ms']} | {r['ratio']}x "
            f"| {r['cpu_p50_ms']} | {r['cpu_ratio']}x | {r['recall']} |"
        )
    if args.json is not None:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
