"""Store test fixtures: a tiny deterministic embedder and small random vectors."""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from ogma.store import Store
from tests.helpers.backends import StoreMaker
from tests.helpers.milvus_lite import MILVUS_LITE

DIM = 32

BACKENDS = ["sqlite", "milvus", "memory"]
"""Every store backend; the conformance tests take ``store_factory`` and run on each. ``memory``
is the minimal backend written from "Adding a backend" in ``docs/architecture.md``."""

MILVUS_BACKENDS = ("milvus", "milvus-server")
"""The backends that are a :class:`~ogma.store.milvus.MilvusStore` on ``milvus_uri``: Milvus Lite
here, the Milvus server in ``milvus/test_server.py`` (which overrides ``backend`` and ``milvus_uri``)."""

StoreFactory = Callable[..., Any]


class HashEmbedder:
    """Hashing bag-of-words → L2-normalised vector: deterministic, model-free, shares words ⇒ similar."""

    model_id = "test/hash-embedder"
    task_scheme_name = "none"
    matryoshka_dims = (8, 16, 32)

    def __init__(self, dim: int = DIM) -> None:
        self.dim = dim
        self.calls = 0

    def _one(self, text: str) -> npt.NDArray[np.float32]:
        vec = np.zeros(self.dim, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
            h = int.from_bytes(digest, "little")
            vec[h % self.dim] += 1.0 if (h >> 32) & 1 else -1.0
        norm = np.linalg.norm(vec)
        return vec / norm if norm else vec

    def encode_documents(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.calls += 1
        return np.stack([self._one(t) for t in texts]) if texts else np.zeros((0, self.dim), np.float32)

    def encode_queries(self, texts: list[str]) -> npt.NDArray[np.float32]:
        return self.encode_documents(texts)


def random_unit(n: int, dim: int = DIM, seed: int = 0) -> npt.NDArray[np.float32]:
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def clustered_unit(n: int, dim: int = DIM, seed: int = 0, spread: float = 0.5) -> npt.NDArray[np.float32]:
    """Unit vectors around n/20 random centres: structured like real embeddings, unlike uniform noise."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((max(n // 20, 1), dim))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = centres[rng.integers(0, len(centres), n)] + spread * rng.standard_normal((n, dim)) / np.sqrt(dim)
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def exact_top(matrix: npt.NDArray[np.float32], query: npt.NDArray[np.float32], k: int) -> list[int]:
    unit = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    scores = unit @ (query / np.linalg.norm(query))
    return [int(i) for i in np.argsort(-scores, kind="stable")[:k]]


@pytest.fixture
def embedder() -> HashEmbedder:
    return HashEmbedder()


@pytest.fixture
def db_path(tmp_path: Path) -> str:
    return str(tmp_path / "store.db")


MILVUS_MISSING = "pymilvus and milvus-lite are not installed (pip install 'ogma-core[milvus]')"


@pytest.fixture(scope="session")
def maybe_milvus_uri(milvus_lite_db: Path) -> str | None:
    """The run's one Milvus Lite file (one embedded server), or ``None`` without the extra."""
    return str(milvus_lite_db) if MILVUS_LITE else None


@pytest.fixture(scope="session")
def milvus_uri(maybe_milvus_uri: str | None) -> str:
    """The run's Milvus Lite file; each test makes its own collections. Skips without the extra."""
    if maybe_milvus_uri is None:
        pytest.skip(MILVUS_MISSING)
    return maybe_milvus_uri


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store_factory(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    """``make(encoder=None, *, name="main", **options)``: a store of the test's backend.

    The same ``name`` reopens the same file (SQLite) or collection (Milvus), for reopening
    and config-mismatch tests. Every store made is closed (and its collection dropped) at the end.
    """
    uri = request.getfixturevalue("milvus_uri") if backend in MILVUS_BACKENDS else ""
    maker = StoreMaker(backend, tmp_path, uri)
    yield maker
    maker.close()


@contextlib.contextmanager
def fresh_store(backend: str, milvus_uri: str | None, encoder: Any = None, **options: Any) -> Iterator[Any]:
    """A new, empty store of ``backend`` (in memory for SQLite), closed and dropped afterwards.

    For Hypothesis tests, which cannot take the function-scoped ``store_factory``: one store
    per example.
    """
    if backend == "sqlite":
        with Store(":memory:", encoder, **options) as sqlite_store:
            yield sqlite_store
        return
    if backend == "memory":
        from tests.core.store.memory_backend import MemoryStore

        with MemoryStore(":memory:", encoder, **options) as memory_store:
            yield memory_store
        return
    from ogma.store.milvus import MilvusStore

    if milvus_uri is None:
        pytest.skip(MILVUS_MISSING)
    milvus_store = MilvusStore(milvus_uri, f"h_{uuid.uuid4().hex}", encoder, **options)
    try:
        yield milvus_store
    finally:
        milvus_store.drop()
        milvus_store.close()


@pytest.fixture
def store(store_factory: StoreFactory, embedder: HashEmbedder) -> Iterator[Any]:
    with store_factory(embedder) as s:
        yield s


CORPUS = [
    ("paris", "Paris is the capital of France and its largest city", {"lang": "en", "year": 2020, "tags": ["geo"]}),
    ("berlin", "Berlin is the capital of Germany", {"lang": "en", "year": 2021, "tags": ["geo"]}),
    ("rome", "Rome is the capital of Italy, an ancient city", {"lang": "en", "year": 2019}),
    ("python", "Python is a programming language with a large standard library", {"lang": "en", "year": 2022}),
    ("sqlite", "SQLite is a small fast self-contained SQL database engine", {"lang": "en", "year": 2023}),
    ("madrid", "Madrid es la capital de España", {"lang": "es", "year": 2020}),
    ("cafe", "Le café est une boisson très populaire à Paris", {"lang": "fr", "year": 2018}),
    ("apple", "Apples and pears are fruit that grow on trees", {"lang": "en", "year": 2017}),
]


def fill(store: Store) -> list[str]:
    ids, texts, metas = zip(*CORPUS)
    return store.add(list(texts), list(metas), list(ids))


@pytest.fixture
def vectors() -> object:
    """The ``random_unit(n, dim=DIM, seed=0)`` helper."""
    return random_unit


@pytest.fixture
def clustered() -> object:
    """The ``clustered_unit(n, dim=DIM, seed=0, spread=0.5)`` helper."""
    return clustered_unit


@pytest.fixture
def filled(store: Store) -> Store:
    fill(store)
    return store
