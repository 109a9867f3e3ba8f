"""Haystack integration: retrieval quality through the Haystack retrievers vs ``ogma eval``, beside Haystack's own.

Quality: nDCG@10 on a BEIR collection (all-MiniLM-L6-v2, documents as ``title + " " + text``),
computed in one run for

* the core (:func:`ogma.evaluate.compare_configs`, the engine of ``ogma eval``): dense,
  lexical (BM25) and hybrid, default settings;
* Ogma's Haystack retrievers over an ``OgmaDocumentStore`` file: ``OgmaEmbeddingRetriever``,
  ``OgmaBM25Retriever``, ``OgmaHybridRetriever`` (``top_k=10``, default settings);
* Haystack's ``InMemoryEmbeddingRetriever`` and ``InMemoryBM25Retriever`` over an
  ``InMemoryDocumentStore`` holding the same documents and embeddings.

The corpus is embedded once: ``compare_configs`` loads its embeddings from the evaluation
embedding cache (``$OGMA_HOME/eval-embeddings``) or computes and caches them, and both
Haystack stores receive exactly those vectors. Queries are embedded once with
``OgmaTextEmbedder`` (the core embeds them the same way). Every run is scored by
:func:`ogma.evaluate.evaluate_run` in the rank-based format of ``ogma eval``; the Ogma
retrievers add no loss when their figures equal the core's to 4 decimals.

Query latency: each retriever's ``run`` with a precomputed query embedding (retrieval only,
no embedding), the five retrievers interleaved per query in rotating order, medians over
``--repeats`` passes of the queries.

Write throughput: ``write_documents`` of ``--docs`` documents (default 100,000) with synthetic
384-d unit vectors and short synthetic texts, into an ``OgmaDocumentStore`` file, an
``OgmaDocumentStore(":memory:")`` and an ``InMemoryDocumentStore``, and, for reference, the
core write underneath (``ogma.Store.add`` of the same texts, metadata, ids and a float32
matrix into a file, in transactions of 1,000 documents as the document store's default),
``--rounds`` interleaved rounds, medians.

Run:
    python benchmarks/bench_haystack.py --data ../shared/datasets/nano-dbpedia --threads 2
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
MODES = ("dense", "lexical", "hybrid")
K = 10


def ranked(ids: list[str]) -> dict[str, float]:
    """The run format of ``ogma eval``: rank-based scores that keep the retriever's order."""
    out: dict[str, float] = {}
    for rank, doc_id in enumerate(ids):
        out.setdefault(doc_id, float(len(ids) - rank))
    return out


def core_quality(dataset: Any, threads: int) -> tuple[dict[str, dict[str, float]], np.ndarray]:
    """``ogma eval``'s nDCG@10 and latencies per mode, and the corpus embeddings it used (from the cache)."""
    from ogma.evaluate import CompareConfig, EmbeddingCache, compare_configs
    from ogma.evaluate.cache import corpus_fingerprint
    from ogma.evaluate.compare import TextEncoderFactory

    factory = TextEncoderFactory(threads=threads)
    cache = EmbeddingCache()
    rows = compare_configs(
        dataset,
        [CompareConfig(MODEL, mode=mode) for mode in MODES],
        metrics=["ndcg@10"],
        encoder_factory=factory,
        cache=cache,
    )
    encoder = factory(MODEL)
    fingerprint = factory.fingerprint(MODEL, encoder)
    if fingerprint is None:
        raise RuntimeError(f"cannot fingerprint {MODEL}; its corpus embeddings are not cached")
    key = cache.key(corpus_fingerprint(dataset.document_ids(), dataset.document_texts()), fingerprint)
    vectors = cache.load(key, rows=len(dataset.corpus))
    if vectors is None:  # another process cleared the cache meanwhile
        print(f"the corpus embeddings are not in {cache.path(key)} any more; embedding the corpus again", flush=True)
        vectors = encoder.encode_documents(dataset.document_texts())
    core = {
        row.config.mode: {
            "ndcg@10": row.metrics["ndcg@10"],
            "latency_p50_ms_with_query_embedding": row.latency_p50_ms,
            "embed_seconds": row.embed_seconds,
        }
        for row in rows
    }
    return core, vectors


def haystack_documents(dataset: Any, vectors: np.ndarray) -> list[Any]:
    from haystack import Document

    return [
        Document(id=doc_id, content=text, embedding=vector.tolist())
        for doc_id, text, vector in zip(dataset.document_ids(), dataset.document_texts(), vectors)
    ]


def retrievers(documents: list[Any], workdir: Path) -> dict[str, tuple[Any, str]]:
    """Each retriever and the inputs it takes: ``"embedding"``, ``"text"`` or ``"both"``."""
    from haystack.components.retrievers.in_memory import InMemoryBM25Retriever, InMemoryEmbeddingRetriever
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    from haystack_integrations.components.retrievers.ogma import (
        OgmaBM25Retriever,
        OgmaEmbeddingRetriever,
        OgmaHybridRetriever,
    )
    from haystack_integrations.document_stores.ogma import OgmaDocumentStore

    ogma_store = OgmaDocumentStore(workdir / "haystack.db")
    ogma_store.write_documents(documents)
    memory = InMemoryDocumentStore()  # Haystack's defaults: BM25L, dot product
    memory.write_documents(documents)
    return {
        "ogma_embedding": (OgmaEmbeddingRetriever(ogma_store, top_k=K), "embedding"),
        "ogma_bm25": (OgmaBM25Retriever(ogma_store, top_k=K), "text"),
        "ogma_hybrid": (OgmaHybridRetriever(ogma_store, top_k=K), "both"),
        "inmemory_embedding": (InMemoryEmbeddingRetriever(memory, top_k=K), "embedding"),
        "inmemory_bm25": (InMemoryBM25Retriever(memory, top_k=K), "text"),
    }


def run_retriever(retriever: Any, inputs: str, text: str, vector: list[float]) -> list[str]:
    if inputs == "embedding":
        out = retriever.run(query_embedding=vector)
    elif inputs == "text":
        out = retriever.run(query=text)
    else:
        out = retriever.run(query=text, query_embedding=vector)
    return [doc.id for doc in out["documents"]]


def haystack_quality(
    dataset: Any, components: dict[str, tuple[Any, str]], query_vectors: dict[str, list[float]], repeats: int
) -> dict[str, dict[str, Any]]:
    from ogma.evaluate import evaluate_run

    names = list(components)
    runs: dict[str, dict[str, list[str]]] = {name: {} for name in names}
    times: dict[str, list[float]] = {name: [] for name in names}
    items = list(dataset.queries.items())
    first_qid, first_text = items[0]
    for name in names:  # warm-up: first-call allocations are not timed
        run_retriever(*components[name], first_text, query_vectors[first_qid])
    for rep in range(repeats):
        for n, (qid, text) in enumerate(items):
            shift = (n + rep) % len(names)
            for name in names[shift:] + names[:shift]:
                retriever, inputs = components[name]
                started = time.perf_counter()
                ids = run_retriever(retriever, inputs, text, query_vectors[qid])
                times[name].append((time.perf_counter() - started) * 1000.0)
                if rep == 0:
                    runs[name][qid] = ids
                elif runs[name][qid] != ids:
                    raise RuntimeError(f"{name} returned another top {K} for query {qid} on pass {rep + 1}")
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        run = {qid: ranked(ids) for qid, ids in runs[name].items()}
        out[name] = {
            "ndcg@10": evaluate_run(run, dataset.qrels, ["ndcg@10"])["ndcg@10"],
            "latency_p50_ms": statistics.median(times[name]),
            "latency_p95_ms": float(np.percentile(times[name], 95)),
            "timed_queries": len(times[name]),
        }
    return out


def synthetic_documents(count: int, dim: int, seed: int = 0) -> list[Any]:
    from haystack import Document

    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(count, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    words = np.array([f"w{i}" for i in range(5000)])
    picks = rng.integers(0, len(words), size=(count, 12))
    return [
        Document(id=f"doc-{i}", content=" ".join(words[picks[i]]), embedding=vectors[i].tolist(), meta={"n": i})
        for i in range(count)
    ]


def write_throughput(count: int, dim: int, rounds: int, workdir: Path) -> dict[str, Any]:
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    from haystack_integrations.document_stores.ogma import OgmaDocumentStore
    from ogma import Store

    documents = synthetic_documents(count, dim)
    ids = [d.id for d in documents]
    texts = [d.content for d in documents]
    metas = [d.meta for d in documents]
    matrix = np.asarray([d.embedding for d in documents], dtype=np.float32)
    variants = ["ogma_file", "ogma_memory", "inmemory", "core_store_add_file"]
    times: dict[str, list[float]] = {name: [] for name in variants}
    for n in range(rounds):
        shift = n % len(variants)
        for name in variants[shift:] + variants[:shift]:
            path = workdir / f"write-{n}.db"
            if name == "core_store_add_file":  # the core write underneath, for reference
                core = Store(path)
                started = time.perf_counter()
                written = len(core.add(texts, metas, ids, embeddings=matrix, batch_size=1000))
                times[name].append(time.perf_counter() - started)
                if written != count or core.count() != count:
                    raise RuntimeError(f"{name} wrote {written} documents and holds {core.count()}, not {count}")
                core.close()
                for suffix in ("", "-wal", "-shm"):
                    Path(f"{path}{suffix}").unlink(missing_ok=True)
                print(f"  round {n + 1} {name}: {times[name][-1]:.1f} s", flush=True)
                continue
            if name == "ogma_file":
                store: Any = OgmaDocumentStore(path)
            elif name == "ogma_memory":
                store = OgmaDocumentStore(":memory:")
            else:
                store = InMemoryDocumentStore()
            started = time.perf_counter()
            written = store.write_documents(documents)
            times[name].append(time.perf_counter() - started)
            if written != count or store.count_documents() != count:
                raise RuntimeError(f"{name} wrote {written} documents and holds {store.count_documents()}, not {count}")
            if hasattr(store, "close"):
                store.close()
            for suffix in ("", "-wal", "-shm"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
            print(f"  round {n + 1} {name}: {times[name][-1]:.1f} s", flush=True)
    med = {name: statistics.median(t) for name, t in times.items()}
    return {
        "documents": count,
        "dim": dim,
        "rounds": rounds,
        "seconds": times,
        "median_seconds": med,
        "docs_per_second": {name: count / s for name, s in med.items()},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "nano-dbpedia")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3, help="timed passes over the queries")
    parser.add_argument("--docs", type=int, default=100_000, help="documents in the write benchmark")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds of the write benchmark")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "haystack.json")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HAYSTACK_TELEMETRY_ENABLED", "False")

    from haystack_integrations.components.embedders.ogma import OgmaTextEmbedder
    from ogma.evaluate import load_beir

    dataset = load_beir(args.data)
    core, vectors = core_quality(dataset, args.threads)
    print("ogma eval nDCG@10:", {mode: round(core[mode]["ndcg@10"], 4) for mode in MODES}, flush=True)
    embedder = OgmaTextEmbedder(model=MODEL, threads=args.threads)
    query_vectors = {qid: embedder.run(text)["embedding"] for qid, text in dataset.queries.items()}
    with tempfile.TemporaryDirectory(prefix="ogma-bench-haystack-") as tmp:
        workdir = Path(tmp)
        components = retrievers(haystack_documents(dataset, vectors), workdir)
        quality = haystack_quality(dataset, components, query_vectors, args.repeats)
        print("Haystack nDCG@10:", {name: round(q["ndcg@10"], 4) for name, q in quality.items()}, flush=True)
        writes = write_throughput(args.docs, vectors.shape[1], args.rounds, workdir)
    print("write_documents docs/s:", {k: round(v) for k, v in writes["docs_per_second"].items()}, flush=True)

    pairs = {"dense": "ogma_embedding", "lexical": "ogma_bm25", "hybrid": "ogma_hybrid"}
    result = {
        "data": args.data.name,
        "model": MODEL,
        "documents": len(dataset.corpus),
        "queries": len(dataset.queries),
        "threads": args.threads,
        "cpu_flags": cpu_flags(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "haystack": _version("haystack-ai"),
        "load_average_after": list(os.getloadavg()),
        "core_ogma_eval": {mode: {k: v for k, v in row.items() if v is not None} for mode, row in core.items()},
        "haystack_retrievers": quality,
        "ogma_retrievers_equal_ogma_eval_to_4_decimals": {
            mode: round(core[mode]["ndcg@10"], 4) == round(quality[name]["ndcg@10"], 4) for mode, name in pairs.items()
        },
        "write_documents": writes,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("core_ogma_eval", "haystack_retrievers")}, indent=2))
    print("equal to 4 decimals:", result["ogma_retrievers_equal_ogma_eval_to_4_decimals"])
    return 0


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None


if __name__ == "__main__":
    raise SystemExit(main())
