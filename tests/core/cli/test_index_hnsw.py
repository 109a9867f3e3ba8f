"""``ogma index --hnsw`` builds a store's approximate index; ``ogma info`` shows it and whether it is stale."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("usearch")

from ogma.cli import main
from ogma.store import Store
from ogma.store.sqlite import hnsw

N = 300


def _store(db: Path) -> None:
    vectors = np.random.default_rng(3).standard_normal((N, 8)).astype(np.float32)
    with Store(db, dim=8) as store:
        store.add([f"t{i}" for i in range(N)], ids=[str(i) for i in range(N)], embeddings=vectors)


def _ogma(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "ogma.cli", *args], capture_output=True, text=True, env=env, timeout=300
    )


def test_build_and_info_in_fresh_processes(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    _store(db)
    before = _ogma("info", str(db))
    assert before.returncode == 0 and "exact search (no approximate index)" in before.stdout
    built = _ogma("index", "--hnsw", "--db", str(db))
    assert built.returncode == 0, built.stderr
    assert f"built the HNSW index of {N} vector(s)" in built.stdout and f"{db}.hnsw" in built.stdout
    info = _ogma("info", str(db), "--json")
    assert info.returncode == 0, info.stderr
    index = json.loads(info.stdout)["index"]
    assert index["kind"] == "hnsw" and index["fresh"] and index["vectors"] == N and index["size_bytes"] > 0
    assert index["settings"]["dtype"] == hnsw.FLOAT_GRAPH_DTYPE  # a float32 store's graph, the default type
    shown = _ogma("info", str(db))
    assert f"index:          hnsw ({hnsw.FLOAT_GRAPH_DTYPE} graph), {N} vectors" in shown.stdout, shown.stdout
    with Store(db) as other:  # a write the saved index does not hold
        other.delete(["0"])
    stale = _ogma("info", str(db))
    assert stale.returncode == 0 and "STALE" in stale.stdout and "ogma index --hnsw --db" in stale.stdout
    rebuilt = _ogma("index", "--hnsw", "--db", str(db), "-q")
    assert rebuilt.returncode == 0 and rebuilt.stdout == ""
    assert json.loads(_ogma("info", str(db), "--json").stdout)["index"]["vectors"] == N - 1


def test_mistakes_exit_2_with_one_line(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    _store(db)
    no_paths = _ogma("index", "--db", str(db))
    assert no_paths.returncode == 2 and "--hnsw" in no_paths.stderr and len(no_paths.stderr.splitlines()) == 1
    missing = _ogma("index", "--hnsw", "--db", str(tmp_path / "none.ogma"))
    assert missing.returncode == 2 and "no store there" in missing.stderr
    assert not (tmp_path / "none.ogma").exists()
    milvus = _ogma("index", "--hnsw", "--db", "milvus://localhost:1/notes")
    assert milvus.returncode == 2 and "only SQLite stores" in milvus.stderr
    empty = tmp_path / "empty.ogma"
    Store(empty).close()
    nothing = _ogma("index", "--hnsw", "--db", str(empty))
    assert nothing.returncode == 2 and "no vectors yet" in nothing.stderr


def test_index_with_hnsw_keeps_the_index_current(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    for i in range(5):
        (folder / f"n{i}.txt").write_text(f"note number {i} about topic {i % 2}", encoding="utf-8")
    db = tmp_path / "s.ogma"
    assert main(["index", str(folder), "--db", str(db), "--hnsw", "-q"]) == 0
    with Store(db) as store:
        info = store.index_info()
        assert info is not None and info.fresh and info.vectors == store.count_vectors() == 5
    (folder / "n5.txt").write_text("a sixth note", encoding="utf-8")
    (folder / "n0.txt").unlink()
    capsys.readouterr()
    assert main(["index", str(folder), "--db", str(db), "--hnsw"]) == 0
    assert "built the HNSW index" not in capsys.readouterr().out  # the index followed the writes: no rebuild
    with Store(db) as store:
        info = store.index_info()
        assert info is not None and info.fresh and info.vectors == store.count_vectors() == 5
