"""Long documents in a store: one vector per window, and a document scores by its best window.

A document longer than the model's window (:attr:`ogma.TextEncoder.max_tokens` tokens) is
embedded in windows (:meth:`ogma.TextEncoder.encode_windows`: its first full-width window,
then windows of whole sentences up to 64 and up to 32 tokens over all of it, never across
a blank line). The store keeps the first
window's vector as the document's vector (what ``get(include_embeddings=True)`` returns,
what MMR and binary rescoring use) and the other windows' vectors beside it; dense search
scores a document by the best of all its windows. On long-document sets this reached 88-97% of scoring each
original passage on its own on natural-language queries (121-126% on identifier queries),
where the first window alone reached 33-56% (``docs/benchmarks.md``, "Long documents").

This module is what every backend shares: splitting an encoder's windows into document
vectors and extra windows, and merging a backend's document ranking with its best-window
scores. Each backend stores the extra windows its own way (``store/sqlite/windows.py``).

Example:
    >>> import numpy as np
    >>> vectors = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    >>> first, extra = split_windows(vectors, [0, 0, 1], 2)
    >>> first.tolist(), extra.owners
    ([[1.0, 0.0], [1.0, 1.0]], [0])
    >>> merge_best([(10, 0.5), (11, 0.4)], {11: 0.9, 12: 0.1}, 2)
    [(11, 0.9), (10, 0.5)]
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
import numpy.typing as npt

from ogma.compress import normalize
from ogma.windows import mean_of_windows

if TYPE_CHECKING:
    from ogma.store.encoding import StoreEncoder

__all__ = ["ExtraWindows", "best_per_owner", "merge_best", "one_vector_per_document", "split_windows"]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class ExtraWindows:
    """The windows of a batch of documents beyond each one's first.

    Attributes:
        owners: For each extra window, the position of its document in the batch's vectors.
        vectors: ``(len(owners), dim)`` float32, in document order, each document's windows in order.

    Example:
        >>> ExtraWindows([0], np.zeros((1, 2), dtype=np.float32)).count
        1
    """

    owners: list[int]
    vectors: FloatArray

    @property
    def count(self) -> int:
        """Number of extra windows."""
        return len(self.owners)

    def with_vectors(self, vectors: FloatArray) -> ExtraWindows:
        """The same windows with other vectors (e.g. truncated to the store's dimension)."""
        return ExtraWindows(self.owners, vectors)


def split_windows(vectors: FloatArray, owners: Sequence[int], count: int) -> tuple[FloatArray, ExtraWindows]:
    """Each document's first window, and the rest as :class:`ExtraWindows`.

    Args:
        vectors: One row per window, a document's windows consecutive (as
            :meth:`ogma.TextEncoder.encode_windows` returns them).
        owners: The document of each window (``0 .. count - 1``, non-decreasing).
        count: Number of documents; each has at least one window.

    Raises:
        ValueError: ``owners`` does not give every document at least one window, in order.
    """
    index = np.asarray(owners, dtype=np.int64)
    if index.shape[0] != vectors.shape[0] or (index.size and np.any(np.diff(index) < 0)):
        raise ValueError("window owners must be non-decreasing, one per vector")
    first = np.ones(index.shape[0], dtype=bool)
    first[1:] = index[1:] != index[:-1]
    if int(first.sum()) != count or (count and (index[first] != np.arange(count)).any()):
        raise ValueError(f"every one of the {count} documents needs at least one window")
    extra = ~first
    return vectors[first], ExtraWindows(index[extra].tolist(), vectors[extra])


def one_vector_per_document(encoder: StoreEncoder, texts: list[str], *, store: str) -> FloatArray:
    """For a backend that keeps one vector per document: long documents get their windows' mean.

    The mean is over the full-width windows only (as ``TextEncoder.encode(long_text="mean")``),
    not the fine ones. Logs one warning per call that counts the documents longer than the
    window: they are read whole, but one mean vector finds a passage less well than its own
    window would.

    Example:
        >>> from ogma.store.encoding import as_encoder
        >>> one_vector_per_document(as_encoder(lambda t: np.ones((len(t), 2))), ["a"], store="S").shape
        (1, 2)
    """
    first, extra = encoder.windowed_documents(texts, fine=False)
    if extra is None:
        return first
    owners = [*range(len(texts)), *extra.owners]
    mean = normalize(mean_of_windows(np.concatenate([first, extra.vectors]), owners, len(texts)))
    counts = np.bincount(np.asarray(owners, dtype=np.int64), minlength=len(texts))
    long = int((counts > 1).sum())
    logger.warning(
        "%s keeps one vector per document: %d of %d documents are longer than the model's window and are "
        "each stored as the mean of their %d-%d windows' vectors (the SQLite Store keeps every window and "
        "scores a document by its best one)",
        store,
        long,
        len(texts),
        int(counts[counts > 1].min()),
        int(counts.max()),
    )
    return mean


def best_per_owner(scores: npt.NDArray[np.float32], owners: npt.NDArray[np.int64]) -> dict[int, float]:
    """``{owner: best score}`` over windows; ``owners`` sorted (the windows of one owner together).

    Example:
        >>> best_per_owner(np.array([0.125, 0.75, 0.25], dtype=np.float32), np.array([4, 4, 9]))
        {4: 0.75, 9: 0.25}
    """
    if owners.size == 0:
        return {}
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    best = np.maximum.reduceat(scores, starts)
    return dict(zip(owners[starts].tolist(), best.tolist(), strict=True))


def merge_best(ranked: Sequence[tuple[K, float]], windows: Mapping[K, float], count: int) -> list[tuple[K, float]]:
    """A ranking by each document's best score: its own vector's or its best extra window's.

    Exact for the top ``count`` when ``ranked`` holds the ``count`` best documents by their
    own vectors and ``windows`` holds the best extra-window score of at least the ``count``
    best documents by windows and of every document in ``ranked`` that has extra windows.

    Args:
        ranked: ``(key, score)`` from the document vectors, best first.
        windows: ``{key: best extra-window score}``.
        count: How many to return.

    Returns:
        ``(key, score)`` best first (ties by the order of ``ranked``, then of ``windows``).
    """
    best: dict[K, float] = {}
    for key, score in ranked:
        best[key] = max(score, windows.get(key, score))
    for key, score in windows.items():
        if key not in best:
            best[key] = score
    order = sorted(best.items(), key=lambda item: -item[1])
    return order[: max(count, 0)]
