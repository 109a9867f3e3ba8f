"""Query vectors (``ogma.store.vector_input.query_vector``): the quick path for float32 arrays gives
the same unit vector, to the bit, as the full checks followed by ``normalize``, and every other input
still gets the full checks and their errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ogma.compress import normalize
from ogma.errors import StoreMismatchError
from ogma.store.validate import check_embeddings
from ogma.store.vector_input import query_vector


def _identity(vectors: np.ndarray) -> np.ndarray:
    return vectors


def _full_path(vector: Any, dims: list[int]) -> np.ndarray:
    """What query_vector returned before it had a quick path."""
    return normalize(check_embeddings(vector, 1, dims, what="query vector"))[0]


@pytest.mark.parametrize("dim", [1, 2, 3, 7, 64, 384, 1024])
@pytest.mark.parametrize("scale", [1e-3, 1.0, 1e3])
def test_float32_vectors_give_the_same_unit_vector_to_the_bit(dim: int, scale: float) -> None:
    rng = np.random.default_rng(dim)
    for _ in range(50):
        vector = (rng.standard_normal(dim) * scale).astype(np.float32)
        got = query_vector(None, vector, None, [dim], _identity)
        assert got.dtype == np.float32 and got.shape == (dim,)
        assert got.tobytes() == _full_path(vector, [dim]).tobytes()


@pytest.mark.parametrize(
    "vector",
    [
        np.array([3.0, 4.0]),  # float64
        [3.0, 4.0],  # a list
        np.array([[3.0, 4.0]], dtype=np.float32),  # 2-D
        np.array([3, 4], dtype=np.int32),
        np.array([1e30, 1e30], dtype=np.float32),  # the sum of squares overflows: the full path decides
        np.array([1e-30, 0.0], dtype=np.float32),  # the sum of squares underflows to zero, the vector is not zero
    ],
)
def test_other_inputs_take_the_full_path(vector: Any) -> None:
    got = query_vector(None, vector, None, [2], _identity)
    assert got.tobytes() == _full_path(vector, [2]).tobytes()


def test_bad_vectors_keep_their_errors() -> None:
    with pytest.raises(ValueError, match="all zeros"):
        query_vector(None, np.zeros(3, dtype=np.float32), None, [3], _identity)
    for bad in (np.nan, np.inf, -np.inf):
        with pytest.raises(ValueError, match="NaN or infinite"):
            query_vector(None, np.array([1.0, bad, 0.0], dtype=np.float32), None, [3], _identity)
    with pytest.raises(StoreMismatchError, match="dimension 4"):
        query_vector(None, np.ones(4, dtype=np.float32), None, [3], _identity)


def test_a_vector_the_store_truncates_is_checked_in_full() -> None:
    """A full-dimension vector is truncated (Matryoshka): a NaN in the part cut off is still refused."""

    def truncate(vectors: np.ndarray) -> np.ndarray:
        return vectors[:, :2]

    vector = np.array([3.0, 4.0, np.nan, 1.0], dtype=np.float32)
    with pytest.raises(ValueError, match="NaN or infinite"):
        query_vector(None, vector, None, [2, 4], truncate)
    fine = np.array([3.0, 4.0, 5.0, 1.0], dtype=np.float32)
    np.testing.assert_allclose(query_vector(None, fine, None, [2, 4], truncate), [0.6, 0.8], rtol=1e-6)
