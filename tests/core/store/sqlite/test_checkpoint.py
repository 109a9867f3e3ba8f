"""Bulk writes' WAL checkpoints on a thread of their own (ogma.store.sqlite.checkpoint)."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.errors import StoreError
from ogma.store import Store
from ogma.store.sqlite import checkpoint, writes
from ogma.store.sqlite import connect as connect_module
from ogma.store.sqlite.connect import Connection, connect

DIM = 64
ROWS = 2500  # 2,500 x 64 float32 = 640 KB of vectors a batch, plus texts and metadata


def _batches(count: int, *, first: int = 0) -> list[tuple[list[str], list[dict[str, Any]], list[str], np.ndarray]]:
    rng = np.random.default_rng(first)
    out = []
    for start in range(first, first + count * ROWS, ROWS):
        ids = [str(i) for i in range(start, start + ROWS)]
        texts = [f"document {i} about topic {i % 7}" for i in range(start, start + ROWS)]
        metas = [{"b10": i % 10, "u": float(i) / 3} for i in range(start, start + ROWS)]
        out.append((texts, metas, ids, rng.standard_normal((ROWS, DIM)).astype(np.float32)))
    return out


def _load(path: Path | str, batches: list[Any], **options: Any) -> Store:
    store = Store(path, dim=DIM, show_progress=False, **options)
    for texts, metas, ids, vectors in batches:
        store.add(texts, metadatas=metas, ids=ids, embeddings=vectors)
    return store


def test_bulk_writes_are_checkpointed_on_their_own_thread(tmp_path: Path) -> None:
    seen: list[tuple[str, str]] = []

    def tracer(sql: str, params: Any) -> None:
        seen.append((threading.current_thread().name, sql))

    store = _load(tmp_path / "s.db", _batches(3), tracer=tracer)
    try:
        store._checkpoints.wait()
        assert store._checkpoints.done >= 1
        threads = {name for name, sql in seen if "wal_checkpoint" in sql}
        assert threads == {"ogma-checkpoint"}
        assert store.count() == 3 * ROWS
    finally:
        store.close()
    assert store._checkpoints._thread is None  # close() stopped it
    store.close()  # idempotent


def test_the_thread_ends_when_idle_and_comes_back_on_the_next_bulk_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(checkpoint, "IDLE_SECONDS", 0.05)
    store = _load(tmp_path / "s.db", _batches(2))
    try:
        store._checkpoints.wait()
        first = store._checkpoints.done
        thread = store._checkpoints._thread
        if thread is not None:
            thread.join()
        assert store._checkpoints._thread is None and first >= 1
        for texts, metas, ids, vectors in _batches(2, first=2 * ROWS):  # two batches: past BULK_BYTES again
            store.add(texts, metadatas=metas, ids=ids, embeddings=vectors)
        store._checkpoints.wait()
        assert store._checkpoints.done > first
        assert store.count() == 4 * ROWS
    finally:
        store.close()


def test_small_writes_leave_the_wal_to_sqlite(tmp_path: Path) -> None:
    with Store(tmp_path / "s.db", dim=2, show_progress=False) as store:
        store.add(["a", "b"], ids=["a", "b"], embeddings=np.eye(2))
        assert store._checkpoints._thread is None and store._checkpoints.done == 0


def test_an_in_memory_store_starts_no_thread() -> None:
    with _load(":memory:", _batches(1)) as store:
        assert store._checkpoints._thread is None and store.count() == ROWS


def _as_before(monkeypatch: pytest.MonkeyPatch) -> None:
    """The store without background checkpoints: SQLite's default automatic checkpoint in the commits."""
    monkeypatch.setattr(checkpoint, "BULK_BYTES", 1 << 62)
    monkeypatch.setattr(connect_module, "WAL_AUTOCHECKPOINT_PAGES", 1000)


def _contents(path: Path) -> list[list[tuple[Any, ...]]]:
    conn = connect(str(path))
    try:
        return [
            conn.fetchall(sql)
            for sql in (
                "SELECT rowid, id, text, metadata, content_hash FROM ogma_documents ORDER BY rowid",
                "SELECT rowid, embedding FROM ogma_vec ORDER BY rowid",
                "SELECT doc, field, kind, value FROM ogma_facets ORDER BY doc, field",
                "SELECT rowid FROM ogma_fts WHERE ogma_fts MATCH 'topic' ORDER BY rowid",
                "SELECT key, value FROM ogma_config WHERE key != 'created_at' ORDER BY key",
            )
        ]
    finally:
        conn.close()


def test_the_stored_content_is_the_same_without_background_checkpoints(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    batches = _batches(4)
    _load(tmp_path / "background.db", batches).close()
    with monkeypatch.context() as patch:
        _as_before(patch)
        _load(tmp_path / "before.db", batches).close()
    background, before = _contents(tmp_path / "background.db"), _contents(tmp_path / "before.db")
    assert all(background) and background == before
    for name in ("background.db", "before.db"):
        conn = connect(str(tmp_path / name))
        try:
            assert conn.scalar("PRAGMA integrity_check") == "ok"
        finally:
            conn.close()


def test_a_failing_checkpoint_is_logged_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    fetchone = Connection.fetchone

    def failing(self: Connection, sql: str, params: Any = ()) -> Any:
        if "wal_checkpoint" in sql:
            raise StoreError("disk I/O error")
        return fetchone(self, sql, params)

    monkeypatch.setattr(Connection, "fetchone", failing)
    with caplog.at_level(logging.WARNING, logger="ogma.store.sqlite.checkpoint"):
        store = _load(tmp_path / "s.db", _batches(3))
        store._checkpoints.wait()
        store.close()
    assert "background checkpoint of" in caplog.text and "disk I/O error" in caplog.text
    monkeypatch.undo()
    with Store(tmp_path / "s.db") as reopened:
        assert reopened.count() == 3 * ROWS
        assert reopened.get(["7"])[0].text == "document 7 about topic 0"


def test_an_add_that_fails_mid_transaction_rolls_back_while_checkpoints_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = _load(tmp_path / "s.db", _batches(2))
    try:

        def broken(*args: Any, **kwargs: Any) -> None:
            raise StoreError("the vectors could not be written")

        monkeypatch.setattr(writes, "write_vectors", broken)  # after the documents, FTS and facets rows
        texts, metas, ids, vectors = _batches(1, first=2 * ROWS)[0]
        with pytest.raises(StoreError, match="could not be written"):
            store.add(texts, metadatas=metas, ids=ids, embeddings=vectors)
        monkeypatch.undo()
        store._checkpoints.wait()
        assert store.count() == 2 * ROWS
        assert store.get([ids[0]]) == []
        assert len(store.search("topic", mode="lexical", k=5, filter={"b10": 3})) == 5
        with store._pool.connection() as conn:
            assert conn.scalar("SELECT count(*) FROM ogma_facets") == 2 * 2 * ROWS
            assert conn.scalar("PRAGMA integrity_check") == "ok"
    finally:
        store.close()


def test_two_stores_on_one_file_write_side_by_side(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path, dim=DIM).close()
    errors: list[BaseException] = []

    def load(first: int) -> None:
        try:
            _load(path, _batches(3, first=first), busy_timeout=30).close()
        except BaseException as exc:  # re-raised below, in the test's thread
            errors.append(exc)

    loaders = [threading.Thread(target=load, args=(first,)) for first in (0, 100_000)]
    for loader in loaders:
        loader.start()
    for loader in loaders:
        loader.join()
    assert not errors, errors
    with Store(path) as store:
        assert store.count() == 6 * ROWS
        assert {d.id for d in store.get(["0", "100000", str(3 * ROWS - 1)])} == {"0", "100000", str(3 * ROWS - 1)}
