"""``ogma cache list|clear``."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from ogma.cli import main
from ogma.hub import resolve_model
from tests.core.convert.conftest import TinyConfig, write_checkpoint


@pytest.fixture
def two_models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    monkeypatch.setenv("OGMA_HOME", str(tmp_path / "home"))
    a = write_checkpoint(tmp_path / "model-a", TinyConfig(), seed=0).folder
    b = write_checkpoint(tmp_path / "model-b", TinyConfig(), seed=1).folder
    resolve_model(a)
    resolve_model(b)
    return a, b


def test_list(two_models: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert "OGMA_HOME" in out and "2 entries" in out and str(two_models[0].resolve()) in out
    assert main(["cache", "list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {e["kind"] for e in data["entries"]} == {"converted"}
    assert all(e["size_bytes"] > 0 and e["last_used"] > 0 for e in data["entries"])


def test_clear_one_model_then_all(two_models: tuple[Path, Path], capsys: pytest.CaptureFixture[str]) -> None:
    a, _ = two_models
    assert main(["cache", "clear", "--model", str(a), "--yes"]) == 0
    assert "Deleted 1 entry" in capsys.readouterr().out
    main(["cache", "list", "--json"])
    remaining = json.loads(capsys.readouterr().out)["entries"]
    assert len(remaining) == 1 and str(a.resolve()) not in remaining[0]["sources"]
    assert main(["cache", "clear", "--yes"]) == 0
    assert main(["cache", "clear", "--yes"]) == 0
    assert "already empty" in capsys.readouterr().out


def test_clear_unknown_model_is_a_one_line_error(
    two_models: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["cache", "clear", "--model", "someone/else", "--yes"]) == 2
    err = capsys.readouterr().err
    assert "no cache entry for model 'someone/else'" in err and "Traceback" not in err


def test_clear_without_yes_needs_a_terminal(
    two_models: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["cache", "clear"]) == 2
    assert "pass --yes" in capsys.readouterr().err
    main(["cache", "list", "--json"])
    assert len(json.loads(capsys.readouterr().out)["entries"]) == 2  # nothing was deleted


def test_clear_asks_on_a_terminal(
    two_models: tuple[Path, Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty("n\n"))
    assert main(["cache", "clear"]) == 1
    assert "Nothing deleted" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", Tty("y\n"))
    assert main(["cache", "clear"]) == 0
    assert "Deleted 2 entries" in capsys.readouterr().out
