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
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from ogma.compress import quantize, quantize_binary
from ogma.errors import OgmaError, missing_extra
from ogma.types import PRECISIONS, TASKS, Precision, Task

__all__ = [
    "BINARY_COLUMN",
    "EMBEDDING_COLUMN",
    "METADATA_KEY",
    "EmbeddingFileError",
    "EmbeddingInfo",
    "embedding_table",
    "id_strings",
    "jsonl_table",
    "read_embedding_info",
    "require_parquet",
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


def require_parquet() -> Any:
    """Import ``pyarrow.parquet`` (``import pyarrow`` alone does not load it), or raise the pip fix."""
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise missing_extra("pyarrow", "ray", "Reading and writing embedding Parquet files") from exc
    return pq


class EmbeddingFileError(OgmaError, ValueError):
    """An input or embeddings file cannot be used (the message names the file, and the line or row)."""


def id_strings(column: Any, *, name: str = "id", source: str = "the input") -> Any:
    """An id column as Arrow strings: strings kept, integers as their decimal digits, anything else refused.

    Ray Data and Parquet files may carry integer ids; they become the same strings
    :func:`ogma.validation.record_id` makes of JSON integers.

    Raises:
        EmbeddingFileError: The column holds floats, booleans or another type.

    Example:
        >>> import pyarrow as pa
        >>> id_strings(pa.array([7, 18446744073709551615], pa.uint64())).to_pylist()
        ['7', '18446744073709551615']
    """
    pa = require_pyarrow()
    types = pa.types
    if types.is_string(column.type):
        return column
    if types.is_large_string(column.type) or types.is_integer(column.type) or types.is_null(column.type):
        return column.cast(pa.string())
    raise EmbeddingFileError(
        f"{source}: column {name!r} holds {column.type} values; ids must be strings (or integers): "
        "write them as strings so they are kept exactly"
    )


def jsonl_table(path: str | Path, *, text_column: str = "text", id_column: str = "id") -> Any:
    """Read a JSONL file into a ``pyarrow.Table`` of string ids, texts and metadata (JSON strings).

    Each non-blank line is an object with a string text and an id, read by
    :func:`ogma.validation.record_id` (the rule ``ogma index`` uses): a string id is kept
    exactly, a JSON integer becomes its digits, anything else is refused. An object
    ``metadata`` is kept as a JSON string column (only when some line has one); other
    keys are not carried.

    Raises:
        EmbeddingFileError: A line is not such an object, or its id is missing, empty or not
            a string or integer (the message names the file and the line).
        FileNotFoundError: The file does not exist.

    Example:
        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        ...     _ = handle.write('{"id": "00123", "text": "a"}\\n{"id": 9007199254740993, "text": "b"}\\n')
        >>> jsonl_table(handle.name).column("id").to_pylist()
        ['00123', '9007199254740993']
        >>> os.unlink(handle.name)
    """
    pa = require_pyarrow()
    ids: list[str] = []
    texts: list[str] = []
    metas: list[str | None] = []
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for number, line in enumerate(handle, start=1):
                _jsonl_row(line, f"{path}:{number}", text_column, id_column, (ids, texts, metas))
    except UnicodeDecodeError as exc:
        raise EmbeddingFileError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start} of a block)") from exc
    columns: dict[str, Any] = {id_column: pa.array(ids, pa.string()), text_column: pa.array(texts, pa.string())}
    if any(m is not None for m in metas):
        columns["metadata"] = pa.array(metas, pa.string())
    return pa.table(columns)


def _jsonl_row(
    line: str, where: str, text_column: str, id_column: str, out: tuple[list[str], list[str], list[str | None]]
) -> None:
    """Check one JSONL line and append its id, text and metadata to ``out`` (blank lines are skipped)."""
    from ogma.validation import record_id

    if not line.strip():
        return
    try:
        record = json.loads(line)
    except (ValueError, RecursionError) as exc:
        raise EmbeddingFileError(f"{where}: not a JSON object ({_first_line(exc)}); each line is one record") from exc
    if not isinstance(record, dict) or not isinstance(record.get(text_column), str):
        raise EmbeddingFileError(f"{where}: expected an object with a string {text_column!r}: {line[:80]!r}")
    try:
        doc_id = record_id(record, id_column)
    except ValueError as exc:
        raise EmbeddingFileError(f"{where}: {exc}") from exc
    if doc_id is None:
        raise EmbeddingFileError(f"{where}: no {id_column!r}; every record needs an id (ogma import stores rows by it)")
    metadata = record.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise EmbeddingFileError(f"{where}: 'metadata' must be an object, got {type(metadata).__name__}")
    text: str = record[text_column]
    meta = None if metadata is None else json.dumps(metadata, ensure_ascii=False)
    try:
        for value in (doc_id, text, meta or ""):
            value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise EmbeddingFileError(f"{where}: not valid Unicode (a lone surrogate such as \\ud800)") from exc
    ids, texts, metas = out
    ids.append(doc_id)
    texts.append(text)
    metas.append(meta)


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__


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
