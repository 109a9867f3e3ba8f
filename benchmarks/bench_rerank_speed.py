"""Reranking speed on the real cross-encoder: ogma.Reranker vs a bare ONNX Runtime session vs FlashRank.

All three run the SAME file, cross-encoder/ms-marco-MiniLM-L-12-v2 int8 ONNX (from ``real_models.py``),
on the same (query, passage) lists: for each of the first ``--queries`` nano-dbpedia queries, a list
of ``--passages`` passages (its judged passages, topped up with seeded random ones), one call per
list, as a reranker is used after a first-stage search.

* ``ogma``: ``Reranker.score`` (tokenise, length-sorted batches padded to their longest pair, run).
* ``bare-ort``: ``InferenceSession.run`` alone on the exact padded batches Ogma builds, prepared
  before the clock starts: the floor for this file on this machine. Ogma's overhead is
  ``ogma time / bare time - 1``.
* ``flashrank``: ``flashrank.Ranker(model_name="ms-marco-MiniLM-L-12-v2", cache_dir=...)`` on a folder laid
  out as it expects (file ``flashrank-MiniLM-L-12-v2_Q.onnx``, the tokenizer files, a config.json
  with ``pad_token_id``).

Engines run interleaved, ``--rounds`` times each in rotating order; the median round counts,
in wall time and in CPU time of this process (the latter moves far less on a shared machine).
Also measured: tokens per pair, nDCG@10 of each engine's order, and how much a pair's score
depends on its batch-mates (int8 with dynamic activation quantization: one scale per batch).

Run (one command; record the load):
    pip install flashrank   # a benchmark peer, see benchmarks/requirements.txt
    python benchmarks/bench_rerank_speed.py --threads 2 --out benchmarks/results/rerank-speed.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
import real_models  # noqa: E402
from ogma import Reranker  # noqa: E402
from ogma.evaluate.beir import load_beir  # noqa: E402
from ogma.tokenize import plan_batches  # noqa: E402

NANO = HERE.parent.parent / "shared" / "datasets" / "nano-dbpedia"
MODEL = "ms-marco-MiniLM-L-12-v2"
Lists = list[tuple[str, list[str], list[int]]]


def load_lists(folder: Path, n_queries: int, n_passages: int, seed: int = 0) -> Lists:
    data = load_beir(folder)
    corpus = {doc_id: data.document_text(doc_id) for doc_id in data.corpus}
    queries, qrels = data.queries, data.qrels
    rng = random.Random(seed)
    ids = sorted(corpus)
    out = []
    for qid in sorted(qrels)[:n_queries]:
        judged = [d for d in qrels[qid] if d in corpus][:n_passages]
        others = [d for d in rng.sample(ids, n_passages * 2) if d not in qrels[qid]][: n_passages - len(judged)]
        docs = judged + others
        rng.shuffle(docs)
        out.append((queries[qid], [corpus[d] for d in docs], [qrels[qid].get(d, 0) for d in docs]))
    return out


def ndcg10(lists: Lists, scores: list[np.ndarray]) -> float:
    values = []
    for (_, _, grades), s in zip(lists, scores, strict=True):
        order = np.argsort(-s, kind="stable")[:10]
        dcg = sum(grades[i] / np.log2(r + 2) for r, i in enumerate(order))
        ideal = sum(g / np.log2(r + 2) for r, g in enumerate(sorted(grades, reverse=True)[:10]))
        values.append(dcg / ideal if ideal else 0.0)
    return float(np.mean(values))


def bare_batches(reranker: Reranker, lists: Lists) -> list[list[tuple[np.ndarray, dict[str, np.ndarray]]]]:
    """The padded feeds Ogma would run, per list (built once, outside any timing)."""
    out = []
    for query, docs, _ in lists:
        pairs = reranker._encode_pairs(query, docs)
        lengths = np.array([len(p.ids) for p in pairs])
        feeds = []
        for idx in plan_batches(lengths, batch_size=reranker.batch_size):
            width = int(lengths[idx].max())
            ids = np.zeros((len(idx), width), dtype=np.int64)
            mask = np.zeros_like(ids)
            types = np.zeros_like(ids)
            for row, i in enumerate(idx):
                n = len(pairs[i].ids)
                ids[row, :n], mask[row, :n], types[row, :n] = pairs[i].ids, pairs[i].attention_mask, pairs[i].type_ids
            feeds.append((idx, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}))
        out.append(feeds)
    return out


def flashrank_engine(folder: Path, threads: int | None, workdir: Path) -> Callable[[str, list[str]], np.ndarray]:
    from flashrank import Ranker, RerankRequest

    layout = workdir / MODEL
    layout.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / "model.onnx", layout / "flashrank-MiniLM-L-12-v2_Q.onnx")
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(folder / name, layout / name)
    (layout / "config.json").write_text(json.dumps({"pad_token_id": 0, "max_position_embeddings": 512}))
    ranker = Ranker(model_name=MODEL, cache_dir=str(workdir), max_length=512)
    if threads is not None:  # FlashRank opens its session with ONNX Runtime's defaults: give it the same threads
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        ranker.session = ort.InferenceSession(str(layout / "flashrank-MiniLM-L-12-v2_Q.onnx"), options)

    def score(query: str, docs: list[str]) -> np.ndarray:
        results = ranker.rerank(RerankRequest(query=query, passages=[{"id": i, "text": d} for i, d in enumerate(docs)]))
        out = np.empty(len(docs), dtype=np.float64)
        for r in results:
            out[int(r["id"])] = float(r["score"])
        return out

    return score


def batch_dependence(reranker: Reranker, alone: Reranker, lists: Lists) -> dict[str, Any]:
    """How much a pair's logit moves with its batch-mates: batch of one vs the default batches vs the whole list."""
    whole = Reranker(reranker.folder, threads=1, batch_size=len(lists[0][1]))
    deltas, top10_changed, swaps = [], 0, 0
    for query, docs, _ in lists:
        ref = alone.score(query, docs)
        for other in (reranker.score(query, docs), whole.score(query, docs)):
            deltas.append(np.abs(other - ref))
            top10_changed += int(list(np.argsort(-other)[:10]) != list(np.argsort(-ref)[:10]))
            order_ref, order = np.argsort(-ref), np.argsort(-other)
            swaps += int(np.sum(order_ref != order))
    flat = np.concatenate(deltas)
    return {
        "max_abs_logit_delta": float(flat.max()),
        "mean_abs_logit_delta": float(flat.mean()),
        "p99_abs_logit_delta": float(np.percentile(flat, 99)),
        "lists_with_top10_order_changed": top10_changed,
        "list_comparisons": 2 * len(lists),
        "rank_positions_changed": swaps,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=NANO)
    parser.add_argument("--queries", type=int, default=20)
    parser.add_argument("--passages", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--no-flashrank", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "rerank-speed.json")
    args = parser.parse_args()
    load_before = os.getloadavg()
    folder = real_models.fetch([MODEL])[MODEL]
    lists = load_lists(args.data, args.queries, args.passages)
    pairs = sum(len(d) for _, d, _ in lists)
    reranker = Reranker(folder, threads=args.threads)
    tokens = [len(p.ids) for q, d, _ in lists for p in reranker._encode_pairs(q, d)]
    feeds = bare_batches(reranker, lists)
    ogma_padded = sum(f["input_ids"].size for batches in feeds for _, f in batches) / pairs
    # FlashRank tokenises a whole list as one batch padded to its longest pair
    lengths = [[len(p.ids) for p in reranker._encode_pairs(q, d)] for q, d, _ in lists]
    flash_padded = sum(max(ls) * len(ls) for ls in lengths) / pairs
    session, output = reranker._session, reranker._output

    def run_ogma() -> list[np.ndarray]:
        return [reranker.score(q, d) for q, d, _ in lists]

    def run_bare() -> list[np.ndarray]:
        out = []
        for (_, docs, _), batches in zip(lists, feeds, strict=True):
            scores = np.empty(len(docs), dtype=np.float32)
            for idx, feed in batches:
                scores[idx] = session.run([output], feed)[0][:, 0]
            out.append(scores)
        return out

    engines: dict[str, Callable[[], list[np.ndarray]]] = {"ogma": run_ogma, "bare-ort": run_bare}
    workdir = Path(tempfile.mkdtemp(prefix="flashrank-"))
    if not args.no_flashrank:
        flash = flashrank_engine(folder, args.threads, workdir)
        engines["flashrank"] = lambda: [flash(q, d) for q, d, _ in lists]
    for run in engines.values():
        run()  # warm-up
    seconds: dict[str, list[float]] = {name: [] for name in engines}
    cpu_seconds: dict[str, list[float]] = {name: [] for name in engines}
    scores: dict[str, list[np.ndarray]] = {}
    names = list(engines)
    for r in range(args.rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            start, cpu = time.perf_counter(), time.process_time()
            scores[name] = engines[name]()
            seconds[name].append(time.perf_counter() - start)
            cpu_seconds[name].append(time.process_time() - cpu)
    shutil.rmtree(workdir, ignore_errors=True)
    median = {n: statistics.median(s) for n, s in seconds.items()}
    median_cpu = {n: statistics.median(s) for n, s in cpu_seconds.items()}
    report: dict[str, Any] = {
        "model": f"cross-encoder/{MODEL} int8 ONNX ({folder / 'model.onnx'})",
        "lists": len(lists),
        "passages_per_list": args.passages,
        "pairs_per_round": pairs,
        "tokens_per_pair": {"mean": float(np.mean(tokens)), "p50": float(np.median(tokens)), "max": max(tokens)},
        "padded_tokens_per_pair": {"ogma": ogma_padded, "flashrank (one batch per list)": flash_padded},
        "pairs_per_s": {n: pairs / t for n, t in median.items()},
        "round_seconds": seconds,
        "round_cpu_seconds": cpu_seconds,
        "ogma_overhead_vs_bare_ort": median["ogma"] / median["bare-ort"] - 1,
        # CPU time of this process: what the engine itself costs, whatever share of a core
        # a loaded machine gives it (with --threads 1 all the work is on the calling thread)
        "ogma_cpu_overhead_vs_bare_ort": median_cpu["ogma"] / median_cpu["bare-ort"] - 1,
        "ndcg@10": {n: ndcg10(lists, s) for n, s in scores.items()},
    }
    if "flashrank" in median:
        report["ogma_speedup_vs_flashrank"] = median["flashrank"] / median["ogma"]
        report["flashrank_vs_ogma_rank_correlation"] = float(
            np.mean([np.corrcoef(a, b)[0, 1] for a, b in zip(scores["ogma"], scores["flashrank"], strict=True)])
        )
    alone = Reranker(folder, threads=args.threads, batch_size=1)
    start = time.perf_counter()
    for q, d, _ in lists:
        alone.score(q, d)
    report["pairs_per_s"]["ogma batch_size=1"] = pairs / (time.perf_counter() - start)
    report["batch_dependence"] = batch_dependence(reranker, alone, lists)
    report["machine"] = {
        "cpu": platform.processor() or platform.machine(),
        "flags": cpu_flags(),
        "threads": args.threads,
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    print(json.dumps(report, indent=1))
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
