"""Every command that takes ``--db`` (or ``DB``) takes any store URI: search, info and index on Milvus Lite."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import main
from ogma.store.uri import open_store
from tests.helpers.milvus_lite import new_collection, requires_milvus_lite

pytestmark = requires_milvus_lite


def _notes(folder: Path) -> Path:
    folder.mkdir()
    (folder / "sqlite.md").write_text("SQLite keeps the whole store in one file on disk.", encoding="utf-8")
    (folder / "milvus.txt").write_text("Milvus serves vectors from a server or an embedded file.", encoding="utf-8")
    return folder


@pytest.fixture
def migrated(tmp_path: Path, milvus_lite_db: Path, fake_encoder: Any) -> str:
    """A store indexed into SQLite, then moved to Milvus Lite with ``ogma migrate`` (the reported path)."""
    db = tmp_path / "notes.db"
    assert main(["index", str(_notes(tmp_path / "notes")), "--db", str(db), "-q"]) == 0
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    assert main(["migrate", str(db), uri, "-q"]) == 0
    return uri


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_search_a_migrated_milvus_store(migrated: str, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["search", "embedded vectors server", "--db", migrated, "--mode", mode, "--json", "-k", "1"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [Path(h["metadata"]["source"]).name for h in hits] == ["milvus.txt"]


def test_info_on_a_migrated_milvus_store(migrated: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["info", migrated, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["backend"] == "milvus-lite" and info["path"] == migrated
    assert info["documents"] == 2 and info["without_vector"] == 0 and info["without_text"] == 0
    assert info["model"] == "test/fake-encoder" and info["dim"] == 32 and info["sources"] == 2
    assert info["size_bytes"] is None and info["modified"] is None
    assert main(["info", migrated]) == 0
    out = capsys.readouterr().out
    assert "documents:      2" in out and "model:          test/fake-encoder" in out and "last written" not in out


def test_index_into_milvus_lite_and_re_run(
    tmp_path: Path, milvus_lite_db: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = _notes(tmp_path / "notes")
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    assert main(["index", str(folder), "--db", uri]) == 0
    assert "indexed 2 file(s) into 2 chunk(s)" in capsys.readouterr().out
    (folder / "milvus.txt").write_text("Milvus Lite runs inside the process.", encoding="utf-8")
    (folder / "sqlite.md").unlink()
    assert main(["index", str(folder), "--db", uri]) == 0
    out = capsys.readouterr().out
    assert "indexed 1 file(s)" in out and "1 deleted" in out and "1 old chunk(s) removed" in out  # the deleted file's
    with open_store(uri) as store:
        docs = list(store.iter_documents())
    assert [d.text for d in docs] == ["Milvus Lite runs inside the process."]
    assert main(["index", str(folder), "--db", uri]) == 0
    assert "indexed 0 file(s) into 0 chunk(s), 1 unchanged" in capsys.readouterr().out
    assert main(["search", "inside the process", "--db", uri, "--mode", "lexical", "--json"]) == 0
    assert len(json.loads(capsys.readouterr().out)) == 1


def test_index_into_milvus_refuses_int8(
    tmp_path: Path, milvus_lite_db: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    assert main(["index", str(_notes(tmp_path / "notes")), "--db", uri, "--precision", "int8"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--precision int8: Milvus has no int8 vectors" in err
    assert fake_encoder.loaded == []


def test_missing_milvus_store_is_named_and_not_created(
    tmp_path: Path, milvus_lite_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    absent_file = f"milvus-lite://{tmp_path}/absent.db?collection=notes"
    absent_collection = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    for argv in (
        ["search", "q", "--db", absent_file],
        ["info", absent_file],
        ["search", "q", "--db", absent_collection],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "no store at" in err and "ogma index PATH... --db" in err, err
        assert "writable" not in err
    assert main(["info", absent_collection]) == 2
    assert "has no collection" in capsys.readouterr().err
    assert not (tmp_path / "absent.db").exists()
