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


def token_stats(encoder: Any, doc_texts: list[str]) -> dict[str, float]:
    """Tokens of text per document (never truncated), and the share longer than the window."""
    tokens = np.array([len(encoder.text_token_ids(t)) for t in doc_texts])
    return {
        "median": int(np.median(tokens)),
        "p10": int(np.percentile(tokens, 10)),
        "p90": int(np.percentile(tokens, 90)),
        "share_over_window": round(float(np.mean(tokens > encoder.max_tokens)), 4),
    }


def refresh_token_stats(encoder: Any, args: argparse.Namespace) -> None:
    """Recompute only ``tokens_per_document`` of an existing result file (no model run)."""
    report = json.loads(Path(args.out).read_text())
    for name, passages, _ in load_sets(args):
        _, docs = group_documents(list(passages), passages, group=args.group, seed=args.seed)
        report["results"][name]["corpus"]["tokens_per_document"] = token_stats(encoder, list(docs.values()))
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")


class QuerySet:
    """One query set over the grouped documents: embedded queries and document-level qrels."""

    def __init__(self, encoder: Any, queries: dict[str, str], dq: dict[str, dict[str, int]], doc_ids: list[str]):
        self.ids = [q for q in queries if any(g > 0 for g in dq.get(q, {}).values())]
        self.qrels = {x: dq[x] for x in self.ids}
        self.vectors = encoder.encode_queries([queries[x] for x in self.ids]) if self.ids else None
        self.texts = {x: queries[x] for x in self.ids}
        self.doc_ids = doc_ids

    def evaluate(self, doc_scores: np.ndarray) -> dict[str, float]:
        from ogma.evaluate.metrics import evaluate_run

        run = {qid: ranking(doc_scores[i], self.doc_ids) for i, qid in enumerate(self.ids)}
        return {m: round(v, 4) for m, v in evaluate_run(run, self.qrels, metrics=METRICS).items()}

    def score(self, matrix: np.ndarray) -> dict[str, float]:
        return self.evaluate(self.vectors @ matrix.T)

    def score_groups(self, vectors: np.ndarray, owner: np.ndarray, extra: np.ndarray | None = None) -> dict[str, float]:
        sims = self.vectors @ vectors.T  # (queries, windows)
        out = np.full((len(self.ids), len(self.doc_ids)), -np.inf, dtype=np.float32)
        np.maximum.at(out.T, owner, sims.T)
        if extra is not None:  # one more vector per document competes with its windows
            out = np.maximum(out, self.vectors @ extra.T)
        return self.evaluate(out)


METRICS = ("ndcg@10", "recall@100")


def measure_corpus(
    encoder: Any,
    passages: dict[str, str],
    query_sets: dict[str, tuple[dict[str, str], dict[str, dict[str, int]]]],
    *,
    group: int,
    seed: int,
    overlaps: list[int],
    store: bool,
) -> dict[str, Any]:
    """Every strategy on one grouped corpus, scored on each of its query sets."""
    from ogma.windows import DEFAULT_WINDOW_OVERLAP, plan_windows

    by_overlap: dict[int, np.ndarray] = {}

    members, docs = group_documents(list(passages), passages, group=group, seed=seed)
    doc_ids = list(docs)
    doc_texts = [docs[d] for d in doc_ids]
    sets = {
        name: QuerySet(encoder, queries, document_qrels(qrels, members), doc_ids)
        for name, (queries, qrels) in query_sets.items()
    }
    budget = encoder.max_tokens
    results: dict[str, dict[str, Any]] = {name: {"queries": len(qs.ids)} for name, qs in sets.items()}

    def record(key: str, make: Any) -> None:
        for name, qs in sets.items():
            results[name][key] = make(qs)

    corpus: dict[str, Any] = {
        "documents": len(doc_ids),
        "passages": len(passages),
        "group": group,
        "tokens_per_document": token_stats(encoder, doc_texts),
        "window_tokens": budget,
    }
    t0 = time.perf_counter()
    first = encoder.encode_documents(doc_texts, long_text="truncate")
    corpus["first_window_seconds"] = round(time.perf_counter() - t0, 1)
    record("first_window", lambda qs: qs.score(first))
    for overlap in overlaps:
        t0 = time.perf_counter()
        plan = plan_windows(doc_texts, encoder.tokenizer.tokenizer, max_tokens=budget, overlap=overlap)
        vectors = encoder.encode_documents(plan.texts, long_text="truncate")
        by_overlap[overlap] = vectors
        owner = np.asarray(plan.owners)
        sums = np.zeros((len(doc_ids), vectors.shape[1]), dtype=np.float32)
        np.add.at(sums, owner, vectors)
        mean = sums / np.linalg.norm(sums, axis=1, keepdims=True)
        corpus[f"overlap_{overlap}"] = {
            "windows": len(plan.texts),
            "windows_per_document": round(len(plan.texts) / len(doc_ids), 2),
            "seconds": round(time.perf_counter() - t0, 1),
        }
        record(
            f"overlap_{overlap}",
            lambda qs, v=vectors, o=owner, m=mean: {
                "mean": qs.score(m),
                "best_window": qs.score_groups(v, o),
                "best_of_windows_and_mean": qs.score_groups(v, o, m),
            },
        )
    t0 = time.perf_counter()
    pids = [p for d in doc_ids for p in members[d]]
    owner = np.asarray([i for i, d in enumerate(doc_ids) for _ in members[d]])
    pvec = encoder.encode_documents([passages[p] for p in pids], long_text="truncate")
    corpus["oracle_seconds"] = round(time.perf_counter() - t0, 1)
    record("oracle", lambda qs: qs.score_groups(pvec, owner))
    if store:
        default = plan_windows(doc_texts, encoder.tokenizer.tokenizer, max_tokens=budget)  # the store's windows
        if DEFAULT_WINDOW_OVERLAP not in by_overlap:
            by_overlap[DEFAULT_WINDOW_OVERLAP] = encoder.encode_documents(default.texts, long_text="truncate")
        cached = _WindowMemo(encoder, doc_texts, by_overlap[DEFAULT_WINDOW_OVERLAP], default.owners)
        corpus["store"] = measure_store(cached, doc_ids, doc_texts, sets, results)
    return {"corpus": corpus, "query_sets": results}


class _WindowMemo:
    """The encoder, with the windows of the corpus already embedded (the store adds them unchanged)."""

    def __init__(self, encoder: Any, texts: list[str], vectors: np.ndarray, owners: list[int]) -> None:
        self._encoder, self._texts, self._vectors, self._owners = encoder, texts, vectors, owners
        self.model_id, self.dim, self.matryoshka_dims = encoder.model_id, encoder.dim, encoder.matryoshka_dims
        self.task_scheme_name = encoder.task_scheme_name

    def encode_windows(self, texts: list[str]) -> tuple[np.ndarray, list[int]]:
        if list(texts) == self._texts:
            return self._vectors, self._owners
        return self._encoder.encode_windows(texts)

    def encode_documents(self, texts: list[str], **options: Any) -> np.ndarray:
        return self._encoder.encode_documents(texts, **options)

    def encode_queries(self, texts: list[str], **options: Any) -> np.ndarray:
        return self._encoder.encode_queries(texts, **options)


def measure_store(
    encoder: Any, doc_ids: list[str], doc_texts: list[str], sets: dict[str, QuerySet], results: dict[str, Any]
) -> dict[str, Any]:
    """``Store.add`` + ``Store.search`` with the store's defaults (dense and hybrid), per query set."""
    import sqlite3

    from ogma import Store
    from ogma.evaluate.metrics import evaluate_run

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "long.db"
        store = Store(path, encoder=encoder)
        t0 = time.perf_counter()
        store.add(doc_texts, ids=doc_ids)
        out["add_seconds"] = round(time.perf_counter() - t0, 1)
        out["documents_with_vector"] = store.count_vectors()
        with sqlite3.connect(path) as conn:
            out["extra_windows"] = int(conn.execute("SELECT count(*) FROM ogma_windows").fetchone()[0])
        for name, qs in sets.items():
            for mode in ("dense", "hybrid"):
                run = {}
                t0 = time.perf_counter()
                for qid in qs.ids:
                    hits = store.search(qs.texts[qid], k=100, mode=mode)
                    run[qid] = {h.id: float(h.score) for h in hits}
                ms = (time.perf_counter() - t0) * 1000 / max(len(qs.ids), 1)
                scores = evaluate_run(run, qs.qrels, metrics=METRICS)
                results[name][f"store_{mode}"] = {m: round(v, 4) for m, v in scores.items()} | {
                    "ms_per_query": round(ms, 2)
                }
        store.close()
    return out


Corpus = tuple[str, dict[str, str], dict[str, tuple[dict[str, str], dict[str, dict[str, int]]]]]


def load_sets(args: argparse.Namespace) -> list[Corpus]:
    """``(corpus name, passages, {query set name: (queries, qrels)})``; python-nl/-ids share a corpus."""
    from ogma.evaluate.beir import load_beir

    sets: list[Corpus] = []
    if args.data:
        data = load_beir(args.data)
        name = Path(args.data).name
        sets.append((name, {d: data.document_text(d) for d in data.corpus}, {name: (data.queries, data.qrels)}))
    if args.techdocs:
        queries: dict[str, tuple[dict[str, str], dict[str, dict[str, int]]]] = {}
        passages: dict[str, str] = {}
        for sub in ("python-nl", "python-ids"):
            folder = Path(args.techdocs) / sub
            if folder.is_dir():
                data = load_beir(folder)
                passages = passages or {d: data.document_text(d) for d in data.corpus}
                queries[sub] = (data.queries, data.qrels)
        if queries:
            sets.append(("techdocs-python", passages, queries))
    return sets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", help="a BEIR folder of short passages (nano-dbpedia)")
    parser.add_argument("--techdocs", help="output folder of build_techdocs.py (python-nl, python-ids)")
    parser.add_argument("--group", type=int, default=8, help="passages per long document")
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--overlaps", default="32", help="window overlaps (tokens) to measure, comma-separated")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--store", action="store_true", help="also measure Store.add + search end to end")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "long-documents.json"))
    parser.add_argument("--token-stats-only", action="store_true", help="recompute the token counts of --out")
    args = parser.parse_args()

    from ogma import TextEncoder

    encoder = TextEncoder(MODEL, threads=args.threads, show_progress=False)
    if args.token_stats_only:
        refresh_token_stats(encoder, args)
        return
    load_before = os.getloadavg()
    results = {}
    for name, passages, query_sets in load_sets(args):
        results[name] = measure_corpus(
            encoder,
            passages,
            query_sets,
            group=args.group,
            seed=args.seed,
            overlaps=[int(x) for x in args.overlaps.split(",")],
            store=args.store,
        )
        print(name, json.dumps(results[name], indent=1), flush=True)
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
