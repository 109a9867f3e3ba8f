"""Milvus Lite for tests: one embedded database file per test session, one collection per store.

Milvus Lite starts a server process per database file (about a second), so tests share
one file and tell their stores apart by collection name. Tests that need it are skipped
when ``ogma-core[milvus]`` (pymilvus, milvus-lite 2.5) is not installed.
"""

from __future__ import annotations

import importlib.util
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

__all__ = [
    "MILVUS_LITE",
    "drop_collections",
    "milvus_lite_db",
    "new_collection",
    "open_milvus",
    "requires_milvus_lite",
]

MILVUS_LITE = importlib.util.find_spec("pymilvus") is not None and importlib.util.find_spec("milvus_lite") is not None

requires_milvus_lite = pytest.mark.skipif(
    not MILVUS_LITE, reason="needs ogma-core[milvus] (pymilvus and milvus-lite 2.5)"
)


def new_collection(prefix: str = "t") -> str:
    """A collection name no other test uses."""
    return f"{prefix}_{uuid.uuid4().hex[:16]}"


@pytest.fixture(scope="session")
def milvus_lite_db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The session's Milvus Lite database file."""
    yield tmp_path_factory.mktemp("milvus-lite") / "milvus.db"


def open_milvus(db: Path, encoder: Any = None, **options: Any) -> Any:
    """A new ``MilvusStore`` in a fresh collection of ``db``."""
    from ogma.store.milvus import MilvusStore

    return MilvusStore(str(db), new_collection(), encoder, **options)


def drop_collections(uri: str, collections: Iterable[str]) -> None:
    """Drop the collections a test made (those that exist) from ``uri`` (a Milvus Lite file or a Milvus server)."""
    from pymilvus import MilvusClient

    client = MilvusClient(uri, alias=f"cleanup-{uuid.uuid4().hex}")
    for collection in collections:
        if client.has_collection(collection):
            client.drop_collection(collection)
    client.close()
