"""Long documents: how a document's score is made from its windows' cosines.

The store keeps many windows per long document (its first full-width window, then whole
sentences within a paragraph packed up to 64 and up to 32 tokens: ``ogma.windows.STORE_FINE_WINDOWS``)
and ranks a document by its best window. A short query can match one small window of an
irrelevant document by chance, and a document with more (smaller) windows has more such
chances. This benchmark scores the same windows (read from the embedding cache of
``benchmarks/bench_long_documents.py``, so nothing but the queries is embedded when the cache is
warm) with aggregations that correct the maximum for the number and size of windows, each with
one constant swept over a grid, on the same sets and joinings (nDCG@10, recall@100):

* ``max``: the best window (the store's scoring);
* ``size-delta``: the best window after subtracting ``delta`` from every 32-token window's cosine
  (the first window and the 64-token windows unchanged; a negative ``delta`` favours them);
* ``max-std``: best window minus ``lam`` times the standard deviation of the document's windows;
* ``zmax``: best window minus ``lam`` times the expected maximum of ``n`` standard normal draws
  times that deviation (a count-based correction);
* ``topk-mean``: mean of the ``k`` best windows (``k`` = 2, 3);
* ``max+first``: best window plus ``beta`` times the first window's cosine (over ``1 + beta``);
* ``max+mean``: best window plus ``beta`` times the cosine of the mean of the windows;
* ``calibrated``: best over windows of ``cos - lam * mean cos of that window to a fixed sample
  of queries`` (200 queries of the other corpora, so no query scores against itself);
* ``class-calibrated``: ``size-delta`` with the constant of each size class measured instead of
  tuned: ``lam`` times how much higher that class' windows score against the sample than the
  first windows do.

A short document (one window) keeps its cosine under every aggregation here except ``topk-mean``
(where it is its only window: the same) and ``calibrated``.

Run:
    HF_HUB_OFFLINE=1 python benchmarks/bench_window_scores.py --data ../shared/datasets/nano-dbpedia \\
        --techdocs /tmp/techdocs --out benchmarks/results/long-documents-scores.json
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags
from bench_long_documents import CACHE, METRICS, MODEL, ROOT, Grouped, VectorCache, load_sets, ranking


def expected_max(n: np.ndarray) -> np.ndarray:
    """Expected maximum of ``n`` standard normal draws (Blom's approximation); 0 for one draw."""
    from scipy.stats import norm

    n = np.maximum(n, 1).astype(np.float64)
    return np.where(n > 1, norm.ppf((n - 0.375) / (n + 0.25)), 0.0)


GRID: dict[str, list[float]] = {
    "max": [0.0],
    "size-delta": [-0.03, -0.02, -0.01, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1],
    "max-std": [0.1, 0.25, 0.5, 0.75, 1.0],
    "zmax": [0.005, 0.01, 0.02, 0.03, 0.05],
    "topk-mean": [2, 3],
    "max+first": [0.1, 0.25, 0.5, 1.0],
    "max+mean": [0.1, 0.25, 0.5, 1.0],
    "calibrated": [0.1, 0.25, 0.35, 0.5, 1.0],
    "class-calibrated": [0.5, 1.0, 2.0],
}


class Windows:
    """One corpus' store windows: vectors, owners, size class (0 first/only, 64, 32)."""

    def __init__(self, corpus: Grouped, cache: VectorCache) -> None:
        from ogma.windows import STORE_FINE_WINDOWS

        enc = corpus.encoder
        plan = enc.window_plan(corpus.doc_texts, task="document", fine=STORE_FINE_WINDOWS)
        plan64 = enc.window_plan(corpus.doc_texts, task="document", fine=STORE_FINE_WINDOWS[:1])
        in64: dict[int, set[str]] = {}
        for text, owner in zip(plan64.texts, plan64.owners, strict=True):
            in64.setdefault(owner, set()).add(text)
        self.owners = np.asarray(plan.owners)
        size = []
        previous = -1
        for text, owner in zip(plan.texts, plan.owners, strict=True):
            size.append(0 if owner != previous else (64 if text in in64[owner] else 32))
            previous = owner
        self.size = np.asarray(size)
        self.vectors = cache.embed(plan.texts)
        self.n_docs = len(corpus.doc_ids)
        self.count = np.bincount(self.owners, minlength=self.n_docs)
        sums = np.zeros((self.n_docs, self.vectors.shape[1]), np.float32)
        np.add.at(sums, self.owners, self.vectors)
        self.mean = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        self.first = np.flatnonzero(self.size == 0)  # one per document, in document order


def aggregate(w: Windows, sims: np.ndarray, method: str, c: float, calib: Any) -> np.ndarray:
    """``(queries, documents)`` scores from ``sims`` ``(queries, windows)``."""
    q = sims.shape[0]
    if method == "size-delta":
        sims = sims - c * (w.size == 32)
    if method == "calibrated":
        sims = sims - c * calib[0]
    if method == "class-calibrated":
        sims = sims - c * calib[1]
    best = np.full((q, w.n_docs), -np.inf, np.float32)
    np.maximum.at(best.T, w.owners, sims.T)
    if method in ("max", "size-delta", "calibrated", "class-calibrated"):
        return best
    if method in ("max-std", "zmax"):
        sums, sq = np.zeros((q, w.n_docs)), np.zeros((q, w.n_docs))
        np.add.at(sums.T, w.owners, sims.T)
        np.add.at(sq.T, w.owners, (sims**2).T)
        mean = sums / w.count
        std = np.sqrt(np.maximum(sq / w.count - mean**2, 0))
        if method == "max-std":
            return best - c * std
        return best - c * expected_max(w.count)[None, :]
    if method == "topk-mean":
        k = int(c)
        order = np.argsort(w.owners, kind="stable")
        out = np.empty((q, w.n_docs), np.float32)
        starts = np.r_[0, np.cumsum(w.count)[:-1]]
        s = sims[:, order]
        for d in range(w.n_docs):
            block = s[:, starts[d] : starts[d] + w.count[d]]
            kk = min(k, block.shape[1])
            out[:, d] = np.sort(block, axis=1)[:, -kk:].mean(axis=1)
        return out
    if method == "max+first":
        return (best + c * sims[:, w.first]) / (1 + c)
    raise ValueError(method)


def evaluate(qs: Any, scores: np.ndarray) -> dict[str, Any]:
    """Mean nDCG@10 and recall@100, and nDCG@10 per query (for paired differences)."""
    from ogma.evaluate.metrics import evaluate_run

    run = {qid: ranking(scores[i], qs.doc_ids) for i, qid in enumerate(qs.ids)}
    per = evaluate_run(run, qs.qrels, metrics=METRICS, per_query=True)
    out: dict[str, Any] = {m: round(float(np.mean([per[q][m] for q in qs.ids])), 4) for m in METRICS}
    out["per_query"] = [per[q]["ndcg@10"] for q in qs.ids]
    return out


def strip(value: Any) -> Any:
    return {k: v for k, v in value.items() if k != "per_query"} if isinstance(value, dict) else value


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Per aggregation: nDCG@10 share of the oracle per set, the worst share, and the paired
    difference to ``max`` (mean and standard error over queries) per set."""
    names = [k for k in next(iter(results.values())) if k not in ("queries", "oracle", "windows_per_document")]
    out: dict[str, Any] = {}
    for name in names:
        shares, diffs = {}, {}
        for key, row in results.items():
            shares[key] = round(row[name]["ndcg@10"] / row["oracle"]["ndcg@10"], 4)
            d = np.asarray(row[name]["per_query"]) - np.asarray(row["max 0"]["per_query"])
            diffs[key] = [round(float(d.mean()), 4), round(float(d.std(ddof=1) / np.sqrt(len(d))), 4)]
        out[name] = {"worst_share": min(shares.values()), "shares": shares, "difference_to_max": diffs}
    return out


def markdown(summary: dict[str, Any], results: dict[str, Any]) -> str:
    keys = list(results)
    lines = ["| aggregation | worst | " + " | ".join(keys) + " |", "|---|---|" + "---|" * len(keys)]
    for name, s in summary.items():
        cells = []
        for k in keys:
            mean, se = s["difference_to_max"][k]
            cells.append(f"{results[k][name]['ndcg@10']:.4f} ({s['shares'][k]:.0%}, {mean:+.4f}±{se:.4f})")
        lines.append(f"| {name} | {s['worst_share']:.1%} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data")
    parser.add_argument("--techdocs")
    parser.add_argument("--sources", default="python,packages")
    parser.add_argument("--group", type=int, default=8)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--joiners", default="blank,space")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "long-documents-scores.json"))
    args = parser.parse_args()

    from ogma import TextEncoder

    encoder = TextEncoder(MODEL, threads=args.threads, show_progress=False)
    load_before = os.getloadavg()
    cache = VectorCache(encoder, CACHE)
    corpora = load_sets(args)
    # the calibration sample of each corpus: the queries of the other corpora
    all_queries = {name: [t for qs in sets.values() for t in qs[0].values()] for name, _, sets in corpora}
    results: dict[str, Any] = {}
    for name, passages, query_sets in corpora:
        others = [t for n, ts in all_queries.items() if n != name for t in ts]
        rng = np.random.default_rng(0)
        sample = [others[i] for i in rng.choice(len(others), size=min(200, len(others)), replace=False)]
        sample_vectors = encoder.encode_queries(sample)
        for joiner in args.joiners.split(","):
            corpus = Grouped(encoder, passages, query_sets, group=args.group, seed=args.seed, joiner=joiner)
            w = Windows(corpus, cache)
            calib = (sample_vectors @ w.vectors.T).mean(axis=0)[None, :]
            calib = np.where(w.count[w.owners] > 1, calib, 0.0)  # a short document keeps its cosine
            # per size class: its windows' mean cosine to the sample, less that of the first windows
            base = calib[0, (w.size == 0) & (w.count[w.owners] > 1)].mean()
            by_class = {z: calib[0, w.size == z].mean() - base for z in (64, 32)}
            shift = np.array([by_class.get(int(z), 0.0) for z in w.size])[None, :]
            calib = (calib, shift)
            oracle_ids = [p for d in corpus.doc_ids for p in corpus.members[d]]
            oracle_owners = [i for i, d in enumerate(corpus.doc_ids) for _ in corpus.members[d]]
            oracle = (cache.embed([passages[p] for p in oracle_ids]), np.asarray(oracle_owners))
            for set_name, qs in corpus.sets.items():
                key = f"{set_name} ({joiner})"
                sims = qs.vectors @ w.vectors.T
                mean_sims = qs.vectors @ w.mean.T
                row: dict[str, Any] = {"queries": len(qs.ids), "oracle": evaluate(qs, qs.best([oracle]))}
                row["windows_per_document"] = round(len(w.owners) / w.n_docs, 2)
                for method, grid in GRID.items():
                    for c in grid:
                        if method == "max+mean":
                            best = aggregate(w, sims, "max", 0, None)
                            scores = (best + c * mean_sims) / (1 + c)
                        else:
                            scores = aggregate(w, sims, method, c, calib)
                        row[f"{method} {c:g}"] = evaluate(qs, scores)
                results[key] = row
                print(key, {k: v["ndcg@10"] for k, v in row.items() if isinstance(v, dict)}, flush=True)
    summary = summarize(results)
    print(markdown(summary, results))
    Path(args.out).write_text(
        json.dumps(
            {
                "benchmark": "long documents: aggregating a document's window cosines (store windows)",
                "model": MODEL,
                "summary": summary,
                "results": {k: {m: strip(v) for m, v in r.items()} for k, r in results.items()},
                "environment": {
                    "cpu_flags": cpu_flags(),
                    "load_average_before": [round(x, 2) for x in load_before],
                    "load_average_after": [round(x, 2) for x in os.getloadavg()],
                },
            },
            indent=2,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
