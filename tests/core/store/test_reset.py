"""``reset``, on every backend: delete everything and forget the dimension the first vectors fixed."""

from __future__ import annotations

import numpy as np
import pytest

from ogma.errors import StoreMismatchError
from tests.core.store.conftest import HashEmbedder, StoreFactory


def _vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_reset_accepts_a_new_dimension(store_factory: StoreFactory, precision: str) -> None:
    store = store_factory(precision=precision)
    store.add(["a", "b"], ids=["a", "b"], embeddings=_vectors(2, 8))
    assert store.dim == 8
    with pytest.raises(StoreMismatchError):
        store.add(["c"], embeddings=_vectors(1, 16))
    assert store.reset(confirm=True) == 2
    assert store.count() == 0 and store.dim is None and store.search(vector=_vectors(1, 16)[0], k=3) == []
    vectors = _vectors(3, 16, seed=1)
    store.add(["x", "y", "z"], ids=["x", "y", "z"], embeddings=vectors)
    assert store.dim == 16 and store.precision == precision
    assert store.search(vector=vectors[1], k=1)[0].id == "y"
    store.close()
    reopened = store_factory()  # same file or collection: the new dimension is what it says
    assert reopened.dim == 16 and reopened.count() == 3
    assert reopened.search(vector=vectors[2], k=1)[0].id == "z"


def test_reset_keeps_a_dimension_given_when_opened(store_factory: StoreFactory) -> None:
    store = store_factory(dim=4)
    store.add(["a"], ids=["a"], embeddings=_vectors(1, 4))
    assert store.reset(confirm=True) == 1
    assert store.dim == 4
    with pytest.raises(StoreMismatchError):
        store.add(["b"], embeddings=_vectors(1, 6))
    store.add(["b"], ids=["b"], embeddings=_vectors(1, 4))
    assert [d.id for d in store.iter_documents()] == ["b"]


def test_reset_with_an_encoder_keeps_its_dimension_and_model(store_factory: StoreFactory) -> None:
    store = store_factory(HashEmbedder())
    store.add(["red apple", "green pear"], ids=["a", "p"])
    assert store.reset(confirm=True) == 2
    assert store.dim == 32
    store.add(["blue plum"], ids=["u"])
    assert [h.id for h in store.search("blue plum", k=1)] == ["u"]


def test_reset_clears_text_search_and_keeps_settings(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.add(["red apple"], ids=["a"], embeddings=_vectors(1, 4))
    assert store.write_setting_once("embedder", "fingerprint")
    store.reset(confirm=True)
    assert store.search("apple", mode="lexical", k=5) == []
    assert store.read_setting("embedder") == "fingerprint"
    store.add(["green apple"], ids=["g"], embeddings=_vectors(1, 4))
    assert [h.id for h in store.search("apple", mode="lexical", k=5)] == ["g"]


def test_reset_needs_confirm(store_factory: StoreFactory) -> None:
    store = store_factory()
    store.add(["a"], embeddings=_vectors(1, 4))
    with pytest.raises(ValueError, match="confirm=True"):
        store.reset()
    with pytest.raises(ValueError, match="confirm=True"):
        store.reset(confirm=1)
    assert store.count() == 1 and store.dim == 4


def test_reset_of_an_empty_store(store_factory: StoreFactory) -> None:
    store = store_factory()
    assert store.reset(confirm=True) == 0
    assert store.dim is None and store.count() == 0
