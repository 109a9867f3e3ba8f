"""Measure dense, lexical and fused retrieval on a BEIR dataset; the numbers behind docs/hybrid.md.

Dense: all-MiniLM-L6-v2 via sentence-transformers (normalised), exact cosine top-N (``--candidates``, default 100).
Lexical: SQLite FTS5 (``porter unicode61 remove_diacritics 2``), ``-bm25()`` top-N, with
queries built by :func:`ogma.store.fts.build_fts_query`. Fusion: :mod:`ogma.fusion`.
Metric: nDCG@10 (pytrec_eval). Embeddings are cached under ``benchmarks/.cache/``.

Usage:
    python benchmarks/tune_hybrid.py --data path/to/nano-dbpedia \
        --model path/or/name/of/all-MiniLM-L6-v2 --out benchmarks/results/hybrid-nano-dbpedia.json
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import apsw
import numpy as np
import pytrec_eval

from ogma.fusion import Ranking, fuse
from ogma.store.fts import build_fts_query

HERE = Path(__file__).resolve().parent
CACHE = HERE / ".cache"
TOP = 100
ALPHAS = (0.5, 0.6, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95)


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


def doc_text(doc: dict[str, str], variant: str) -> str:
    return f"{doc.get('title', '')} {doc['text']}".strip() if variant == "title_text" else doc["text"]


def embeddings(name: str, model: str, corpus: list[dict[str, str]], queries: dict[str, str]) -> dict[str, np.ndarray]:
    CACHE.mkdir(exist_ok=True)
    (CACHE / ".gitignore").write_text("*\n")
    paths = {key: CACHE / f"{name}.minilm.{key}.npy" for key in ("queries", "corpus.text", "corpus.title_text")}
    if not all(p.exists() for p in paths.values()):
        from sentence_transformers import SentenceTransformer

        encoder = SentenceTransformer(model, device="cpu")

        def encode(texts: list[str]) -> np.ndarray:
            return encoder.encode(texts, normalize_embeddings=True, batch_size=64).astype(np.float32)

        np.save(paths["queries"], encode(list(queries.values())))
        for variant in ("text", "title_text"):
            np.save(paths[f"corpus.{variant}"], encode([doc_text(d, variant) for d in corpus]))
    return {key: np.load(path) for key, path in paths.items()}


def dense_run(
    doc_vecs: np.ndarray, query_vecs: np.ndarray, doc_ids: list[str], qids: list[str], top: int = TOP
) -> dict[str, Ranking]:
    sims = query_vecs @ doc_vecs.T
    runs: dict[str, Ranking] = {}
    for row, qid in enumerate(qids):
        best = np.argsort(-sims[row], kind="stable")[:top]
        runs[qid] = [(doc_ids[i], float(sims[row, i])) for i in best]
    return runs


def lexical_run(
    corpus: list[dict[str, str]],
    queries: dict[str, str],
    variant: str,
    query_builder: Callable[[str], str | None],
    top: int = TOP,
) -> dict[str, Ranking]:
    con = apsw.Connection(":memory:")
    con.execute("CREATE VIRTUAL TABLE f USING fts5(text, tokenize='porter unicode61 remove_diacritics 2')")
    with con:
        con.executemany(
            "INSERT INTO f (rowid, text) VALUES (?, ?)", [(i, doc_text(d, variant)) for i, d in enumerate(corpus)]
        )
    runs: dict[str, Ranking] = {}
    for qid, text in queries.items():
        match = query_builder(text)
        rows: Any = (
            []
            if match is None
            else con.execute("SELECT rowid, -bm25(f) FROM f WHERE f MATCH ? ORDER BY bm25(f) LIMIT ?", (match, top))
        )
        runs[qid] = [(corpus[rowid]["_id"], float(score)) for rowid, score in rows]
    return runs


def ndcg10(runs: dict[str, Ranking], qrels: dict[str, dict[str, int]], qids: Sequence[str]) -> float:
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {"ndcg_cut.10"})
    # pytrec_eval ranks by score; use rank-derived scores so ties cannot reorder a run.
    run = {q: {doc: float(len(runs[q]) - i) for i, (doc, _) in enumerate(runs[q])} for q in qids}
    per_query = evaluator.evaluate(run)
    return statistics.fmean(per_query[q]["ndcg_cut_10"] if q in per_query else 0.0 for q in qids)


def fused_run(dense: dict[str, Ranking], lexical: dict[str, Ranking], **options: Any) -> dict[str, Ranking]:
    return {q: [(h.id, h.score) for h in fuse(dense[q], lexical.get(q, []), **options)] for q in dense}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="BEIR folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--model", default="sentence-transformers/all-MiniLM-L6-v2", help="sentence-transformers model")
    parser.add_argument("--model-name", default=None, help="model label for the results (default: --model)")
    parser.add_argument("--name", default=None, help="cache name (default: the data folder's name)")
    parser.add_argument("--out", type=Path, default=None, help="write the results as JSON here")
    parser.add_argument("--candidates", type=int, default=TOP, help=f"depth of each list before fusion [{TOP}]")
    args = parser.parse_args()
    top = args.candidates

    corpus, queries, qrels = load_beir(args.data)
    name = args.name or args.data.name
    vecs = embeddings(name, args.model, corpus, queries)
    qorder = list(queries)  # the embedding order: the file's
    qids = [q for q in qorder if q in qrels]
    query_vecs = vecs["queries"][[qorder.index(q) for q in qids]]
    doc_ids = [d["_id"] for d in corpus]
    results: dict[str, Any] = {
        "dataset": name,
        "judged_queries": len(qids),
        "documents": len(corpus),
        "candidates_per_list": top,
        "model": args.model_name or args.model,
    }
    table: dict[str, float] = {}

    def record(label: str, runs: dict[str, Ranking], subset: Sequence[str] = qids) -> float:
        value = ndcg10(runs, qrels, subset)
        table[label] = round(value, 4)
        print(f"{label:58s} {value:.4f}")
        return value

    dense = {v: dense_run(vecs[f"corpus.{v}"], query_vecs, doc_ids, qids, top) for v in ("text", "title_text")}
    for v in ("text", "title_text"):
        record(f"dense ({v})", dense[v])

    builders: dict[str, Callable[[str], str | None]] = {
        "plain OR": lambda t: build_fts_query(t, stopwords=None),
        "stop-word-aware OR": lambda t: build_fts_query(t),
        "AND": lambda t: build_fts_query(t, mode="and"),
    }
    lexical: dict[tuple[str, str], dict[str, Ranking]] = {}
    for v in ("text", "title_text"):
        for label, builder in builders.items():
            lexical[(v, label)] = lexical_run(corpus, {q: queries[q] for q in qids}, v, builder, top)
            record(f"lexical ({v}, {label})", lexical[(v, label)])

    norms: dict[str, Any] = {
        "theoretical": ("theoretical", "theoretical"),
        "minmax": ("minmax", "minmax"),
        "minmax+bm25/max": ("minmax", "theoretical"),
    }
    for v in ("title_text", "text"):
        d = dense[v]
        for lex_label in ("plain OR", "stop-word-aware OR"):
            lex = lexical[(v, lex_label)]
            record(f"[{v}] RRF k=60 [{lex_label}]", fused_run(d, lex, method="rrf"))
            for w in (0.5, 0.3):
                record(
                    f"[{v}] weighted RRF (1, {w}) k=60 [{lex_label}]",
                    fused_run(d, lex, method="weighted_rrf", weights=(1.0, w)),
                )
            for norm_label, norm in norms.items():
                for a in ALPHAS:
                    record(
                        f"[{v}] convex {norm_label} a={a} [{lex_label}]",
                        fused_run(d, lex, method="convex", alpha=a, normalization=norm),
                    )
        lex = lexical[(v, "stop-word-aware OR")]
        record(f"[{v}] DEFAULT [stop-word-aware OR]", fused_run(d, lex))
        record(f"[{v}] DEFAULT [plain OR]", fused_run(d, lexical[(v, "plain OR")]))

    # Robustness: tune (normalisation, alpha) on one half of the queries, report on the other.
    v = "title_text"
    d, lex = dense[v], lexical[(v, "stop-word-aware OR")]
    halves = {"A": qids[0::2], "B": qids[1::2]}
    split: dict[str, Any] = {}
    grid = [(n, a) for n in norms for a in ALPHAS]
    runs_by_cfg = {cfg: fused_run(d, lex, method="convex", normalization=norms[cfg[0]], alpha=cfg[1]) for cfg in grid}
    default_runs = fused_run(d, lex)
    rrf_runs = fused_run(d, lex, method="rrf")
    alpha_only = [("minmax+bm25/max", a) for a in (0.75, 0.8, 0.85, 0.9, 0.95)]
    for tune, test in (("A", "B"), ("B", "A")):
        best = max(grid, key=lambda cfg: ndcg10(runs_by_cfg[cfg], qrels, halves[tune]))
        best_alpha = max(alpha_only, key=lambda cfg: ndcg10(runs_by_cfg[cfg], qrels, halves[tune]))
        split[f"tune {tune} -> test {test}"] = {
            "best_on_tune": {
                "normalization": best[0],
                "alpha": best[1],
                "ndcg10_tune": round(ndcg10(runs_by_cfg[best], qrels, halves[tune]), 4),
            },
            "tuned_on_test": round(ndcg10(runs_by_cfg[best], qrels, halves[test]), 4),
            "alpha_tuned_on_tune": best_alpha[1],
            "alpha_tuned_on_test": round(ndcg10(runs_by_cfg[best_alpha], qrels, halves[test]), 4),
            "default_on_test": round(ndcg10(default_runs, qrels, halves[test]), 4),
            "dense_on_test": round(ndcg10(d, qrels, halves[test]), 4),
            "rrf_on_test": round(ndcg10(rrf_runs, qrels, halves[test]), 4),
            "lexical_on_test": round(ndcg10(lex, qrels, halves[test]), 4),
        }
        print(tune, "->", test, split[f"tune {tune} -> test {test}"])
    results["ndcg@10"] = table
    results["split_half"] = split
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
