"""Half-precision graphs for float32 stores: p50 and recall@10 of ``Store(path, index=HnswOptions(dtype=...))``.

One float32 store of the ``bench_peers.py`` data (clustered unit vectors, same seed) is copied
once per configuration (graph type ``dtype``, search expansion ``ef``, and for half-precision
graphs the rescoring factor ``r``: ``count × r`` graph candidates rescored with the exact float32
vectors), and each copy's graph built: every configuration walks its own graph, so no search
finds the nodes an earlier one just walked in the CPU caches. usearch's own index
(``usearch-ef128`` of ``bench_peers.py``: metric cos, its default bf16 vectors, search expansion
128) is built beside them. Then every query runs against every configuration in turn
(interleaved, in one process, so that a busy machine slows them alike; the order reversed every
other query). Reports p50/p95 per configuration, recall@10 against the exact answers, the ratio
to usearch-ef128's p50, and the graphs' file and memory sizes.

    PYTHONPATH=packages/ogma-core/src python benchmarks/bench_hnsw_dtype.py --n 100000 \
        --configs f32:128,f16:128:2,bf16:128:1.5,bf16:128:2 --out results.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from bench_peers import SEED, K, exact_top, make_data, recall_at_k

FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "fma")


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    line = next((x for x in text.splitlines() if x.startswith("flags")), "")
    return sorted(set(line.split()) & set(FLAGS))


def build(
    workdir: Path, data: dict[str, np.ndarray], configs: list[tuple[str, int, float]], *, share_graph: bool = False
) -> list[Path]:
    """One float32 store, copied per configuration (per graph type with ``share_graph``), each copy's graph built."""
    from ogma import Store
    from ogma.store.sqlite.hnsw import HnswOptions

    base = workdir / "base.ogma"
    vectors = data["vectors"]
    with Store(base, dim=vectors.shape[1], show_progress=False) as store:
        for start in range(0, len(vectors), 8192):
            stop = min(len(vectors), start + 8192)
            store.add(
                [f"document {i}" for i in range(start, stop)],
                ids=[str(i) for i in range(start, stop)],
                embeddings=vectors[start:stop],
                batch_size=8192,
            )
    paths = []
    built: dict[str, Path] = {}
    for i, (dtype, _, _) in enumerate(configs):
        if share_graph and dtype in built:
            paths.append(built[dtype])
            continue
        path = workdir / f"{i}-{dtype}.ogma"
        shutil.copy(base, path)
        t0 = time.perf_counter()
        with Store(path, show_progress=False, index=HnswOptions(dtype=dtype)) as store:  # type: ignore[arg-type]
            store.build_index()
        print(f"  {dtype} graph built in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
        paths.append(path)
        built[dtype] = path
    return paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3, help="passes over the queries (p50 over all)")
    parser.add_argument(
        "--configs", default="f32:128,f16:128:2,bf16:128:1.5,bf16:128:2", help="dtype:expansion[:r], comma-separated"
    )
    parser.add_argument(
        "--peer-expansions",
        default="128",
        help="usearch's search expansions (comma-separated), each a peer usearch-efN on the one usearch index",
    )
    parser.add_argument(
        "--share-graph",
        action="store_true",
        help="configurations of one graph type search one built graph (at a million vectors: one build per type)",
    )
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    peer_efs = [int(x) for x in args.peer_expansions.split(",")]
    configs = []
    for item in args.configs.split(","):
        parts = item.split(":")
        configs.append((parts[0], int(parts[1]), float(parts[2]) if len(parts) > 2 else 1.0))

    import onnxruntime  # noqa: F401  (before usearch: see ogma.store.sqlite.hnsw)
    from usearch.index import Index

    from ogma import Store
    from ogma.store.sqlite.hnsw import HnswOptions

    data = make_data(args.n, args.dim, args.queries, SEED)
    queries = data["queries"]
    truth = exact_top(data["vectors"], queries, K)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        paths = build(workdir, data, configs, share_graph=args.share_graph)
        peer = Index(ndim=args.dim, metric="cos", expansion_search=128)  # usearch-ef128 of bench_peers.py
        peer.add(np.arange(args.n, dtype=np.uint64), data["vectors"])
        peer.save(str(workdir / "usearch.index"))
        sizes = {dtype: Path(f"{p}.hnsw").stat().st_size for (dtype, _, _), p in zip(configs, paths)}
        sizes["usearch-ef128"] = (workdir / "usearch.index").stat().st_size

        stores = []
        for (dtype, ef, r), path in zip(configs, paths):
            options = HnswOptions(dtype=dtype, expansion_search=ef)  # type: ignore[arg-type]
            stores.append(Store(path, show_progress=False, index=options, oversample=r if dtype != "f32" else None))
        memory = {d: int(s._graph._index.memory_usage) for (d, _, _), s in zip(configs, stores)}  # usearch's count
        memory["usearch-ef128"] = int(peer.memory_usage)

        def peer_run(ef: int) -> Any:
            def run(q: np.ndarray) -> list[int]:
                peer.expansion_search = ef
                return [int(x) for x in peer.search(q, K, threads=1).keys]

            return run

        names = [f"usearch-ef{ef}" for ef in peer_efs] + [f"ogma {d} ef{ef} r{r:g}" for d, ef, r in configs]
        runs: list[Any] = [peer_run(ef) for ef in peer_efs]
        runs += [lambda q, s=s: [int(h.id) for h in s.search(vector=q, k=K)] for s in stores]
        for run in runs:  # warm
            run(queries[0])
        times: dict[str, list[float]] = {name: [] for name in names}
        found: dict[str, list[list[int]]] = {name: [] for name in names}
        load_before = list(os.getloadavg())
        for round_ in range(args.rounds):
            for qi, q in enumerate(queries):
                order = list(range(len(runs)))
                if (qi + round_) % 2:
                    order.reverse()
                for i in order:
                    t0 = time.perf_counter()
                    got = runs[i](q)
                    times[names[i]].append(time.perf_counter() - t0)
                    if round_ == 0:
                        found[names[i]].append(got)
        load_after = list(os.getloadavg())
        for store in stores:
            store.close()

    first_peer = names[0]
    peer_p50 = float(np.percentile(times[first_peer], 50)) * 1e3
    rows = []
    for name, config in zip(names, [None] * len(peer_efs) + configs, strict=True):
        p50 = float(np.percentile(times[name], 50)) * 1e3
        row: dict[str, Any] = {
            "config": name,
            "p50_ms": round(p50, 4),
            "p95_ms": round(float(np.percentile(times[name], 95)) * 1e3, 4),
            "recall_at_10": round(recall_at_k(found[name], truth), 4),
            f"ratio_to_{first_peer.replace('-', '_')}": round(p50 / peer_p50, 3),  # ratio_to_usearch_ef128
        }
        same = f"usearch-ef{config[1]}" if config is not None else None
        if same in times:  # usearch at the same search expansion
            row["ratio_to_usearch_same_expansion"] = round(p50 / (float(np.percentile(times[same], 50)) * 1e3), 3)
        rows.append(row)
        print(f"{name:26s} p50 {p50:7.3f} ms  recall {row['recall_at_10']:.4f}  x{p50 / peer_p50:.2f}")
    report = {
        "what": "Store.search(vector, k=10) with a float32 store's HNSW graph in f32, f16 and bf16 "
        "(half precision: count x r candidates rescored exactly), against usearch-ef128 (cos, bf16, "
        "expansion 128), interleaved per query in one process",
        "n": args.n,
        "peer_expansions": peer_efs,
        "share_graph": args.share_graph,
        "dim": args.dim,
        "queries": args.queries,
        "rounds": args.rounds,
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "cpu_flags": cpu_flags(),
        },
        "load_average_before": load_before,
        "load_average_after": load_after,
        "graph_file_bytes": sizes,
        "graph_memory_bytes": memory,
        "results": rows,
    }
    if args.out is not None:
        args.out.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
