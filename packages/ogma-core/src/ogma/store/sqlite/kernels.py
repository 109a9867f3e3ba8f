"""Scoring kernels of the in-process vector search: Hamming, int8 and float dot products.

* **Hamming** runs on a column-major ``(words, n)`` ``uint64`` matrix of packed
  bits: one XOR + popcount pass per 64-bit word over contiguous memory, which is
  several times faster than reducing a row-major ``(n, bytes)`` matrix.
* **Candidate selection** estimates the cut-off distance from the histogram of a
  strided sample, then makes one pass over all ``n`` distances, instead of sorting
  or partitioning them.
* **Adaptive depth** (:func:`within_margin`): how many binary candidates a query needs
  follows from its own distances: every row within a margin of the ``k``-th distance,
  the margin being a few standard deviations of a Hamming distance at that distance.
* **int8** dot products run through onnxruntime's ``MatMulInteger`` (int8 × int8 →
  int32, vectorised and multi-threaded); numpy has no fast integer matmul.

Example:
    >>> import numpy as np
    >>> cols = pack_columns(np.array([[0b0000], [0b0111], [0b0001]], dtype=np.uint8))
    >>> hamming(cols, query_words(np.array([0b0001], dtype=np.uint8))).tolist()
    [1, 2, 0]
    >>> smallest(np.array([5, 1, 3, 1], dtype=np.uint8), 2).tolist()
    [1, 3]
    >>> within_margin(np.array([9, 1, 3, 1, 60], dtype=np.uint8), 2, bits=64, z=3.0).tolist()
    [1, 2, 3]
"""

from __future__ import annotations

import logging
import math
import threading
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "Int8Scorer",
    "hamming",
    "hamming_margin",
    "pack_columns",
    "query_words",
    "smallest",
    "top_indices",
    "within_margin",
]

logger = logging.getLogger(__name__)

UInt64Array = npt.NDArray[np.uint64]
IntpArray = npt.NDArray[np.intp]


def _pad_to_words(packed: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
    width = packed.shape[1]
    padded = -(-width // 8) * 8
    if padded == width:
        return np.ascontiguousarray(packed)
    out = np.zeros((packed.shape[0], padded), dtype=np.uint8)
    out[:, :width] = packed
    return out


def pack_columns(packed: npt.NDArray[np.uint8]) -> UInt64Array:
    """``(n, bytes)`` packed bits → column-major ``(words, n)`` uint64 (zero-padded to whole words)."""
    array = np.asarray(packed, dtype=np.uint8)
    rows = _pad_to_words(array if array.ndim == 2 else array.reshape(1, -1))
    return np.ascontiguousarray(rows.view(np.uint64).T)


def query_words(packed_query: npt.NDArray[np.uint8]) -> UInt64Array:
    """One packed query (bytes) → its uint64 words, padded like :func:`pack_columns`."""
    return _pad_to_words(np.asarray(packed_query, dtype=np.uint8).reshape(1, -1)).view(np.uint64)[0]


def hamming(columns: UInt64Array, query: UInt64Array) -> npt.NDArray[np.unsignedinteger[Any]]:
    """Hamming distance of ``query`` to every column of ``columns`` (``(words, n)``).

    Up to 256 bits the distances come back as ``uint8``, saturated at 255 (only an
    exact bitwise complement of the query, distance 256, is affected); wider codes
    use ``uint16``. Small integers keep the pass over memory and the histogram cheap.
    """
    n = columns.shape[1]
    words = columns.shape[0]
    narrow = words * 64 <= 256
    if n == 0:
        return np.zeros(0, dtype=np.uint8 if narrow else np.uint16)
    acc = np.bitwise_count(columns[0] ^ query[0])
    if not narrow:
        acc = acc.astype(np.uint16)
    for word in range(1, words):
        count = np.bitwise_count(columns[word] ^ query[word])
        if narrow and word == 3:
            np.minimum(acc, 255 - count, out=acc)  # saturate instead of wrapping at 256
        acc += count
    return acc


def smallest(distances: npt.NDArray[np.integer[Any]], count: int) -> IntpArray:
    """Indices of the ``count`` smallest small-integer distances, in index order.

    Ties at the cut are broken by index. The cut-off is estimated from a strided
    sample's histogram, so only one pass over all ``n`` distances is needed (plus a
    sort of the few rows under the cut), instead of a full partition.
    """
    n = distances.shape[0]
    if count >= n:
        return np.arange(n, dtype=np.intp)
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    stride = max(1, n // 65536)
    cumulative = np.cumsum(np.bincount(distances[::stride]))
    wanted = count / stride * 1.5 + 8 if stride > 1 else count
    threshold = int(np.searchsorted(cumulative, wanted))
    chosen = np.flatnonzero(distances <= threshold)
    while chosen.shape[0] < count:  # the sample under-estimated the cut: widen it
        threshold = threshold * 2 + 1
        chosen = np.flatnonzero(distances <= threshold)
    if chosen.shape[0] > count:
        keep = np.argsort(distances[chosen], kind="stable")[:count]
        chosen = np.sort(chosen[keep])
    return chosen.astype(np.intp)


def hamming_margin(distance: float, bits: int, z: float) -> float:
    """``z`` standard deviations of a Hamming distance near ``distance`` over ``bits`` bits.

    For two vectors at angle θ, each sign bit differs with probability p = θ/π, so their
    distance is about binomial: mean ``bits·p``, variance ``bits·p·(1-p)``. ``p`` is
    estimated from ``distance`` (at least one bit's worth, at most 1/2).
    """
    p = min(max(distance / bits, 1.0 / bits), 0.5)
    return z * math.sqrt(bits * p * (1.0 - p))


def within_margin(
    distances: npt.NDArray[np.integer[Any]],
    count: int,
    *,
    bits: int,
    z: float,
    minimum: int = 0,
    maximum: int | None = None,
) -> IntpArray:
    """Indices (in index order) of every distance within a margin of the ``count``-th smallest.

    The ``count`` nearest by Hamming distance are noisy estimates of the nearest by angle: a
    true neighbour may sit several bits further. So the cut is the ``count``-th smallest
    distance plus :func:`hamming_margin` (``z`` standard deviations), and every row up to
    it is a candidate: few on data whose neighbours stand apart, many where binary codes
    hardly tell them apart. At least ``minimum`` and at most ``maximum`` rows are
    returned (the nearest ones; ties at the cut broken by index).
    """
    n = distances.shape[0]
    if count <= 0 or n == 0:
        return np.zeros(0, dtype=np.intp)
    if count >= n:
        return np.arange(n, dtype=np.intp)
    kth = int(distances[smallest(distances, count)].max())
    cut = kth + hamming_margin(kth, bits, z)
    chosen = np.flatnonzero(distances <= cut)
    floor = min(max(minimum, count), n)
    if chosen.shape[0] < floor:
        return smallest(distances, floor)
    if maximum is not None and chosen.shape[0] > max(maximum, floor):
        return smallest(distances, max(maximum, floor))
    return chosen.astype(np.intp)


def top_indices(scores: npt.NDArray[Any], count: int) -> IntpArray:
    """Indices of the ``count`` highest scores, best first (stable for ties)."""
    n = scores.shape[0]
    if count <= 0 or n == 0:
        return np.zeros(0, dtype=np.intp)
    part = np.argpartition(-scores, count - 1)[:count] if count < n else np.arange(n)
    order = np.lexsort((part, -scores[part]))
    return part[order].astype(np.intp)


class Int8Scorer:
    """int8 × int8 → int32 dot products of many rows with one vector.

    Builds a one-node onnxruntime graph on first use; falls back to numpy when
    onnxruntime or ``onnx`` is unavailable.

    Example:
        >>> import numpy as np
        >>> Int8Scorer().scores(np.array([[1, 2], [3, -4]], dtype=np.int8), np.array([2, 1], dtype=np.int8)).tolist()
        [4, 2]
    """

    def __init__(self) -> None:
        self._session: Any = None
        self._failed = False
        self._lock = threading.Lock()

    def _get_session(self) -> Any:
        if self._session is not None or self._failed:
            return self._session
        with self._lock:
            if self._session is None and not self._failed:
                try:
                    import onnxruntime as ort
                    from onnx import TensorProto, helper

                    a = helper.make_tensor_value_info("A", TensorProto.INT8, [None, None])
                    b = helper.make_tensor_value_info("B", TensorProto.INT8, [None, 1])
                    y = helper.make_tensor_value_info("Y", TensorProto.INT32, [None, 1])
                    node = helper.make_node("MatMulInteger", ["A", "B"], ["Y"])
                    graph = helper.make_graph([node], "ogma_int8_scores", [a, b], [y])
                    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
                    model.ir_version = 8
                    options = ort.SessionOptions()
                    options.log_severity_level = 3
                    self._session = ort.InferenceSession(
                        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
                    )
                except (ImportError, RuntimeError, ValueError) as exc:
                    logger.warning("int8 scoring falls back to numpy (slower): %s", exc)
                    self._failed = True
        return self._session

    def scores(self, codes: npt.NDArray[np.int8], query: npt.NDArray[np.int8]) -> npt.NDArray[np.int32]:
        """``codes @ query`` as int32, for ``codes`` ``(n, d)`` and ``query`` ``(d,)``."""
        if codes.shape[0] == 0:
            return np.zeros(0, dtype=np.int32)
        session = self._get_session() if codes.shape[0] >= 2048 else None
        if session is None:
            return (codes.astype(np.int32) @ query.astype(np.int32)).astype(np.int32)
        out = session.run(None, {"A": np.ascontiguousarray(codes), "B": query.reshape(-1, 1)})[0]
        return np.asarray(out, dtype=np.int32).reshape(-1)
