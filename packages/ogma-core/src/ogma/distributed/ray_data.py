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

from ogma.distributed.files import EmbeddingInfo, embedding_table, require_pyarrow
from ogma.errors import missing_extra
from ogma.registry import DEFAULT_MODEL
from ogma.types import PRECISIONS, TASKS, Precision, Task

__all__ = ["EncodeOptions", "EncoderActor", "embed_dataset", "embed_to_parquet", "init_ray", "read_texts"]

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


def read_texts(source: str | Path | list[str] | list[Path]) -> Any:
    """Read JSONL (``.jsonl``/``.json``) or Parquet files (or a folder of Parquet) into a Dataset.

    Raises:
        ValueError: The file type is neither.
        FileNotFoundError: A path does not exist.
    """
    ray = require_ray()
    paths = [Path(p) for p in (source if isinstance(source, list) else [source])]
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(f"input {str(path)!r} does not exist")
    kinds = {"parquet" if p.is_dir() or p.suffix == ".parquet" else p.suffix for p in paths}
    names = [str(p) for p in paths]
    if kinds == {"parquet"}:
        return ray.data.read_parquet(names)
    if kinds <= {".jsonl", ".json"}:
        return ray.data.read_json(names, lines=True) if kinds == {".jsonl"} else ray.data.read_json(names)
    raise ValueError(
        f"input must be .jsonl/.json or .parquet files (or a folder of Parquet files), got {sorted(kinds)}"
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
    ds = source if hasattr(source, "map_batches") else read_texts(source)
    out = embed_dataset(ds, model=model, task=task, dim=dim, precision=precision, num_actors=num_actors, **options)
    # Every block carries the Ogma record in its schema metadata, and Ray Data's Parquet
    # sink writes each block's schema as it is: the store checks that record on import.
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    out.write_parquet(str(folder))
    files = sorted(folder.glob("*.parquet"))
    logger.info("Wrote %d Parquet files to %s", len(files), folder)
    return files
