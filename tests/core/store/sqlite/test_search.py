"""Pieces of ``ogma.store.sqlite.search``: the memory-map budget of random reads and its footprint estimate."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ogma.store import Store
from ogma.store.sqlite.search import PAGE_TOUCH, VEC0_CHUNK_ROWS, MapBudget, read_footprint
from ogma.store.sqlite.vectors import VectorCodec, fetch_matrix


def test_read_footprint_follows_where_the_float_vectors_live() -> None:
    in_vec0 = VectorCodec("float32", 256, exact_in_index=True)  # a float32 store (schema 3 and later)
    assert read_footprint(in_vec0) == VEC0_CHUNK_ROWS * 256 * 4 // 2  # half a chunk's page chain on average
    assert read_footprint(VectorCodec("float32", 4, exact_in_index=True)) == PAGE_TOUCH  # tiny vectors
    assert read_footprint(VectorCodec("float32", 256)) == PAGE_TOUCH  # an older file: a plain table row
    assert read_footprint(VectorCodec("binary", 256)) == PAGE_TOUCH


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
        budget = MapBudget(limit=3 * read_footprint(codec))
        mapped = conn.scalar("PRAGMA mmap_size")
        assert mapped > 0
        before = _rss_file_kib()
        for rowid in range(1, 4097, 512):  # one row in each 512: a walk into every chunk
            found, matrix = fetch_matrix(conn, codec, [rowid])
            assert found.tolist() == [rowid] and np.array_equal(matrix[0], vectors[rowid - 1])
        grown = _rss_file_kib()
        for _ in range(3):
            budget.charge(conn, read_footprint(codec))
        assert budget.drops == 0  # at the limit, not past it
        budget.charge(conn, 1)
        assert budget.drops == 1
        assert conn.scalar("PRAGMA mmap_size") == mapped  # the map is back for the next read
        if before is not None and grown is not None:
            assert _rss_file_kib() < grown  # the pages those reads touched left this process
        found, matrix = fetch_matrix(conn, codec, [7])
        assert np.array_equal(matrix[0], vectors[6])
        budget.charge(conn, 1)
        assert budget.drops == 1  # the charge started over
    store.close()
