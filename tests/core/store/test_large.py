"""Conformance above every backend limit: 20,000 documents (Milvus returns at most 16,384 rows per
query) and 65,535-byte texts (the most a Milvus ``VARCHAR`` holds).

Every enumeration (``iter_documents``, ``count``, ``get`` of many ids, the metadata facts),
every delete (by ids, by filter, ``delete_all``), ``update`` by filter and ``copy_store`` must
see every document on every backend. Vectors are 8-d and given (``embeddings=``): no model runs.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from ogma.store.migrate import copy_store, destination_options
from tests.core.store.conftest import MILVUS_BACKENDS, StoreFactory

pytestmark = pytest.mark.slow

N = 20_000
"""Above Milvus' query window of 16,384 rows."""

DIM = 8


def _ids() -> list[str]:
    # insertion order unlike key order, so a key-ordered read cannot pass for insertion order
    order = np.random.default_rng(7).permutation(N)
    return [f"doc-{int(i):05d}" for i in order]


def _vectors() -> np.ndarray:
    return np.random.default_rng(8).standard_normal((N, DIM)).astype(np.float32)


def _fill(store: Any, ids: list[str], vectors: np.ndarray) -> None:
    metadatas = [{"i": i, "group": i % 3, "tag": f"t{i % 5}"} for i in range(N)]
    texts = [f"text {i}" for i in range(N)]
    assert store.add(texts, metadatas, ids, embeddings=vectors, batch_size=5_000) == ids


def _bulk(backend: str) -> dict[str, Any]:
    """Options of a store for a bulk load (Milvus: insert new ids instead of upserting them)."""
    return {"dim": DIM, "show_progress": False} | ({"insert_new_ids": True} if backend in MILVUS_BACKENDS else {})


@pytest.fixture
def big(store_factory: StoreFactory, backend: str) -> Iterator[tuple[Any, list[str], np.ndarray]]:
    ids, vectors = _ids(), _vectors()
    store = store_factory(**_bulk(backend))
    _fill(store, ids, vectors)
    yield store, ids, vectors


def test_enumeration_and_counts_see_every_document(big: tuple[Any, list[str], np.ndarray]) -> None:
    store, ids, vectors = big
    assert store.count() == N
    assert store.count(filter={"group": 0}) == len(range(0, N, 3))
    docs = list(store.iter_documents(include_embeddings=True))
    assert [d.id for d in docs] == ids  # every document, in insertion order
    np.testing.assert_array_equal(np.stack([d.embedding for d in docs]), vectors)
    assert [d.metadata["i"] for d in docs] == list(range(N))
    filtered = [d.id for d in store.iter_documents(filter={"group": {"$in": [1, 2]}}, batch_size=3_000)]
    assert filtered == [ids[i] for i in range(N) if i % 3]
    assert len(store.get(ids)) == N and [d.id for d in store.get(ids[::-1])] == ids[::-1]
    assert store.metadata_fields() == {"group": "int", "i": "int", "tag": "str"}
    assert store.metadata_values("tag") == [(f"t{t}", N // 5) for t in range(5)]
    assert store.metadata_range("i") == (0, N - 1)
    assert store.metadata_range("i", filter={"group": 2}) == (2, max(range(2, N, 3)))
    # a replaced document keeps its place
    store.add(["replaced"], [{"i": 17_000, "group": 2, "tag": "t0"}], [ids[17_000]], embeddings=vectors[:1])
    assert [d.id for d in store.iter_documents(batch_size=1)] == ids and store.count() == N
    # update by filter reaches every match
    expected = N - len(range(0, N, 3))
    assert store.update(filter={"group": {"$ne": 0}}, metadata={"seen": True}) == expected
    assert store.count(filter={"seen": True}) == expected


def test_delete_by_filter_by_ids_and_all(big: tuple[Any, list[str], np.ndarray]) -> None:
    store, ids, _ = big
    by_filter = N - len(range(0, N, 3))
    assert store.delete(filter={"group": {"$gte": 1}}) == by_filter
    assert store.count() == N - by_filter and store.count(filter={"group": {"$gte": 1}}) == 0
    kept = [ids[i] for i in range(0, N, 3)]
    assert store.delete([*kept[:5_000], "missing"]) == 5_000
    assert store.delete(kept, filter={"tag": "t0"}) == sum(1 for i in range(15_000, N, 3) if i % 5 == 0)
    remaining = store.count()
    assert remaining == len(list(store.iter_documents()))
    store.add(["more"] * 17_000, ids=[f"more-{i}" for i in range(17_000)], embeddings=np.ones((17_000, DIM)))
    assert store.delete_all(confirm=True) == remaining + 17_000
    assert store.count() == 0 and list(store.iter_documents()) == []


@pytest.mark.parametrize("direction", ["from", "to"])
def test_copy_store_moves_every_document(store_factory: StoreFactory, backend: str, direction: str) -> None:
    """``copy_store`` from (and to) this backend, with SQLite on the other side (both SQLite on SQLite)."""
    from ogma.store import Store

    ids, vectors = _ids(), _vectors()
    tested = store_factory(**_bulk(backend))
    if direction == "from":
        source: Any = tested
        _fill(source, ids, vectors)
        destination: Any = Store(":memory:", show_progress=False, **destination_options(source))
    else:
        source = Store(":memory:", dim=DIM, show_progress=False)
        _fill(source, ids, vectors)
        destination = tested
    with source, destination:
        assert copy_store(source, destination, batch_size=4_000, show_progress=False) == N
        assert destination.count() == N
        docs = list(destination.iter_documents(include_embeddings=True))
        assert [d.id for d in docs] == ids
        np.testing.assert_array_equal(np.stack([d.embedding for d in docs]), vectors)


MAX_VARCHAR = 65_535


def test_texts_up_to_65535_bytes_round_trip_and_longer_ones_are_never_cut(
    store_factory: StoreFactory, backend: str
) -> None:
    store = store_factory(dim=DIM, show_progress=False)
    longest = "é" * (MAX_VARCHAR // 2) + "x"  # 65,535 bytes in UTF-8, 32,768 characters
    assert len(longest.encode("utf-8")) == MAX_VARCHAR
    store.add([longest], ids=["longest"], embeddings=np.ones((1, DIM)))
    assert store.get(["longest"])[0].text == longest
    over = longest + "y"
    if backend not in MILVUS_BACKENDS:  # no such limit: stored whole
        store.add([over], ids=["over"], embeddings=np.ones((1, DIM)))
        assert store.get(["over"])[0].text == over
    else:
        with pytest.raises(ValueError, match=r"texts\[0\] is longer than 65,535 bytes"):
            store.add([over], ids=["over"], embeddings=np.ones((1, DIM)))
        assert store.get(["over"]) == [] and store.count() == 1
