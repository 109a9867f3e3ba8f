"""LlamaIndex integration: retrieval quality through LlamaIndex vs the core, and the adapter's overhead.

Quality: nDCG@10 on a BEIR collection (all-MiniLM-L6-v2, documents as ``title + " " + text``)
for dense, text search (BM25) and hybrid retrieval, computed twice in this run:

* the core's own figures: :func:`ogma.evaluate.compare_configs`, the engine of ``ogma eval``;
* through LlamaIndex: ``VectorStoreIndex`` over ``OgmaVectorStore`` with ``OgmaEmbedding``,
  then ``index.as_retriever(vector_store_query_mode=..., similarity_top_k=10)``.

Hybrid fuses two ranked lists of ``max(k, 50)`` candidates by default, and the fused top 10
depends on that depth. ``ogma eval`` searches 100 deep (for its Recall@100), so its hybrid
figure is also computed here at depth 100: ``compare_configs(k=100)`` against the retriever
with ``sparse_top_k=100`` (the adapter's knob for the depth of both lists).

Both are scored by :func:`ogma.evaluate.evaluate_run` with the same rank-based run format.
The adapter adds no loss if the figures agree to 4 decimals (the script also counts queries
whose top 10 differ).

Overhead, same data and same run:

* ingest with embedding: ``VectorStoreIndex(nodes, ...)`` vs ``Store.add(texts)`` (one each;
  these are the two quality runs' indexing, so embedding dominates);
* ingest of precomputed embeddings: ``OgmaVectorStore.add(nodes)`` vs ``Store.add(texts,
  embeddings=...)``, ``--rounds`` interleaved rounds, medians;
* query latency per mode: ``retriever.retrieve(q)`` vs ``Store.search(q, k=10, mode=...)``,
  both embedding the query with the same loaded model, interleaved per query, medians.

Run:
    python benchmarks/bench_llamaindex.py --data ../shared/datasets/nano-dbpedia --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

ROOT = Path(__file__).resolve().parents[1]
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
MODES = {"dense": "default", "lexical": "text_search", "hybrid": "hybrid"}
K = 10
DEEP = 100  # the search depth of `ogma eval` with its default metrics (Recall@100)
DEEP_ROW = f"hybrid-depth-{DEEP}"


def ranked(ids: list[str]) -> dict[str, float]:
    """The run format of ``ogma eval``: rank-based scores that keep the retriever's order."""
    out: dict[str, float] = {}
    for rank, doc_id in enumerate(ids):
        out.setdefault(doc_id, float(len(ids) - rank))
    return out


def core_quality(dataset: Any, threads: int, workdir: Path) -> tuple[dict[str, float], float]:
    """nDCG@10 per mode at depth 10 and hybrid at depth 100; seconds to embed and index the corpus."""
    from ogma import TextEncoder
    from ogma.evaluate import CompareConfig, EmbeddingCache, compare_configs

    def factory(model: str) -> Any:
        return TextEncoder(model, threads=threads)

    cache = EmbeddingCache(workdir / "eval-cache")  # the depth-100 run reuses the corpus embeddings
    configs = [CompareConfig(MODEL, mode=mode) for mode in MODES]
    rows = compare_configs(dataset, configs, metrics=["ndcg@10"], encoder_factory=factory, cache=cache)
    [deep] = compare_configs(
        dataset,
        [CompareConfig(MODEL, mode="hybrid")],
        metrics=["ndcg@10"],
        k=DEEP,
        encoder_factory=factory,
        cache=cache,
    )
    ndcg = {row.config.mode: row.metrics["ndcg@10"] for row in rows}
    ndcg[DEEP_ROW] = deep.metrics["ndcg@10"]
    return ndcg, (rows[0].embed_seconds or 0.0) + rows[0].index_seconds


def llamaindex_pipeline(dataset: Any, workdir: Path, threads: int) -> dict[str, Any]:
    from llama_index.core import StorageContext, VectorStoreIndex
    from llama_index.core.schema import TextNode

    from llama_index.embeddings.ogma import OgmaEmbedding
    from llama_index.vector_stores.ogma import OgmaVectorStore
    from ogma.evaluate import evaluate_run

    embed = OgmaEmbedding(model_name=MODEL, threads=threads)
    nodes = [TextNode(id_=i, text=t) for i, t in zip(dataset.document_ids(), dataset.document_texts())]
    store = OgmaVectorStore(workdir / "llamaindex.db")
    started = time.perf_counter()
    index = VectorStoreIndex(nodes, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed)
    ingest_seconds = time.perf_counter() - started
    ndcg: dict[str, float] = {}
    runs: dict[str, dict[str, list[str]]] = {}
    retrievers = {
        mode: index.as_retriever(vector_store_query_mode=li_mode, similarity_top_k=K) for mode, li_mode in MODES.items()
    }
    retrievers[DEEP_ROW] = index.as_retriever(vector_store_query_mode="hybrid", similarity_top_k=K, sparse_top_k=DEEP)
    for mode, retriever in retrievers.items():
        runs[mode] = {qid: [h.node.node_id for h in retriever.retrieve(text)] for qid, text in dataset.queries.items()}
        run = {qid: ranked(ids) for qid, ids in runs[mode].items()}
        ndcg[mode] = evaluate_run(run, dataset.qrels, ["ndcg@10"])["ndcg@10"]
    return {
        "ndcg": ndcg,
        "ingest_seconds": ingest_seconds,
        "index": index,
        "store": store,
        "embed": embed,
        "runs": runs,
    }


def core_runs(store: Any, dataset: Any) -> dict[str, dict[str, list[str]]]:
    runs = {
        mode: {qid: [h.id for h in store.search(text, k=K, mode=mode)] for qid, text in dataset.queries.items()}
        for mode in MODES
    }
    runs[DEEP_ROW] = {
        qid: [h.id for h in store.search(text, k=K, mode="hybrid", candidates=DEEP)]
        for qid, text in dataset.queries.items()
    }
    return runs


def add_overhead(dataset: Any, vectors: np.ndarray, workdir: Path, rounds: int) -> dict[str, Any]:
    from llama_index.core.schema import TextNode

    from llama_index.vector_stores.ogma import OgmaVectorStore
    from ogma import Store

    ids, texts = dataset.document_ids(), dataset.document_texts()
    times: dict[str, list[float]] = {"core": [], "llamaindex": []}
    for n in range(rounds):
        order = ["core", "llamaindex"] if n % 2 == 0 else ["llamaindex", "core"]
        for who in order:
            path = workdir / f"add-{who}-{n}.db"
            if who == "core":
                store = Store(path)
                started = time.perf_counter()
                store.add(texts, ids=ids, embeddings=vectors)
                times[who].append(time.perf_counter() - started)
                store.close()
            else:
                vs = OgmaVectorStore(path)
                nodes = [TextNode(id_=i, text=t, embedding=v.tolist()) for i, t, v in zip(ids, texts, vectors)]
                started = time.perf_counter()
                vs.add(nodes)
                times[who].append(time.perf_counter() - started)
                vs.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    med = {who: statistics.median(t) for who, t in times.items()}
    return {
        "documents": len(ids),
        "rounds": rounds,
        "seconds": times,
        "median_seconds": med,
        "docs_per_second": {who: len(ids) / s for who, s in med.items()},
        "ratio_llamaindex_over_core": med["llamaindex"] / med["core"],
    }


def query_overhead(li: dict[str, Any], dataset: Any, threads: int) -> dict[str, Any]:
    from ogma import Store

    core = Store(li["store"].client.path, encoder=li["embed"].encoder)  # the same file and loaded model
    queries = list(dataset.queries.values())
    out: dict[str, Any] = {}
    for mode, li_mode in MODES.items():
        retriever = li["index"].as_retriever(vector_store_query_mode=li_mode, similarity_top_k=K)
        retriever.retrieve(queries[0])
        core.search(queries[0], k=K, mode=mode)
        times: dict[str, list[float]] = {"core": [], "llamaindex": []}
        for n, text in enumerate(queries):
            order = ["core", "llamaindex"] if n % 2 == 0 else ["llamaindex", "core"]
            for who in order:
                started = time.perf_counter()
                if who == "core":
                    core.search(text, k=K, mode=mode)
                else:
                    retriever.retrieve(text)
                times[who].append((time.perf_counter() - started) * 1000.0)
        med = {who: statistics.median(t) for who, t in times.items()}
        out[mode] = {
            "queries": len(queries),
            "median_ms": med,
            "ratio_llamaindex_over_core": med["llamaindex"] / med["core"],
            "median_extra_ms": statistics.median(b - a for a, b in zip(times["core"], times["llamaindex"])),
        }
    core.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "nano-dbpedia")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds of the add-only comparison")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "llamaindex.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from ogma.evaluate import load_beir

    dataset = load_beir(args.data)
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory(prefix="ogma-bench-li-") as tmp:
        workdir = Path(tmp)
        core_ndcg, core_ingest = core_quality(dataset, args.threads, workdir)
        print("core nDCG@10:", core_ndcg, flush=True)
        li = llamaindex_pipeline(dataset, workdir, args.threads)
        print("LlamaIndex nDCG@10:", li["ndcg"], flush=True)
        from ogma import Store

        direct = Store(li["store"].client.path, encoder=li["embed"].encoder)
        same = core_runs(direct, dataset)
        differing = {m: sum(same[m][q] != li["runs"][m][q] for q in dataset.queries) for m in same}
        vectors = np.stack([d.embedding for d in direct.iter_documents(include_embeddings=True)])
        direct.close()
        adds = add_overhead(dataset, vectors, workdir, args.rounds)
        print("add overhead:", adds["median_seconds"], flush=True)
        queries = query_overhead(li, dataset, args.threads)
        print("query overhead:", {m: q["median_ms"] for m, q in queries.items()}, flush=True)
        li["store"].close()

    result = {
        "data": args.data.name,
        "model": MODEL,
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "threads": args.threads,
        "cpu_flags": cpu_flags(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "load_average_before": load_before,
        "load_average_after": list(os.getloadavg()),
        "ndcg@10": {
            mode: {
                "core": round(core_ndcg[mode], 6),
                "llamaindex": round(li["ndcg"][mode], 6),
                "equal_to_4_decimals": round(core_ndcg[mode], 4) == round(li["ndcg"][mode], 4),
                "queries_with_a_different_top10_than_store_search": differing[mode],
            }
            for mode in core_ndcg
        },
        "ingest_with_embedding_seconds": {"core": core_ingest, "llamaindex": li["ingest_seconds"]},
        "ingest_precomputed": adds,
        "query": queries,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("ndcg@10", "ingest_with_embedding_seconds")}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
