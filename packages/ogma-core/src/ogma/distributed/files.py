"""The Parquet layout of precomputed embeddings, readable by plain pyarrow.

One row per text: the input's ``id`` and ``text`` columns (and any other input
column, such as ``metadata``), then

* ``embedding``: ``fixed_size_list<float32>[dim]`` (``int8``/``uint8`` lists for
  those precisions; absent for ``binary``/``ubinary`` output), and
* ``binary``: ``fixed_size_binary[ceil(dim / 8)]``, the sign bits packed exactly as
  :func:`ogma.compress.quantize_binary` and sqlite-vec pack them (LSB first).

The schema metadata key ``ogma.embeddings`` holds a JSON record of how the vectors
were made (model id, dimensions, task, task scheme, precision), so that
:func:`ogma.store.parquet.import_parquet` refuses files made with another model.

Example:
    >>> import numpy as np
    >>> info = EmbeddingInfo(model_id="m", dim=2, full_dim=2, task="document", task_scheme="symmetric")
    >>> table = embedding_table({"id": ["a"], "text": ["x"]}, np.array([[0.6, -0.8]], dtype=np.float32), info)
    >>> table.column_names, read_embedding_info(table.schema) == info
    (['id', 'text', 'embedding', 'binary'], True)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.compress import quantize, quantize_binary
from ogma.errors import missing_extra
from ogma.types import PRECISIONS, TASKS, Precision, Task

__all__ = [
    "BINARY_COLUMN",
    "EMBEDDING_COLUMN",
    "METADATA_KEY",
    "EmbeddingInfo",
    "embedding_table",
    "read_embedding_info",
    "require_pyarrow",
]

METADATA_KEY = b"ogma.embeddings"
EMBEDDING_COLUMN = "embedding"
BINARY_COLUMN = "binary"
FORMAT_VERSION = 1


def require_pyarrow() -> Any:
    """Import pyarrow, or raise :class:`~ogma.errors.MissingExtraError` with the pip fix."""
    try:
        import pyarrow
    except ImportError as exc:
        raise missing_extra("pyarrow", "ray", "Reading and writing embedding Parquet files") from exc
    return pyarrow


@dataclass(frozen=True)
class EmbeddingInfo:
    """How the vectors in an embeddings file were made (stored in its schema metadata).

    Attributes:
        model_id: The encoder's model id.
        dim: Dimension of the stored vectors (after Matryoshka truncation).
        full_dim: The model's own dimension.
        task: ``"query"``, ``"document"`` or ``"symmetric"``.
        task_scheme: The encoder's task scheme name (how tasks are marked).
        precision: Precision of the ``embedding`` column.

    Example:
        >>> EmbeddingInfo(model_id="m", dim=8, full_dim=8, task="document", task_scheme="symmetric").precision
        'float32'
    """

    model_id: str
    dim: int
    full_dim: int
    task: Task
    task_scheme: str
    precision: Precision = "float32"

    def to_json(self) -> bytes:
        """The schema metadata value."""
        return json.dumps({"format": FORMAT_VERSION, **asdict(self)}, sort_keys=True).encode()


def read_embedding_info(schema: Any, *, source: str = "this file") -> EmbeddingInfo:
    """Read the :class:`EmbeddingInfo` record from a pyarrow schema.

    Raises:
        ValueError: The schema has no (or a malformed) ``ogma.embeddings`` record.
    """
    raw = (schema.metadata or {}).get(METADATA_KEY)
    if raw is None:
        raise ValueError(
            f"{source} has no {METADATA_KEY.decode()!r} schema metadata: it was not written by "
            "ogma.distributed (ogma embed --ray), so the model that made its vectors is unknown"
        )
    try:
        record = json.loads(raw)
        info = EmbeddingInfo(
            model_id=str(record["model_id"]),
            dim=int(record["dim"]),
            full_dim=int(record["full_dim"]),
            task=record["task"],
            task_scheme=str(record["task_scheme"]),
            precision=record["precision"],
        )
    except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{source} has a malformed {METADATA_KEY.decode()!r} schema metadata record: {exc}") from exc
    if info.task not in TASKS or info.precision not in PRECISIONS:
        raise ValueError(f"{source}: unknown task {info.task!r} or precision {info.precision!r} in its metadata")
    return info


def embedding_table(columns: Mapping[str, Any], vectors: npt.NDArray[np.float32], info: EmbeddingInfo) -> Any:
    """Build a pyarrow Table: the given columns plus ``embedding`` and ``binary``.

    Args:
        columns: Input columns (``name -> pyarrow array or list``), e.g. ``id`` and ``text``.
        vectors: ``(rows, dim)`` float32 embeddings (normalised, already truncated).
        info: Recorded in the schema metadata; ``info.precision`` sets the ``embedding`` type.

    Returns:
        A ``pyarrow.Table``.

    Raises:
        ValueError: An input column is already named ``embedding`` or ``binary``.
    """
    pa = require_pyarrow()
    clash = {EMBEDDING_COLUMN, BINARY_COLUMN} & set(columns)
    if clash:
        raise ValueError(f"the input already has column(s) {sorted(clash)}; rename them before embedding")
    rows, dim = vectors.shape
    arrays = dict(columns)
    if info.precision in ("float32", "int8", "uint8"):
        values = quantize(vectors, info.precision, ranges="unit") if info.precision != "float32" else vectors
        flat = pa.array(np.ascontiguousarray(values).reshape(-1))
        arrays[EMBEDDING_COLUMN] = pa.FixedSizeListArray.from_arrays(flat, dim)
    packed = np.ascontiguousarray(quantize_binary(vectors)) if rows else np.zeros((0, (dim + 7) // 8), np.uint8)
    width = packed.shape[1]
    arrays[BINARY_COLUMN] = pa.Array.from_buffers(pa.binary(width), rows, [None, pa.py_buffer(packed.tobytes())])
    table = pa.table(arrays)
    return table.replace_schema_metadata({**(table.schema.metadata or {}), METADATA_KEY: info.to_json()})
