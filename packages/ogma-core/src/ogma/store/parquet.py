"""Import precomputed embeddings from Parquet (``ogma embed --ray`` output) into a store.

Record batches go straight into the store's ``add`` with ``embeddings=`` (any backend:
a SQLite ``Store`` or a ``MilvusStore``): nothing is re-encoded, and ingest runs at the
store's own speed. The file's schema metadata
(see :mod:`ogma.distributed.files`) must name the store's model, task scheme and
dimension, else :class:`~ogma.errors.StoreMismatchError` is raised before anything is written.

Every file is checked whole before the first row is written (:func:`check_parquet`):
its footer, its columns against the recorded schema (string ids and texts, a
``fixed_size_list<float32>[dim]`` embedding column), and every data page (decoded once,
in Arrow: null or empty ids, the same id twice, NaN vectors, invalid metadata), so a bad
file changes nothing in the store; errors name the file and, where known, the row.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ogma.distributed.files import (
    EMBEDDING_COLUMN,
    EmbeddingFileError,
    EmbeddingInfo,
    read_embedding_info,
    require_parquet,
    require_pyarrow,
)
from ogma.errors import OgmaError, StoreMismatchError
from ogma.store.encoding import StoreEncoder, model_record
from ogma.store.migrate import source_config
from ogma.store.protocol import StoreProtocol
from ogma.store.validate import check_metadatas

__all__ = ["ParquetPlan", "check_info", "check_parquet", "declared_encoder", "embedding_files", "import_parquet"]

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


@dataclass(frozen=True)
class ParquetPlan:
    """Embedding files checked whole by :func:`check_parquet`, ready for :func:`import_parquet`.

    Attributes:
        files: The Parquet files, in import order.
        infos: Each file's :class:`~ogma.distributed.files.EmbeddingInfo` (all of one model).
        rows: Rows in all files.
        id_column: Column with the ids.
        text_column: Column with the texts.
        metadata_column: Column with the metadata (absent in a file: none).
    """

    files: tuple[Path, ...]
    infos: tuple[EmbeddingInfo, ...]
    rows: int
    id_column: str = "id"
    text_column: str = "text"
    metadata_column: str = "metadata"

    @property
    def info(self) -> EmbeddingInfo:
        """The files' shared record (model, dimension, task scheme)."""
        return self.infos[0]


def check_parquet(
    paths: Sequence[str | Path],
    *,
    id_column: str = "id",
    text_column: str = "text",
    metadata_column: str = "metadata",
) -> ParquetPlan:
    """Check embedding Parquet files whole, without a store: what :func:`import_parquet` would refuse.

    Each file must be a readable Parquet file with the Ogma schema record; its columns
    must match that record (string ids, string texts, a ``fixed_size_list<float32>`` of the
    recorded dimension, string or struct metadata); every data page must decode; ids must
    be non-empty, present and unique within the file (as in one :meth:`Store.add` call);
    vectors finite; metadata JSON objects. All files must come from one model.

    Args:
        paths: Parquet files or folders of them.
        id_column: Column with the ids.
        text_column: Column with the texts.
        metadata_column: Optional column of metadata: JSON strings or structs.

    Returns:
        A :class:`ParquetPlan` for :func:`import_parquet`.

    Raises:
        EmbeddingFileError: A file is not Parquet, is truncated or corrupt, or a column or
            row does not fit (the message names the file, and the row where known).
        ValueError: A file lacks the Ogma schema record.
        FileNotFoundError: A path does not exist.

    Example:
        >>> plan = check_parquet(["vectors/"])                       # doctest: +SKIP
        >>> plan.rows, plan.info.model_id                            # doctest: +SKIP
        (120000, 'sentence-transformers/all-MiniLM-L6-v2')
    """
    files = embedding_files(paths)
    infos: list[EmbeddingInfo] = []
    rows = 0
    for path in files:
        parquet = _open(path)
        info = read_embedding_info(parquet.schema_arrow, source=str(path))
        if infos and _identity(info) != _identity(infos[0]):
            raise EmbeddingFileError(
                f"{path} holds {info.dim}-d vectors of model {info.model_id!r} ({info.task}, {info.task_scheme}), "
                f"but {files[0]} holds {infos[0].dim}-d vectors of {infos[0].model_id!r} "
                f"({infos[0].task}, {infos[0].task_scheme}); import files of one model into one store"
            )
        _check_columns(path, parquet.schema_arrow, info, id_column, text_column, metadata_column)
        _check_rows(path, parquet, id_column, text_column, metadata_column)
        infos.append(info)
        rows += parquet.metadata.num_rows
    return ParquetPlan(tuple(files), tuple(infos), rows, id_column, text_column, metadata_column)


def _identity(info: EmbeddingInfo) -> tuple[Any, ...]:
    return (info.model_id, info.dim, info.full_dim, info.task, info.task_scheme, info.precision)


def _arrow_errors() -> tuple[type[BaseException], ...]:
    return (require_pyarrow().ArrowException, OSError, ValueError)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _open(path: Path) -> Any:
    """Open a Parquet file's footer, or raise an error naming the file."""
    pq = require_parquet()
    try:
        return pq.ParquetFile(path, memory_map=True)
    except _arrow_errors() as exc:
        raise EmbeddingFileError(
            f"{path} is not a readable Parquet file ({_reason(exc)}): give files written by ogma embed --ray"
        ) from exc


def _check_columns(
    path: Path, schema: Any, info: EmbeddingInfo, id_column: str, text_column: str, metadata_column: str
) -> None:
    """Refuse columns whose types do not match the recorded schema (before any row is read)."""
    pa = require_pyarrow()
    types = pa.types
    missing = [c for c in (id_column, text_column, EMBEDDING_COLUMN) if c not in schema.names]
    if missing:
        raise EmbeddingFileError(f"{path} has no column {missing[0]!r} (columns: {schema.names})")
    strings = (types.is_string, types.is_large_string)
    id_type = schema.field(id_column).type
    if not any(test(id_type) for test in strings):
        raise EmbeddingFileError(
            f"{path}: column {id_column!r} holds {id_type} values, but ids are strings (leading zeros and long "
            "numbers are kept only as text): re-embed the corpus with this version of ogma embed --ray"
        )
    text_type = schema.field(text_column).type
    if not (any(test(text_type) for test in strings) or types.is_null(text_type)):
        raise EmbeddingFileError(f"{path}: column {text_column!r} holds {text_type} values, expected strings")
    expected = pa.list_(pa.float32(), info.dim)
    found = schema.field(EMBEDDING_COLUMN).type
    if found != expected:
        raise EmbeddingFileError(
            f"{path}: column {EMBEDDING_COLUMN!r} is {_describe(found)}, but its schema record says {info.dim}-d "
            f"float32 vectors ({_describe(expected)}); the file was not written by ogma embed --ray, or was "
            "rewritten since"
        )
    if metadata_column in schema.names:
        meta_type = schema.field(metadata_column).type
        if not (any(test(meta_type) for test in strings) or types.is_struct(meta_type) or types.is_null(meta_type)):
            raise EmbeddingFileError(
                f"{path}: column {metadata_column!r} holds {meta_type} values, expected JSON strings or structs"
            )


def _check_rows(path: Path, parquet: Any, id_column: str, text_column: str, metadata_column: str) -> None:
    """Decode every data page of one file and check its rows (in Arrow; metadata in Python)."""
    pa = require_pyarrow()
    pc = _compute()
    columns = [id_column, text_column, EMBEDDING_COLUMN]
    has_meta = metadata_column in parquet.schema_arrow.names
    if has_meta:
        columns.append(metadata_column)
    id_chunks: list[Any] = []
    start = 0
    for batch in _checked_batches(path, parquet, columns):
        ids, embedding = batch.column(0), batch.column(2)
        if ids.null_count:
            row = start + _first(pc.is_null(ids))
            raise EmbeddingFileError(f"{path}: row {row} has no id ({id_column!r} is null); every row needs one")
        empty = pc.equal(pc.utf8_length(ids), 0)
        if pc.any(empty).as_py():
            raise EmbeddingFileError(f"{path}: row {start + _first(empty)} has an empty id; ids must be non-empty")
        values = embedding.flatten()
        if len(values) and not pc.all(pc.is_finite(values).fill_null(False)).as_py():
            present = [i for i, valid in enumerate(embedding.is_valid().to_pylist()) if valid]
            bad = _first(pc.invert(pc.is_finite(values).fill_null(False))) // embedding.type.list_size
            raise EmbeddingFileError(
                f"{path}: row {start + present[bad]} has a null, NaN or infinite value in its vector"
            )
        if has_meta:
            try:
                check_metadatas(_metadatas(batch.column(3).to_pylist(), str(path)), batch.num_rows)
            except (TypeError, ValueError) as exc:
                raise EmbeddingFileError(
                    f"{path}: the metadata of rows {start}-{start + batch.num_rows - 1} cannot be stored "
                    f"({_reason(exc)}; metadatas[i] is row {start} + i)"
                ) from exc
        id_chunks.append(ids)
        start += batch.num_rows
    if id_chunks:
        _check_unique(path, pa.chunked_array(id_chunks), pc)


def _checked_batches(path: Path, parquet: Any, columns: list[str]) -> Iterator[Any]:
    """Every record batch of the file, row group by row group, each decoded and validated in full."""
    start = 0
    for group in range(parquet.metadata.num_row_groups):
        rows = parquet.metadata.row_group(group).num_rows
        try:
            for batch in parquet.iter_batches(batch_size=DEFAULT_IMPORT_ROWS, row_groups=[group], columns=columns):
                batch.validate(full=True)  # offsets in range, strings valid UTF-8
                yield batch
        except _arrow_errors() as exc:
            raise EmbeddingFileError(
                f"{path}: rows {start}-{start + rows - 1} (row group {group}) cannot be read ({_reason(exc)}); "
                "the file is corrupt"
            ) from exc
        start += rows


def _describe(arrow_type: Any) -> str:
    """An Arrow type without its child field's name: ``list<float>``, ``fixed_size_list<float>[8]``."""
    types = require_pyarrow().types
    if types.is_fixed_size_list(arrow_type):
        return f"fixed_size_list<{arrow_type.value_type}>[{arrow_type.list_size}]"
    if types.is_list(arrow_type) or types.is_large_list(arrow_type):
        kind = "large_list" if types.is_large_list(arrow_type) else "list"
        return f"{kind}<{arrow_type.value_type}>"
    return str(arrow_type)


def _compute() -> Any:
    import pyarrow.compute as pc

    return pc


def _first(mask: Any) -> int:
    """Index of the first true value of a boolean array."""
    return int(_compute().index(mask, True).as_py())


def _check_unique(path: Path, ids: Any, pc: Any) -> None:
    """Refuse an id that appears twice in one file, as :meth:`Store.add` refuses one twice in a call."""
    if pc.count_distinct(ids).as_py() == len(ids):
        return
    counts = pc.value_counts(ids)
    repeated = counts.filter(pc.greater(counts.field("counts"), 1)).field("values")[0].as_py()
    rows = pc.indices_nonzero(pc.equal(ids, repeated)).to_pylist()[:2]
    raise EmbeddingFileError(
        f"{path}: id {repeated!r} appears twice (rows {rows[0]} and {rows[1]}); ids must be unique within a "
        "file, as in one Store.add call"
    )


def import_parquet(
    store: StoreProtocol,
    paths: Sequence[str | Path] | ParquetPlan,
    *,
    batch_rows: int = DEFAULT_IMPORT_ROWS,
    id_column: str = "id",
    text_column: str = "text",
    metadata_column: str = "metadata",
) -> int:
    """Add the rows of embedding Parquet files (or folders of them) to ``store``, no re-encoding.

    Every file is checked whole (:func:`check_parquet`, :func:`check_info`) before the
    first row is written, so a file that fails changes nothing. Rows with an id already
    in the store replace it (upsert), as in :meth:`Store.add`; an id twice in one file is
    refused whatever ``batch_rows`` is (as the same id twice in one ``add`` call), and a
    later file's row replaces an earlier file's. A row whose vector is null is stored
    without one (found by text and filters only), and one whose text is null without
    text (as :meth:`Store.add` takes ``None`` in either).

    Args:
        store: An open, writable store of any backend.
        paths: Parquet files or folders written by :func:`ogma.distributed.embed_to_parquet`,
            or a :class:`ParquetPlan` from :func:`check_parquet` (not checked again).
        batch_rows: Rows per record batch and per store transaction.
        id_column: Column with the ids (ignored with a plan).
        text_column: Column with the texts (ignored with a plan).
        metadata_column: Optional column of metadata: JSON strings or structs (absent: none;
            ignored with a plan).

    Returns:
        The number of rows imported.

    Raises:
        StoreMismatchError: A file's vectors were made by another model, task scheme or dimension.
        EmbeddingFileError: A file is not a readable embeddings file, or a column or row does
            not fit (named with the file and row).
        ValueError: A file lacks the Ogma schema record; ``batch_rows`` is not a positive integer.
        FileNotFoundError: A path does not exist.
    """
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ValueError(f"batch_rows must be a positive integer, got {batch_rows!r}")
    plan = (
        paths
        if isinstance(paths, ParquetPlan)
        else check_parquet(paths, id_column=id_column, text_column=text_column, metadata_column=metadata_column)
    )
    for path, info in zip(plan.files, plan.infos, strict=True):
        check_info(store, info, source=str(path))
    total = 0
    for path, info in zip(plan.files, plan.infos, strict=True):
        batches = _read_batches(path, info, batch_rows, plan.id_column, plan.text_column, plan.metadata_column)
        row = 0
        for ids, texts, vectors, metas in _prefetched(batches):
            try:
                store.add(texts, metas, ids, embeddings=vectors, batch_size=max(len(ids), 1))
            except OgmaError:
                raise
            except (TypeError, ValueError) as exc:  # the store's own checks, e.g. a backend's field limit
                raise EmbeddingFileError(f"{path}: rows {row}-{row + len(ids) - 1}: {_reason(exc)}") from exc
            row += len(ids)
            total += len(ids)
        logger.info("Imported %s (%d rows so far)", path, total)
    return total


Batch = tuple[list[Any], list[Any], Any, list[Any] | None]
"""``(ids, texts, vectors, metadatas)``: vectors an ``(n, dim)`` float32 array, or a list with ``None`` rows."""


def _read_batches(
    path: Path, info: EmbeddingInfo, batch_rows: int, id_column: str, text_column: str, metadata_column: str
) -> Iterator[Batch]:
    """Decode one checked file into ``(ids, texts, vectors, metadatas)`` batches ready for ``Store.add``.

    The vectors are a zero-copy view of the Arrow buffer (a fixed-size list of float32
    flattens to one contiguous float32 array); ids and texts become Python strings in
    one C-level pass each.
    """
    parquet = _open(path)
    columns = [id_column, text_column, EMBEDDING_COLUMN]
    has_meta = metadata_column in parquet.schema_arrow.names
    if has_meta:
        columns.append(metadata_column)
    for batch in parquet.iter_batches(batch_size=batch_rows, columns=columns):
        rows = batch.num_rows
        ids, texts = batch.column(0), batch.column(1)
        embedding = batch.column(2)
        flat = embedding.flatten().to_numpy(zero_copy_only=False)  # the non-null rows' values only
        vectors: Any = np.asarray(flat, dtype=np.float32).reshape(rows - embedding.null_count, info.dim)
        if embedding.null_count:  # rows without a vector: stored, found by text and filters only
            present = iter(vectors)
            vectors = [next(present) if valid else None for valid in embedding.is_valid().to_pylist()]
        metas = _metadatas(batch.column(3).to_pylist(), str(path)) if has_meta else None
        yield ids.to_pylist(), _strings(texts), vectors, metas


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
