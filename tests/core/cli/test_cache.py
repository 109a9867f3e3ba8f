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


@pytest.fixture
def eval_entry(two_models: tuple[Path, Path]) -> Path:
    """One cached evaluation entry (model-a's corpus embeddings) beside the two converted models."""
    import numpy as np

    from ogma.evaluate.cache import EmbeddingCache, corpus_fingerprint

    cache = EmbeddingCache()
    key = cache.key(corpus_fingerprint(["d1", "d2"], ["x", "y"]), "model-a-fingerprint")
    info = {"model": str(two_models[0].resolve()), "dataset": "tiny-beir", "documents": 2}
    return cache.save(key, np.ones((2, 8), dtype=np.float32), info=info)


def test_list_shows_the_eval_embeddings(eval_entry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert eval_entry.parent.name == "eval-embeddings"
    assert main(["cache", "list"]) == 0
    out = capsys.readouterr().out
    assert "3 entries" in out and "eval-embeddings" in out and "tiny-beir, 2 documents, 8 dims" in out
    assert eval_entry.stem[:16] in out
    main(["cache", "list", "--json"])
    rows = json.loads(capsys.readouterr().out)["entries"]
    [row] = [r for r in rows if r["kind"] == "eval-embeddings"]
    size = eval_entry.stat().st_size + eval_entry.with_suffix(".json").stat().st_size
    assert row["path"] == str(eval_entry) and row["size_bytes"] == size and row["sources"] == ["tiny-beir"]


def test_a_loaded_eval_entry_counts_as_used(eval_entry: Path) -> None:
    import os

    from ogma.disk_cache import list_entries
    from ogma.evaluate.cache import EmbeddingCache

    for file in (eval_entry, eval_entry.with_suffix(".json")):
        os.utime(file, (1_000_000, 1_000_000))
    [before] = [e for e in list_entries() if e.kind == "eval-embeddings"]
    assert before.last_used == 1_000_000
    assert EmbeddingCache().load(eval_entry.stem, rows=2) is not None
    [after] = [e for e in list_entries() if e.kind == "eval-embeddings"]
    assert after.last_used > 1_000_000


def test_clear_one_model_takes_its_eval_embeddings_too(
    two_models: tuple[Path, Path], eval_entry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = two_models
    assert main(["cache", "clear", "--model", str(b), "--yes"]) == 0  # the other model: its folder only
    assert "Deleted 1 entry" in capsys.readouterr().out and eval_entry.is_file()
    assert main(["cache", "clear", "--model", str(a), "--yes"]) == 0
    assert "Deleted 2 entries" in capsys.readouterr().out
    assert not eval_entry.exists() and not eval_entry.with_suffix(".json").exists()
    assert main(["cache", "list"]) == 0
    assert "(empty)" in capsys.readouterr().out


def test_clear_an_eval_entry_by_the_key_shown(eval_entry: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "clear", "--model", eval_entry.stem[:16], "--yes"]) == 0
    assert "Deleted 1 entry" in capsys.readouterr().out and not eval_entry.exists()


def test_clear_all_includes_eval_embeddings_and_skips_saves_in_progress(
    eval_entry: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partial = eval_entry.with_name(f"{eval_entry.stem}.123.tmp.npy")
    partial.write_bytes(b"half a save")
    assert main(["cache", "clear", "--yes"]) == 0
    assert "Deleted 3 entries" in capsys.readouterr().out
    assert not eval_entry.exists() and partial.exists()  # another process's save is not ours to delete
