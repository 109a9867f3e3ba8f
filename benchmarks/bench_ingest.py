"""Ingest with vectors given: Ogma's ``Store.add`` next to lancedb and a bare-SQLite roofline.

The data is :func:`bench_peers.make_data`'s (clustered unit vectors; metadata
``{"b10", "b1000", "u"}`` per row; text ``"document i"``; ids ``"0"``, ``"1"``, ...), loaded the
way ``bench_peers`` loads it: ``Store.add(texts, metadatas=..., ids=..., embeddings=...)`` in
batches of 8,192 (metadata dicts, texts and ids built inside the timed loop, as a caller
would), lancedb's ``create_table`` from one Arrow table.

The roofline is what SQLite itself costs for the same bytes, in the same SQLite build and with
the store's own connection pragmas (WAL, ``synchronous=NORMAL``, 16 KiB pages): every step is
``executemany`` of prepared tuples over the whole data in batches of the same size, one
transaction per batch, each step adding one table to the previous step's writes:

* ``blob``: a plain table ``(rowid INTEGER PRIMARY KEY, v BLOB)``, one 4·dim-byte blob a row;
* ``+ documents``: and Ogma's documents row (id, text, metadata JSON, content hash; the id's
  unique index);
* ``+ fts5``: and the FTS5 row (Ogma's tokenizer);
* ``+ facets``: and the facets rows (``INSERT ... SELECT`` from ``json_each``, as the store does);
* ``vec0 instead of blob``: the same with sqlite-vec's ``vec0`` table in place of the plain one
  (float32), or the plain float table plus a ``vec0`` bit table (binary): the store's writes.

The roofline rows take their inputs prepared (tuples, blobs, JSON, hashes) outside the timer:
they measure SQLite alone. Every system runs ``--rounds`` times, interleaved, each in a fresh
file; the table reports the median and the spread. On Linux it also reports, from the caller's
thread's ``schedstat``, the wall time less the time that thread sat in the run queue (runnable,
waiting for a CPU another process held: about what an idle machine would give) and the time it
was blocked (neither running nor runnable: syncs, locks, waiting for other threads).

``ogma-*-checkpoint-in-commit`` is ``ogma-*`` with the store's background checkpoints off
(:data:`ogma.store.sqlite.checkpoint.BULK_BYTES` out of reach) and SQLite's default automatic
checkpoint (every 1,000 pages): the WAL copied inside the commits, as the store did before; an
A/B in one run.

Two prototypes measure whether a second thread would help (Python's SQLite drivers release the
GIL while SQLite steps a statement, but take it back for every row an ``executemany`` binds):

* ``ogma-float32-writer-thread`` / ``ogma-binary-writer-thread``: the same batches and
  transactions as ``ogma-*``, each written (``upsert`` and the index hooks, as ``Store.add``
  does) by a writer thread with its own connection while this thread checks and prepares the
  next batch (metadata JSON, hashes, blobs): what a writer thread would give one
  ``Store.add`` call spanning several batches.
* ``overlap:serial`` / ``overlap:thread``: within one batch, the store's writes (documents,
  facets, FTS5, float ``vec0``), with the ``vec0`` insert as a single ``INSERT … SELECT``
  statement (no row bound from Python, so no GIL needed while it runs), the metadata JSON
  and text hashes computed inside the timer: first one after the other, then with the
  ``vec0`` statement in a writer thread while this thread prepares. The ceiling of overlapping
  a batch's preparation with its own writes.

``--convoy`` measures the GIL hand-off itself: rows per second of an ``executemany`` into a
blob table alone, and while this thread runs Python (JSON encoding) at the same time.

Usage::

    python benchmarks/bench_ingest.py --size 100000x384 --rounds 3
    python benchmarks/bench_ingest.py --size 5000x64 --rounds 1     # quick check
    python benchmarks/bench_ingest.py --profile ogma-float32        # cProfile of one Store.add run
    python benchmarks/bench_ingest.py --convoy                      # the GIL hand-off on its own

Writes JSON to ``benchmarks/results/ingest.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import hashlib
import io
import json
import os
import platform
import pstats
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_peers import make_data, metadata_row, text_of  # noqa: E402

BATCH = 8192

ROOFLINE = ("blob", "blob+documents", "blob+documents+fts5", "blob+documents+fts5+facets", "vec0+documents+fts5+facets")
THREADED = ("ogma-float32-writer-thread", "ogma-binary-writer-thread", "overlap:serial", "overlap:thread")
SYSTEMS = (
    "ogma-float32",
    "ogma-binary",
    "ogma-float32-checkpoint-in-commit",
    "ogma-binary-checkpoint-in-commit",
    "lancedb",
    *THREADED,
    *(f"sqlite:{r}" for r in ROOFLINE),
    *(f"sqlite-binary:{r}" for r in ROOFLINE[-1:]),
)


def ogma_ingest(data: dict[str, np.ndarray], path: Path, precision: str) -> None:
    from ogma import Store

    vectors = data["vectors"]
    n, dim = vectors.shape
    with Store(path, dim=dim, precision=precision, show_progress=False) as store:
        for start in range(0, n, BATCH):
            stop = min(n, start + BATCH)
            store.add(
                [text_of(i) for i in range(start, stop)],
                metadatas=[metadata_row(data, i) for i in range(start, stop)],
                ids=[str(i) for i in range(start, stop)],
                embeddings=vectors[start:stop],
                batch_size=BATCH,
            )


def ogma_ingest_checkpoint_in_commit(data: dict[str, np.ndarray], path: Path, precision: str) -> None:
    """:func:`ogma_ingest` with the store's background checkpoints off and SQLite's default
    automatic checkpoint (every 1,000 pages, inside the commits): the store as it was before."""
    from ogma.store.sqlite import checkpoint, connect

    saved = checkpoint.BULK_BYTES, connect.WAL_AUTOCHECKPOINT_PAGES
    checkpoint.BULK_BYTES, connect.WAL_AUTOCHECKPOINT_PAGES = sys.maxsize, 1000
    try:
        ogma_ingest(data, path, precision)
    finally:
        checkpoint.BULK_BYTES, connect.WAL_AUTOCHECKPOINT_PAGES = saved


def ogma_writer_thread_ingest(data: dict[str, np.ndarray], path: Path, precision: str) -> None:
    """:func:`ogma_ingest`'s batches and transactions, written by a writer thread while this one prepares the next.

    The checks and preparation are ``Store.add``'s own (``check_add_args``,
    ``check_optional_embeddings``, ``prepare_rows``), and so is the write (``Store._write_rows``:
    ``upsert`` and the index hooks); the writer thread uses its own connection from the store's pool.
    """
    import queue

    from ogma import Store
    from ogma.store.sqlite.writes import prepare_rows
    from ogma.store.validate import check_add_args, check_optional_embeddings

    vectors = data["vectors"]
    n, dim = vectors.shape
    with Store(path, dim=dim, precision=precision, show_progress=False) as store:
        ready: queue.Queue[Any] = queue.Queue(maxsize=1)
        failed: list[BaseException] = []

        def write() -> None:
            with store._pool.connection() as conn:
                while (rows := ready.get()) is not None:
                    if not failed:
                        try:
                            store._write_rows(conn, rows)
                        except BaseException as exc:  # handed to the caller's thread below
                            failed.append(exc)

        writer = threading.Thread(target=write)
        writer.start()
        try:
            for start in range(0, n, BATCH):
                stop = min(n, start + BATCH)
                texts, metas, ids, _ = check_add_args(
                    [text_of(i) for i in range(start, stop)],
                    [metadata_row(data, i) for i in range(start, stop)],
                    [str(i) for i in range(start, stop)],
                    batch_size=BATCH,
                )
                given, _rows = check_optional_embeddings(vectors[start:stop], len(texts), store._accepted_dims())
                assert given is not None
                ready.put(prepare_rows(store._codec(), ids, texts, metas, store._fit_checked(given)))
        finally:
            ready.put(None)
            writer.join()
        if failed:
            raise failed[0]


OVERLAP_KIND = (
    "CASE j.type WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'true' THEN 3 "
    "WHEN 'false' THEN 3 WHEN 'null' THEN 0 WHEN 'array' THEN 4 ELSE 5 END"
)


def overlap_ingest(data: dict[str, np.ndarray], path: Path, *, threaded: bool) -> None:
    """The store's writes per batch, ``vec0`` as one statement; with ``threaded``, that statement in a writer thread.

    The ``vec0`` rows come from one bound blob of the whole batch (``substr`` of it per row,
    the row numbers from a recursive CTE), the FTS5 rows from the documents just written: SQLite
    then needs no Python object while those statements run. The metadata JSON and the text
    hashes are Ogma's own (``check_metadatas``, ``text_hashes``) and are timed.
    """
    from ogma.store.sqlite.connect import connect
    from ogma.store.sqlite.writes import text_hashes
    from ogma.store.validate import check_metadatas

    vectors = np.ascontiguousarray(data["vectors"], dtype="<f4")
    n, dim = vectors.shape
    width = 4 * dim
    conn = connect(str(path))
    conn.execute(f"CREATE VIRTUAL TABLE vec USING vec0(embedding float[{dim}] distance_metric=cosine)")
    conn.execute(
        "CREATE TABLE documents (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT, "
        "metadata TEXT NOT NULL DEFAULT '{}', content_hash BLOB)"
    )
    conn.execute(
        "CREATE VIRTUAL TABLE fts USING fts5(text, content='documents', content_rowid='rowid', "
        "tokenize='porter unicode61 remove_diacritics 2')"
    )
    conn.execute(
        "CREATE TABLE facets (doc INTEGER NOT NULL, field TEXT NOT NULL, kind INTEGER NOT NULL, value, "
        "PRIMARY KEY (doc, field)) WITHOUT ROWID"
    )
    conn.execute("CREATE INDEX facets_value ON facets (field, kind, value)")
    vec_sql = (
        "WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ?2 - 1) "
        f"INSERT INTO vec (rowid, embedding) SELECT ?1 + i, substr(?3, i * {width} + 1, {width}) FROM c"
    )
    for start in range(0, n, BATCH):
        stop = min(n, start + BATCH)
        texts = [text_of(i) for i in range(start, stop)]
        metas = [metadata_row(data, i) for i in range(start, stop)]
        ids = [str(i) for i in range(start, stop)]
        vec_params = (start + 1, stop - start, vectors[start:stop].tobytes())
        with conn.transaction():
            writer = threading.Thread(target=conn.execute, args=(vec_sql, vec_params)) if threaded else None
            if writer is not None:
                writer.start()
            else:
                conn.execute(vec_sql, vec_params)
            json_rows, hashes = check_metadatas(metas, len(metas)), text_hashes(texts)
            if writer is not None:
                writer.join()
            conn.executemany(
                "INSERT INTO documents (rowid, id, text, metadata, content_hash) VALUES (?, ?, ?, ?, ?)",
                zip(range(start + 1, stop + 1), ids, texts, json_rows, hashes),
            )
            conn.execute(
                f"INSERT OR IGNORE INTO facets (doc, field, kind, value) SELECT d.rowid, j.key, {OVERLAP_KIND}, "
                "j.atom FROM documents AS d, json_each(d.metadata) AS j WHERE d.rowid BETWEEN ? AND ? "
                "AND json_type(d.metadata) = 'object'",
                (start + 1, stop),
            )
            conn.execute(
                "INSERT INTO fts (rowid, text) SELECT rowid, text FROM documents WHERE rowid BETWEEN ? AND ?",
                (start + 1, stop),
            )
    conn.close()


def convoy(rows: int = 20_000) -> dict[str, float]:
    """The GIL hand-off between a writer thread's ``executemany`` and Python in this thread.

    Rows per second of an ``executemany`` (1,536-byte blobs) alone, then while this thread
    encodes JSON; JSON dumps per second alone and beside the writer; and, as a control taken in
    the same moments, the speed-up of two threads hashing 32 MiB each (``hashlib`` releases the
    GIL) over one after the other: what the machine allowed two threads at that time.
    """
    from ogma.store.sqlite.connect import connect

    blob = bytes(1536)
    with tempfile.TemporaryDirectory() as scratch:
        conn = connect(str(Path(scratch) / "convoy.db"))
        conn.execute("CREATE TABLE t (rowid INTEGER PRIMARY KEY, v BLOB NOT NULL)")

        def write(first: int) -> float:
            start = time.perf_counter()
            with conn.transaction():
                conn.executemany("INSERT INTO t (rowid, v) VALUES (?, ?)", ((first + i, blob) for i in range(rows)))
            return time.perf_counter() - start

        alone = write(1)
        seconds: list[float] = []
        writer = threading.Thread(target=lambda: seconds.append(write(rows + 1)))
        meta = {"b10": 1, "b1000": 2, "u": 0.4125741241629953}
        encoded = 0
        start = time.perf_counter()
        writer.start()
        while writer.is_alive():
            json.dumps(meta)
            encoded += 1
        writer.join()
        python_seconds = time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(encoded):
            json.dumps(meta)
        json_alone = time.perf_counter() - start
        conn.close()
    data = bytes(32 << 20)

    def digest() -> None:
        hashlib.blake2b(data).digest()

    start = time.perf_counter()
    digest()
    digest()
    one_after_other = time.perf_counter() - start
    other = threading.Thread(target=digest)
    start = time.perf_counter()
    other.start()
    digest()
    other.join()
    side_by_side = time.perf_counter() - start
    with_python, json_beside = rows / seconds[0], encoded / python_seconds
    return {
        "rows_per_s_alone": rows / alone,
        "rows_per_s_with_python": with_python,
        "json_per_s_alone": encoded / json_alone,
        "json_per_s_with_writer": json_beside,
        # each thread's share of its own speed alone, summed: 1.0 means the two took turns
        "combined_speed": with_python * alone / rows + json_beside * json_alone / encoded,
        "control_hash_speed_up": one_after_other / side_by_side,
    }


def lance_ingest(data: dict[str, np.ndarray], path: Path) -> None:
    import lancedb
    import pyarrow as pa

    vectors = data["vectors"]
    n, dim = vectors.shape
    db = lancedb.connect(str(path))
    table = pa.table(
        {
            "id": pa.array(np.arange(n, dtype=np.int64)),
            "text": pa.array([text_of(i) for i in range(n)]),
            "b10": pa.array(data["b10"]),
            "b1000": pa.array(data["b1000"]),
            "u": pa.array(data["u"]),
            "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), dim),
        }
    )
    db.create_table("bench", data=table)


def roofline_inputs(data: dict[str, np.ndarray]) -> dict[str, Any]:
    """Everything the roofline writes, prepared in Python beforehand (not timed)."""
    vectors = np.ascontiguousarray(data["vectors"], dtype="<f4")
    n, dim = vectors.shape
    blobs = vectors.view(np.dtype((np.void, 4 * dim))).ravel().tolist()
    bits = np.packbits(vectors > 0, axis=1)
    bit_blobs = bits.view(np.dtype((np.void, bits.shape[1]))).ravel().tolist()
    texts = [text_of(i) for i in range(n)]
    metas = [json.dumps(metadata_row(data, i), ensure_ascii=False, allow_nan=False) for i in range(n)]
    hashes = [hashlib.blake2b(t.encode(), digest_size=16).digest() for t in texts]
    ids = [str(i) for i in range(n)]
    return {
        "n": n,
        "dim": dim,
        "blobs": blobs,
        "bits": bit_blobs,
        "texts": texts,
        "metas": metas,
        "hashes": hashes,
        "ids": ids,
    }


def sqlite_ingest(inputs: dict[str, Any], path: Path, steps: str, *, binary: bool = False) -> None:
    from ogma.store.sqlite.connect import connect

    parts = steps.split("+")
    n, dim = inputs["n"], inputs["dim"]
    conn = connect(str(path))
    vec0 = parts[0] == "vec0"
    if vec0 and binary:
        conn.execute("CREATE TABLE vectors (rowid INTEGER PRIMARY KEY, v BLOB NOT NULL)")
        conn.execute(f"CREATE VIRTUAL TABLE vec USING vec0(embedding bit[{dim}])")
    elif vec0:
        conn.execute(f"CREATE VIRTUAL TABLE vec USING vec0(embedding float[{dim}] distance_metric=cosine)")
    else:
        conn.execute("CREATE TABLE vectors (rowid INTEGER PRIMARY KEY, v BLOB NOT NULL)")
    if "documents" in parts:
        conn.execute(
            "CREATE TABLE documents (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, text TEXT, "
            "metadata TEXT NOT NULL DEFAULT '{}', content_hash BLOB)"
        )
    if "fts5" in parts:
        conn.execute(
            "CREATE VIRTUAL TABLE fts USING fts5(text, content='documents', content_rowid='rowid', "
            "tokenize='porter unicode61 remove_diacritics 2')"
        )
    if "facets" in parts:
        conn.execute(
            "CREATE TABLE facets (doc INTEGER NOT NULL, field TEXT NOT NULL, kind INTEGER NOT NULL, value, "
            "PRIMARY KEY (doc, field)) WITHOUT ROWID"
        )
        conn.execute("CREATE INDEX facets_value ON facets (field, kind, value)")
    kind = (
        "CASE j.type WHEN 'integer' THEN 1 WHEN 'real' THEN 1 WHEN 'text' THEN 2 WHEN 'true' THEN 3 "
        "WHEN 'false' THEN 3 WHEN 'null' THEN 0 WHEN 'array' THEN 4 ELSE 5 END"
    )
    for start in range(0, n, BATCH):
        stop = min(n, start + BATCH)
        rowids = range(start + 1, stop + 1)
        with conn.transaction():
            if vec0 and binary:
                conn.executemany(
                    "INSERT INTO vectors (rowid, v) VALUES (?, ?)", zip(rowids, inputs["blobs"][start:stop])
                )
                conn.executemany(
                    "INSERT INTO vec (rowid, embedding) VALUES (?, vec_bit(?))", zip(rowids, inputs["bits"][start:stop])
                )
            elif vec0:
                conn.executemany(
                    "INSERT INTO vec (rowid, embedding) VALUES (?, ?)", zip(rowids, inputs["blobs"][start:stop])
                )
            else:
                conn.executemany(
                    "INSERT INTO vectors (rowid, v) VALUES (?, ?)", zip(rowids, inputs["blobs"][start:stop])
                )
            if "documents" in parts:
                conn.executemany(
                    "INSERT INTO documents (rowid, id, text, metadata, content_hash) VALUES (?, ?, ?, ?, ?)",
                    zip(
                        rowids,
                        inputs["ids"][start:stop],
                        inputs["texts"][start:stop],
                        inputs["metas"][start:stop],
                        inputs["hashes"][start:stop],
                    ),
                )
            if "fts5" in parts:
                conn.executemany(
                    "INSERT INTO fts (rowid, text) VALUES (?, ?)", zip(rowids, inputs["texts"][start:stop])
                )
            if "facets" in parts:
                conn.execute(
                    f"INSERT OR IGNORE INTO facets (doc, field, kind, value) SELECT d.rowid, j.key, {kind}, j.atom "
                    "FROM documents AS d, json_each(d.metadata) AS j WHERE d.rowid BETWEEN ? AND ? "
                    "AND json_type(d.metadata) = 'object'",
                    (start + 1, stop),
                )
    conn.close()


def runner(name: str, data: dict[str, np.ndarray], inputs: dict[str, Any] | None) -> Callable[[Path], None]:
    if name == "ogma-float32":
        return lambda d: ogma_ingest(data, d / "ogma.db", "float32")
    if name == "ogma-binary":
        return lambda d: ogma_ingest(data, d / "ogma.db", "binary")
    if name == "lancedb":
        return lambda d: lance_ingest(data, d / "lance")
    if name.endswith("-checkpoint-in-commit"):
        precision = name.removeprefix("ogma-").removesuffix("-checkpoint-in-commit")
        return lambda d: ogma_ingest_checkpoint_in_commit(data, d / "ogma.db", precision)
    if name.endswith("-writer-thread"):
        precision = name.removeprefix("ogma-").removesuffix("-writer-thread")
        return lambda d: ogma_writer_thread_ingest(data, d / "ogma.db", precision)
    if name.startswith("overlap:"):
        return lambda d: overlap_ingest(data, d / "overlap.db", threaded=name == "overlap:thread")
    assert inputs is not None
    kind, steps = name.split(":")
    return lambda d: sqlite_ingest(inputs, d / "bare.db", steps, binary=kind == "sqlite-binary")


def timed_statements() -> tuple[dict[str, float], Callable[[], None]]:
    """Wrap :class:`ogma.store.sqlite.connect.Connection`'s statement methods with per-statement wall timers.

    Returns the totals (CPU seconds of this process by the statement's first 70 characters: steadier than wall
    time on a shared machine) and a function that undoes the wrapping.
    """
    from ogma.store.sqlite.connect import Connection

    totals: dict[str, float] = {}
    saved = {name: getattr(Connection, name) for name in ("execute", "executemany", "fetchall", "fetchone")}

    def wrap(name: str) -> Any:
        original = saved[name]

        def timed(self: Any, sql: str, *args: Any, **kwargs: Any) -> Any:
            start = time.process_time()
            try:
                return original(self, sql, *args, **kwargs)
            finally:
                key = " ".join(sql.split())[:70]
                totals[key] = totals.get(key, 0.0) + time.process_time() - start

        return timed

    for name in saved:
        setattr(Connection, name, wrap(name))

    def undo() -> None:
        for name, original in saved.items():
            setattr(Connection, name, original)

    return totals, undo


def thread_sched() -> tuple[float, float] | None:
    """This thread's seconds on a CPU and waiting in the run queue (Linux ``schedstat``; ``None`` elsewhere)."""
    try:
        run, wait, _ = Path("/proc/thread-self/schedstat").read_text().split()
    except (OSError, ValueError):
        return None
    return int(run) / 1e9, int(wait) / 1e9


def disk_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def cpu_flags() -> list[str]:
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return []
    for line in text.splitlines():
        if line.startswith("flags"):
            have = set(line.split(":", 1)[1].split())
            return [f for f in ("avx2", "avx512f", "avx512bw", "avx512_vnni", "fma") if f in have]
    return []


def parse_size(text: str) -> tuple[int, int]:
    """``"100000x384"`` -> ``(100000, 384)``."""
    parts = text.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"expected N x dim such as 100000x384, got {text!r}")
    return int(parts[0]), int(parts[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=parse_size, default=(100_000, 384), help="N x dim (default 100000x384)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--systems", default=",".join(SYSTEMS))
    parser.add_argument("--profile", help="cProfile one run of this system and print the top functions")
    parser.add_argument("--convoy", action="store_true", help="measure the GIL hand-off of executemany and exit")
    parser.add_argument(
        "--out", type=Path, default=None, help="JSON results (default results/ingest.json; --convoy: none)"
    )
    parser.add_argument("--tmp", type=Path, default=None, help="scratch folder (default: the system's temp dir)")
    args = parser.parse_args(argv)
    if args.convoy:
        rates = [convoy() for _ in range(args.rounds)]
        for key in rates[0]:
            print(
                f"{key}: {statistics.median(r[key] for r in rates):,.2f} (each round: "
                f"{', '.join(f'{r[key]:,.2f}' for r in rates)})"
            )
        load = [round(x, 2) for x in os.getloadavg()]
        print(f"load average after: {load}")
        if args.out is not None:
            report = {"convoy": rates, "load_average_after": load, "cpu_flags": cpu_flags()}
            args.out.write_text(json.dumps(report, indent=2) + "\n")
        return 0
    args.out = args.out or HERE / "results" / "ingest.json"
    n, dim = args.size
    data = make_data(n, dim, 1)
    names = [s for s in args.systems.split(",") if s]
    unknown = [s for s in names if s not in SYSTEMS]
    if unknown:
        parser.error(f"--systems: unknown {unknown}; choose from {', '.join(SYSTEMS)}")
    inputs = roofline_inputs(data) if any(s.startswith("sqlite") for s in [*names, args.profile or ""]) else None
    vector_mb = data["vectors"].nbytes / 1e6
    if args.profile:
        run = runner(args.profile, data, inputs)
        with tempfile.TemporaryDirectory(dir=args.tmp) as scratch:
            totals, undo = timed_statements()
            start, start_cpu = time.perf_counter(), time.process_time()
            run(Path(scratch))
            wall, used = time.perf_counter() - start, time.process_time() - start_cpu
            undo()
        print(
            f"{args.profile}: {n / wall:,.0f} rows/s, {n / used:,.0f} rows per CPU second with statement timers "
            f"({wall:.2f} s wall, {used:.2f} s CPU); share of the CPU time:"
        )
        for key, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:12]:
            print(f"  {100 * seconds / used:5.1f}%  {seconds:6.3f} s  {key}")
        print(f"  {100 * (used - sum(totals.values())) / used:5.1f}%  outside SQLite statements (Python)")
        with tempfile.TemporaryDirectory(dir=args.tmp) as scratch:
            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.enable()
            run(Path(scratch))
            profiler.disable()
            wall = time.perf_counter() - start
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
        print(f"{args.profile}: {n / wall:,.0f} rows/s under cProfile ({wall:.2f} s)")
        print(out.getvalue())
        print(f"load average after: {[round(x, 2) for x in os.getloadavg()]}")
        return 0
    import ogma.store  # noqa: F401  # imports are not ingest: load them before any timer

    errors: dict[str, str] = {}
    if "lancedb" in names:
        try:
            import lancedb  # noqa: F401
            import pyarrow  # noqa: F401
        except ImportError as exc:  # reported, not dropped: pip install -r benchmarks/requirements-peers.txt
            errors["lancedb"] = f"not installed ({exc})"
            names.remove("lancedb")
    times: dict[str, list[float]] = {s: [] for s in names}
    cpu: dict[str, list[float]] = {s: [] for s in names}
    queued: dict[str, list[float]] = {s: [] for s in names}  # the caller's thread runnable, waiting for a CPU
    blocked: dict[str, list[float]] = {s: [] for s in names}  # ... neither running nor runnable (I/O, locks)
    disk: dict[str, int] = {}
    for _ in range(args.rounds):
        for name in names:
            scratch = Path(tempfile.mkdtemp(dir=args.tmp))
            try:
                run = runner(name, data, inputs)
                gc.collect()
                sched = thread_sched()
                start, start_cpu = time.perf_counter(), time.process_time()
                run(scratch)
                times[name].append(time.perf_counter() - start)
                cpu[name].append(time.process_time() - start_cpu)
                after = thread_sched()
                if sched is not None and after is not None:
                    queued[name].append(after[1] - sched[1])
                    blocked[name].append(times[name][-1] - (after[0] - sched[0]) - queued[name][-1])
                disk[name] = disk_bytes(scratch)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
            print(
                f"{name}: {n / times[name][-1]:,.0f} rows/s, {n / cpu[name][-1]:,.0f} rows per CPU second",
                file=sys.stderr,
                flush=True,
            )
    load = os.getloadavg()
    rows = []
    for name in names:
        median = statistics.median(times[name])
        rows.append(
            {
                "system": name,
                "rows_per_s": n / median,
                "vector_mb_per_s": vector_mb / median,
                "seconds": median,
                "each_round": [n / t for t in times[name]],
                "rows_per_cpu_s": n / statistics.median(cpu[name]),
                "cpu_per_wall": statistics.median(c / t for c, t in zip(cpu[name], times[name])),
                # wall time less the caller's run-queue wait: about the wall time of an idle machine
                "rows_per_s_unqueued": n / statistics.median(t - q for t, q in zip(times[name], queued[name]))
                if queued[name]
                else None,
                "caller_blocked_s": statistics.median(blocked[name]) if blocked[name] else None,
                "disk_mb": disk[name] / 1e6,
            }
        )
    result = {
        "n": n,
        "dim": dim,
        "batch": BATCH,
        "rounds": args.rounds,
        "load_average_after": [round(x, 2) for x in load],
        "cpu_flags": cpu_flags(),
        "python": platform.python_version(),
        "rows": rows,
    }
    rows.extend({"system": name, "error": error} for name, error in errors.items())
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(
        f"\n{n:,} x {dim}, batches of {BATCH:,}, {args.rounds} round(s), "
        f"load average after {result['load_average_after']}"
    )
    print(
        "| system | rows/s (median) | vector MB/s | rows per CPU s | CPU s / wall s | rows/s less run-queue wait "
        "| caller blocked s | each round | on disk |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---|---:|")
    for row in rows:
        if "error" in row:
            print(f"| {row['system']} | {row['error']} | | | | | | | |")
            continue
        each = ", ".join(f"{x:,.0f}" for x in row["each_round"])
        unqueued = "-" if row["rows_per_s_unqueued"] is None else f"{row['rows_per_s_unqueued']:,.0f}"
        blocked = "-" if row["caller_blocked_s"] is None else f"{row['caller_blocked_s']:.2f}"
        print(
            f"| {row['system']} | {row['rows_per_s']:,.0f} | {row['vector_mb_per_s']:,.1f} | "
            f"{row['rows_per_cpu_s']:,.0f} | {row['cpu_per_wall']:.2f} | {unqueued} | {blocked} | {each} | "
            f"{row['disk_mb']:,.0f} MB |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
