"""Milvus test fixtures: ``make`` opens stores in new collections of ``milvus_uri`` (Milvus Lite, or the
server in ``test_server.py``), dropped at the end of the test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest


@pytest.fixture
def make(milvus_uri: str) -> Iterator[Any]:
    from ogma.store.milvus import MilvusStore

    made: list[MilvusStore] = []

    def build(collection: str | None = None, **options: Any) -> MilvusStore:
        store = MilvusStore(milvus_uri, collection or f"m_{uuid.uuid4().hex}", **options)
        made.append(store)
        return store

    yield build
    for store in made:
        if not store._closed:
            store.drop()
            store.close()
