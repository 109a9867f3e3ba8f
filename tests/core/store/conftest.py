"""Store test fixtures: a tiny deterministic embedder and small random vectors."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ogma.store import Store

DIM = 32


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


@pytest.fixture
def store(db_path: str, embedder: HashEmbedder) -> Iterator[Store]:
    with Store(db_path, embedder) as s:
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
