"""Import precomputed embeddings from Parquet (``ogma embed --ray`` output) into a store.

Record batches go straight into the store's ``add`` with ``embeddings=`` (any backend:
a SQLite ``Store`` or a ``MilvusStore``): nothing is re-encoded, and ingest runs at the
store's own speed. The file's schema metadata
(see :mod:`ogma.distributed.files`) must name the store's model, task scheme and
dimension, else :class:`~ogma.errors.StoreMismatchError` is raised before anything is written.

Example:
    >>> from ogma import Store                                          # doctest: +SKIP
    >>> with Store("notes.db") as store:                               # doctest: +SKIP
    ...     import_parquet(store, ["vectors/part-0.parquet"])
    120000
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ogma.distributed.files import EMBEDDING_COLUMN, EmbeddingInfo, read_embedding_info, require_pyarrow
from ogma.errors import StoreMismatchError
from ogma.store.encoding import StoreEncoder, model_record
from ogma.store.migrate import source_config
from ogma.store.protocol import StoreProtocol

__all__ = ["check_info", "declared_encoder", "embedding_files", "import_parquet"]

logger = logging.getLogger(__name__)

DEFAULT_IMPORT_ROWS = 8192
"""Rows read per record batch (and written per store transaction)."""


def embedding_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand folders to the ``*.parquet`` files in them (sorted); check that files exist.

    Raises:
        FileNotFoundError: A path does not exist, or a folder holds no Parquet file.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found = sorted(path.glob("*.parquet"))
            if not found:
                raise FileNotFoundError(f"folder {str(path)!r} holds no .parquet file")
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"embeddings file {str(path)!r} does not exist")
    return files


def check_info(store: StoreProtocol, info: EmbeddingInfo, *, source: str) -> None:
    """Refuse vectors that another model (or a query encoding) made.

    Raises:
        StoreMismatchError: Model id, task scheme or dimension differ from the store's,
            or the vectors were encoded as queries.
        ValueError: The file has no float ``embedding`` column.
    """
    config = source_config(store)
    model, scheme = config["model_id"], config["task_scheme"]
    if model is not None and model != info.model_id:
        raise StoreMismatchError(
            f"{source} holds vectors of model {info.model_id!r}, but this store was built with "
            f"{model!r}; import it into a store of that model (or re-embed with {model!r})"
        )
    if scheme is not None and scheme != info.task_scheme:
        raise StoreMismatchError(
            f"{source} was encoded with task scheme {info.task_scheme!r}, the store with {scheme!r}"
        )
    if info.task == "query":
        raise StoreMismatchError(
            f"{source} holds query encodings (task='query'); a store holds documents: re-embed with task='document'"
        )
    accepted = {d for d in (config["dim"], config["full_dim"]) if d is not None}
    if accepted and info.dim not in accepted:
        raise StoreMismatchError(f"{source} holds {info.dim}-d vectors, but this store expects {config['dim']}-d")
    if info.precision != "float32":
        raise ValueError(
            f"{source} was written with precision={info.precision!r}; the store needs float32 vectors "
            "(its own index compresses them): re-embed with precision='float32'"
        )


def declared_encoder(info: EmbeddingInfo) -> StoreEncoder:
    """An encoder stand-in that records ``info``'s model in a new store, and never encodes.

    Example:
        >>> enc = declared_encoder(EmbeddingInfo("m", 4, 4, "document", "symmetric"))
        >>> enc.model_id, enc.dim
        ('m', 4)
    """
    return model_record(info.model_id, info.full_dim, info.task_scheme, origin="imported")


def import_parquet(
    store: StoreProtocol,
    paths: Sequence[str | Path],
    *,
    batch_rows: int = DEFAULT_IMPORT_ROWS,
    id_column: str = "id",
    text_column: str = "text",
    metadata_column: str = "metadata",
) -> int:
    """Add the rows of embedding Parquet files (or folders of them) to ``store``, no re-encoding.

    Every file is checked (:func:`check_info`) before the first row is written. Rows
    with an id already in the store replace it (upsert), as in :meth:`Store.add`. A row
    whose vector is null is stored without one (found by text and filters only), and one
    whose text is null without text (as :meth:`Store.add` takes ``None`` in either).

    Args:
        store: An open, writable store of any backend.
        paths: Parquet files or folders written by :func:`ogma.distributed.embed_to_parquet`.
        batch_rows: Rows per record batch and per store transaction.
        id_column: Column with the ids.
        text_column: Column with the texts.
        metadata_column: Optional column of metadata: JSON strings or structs (absent: none).

    Returns:
        The number of rows imported.

    Raises:
        StoreMismatchError: A file's vectors were made by another model, task scheme or dimension.
        ValueError: A file lacks the Ogma schema record or a needed column.
        FileNotFoundError: A path does not exist.
    """
    pq = require_pyarrow().parquet
    files = embedding_files(paths)
    infos: list[EmbeddingInfo] = []
    for path in files:
        schema = pq.read_schema(path)
        info = read_embedding_info(schema, source=str(path))
        check_info(store, info, source=str(path))
        missing = [c for c in (id_column, text_column, EMBEDDING_COLUMN) if c not in schema.names]
        if missing:
            raise ValueError(f"{path} has no column {missing[0]!r} (columns: {schema.names})")
        infos.append(info)
    total = 0
    for path, info in zip(files, infos, strict=True):
        for ids, texts, vectors, metas in _prefetched(
            _read_batches(path, info, batch_rows, id_column, text_column, metadata_column)
        ):
            store.add(texts, metas, ids, embeddings=vectors, batch_size=max(len(ids), 1))
            total += len(ids)
        logger.info("Imported %s (%d rows so far)", path, total)
    return total


Batch = tuple[list[Any], list[Any], Any, list[Any] | None]
"""``(ids, texts, vectors, metadatas)``: vectors an ``(n, dim)`` float32 array, or a list with ``None`` rows."""


def _read_batches(
    path: Path, info: EmbeddingInfo, batch_rows: int, id_column: str, text_column: str, metadata_column: str
) -> Iterator[Batch]:
    """Decode one file into ``(ids, texts, vectors, metadatas)`` batches ready for ``Store.add``.

    The vectors are a zero-copy view of the Arrow buffer (a fixed-size list of float32
    flattens to one contiguous float32 array); ids and texts become Python strings in
    one C-level pass each.
    """
    pq = require_pyarrow().parquet
    parquet = pq.ParquetFile(path, memory_map=True)
    columns = [id_column, text_column, EMBEDDING_COLUMN]
    has_meta = metadata_column in parquet.schema_arrow.names
    if has_meta:
        columns.append(metadata_column)
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        rows = batch.num_rows
        ids, texts = batch.column(0), batch.column(1)
        if ids.null_count:
            raise ValueError(f"{path}: column {id_column!r} has {ids.null_count} null id(s); every row needs an id")
        embedding = batch.column(2)
        flat = embedding.flatten().to_numpy(zero_copy_only=False)  # the non-null rows' values only
        vectors: Any = np.asarray(flat, dtype=np.float32).reshape(rows - embedding.null_count, info.dim)
        if embedding.null_count:  # rows without a vector: stored, found by text and filters only
            present = iter(vectors)
            vectors = [next(present) if valid else None for valid in embedding.is_valid().to_pylist()]
        metas = _metadatas(batch.column(3).to_pylist(), str(path)) if has_meta else None
        yield _strings(ids), _strings(texts), vectors, metas


def _strings(column: Any) -> list[Any]:
    """A string column as Python strings (nulls as ``None``; other types, e.g. integer ids, through ``str``)."""
    values: list[Any] = column.to_pylist()
    types = require_pyarrow().types
    if types.is_string(column.type) or types.is_large_string(column.type):
        return values
    return [v if v is None else str(v) for v in values]


_DONE = object()


def _prefetched(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """Decode the next batches in a background thread while the caller writes the current one.

    Parquet decoding (in Arrow) and the SQLite writes (in SQLite) both run without the
    GIL, so on two or more cores reading overlaps writing. Errors in the reader are
    raised here, in the caller's thread; when the caller stops early the reader stops too.
    """
    out: queue.Queue[Any] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def read() -> None:
        try:
            for batch in batches:
                if not put(batch):
                    return
        except BaseException as exc:  # handed to the caller's thread, raised there
            put(exc)
            return
        put(_DONE)

    reader = threading.Thread(target=read, name="ogma-parquet-reader", daemon=True)
    reader.start()
    try:
        while True:
            item = out.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        reader.join()


def _metadatas(values: list[Any], source: str) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"{source}: a metadata value is not valid JSON: {value[:80]!r}") from exc
        out.append(value)
    return out
