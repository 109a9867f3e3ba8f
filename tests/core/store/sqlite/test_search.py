"""Pieces of ``ogma.store.sqlite.search``: the memory-map budget of random reads and how reads are counted."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ogma.store import Store
from ogma.store.sqlite.search import PAGE_TOUCH, VEC0_CHUNK_ROWS, MapBudget, read_blocks
from ogma.store.sqlite.vectors import VectorCodec, fetch_matrix


def test_read_blocks_follow_where_the_float_vectors_live() -> None:
    in_vec0 = VectorCodec("float32", 256, exact_in_index=True)  # a float32 store (schema 3 and later)
    assert read_blocks(in_vec0) == (VEC0_CHUNK_ROWS, VEC0_CHUNK_ROWS * 256 * 4)  # one blob of vectors
    assert read_blocks(VectorCodec("float32", 4, exact_in_index=True)) == (VEC0_CHUNK_ROWS, PAGE_TOUCH)
    assert read_blocks(VectorCodec("float32", 256)) == (PAGE_TOUCH // 1024, PAGE_TOUCH)  # a plain table's rows
    assert read_blocks(VectorCodec("binary", 100_000)) == (1, PAGE_TOUCH)


def _rss_file_kib() -> int | None:
    status = Path("/proc/self/status")
    if not status.exists():
        return None
    for line in status.read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    return None


def test_the_map_is_dropped_past_the_limit_and_comes_back(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((4096, 256)).astype(np.float32)
    with Store(tmp_path / "s.ogma", dim=256, show_progress=False) as store:
        store.add([None] * 4096, ids=[str(i) for i in range(4096)], embeddings=vectors)  # type: ignore[list-item]
    store = Store(tmp_path / "s.ogma", show_progress=False)
    store.count()
    with store._pool.connection() as conn:
        store._refresh_config(conn)
        codec = store._codec()
        assert codec.exact_in_index
        rows, size = read_blocks(codec)
        budget = MapBudget(limit=3 * size)  # three blobs
        mapped = conn.scalar("PRAGMA mmap_size")
        assert mapped > 0
        grown = None
        for rowid in (1000, 2000, 3000, 4000):  # the last row of each of the four blobs: every page of each
            found, matrix = fetch_matrix(conn, codec, [rowid])
            assert found.tolist() == [rowid] and np.array_equal(matrix[0], vectors[rowid - 1])
            grown = _rss_file_kib()
            budget.charge(conn, found, rows_per_block=rows, block_bytes=size)
            budget.charge(conn, found + 1, rows_per_block=rows, block_bytes=size)  # the same blob again: no charge
            assert budget.drops == (rowid == 4000)  # dropped at the fourth blob
        assert conn.scalar("PRAGMA mmap_size") == mapped  # the map is back for the next read
        now = _rss_file_kib()
        if grown is not None and now is not None:
            assert grown - now >= 2 * size // 1024  # the pages those reads touched left this process
        found, matrix = fetch_matrix(conn, codec, [7])
        assert np.array_equal(matrix[0], vectors[6])
        budget.charge(conn, found, rows_per_block=rows, block_bytes=size)
        assert budget.drops == 1  # the count started over
    store.close()
