"""Long documents: how to embed texts longer than the model's token window.

Builds long-document sets from BEIR collections of short passages: the passages are
shuffled (seeded) and joined, ``--group`` at a time, into one document (paragraphs
separated by a blank line). A document's relevance to a query is the highest grade of
its passages. Each document is then embedded four ways and ranked by cosine similarity:

* ``first_window``: the text as one model input, cut at the window (what a plain
  ``encode`` of a long text did before windows existed);
* ``mean``: overlapping windows (``ogma.windows``), the mean of their vectors;
* ``best_window``: overlapping windows, the document scores by its best window;
* ``oracle``: each original passage embedded alone, the document scores by its best
  passage (the split a perfect splitter would make).

With ``--store`` the ``best_window`` ranking is also measured end to end through
``ogma.Store.add`` + ``Store.search`` (dense and hybrid) with the store's defaults.

Sets: nano-dbpedia (``--data``) and, when ``--techdocs`` names a folder written by
``benchmarks/build_techdocs.py``, its ``python-nl`` / ``python-ids`` (one corpus).

Run:
    HF_HUB_OFFLINE=1 python benchmarks/bench_long_documents.py --data ../shared/datasets/nano-dbpedia \\
        --techdocs /tmp/techdocs --threads 2 --store
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

ROOT = Path(__file__).resolve().parents[1]
MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def group_documents(
    passage_ids: list[str], texts: dict[str, str], *, group: int, seed: int
) -> tuple[dict[str, list[str]], dict[str, str]]:
    """``({doc_id: [passage ids]}, {doc_id: text})``: passages shuffled and joined ``group`` at a time."""
    order = sorted(passage_ids)
    random.Random(seed).shuffle(order)
    members: dict[str, list[str]] = {}
    docs: dict[str, str] = {}
    for start in range(0, len(order), group):
        doc_id = f"doc{start // group:05d}"
        members[doc_id] = order[start : start + group]
        docs[doc_id] = "\n\n".join(texts[p] for p in members[doc_id])
    return members, docs


def document_qrels(qrels: dict[str, dict[str, int]], members: dict[str, list[str]]) -> dict[str, dict[str, int]]:
    """A document's grade is the highest grade of its passages (judged passages only)."""
    owner = {p: d for d, ps in members.items() for p in ps}
    out: dict[str, dict[str, int]] = {}
    for query, judged in qrels.items():
        grades: dict[str, int] = {}
        for passage, grade in judged.items():
            if passage in owner:
                doc = owner[passage]
                grades[doc] = max(grades.get(doc, 0), grade)
        out[query] = grades
    return out


def ranking(scores: np.ndarray, doc_ids: list[str], k: int = 100) -> dict[str, float]:
    top = np.argsort(-scores, kind="stable")[:k]
    return {doc_ids[i]: float(scores[i]) for i in top}


def measure_set(
    encoder: Any,
    name: str,
    passages: dict[str, str],
    queries: dict[str, str],
    qrels: dict[str, dict[str, int]],
    *,
    group: int,
    seed: int,
    overlaps: list[int],
    store: bool,
) -> dict[str, Any]:
    from ogma.evaluate.metrics import evaluate_run
    from ogma.windows import plan_windows

    members, docs = group_documents(list(passages), passages, group=group, seed=seed)
    doc_ids = list(docs)
    doc_texts = [docs[d] for d in doc_ids]
    dq = document_qrels(qrels, members)
    query_ids = [q for q in queries if any(g > 0 for g in dq.get(q, {}).values())]
    tokens = [len(encoder.tokenizer.tokenizer.encode(t, add_special_tokens=False).ids) for t in doc_texts]
    budget = encoder.max_tokens
    q = encoder.encode_queries([queries[x] for x in query_ids])
    metrics = ("ndcg@10", "recall@100")

    def score(matrix: np.ndarray) -> dict[str, float]:
        sims = q @ matrix.T
        run = {qid: ranking(sims[i], doc_ids) for i, qid in enumerate(query_ids)}
        return {m: round(v, 4) for m, v in evaluate_run(run, {x: dq[x] for x in query_ids}, metrics=metrics).items()}

    def score_groups(vectors: np.ndarray, owner: np.ndarray, extra: np.ndarray | None = None) -> dict[str, float]:
        sims = q @ vectors.T  # (queries, windows)
        out = np.full((len(query_ids), len(doc_ids)), -np.inf, dtype=np.float32)
        np.maximum.at(out.T, owner, sims.T)
        if extra is not None:  # one more vector per document competes with its windows
            out = np.maximum(out, q @ extra.T)
        run = {qid: ranking(out[i], doc_ids) for i, qid in enumerate(query_ids)}
        return {m: round(v, 4) for m, v in evaluate_run(run, {x: dq[x] for x in query_ids}, metrics=metrics).items()}

    result: dict[str, Any] = {
        "documents": len(doc_ids),
        "passages": len(passages),
        "queries": len(query_ids),
        "group": group,
        "tokens_per_document": {
            "median": int(np.median(tokens)),
            "p10": int(np.percentile(tokens, 10)),
            "p90": int(np.percentile(tokens, 90)),
            "share_over_window": round(float(np.mean(np.array(tokens) > budget)), 4),
        },
        "window_tokens": budget,
    }
    t0 = time.perf_counter()
    first = encoder.encode_documents(doc_texts, long_text="truncate") if _has_option(encoder) else None
    if first is None:
        first = encoder.encode_documents(doc_texts)
    result["first_window"] = score(first) | {"seconds": round(time.perf_counter() - t0, 1)}
    for overlap in overlaps:
        t0 = time.perf_counter()
        plan = plan_windows(doc_texts, encoder.tokenizer.tokenizer, max_tokens=budget, overlap=overlap)
        vectors = encoder.encode_documents(plan.texts, long_text="truncate")
        seconds = round(time.perf_counter() - t0, 1)
        owner = np.asarray(plan.owners)
        sums = np.zeros((len(doc_ids), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, owner, vectors)
        mean = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        result[f"overlap_{overlap}"] = {
            "windows": len(plan.texts),
            "windows_per_document": round(len(plan.texts) / len(doc_ids), 2),
            "mean": score(mean),
            "best_window": score_groups(vectors, owner),
            "best_of_windows_and_mean": score_groups(vectors, owner, mean),
            "seconds": seconds,
        }
    t0 = time.perf_counter()
    pids = [p for d in doc_ids for p in members[d]]
    owner = np.asarray([i for i, d in enumerate(doc_ids) for _ in members[d]])
    pvec = encoder.encode_documents([passages[p] for p in pids], long_text="truncate")
    result["oracle"] = score_groups(pvec, owner) | {"seconds": round(time.perf_counter() - t0, 1)}
    if store:
        result["store"] = measure_store(encoder, doc_ids, doc_texts, queries, query_ids, dq, metrics)
    return result


def measure_store(
    encoder: Any,
    doc_ids: list[str],
    doc_texts: list[str],
    queries: dict[str, str],
    query_ids: list[str],
    dq: dict[str, dict[str, int]],
    metrics: tuple[str, ...],
) -> dict[str, Any]:
    """``Store.add`` + ``Store.search`` with the store's defaults (dense and hybrid)."""
    from ogma import Store
    from ogma.evaluate.metrics import evaluate_run

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "long.db", encoder=encoder)
        t0 = time.perf_counter()
        store.add(doc_texts, ids=doc_ids)
        out["add_seconds"] = round(time.perf_counter() - t0, 1)
        out["vectors"] = store.count_vectors()
        for mode in ("dense", "hybrid"):
            run = {}
            for qid in query_ids:
                hits = store.search(queries[qid], k=100, mode=mode)
                run[qid] = {h.id: float(h.score) for h in hits}
            scores = evaluate_run(run, {x: dq[x] for x in query_ids}, metrics=metrics)
            out[mode] = {m: round(v, 4) for m, v in scores.items()}
        store.close()
    return out


def _has_option(encoder: Any) -> bool:
    import inspect

    return "long_text" in inspect.signature(encoder.encode).parameters


def load_sets(args: argparse.Namespace) -> list[tuple[str, dict[str, str], dict[str, str], dict[str, dict[str, int]]]]:
    from ogma.evaluate.beir import load_beir

    sets = []
    data = load_beir(args.data)
    passages = {d: data.document_text(d) for d in data.corpus}
    sets.append((Path(args.data).name, passages, data.queries, data.qrels))
    if args.techdocs:
        for sub in ("python-nl", "python-ids"):
            folder = Path(args.techdocs) / sub
            if folder.is_dir():
                data = load_beir(folder)
                passages = {d: data.document_text(d) for d in data.corpus}
                sets.append((sub, passages, data.queries, data.qrels))
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", required=True, help="a BEIR folder of short passages (nano-dbpedia)")
    parser.add_argument("--techdocs", help="output folder of build_techdocs.py (python-nl, python-ids)")
    parser.add_argument("--group", type=int, default=8, help="passages per long document")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--overlaps", default="0,32,64", help="window overlaps (tokens) to measure")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--store", action="store_true", help="also measure Store.add + search end to end")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "long-documents.json"))
    args = parser.parse_args()

    from ogma import TextEncoder

    encoder = TextEncoder(MODEL, threads=args.threads, show_progress=False)
    load_before = os.getloadavg()
    results = {}
    for name, passages, queries, qrels in load_sets(args):
        results[name] = measure_set(
            encoder,
            name,
            passages,
            queries,
            qrels,
            group=args.group,
            seed=args.seed,
            overlaps=[int(x) for x in args.overlaps.split(",")],
            store=args.store,
        )
        print(name, json.dumps(results[name], indent=1), flush=True)  # noqa: T201 - a script's report
    report = {
        "benchmark": "long documents: first window vs mean of windows vs best window vs best passage",
        "model": MODEL,
        "metric_note": "nDCG@10 with graded gains (qrels grade), trec_eval semantics",
        "results": results,
        "environment": {
            "cpu_flags": cpu_flags(),
            "threads": args.threads,
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
        },
    }
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
