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
    systems = "ogma-float32,ogma-binary,sqlite:blob,sqlite:vec0+documents+fts5+facets"
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
