"""Benchmark the Ogma store against plain sqlite-vec: ingest rate, query latency, recall.

Three parts, each optional:

* **ingest** -- documents/s for adding N documents with precomputed 256-d vectors
  (documents + FTS5 + vectors, one transaction per batch; encoding excluded), per
  precision, next to plain sqlite-vec ``vec0`` inserts of the vectors alone.
* **latency** -- p50/p99 of ``Store.search(vector=..., k=10)`` at each size for
  float32, int8 and binary (+ exact rescoring), next to plain ``vec0`` float and
  bit KNN queries on the same data, with recall@10 against exact float search.
  Random unit vectors (the hardest case for quantization).
* **recall** -- recall@10 of int8 and binary+rescore against exact float search on
  real embeddings: nano-dbpedia (BEIR format) embedded with all-MiniLM-L6-v2
  (sentence-transformers), for a sweep of oversampling factors.

Usage::

    python benchmarks/bench_store.py --sizes 100000 1000000
    python benchmarks/bench_store.py --sizes 20000 --queries 50   # quick run

Writes JSON to ``benchmarks/results/store.json`` and a markdown report (``--markdown``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import apsw
import numpy as np
import sqlite_vec

from ogma.store import Store, driver_info

HERE = Path(__file__).resolve().parent
DIM = 256
PRECISIONS = ("float32", "int8", "binary")


# ----------------------------------------------------------------------------- data
def unit_vectors(n: int, dim: int, seed: int) -> np.ndarray:
    out = np.empty((n, dim), dtype=np.float32)
    rng = np.random.default_rng(seed)
    for start in range(0, n, 100_000):
        stop = min(n, start + 100_000)
        block = rng.standard_normal((stop - start, dim)).astype(np.float32)
        out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def synthetic_texts(n: int, seed: int, words: int = 30) -> list[str]:
    rng = np.random.default_rng(seed)
    vocab = np.array([f"w{i:04d}" for i in range(5000)])
    picks = rng.zipf(1.3, size=(n, words)) % len(vocab)
    return [" ".join(vocab[row]) for row in picks]


def percentiles(times: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    """Wall-clock p50/p99, plus the p50 of process CPU time (robust on a busy machine)."""
    ms = np.array(times) * 1000.0
    out = {"p50_ms": round(float(np.percentile(ms, 50)), 3), "p99_ms": round(float(np.percentile(ms, 99)), 3)}
    if cpu:
        out["cpu_p50_ms"] = round(float(np.percentile(np.array(cpu) * 1000.0, 50)), 3)
    return out


def recall_at(found: list[list[int]], exact: list[list[int]], k: int = 10) -> float:
    return float(np.mean([len(set(f[:k]) & set(e[:k])) / k for f, e in zip(found, exact)]))


def exact_top(matrix: np.ndarray, queries: np.ndarray, k: int) -> list[list[int]]:
    out: list[list[int]] = []
    for q in queries:
        scores = matrix @ q
        top = np.argpartition(-scores, k)[:k]
        out.append([int(i) for i in top[np.argsort(-scores[top])]])
    return out


def vec0_connection(path: Path) -> apsw.Connection:
    conn = apsw.Connection(str(path))
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    return conn


# ----------------------------------------------------------------------------- ingest
def remove_database(path: Path) -> None:
    """Delete a SQLite file with its WAL and shared-memory files."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _ingest_store(
    workdir: Path, precision: str, texts: list[str], metas: list[dict[str, int]], ids: list[str], vectors: np.ndarray
) -> tuple[float, float]:
    path = workdir / f"ingest-{precision}.db"
    with Store(path, dim=DIM, precision=precision, show_progress=False) as store:  # type: ignore[arg-type]
        start, start_cpu = time.perf_counter(), time.process_time()
        store.add(texts, metas, ids, embeddings=vectors)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    remove_database(path)
    return elapsed, cpu


def _ingest_vec0(workdir: Path, kind: str, vectors: np.ndarray) -> tuple[float, float]:
    n = len(vectors)
    path = workdir / f"vec0-{kind}.db"
    column, fn = (f"float[{DIM}]", "") if kind == "float" else (f"bit[{DIM}]", "vec_bit")
    conn = vec0_connection(path)
    conn.execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL")
    conn.execute(f"CREATE VIRTUAL TABLE v USING vec0(embedding {column})")
    codes = vectors if kind == "float" else np.packbits(vectors > 0, axis=1, bitorder="little")
    value = f"{fn}(?)" if fn else "?"
    start, start_cpu = time.perf_counter(), time.process_time()
    for lo in range(0, n, 8192):
        with conn:
            conn.executemany(
                f"INSERT INTO v(rowid, embedding) VALUES (?, {value})",
                [(i + 1, codes[i].tobytes()) for i in range(lo, min(n, lo + 8192))],
            )
    elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
    conn.close()
    remove_database(path)
    return elapsed, cpu


def bench_ingest(workdir: Path, n: int, rounds: int = 1) -> dict[str, Any]:
    """Ingest ``n`` documents per configuration, ``rounds`` times; configurations take turns in
    every round, so a change in the machine's speed hits them alike. Medians are reported."""
    vectors = unit_vectors(n, DIM, seed=1)
    texts = synthetic_texts(n, seed=2)
    ids = [f"doc-{i}" for i in range(n)]
    metas = [{"group": i % 10} for i in range(n)]
    runs: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for _ in range(rounds):
        for precision in PRECISIONS:
            runs.setdefault(("store", precision), []).append(
                _ingest_store(workdir, precision, texts, metas, ids, vectors)
            )
        for kind in ("float", "bit"):
            runs.setdefault(("vec0_vectors_only", kind), []).append(_ingest_vec0(workdir, kind, vectors))
    results: dict[str, Any] = {"documents": n, "dim": DIM, "rounds": rounds, "store": {}, "vec0_vectors_only": {}}
    for (group, name), timings in runs.items():
        rates = [round(n / elapsed) for elapsed, _ in timings]
        results[group][name] = {
            "docs_per_s": int(np.median(rates)),
            "docs_per_s_runs": rates,
            "docs_per_cpu_s": int(np.median([n / cpu for _, cpu in timings])),
        }
        print(f"ingest {group} {name:8s} median {np.median(rates):10,.0f} docs/s (runs {rates})")
    return results


# ----------------------------------------------------------------------------- latency
def _build(path: Path, precision: str, vectors: np.ndarray) -> float:
    if path.exists():
        with Store(path) as store:
            if store.count() == len(vectors):
                return 0.0
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    n = len(vectors)
    start = time.perf_counter()
    with Store(path, dim=DIM, precision=precision, show_progress=False) as store:  # type: ignore[arg-type]
        for lo in range(0, n, 100_000):
            hi = min(n, lo + 100_000)
            store.add([f"d{i}" for i in range(lo, hi)], ids=[str(i) for i in range(lo, hi)], embeddings=vectors[lo:hi])
    return time.perf_counter() - start


def _time_store(store: Store, queries: np.ndarray, **kwargs: Any) -> tuple[dict[str, float], list[list[int]]]:
    store.search(vector=queries[0], k=10, **kwargs)  # warm-up (loads the in-process index)
    times: list[float] = []
    cpu: list[float] = []
    found: list[list[int]] = []
    for q in queries:
        start, start_cpu = time.perf_counter(), time.process_time()
        hits = store.search(vector=q, k=10, **kwargs)
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
        found.append([int(h.id) for h in hits])
    return percentiles(times, cpu), found


def _time_vec0(path: Path, queries: np.ndarray, kind: str) -> dict[str, float]:
    conn = vec0_connection(path)
    if kind == "bit":
        sql = "SELECT rowid, distance FROM ogma_vec WHERE embedding MATCH vec_bit(?) AND k = 10"
        blobs = [np.packbits(q > 0, bitorder="little").tobytes() for q in queries]
    else:
        sql = "SELECT rowid, distance FROM ogma_vec WHERE embedding MATCH ? AND k = 10"
        blobs = [q.astype(np.float32).tobytes() for q in queries]
    conn.execute(sql, (blobs[0],)).fetchall()
    times, cpu = [], []
    for blob in blobs:
        start, start_cpu = time.perf_counter(), time.process_time()
        conn.execute(sql, (blob,)).fetchall()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    conn.close()
    return percentiles(times, cpu)


def bench_latency(
    workdir: Path, sizes: list[int], n_queries: int, oversamples: list[float], precisions: list[str]
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for n in sizes:
        vectors = unit_vectors(n, DIM, seed=3)
        queries = unit_vectors(n_queries, DIM, seed=4)
        exact = exact_top(vectors, queries, 10)
        row: dict[str, Any] = {"vectors": n, "dim": DIM, "queries": n_queries}
        for precision in precisions:
            path = workdir / f"latency-{n}-{precision}.db"
            build = _build(path, precision, vectors)
            with Store(path) as store:
                start = time.perf_counter()
                store.search(vector=queries[0], k=10)
                cold = time.perf_counter() - start
                stats, found = _time_store(store, queries)
                entry: dict[str, Any] = {
                    **stats,
                    "recall@10": round(recall_at(found, exact), 4),
                    "oversample": store.oversample,
                }
                entry["first_query_s"] = round(cold, 3)
                if build:
                    entry["build_s"] = round(build, 1)
                if precision != "float32":
                    vstats, vfound = _time_store(store, queries, backend="sqlite-vec")
                    entry["sqlite_vec_backend"] = {**vstats, "recall@10": round(recall_at(vfound, exact), 4)}
                row[precision] = entry
                print(
                    f"n={n:>9,} {precision:8s} p50 {stats['p50_ms']:7.2f} ms  p99 {stats['p99_ms']:7.2f} ms  "
                    f"recall@10 {entry['recall@10']:.3f}  (first query {cold:.2f}s)"
                )
            if precision == "binary":
                sweep = {}
                for factor in oversamples:
                    with Store(path, oversample=factor) as store:
                        stats, found = _time_store(store, queries)
                    sweep[str(factor)] = {**stats, "recall@10": round(recall_at(found, exact), 4)}
                row["binary_oversample_sweep"] = sweep
            kind = {"float32": "float", "binary": "bit"}.get(precision)
            if kind:
                row[f"vec0_{kind}_knn"] = _time_vec0(path, queries, kind)
                print(
                    f"n={n:>9,} vec0 {kind:5s} KNN p50 {row[f'vec0_{kind}_knn']['p50_ms']:7.2f} ms  "
                    f"p99 {row[f'vec0_{kind}_knn']['p99_ms']:7.2f} ms"
                )
        results[str(n)] = row
    return results


# ----------------------------------------------------------------------------- recall
def _embed_dataset(dataset: Path, model: Path, cache: Path) -> dict[str, np.ndarray]:
    cache.mkdir(parents=True, exist_ok=True)
    file = cache / f"{dataset.name}-{model.parent.name}.npz"
    if file.exists():
        data = np.load(file)
        return {k: data[k] for k in data.files}
    from sentence_transformers import SentenceTransformer

    corpus = [json.loads(line) for line in (dataset / "corpus.jsonl").open(encoding="utf-8")]
    queries = [json.loads(line) for line in (dataset / "queries.jsonl").open(encoding="utf-8")]
    st = SentenceTransformer(str(model), device="cpu")
    docs = st.encode(
        [f"{d.get('title', '')}\n{d['text']}".strip() for d in corpus],
        batch_size=64,
        normalize_embeddings=True,
        show_progress_bar=False,
    )
    real = st.encode([q["text"] for q in queries], normalize_embeddings=True, show_progress_bar=False)
    titles = st.encode(
        [d.get("title") or d["text"][:60] for d in corpus[:1000]], normalize_embeddings=True, show_progress_bar=False
    )
    out = {
        "documents": docs.astype(np.float32),
        "queries": real.astype(np.float32),
        "title_queries": titles.astype(np.float32),
    }
    np.savez(file, documents=out["documents"], queries=out["queries"], title_queries=out["title_queries"])
    return out


def bench_recall(workdir: Path, dataset: Path, model: Path, oversamples: list[float]) -> dict[str, Any]:
    data = _embed_dataset(dataset, model, HERE / ".cache")
    docs = data["documents"]
    queries = np.concatenate([data["queries"], data["title_queries"]])
    results: dict[str, Any] = {
        "dataset": dataset.name,
        "model": "all-MiniLM-L6-v2 (sentence-transformers)",
        "documents": len(docs),
        "queries": f"{len(data['queries'])} dataset queries + {len(data['title_queries'])} document titles",
    }
    for dim in (docs.shape[1], 256):
        d = docs[:, :dim] / np.linalg.norm(docs[:, :dim], axis=1, keepdims=True)
        q = queries[:, :dim] / np.linalg.norm(queries[:, :dim], axis=1, keepdims=True)
        exact = exact_top(d, q, 10)
        per_dim: dict[str, Any] = {}
        for precision in ("int8", "binary"):
            path = workdir / f"recall-{dim}-{precision}.db"
            with Store(path, dim=dim, precision=precision, show_progress=False) as store:
                store.add([str(i) for i in range(len(d))], ids=[str(i) for i in range(len(d))], embeddings=d)
            sweep = {}
            for factor in oversamples:
                with Store(path, oversample=factor) as store:
                    found = [[int(h.id) for h in store.search(vector=v, k=10)] for v in q]
                sweep[str(factor)] = round(recall_at(found, exact), 4)
            per_dim[precision] = sweep
            print(f"recall dim={dim} {precision:6s} " + "  ".join(f"x{k}: {v:.3f}" for k, v in sweep.items()))
            for suffix in ("", "-wal", "-shm"):
                Path(str(path) + suffix).unlink(missing_ok=True)
        results[f"dim_{dim}"] = per_dim
    return results


# ----------------------------------------------------------------------------- report
def _ingest_section(ingest: dict[str, Any]) -> list[str]:
    rounds = ingest.get("rounds", 1)
    lines = [
        f"### Ingest ({ingest['documents']:,} documents, {ingest['dim']}-d precomputed vectors; "
        f"{rounds} interleaved round(s), medians; load average after the run {ingest.get('load_average_after', '?')})",
        "",
        "| what | docs/s (wall, median) | each round | docs per CPU second |",
        "|---|---:|---:|---:|",
    ]
    rows = [(f"Store.add, {p} (documents + FTS5 + vectors)", r) for p, r in ingest["store"].items()]
    rows += [(f"plain sqlite-vec vec0 {k}, vectors only", r) for k, r in ingest["vec0_vectors_only"].items()]
    for label, row in rows:
        cpu = row.get("docs_per_cpu_s")
        each = ", ".join(f"{r:,}" for r in row.get("docs_per_s_runs", [row["docs_per_s"]]))
        lines.append(f"| {label} | {row['docs_per_s']:,} | {each} | {f'{cpu:,}' if cpu else '-'} |")
    return [*lines, ""]


def _latency_section(latency: dict[str, Any], load: Any) -> list[str]:
    lines = [
        f"### Query latency (k=10, random unit vectors, warm; load average after the run {load})",
        "",
        "Random unit vectors are the worst case for binary codes (no structure for the sign bits to keep), "
        "so the binary recall here is far below what real embeddings give; see the recall section.",
        "",
        "| vectors | search | p50 ms | p99 ms | CPU p50 ms | recall@10 vs exact float |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for n, row in latency.items():
        entries: list[tuple[str, dict[str, Any]]] = []
        for precision in PRECISIONS:
            e = row[precision]
            label = {
                "float32": "Store float32 (exact)",
                "int8": f"Store int8 + rescore (x{e['oversample']:g})",
                "binary": f"Store binary + rescore (x{e['oversample']:g})",
            }[precision]
            entries.append((label, e))
            if "sqlite_vec_backend" in e:
                entries.append((f"Store {precision}, backend=sqlite-vec", e["sqlite_vec_backend"]))
        for kind in ("float", "bit"):
            if f"vec0_{kind}_knn" in row:
                entries.append((f"plain vec0 {kind} KNN", row[f"vec0_{kind}_knn"]))
        for label, e in entries:
            lines.append(
                f"| {int(n):,} | {label} | {e['p50_ms']} | {e['p99_ms']} | {e.get('cpu_p50_ms', '-')} | "
                f"{e.get('recall@10', '-')} |"
            )
    lines.append("")
    for n, row in latency.items():
        sweep = row.get("binary_oversample_sweep")
        if sweep:
            lines += [
                f"Binary oversampling at {int(n):,} random vectors (p50 / recall@10): "
                + ", ".join(f"x{f}: {v['p50_ms']} ms / {v['recall@10']}" for f, v in sweep.items()),
                "",
            ]
    return lines


def _recall_section(recall: dict[str, Any]) -> list[str]:
    lines = [
        f"### Recall@10 vs exact float on real embeddings ({recall['dataset']}, {recall['model']}, "
        f"{recall['documents']:,} documents, {recall['queries']})",
        "",
    ]
    for key, per_dim in recall.items():
        if not key.startswith("dim_"):
            continue
        factors = list(next(iter(per_dim.values())).keys())
        lines += [
            f"{key[4:]}-d, by oversampling factor:",
            "",
            "| precision | " + " | ".join(f"x{f}" for f in factors) + " |",
            "|---|" + "---:|" * len(factors),
        ]
        for precision, sweep in per_dim.items():
            lines.append(f"| {precision} | " + " | ".join(str(sweep[f]) for f in factors) + " |")
        lines.append("")
    return lines


def markdown(report: dict[str, Any]) -> str:
    lines = [
        "## Store benchmark",
        "",
        "Reproduce with `python benchmarks/bench_store.py --sizes 100000 1000000 --dataset <nano-dbpedia folder> "
        "--model <all-MiniLM-L6-v2 folder> --markdown store-section.md` (numbers below: "
        "`benchmarks/results/store.json`). Latency is wall-clock per `search(vector=..., k=10)` after the "
        "first query (which loads the in-process index; its time is in the JSON as `first_query_s`). "
        "The load averages next to each section show how busy the machine was; the CPU-time columns "
        "are less sensitive to other work than wall-clock time.",
        "",
        f"Machine: {report['machine']}. Driver: " + ", ".join(f"{k} {v}" for k, v in report["driver"].items()) + ".",
        "",
    ]
    for note in report.get("notes", []):
        lines += [f"Note: {note}", ""]
    if report.get("ingest"):
        lines += _ingest_section(report["ingest"])
    if report.get("latency"):
        lines += _latency_section(report["latency"], report.get("latency_load_average_after", "?"))
    if report.get("recall"):
        lines += _recall_section(report["recall"])
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="*", default=[100_000, 1_000_000], help="latency corpus sizes")
    parser.add_argument("--ingest-docs", type=int, default=100_000, help="documents for the ingest run (0: skip)")
    parser.add_argument("--ingest-rounds", type=int, default=5, help="interleaved ingest rounds (medians reported)")
    parser.add_argument("--queries", type=int, default=200, help="queries per latency measurement")
    parser.add_argument("--oversample", type=float, nargs="*", default=[2, 4, 8, 10, 16, 20, 32, 40])
    parser.add_argument("--dataset", type=Path, default=None, help="BEIR folder for the recall run (omit: skip)")
    parser.add_argument("--model", type=Path, default=None, help="sentence-transformers model folder for recall")
    parser.add_argument("--workdir", type=Path, default=None, help="where store files go (kept for reuse)")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "store.json")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the markdown report here")
    parser.add_argument("--precisions", nargs="*", default=list(PRECISIONS), help="precisions to time")
    parser.add_argument("--merge", action="store_true", help="keep the parts of --out that this run skips")
    parser.add_argument("--report-only", type=Path, default=None, help="only turn this JSON result into --markdown")
    args = parser.parse_args()
    if args.report_only:
        target = args.markdown or args.report_only.with_suffix(".md")
        target.write_text(markdown(json.loads(args.report_only.read_text(encoding="utf-8"))) + "\n", encoding="utf-8")
        print(f"wrote {target}")
        return

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="ogma-bench-store-"))
    workdir.mkdir(parents=True, exist_ok=True)
    previous: dict[str, Any] = {}
    if args.merge and args.out.exists():
        previous = json.loads(args.out.read_text(encoding="utf-8"))
    report: dict[str, Any] = {
        **previous,
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, {platform.system()}",
        "driver": {k: driver_info()[k] for k in ("driver", "sqlite_version", "sqlite_vec_version")},
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }
    if args.ingest_docs:
        report["ingest"] = bench_ingest(workdir, args.ingest_docs, args.ingest_rounds)
        report["ingest"]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.sizes:
        latency = bench_latency(workdir, args.sizes, args.queries, args.oversample, args.precisions)
        for size, row in latency.items():  # with --merge, keep what this run did not measure
            report.setdefault("latency", {}).setdefault(size, {}).update(row)
        report["latency_load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    if args.dataset and args.model:
        report["recall"] = bench_recall(workdir, args.dataset, args.model, [1, *args.oversample])
    report["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    if args.markdown:
        args.markdown.write_text(markdown(report) + "\n", encoding="utf-8")
        print(f"wrote {args.markdown}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
