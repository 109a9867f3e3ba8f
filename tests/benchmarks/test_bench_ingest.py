"""benchmarks/bench_ingest.py keeps running, and its roofline writes what it says it writes.

lancedb is not needed: the run below leaves it out (a run that asks for it without it installed
reports it as not installed).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ogma import Store
from ogma.store.sqlite.connect import connect
from tests.helpers.benchmark_scripts import load_benchmark

bench = load_benchmark("bench_ingest")


def test_roofline_writes_every_table(tmp_path: Path) -> None:
    data = bench.make_data(300, 8, 1, seed=1)
    inputs = bench.roofline_inputs(data)
    path = tmp_path / "bare.db"
    bench.sqlite_ingest(inputs, path, "vec0+documents+fts5+facets")
    conn = connect(str(path))
    try:
        assert conn.scalar("SELECT count(*) FROM vec") == 300
        assert conn.scalar("SELECT count(*) FROM documents") == 300
        assert conn.scalar("SELECT count(*) FROM fts WHERE fts MATCH 'document'") == 300
        assert conn.scalar("SELECT count(*) FROM facets") == 900  # b10, b1000, u per row
        assert conn.scalar("SELECT value FROM facets WHERE doc = 5 AND field = 'b10'") == int(data["b10"][4])
    finally:
        conn.close()
    binary = tmp_path / "binary.db"
    bench.sqlite_ingest(inputs, binary, "vec0+documents+fts5+facets", binary=True)
    conn = connect(str(binary))
    try:
        assert conn.scalar("SELECT count(*) FROM vectors") == conn.scalar("SELECT count(*) FROM vec") == 300
    finally:
        conn.close()


def test_ogma_and_roofline_run_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "ingest.json"
    systems = (
        "ogma-float32,ogma-binary,sqlite:blob,sqlite:vec0+documents+fts5+facets,"
        "ogma-float32-writer-thread,ogma-binary-writer-thread,overlap:serial,overlap:thread,"
        "ogma-float32-checkpoint-in-commit"
    )
    assert bench.main(["--size", "400x16", "--rounds", "1", "--systems", systems, "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert (report["n"], report["dim"]) == (400, 16)
    rows = {r["system"]: r for r in report["rows"]}
    assert set(rows) == set(systems.split(","))
    for row in rows.values():
        assert row["rows_per_s"] > 0 and row["rows_per_cpu_s"] > 0 and row["disk_mb"] > 0
    bench.ogma_ingest(bench.make_data(50, 16, 1), tmp_path / "o.db", "binary")
    with Store(tmp_path / "o.db") as store:
        assert store.count() == 50 and store.config.precision == "binary"


def test_bad_size_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        bench.main(["--size", "400by16"])
    assert exc.value.code == 2
    assert "--size" in capsys.readouterr().err


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    conn = connect(str(path))
    try:
        return conn.fetchall(sql)
    finally:
        conn.close()


@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_writer_thread_prototype_stores_what_store_add_stores(tmp_path: Path, precision: str) -> None:
    data = bench.make_data(bench.BATCH + 300, 8, 1, seed=2)  # two batches: the writer thread gets two transactions
    bench.ogma_ingest(data, tmp_path / "serial.db", precision)
    bench.ogma_writer_thread_ingest(data, tmp_path / "thread.db", precision)
    for sql in (
        "SELECT rowid, id, text, metadata, content_hash FROM ogma_documents ORDER BY rowid",
        "SELECT rowid, embedding FROM ogma_vec ORDER BY rowid",
        "SELECT doc, field, kind, value FROM ogma_facets ORDER BY doc, field",
        "SELECT rowid FROM ogma_fts WHERE ogma_fts MATCH 'document' ORDER BY rowid",
    ):
        serial = _rows(tmp_path / "serial.db", sql)
        assert serial and _rows(tmp_path / "thread.db", sql) == serial, sql
    with Store(tmp_path / "thread.db") as store:
        assert store.count() == bench.BATCH + 300


def test_writer_thread_prototype_raises_the_writers_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(self: Store, conn: object, rows: object, on_conflict: str = "replace") -> set[str]:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Store, "_write_rows", refuse)
    with pytest.raises(RuntimeError, match="disk full"):
        bench.ogma_writer_thread_ingest(bench.make_data(50, 8, 1), tmp_path / "o.db", "float32")


def test_overlap_writes_the_same_rows_with_and_without_the_thread(tmp_path: Path) -> None:
    data = bench.make_data(bench.BATCH + 300, 8, 1, seed=3)
    bench.overlap_ingest(data, tmp_path / "serial.db", threaded=False)
    bench.overlap_ingest(data, tmp_path / "thread.db", threaded=True)
    vectors = _rows(tmp_path / "serial.db", "SELECT rowid, embedding FROM vec ORDER BY rowid")
    assert len(vectors) == bench.BATCH + 300
    assert vectors[7] == (8, data["vectors"][7].astype("<f4").tobytes())
    for sql in (
        "SELECT rowid, embedding FROM vec ORDER BY rowid",
        "SELECT rowid, id, text, metadata, content_hash FROM documents ORDER BY rowid",
        "SELECT doc, field, kind, value FROM facets ORDER BY doc, field",
        "SELECT rowid FROM fts WHERE fts MATCH 'document' ORDER BY rowid",
    ):
        assert _rows(tmp_path / "thread.db", sql) == _rows(tmp_path / "serial.db", sql), sql


def test_convoy_reports_both_rates() -> None:
    rates = bench.convoy(rows=2000)
    assert set(rates) == {
        "rows_per_s_alone",
        "rows_per_s_with_python",
        "json_per_s_alone",
        "json_per_s_with_writer",
        "combined_speed",
        "control_hash_speed_up",
    }
    assert all(rate > 0 for rate in rates.values())
