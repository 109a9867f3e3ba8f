"""Where a graph store's memory and filtered-query time go: RSS at stages and a time split per query kind.

Builds (once, in ``--dir``) the data and the ``Store(index="hnsw")`` of ``benchmarks/bench_peers.py``
(same seed, clusters and metadata), then opens it in a fresh process and runs the unfiltered
queries and each of the peer benchmark's four filters, recording:

* ``VmHWM`` (peak RSS), ``RssAnon`` and ``RssFile`` (file pages mapped into the process: the
  SQLite memory map) after opening, after the first query, and after each query kind;
* the median time of each step of a search (the filter's passing rows, the graph walk, the
  candidates in all, the pipeline's rescoring, the documents, the whole search), by wrapping
  those methods; recall@10 against the exact (filtered) answer;
* whether the in-memory float mirror was loaded, the graph's own memory (usearch), and how
  often the memory map was dropped (the map budget).

The process does not hold the input vectors (unlike ``bench_peers.py``), so its RSS is the store's.

Usage::

    python benchmarks/bench_hnsw_memory.py --size 100000x384 --dir /tmp/hnsw-split --out split.json
    PYTHONPATH=/path/to/other/ogma/src python benchmarks/bench_hnsw_memory.py ...  # another version's code
    python benchmarks/bench_hnsw_memory.py --precision binary --size 100000x384 --dir /tmp/hnsw-binary --out b.json
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def status_mb() -> dict[str, int]:
    """``VmHWM``, ``RssAnon`` and ``RssFile`` of this process in MB (Linux)."""
    fields: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "RssAnon", "RssFile"):
            fields[key] = round(int(value.split()[0]) / 1024)
    return fields


def build(folder: Path, n: int, dim: int, queries: int, precision: str = "float32") -> None:
    """The peer benchmark's data, exact answers and graph store, in ``folder`` (skipped when there)."""
    import bench_peers as peers

    if (folder / "ogma.db.hnsw.json").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    data = peers.make_data(n, dim, queries)
    np.save(folder / "queries.npy", data["queries"])
    np.save(folder / "truth.npy", peers.exact_top(data["vectors"], data["queries"], peers.K))
    for name in peers.FILTERS:
        mask = peers.filter_mask(data, name)
        slug = name.replace(" ", "_").replace("%", "pct")
        np.save(folder / f"truth-{slug}.npy", peers.exact_top(data["vectors"], data["queries"], peers.K, mask))
    runner = peers.OgmaHnswBinary if precision == "binary" else peers.OgmaHnsw
    runner(data, folder).ingest()  # closing the store saves its graph


def measure(folder: Path, queries: int) -> dict[str, Any]:
    """Open the store with its graph and measure (see the module docstring)."""
    import bench_peers as peers
    import onnxruntime  # noqa: F401  (before usearch: see ogma.store.sqlite.hnsw._usearch)
    import usearch.index  # noqa: F401

    import ogma
    from ogma import Store
    from ogma.store.sqlite import hnsw, store

    timers: dict[str, list[float]] = collections.defaultdict(list)

    def wrap(owner: Any, name: str, label: str) -> None:
        method = getattr(owner, name)

        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                timers[label].append(time.perf_counter() - start)

        setattr(owner, name, timed)

    for owner, name, label in (
        (hnsw.HnswIndex, "passing", "passing rows"),
        (hnsw.HnswIndex, "_graph", "graph walk"),
        (store.Store, "_dense_candidates", "dense candidates"),
        (store.Store, "_rescore", "pipeline rescoring"),
        (store.Store, "_documents", "documents"),
        (store.Store, "search", "search"),
    ):
        wrap(owner, name, label)
    vectors = np.load(folder / "queries.npy")[:queries]
    truth = np.load(folder / "truth.npy")
    stages = {"start": status_mb()}
    db = Store(folder / "ogma.db", show_progress=False, index="hnsw")
    stages["open"] = status_mb()
    runner = peers.OgmaHnsw.__new__(peers.OgmaHnsw)
    runner.store = db
    runner.search(vectors[0], None)
    stages["first query"] = status_mb()
    kinds: dict[str, Any] = {}
    for name in [None, *peers.FILTERS]:
        slug = None if name is None else name.replace(" ", "_").replace("%", "pct")
        expected = truth if slug is None else np.load(folder / f"truth-{slug}.npy")
        runner.search(vectors[0], name)
        timers.clear()
        found = [runner.search(q, name) for q in vectors]
        kinds[name or "unfiltered"] = {
            "recall": peers.recall_at_k(found, expected[: len(found)]),
            "median_ms": {label: float(np.median(times)) * 1000 for label, times in timers.items()},
            "after_mb": status_mb(),
        }
    graph = db._graph
    budget = getattr(db, "_map_budget", None)
    return {
        "ogma": str(Path(ogma.__file__).parent),
        "queries": len(vectors),
        "stages_mb": stages,
        "kinds": kinds,
        "mirror_loaded": db._mirror.loaded if db._mirror is not None else False,
        "graph": None
        if graph is None
        else {"vectors": graph.size, "dtype": graph._dtype, "usearch_memory_mb": graph._index.memory_usage / 2**20},
        "map_drops": None if budget is None else budget.drops,
    }


def main(argv: Sequence[str] | None = None, log: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100000x384", help="NxDIM, as bench_peers.py --sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dir", type=Path, required=True, help="where the data and store are built (reused)")
    parser.add_argument("--precision", choices=("float32", "binary"), default="float32", help="of the store built")
    parser.add_argument("--out", type=Path, help="write the JSON here")
    args = parser.parse_args(argv)
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from _common import cpu_flags

    n, dim = (int(x) for x in args.size.lower().split("x"))
    build(args.dir, n, dim, args.queries, args.precision)
    result = {
        "size": args.size,
        "precision": args.precision,
        "machine": {"platform": platform.platform(), "cpu_count": os.cpu_count(), "cpu_flags": cpu_flags()},
        **measure(args.dir, args.queries),
        "load_average": list(os.getloadavg()),
    }
    text = json.dumps(result, indent=2)
    if args.out is not None:
        args.out.write_text(text + "\n")
    log(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
