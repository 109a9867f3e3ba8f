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

With ``--stages SYSTEMS`` (bench_peers names: ``ogma-float32,ogma-binary,ogma-hnsw``) it
measures instead where each store's peak RSS comes from: every system in a fresh process runs
the peer benchmark's steps (imports, loading the input, ingest, reopening, the first query,
the unfiltered queries, each filter's first query and the rest), and the peak of each step is
measured on its own: the high-water mark is reset before it (``/proc/self/clear_refs``, "5"),
so a step's ``peak_mb`` less its ``before_mb`` is what it added at its worst moment (to within
a MB or two: the kernel keeps RSS counts per thread and adds them up lazily).

Usage::

    python benchmarks/bench_hnsw_memory.py --size 100000x384 --dir /tmp/hnsw-split --out split.json
    PYTHONPATH=/path/to/other/ogma/src python benchmarks/bench_hnsw_memory.py ...  # another version's code
    python benchmarks/bench_hnsw_memory.py --precision binary --size 100000x384 --dir /tmp/hnsw-binary --out b.json
    python benchmarks/bench_hnsw_memory.py --stages ogma-float32,ogma-binary,ogma-hnsw --size 100000x384 \
        --dir /tmp/peers-100k --out stages.json
"""

from __future__ import annotations

import argparse
import collections
import functools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def status_mb(keys: Sequence[str] = ("VmHWM", "RssAnon", "RssFile")) -> dict[str, int]:
    """``VmHWM``, ``RssAnon`` and ``RssFile`` (or ``keys``) of this process in MB (Linux)."""
    fields: dict[str, int] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in keys:
            fields[key] = round(int(value.split()[0]) / 1024)
    return fields


def reset_peak() -> None:
    """Reset this process's ``VmHWM`` to its current RSS (Linux 4.0+)."""
    Path("/proc/self/clear_refs").write_text("5")


class Stages:
    """The RSS before, the peak during and the anonymous / file-backed RSS after each step."""

    def __init__(self) -> None:
        self.steps: dict[str, dict[str, int]] = {}

    def run(self, name: str, step: Callable[[], Any], *, reset: bool = True) -> Any:
        """Run ``step`` (the high-water mark reset first unless ``reset`` is false) and record it."""
        if reset:
            reset_peak()
        before = status_mb(("VmRSS",))["VmRSS"]
        result = step()
        after = status_mb(("VmHWM", "VmRSS", "RssAnon", "RssFile"))
        self.steps[name] = {
            "before_mb": before,
            "peak_mb": after["VmHWM"],
            "added_at_peak_mb": after["VmHWM"] - before,
            "after_mb": after["VmRSS"],
            "anon_after_mb": after["RssAnon"],
            "file_after_mb": after["RssFile"],
        }
        return result


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


def stage_child(name: str, datadir: Path, workdir: Path, queries: int) -> dict[str, Any]:
    """One system's steps, as ``bench_peers.run_system`` takes them, each step's peak on its own."""
    import importlib

    import bench_peers as peers

    stages = Stages()
    imports = peers.IMPORTS[name]
    stages.run("interpreter and imports", lambda: [importlib.import_module(m) for m in imports], reset=False)

    def load() -> dict[str, np.ndarray]:
        return {key: np.load(datadir / f"{key}.npy") for key in ("vectors", "queries", "b10", "b1000", "u")}

    data = stages.run("input (the vectors array)", load)
    system = peers.RUNNERS[name](data, workdir)
    stages.run("ingest", system.ingest)
    stages.run("open", system.warm)
    vectors = data["queries"][:queries]
    stages.run("first query", lambda: system.search(vectors[0], None))
    stages.run("queries", lambda: [system.search(q, None) for q in vectors])
    for filt in peers.FILTERS:
        stages.run(f"first {filt}", lambda f=filt: system.search(vectors[0], f))  # type: ignore[misc]
        stages.run(f"{filt} queries", lambda f=filt: [system.search(q, f) for q in vectors])  # type: ignore[misc]
    steps = stages.steps
    start = steps["input (the vectors array)"]["after_mb"]
    raw_mb = data["vectors"].nbytes / 2**20
    peak = max(step["peak_mb"] for step in steps.values())
    system.close()
    return {
        "system": name,
        "raw_vectors_mb": raw_mb,
        "start_mb": start,
        "peak_mb": peak,
        "peak_over_start_mb": peak - start,
        "peak_over_start_x_raw": (peak - start) / raw_mb,
        "steps": steps,
    }


def stages_main(args: argparse.Namespace, log: Callable[[str], None]) -> dict[str, Any]:
    """Each of ``args.stages`` in a fresh process (:func:`stage_child`), on the peer benchmark's data."""
    import bench_peers as peers

    n, dim = (int(x) for x in args.size.lower().split("x"))
    args.dir.mkdir(parents=True, exist_ok=True)
    if not (args.dir / "vectors.npy").exists() or np.load(args.dir / "vectors.npy", mmap_mode="r").shape != (n, dim):
        peers.prepare(args.dir, n, dim, args.queries)
    results = []
    for name in [s.strip() for s in args.stages.split(",") if s.strip()]:
        with tempfile.TemporaryDirectory(prefix=f"stages-{name}-", dir=args.dir) as workdir:
            out = Path(workdir) / "result.json"
            cmd = [sys.executable, str(Path(__file__).resolve()), "--stage-child", name, "--dir", str(args.dir)]
            cmd += ["--workdir", workdir, "--queries", str(args.queries), "--out", str(out)]
            subprocess.run(cmd, check=True, env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
            result = json.loads(out.read_text())
        log(f"{name}: peak {result['peak_mb']} MB, {result['peak_over_start_x_raw']:.2f}x raw over the start")
        results.append(result)
    return {"size": args.size, "queries": args.queries, "systems": results}


def main(argv: Sequence[str] | None = None, log: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="100000x384", help="NxDIM, as bench_peers.py --sizes")
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--dir", type=Path, required=True, help="where the data and store are built (reused)")
    parser.add_argument("--precision", choices=("float32", "binary"), default="float32", help="of the store built")
    parser.add_argument("--out", type=Path, help="write the JSON here")
    parser.add_argument("--stages", metavar="SYSTEMS", help="peak RSS per step of these bench_peers systems")
    parser.add_argument("--stage-child", help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from _common import cpu_flags

    if args.stage_child:
        result = stage_child(args.stage_child, args.dir, args.workdir, args.queries)
        args.out.write_text(json.dumps(result))
        return 0
    machine = {"platform": platform.platform(), "cpu_count": os.cpu_count(), "cpu_flags": cpu_flags()}
    if args.stages:
        result = {**stages_main(args, log), "machine": machine, "load_average": list(os.getloadavg())}
    else:
        n, dim = (int(x) for x in args.size.lower().split("x"))
        build(args.dir, n, dim, args.queries, args.precision)
        result = {
            "size": args.size,
            "precision": args.precision,
            "machine": machine,
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
