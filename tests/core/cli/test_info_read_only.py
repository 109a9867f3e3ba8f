"""``ogma info`` only reads: no ``-wal``/``-shm`` files are left, and the read is not reported as the last write."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from ogma.cli import main
from ogma.store import Store

REPO = Path(__file__).resolve().parents[3]


def _store(path: Path, n: int = 3) -> None:
    with Store(path, dim=2) as store:
        store.add([f"t{i}" for i in range(n)], ids=[f"d{i}" for i in range(n)], embeddings=np.ones((n, 2)))


def _siblings(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def _info(db: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    capsys.readouterr()
    assert main(["info", str(db), "--json"]) == 0
    info: dict[str, object] = json.loads(capsys.readouterr().out)
    return info


def test_info_leaves_no_wal_files_and_keeps_the_last_write(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.ogma"
    _store(db)
    assert _siblings(db) == ["s.ogma"]  # a closed store is one file
    written = os.stat(db).st_mtime_ns
    old = written - 3_600 * 10**9  # an hour ago: a read now would show as a later time
    os.utime(db, ns=(old, old))
    first = _info(db, capsys)
    assert _siblings(db) == ["s.ogma"]
    assert os.stat(db).st_mtime_ns == old
    second = _info(db, capsys)
    assert first["modified"] == second["modified"] and first["documents"] == second["documents"] == 3
    assert main(["search", "t1", "--db", str(db), "--mode", "lexical", "-q"]) == 0
    assert _siblings(db) == ["s.ogma"] and os.stat(db).st_mtime_ns == old  # search reads the same way


def test_info_reads_the_wal_of_a_crashed_writer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "s.ogma"
    _store(db)
    crash = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from ogma.store import Store
        store = Store({str(db)!r})
        store.add(["late"], ids=["late"], embeddings=np.ones((1, 2)))
        os._exit(0)  # no close: the WAL keeps the commit, not yet in the database file
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run([sys.executable, "-c", crash], check=True, env=env, timeout=120)
    assert (tmp_path / "s.ogma-wal").stat().st_size > 0
    before = {p.name: p.stat().st_size for p in tmp_path.iterdir()}
    info = _info(db, capsys)
    assert info["documents"] == 4  # the commit still in the WAL is read
    assert {p.name: p.stat().st_size for p in tmp_path.iterdir()} == before  # left as it was found
    with Store(db) as store:  # and a writer still recovers it
        assert store.count() == 4
