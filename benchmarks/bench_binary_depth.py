"""How many binary candidates a query needs: fixed oversampling against the adaptive depth.

For each data shape, every query's Hamming distances to all vectors (Ogma's own kernels,
``ogma.store.sqlite.kernels``), then for each rule the candidates it picks and the recall@10
of rescoring them exactly (the float top 10 among the candidates, against the float top 10
of all vectors). The cost of a rule is its depth: the candidates rescored per query (each one
a row read from SQLite in the store). Rules: fixed ``×f`` (``10·f`` candidates for k=10) and
the adaptive rule at several margins ``z`` (every row within ``z`` standard deviations of the
k-th smallest Hamming distance, at least ``10·k``, at most ``2000·k``:
``ogma.store.sqlite.mirror.AdaptiveDepth``).

Shapes: ``clustered`` (the data of ``bench_peers.py``: 100 tight Gaussian clusters),
``uniform`` (isotropic Gaussian, the worst case for sign bits), and real embeddings from an
``.npz`` with ``documents``, ``queries`` and ``title_queries`` (what ``bench_store.py`` caches
for nano-dbpedia with all-MiniLM-L6-v2), at full and at 256 dimensions.

Usage::

    python benchmarks/bench_binary_depth.py --shape clustered:100000x384 --shape uniform:100000x384
    python benchmarks/bench_binary_depth.py --shape embeddings:benchmarks/.cache/nano-dbpedia-x.npz:256
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_peers import make_data  # noqa: E402

from ogma.compress import quantize_binary  # noqa: E402
from ogma.store.sqlite.kernels import hamming, pack_columns, query_words, smallest, within_margin  # noqa: E402
from ogma.store.sqlite.mirror import AdaptiveDepth  # noqa: E402

K = 10
FIXED = (20, 50, 100, 200)
MARGINS = (2.5, 3.0, 3.5)


def unit(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def load_shape(spec: str, queries: int) -> tuple[str, np.ndarray, np.ndarray]:
    kind, _, rest = spec.partition(":")
    if kind in ("clustered", "uniform"):
        n, dim = (int(x) for x in rest.lower().split("x"))
        if kind == "clustered":
            data = make_data(n, dim, queries)
            return f"clustered {n:,} × {dim}", data["vectors"], data["queries"]
        rng = np.random.default_rng(7)
        return f"uniform {n:,} × {dim}", unit(rng.standard_normal((n, dim))), unit(rng.standard_normal((queries, dim)))
    if kind == "embeddings":
        file, _, dim_text = rest.rpartition(":")
        if not file:
            file, dim_text = rest, ""
        z = np.load(file)
        dim = int(dim_text) if dim_text else z["documents"].shape[1]
        q = np.concatenate([z["queries"], z["title_queries"]])
        return f"{Path(file).stem} × {dim}", unit(z["documents"][:, :dim]), unit(q[:, :dim])
    raise SystemExit(f"--shape: unknown kind {kind!r} in {spec!r} (clustered:NxD, uniform:NxD, embeddings:FILE[:DIM])")


def measure(name: str, docs: np.ndarray, queries: np.ndarray) -> dict[str, Any]:
    n, dim = docs.shape
    columns = pack_columns(quantize_binary(docs))
    packed_queries = quantize_binary(queries)
    rules: list[tuple[str, float]] = [("fixed", f) for f in FIXED] + [("adaptive", z) for z in MARGINS]
    found: dict[str, list[tuple[float, int]]] = {f"{kind} {v:g}": [] for kind, v in rules}
    default = AdaptiveDepth()
    for qi in range(len(queries)):
        cosines = docs @ queries[qi]
        truth = set(np.argpartition(-cosines, K)[:K].tolist())
        distances = hamming(columns, query_words(packed_queries[qi]))
        for kind, value in rules:
            if kind == "fixed":
                chosen = smallest(distances, min(n, int(K * value)))
            else:
                chosen = within_margin(
                    distances,
                    K,
                    bits=dim,
                    z=value,
                    minimum=math.ceil(K * default.minimum),
                    maximum=math.ceil(K * default.maximum),
                )
            best = chosen[np.argsort(-cosines[chosen], kind="stable")[:K]]
            found[f"{kind} {value:g}"].append((len(truth & set(best.tolist())) / K, int(chosen.shape[0])))
    out: dict[str, Any] = {"shape": name, "n": n, "dim": dim, "queries": len(queries), "rules": {}}
    for rule, rows in found.items():
        recalls = np.array([r for r, _ in rows])
        depths = np.array([d for _, d in rows])
        out["rules"][rule] = {
            "recall": round(float(recalls.mean()), 4),
            "worst_tenth_recall": round(float(np.sort(recalls)[: max(1, len(recalls) // 10)].mean()), 4),
            "depth_mean": round(float(depths.mean()), 1),
            "depth_p95": round(float(np.percentile(depths, 95)), 1),
        }
    return out


def markdown(results: Sequence[dict[str, Any]]) -> str:
    rules = list(results[0]["rules"])
    lines = [
        "| rule | " + " | ".join(r["shape"] for r in results) + " |",
        "|---|" + "---:|" * len(results),
    ]
    for rule in rules:
        cells = [f"{r['rules'][rule]['recall']:.3f} ({r['rules'][rule]['depth_mean']:,.0f})" for r in results]
        label = f"fixed ×{rule.split()[1]}" if rule.startswith("fixed") else f"adaptive, z = {rule.split()[1]}"
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--shape", action="append", required=True, help="clustered:NxD, uniform:NxD, embeddings:FILE[:DIM]"
    )
    parser.add_argument("--queries", type=int, default=200, help="queries of the synthetic shapes")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "binary_depth.json")
    args = parser.parse_args(argv)
    results = []
    for spec in args.shape:
        name, docs, queries = load_shape(spec, args.queries)
        results.append(measure(name, docs, queries))
        print(json.dumps(results[-1]), flush=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"load_average": list(os.getloadavg()), "results": results}, indent=2) + "\n")
    print(markdown(results))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
