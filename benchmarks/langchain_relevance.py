"""Relevance scores of ``OgmaVectorStore`` on a BEIR collection: judged-relevant vs random documents.

LangChain's ``similarity_score_threshold`` keeps the documents whose relevance score is at
least a threshold, so the scale of that score decides whether a threshold can be set by
intuition. This script indexes a BEIR collection in an ``OgmaVectorStore`` (all-MiniLM-L6-v2
through ``OgmaEmbeddings``), and for every query reports the relevance of:

* the documents judged highly relevant (grade 2) and relevant (grade 1),
* the documents judged and found not relevant (grade 0: hard negatives that some system
  retrieved),
* random documents of the collection not judged for that query (``--random`` per query),
* the top-1 and top-10 hits,

under both mappings of the cosine similarity: the clipped cosine ``max(cos, 0)`` (the
default) and ``(1 + cos) / 2`` (the former default). It also tabulates thresholds: the
share of relevant and of random pairs at or above each, and what a
``similarity_score_threshold`` retriever with ``k=10`` returns (documents per query and the
share of them judged relevant).

The cosines come from the store: the top-10 lists are read from
``similarity_search_with_relevance_scores`` and checked against the numpy cosines of the
same vectors.

Run:
    python benchmarks/langchain_relevance.py --data ../shared/datasets/nano-dbpedia
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

ROOT = Path(__file__).resolve().parents[1]
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
PERCENTILES = (5, 25, 50, 75, 95)
THRESHOLDS = (0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7)


def percentiles(values: list[float]) -> dict[str, float]:
    array = np.asarray(values, dtype=np.float64)
    out = {f"p{p}": round(float(np.percentile(array, p)), 4) for p in PERCENTILES}
    out["mean"] = round(float(array.mean()), 4)
    out["n"] = len(values)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "nano-dbpedia")
    parser.add_argument("--random", type=int, default=200, help="random unjudged documents per query")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "langchain-relevance.json")
    args = parser.parse_args()
    if not args.data.is_dir():
        sys.exit(f"no BEIR collection at {args.data}")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from langchain_ogma import OgmaEmbeddings, OgmaVectorStore
    from langchain_ogma.vectorstores import clipped_cosine_relevance, shifted_cosine_relevance
    from ogma.evaluate.beir import load_beir

    data = load_beir(args.data)
    doc_ids = data.document_ids()
    index_of = {doc_id: i for i, doc_id in enumerate(doc_ids)}
    embeddings = OgmaEmbeddings(model_name=MODEL, threads=args.threads, batch_size=64)

    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        store = OgmaVectorStore(embeddings, path=Path(tmp) / "relevance.db")
        store.add_texts(data.document_texts(), ids=doc_ids, batch_size=1000)
        index_seconds = time.perf_counter() - start
        stored = {doc.id: doc.embedding for doc in store.store.iter_documents(include_embeddings=True)}
        matrix = np.stack([np.asarray(stored[doc_id], dtype=np.float32) for doc_id in doc_ids])
        matrix /= np.linalg.norm(matrix, axis=1, keepdims=True)

        rng = random.Random(args.seed)
        groups: dict[str, list[float]] = {"grade 2": [], "grade 1": [], "grade 0": [], "random": [], "top-1": []}
        top10: list[float] = []
        relevant_pairs: list[float] = []
        per_query: list[tuple[list[float], list[bool]]] = []  # top-10 cosines, judged relevant?
        max_check_error = 0.0
        for query_id, text in data.queries.items():
            judged = data.qrels.get(query_id, {})
            q = np.asarray(embeddings.embed_query(text), dtype=np.float32)
            q /= np.linalg.norm(q)
            cosines = matrix @ q
            for doc_id, grade in judged.items():
                if doc_id in index_of:
                    groups[f"grade {min(max(grade, 0), 2)}"].append(float(cosines[index_of[doc_id]]))
                    if grade > 0:
                        relevant_pairs.append(float(cosines[index_of[doc_id]]))
            unjudged = [i for i, doc_id in enumerate(doc_ids) if doc_id not in judged]
            groups["random"].extend(float(cosines[i]) for i in rng.sample(unjudged, min(args.random, len(unjudged))))
            hits = store.similarity_search_with_relevance_scores(text, k=10)
            for doc, relevance in hits:
                exact = clipped_cosine_relevance(float(cosines[index_of[doc.id or ""]]))
                max_check_error = max(max_check_error, abs(exact - relevance))
            ranked = np.argsort(-cosines)[:10]
            groups["top-1"].append(float(cosines[ranked[0]]))
            top10.extend(float(cosines[i]) for i in ranked)
            per_query.append(([float(cosines[i]) for i in ranked], [judged.get(doc_ids[i], 0) > 0 for i in ranked]))
        groups["top-10"] = top10
        store.close()

    if max_check_error > 1e-4:
        sys.exit(f"store relevance scores differ from the numpy cosines by {max_check_error}")

    mappings = {"clipped cosine (default)": clipped_cosine_relevance, "(1 + cos) / 2": shifted_cosine_relevance}
    distributions = {
        name: {group: percentiles([fn(v) for v in values]) for group, values in groups.items()}
        for name, fn in mappings.items()
    }
    thresholds = []
    for t in THRESHOLDS:
        returned = [sum(1 for c in cos if c >= t) for cos, _ in per_query]
        kept_relevant = [sum(1 for c, r in zip(cos, rel) if c >= t and r) for cos, rel in per_query]
        thresholds.append(
            {
                "threshold": t,
                "relevant pairs kept": round(float(np.mean([c >= t for c in relevant_pairs])), 4),
                "random pairs kept": round(float(np.mean([c >= t for c in groups["random"]])), 4),
                "k=10 retriever: docs per query": round(float(np.mean(returned)), 2),
                "k=10 retriever: queries with none": sum(1 for n in returned if n == 0),
                "k=10 retriever: judged relevant among returned": round(sum(kept_relevant) / max(sum(returned), 1), 4),
            }
        )

    import onnxruntime

    result: dict[str, Any] = {
        "benchmark": "langchain-relevance",
        "dataset": {
            "name": data.name,
            "documents": len(doc_ids),
            "queries": len(data.queries),
            "judged pairs": sum(len(v) for v in data.qrels.values()),
            "random documents per query": args.random,
            "seed": args.seed,
        },
        "model": MODEL,
        "relevance = mapping(cosine of query and document); percentiles per group": distributions,
        "thresholds on the clipped cosine": thresholds,
        "store relevance vs numpy cosine, max abs difference": max_check_error,
        "index seconds": round(index_seconds, 1),
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "cpu_flags": cpu_flags(),
            "onnxruntime": onnxruntime.__version__,
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(distributions["clipped cosine (default)"], indent=1))
    print(json.dumps(thresholds, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
