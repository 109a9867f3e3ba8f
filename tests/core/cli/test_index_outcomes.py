"""What ``ogma index`` says about its outcome: failures under -q, nothing found, a missing folder, Ctrl-C."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import EXIT_INTERRUPTED, main
from ogma.sources import indexer
from ogma.store import Store

REPO = Path(__file__).resolve().parents[3]


def _count(db: Path) -> int:
    with Store(str(db), read_only=True) as store:
        return store.count()


def test_quiet_still_lists_failures_on_stderr(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"id": "ok", "text": "fine"}) + "\n{not json\n", encoding="utf-8")
    db = tmp_path / "s.ogma"
    assert main(["index", str(bad), "--db", str(db), "-q"]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""  # no summary
    assert captured.err.startswith(f"failed: {bad.resolve()}:2: ")  # ... but what failed, always
    assert _count(db) == 1


def test_quiet_success_prints_nothing(tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "a.md").write_text("a note", encoding="utf-8")
    assert main(["index", str(tmp_path / "a.md"), "--db", str(tmp_path / "s.ogma"), "-q"]) == 0
    assert capsys.readouterr() == ("", "")


def test_empty_folder_warns_and_creates_no_store(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "photo.png").write_bytes(b"\x89PNG")
    db = tmp_path / "s.ogma"
    for quiet in ([], ["-q"]):
        assert main(["index", str(empty), "--db", str(db), *quiet]) == 0
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith(f"ogma index: warning: found no files to index in {empty}")
        assert ".md" in err and ".jsonl" in err and "1 file(s) or folder(s) were left out" in err
        assert "no store was created" in err
    assert not db.exists() and fake_encoder.loaded == []  # nothing created, no model loaded
    assert main(["index", str(empty), "--db", str(db), "--include", "*.csv"]) == 0
    assert "looked for files matching '*.csv'" in capsys.readouterr().err


def test_emptied_folder_of_an_existing_store_still_prunes(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.md").write_text("a note", encoding="utf-8")
    db = tmp_path / "s.ogma"
    assert main(["index", str(folder), "--db", str(db), "-q"]) == 0
    (folder / "a.md").unlink()
    assert main(["index", str(folder), "--db", str(db)]) == 0
    captured = capsys.readouterr()
    assert "found no files to index" in captured.err and "no store was created" not in captured.err
    assert "1 deleted" in captured.out and _count(db) == 0


def test_store_in_a_missing_folder_says_it_does_not_exist(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "a.md").write_text("a note", encoding="utf-8")
    db = tmp_path / "missing" / "s.ogma"
    assert main(["index", str(tmp_path / "a.md"), "--db", str(db)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"the folder {tmp_path / 'missing'} does not exist" in err
    assert "Ogma does not create folders" in err and "writable" not in err
    assert not (tmp_path / "missing").exists() and fake_encoder.loaded == []


def _corpus(folder: Path, files: int = 4) -> Path:
    folder.mkdir()
    for i in range(files):
        (folder / f"n{i}.md").write_text(" ".join(f"w{i}x{j}" for j in range(30)), encoding="utf-8")
    return folder


def test_ctrl_c_says_what_was_saved_and_a_re_run_resumes(
    tmp_path: Path, fake_encoder: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _corpus(tmp_path / "notes")
    db = tmp_path / "s.ogma"
    real_write = indexer._write
    calls = {"n": 0}

    def write_then_interrupt(*args: Any, **kwargs: Any) -> int:
        calls["n"] += 1
        if calls["n"] == 4:  # files 1 and 2 are written (2 batches each), then Ctrl-C
            raise KeyboardInterrupt
        return real_write(*args, **kwargs)

    monkeypatch.setattr(indexer, "_write", write_then_interrupt)
    argv = ["index", str(folder), "--db", str(db), "--max-tokens", "20", "--overlap", "0", "--batch-size", "1"]
    assert main(argv) == EXIT_INTERRUPTED
    err = capsys.readouterr().err
    assert "ogma index: interrupted after 1 of 4 file(s) (1 file(s) indexed, 0 unchanged)" in err
    assert f"the 3 chunk(s) written by this run are saved in {db}" in err
    assert "Run the same command again to resume" in err
    assert _count(db) == 3  # what the message says
    monkeypatch.setattr(indexer, "_write", real_write)
    assert main(argv) == 0
    assert "indexed 3 file(s) into 6 chunk(s), 1 unchanged" in capsys.readouterr().out
    assert _count(db) == 8


def test_real_sigint_in_a_subprocess(tmp_path: Path) -> None:
    """A real SIGINT (sent by the process to itself at a known step) ends the run with 130 and the message."""
    folder = _corpus(tmp_path / "notes")
    db = tmp_path / "s.ogma"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        from ogma.sources import indexer
        from tests.helpers.fake_encoder import FakeEncoder
        import ogma.cli.options
        ogma.cli.options.load_encoder = FakeEncoder().load
        real_write, calls = indexer._write, []
        def write(*args, **kwargs):
            calls.append(1)
            if len(calls) == 3:
                os.kill(os.getpid(), signal.SIGINT)
            return real_write(*args, **kwargs)
        indexer._write = write
        from ogma.cli import main
        sys.exit(main(["index", {str(folder)!r}, "--db", {str(db)!r}, "--max-tokens", "20", "--overlap", "0",
                       "--batch-size", "1"]))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert result.returncode == EXIT_INTERRUPTED, result.stderr
    assert "ogma index: interrupted after" in result.stderr and "Run the same command again" in result.stderr
    assert _count(db) >= 2
