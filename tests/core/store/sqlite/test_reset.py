"""``Store.reset`` beyond the conformance tests: int8 ranges, both dense backends, read-only files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ogma.errors import StoreError
from ogma.store import Store


def _vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
@pytest.mark.parametrize("backend", ["memory", "sqlite-vec"])
def test_reset_accepts_a_new_dimension_on_each_dense_backend(tmp_path: Path, precision: str, backend: str) -> None:
    path = tmp_path / "s.db"
    store = Store(path, precision=precision, backend=backend)  # type: ignore[arg-type]
    store.add(["a", "b"], ids=["a", "b"], embeddings=_vectors(2, 8))
    assert store.reset(confirm=True) == 2
    vectors = _vectors(3, 16, seed=1)
    store.add(["x", "y", "z"], ids=["x", "y", "z"], embeddings=vectors)
    assert store.search(vector=vectors[1], k=1)[0].id == "y"
    store.close()
    with Store(path) as reopened:
        assert reopened.dim == 16 and reopened.search(vector=vectors[2], k=1)[0].id == "z"


def test_reset_refits_int8_ranges_and_keeps_the_tokenizer() -> None:
    store = Store(":memory:", precision="int8", fts_tokenizer="unicode61")
    store.add(["red apple"], embeddings=_vectors(1, 4))
    store.reset(confirm=True)
    assert store.precision == "int8" and store.config.fts_tokenizer == "unicode61"
    assert store.config.int8_ranges is None  # fitted again to the next first vectors


def test_reset_needs_a_writable_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.add(["a"], embeddings=_vectors(1, 4))
    with Store(path, read_only=True) as reader, pytest.raises(StoreError, match="read_only"):
        reader.reset(confirm=True)
