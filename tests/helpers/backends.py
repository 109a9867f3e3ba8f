"""Every adapter's hostile-input table on every store backend: SQLite and Milvus Lite.

``adapter_backend`` is parametrised over the backends (Milvus Lite is skipped without
``ogma-core[milvus]``); ``backend_stores`` makes stores of that backend by name
(:class:`StoreMaker`, which the core's conformance fixtures use too), so the same name
reopens the same file or collection (for reopen and mismatch cases), and closes every
store (dropping its collection) at the end of the test.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from ogma.store import Store
from ogma.store.protocol import StoreProtocol
from tests.helpers.milvus_lite import drop_collections, requires_milvus_lite

__all__ = ["ADAPTER_BACKENDS", "BackendStores", "StoreMaker", "adapter_backend", "backend_stores", "store_in"]

ADAPTER_BACKENDS = ["sqlite", pytest.param("milvus-lite", marks=requires_milvus_lite)]

BackendStores = Callable[..., StoreProtocol]

MILVUS_BACKENDS = ("milvus-lite", "milvus", "milvus-server")
"""Backend names that :class:`StoreMaker` opens as a ``MilvusStore`` on its ``milvus_uri``."""


@pytest.fixture(params=ADAPTER_BACKENDS)
def adapter_backend(request: pytest.FixtureRequest) -> str:
    """The backend of this run of the test: ``"sqlite"`` or ``"milvus-lite"``."""
    return str(request.param)


class StoreMaker:
    """``make(encoder=None, *, name="main", **options)``: stores of one backend; the same name reopens the same one.

    Args:
        backend: ``"sqlite"`` (files in ``folder``), ``"memory"`` (the minimal in-memory backend of
            ``tests/core/store/memory_backend.py``), or a Milvus one: ``"milvus-lite"`` / ``"milvus"``
            (Milvus Lite) or ``"milvus-server"`` (a Milvus server), collections in ``milvus_uri``.
        folder: Where SQLite files go.
        milvus_uri: The Milvus Lite file or the server's address (``""`` for SQLite and memory).
    """

    def __init__(self, backend: str, folder: Path, milvus_uri: str = "") -> None:
        self.backend, self.folder, self.milvus_uri = backend, folder, milvus_uri
        self.made: list[Any] = []
        self.collections: dict[str, str] = {}

    def __call__(self, encoder: Any = None, *, name: str = "main", **options: Any) -> StoreProtocol:
        if self.backend == "sqlite":
            store: Any = Store(self.folder / f"{name}.db", encoder, **options)
        elif self.backend == "memory":
            from tests.core.store.memory_backend import MemoryStore

            store = MemoryStore(f"{self.folder}/{name}", encoder, **options)
        elif self.backend in MILVUS_BACKENDS:
            from ogma.store.milvus import MilvusStore

            collection = self.collections.setdefault(name, f"t_{uuid.uuid4().hex}")
            store = MilvusStore(self.milvus_uri, collection, encoder, **options)
        else:
            raise ValueError(
                f"StoreMaker: unknown backend {self.backend!r}; expected sqlite, memory or one of {MILVUS_BACKENDS}"
            )
        self.made.append(store)
        return store

    def close(self) -> None:
        """Close every store made, and drop the collections."""
        for store in self.made:
            store.close()
        if self.backend == "memory":
            from tests.core.store.memory_backend import forget

            forget(str(self.folder))
        if self.collections:
            drop_collections(self.milvus_uri, self.collections.values())


@pytest.fixture
def backend_stores(adapter_backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BackendStores]:
    """A :class:`StoreMaker` of the test's backend; everything it made is closed at the end."""
    milvus_db = str(request.getfixturevalue("milvus_lite_db")) if adapter_backend == "milvus-lite" else ""
    maker = StoreMaker(adapter_backend, tmp_path, milvus_db)
    yield maker
    maker.close()


def store_in(folder: Path, backend: str) -> StoreProtocol:
    """A new store of ``backend`` in ``folder`` (a SQLite file, or a Milvus Lite file with one collection)."""
    if backend == "sqlite":
        return Store(folder / "s.db")
    from ogma.store.milvus import MilvusStore

    return MilvusStore(str(folder / "m.db"), "notes")
