from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ogma.errors import SqliteDriverError, StoreError
from ogma.store.sqlite import connect as connect_module
from ogma.store.sqlite.connect import connect, driver_info, resolve_driver

STDLIB_OK = connect_module._stdlib_usable()[0]


@pytest.mark.parametrize(
    "driver",
    [
        "apsw",
        pytest.param(
            "sqlite3", marks=pytest.mark.skipif(not STDLIB_OK, reason="this Python's sqlite3 cannot load extensions")
        ),
    ],
)
def test_driver_loads_sqlite_vec_with_fts5_and_json(driver: str, tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", driver=driver)  # type: ignore[arg-type]
    try:
        assert conn.driver == driver
        assert conn.scalar("SELECT vec_version()").startswith("v")
        conn.execute("CREATE VIRTUAL TABLE f USING fts5(x)")
        assert conn.scalar("SELECT json_extract('{\"a\": 2}', '$.a')") == 2
        assert conn.scalar("PRAGMA journal_mode") == "wal"
        assert conn.scalar("PRAGMA synchronous") == 1  # NORMAL
        assert conn.scalar("PRAGMA foreign_keys") == 1
        assert conn.scalar("PRAGMA busy_timeout") == 5000
    finally:
        conn.close()


def test_busy_timeout_is_configurable(tmp_path: Path) -> None:
    conn = connect(tmp_path / "a.db", busy_timeout=0.25)
    assert conn.scalar("PRAGMA busy_timeout") == 250
    conn.close()
    with pytest.raises(ValueError, match="busy_timeout"):
        connect(tmp_path / "a.db", busy_timeout=-1)


def test_transaction_commits_and_rolls_back() -> None:
    conn = connect(":memory:")
    conn.execute("CREATE TABLE t (x)")
    with conn.transaction():
        conn.execute("INSERT INTO t VALUES (1)")
        with conn.transaction():  # nested joins the outer one
            conn.execute("INSERT INTO t VALUES (2)")
    with pytest.raises(RuntimeError), conn.transaction():
        conn.execute("INSERT INTO t VALUES (3)")
        raise RuntimeError("boom")
    assert conn.fetchall("SELECT x FROM t ORDER BY x") == [(1,), (2,)]
    assert not conn.in_transaction
    conn.close()


def test_errors_become_store_errors() -> None:
    conn = connect(":memory:")
    with pytest.raises(StoreError, match="no such table"):
        conn.fetchall("SELECT * FROM missing")
    conn.close()


def test_locked_database_names_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    writer = connect(path, busy_timeout=0)
    writer.execute("CREATE TABLE t (x)")
    other = connect(path, busy_timeout=0)
    with writer.transaction():
        writer.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(StoreError, match="busy_timeout"), other.transaction():
            pass
    writer.close()
    other.close()


def test_read_only_refuses_writes(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    rw = connect(path)
    rw.execute("CREATE TABLE t (x)")
    rw.close()
    ro = connect(path, read_only=True)
    with pytest.raises(StoreError):
        ro.execute("INSERT INTO t VALUES (1)")
    ro.close()


def test_resolve_driver_rejects_unknown_and_unusable(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="driver must be one of"):
        resolve_driver("postgres")  # type: ignore[arg-type]
    monkeypatch.setattr(connect_module, "_stdlib_usable", lambda: (False, "no extension loading"))
    monkeypatch.setattr(connect_module, "_apsw_available", lambda: (False, "apsw is not installed"))
    with pytest.raises(SqliteDriverError, match="pip install apsw"):
        resolve_driver("auto")
    with pytest.raises(SqliteDriverError, match="no extension loading"):
        resolve_driver("sqlite3")


def test_auto_prefers_capable_stdlib(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect_module, "_stdlib_usable", lambda: (True, ""))
    assert resolve_driver("auto") == "sqlite3"
    monkeypatch.setattr(connect_module, "_stdlib_usable", lambda: (False, "old"))
    assert resolve_driver("auto") == "apsw"


def test_driver_info_reports_versions() -> None:
    info = driver_info()
    assert info["driver"] in ("sqlite3", "apsw")
    assert info["fts5"] is True and info["json"] is True
    assert info["sqlite_vec_version"].startswith("v")
    assert info["stdlib_sqlite_version"] == sqlite3.sqlite_version
    assert info["stdlib_can_load_extensions"] == hasattr(sqlite3.Connection, "enable_load_extension")


def test_driver_info_reports_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(connect_module, "_stdlib_usable", lambda: (False, "x"))
    monkeypatch.setattr(connect_module, "_apsw_available", lambda: (False, "y"))
    info = driver_info()
    assert info["driver"] is None and "pip install apsw" in info["error"]


def test_tracer_sees_sql() -> None:
    seen: list[str] = []
    conn = connect(":memory:")
    conn.tracer = lambda sql, params: seen.append(sql)
    conn.fetchall("SELECT 1")
    assert seen == ["SELECT 1"]
    conn.close()


def test_connection_usable_from_another_thread() -> None:
    conn = connect(":memory:")
    out: list[object] = []
    thread = threading.Thread(target=lambda: out.append(conn.scalar("SELECT 7")))
    thread.start()
    thread.join()
    assert out == [7]
    conn.close()


def test_read_only_open_leaves_no_wal_or_shm_files(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    rw = connect(path)
    rw.execute("CREATE TABLE t (x)")
    rw.execute("INSERT INTO t VALUES (1)")
    rw.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]
    assert connect_module.leaves_no_trace(str(path))
    ro = connect(path, read_only=True)
    assert ro.scalar("SELECT count(*) FROM t") == 1
    assert ro.scalar("PRAGMA query_only") == 1
    with pytest.raises(StoreError, match="readonly"):
        ro.execute("INSERT INTO t VALUES (2)")
    ro.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]


def test_read_only_open_beside_a_writer_shares_its_wal(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    rw = connect(path)
    rw.execute("CREATE TABLE t (x)")
    rw.execute("INSERT INTO t VALUES (1)")
    assert not connect_module.leaves_no_trace(str(path))  # the writer's -wal is there: mode=ro
    ro = connect(path, read_only=True)
    assert ro.scalar("SELECT count(*) FROM t") == 1
    ro.close()
    rw.execute("INSERT INTO t VALUES (2)")
    rw.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]


def test_missing_folder_is_named_as_missing_not_unwritable(tmp_path: Path) -> None:
    with pytest.raises(StoreError) as info:
        connect(tmp_path / "no" / "such" / "a.db")
    message = str(info.value)
    assert f"The folder {str(tmp_path / 'no' / 'such')!r} does not exist" in message
    assert "Ogma does not create folders" in message and "not writable" not in message


@pytest.mark.parametrize("last", ["first", "second"])
def test_two_read_only_connections_leave_no_files_whichever_closes_last(tmp_path: Path, last: str) -> None:
    """A read-only store opens one connection per thread: the second sees the first's empty -wal."""
    path = tmp_path / "a.db"
    rw = connect(path)
    rw.execute("CREATE TABLE t (x)")
    rw.close()
    one = connect(path, read_only=True)
    assert one.scalar("SELECT count(*) FROM t") == 0
    assert connect_module.leaves_no_trace(str(path))  # the -wal the first reader made is empty
    two = connect(path, read_only=True)
    assert two.scalar("SELECT count(*) FROM t") == 0
    for conn in (two, one) if last == "first" else (one, two):
        conn.close()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.db"]
