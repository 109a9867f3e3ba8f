"""Encode a corpus on Ray Data: an actor pool of :class:`~ogma.TextEncoder` s, Parquet out.

Each actor loads its encoder once (through :mod:`ogma.model_cache`) and embeds the
blocks Ray Data hands it; inside a block, :meth:`ogma.TextEncoder.encode` cuts
token-budgeted, length-sorted forward passes (:func:`ogma.tokenize.plan_batches`),
exactly as it does in one process, so a row's vector is the same either way.

Ray Data does not keep row order unless ``DataContext.execution_options.preserve_order``
is set; the ``id`` column carries each row's identity through.

Example:
    >>> import ray                                                          # doctest: +SKIP
    >>> from ogma.distributed import embed_dataset                           # doctest: +SKIP
    >>> ds = ray.data.from_items([{"id": "a", "text": "Paris is in France."}])  # doctest: +SKIP
    >>> embed_dataset(ds, model="all-MiniLM-L6-v2", num_actors=2).write_parquet("out/")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ogma.distributed.files import (
    EmbeddingFileError,
    EmbeddingInfo,
    embedding_table,
    id_strings,
    jsonl_table,
    require_pyarrow,
)
from ogma.errors import missing_extra
from ogma.registry import DEFAULT_MODEL
from ogma.types import PRECISIONS, TASKS, Precision, Task

__all__ = [
    "EncodeOptions",
    "EncoderActor",
    "embed_dataset",
    "embed_to_parquet",
    "init_ray",
    "input_dataset",
    "load_input",
    "read_texts",
]

logger = logging.getLogger(__name__)

DEFAULT_ROWS_PER_BLOCK = 256
"""Rows Ray Data hands an actor per call; the encoder splits them by token budget."""


def require_ray() -> Any:
    """Import ``ray.data``, or raise :class:`~ogma.errors.MissingExtraError` with the pip fix."""
    try:
        import ray
        import ray.data
    except ImportError as exc:
        raise missing_extra("ray", "ray", "Encoding on Ray Data") from exc
    return ray


@dataclass(frozen=True)
class EncodeOptions:
    """What every encoder actor loads and how it encodes (picklable, sent to the actors).

    Attributes:
        model: Model name, hub id or local folder (must resolve on every node).
        task: ``"query"``, ``"document"`` or ``"symmetric"``.
        dim: Matryoshka dimension (``None``: the model's).
        precision: Precision of the ``embedding`` column (the ``binary`` column is always written).
        threads: Inference threads per actor.
        batch_size: Maximum texts per forward pass.
        max_batch_tokens: Maximum padded tokens per forward pass.
        quantized: Run the int8 ONNX model.
        text_column: Input column with the texts.
        id_column: Input column with the ids.

    Example:
        >>> EncodeOptions(model="m").task
        'document'
    """

    model: str = DEFAULT_MODEL
    task: Task = "document"
    dim: int | None = None
    precision: Precision = "float32"
    threads: int = 1
    batch_size: int = 32
    max_batch_tokens: int = 8192
    quantized: bool = False
    text_column: str = "text"
    id_column: str = "id"

    def check(self) -> EncodeOptions:
        """Validate the options (raises ``ValueError`` naming the bad one); returns self."""
        if self.task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}; got {self.task!r}")
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}")
        for name in ("threads", "batch_size", "max_batch_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.dim is not None and (isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1):
            raise ValueError(f"dim must be a positive integer or None, got {self.dim!r}")
        return self

    def load_encoder(self) -> Any:
        """The encoder these options describe, from the process's shared model cache."""
        from ogma.encoder import TextEncoder
        from ogma.model_cache import shared_model

        return shared_model(
            TextEncoder,
            key=(str(self.model), self.threads, self.batch_size, self.max_batch_tokens, self.quantized),
            model=self.model,
            threads=self.threads,
            batch_size=self.batch_size,
            max_batch_tokens=self.max_batch_tokens,
            quantized=self.quantized,
            show_progress=False,
        )

    def info(self, encoder: Any) -> EmbeddingInfo:
        """The schema metadata record for vectors made by ``encoder`` with these options."""
        return EmbeddingInfo(
            model_id=encoder.model_id,
            dim=self.dim or encoder.dim,
            full_dim=encoder.dim,
            task=self.task,
            task_scheme=encoder.task_scheme_name,
            precision=self.precision,
        )


class EncoderActor:
    """A Ray Data actor: one :class:`~ogma.TextEncoder`, loaded once, embeds pyarrow blocks.

    Used as ``ds.map_batches(EncoderActor, fn_constructor_kwargs={"options": ...})``;
    :func:`embed_dataset` does that for you.

    Args:
        options: What to load and how to encode.

    Example:
        >>> # ds.map_batches(EncoderActor, fn_constructor_kwargs={"options": EncodeOptions()},
        >>> #                concurrency=4, batch_format="pyarrow")
    """

    def __init__(self, options: EncodeOptions) -> None:
        self.options = options.check()
        self.encoder = options.load_encoder()
        self.info = options.info(self.encoder)

    def __call__(self, block: Any) -> Any:
        """Embed one ``pyarrow.Table`` block; returns it with ``embedding`` and ``binary`` added."""
        opts = self.options
        missing = [c for c in (opts.text_column, opts.id_column) if c not in block.column_names]
        if missing:
            raise KeyError(
                f"the dataset has no column {missing[0]!r} (columns: {block.column_names}); "
                "pass text_column= / id_column= to name yours"
            )
        texts = block.column(opts.text_column).to_pylist()
        vectors = self.encoder.encode(texts, task=opts.task, dim=opts.dim, show_progress=False)
        columns = {name: block.column(name) for name in block.column_names}
        # Ids are strings end to end: integer ids (a Parquet or Dataset input) become their digits.
        columns[opts.id_column] = id_strings(block.column(opts.id_column), name=opts.id_column)
        return embedding_table(columns, vectors, self.info)

    def node_id(self) -> str:
        """The Ray node this actor runs on (for tests and diagnostics)."""
        import ray

        return str(ray.get_runtime_context().get_node_id())


def init_ray(address: str | None = None, *, num_cpus: int | None = None, **kwargs: Any) -> Any:
    """Connect to a Ray cluster (``address``) or start a local one; no-op when Ray is up.

    Args:
        address: ``None`` or ``"local"`` for a new local Ray, ``"auto"`` for the cluster
            this machine belongs to, or ``"ray://host:10001"`` / ``"host:6379"``.
        num_cpus: CPUs of a new local Ray (default: all).
        **kwargs: Passed to ``ray.init`` (e.g. ``object_store_memory``, ``include_dashboard``).

    Returns:
        The ``ray`` module.

    Example:
        >>> # init_ray(num_cpus=2, include_dashboard=False)
    """
    ray = require_ray()
    if ray.is_initialized():
        return ray
    # "local" always starts a new Ray: a bare ray.init() would join whatever Ray this
    # machine last started (its address file), which is not what "local" promises.
    target = "local" if address is None else address
    options: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, **kwargs}
    if target == "local" and num_cpus is not None:
        options["num_cpus"] = num_cpus
    ray.init(address=target, **options)
    return ray


def embed_dataset(
    ds: Any,
    *,
    model: str | Path = DEFAULT_MODEL,
    task: Task = "document",
    dim: int | None = None,
    precision: Precision = "float32",
    num_actors: int | tuple[int, int] = 1,
    threads_per_actor: int = 1,
    rows_per_block: int = DEFAULT_ROWS_PER_BLOCK,
    batch_size: int = 32,
    max_batch_tokens: int = 8192,
    quantized: bool = False,
    text_column: str = "text",
    id_column: str = "id",
) -> Any:
    """Map a Ray Dataset of texts to embeddings with a pool of encoder actors.

    Args:
        ds: A ``ray.data.Dataset`` with a text column and an id column.
        model: Model name, hub id or local folder; every node must be able to load it.
        task: ``"query"``, ``"document"`` or ``"symmetric"``, as in :meth:`ogma.TextEncoder.encode`.
        dim: Matryoshka dimension (re-normalised), as in ``encode``.
        precision: Type of the ``embedding`` column: ``"float32"``, ``"int8"``/``"uint8"``
            (``"unit"`` ranges), or ``"binary"``/``"ubinary"`` (no ``embedding`` column:
            the packed ``binary`` column, written in every case, is the output).
        num_actors: Encoder actors (a fixed pool), or ``(min, max)`` for an autoscaling pool.
        threads_per_actor: Inference threads (and Ray CPUs reserved) per actor.
        rows_per_block: Rows handed to an actor per call.
        batch_size: Maximum texts per forward pass.
        max_batch_tokens: Maximum padded tokens per forward pass.
        quantized: Run the int8 ONNX model.
        text_column: Column with the texts.
        id_column: Column with the ids (carried through: Ray Data may reorder rows).

    Returns:
        A lazy ``ray.data.Dataset``: the input columns plus ``embedding`` and ``binary``
        (see :mod:`ogma.distributed.files`).

    Raises:
        ValueError: A bad option (named in the message).
        MissingExtraError: Ray Data is not installed.

    Example:
        >>> out = embed_dataset(ds, model="all-MiniLM-L6-v2", task="document", num_actors=4)  # doctest: +SKIP
    """
    require_ray()
    options = EncodeOptions(
        model=str(model),
        task=task,
        dim=dim,
        precision=precision,
        threads=threads_per_actor,
        batch_size=batch_size,
        max_batch_tokens=max_batch_tokens,
        quantized=quantized,
        text_column=text_column,
        id_column=id_column,
    ).check()
    if isinstance(rows_per_block, bool) or not isinstance(rows_per_block, int) or rows_per_block < 1:
        raise ValueError(f"rows_per_block must be a positive integer, got {rows_per_block!r}")
    sizes = num_actors if isinstance(num_actors, tuple) else (num_actors, num_actors)
    if any(isinstance(n, bool) or not isinstance(n, int) or n < 1 for n in sizes) or sizes[0] > sizes[1]:
        raise ValueError(f"num_actors must be a positive integer or a (min, max) pair, got {num_actors!r}")
    return ds.map_batches(
        EncoderActor,
        fn_constructor_kwargs={"options": options},
        concurrency=num_actors,
        batch_size=rows_per_block,
        batch_format="pyarrow",
        zero_copy_batch=True,
        num_cpus=threads_per_actor,
    )


def read_texts(source: str | Path | list[str] | list[Path], *, text_column: str = "text", id_column: str = "id") -> Any:
    """Read JSONL (``.jsonl``/``.json``, one object per line) or Parquet files (or a folder of Parquet) into a Dataset.

    JSONL is read by Ogma, not by Ray's type inference: ids keep their exact text
    (``"00123"`` stays a string, never the integer ``123``), by the one rule of
    :func:`ogma.sources.read.record_id` that ``ogma index`` follows too, and a bad line is
    refused with its file and line number before any actor starts. The rows travel to the
    actors from this process, so a JSONL corpus must fit in its memory; Parquet input is
    read by Ray Data on the workers (integer ids become their digits in the actors, other
    id types are refused).

    Raises:
        ValueError: The file type is neither.
        EmbeddingFileError: A JSONL line is not an object with a string text and a string or
            integer id (named with its file and line).
        FileNotFoundError: A path does not exist.
    """
    return input_dataset(*load_input(source, text_column=text_column, id_column=id_column))


def input_dataset(kind: str, loaded: list[Any]) -> Any:
    """The Ray Dataset of what :func:`load_input` checked (starts a local Ray if none is up)."""
    ray = require_ray()
    return ray.data.read_parquet(loaded) if kind == "parquet" else ray.data.from_arrow(loaded)


def load_input(
    source: str | Path | list[str] | list[Path], *, text_column: str = "text", id_column: str = "id"
) -> tuple[str, list[Any]]:
    """Check the input of :func:`read_texts` without Ray: ``("parquet", paths)`` or ``("jsonl", tables)``.

    JSONL files are read here (into ``pyarrow`` tables), so a bad line is reported
    before Ray starts; Parquet paths are only checked to exist.

    Raises:
        As :func:`read_texts`.
    """
    paths = [Path(p) for p in (source if isinstance(source, list) else [source])]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"input {str(path)!r} does not exist")
    kinds = {"parquet" if p.is_dir() or p.suffix == ".parquet" else p.suffix for p in paths}
    if kinds == {"parquet"}:
        _check_parquet_input(paths, text_column, id_column)
        return "parquet", [str(p) for p in paths]
    if not kinds <= {".jsonl", ".json"}:
        raise ValueError(
            f"input must be .jsonl/.json or .parquet files (or a folder of Parquet files), got {sorted(kinds)}"
        )
    tables = [jsonl_table(p, text_column=text_column, id_column=id_column) for p in paths]
    if any("metadata" in t.column_names for t in tables):
        pa = require_pyarrow()
        tables = [
            t if "metadata" in t.column_names else t.append_column("metadata", pa.nulls(t.num_rows, pa.string()))
            for t in tables
        ]
    if sum(t.num_rows for t in tables) == 0:
        raise EmbeddingFileError(f"{', '.join(map(str, paths))}: no records to embed")
    return "jsonl", tables


def _check_parquet_input(paths: list[Path], text_column: str, id_column: str) -> None:
    """Refuse Parquet input without the text and id columns, or with ids that are not strings or integers."""
    from ogma.distributed.files import require_parquet

    pq, types = require_parquet(), require_pyarrow().types
    files = [f for p in paths for f in (sorted(p.glob("*.parquet")) if p.is_dir() else [p])]
    if not files:
        raise FileNotFoundError(f"{', '.join(map(str, paths))}: no .parquet file to read")
    for path in files:
        try:
            schema = pq.read_schema(path)
        except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
            raise EmbeddingFileError(f"{path} is not a readable Parquet file ({str(exc).splitlines()[0]})") from exc
        for name in (text_column, id_column):
            if name not in schema.names:
                raise EmbeddingFileError(
                    f"{path} has no column {name!r} (columns: {schema.names}); "
                    "pass text_column= / id_column= to name yours"
                )
        id_type = schema.field(id_column).type
        if not (types.is_string(id_type) or types.is_large_string(id_type) or types.is_integer(id_type)):
            raise EmbeddingFileError(
                f"{path}: column {id_column!r} holds {id_type} values; ids must be strings (or integers)"
            )


def embed_to_parquet(
    source: Any,
    output_dir: str | Path,
    *,
    model: str | Path = DEFAULT_MODEL,
    task: Task = "document",
    dim: int | None = None,
    precision: Precision = "float32",
    num_actors: int | tuple[int, int] = 1,
    **options: Any,
) -> list[Path]:
    """Embed a Dataset, or JSONL/Parquet files, to a folder of Parquet files.

    Args:
        source: A ``ray.data.Dataset``, or a path (or list of paths) for :func:`read_texts`.
        output_dir: Folder for the Parquet files (created).
        model: Model name, hub id or local folder.
        task: As in :meth:`ogma.TextEncoder.encode`.
        dim: As in ``encode``.
        precision: As in :func:`embed_dataset`.
        num_actors: Encoder actors.
        **options: Further :func:`embed_dataset` options (``threads_per_actor``,
            ``rows_per_block``, ``text_column``, ``id_column``, ...).

    Returns:
        The Parquet files written, sorted.

    Example:
        >>> embed_to_parquet("corpus.jsonl", "vectors/", model="all-MiniLM-L6-v2", num_actors=4)  # doctest: +SKIP
    """
    require_ray()
    require_pyarrow()
    columns = {k: options[k] for k in ("text_column", "id_column") if k in options}
    ds = source if hasattr(source, "map_batches") else read_texts(source, **columns)
    out = embed_dataset(ds, model=model, task=task, dim=dim, precision=precision, num_actors=num_actors, **options)
    # Every block carries the Ogma record in its schema metadata, and Ray Data's Parquet
    # sink writes each block's schema as it is: the store checks that record on import.
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    out.write_parquet(str(folder))
    files = sorted(folder.glob("*.parquet"))
    logger.info("Wrote %d Parquet files to %s", len(files), folder)
    return files
