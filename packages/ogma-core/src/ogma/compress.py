"""Embedding compression: Matryoshka truncation, int8 and binary quantization, Hamming, rescoring.

Pure numpy, no model needed. Conventions match sqlite-vec so that vectors made
here and vectors made by sqlite-vec's SQL functions are interchangeable:

* **int8, fixed mode** (``ranges="unit"``) equals sqlite-vec's
  ``vec_quantize_int8(v, 'unit')``: ``[-1, 1]`` is cut into 255 even steps and
  mapped onto ``[-128, 127]``. Fits L2-normalised embeddings without calibration.
* **int8, calibrated** (``ranges=Int8Ranges``): per-dimension ``[min, max]``
  measured on a calibration set (:func:`calibrate_int8`), the same mapping per
  dimension. Uses the 256 levels far better on real embeddings.
* **ubinary** packs one bit per dimension, set when the value is ``> 0``, eight
  dimensions per byte, **least significant bit first**: dimension ``i`` is bit
  ``i % 8`` of byte ``i // 8``. This is sqlite-vec's ``vec_quantize_binary`` and
  its ``bit[N]`` layout (numpy: ``np.packbits(v > 0, bitorder="little")``).
* **binary** holds the same bytes shifted to int8 (``ubinary - 128``), the
  signed form sentence-transformers also offers.

Example:
    >>> import numpy as np
    >>> from ogma.compress import quantize_binary, hamming_distance
    >>> v = np.array([[0.5, -0.1, 0.2, -0.3, 0.0, 0.1, 0.9, -0.2]], dtype=np.float32)
    >>> quantize_binary(v)            # bits 0, 2, 5, 6 set -> 1 + 4 + 32 + 64
    array([[101]], dtype=uint8)
    >>> int(hamming_distance(quantize_binary(v)[0], quantize_binary(-v))[0])
    7
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from ogma.types import PRECISIONS, Precision

__all__ = [
    "Int8Ranges",
    "calibrate_int8",
    "cosine_similarity",
    "dequantize_int8",
    "hamming_distance",
    "normalize",
    "normalize_in_place",
    "quantize",
    "quantize_binary",
    "quantize_int8",
    "rescore_binary",
    "truncate",
    "unpack_binary",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]


def _as_matrix(embeddings: npt.ArrayLike, name: str = "embeddings") -> FloatArray:
    array = np.asarray(embeddings, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 1-D vector or a 2-D matrix, got shape {array.shape}")
    return array


def normalize(embeddings: npt.ArrayLike) -> FloatArray:
    """L2-normalise rows; zero rows stay zero.

    Example:
        >>> normalize([[3.0, 4.0]]).tolist()
        [[0.6000000238418579, 0.800000011920929]]
    """
    array = _as_matrix(embeddings)
    norms = np.linalg.norm(array, axis=1, keepdims=True)
    return (array / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)


def normalize_in_place(matrix: FloatArray) -> FloatArray:
    """L2-normalise the rows of a writable float32 matrix in place (zero rows stay zero); returns it.

    The same values as :func:`normalize`, without a second matrix (a bulk read of stored
    vectors normalises each batch it reads this way).

    Example:
        >>> import numpy as np
        >>> normalize_in_place(np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)).tolist()
        [[0.6000000238418579, 0.800000011920929], [0.0, 0.0]]
    """
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    np.divide(matrix, np.maximum(norms, np.float32(1e-12)), out=matrix)
    return matrix


def cosine_similarity(a: npt.ArrayLike, b: npt.ArrayLike) -> FloatArray:
    """Cosine similarity matrix between the rows of ``a`` and the rows of ``b``.

    Example:
        >>> cosine_similarity([[1.0, 0.0]], [[1.0, 0.0], [0.0, 2.0]]).tolist()
        [[1.0, 0.0]]
    """
    return normalize(a) @ normalize(b).T


def truncate(
    embeddings: npt.ArrayLike,
    dim: int,
    *,
    matryoshka_dims: Sequence[int] | None = None,
    model_id: str = "this model",
    renormalize: bool = True,
) -> FloatArray:
    """Matryoshka truncation: keep the first ``dim`` dimensions and re-normalise.

    Args:
        embeddings: ``(n, d)`` or ``(d,)`` float embeddings.
        dim: Dimensions to keep, ``1 <= dim <= d``.
        matryoshka_dims: The dims the model was trained for. ``None`` or empty means
            the model was not trained for truncation: it is allowed, with a warning.
            A ``dim`` outside a non-empty list also warns.
        model_id: Named in the warning.
        renormalize: L2-normalise the truncated rows (default).

    Returns:
        A float32 ``(n, dim)`` matrix.

    Raises:
        ValueError: ``dim`` is not an integer in ``[1, d]``.

    Example:
        >>> truncate([[0.6, 0.8, 0.0, 0.0]], 1, matryoshka_dims=[1, 2, 4]).tolist()
        [[1.0]]
    """
    array = _as_matrix(embeddings)
    full = array.shape[1]
    if isinstance(dim, bool) or not isinstance(dim, (int, np.integer)) or not 1 <= dim <= full:
        raise ValueError(f"dim must be an integer between 1 and {full} (the model's dimension), got {dim!r}")
    if dim != full:
        if not matryoshka_dims:
            warnings.warn(
                f"{model_id} was not trained for Matryoshka truncation; {dim}-d embeddings "
                "may lose much more quality than a Matryoshka model would.",
                stacklevel=2,
            )
        elif dim not in matryoshka_dims:
            warnings.warn(
                f"{model_id} was trained for Matryoshka dims {sorted(matryoshka_dims)}, not {dim}; "
                "quality at untrained dims is not calibrated.",
                stacklevel=2,
            )
    out = array[:, :dim]
    return normalize(out) if renormalize else np.ascontiguousarray(out)


@dataclass(frozen=True)
class Int8Ranges:
    """Per-dimension value ranges for calibrated int8 quantization.

    Attributes:
        low: ``(d,)`` lower bound of each dimension.
        high: ``(d,)`` upper bound of each dimension.

    Example:
        >>> import numpy as np
        >>> r = calibrate_int8(np.array([[-1.0, 0.0], [1.0, 0.5]], dtype=np.float32))
        >>> r.low.tolist(), r.high.tolist()
        ([-1.0, 0.0], [1.0, 0.5])
    """

    low: FloatArray
    high: FloatArray

    @classmethod
    def unit(cls, dim: int) -> Int8Ranges:
        """The fixed ``[-1, 1]`` ranges of sqlite-vec's ``'unit'`` mode."""
        return cls(np.full(dim, -1.0, dtype=np.float32), np.full(dim, 1.0, dtype=np.float32))

    def to_bytes(self) -> bytes:
        """Serialise (float32 low then high) for storing beside an index."""
        return np.concatenate([self.low, self.high]).astype("<f4").tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> Int8Ranges:
        """Inverse of :meth:`to_bytes`."""
        both = np.frombuffer(data, dtype="<f4")
        half = both.size // 2
        return cls(both[:half].astype(np.float32), both[half:].astype(np.float32))


def calibrate_int8(calibration: npt.ArrayLike) -> Int8Ranges:
    """Measure per-dimension ranges on a calibration set (e.g. a sample of documents).

    Example:
        >>> calibrate_int8([[0.0, 1.0], [2.0, 3.0]]).high.tolist()
        [2.0, 3.0]
    """
    array = _as_matrix(calibration, "calibration")
    if array.shape[0] == 0:
        raise ValueError("calibration must hold at least one embedding")
    return Int8Ranges(array.min(axis=0).astype(np.float32), array.max(axis=0).astype(np.float32))


def quantize_int8(embeddings: npt.ArrayLike, ranges: Int8Ranges | Literal["unit"] = "unit") -> npt.NDArray[np.int8]:
    """Scalar int8 quantization into ``[-128, 127]``.

    Args:
        embeddings: ``(n, d)`` float embeddings.
        ranges: ``"unit"`` for sqlite-vec's fixed ``[-1, 1]`` mode, or calibrated
            :class:`Int8Ranges`. Values outside the range are clipped.

    Example:
        >>> quantize_int8([[-1.0, 0.0, 0.5, 1.0]]).tolist()  # bit-exact with sqlite-vec: 1.0 -> 126
        [[-128, 0, 63, 126]]
    """
    array = _as_matrix(embeddings)
    if isinstance(ranges, str):
        if ranges != "unit":
            raise ValueError(f"ranges must be 'unit' or Int8Ranges, got {ranges!r}")
        ranges = Int8Ranges.unit(array.shape[1])
    if ranges.low.shape[0] != array.shape[1]:
        raise ValueError(f"ranges cover {ranges.low.shape[0]} dims but the embeddings have {array.shape[1]}")
    steps = np.maximum((ranges.high - ranges.low) / 255.0, 1e-12)
    levels = (array - ranges.low) / steps - 128.0
    return np.clip(levels, -128, 127).astype(np.int8)


def dequantize_int8(codes: npt.ArrayLike, ranges: Int8Ranges | Literal["unit"] = "unit") -> FloatArray:
    """Map int8 codes back to approximate floats (the centre of each step is not used:
    the inverse of :func:`quantize_int8`'s linear map, as sqlite-vec does).

    Example:
        >>> dequantize_int8([[-128, 127]]).round(3).tolist()
        [[-1.0, 1.0]]
    """
    array = np.asarray(codes, dtype=np.float32)
    if array.ndim == 1:
        array = array[None, :]
    if isinstance(ranges, str):
        ranges = Int8Ranges.unit(array.shape[1])
    steps = (ranges.high - ranges.low) / 255.0
    return ((array + 128.0) * steps + ranges.low).astype(np.float32)


def quantize_binary(embeddings: npt.ArrayLike) -> npt.NDArray[np.uint8]:
    """Pack sign bits, sqlite-vec order (LSB first): ``(n, d) -> (n, ceil(d / 8))`` uint8.

    Example:
        >>> quantize_binary([[1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, -1.0, 1.0]]).tolist()
        [[1, 1]]
    """
    array = _as_matrix(embeddings)
    return np.packbits(array > 0, axis=1, bitorder="little")


def unpack_binary(packed: npt.ArrayLike, dim: int) -> npt.NDArray[np.uint8]:
    """Inverse of :func:`quantize_binary`: ``(n, bytes) -> (n, dim)`` of 0/1.

    Example:
        >>> unpack_binary([[5]], 3).tolist()
        [[1, 0, 1]]
    """
    array = np.asarray(packed, dtype=np.uint8)
    if array.ndim == 1:
        array = array[None, :]
    return np.unpackbits(array, axis=1, count=dim, bitorder="little")


def hamming_distance(query: npt.ArrayLike, packed: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Hamming distances between one packed query and each packed row.

    Works on ``uint8`` (ubinary) or ``int8`` (binary) codes alike.

    Example:
        >>> hamming_distance([0b1111], [[0b0000], [0b0101]]).tolist()
        [4, 2]
    """
    q = np.ascontiguousarray(np.asarray(query).view(np.uint8).reshape(-1))
    m = np.asarray(packed)
    m = np.ascontiguousarray(m.view(np.uint8) if m.dtype != np.uint8 else m)
    if m.ndim == 1:
        m = m[None, :]
    if m.shape[1] != q.shape[0]:
        raise ValueError(f"query has {q.shape[0]} bytes but the rows have {m.shape[1]}")
    return np.bitwise_count(np.bitwise_xor(m, q)).sum(axis=1, dtype=np.int64)


def rescore_binary(query: npt.ArrayLike, packed: npt.ArrayLike, dim: int | None = None) -> FloatArray:
    """Rescore binary candidates with the float query: ``query · (2·bits − 1)``.

    The asymmetric score recovers most of the ranking that the binary search lost
    (the query keeps its magnitudes), without needing float document vectors.
    When the store keeps float vectors, exact rescoring uses those instead.

    Args:
        query: ``(d,)`` float query embedding.
        packed: ``(n, ceil(d/8))`` packed candidates.
        dim: Number of dimensions (defaults to the query's length).

    Example:
        >>> rescore_binary([0.5, -0.5], [[0b01], [0b10]]).tolist()
        [1.0, -1.0]
    """
    q = np.asarray(query, dtype=np.float32).reshape(-1)
    d = int(dim if dim is not None else q.shape[0])
    signs = unpack_binary(packed, d).astype(np.float32) * 2.0 - 1.0
    return (signs @ q[:d]).astype(np.float32)


def quantize(
    embeddings: npt.ArrayLike,
    precision: Precision,
    *,
    ranges: Int8Ranges | Literal["unit", "auto"] = "auto",
) -> npt.NDArray[np.float32] | npt.NDArray[np.int8] | npt.NDArray[np.uint8]:
    """Convert float embeddings to ``precision``.

    Args:
        embeddings: ``(n, d)`` float embeddings.
        precision: ``"float32"``, ``"int8"``, ``"uint8"``, ``"binary"`` or ``"ubinary"``.
        ranges: For int8/uint8: ``"unit"`` (fixed ``[-1, 1]``), calibrated
            :class:`Int8Ranges`, or ``"auto"``: calibrate on these embeddings when
            there are at least 2 of them, else ``"unit"``.

    Raises:
        ValueError: Unknown precision.

    Example:
        >>> quantize([[0.25, -0.75]], "ubinary").tolist()
        [[1]]
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
    array = _as_matrix(embeddings)
    if precision == "float32":
        return array
    if precision in ("int8", "uint8"):
        if isinstance(ranges, str) and ranges == "auto":
            ranges = calibrate_int8(array) if array.shape[0] >= 2 else "unit"
        codes = quantize_int8(array, ranges)
        if precision == "uint8":
            return (codes.astype(np.int16) + 128).astype(np.uint8)
        return codes
    packed = quantize_binary(array)
    if precision == "binary":
        return (packed.astype(np.int16) - 128).astype(np.int8)
    return packed
