"""Where one binary + rescore query spends its time, stage by stage.

Builds a binary store from the clustered data of ``bench_peers.py`` (vectors given, no
encoding), reopens it, warms it with one query, then for each query times the stages of
``Store.search(vector=..., k=10)`` separately, calling the same functions the store calls:

* ``hamming``: the Hamming distances of the query to every sign-bit code (the mirror's scan);
* ``select``: the adaptive candidate cut and ordering (``within_margin``, best first);
* ``read_all`` / ``dot_all``: reading every candidate's float vector from SQLite and rescoring
  them exactly (``exact_rescore``): the path before the int8 copy;
* ``estimate``: the int8 copy's cosine estimates of the candidates, sorted
  (``Int8Copy.estimates``);
* ``read_shortlist`` / ``dot_shortlist``: reading the float vectors of the candidates the
  estimates and their bounds cannot rule out (the best 10 first, then those that can still
  reach them; ``rows_read``), and rescoring them exactly: the path now;
* ``fetch``: reading the 10 result documents.

And the whole ``search`` call (p50 over the queries) both ways, in turns of every query,
twice (the mirror's ``int8_copy`` switched off for the path before; not query by query:
the path before reads through the memory map, whose pages the next shortlist read would
pay to unmap), with recall@10 against exact
float search, how many queries gave identical results both ways, and peak RSS (``VmHWM``,
with the anonymous / file-backed split at the end).

Usage::

    python benchmarks/bench_binary_rescore.py --size 300000x256 --queries 100
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from _common import cpu_flags  # noqa: E402
from bench_hnsw import fill  # noqa: E402
from bench_peers import exact_top, make_data, memory_mb, recall_at_k  # noqa: E402

K = 10


def stages(store: Any, query: np.ndarray, *, every: bool) -> dict[str, float]:
    """One query's stages, timed separately (the store's own functions, in its order).

    ``every``: the path before (every candidate read through the memory map), else the
    shortlist's. Each is timed over all queries in a row: the pages the path before leaves
    mapped would make the next shortlist read (through the page cache) pay to unmap them.
    """
    import math

    from ogma.compress import normalize
    from ogma.store.pipeline import exact_cosines, exact_rescore
    from ogma.store.sqlite.kernels import within_margin
    from ogma.store.sqlite.mirror import AdaptiveDepth
    from ogma.store.sqlite.search import ESTIMATE_SLACK, _unmapped, with_float_vectors

    out: dict[str, float] = {}
    unit = normalize(query.reshape(1, -1))[0]
    snap = store._mirror.snapshot()
    depth = AdaptiveDepth()
    codec = snap.codec
    with store._pool.connection() as conn:
        t = time.perf_counter()
        distances = snap._scores(unit, None)
        out["hamming"] = time.perf_counter() - t
        t = time.perf_counter()
        chosen = within_margin(
            distances,
            K,
            bits=codec.dim,
            z=depth.z,
            minimum=math.ceil(K * depth.minimum),
            maximum=math.ceil(K * depth.maximum),
        )
        chosen = chosen[np.lexsort((chosen, distances[chosen]))]
        rowids = snap.rowids[chosen]
        scores = -distances[chosen].astype(np.float64)
        out["select"] = time.perf_counter() - t
        out["candidates"] = float(rowids.shape[0])
        if not every:
            if snap.approx is None:
                raise SystemExit("the mirror keeps no int8 copy")
            t = time.perf_counter()
            estimate, bound = snap.approx.estimates(unit, chosen)
            order = np.argsort(-estimate, kind="stable")
            out["estimate"] = time.perf_counter() - t
            t = time.perf_counter()
            first, rest = order[:K], order[K:]
            with _unmapped(conn):
                ranked, matrix = with_float_vectors(conn, codec, rowids[first], scores[first])
                kth = float(np.sort(exact_cosines(matrix, unit))[-K])
                more = rest[estimate[rest] + bound[rest] + ESTIMATE_SLACK >= kth]
                extra, extra_matrix = with_float_vectors(conn, codec, rowids[more], scores[more])
            out["read_shortlist"] = time.perf_counter() - t
            out["rows_read"] = float(len(ranked) + len(extra))
            t = time.perf_counter()
            keys = [key for key, _ in ranked] + [key for key, _ in extra]
            best = exact_rescore(unit, keys, np.concatenate([matrix, extra_matrix]), K)
            out["dot_shortlist"] = time.perf_counter() - t
        else:
            t = time.perf_counter()
            ranked, matrix = with_float_vectors(conn, codec, rowids, scores)
            out["read_all"] = time.perf_counter() - t
            t = time.perf_counter()
            best = exact_rescore(unit, [key for key, _ in ranked], matrix, K)
            out["dot_all"] = time.perf_counter() - t
        t = time.perf_counter()
        store._documents(conn, [key for key, _ in best], False)
        out["fetch"] = time.perf_counter() - t
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", default="300000x256", help="NxDIM (default 300000x256)")
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--store", type=Path, help="keep (or reuse) the store at this path")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "binary_rescore.json")
    args = parser.parse_args(argv)
    n, dim = (int(x) for x in args.size.lower().split("x"))
    data = make_data(n, dim, args.queries)
    truth = exact_top(data["vectors"], data["queries"], K)
    tmp = None
    if args.store is None:
        tmp = tempfile.TemporaryDirectory(prefix="bench-binary-rescore-")
        path = Path(tmp.name) / "store.db"
    else:
        path = args.store
    ingest_s = fill(path, data, "binary") if not path.exists() else None
    del data["vectors"]  # the store holds them now; this process keeps only the queries

    from ogma import Store

    store = Store(path, show_progress=False)
    queries = data["queries"]
    t = time.perf_counter()
    store.search(vector=queries[0], k=K)  # loads the mirror
    load_s = time.perf_counter() - t
    mirror = store._mirror
    if mirror is None:
        raise SystemExit(f"{path}: the store holds no vectors")
    totals: dict[str, list[float]] = {"int8 shortlist": [], "every candidate": []}
    found: dict[str, list[list[int]]] = {name: [] for name in totals}
    for round_ in range(2):  # the two paths take turns by blocks of every query, twice
        for name, keep in (("int8 shortlist", True), ("every candidate", False)):
            mirror.int8_copy = keep  # False: the store reads and rescores every candidate (the path before)
            for q in queries:
                t = time.perf_counter()
                hits = store.search(vector=q, k=K)
                totals[name].append(time.perf_counter() - t)
                if round_ == 0:
                    found[name].append([int(h.id) for h in hits])
    mirror.int8_copy = True
    parts = [stages(store, q, every=False) for q in queries]
    before = [stages(store, q, every=True) for q in queries]
    parts = [{**b, **p} for b, p in zip(before, parts)]  # hamming, select, fetch: the shortlist's
    memory = memory_mb()
    store.close()
    report: dict[str, Any] = {
        "n": n,
        "dim": dim,
        "queries": len(queries),
        "ingest_s": ingest_s,
        "mirror_load_s": load_s,
        "search_p50_ms": {name: float(np.median(times) * 1000) for name, times in totals.items()},
        "recall": {name: recall_at_k(hits, truth) for name, hits in found.items()},
        "identical_results": sum(a == b for a, b in zip(found["int8 shortlist"], found["every candidate"])),
        "stages_p50_ms": {
            key: float(np.median([p[key] for p in parts]) * (1 if key in ("candidates", "rows_read") else 1000))
            for key in parts[0]
        },
        **memory,
        "load_average": list(os.getloadavg()),
        "cpu_flags": cpu_flags(),
    }
    print(json.dumps(report, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
