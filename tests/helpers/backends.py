"""Every adapter's hostile-input table on every store backend: SQLite and Milvus Lite.

``adapter_backend`` is parametrised over the backends (Milvus Lite is skipped without
``ogma-core[milvus]``); ``backend_stores`` makes stores of that backend by name, so the
same name reopens the same file or collection (for reopen and mismatch cases), and
closes every store (dropping its collection) at the end of the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ogma.store import Store
from ogma.store.protocol import StoreProtocol
from tests.helpers.milvus_lite import requires_milvus_lite

__all__ = ["ADAPTER_BACKENDS", "BackendStores", "adapter_backend", "backend_stores"]

ADAPTER_BACKENDS = ["sqlite", pytest.param("milvus-lite", marks=requires_milvus_lite)]

BackendStores = Callable[..., StoreProtocol]


@pytest.fixture(params=ADAPTER_BACKENDS)
def adapter_backend(request: pytest.FixtureRequest) -> str:
    """The backend of this run of the test: ``"sqlite"`` or ``"milvus-lite"``."""
    return str(request.param)


@pytest.fixture
def backend_stores(adapter_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendStores]:
    """``make(name="main", **options)``: a store of the test's backend; the same name reopens the same one."""
    made: list[Any] = []
    collections: dict[str, str] = {}
    milvus_db = str(request.getfixturevalue("milvus_lite_db")) if adapter_backend == "milvus-lite" else ""

    def make(name: str = "main", **options: Any) -> StoreProtocol:
        if adapter_backend == "sqlite":
            store: Any = Store(tmp_path / f"{name}.db", **options)
        else:
            from ogma.store.milvus import MilvusStore

            collection = collections.setdefault(name, f"h_{uuid.uuid4().hex}")
            store = MilvusStore(milvus_db, collection, **options)
        made.append(store)
        return store

    yield make
    for store in made:
        store.close()
    if collections:
        from pymilvus import MilvusClient

        client = MilvusClient(milvus_db, alias=f"cleanup-{uuid.uuid4().hex}")
        for collection in collections.values():
            if client.has_collection(collection):
                client.drop_collection(collection)
