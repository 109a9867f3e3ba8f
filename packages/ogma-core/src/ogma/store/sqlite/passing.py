"""The rows that pass a filter, with a membership test fast enough for every graph candidate.

A filtered graph search (:mod:`ogma.store.sqlite.hnsw`) takes more candidates than it needs and
keeps those that pass; :class:`PassingRows` answers "does this rowid pass?" for a whole array of
candidates at once.

Example:
    >>> import numpy as np
    >>> PassingRows(np.array([8, 3, 5])).rowids.tolist()
    [3, 5, 8]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

__all__ = ["MASK_SPAN", "PassingRows"]

MASK_SPAN = 64
"""Passing rows keep a membership mask indexed by rowid when their rowids span at most this many rows per passing
row (the mask's bytes at most 8x the rowids'); sparser sets are tested by binary search."""


class PassingRows:
    """The rowids passing a filter (sorted, unique) and a fast membership test.

    Example:
        >>> rows = PassingRows(np.array([3, 5, 8]))
        >>> rows.size, rows.contains(np.array([5, 6, 9, 3])).tolist()
        (3, [True, False, False, True])
    """

    __slots__ = ("_low", "_mask", "rowids")

    def __init__(self, rowids: npt.NDArray[np.int64]) -> None:
        self.rowids = np.unique(np.asarray(rowids, dtype=np.int64))
        self._low = int(self.rowids[0]) if self.rowids.size else 0
        span = int(self.rowids[-1]) - self._low + 1 if self.rowids.size else 0
        self._mask: npt.NDArray[np.bool_] | None = None
        if 0 < span <= MASK_SPAN * self.rowids.size:  # one byte per rowid in the span: a lookup per key
            self._mask = np.zeros(span, dtype=bool)
            self._mask[self.rowids - self._low] = True

    @property
    def size(self) -> int:
        """How many rows pass."""
        return int(self.rowids.size)

    @property
    def nbytes(self) -> int:
        """Bytes held (the rowids and the mask)."""
        return int(self.rowids.nbytes) + (0 if self._mask is None else int(self._mask.nbytes))

    def contains(self, keys: npt.NDArray[np.int64]) -> npt.NDArray[np.bool_]:
        """Whether each key passes."""
        if self.rowids.size == 0:
            return np.zeros(keys.shape, dtype=bool)
        if self._mask is None:
            where = np.minimum(np.searchsorted(self.rowids, keys), self.rowids.size - 1)
            return np.asarray(self.rowids[where] == keys)
        offsets = keys - self._low
        inside = (offsets >= 0) & (offsets < self._mask.size)
        found = np.zeros(keys.shape, dtype=bool)
        found[inside] = self._mask[offsets[inside]]
        return found
