"""Opening a store file: create or check the configuration record, fix it on the first vectors.

Example:
    >>> from ogma.store.sqlite.connect import connect
    >>> conn = connect(":memory:")
    >>> open_config(conn, path=":memory:", encoder=None, dim=4, precision="binary").dim
    4
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from ogma.compress import Int8Ranges, normalize
from ogma.errors import StoreError
from ogma.store.config import check_encoder_dim
from ogma.store.encoding import StoreEncoder
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.schema import (
    CONFIG,
    DEFAULT_FTS_TOKENIZER,
    IndexPrecision,
    StoreConfig,
    check_compatible,
    create_schema,
    create_vector_tables,
    migrate,
    read_config,
    write_config,
)

__all__ = [
    "MIN_CALIBRATION_ROWS",
    "Int8Setting",
    "check_store_path",
    "file_size",
    "int8_ranges_for",
    "needs_first_vectors",
    "open_config",
    "settle_first_vectors",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]

Int8Setting = Literal["auto", "unit"]
"""How an int8 store picks its quantization ranges (or pass :class:`~ogma.compress.Int8Ranges`)."""

MIN_CALIBRATION_ROWS = 64
"""Vectors needed in the first batch to calibrate int8 ranges (fewer: sqlite-vec's ``'unit'`` ranges)."""


def file_size(path: str) -> int:
    """Bytes of the store's file: 0 for ``":memory:"`` or a file that cannot be read.

    Example:
        >>> file_size(":memory:")
        0
    """
    if path == ":memory:":
        return 0
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def check_store_path(path: Any) -> str:
    """The store's path as a string, refusing values SQLite would silently misread.

    SQLite opens a private temporary database for ``""`` (every write is lost on close),
    and ``str(None)`` would create files named ``None``, ``None-wal`` and ``None-shm``.

    Raises:
        TypeError: ``path`` is not a ``str`` or ``os.PathLike``.
        ValueError: ``path`` is empty or names a directory.

    Example:
        >>> check_store_path(":memory:")
        ':memory:'
        >>> check_store_path("")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: path is empty: SQLite would open a private temporary database and every write would be lost ...
    """
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if not isinstance(path, str):
        raise TypeError(
            f"path must be a file path (str or pathlib.Path), or ':memory:' for an in-memory store; "
            f"got {type(path).__name__} {path!r}"
        )
    if not path:
        raise ValueError(
            "path is empty: SQLite would open a private temporary database and every write would be lost when it "
            "closes; give a file path such as 'notes.db', or ':memory:' for an in-memory store"
        )
    if "\x00" in path:
        raise ValueError(f"path {path!r} contains a NUL character")
    from ogma.validation import check_unicode

    check_unicode(path, "path")
    if path != ":memory:" and os.path.isdir(path):
        raise ValueError(f"path {path!r} is a directory; give the store's file path inside it, e.g. {path}/ogma.db")
    return path


def open_config(
    conn: Connection,
    *,
    path: str,
    encoder: StoreEncoder | None,
    dim: int | None,
    precision: IndexPrecision | None,
    fts_tokenizer: str | None = None,
    int8_ranges: Int8Ranges | Int8Setting = "auto",
    read_only: bool = False,
) -> StoreConfig:
    """Create a new store's record, or migrate and check an existing one.

    Raises:
        StoreMismatchError: The file was built with other settings.
        StoreError: A read-only open of a file that is not a store.
        ValueError: ``dim`` above the encoder's dimension.
    """
    exists = conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (CONFIG,)) is not None
    if not exists:
        if read_only:
            raise StoreError(f"{path!r} is not an Ogma store and cannot be created read-only")
        full_dim = encoder.dim if encoder is not None else None
        if dim is not None and full_dim is not None and dim > full_dim:
            raise ValueError(f"dim {dim} is larger than the encoder's dimension {full_dim}")
        config = StoreConfig(
            model_id=encoder.model_id if encoder is not None else None,
            dim=dim if dim is not None else full_dim,
            full_dim=full_dim if full_dim is not None else dim,
            task_scheme=encoder.task_scheme if encoder is not None else None,
            precision=precision or "float32",
            int8_ranges=int8_ranges if isinstance(int8_ranges, Int8Ranges) else None,
            fts_tokenizer=fts_tokenizer or DEFAULT_FTS_TOKENIZER,
            exact_in_index=(precision or "float32") == "float32",
        )
        create_schema(conn, config)
        return read_config(conn)
    if not read_only:
        migrate(conn)
    config = read_config(conn)
    check_compatible(
        config,
        model_id=encoder.model_id if encoder is not None else None,
        dim=dim,
        precision=precision,
        fts_tokenizer=fts_tokenizer,
    )
    check_encoder_dim(config.dim, config.full_dim, encoder.dim if encoder is not None else None, container="store file")
    return config


def needs_first_vectors(config: StoreConfig) -> bool:
    """Whether the record still waits for the first vectors (dimension or int8 ranges unset)."""
    return config.dim is None or (config.precision == "int8" and config.int8_ranges is None)


def int8_ranges_for(vectors: FloatArray, setting: Int8Ranges | Int8Setting) -> Int8Ranges:
    """int8 ranges for a store whose first vectors are ``vectors`` (already at the store's dim).

    ``"auto"`` (with at least :data:`MIN_CALIBRATION_ROWS` vectors) uses one symmetric range
    ``[-m, m]`` for every dimension, ``m`` = 1.05 × the largest absolute value of the unit
    vectors. Codes then stay proportional to the values, so sqlite-vec's own int8 cosine
    (``backend="sqlite-vec"``) ranks like the float vectors, while the 256 levels cover the
    values far better than the fixed ``[-1, 1]``. Per-dimension ranges would use the levels
    slightly better but distort sqlite-vec's distances. Otherwise (or with ``"unit"``):
    sqlite-vec's fixed ranges.

    Example:
        >>> import numpy as np
        >>> r = int8_ranges_for(np.tile(np.array([[0.6, -0.8]], dtype=np.float32), (64, 1)), "auto")
        >>> round(float(r.high[0]), 2), round(float(r.low[1]), 2)
        (0.84, -0.84)
    """
    if isinstance(setting, Int8Ranges):
        return setting
    dim = int(vectors.shape[1])
    if setting == "auto" and vectors.shape[0] >= MIN_CALIBRATION_ROWS:
        bound = min(1.0, max(float(np.abs(normalize(vectors)).max()) * 1.05, 1e-6))
        return Int8Ranges(np.full(dim, -bound, dtype=np.float32), np.full(dim, bound, dtype=np.float32))
    return Int8Ranges.unit(dim)


def settle_first_vectors(
    conn: Connection, vectors: FloatArray, *, int8_ranges: Int8Ranges | Int8Setting
) -> StoreConfig:
    """Fix the dimension (and int8 ranges) from the first vectors, creating the vector tables.

    Runs in a write transaction and re-reads the record first, so when several
    processes race, the first one's choice stands for all.

    Args:
        conn: The connection.
        vectors: The first batch, already truncated to the store's dimension when it has one.
        int8_ranges: The store's int8 ranges setting.
    """
    with conn.transaction():
        fresh = read_config(conn)
        changes: dict[str, Any] = {}
        if fresh.dim is None:
            changes["dim"] = int(vectors.shape[1])
            changes["full_dim"] = fresh.full_dim or int(vectors.shape[1])
        if fresh.precision == "int8" and fresh.int8_ranges is None:
            changes["int8_ranges"] = int8_ranges_for(vectors, int8_ranges)
        new = replace(fresh, **changes)
        if changes:
            create_vector_tables(conn, int(new.dim or 0), new.precision)
            write_config(conn, new)
    return new
