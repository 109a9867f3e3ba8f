"""Parquet import speed against ``Store.add`` of the same rows already in memory, same run.

``--rows`` random unit vectors (``--dim``-d float32) with ids and short texts are written
as one embeddings Parquet file (:func:`ogma.distributed.files.embedding_table`, the
``ogma embed --ray`` layout). Cases, each into a new float32 store file:

* ``import``: :func:`ogma.store.parquet.import_parquet` (batches decoded in a reader
  thread while the store writes the previous batch);
* ``import-serial``: the same batches decoded and written one after the other in one
  thread (what the import did before the reader thread);
* ``add``: ``Store.add(texts, ids=..., embeddings=numpy)``, everything already in memory
  (the store's own ingest speed, the target).

Cases are interleaved round by round (the order rotates) so machine drift hits all alike;
medians and per-round ratios are reported. Needs pyarrow (``ogma-core[ray]``).

Usage::

    python benchmarks/bench_import.py --rows 100000 --rounds 5

Writes ``benchmarks/results/import.json``.
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

import numpy as np
from _common import cpu_flags

RESULTS = Path(__file__).resolve().parent / "results" / "import.json"
CASES = ("import", "import-serial", "add")


def run_case(kind: str, folder: Path, parquet: Path, vectors: np.ndarray, ids: list[str], texts: list[str]) -> float:
    from ogma import Store
    from ogma.distributed.files import read_embedding_info
    from ogma.store.parquet import _read_batches, import_parquet

    path = folder / f"{kind}.db"
    with Store(path, dim=vectors.shape[1], show_progress=False) as store:
        start = time.perf_counter()
        if kind == "import":
            import_parquet(store, [parquet])
        elif kind == "import-serial":
            import pyarrow.parquet as pq

            info = read_embedding_info(pq.read_schema(parquet), source=str(parquet))
            for batch_ids, batch_texts, batch_vectors, metas in _read_batches(
                parquet, info, 8192, "id", "text", "metadata"
            ):
                store.add(batch_texts, metas, batch_ids, embeddings=batch_vectors, batch_size=len(batch_ids))
        else:
            store.add(texts, ids=ids, embeddings=vectors)
        seconds = time.perf_counter() - start
        if store.count() != len(ids):
            raise RuntimeError(f"{kind}: {store.count()} rows stored for {len(ids)}")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    import pyarrow
    import pyarrow.parquet as pq

    from ogma.compress import normalize
    from ogma.distributed.files import EmbeddingInfo, embedding_table

    n = args.rows
    vectors = normalize(np.random.default_rng(0).standard_normal((n, args.dim)).astype(np.float32))
    ids = [f"doc-{i}" for i in range(n)]
    texts = [f"passage number {i} about a topic" for i in range(n)]
    info = EmbeddingInfo(model_id="bench/model", dim=args.dim, full_dim=args.dim, task="document", task_scheme="none")
    times: dict[str, list[float]] = {k: [] for k in CASES}
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="ogma-bench-import-") as tmp:
        folder = Path(tmp)
        parquet = folder / "vectors.parquet"
        pq.write_table(embedding_table({"id": ids, "text": texts}, vectors, info), parquet)
        size = parquet.stat().st_size
        for round_ in range(args.rounds):
            order = CASES[round_ % len(CASES) :] + CASES[: round_ % len(CASES)]
            for kind in order:
                times[kind].append(run_case(kind, folder, parquet, vectors, ids, texts))
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {times[k][-1]:.2f}s" for k in CASES), flush=True)

    summary = {
        k: {"seconds": v, "median_s": statistics.median(v), "rows_per_s": n / statistics.median(v)}
        for k, v in times.items()
    }
    ratios = {
        f"{k}_vs_add": {
            "of_medians": summary["add"]["median_s"] / summary[k]["median_s"],
            "per_round": [a / b for a, b in zip(times["add"], times[k], strict=True)],
        }
        for k in ("import", "import-serial")
    }
    result = {
        "cpu_flags": cpu_flags(),
        "cpus": os.cpu_count(),
        "load_average_1min_start_end": [load_start, os.getloadavg()[0]],
        "python": platform.python_version(),
        "pyarrow": pyarrow.__version__,
        "rows": n,
        "dim": args.dim,
        "parquet_bytes": size,
        "rounds": args.rounds,
        "cases": summary,
        "ratios": ratios,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"CPU flags: {', '.join(result['cpu_flags'])}; {args.rounds} rounds, medians")
    for k, v in summary.items():
        print(f"  {k}: {v['rows_per_s']:.0f} rows/s ({v['median_s']:.2f} s)")
    for k, r in ratios.items():
        print(f"  {k}: {r['of_medians']:.2f} (per round {', '.join(f'{x:.2f}' for x in r['per_round'])})")


if __name__ == "__main__":
    main()
