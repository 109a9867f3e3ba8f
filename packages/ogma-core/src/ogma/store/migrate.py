"""Copying a store to another store, of any backend, with its vectors (no re-encoding).

:func:`copy_store` uses only the store protocol: it reads the source with
``iter_documents(include_embeddings=True)`` and writes each batch with
``add(..., embeddings=...)``, so ids, texts, metadata and the exact float vectors move,
and nothing is embedded again. :func:`destination_options` carries the source's
configuration (model id, task scheme, dimensions, precision) into a new destination;
``ogma migrate`` puts both together.

A destination that already holds documents is refused unless ``on_conflict`` says what
to do with ids present in both: ``"skip"`` resumes an interrupted copy (documents
already copied are left alone, so running it again is idempotent), ``"replace"``
overwrites them.

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> src = Store(":memory:", dim=2)
    >>> _ = src.add(["red", "blue"], ids=["r", "b"], embeddings=np.eye(2, dtype=np.float32))
    >>> dst = Store(":memory:", **destination_options(src))
    >>> copy_store(src, dst, show_progress=False)
    2
    >>> [h.id for h in dst.search(vector=[0.1, 0.9], k=1)]
    ['b']
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from ogma.errors import StoreError, StoreMismatchError
from ogma.store.document import Document
from ogma.store.encoding import StoreEncoder, model_record
from ogma.store.fingerprint import FINGERPRINT_KEY
from ogma.store.protocol import ON_CONFLICT, OnConflict, StoreProtocol
from ogma.validation import check_count

__all__ = ["COPIED_SETTINGS", "DEFAULT_MIGRATE_BATCH", "copy_store", "destination_options", "source_config"]

logger = logging.getLogger(__name__)

DEFAULT_MIGRATE_BATCH = 1000
"""Documents read and written per batch."""

COPIED_SETTINGS = (FINGERPRINT_KEY,)
"""Store settings a copy carries over (when the source has them)."""


def source_config(store: StoreProtocol) -> dict[str, Any]:
    """What a store records about its vectors: ``model_id``, ``dim``, ``full_dim``, ``task_scheme``, ``precision``.

    Read from the store's ``config`` record when it has one; ``dim`` always from the protocol.

    Example:
        >>> from ogma.store import Store
        >>> source_config(Store(":memory:", dim=8, precision="binary"))["precision"]
        'binary'
    """
    config = getattr(store, "config", None)
    out: dict[str, Any] = {"dim": store.dim}
    for name in ("model_id", "full_dim", "task_scheme", "precision"):
        out[name] = getattr(config, name, None)
    return out


def _descriptor(config: dict[str, Any]) -> StoreEncoder:
    """An encoder stand-in that records the source's model in the destination, and never encodes."""
    dim = config["full_dim"] or config["dim"]
    return model_record(config["model_id"], dim, config["task_scheme"], origin="migrated")


def destination_options(source: StoreProtocol, *, precision: str | None = None) -> dict[str, Any]:
    """Options that open a new destination with the source's configuration.

    The result holds ``encoder`` (a stand-in that records the model id and task scheme,
    and refuses to encode), ``dim`` and ``precision`` (the source's, unless
    ``precision`` is given). Pass them to the destination's constructor or to
    :func:`ogma.store.uri.open_store`.

    Example:
        >>> from ogma.store import Store
        >>> options = destination_options(Store(":memory:", dim=4, precision="int8"))
        >>> options["dim"], options["precision"]
        (4, 'int8')
    """
    config = source_config(source)
    options: dict[str, Any] = {"dim": config["dim"], "precision": precision or config["precision"] or "float32"}
    if config["model_id"] is not None or config["task_scheme"] is not None:
        options["encoder"] = _descriptor(config)
    return options


def _check_compatible(source: StoreProtocol, destination: StoreProtocol) -> None:
    src, dst = source_config(source), source_config(destination)
    if src["dim"] is not None and dst["dim"] is not None and src["dim"] != dst["dim"]:
        raise StoreMismatchError(
            f"the source holds {src['dim']}-d vectors, the destination {dst['dim']}-d; "
            "migrate into a new (empty) destination, which takes the source's dimension"
        )
    for name in ("model_id", "task_scheme"):
        if src[name] is not None and dst[name] is not None and src[name] != dst[name]:
            raise StoreMismatchError(
                f"the source's vectors come from {name} {src[name]!r}, the destination's from {dst[name]!r}; "
                "vectors of two models cannot share a store: migrate into a new destination"
            )


def _batches(source: StoreProtocol, batch_size: int) -> Iterator[list[Document]]:
    batch: list[Document] = []
    for doc in source.iter_documents(batch_size=batch_size, include_embeddings=True):
        batch.append(doc)
        if len(batch) >= batch_size:
            yield batch
            batch = []
    if batch:
        yield batch


def _embeddings(batch: list[Document]) -> Any:
    vectors = [doc.embedding for doc in batch]
    if all(v is not None for v in vectors):
        return np.stack([np.asarray(v, dtype=np.float32) for v in vectors])
    return vectors  # documents without a vector stay without one


def copy_store(
    source: StoreProtocol,
    destination: StoreProtocol,
    *,
    batch_size: int = DEFAULT_MIGRATE_BATCH,
    on_conflict: OnConflict | None = None,
    show_progress: bool | None = None,
) -> int:
    """Copy every document of ``source`` into ``destination``, with its stored vector.

    Args:
        source: The store to read (left unchanged).
        destination: The store to write; any backend.
        batch_size: Documents per read and per write.
        on_conflict: For a destination that already holds documents: ``"skip"`` (resume:
            keep documents already there), ``"replace"`` (overwrite ids present in both)
            or ``"fail"``. ``None`` (default): an empty destination is required.
        show_progress: A progress bar (``None``: when stderr is a terminal).

    Returns:
        The number of source documents processed.

    Raises:
        StoreError: ``destination`` already holds documents and ``on_conflict`` is ``None``.
        StoreMismatchError: The stores' dimensions, model ids or task schemes differ.
        DuplicateDocumentError: ``on_conflict="fail"`` and an id exists in both.
        ValueError: ``batch_size`` below 1, an unknown ``on_conflict``, or both stores in one
            file (a SQLite or Milvus Lite file, even under two names or collections).
    """
    batch_size = check_count(batch_size, "batch_size")
    if on_conflict is not None and on_conflict not in ON_CONFLICT:
        raise ValueError(f"on_conflict must be one of {', '.join(ON_CONFLICT)} or None; got {on_conflict!r}")
    if source is destination:
        raise ValueError("source and destination are the same store")
    from ogma.store.uri import same_file, store_file

    if same_file(store_file(source), store_file(destination)):
        raise ValueError(f"source and destination are the same file ({store_file(source)!r}); copy into another file")
    _check_compatible(source, destination)
    existing = destination.count()
    if existing and on_conflict is None:
        raise StoreError(
            f"the destination already holds {existing} documents; migrate into an empty store, or pass "
            "on_conflict='skip' to resume an interrupted copy ('replace' overwrites ids present in both)"
        )
    policy: OnConflict = on_conflict or "fail"
    total = source.count()
    copied = 0
    for key in COPIED_SETTINGS:
        value = source.read_setting(key)
        if value is not None:
            destination.write_setting_once(key, value)
    with tqdm(total=total, unit="doc", desc="migrate", disable=_progress_off(show_progress)) as bar:
        for batch in _batches(source, batch_size):
            destination.add(
                [doc.text for doc in batch],
                [doc.metadata for doc in batch],
                [doc.id for doc in batch],
                embeddings=_embeddings(batch),
                batch_size=len(batch),
                on_conflict=policy,
            )
            copied += len(batch)
            bar.update(len(batch))
    logger.info("copied %d documents (%d were in the destination before)", copied, existing)
    return copied


def _progress_off(show_progress: bool | None) -> bool | None:
    # tqdm: disable=None turns the bar off when stderr is not a terminal.
    return None if show_progress is None else not show_progress
