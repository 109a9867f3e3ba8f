"""Reranking quality and time by depth, blending and normalisation: the numbers behind Ogma's rerank defaults.

First stage: an Ogma ``Store`` (SQLite) with all-MiniLM-L6-v2, searched ``dense``, ``hybrid``
(the store's default fusion) and ``lexical`` (BM25), top 100 per query. Second stage:
cross-encoder/ms-marco-MiniLM-L-12-v2 (int8 ONNX, from ``real_models.py``) through ``ogma.Reranker``.
Every (query, candidate) pair of the top 100 of the first stages is scored once per query (one
``score`` call over the union of the candidate lists; a rerun scores only pairs not yet cached),
and each configuration is read off those raw logits:

* depth ``d``: the first ``d`` first-stage hits reordered by the cross-encoder, the rest kept after;
* ``alpha``: ``alpha * normalised + (1 - alpha) * scaled_first_stage``, the blend
  ``Store.search(rerank_alpha=...)`` applies, with ``normalize`` ``sigmoid`` or ``linear``
  (``ogma.rerank.sigmoid`` / ``linear_rescale`` with the default range) for the cross-encoder and
  ``scale`` for the first stage: ``score`` (the hit's own score: cosine for dense, the hybrid
  score, and BM25 squashed as ``bm25 / (bm25 + 5)`` for lexical, as ``ogma.fusion.hybrid_score``
  does) or ``minmax`` (min-max over the reranked hits of the query).

Time per query at depth ``d`` is measured separately: ``Reranker.score`` on the top-``d`` dense
hits of the first ``--timed-queries`` queries of each set (plus the first stage's own time), the
depths interleaved in ``--timing-rounds`` rounds (rotating order; median round; the ratio of two
depths taken within each round), with pairs/s, tokens per pair and the load before and after.
``--timing-only`` runs just that (no pair is scored for quality, no configuration is evaluated).

On a busy machine, ``--max-depth 50`` drops depth 100 (and scores only the union of the two top
50s), and ``--max-queries N`` keeps N evenly spaced judged queries of each set (the i-th kept is
query ``floor(i * n / N)`` in file order, so every query kind of a grouped file is represented;
one N for every set, or one per ``--data`` folder); the same queries serve every configuration.

Defaults are chosen by their worst case across the sets: for each configuration, its nDCG@10
gain over dense on every set, then the configuration with the best minimum gain (each row also
records ``worst_vs_first_stage``, its worst gain over the same first stage without reranking).

Usage:
    python benchmarks/build_techdocs.py --out /tmp/techdocs
    python benchmarks/bench_rerank_quality.py --data ../shared/datasets/nano-dbpedia \
        /tmp/techdocs/python-ids /tmp/techdocs/python-nl /tmp/techdocs/packages-ids /tmp/techdocs/packages-nl \
        --out benchmarks/results/rerank-quality.json
    python benchmarks/bench_rerank_quality.py --data ... --timing-only --timed-queries 5 \
        --out benchmarks/results/rerank-time.json
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytrec_eval
import tune_hybrid
from _common import cpu_flags

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import real_models  # noqa: E402
from ogma import Reranker, Store, TextEncoder  # noqa: E402
from ogma.fusion import BM25_SATURATION  # noqa: E402
from ogma.rerank import linear_rescale, sigmoid  # noqa: E402

TOP = 100
DEPTHS = (10, 20, 30, 50, 100)
ALPHAS = (None, 0.2, 0.25, 0.3, 0.35, 0.4, 0.5, 0.7, 0.8, 0.9)
NORMALIZE = ("sigmoid", "linear")
SCALES = ("score", "minmax")
MODES = ("dense", "hybrid", "lexical")
CACHE = HERE / ".cache" / "rerank"


def load_beir(folder: Path) -> tuple[list[dict[str, str]], dict[str, str], dict[str, dict[str, int]]]:
    """The BEIR set, keeping only judged queries."""
    corpus, queries, qrels = tune_hybrid.load_beir(folder)
    return corpus, {q: t for q, t in queries.items() if q in qrels}, qrels


doc_text = tune_hybrid.doc_text


def ndcg10(run: dict[str, dict[str, float]], qrels: dict[str, dict[str, int]]) -> float:
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in run}, {"ndcg_cut.10"})
    return float(np.mean([v["ndcg_cut_10"] for v in evaluator.evaluate(run).values()]))


def first_stage(
    folder: Path, encoder: TextEncoder, queries: dict[str, str]
) -> tuple[dict[str, Any], dict[str, str], dict[str, float]]:
    """Top-100 hits per query of each first stage (cached store per corpus), and their search times."""
    corpus, _, _ = load_beir(folder)
    digest = hashlib.sha1("".join(d["_id"] + doc_text(d) for d in corpus).encode()).hexdigest()[:12]
    CACHE.mkdir(parents=True, exist_ok=True)
    db = CACHE / f"corpus-{digest}.db"  # sets sharing a corpus share the store
    store = Store(db, encoder, show_progress=False)
    if store.count() != len(corpus):
        store.add([doc_text(d) for d in corpus], ids=[d["_id"] for d in corpus])
    texts = {d["_id"]: doc_text(d) for d in corpus}
    hits: dict[str, Any] = {mode: {} for mode in MODES}
    seconds = {}
    for mode in MODES:
        start = time.perf_counter()
        for qid, query in queries.items():
            hits[mode][qid] = [(h.id, h.score) for h in store.search(query, k=TOP, mode=mode)]
        seconds[mode] = (time.perf_counter() - start) / len(queries)
    store.close()
    return hits, texts, seconds


def scaled_first_stage(mode: str, scores: list[float], scale: str) -> np.ndarray:
    """The first-stage side of the blend: the hit's own score on a 0-1 scale, or min-max over the list."""
    x = np.array(scores, dtype=np.float64)
    if scale == "minmax":
        span = x.max() - x.min() if len(x) else 0.0
        return (x - x.min()) / span if span > 0 else np.ones_like(x)
    if mode == "lexical":
        return np.maximum(x, 0.0) / (np.maximum(x, 0.0) + BM25_SATURATION)
    return np.clip(x, 0.0, 1.0)


def rerank_run(
    candidates: list[tuple[str, float]],
    logits: dict[str, float],
    depth: int,
    alpha: float | None,
    normalize: str,
    mode: str = "dense",
    scale: str = "score",
) -> dict[str, float]:
    head, tail = candidates[:depth], candidates[depth:]
    raw = np.array([logits[d] for d, _ in head])
    norm = sigmoid(raw) if normalize == "sigmoid" else linear_rescale(raw)
    final = norm.astype(np.float64)
    if alpha is not None and head:
        final = alpha * final + (1 - alpha) * scaled_first_stage(mode, [s for _, s in head], scale)
    order = sorted(range(len(head)), key=lambda i: (-final[i], -raw[i], i))
    run = {head[i][0]: float(len(candidates) * 2 - rank) for rank, i in enumerate(order)}
    run.update({d: float(len(candidates) - rank) for rank, (d, _) in enumerate(tail)})
    return run or {"-": 0.0}  # a query without hits (lexical) still counts, as 0


def subsample(queries: dict[str, str], n: int | None) -> dict[str, str]:
    """``n`` evenly spaced queries in file order (all of them when ``n`` is None or too large)."""
    items = list(queries.items())
    if n is None or n >= len(items):
        return dict(items)
    return dict(items[i * len(items) // n] for i in range(n))


def evaluate_set(
    folder: Path,
    encoder: TextEncoder,
    reranker: Reranker,
    timed_queries: int,
    max_queries: int | None,
    depths: tuple[int, ...],
    rounds: int = 3,
    quality: bool = True,
) -> dict[str, Any]:
    corpus, queries, qrels = load_beir(folder)
    queries = subsample(queries, max_queries)
    top = max(depths)
    hits, texts, first_seconds = first_stage(folder, encoder, queries)
    logits_file = CACHE / f"logits-{folder.name}.json"  # raw logits per query, kept so a rerun only re-reads them
    logits: dict[str, dict[str, float]] = json.loads(logits_file.read_text()) if logits_file.is_file() else {}
    pair_tokens: list[int] = []
    scored, score_seconds = 0, 0.0
    for qid, query in queries.items() if quality else ():  # --timing-only: no scoring, no quality rows
        ids = list(dict.fromkeys(d for mode in MODES for d, _ in hits[mode][qid][:top]))
        pair_tokens += [len(p.ids) for p in reranker._encode_pairs(query, [texts[d] for d in ids])]
        missing = [d for d in ids if d not in logits.get(qid, {})]  # a deeper rerun scores only the new pairs
        if not missing:
            continue
        start = time.perf_counter()
        scores = reranker.score(query, [texts[d] for d in missing]).tolist()
        logits.setdefault(qid, {}).update(zip(missing, scores, strict=True))
        score_seconds += time.perf_counter() - start
        scored += len(missing)
        logits_file.write_text(json.dumps(logits))
    rows = []
    for mode in MODES if quality else ():
        base = {q: {d: float(TOP - r) for r, (d, _) in enumerate(hits[mode][q])} or {"-": 0.0} for q in queries}
        row = {"first": mode, "depth": 0, "alpha": None, "normalize": None, "scale": None}
        rows.append({**row, "ndcg@10": ndcg10(base, qrels)})
        for depth in depths:
            for alpha in ALPHAS:
                blends = [(n, s) for n in NORMALIZE for s in SCALES] if alpha is not None else [("sigmoid", None)]
                for normalize, scale in blends:
                    run = {
                        q: rerank_run(hits[mode][q], logits[q], depth, alpha, normalize, mode, scale or "score")
                        for q in queries
                    }
                    row = {
                        "first": mode,
                        "depth": depth,
                        "alpha": alpha,
                        "normalize": normalize if alpha is not None else None,
                        "scale": scale,
                    }
                    rows.append({**row, "ndcg@10": ndcg10(run, qrels)})
    timed = list(queries.items())[:timed_queries]  # --timed-queries 0: quality only (a rerun over cached logits)
    timing = time_depths(reranker, timed, hits["dense"], texts, depths, rounds) if timed else None
    return {
        "set": folder.name,
        "documents": len(corpus),
        "queries": len(queries),
        "judged_queries": sum(1 for q in load_beir(folder)[1]),
        "corpus_sha1": hashlib.sha1("".join(d["_id"] + doc_text(d) for d in corpus).encode()).hexdigest(),
        "pairs": len(pair_tokens),
        "pairs_per_s_this_run": scored / score_seconds if score_seconds else None,
        "tokens_per_pair": (
            {"mean": float(np.mean(pair_tokens)), "p50": float(np.median(pair_tokens))} if pair_tokens else None
        ),
        "first_stage_ms": {m: s * 1000 for m, s in first_seconds.items()},
        "rerank_ms_per_query": {d: t["ms_per_query"] for d, t in timing["depths"].items()} if timing else {},
        "rerank_time": timing,
        "load_after_set": os.getloadavg(),
        "rows": rows,
    }


def time_depths(
    reranker: Reranker,
    timed: list[tuple[str, str]],
    hits: dict[str, list[tuple[str, float]]],
    texts: dict[str, str],
    depths: tuple[int, ...],
    rounds: int,
) -> dict[str, Any]:
    """Reranker time per query at each depth on the top-``d`` first-stage hits of the ``timed`` queries.

    One ``score`` call per query, as a reranker runs after a search. Depths are interleaved: each
    round times every depth once, in an order rotated by one per round, so a change in the
    machine's load falls on all depths alike; the median round counts, and the ratio of two
    depths is taken within each round (then the median), the figure that survives a shared machine.
    Wall time and the process's CPU time (all ONNX Runtime threads) are both kept.
    """
    lists = {depth: [(query, [texts[d] for d, _ in hits[qid][:depth]]) for qid, query in timed] for depth in depths}
    reranker.score(*lists[depths[0]][0])  # warm-up: the session's first run allocates
    wall: dict[int, list[float]] = {d: [] for d in depths}
    cpu: dict[int, list[float]] = {d: [] for d in depths}
    load_before = os.getloadavg()
    for r in range(rounds):
        shift = r % len(depths)
        for depth in depths[shift:] + depths[:shift]:
            wall0, cpu0 = time.perf_counter(), time.process_time()
            for query, docs in lists[depth]:
                reranker.score(query, docs)
            wall[depth].append((time.perf_counter() - wall0) / len(timed) * 1000)
            cpu[depth].append((time.process_time() - cpu0) / len(timed) * 1000)
    out: dict[str, Any] = {}
    for depth in depths:
        pairs = sum(len(docs) for _, docs in lists[depth])
        tokens = [len(e.ids) for query, docs in lists[depth] for e in reranker._encode_pairs(query, docs)]
        ms = float(np.median(wall[depth]))
        out[str(depth)] = {
            "ms_per_query": ms,
            "cpu_ms_per_query": float(np.median(cpu[depth])),
            "pairs_per_query": pairs / len(timed),
            "pairs_per_s": pairs / len(timed) / ms * 1000,
            "tokens_per_pair": float(np.mean(tokens)),
            "ms_per_query_by_round": wall[depth],
        }
    ratios = {
        f"{deep}/{shallow}": float(np.median([w / s for w, s in zip(wall[deep], wall[shallow], strict=True)]))
        for shallow, deep in itertools.combinations(depths, 2)
    }
    return {
        "queries": len(timed),
        "rounds": rounds,
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "depths": out,
        "ratio_by_round_median": ratios,
    }


def choose(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every configuration with its gain over dense per set, sorted by worst-case gain."""
    table: dict[tuple[Any, ...], dict[str, float]] = {}
    own: dict[tuple[Any, ...], dict[str, float]] = {}  # gain over the same first stage without reranking
    for res in results:
        base = {r["first"]: r["ndcg@10"] for r in res["rows"] if r["depth"] == 0}
        for r in res["rows"]:
            key = (r["first"], r["depth"], r["alpha"], r["normalize"], r.get("scale"))
            table.setdefault(key, {})[res["set"]] = r["ndcg@10"] - base["dense"]
            own.setdefault(key, {})[res["set"]] = r["ndcg@10"] - base[r["first"]]
    out = [
        {
            "first": k[0],
            "depth": k[1],
            "alpha": k[2],
            "normalize": k[3],
            "scale": k[4],
            "gain": gains,
            "worst": min(gains.values()),
            "mean": float(np.mean(list(gains.values()))),
            "worst_vs_first_stage": min(own[k].values()),
        }
        for k, gains in table.items()
    ]
    return sorted(out, key=lambda r: (-r["worst"], -r["mean"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, nargs="+", required=True, help="BEIR folders")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--timed-queries", type=int, default=20)
    parser.add_argument("--timing-rounds", type=int, default=3, help="interleaved rounds of the depth timing")
    parser.add_argument(
        "--timing-only",
        action="store_true",
        help="time the reranker by depth only: no scoring of uncached pairs, no quality rows",
    )
    parser.add_argument(
        "--max-queries",
        type=int,
        nargs="+",
        default=None,
        help="N evenly spaced judged queries per set (one N, or one per set)",
    )
    parser.add_argument("--max-depth", type=int, default=max(DEPTHS), help="drop deeper depths (e.g. 50)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "rerank-quality.json")
    args = parser.parse_args()
    depths = tuple(d for d in DEPTHS if d <= args.max_depth)
    if not depths:
        parser.error(f"--max-depth must be at least {min(DEPTHS)}, got {args.max_depth}")
    if args.timing_rounds < 1:
        parser.error(f"--timing-rounds must be at least 1, got {args.timing_rounds}")
    if args.timing_only and args.timed_queries < 1:
        parser.error("--timing-only needs --timed-queries of at least 1")
    max_queries = args.max_queries or [None]
    if len(max_queries) == 1:
        max_queries = max_queries * len(args.data)
    if len(max_queries) != len(args.data):
        parser.error(f"--max-queries takes one N or one per --data folder ({len(args.data)}), got {len(max_queries)}")
    load_before = os.getloadavg()
    folder = real_models.fetch(["ms-marco-MiniLM-L-12-v2"])["ms-marco-MiniLM-L-12-v2"]
    encoder = TextEncoder(threads=args.threads, show_progress=False)
    reranker = Reranker(folder, threads=args.threads)
    results = []
    for data, n in zip(args.data, max_queries, strict=True):
        res = evaluate_set(
            data, encoder, reranker, args.timed_queries, n, depths, args.timing_rounds, not args.timing_only
        )
        print(json.dumps({k: v for k, v in res.items() if k != "rows"}), flush=True)
        results.append(res)
        partial = {"sets": results, "configurations": choose(results), "complete": False}
        args.out.write_text(json.dumps(partial, indent=1) + "\n", encoding="utf-8")
    ranked = choose(results)
    for r in ranked[:10]:
        print(
            r["first"],
            r["depth"],
            r["alpha"],
            r["normalize"],
            r["scale"],
            f"worst {r['worst']:+.4f} mean {r['mean']:+.4f}",
        )
    report = {
        "reranker": "cross-encoder/ms-marco-MiniLM-L-12-v2 (int8 ONNX)",
        "encoder": encoder.model_id,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "flags": cpu_flags(),
            "load_before": load_before,
            "threads": args.threads,
            "max_queries": args.max_queries,
            "depths": depths,
            "timed_queries": args.timed_queries,
            "timing_rounds": args.timing_rounds,
            "timing_only": args.timing_only,
        },
        "sets": results,
        "configurations": ranked,
    }
    report["machine"]["load_after"] = os.getloadavg()
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
