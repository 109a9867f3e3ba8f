"""``Store.reset``: delete everything and forget the dimension the first vectors fixed."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ogma.errors import StoreError, StoreMismatchError
from ogma.store import Store


def _vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
@pytest.mark.parametrize("backend", ["memory", "sqlite-vec"])
def test_reset_accepts_a_new_dimension(tmp_path: Path, precision: str, backend: str) -> None:
    path = tmp_path / "s.db"
    store = Store(path, precision=precision, backend=backend)  # type: ignore[arg-type]
    store.add(["a", "b"], ids=["a", "b"], embeddings=_vectors(2, 8))
    assert store.dim == 8
    with pytest.raises(StoreMismatchError):
        store.add(["c"], embeddings=_vectors(1, 16))
    assert store.reset(confirm=True) == 2
    assert store.count() == 0 and store.dim is None
    vectors = _vectors(3, 16, seed=1)
    store.add(["x", "y", "z"], ids=["x", "y", "z"], embeddings=vectors)
    assert store.dim == 16
    assert store.search(vector=vectors[1], k=1)[0].id == "y"
    store.close()
    with Store(path) as reopened:  # the new dimension is what the file says
        assert reopened.dim == 16 and reopened.count() == 3
        assert reopened.search(vector=vectors[2], k=1)[0].id == "z"


def test_reset_keeps_a_dimension_given_when_opened() -> None:
    store = Store(":memory:", dim=4)
    store.add(["a"], embeddings=_vectors(1, 4))
    store.reset(confirm=True)
    assert store.dim == 4
    with pytest.raises(StoreMismatchError):
        store.add(["b"], embeddings=_vectors(1, 6))
    store.add(["b"], ids=["b"], embeddings=_vectors(1, 4))
    assert [d.id for d in store.iter_documents()] == ["b"]


def test_reset_clears_text_search_and_keeps_settings() -> None:
    store = Store(":memory:", precision="int8", fts_tokenizer="unicode61")
    store.add(["red apple"], embeddings=_vectors(1, 4))
    store.reset(confirm=True)
    assert store.search("apple", mode="lexical", k=5) == []
    assert store.precision == "int8" and store.config.fts_tokenizer == "unicode61"
    assert store.config.int8_ranges is None  # fitted again to the next first vectors


def test_reset_needs_confirm_and_a_writable_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = Store(path)
    store.add(["a"], embeddings=_vectors(1, 4))
    with pytest.raises(ValueError, match="confirm=True"):
        store.reset()
    assert store.count() == 1 and store.dim == 4
    store.close()
    with Store(path, read_only=True) as reader, pytest.raises(StoreError, match="read_only"):
        reader.reset(confirm=True)
