"""``ogma migrate``: SQLite to SQLite end to end, and one-line errors with exit status 2."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ogma.cli import main
from ogma.store import Store
from ogma.store.migrate import source_config
from ogma.store.uri import open_store
from tests.helpers.milvus_lite import new_collection, requires_milvus_lite


def _source(path: Path, n: int = 30) -> None:
    vectors = np.random.default_rng(0).normal(size=(n, 8)).astype(np.float32)
    with Store(path, dim=8, precision="binary") as store:
        store.add(
            [f"text {i}" for i in range(n)],
            [{"i": i} for i in range(n)],
            [f"d{i}" for i in range(n)],
            embeddings=vectors,
        )


def test_migrate_sqlite_to_sqlite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _source(tmp_path / "a.db")
    assert main(["migrate", str(tmp_path / "a.db"), f"sqlite://{tmp_path}/b.db", "--batch-size", "7"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"migrated 30 documents from {tmp_path / 'a.db'} to sqlite://{tmp_path}/b.db (30 documents")
    with Store(tmp_path / "a.db") as a, Store(tmp_path / "b.db") as b:
        assert b.precision == "binary" and b.dim == 8
        q = np.random.default_rng(1).normal(size=8).astype(np.float32)
        assert [h.id for h in b.search(vector=q, k=5)] == [h.id for h in a.search(vector=q, k=5)]
    # Non-empty destination: refused, then resumed, then replaced.
    assert main(["migrate", str(tmp_path / "a.db"), str(tmp_path / "b.db")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ogma migrate: error: DST " in err and "already holds 30 document(s)" in err
    assert "--resume" in err and "--replace" in err and "on_conflict" not in err  # the CLI's flags, not Python's
    assert main(["migrate", str(tmp_path / "a.db"), str(tmp_path / "b.db"), "--resume", "-q"]) == 0
    assert main(["migrate", str(tmp_path / "a.db"), str(tmp_path / "b.db"), "--replace", "-q"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.db", "b.db"], "SRC 'missing.db' does not exist"),
        ([":memory:", "b.db"], "SRC ':memory:' is a new, empty store"),
        (["a.db", "a.db"], "SRC and DST name the same store"),
        (["a.db", "./sub/../a.db"], "SRC and DST are the same file"),
        (["a.db", "sqlite://a.db"], "SRC and DST name the same store"),
        (["a.db", "milvus-lite://a.db?collection=c"], "SRC and DST are the same file"),
        (["a.db", "redis://h/x"], "unknown scheme 'redis'"),
        (["a.db", "milvus://h:19530/"], "names no collection"),
        (["a.db", "b.db", "--batch-size", "0"], "--batch-size must be a positive integer"),
        (["a.db", "b.db", "--resume", "--replace"], "not allowed with argument"),
    ],
)
def test_errors_are_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    _source(tmp_path / "a.db", n=3)
    before = sorted(tmp_path.iterdir()), (tmp_path / "a.db").read_bytes()
    assert main(["migrate", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err
    assert (sorted(tmp_path.iterdir()), (tmp_path / "a.db").read_bytes()) == before  # nothing written


@requires_milvus_lite
def test_a_milvus_lite_uri_onto_a_sqlite_store_is_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _source(tmp_path / "twin.db", n=3)
    (tmp_path / "other.db").write_bytes((tmp_path / "twin.db").read_bytes())
    before = (tmp_path / "other.db").read_bytes()
    assert main(["migrate", str(tmp_path / "twin.db"), f"milvus-lite://{tmp_path}/other.db?collection=c"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a Milvus Lite database: it is an Ogma SQLite store" in err, err
    assert (tmp_path / "other.db").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if "other" in p.name) == ["other.db"]  # no Milvus Lite files


def test_destination_of_another_dimension(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _source(tmp_path / "a.db", n=3)
    with Store(tmp_path / "b.db", dim=4) as b:
        b.add(["x"], embeddings=np.ones((1, 4), dtype=np.float32))
    assert main(["migrate", str(tmp_path / "a.db"), str(tmp_path / "b.db"), "--resume"]) == 2
    assert "ogma migrate: error:" in capsys.readouterr().err


@requires_milvus_lite
def test_migrate_to_milvus_lite(tmp_path: Path, milvus_lite_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _source(tmp_path / "a.db")
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    assert main(["migrate", str(tmp_path / "a.db"), uri, "-q"]) == 0
    with Store(tmp_path / "a.db") as a, open_store(uri) as m:
        assert m.count() == 30 and source_config(m) == source_config(a)
        q = np.random.default_rng(1).normal(size=8).astype(np.float32)
        assert [h.id for h in m.search(vector=q, k=5)] == [h.id for h in a.search(vector=q, k=5)]
    # back to a new SQLite file
    assert main(["migrate", uri, str(tmp_path / "back.db"), "-q"]) == 0
    with Store(tmp_path / "back.db") as back:
        assert back.count() == 30 and back.precision == "binary"
    # an int8 store needs a precision Milvus has
    with Store(tmp_path / "i8.db", dim=8, precision="int8") as i8:
        i8.add(["x"], embeddings=np.ones((1, 8), dtype=np.float32))
    other = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    capsys.readouterr()
    assert main(["migrate", str(tmp_path / "i8.db"), other]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "int8, which Milvus 2.5 does not have; pass --precision binary" in err
    assert main(["migrate", str(tmp_path / "i8.db"), other, "--precision", "binary", "-q"]) == 0


@requires_milvus_lite
def test_migrate_with_insert_new_ids(tmp_path: Path, milvus_lite_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _source(tmp_path / "a.db")
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    assert main(["migrate", str(tmp_path / "a.db"), uri, "--insert-new-ids", "-q"]) == 0
    assert main(["migrate", str(tmp_path / "a.db"), uri, "--insert-new-ids", "--replace", "-q"]) == 0
    with Store(tmp_path / "a.db") as a, open_store(uri) as m:
        assert m.count() == 30  # the second run replaced every id (upsert), it added none
        assert [d.id for d in m.iter_documents()] == [d.id for d in a.iter_documents()]
    capsys.readouterr()
    assert main(["migrate", uri, str(tmp_path / "b.db"), "--insert-new-ids"]) == 2
    assert "--insert-new-ids is for Milvus stores" in capsys.readouterr().err
    assert not (tmp_path / "b.db").exists()


def test_resume_and_replace_report_what_was_copied(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _source(tmp_path / "a.db")
    a, b = str(tmp_path / "a.db"), str(tmp_path / "b.db")
    assert main(["migrate", a, b, "-q"]) == 0
    assert main(["migrate", a, b, "--resume"]) == 0  # a complete copy: nothing to copy
    out = capsys.readouterr().out
    assert out.startswith(f"migrated 0 documents from {a} to {b}; 30 were already there and kept (30 documents")
    with Store(b) as store:
        store.delete([f"d{i}" for i in range(10)])
    assert main(["migrate", a, b, "--resume"]) == 0  # an interrupted copy: the missing ten
    assert capsys.readouterr().out.startswith(f"migrated 10 documents from {a} to {b}; 20 were already there")
    with Store(b) as store:
        store.delete(["d0"])
    assert main(["migrate", a, b, "--replace"]) == 0
    assert capsys.readouterr().out.startswith(f"migrated 30 documents from {a} to {b} (1 new, 29 replaced) (30 ")
