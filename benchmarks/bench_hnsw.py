"""Ogma's approximate (HNSW) index against its exact search: recall@10, latency, memory, build rate.

Data: the clustered unit vectors of ``bench_peers.py`` (same generator, same seed), with its
metadata for one filter (``b10 == 3``, 10% pass). For each precision (float32, binary):
the store is filled without an index, the exact search is timed, the index is built with
``Store.build_index()`` (the build rate), and searches are timed through ``Store.search``
with ``HnswOptions(expansion_search=e)`` for each ``e``. Recall@10 is against the exact
float answer (the top 10 by inner product). Memory: the index file's size and usearch's own
``memory_usage`` of the loaded graph.

``--crossover`` instead times exact and HNSW search at growing sizes (every HNSW index
built at that size), to find where the graph starts to win.

``--binary-designs`` compares graphs for a binary store on usearch directly (no store): a Hamming
graph of the sign bits asked for ever more candidates (what an adaptive depth on the Hamming graph
would need), usearch's own ``i8`` conversion, and an ``i8`` graph of int8 codes scaled per vector
(each vector's largest component at 127), each at several candidate depths, every candidate set
rescored exactly. Recall@10 against the exact float answer, the p50 of the graph walk alone, the
build rate and usearch's ``memory_usage``; shapes as ``bench_binary_depth.py`` (``clustered:NxD``,
``uniform:NxD``), and a float32 graph for reference; ``--expansions`` sets the walks' expansions
(default: the store's, :func:`~ogma.store.sqlite.hnsw.expansion_for`).

Usage::

    python benchmarks/bench_hnsw.py --size 100000x384 --queries 200
    python benchmarks/bench_hnsw.py --crossover 2000,5000,10000,20000,50000 --dim 384
    python benchmarks/bench_hnsw.py --binary-designs clustered:100000x384,uniform:100000x384
    python benchmarks/bench_hnsw.py --binary-designs uniform:20000x384 --expansions 128,512,2048

Writes JSON to ``benchmarks/results/hnsw.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import cpu_flags  # noqa: E402
from bench_peers import K, exact_top, filter_mask, make_data, metadata_row, recall_at_k, text_of  # noqa: E402


def fill(path: Path, data: dict[str, np.ndarray], precision: str) -> float:
    from ogma import Store

    vectors = data["vectors"]
    n = len(vectors)
    t0 = time.perf_counter()
    with Store(path, dim=vectors.shape[1], precision=precision, show_progress=False) as store:  # type: ignore[arg-type]
        for start in range(0, n, 8192):
            stop = min(n, start + 8192)
            store.add(
                [text_of(i) for i in range(start, stop)],
                metadatas=[metadata_row(data, i) for i in range(start, stop)],
                ids=[str(i) for i in range(start, stop)],
                embeddings=vectors[start:stop],
                batch_size=8192,
            )
    return time.perf_counter() - t0


def timed(store: Any, queries: np.ndarray, filt: dict[str, Any] | None) -> tuple[list[list[int]], list[float]]:
    store.search(vector=queries[0], k=K, filter=filt)  # warm: loads the mirror or the graph, caches the filter
    found, times = [], []
    for q in queries:
        t0 = time.perf_counter()
        hits = store.search(vector=q, k=K, filter=filt)
        times.append(time.perf_counter() - t0)
        found.append([int(h.id) for h in hits])
    return found, times


def p50(times: list[float]) -> float:
    return float(np.percentile(np.asarray(times) * 1000, 50))


def measure(
    n: int, dim: int, queries: int, expansions: list[int | None], precisions: list[str], shape: str = "clustered"
) -> dict[str, Any]:
    from ogma import Store
    from ogma.store.sqlite.hnsw import HnswOptions

    data = make_data(n, dim, queries)
    if shape == "uniform":  # the worst case for sign bits and for graphs: isotropic Gaussian, same metadata
        rng = np.random.default_rng(7)
        for key, count in (("vectors", n), ("queries", queries)):
            x = rng.standard_normal((count, dim)).astype(np.float32)
            data[key] = x / np.linalg.norm(x, axis=1, keepdims=True)
    truth = exact_top(data["vectors"], data["queries"], K)
    mask = filter_mask(data, "eq 10%")
    ftruth = exact_top(data["vectors"], data["queries"], K, mask)
    filt = {"b10": 3}
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-hnsw-") as tmp:
        for precision in precisions:
            path = Path(tmp) / f"{precision}.db"
            ingest_s = fill(path, data, precision)
            with Store(path, show_progress=False) as store:
                found, times = timed(store, data["queries"], None)
                ffound, ftimes = timed(store, data["queries"], filt)
            rows.append(
                {
                    "precision": precision,
                    "search": "exact",
                    "ingest_per_s": n / ingest_s,
                    "p50_ms": p50(times),
                    "recall": recall_at_k(found, truth),
                    "filtered_p50_ms": p50(ftimes),
                    "filtered_recall": recall_at_k(ffound, ftruth),
                }
            )
            with Store(path, show_progress=False) as store:
                t0 = time.perf_counter()
                info = store.build_index()
                build_s = time.perf_counter() - t0
            for e in expansions:
                with Store(path, show_progress=False, index=HnswOptions(expansion_search=e, exact_below=0)) as store:
                    found, times = timed(store, data["queries"], None)
                    ffound, ftimes = timed(store, data["queries"], filt)
                    graph = store._graph
                    memory = None if graph is None or graph._index is None else int(graph._index.memory_usage)
                    chosen = None if graph is None else graph.expansion()  # None: unfit, searched exactly
                rows.append(
                    {
                        "precision": precision,
                        "search": f"hnsw ef={e}" if e is not None else f"hnsw default (ef {chosen or 'unfit: exact'})",
                        "build_per_s": n / build_s,
                        "p50_ms": p50(times),
                        "recall": recall_at_k(found, truth),
                        "filtered_p50_ms": p50(ftimes),
                        "filtered_recall": recall_at_k(ffound, ftruth),
                        "index_file_mb": None if info is None or info.size_bytes is None else info.size_bytes / 1e6,
                        "index_memory_mb": None if memory is None else memory / 1e6,
                        "load_average": list(os.getloadavg()),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return {"n": n, "dim": dim, "shape": shape, "queries": queries, "rows": rows, "load_average": list(os.getloadavg())}


def crossover(sizes: list[int], dim: int, queries: int, precisions: list[str]) -> dict[str, Any]:
    from ogma import Store
    from ogma.store.sqlite.hnsw import HnswOptions

    rows = []
    for n in sizes:
        data = make_data(n, dim, queries)
        with tempfile.TemporaryDirectory(prefix="bench-hnsw-") as tmp:
            truth = exact_top(data["vectors"], data["queries"], K)
            for precision in precisions:
                path = Path(tmp) / f"{precision}.db"
                fill(path, data, precision)
                with Store(path, show_progress=False) as store:
                    exact_found, exact = timed(store, data["queries"], None)
                    store.build_index()
                with Store(path, show_progress=False, index=HnswOptions(exact_below=0)) as store:
                    found, graph = timed(store, data["queries"], None)
                rows.append(
                    {
                        "n": n,
                        "precision": precision,
                        "exact_p50_ms": p50(exact),
                        "hnsw_p50_ms": p50(graph),
                        "exact_recall": recall_at_k(exact_found, truth),
                        "hnsw_recall": recall_at_k(found, truth),
                        "load_average": list(os.getloadavg()),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return {"dim": dim, "queries": queries, "rows": rows, "load_average": list(os.getloadavg())}


def scaled_int8(unit: np.ndarray) -> np.ndarray:
    """int8 codes of unit vectors, each scaled so that its largest component is 127 (cosine is scale-free)."""
    scale = np.max(np.abs(unit), axis=1, keepdims=True) / 127.0
    return np.clip(np.rint(unit / np.where(scale > 0, scale, 1.0)), -127, 127).astype(np.int8)


def binary_designs(shapes: list[str], queries: int, expansions: list[int | None] | None = None) -> dict[str, Any]:
    import onnxruntime  # noqa: F401  (before usearch: see ogma.store.sqlite.hnsw._usearch)
    from bench_binary_depth import load_shape
    from usearch.index import Index

    from ogma.compress import quantize_binary
    from ogma.store.sqlite.hnsw import expansion_for

    designs: dict[str, tuple[str, str, Any, list[int]]] = {
        # name: (metric, dtype, encode, candidate counts for k=10)
        "hamming b1": ("hamming", "b1", quantize_binary, [200, 1000, 2000, 5000]),
        "i8 (usearch's conversion)": ("cos", "i8", lambda x: x, [10, 15, 20, 40]),
        "i8 (scaled per vector)": ("cos", "i8", scaled_int8, [10, 15, 20, 40]),
        "f32 (a float32 store's graph, for reference)": ("ip", "f32", lambda x: x, [20]),
    }
    rows = []
    for spec in shapes:
        name, docs, qs = load_shape(spec, queries)
        n, dim = docs.shape
        truth = exact_top(docs, qs, K)
        keys = np.arange(n, dtype=np.uint64)
        for design, (metric, dtype, encode, counts) in designs.items():
            ndim = -(-dim // 8) * 8 if dtype == "b1" else dim
            index = Index(ndim=ndim, metric=metric, dtype=dtype, connectivity=16, expansion_add=128)
            t0 = time.perf_counter()
            for start in range(0, n, 8192):
                index.add(keys[start : start + 8192], encode(docs[start : start + 8192]))
            build_s = time.perf_counter() - t0
            encoded = encode(qs)
            for count, expansion in [(c, e) for c in counts for e in expansions or [None]]:
                index.expansion_search = max(count, expansion or expansion_for(n))
                found, times = [], []
                for qi in range(len(qs)):
                    t0 = time.perf_counter()
                    matches = index.search(encoded[qi], count, threads=1)
                    times.append(time.perf_counter() - t0)
                    cand = np.asarray(matches.keys, dtype=np.int64)
                    best = cand[np.argsort(-(docs[cand] @ qs[qi]), kind="stable")[:K]]
                    found.append(best.tolist())
                rows.append(
                    {
                        "shape": name,
                        "design": design,
                        "candidates": count,
                        "expansion_search": int(index.expansion_search),
                        "recall": recall_at_k(found, truth),
                        "walk_p50_ms": p50(times),
                        "build_per_s": n / build_s,
                        "memory_mb": index.memory_usage / 1e6,
                        "load_average": list(os.getloadavg()),
                    }
                )
                print(json.dumps(rows[-1]), flush=True)
    return {"queries": queries, "rows": rows, "load_average": list(os.getloadavg())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="100000x384", help="NxDIM")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--expansions", default="64,128,256", help="expansion_search values ('default': None)")
    parser.add_argument("--precisions", default="float32,binary")
    parser.add_argument("--shape", choices=("clustered", "uniform"), default="clustered", help="data (not --crossover)")
    parser.add_argument("--crossover", help="comma-separated sizes: time exact vs HNSW at each")
    parser.add_argument("--dim", type=int, default=384, help="dimension for --crossover")
    parser.add_argument("--binary-designs", help="comma-separated shapes (clustered:NxD, uniform:NxD): graph designs")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "hnsw.json")
    args = parser.parse_args()
    machine = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "cpu_flags": cpu_flags()}
    expansions = [None if x == "default" else int(x) for x in args.expansions.split(",")]
    if args.binary_designs:
        chosen = None if args.expansions == parser.get_default("expansions") else expansions
        report = binary_designs(args.binary_designs.split(","), args.queries, chosen)
    elif args.crossover:
        report = crossover(
            [int(x) for x in args.crossover.split(",")], args.dim, args.queries, args.precisions.split(",")
        )
    else:
        n, dim = (int(x) for x in args.size.lower().split("x"))
        report = measure(n, dim, args.queries, expansions, args.precisions.split(","), args.shape)
    report["machine"] = machine
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
