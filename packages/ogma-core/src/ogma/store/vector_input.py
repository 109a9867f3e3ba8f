"""Incoming vectors, for every backend: accepted dimensions, Matryoshka fitting, query vectors.

A store keeps vectors of one dimension (``config.dim``). Vectors of the model's full
dimension (``config.full_dim``, or the encoder's) are accepted too and truncated to it,
then re-normalised (Matryoshka).

Example:
    >>> from types import SimpleNamespace
    >>> import numpy as np
    >>> accepted_dims(SimpleNamespace(dim=256, full_dim=768), None)
    [256, 768]
    >>> vectors = np.array([[0.6, 0.8]], dtype=np.float32)
    >>> fit_to(vectors, 2, None, None) is vectors
    True
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from ogma.compress import normalize, truncate
from ogma.errors import StoreError
from ogma.store.encoding import StoreEncoder
from ogma.store.validate import check_embeddings
from ogma.store.windows import ExtraWindows, one_vector_per_document

__all__ = ["accepted_dims", "embed_texts", "embed_windows", "fit_to", "query_vector"]

FloatArray = npt.NDArray[np.float32]


class DimConfig(Protocol):
    """What these helpers read from a store's configuration."""

    @property
    def dim(self) -> int | None: ...

    @property
    def full_dim(self) -> int | None: ...


def accepted_dims(config: DimConfig, encoder: StoreEncoder | None) -> list[int]:
    """The vector dimensions a store accepts: its own, the model's full one, the encoder's."""
    dims = [d for d in (config.dim, config.full_dim) if d is not None]
    if encoder is not None and encoder.dim is not None:
        dims.append(encoder.dim)
    return dims


def fit_to(vectors: FloatArray, dim: int | None, encoder: StoreEncoder | None, model_id: str | None) -> FloatArray:
    """Truncate vectors wider than ``dim`` to it (Matryoshka); others are returned as they are."""
    if dim is not None and vectors.shape[1] > dim:
        matryoshka = encoder.matryoshka_dims if encoder is not None else ()
        return truncate(vectors, dim, matryoshka_dims=matryoshka or None, model_id=model_id or "this model")
    return vectors


def query_vector(
    query: str | None,
    vector: Any,
    encoder: StoreEncoder | None,
    dims: list[int],
    fit: Callable[[FloatArray], FloatArray],
) -> FloatArray:
    """The unit query vector: ``vector`` if given, else ``query`` embedded by the encoder.

    Raises:
        ValueError: Neither a query nor a vector, or an all-zero vector.
        StoreError: A text query without an encoder.
        StoreMismatchError: A vector of a dimension not in ``dims``.
    """
    if vector is not None:
        unit = _unit_float32(vector, dims, fit)
        if unit is not None:
            return unit
        array = check_embeddings(vector, 1, dims, what="query vector")
        if not np.any(array):
            raise ValueError("the query vector is all zeros: it has no direction to search in")
    elif query is not None and encoder is not None:
        array = check_embeddings(encoder.query(query), 1, dims, what="query vector")
    elif query is not None:
        raise StoreError("dense search needs an encoder for text queries: pass vector=, or open with an encoder")
    else:
        raise ValueError("give a query string or a vector")
    return normalize(fit(array))[0]


def _unit_float32(vector: Any, dims: list[int], fit: Callable[[FloatArray], FloatArray]) -> FloatArray | None:
    """The common query vector quickly: a 1-D float32 array of a stored dimension, non-zero and finite.

    The same arithmetic as :func:`ogma.compress.normalize` (``numpy.linalg.norm`` along
    rows is the square root of the summed squares), so the unit vector is the same to the
    bit; its checks come from the sum itself: a NaN or infinity in the vector makes it
    non-finite, an all-zero vector makes it zero. Anything else (``None``) takes the full
    checks: other types and shapes, a vector that ``fit`` truncates, a sum that is zero or
    overflows.
    """
    if type(vector) is not np.ndarray or vector.dtype != np.float32 or vector.ndim != 1 or vector.shape[0] not in dims:
        return None
    row = vector[None, :]
    fitted = fit(row)
    if fitted.shape != row.shape:
        return None
    with np.errstate(over="ignore"):  # an overflow takes the full path, which warns about it
        squares = np.add.reduce(row * row, axis=1, keepdims=True)
    total = float(squares[0, 0])
    if not 0.0 < total < math.inf:
        return None
    unit: FloatArray = (row / np.maximum(np.sqrt(squares), 1e-12)).astype(np.float32, copy=False)[0]
    return unit


def embed_texts(
    encoder: StoreEncoder, texts: list[str | None], dims: list[int], dim: int | None, *, store: str = "this store"
) -> tuple[FloatArray, list[int] | None]:
    """The checked document vectors of the texts that are not ``None``, and their positions.

    For a backend that keeps one vector per document: a document longer than the model's
    window gets the mean of its windows' vectors, with a warning naming ``store``
    (:func:`ogma.store.windows.one_vector_per_document`).

    Args:
        encoder: The store's encoder.
        texts: Texts; ``None`` ones get no vector.
        dims: The accepted dimensions (:func:`accepted_dims`).
        dim: The store's dimension, for the empty ``(0, dim)`` result.
        store: The backend's name, for the long-document warning.

    Returns:
        ``(vectors, positions)``; ``positions`` is ``None`` when every text has a vector.

    Raises:
        StoreMismatchError: The encoder gave vectors of another dimension.
        ValueError: The encoder gave the wrong number of vectors, or NaN/inf.
    """
    present = [i for i, text in enumerate(texts) if text is not None]
    if not present:
        return np.zeros((0, dim or 0), dtype=np.float32), []
    vectors = check_embeddings(
        one_vector_per_document(encoder, [str(texts[i]) for i in present], store=store),
        len(present),
        dims,
        what="encoder outputs",
    )
    return vectors, None if len(present) == len(texts) else present


def embed_windows(
    encoder: StoreEncoder, texts: list[str | None], dims: list[int], dim: int | None
) -> tuple[FloatArray, list[int] | None, ExtraWindows | None]:
    """As :func:`embed_texts`, for a backend that keeps every window of a long document.

    Returns:
        ``(vectors, positions, windows)``: each document's first-window vector, the
        positions as in :func:`embed_texts`, and the other windows of long documents
        (their ``owners`` index ``vectors``; ``None`` when no document is long).
    """
    present = [i for i, text in enumerate(texts) if text is not None]
    if not present:
        return np.zeros((0, dim or 0), dtype=np.float32), [], None
    first, windows = encoder.windowed_documents([str(texts[i]) for i in present])
    vectors = check_embeddings(first, len(present), dims, what="encoder outputs")
    if windows is not None:
        windows = windows.with_vectors(check_embeddings(windows.vectors, windows.count, dims, what="encoder outputs"))
    return vectors, None if len(present) == len(texts) else present, windows
