"""Checking a store's configuration record on open: one rule for every backend.

Each backend keeps its own record (``ogma.store.sqlite.schema.StoreConfig`` in the file,
``ogma.store.milvus.schema.MilvusConfig`` in the collection description), with the
fields the architecture asks of all (model id, dimensions, task scheme, precision,
schema version) and its own (FTS tokenizer, int8 ranges; index type, analyzer). What a
caller asks for is compared with the record the same way everywhere: ``None`` means
"not specified" and matches anything, anything else must equal the record.

Example:
    >>> check_settings([("dimension", None, 384), ("precision", "binary", "binary")], container="store file")
    >>> check_encoder_dim(256, 384, 384, container="store file")
"""

from __future__ import annotations

from collections.abc import Iterable

from ogma.errors import StoreMismatchError

__all__ = ["check_encoder_dim", "check_settings"]


def check_settings(wanted: Iterable[tuple[str, object, object]], *, container: str) -> None:
    """Compare ``(label, asked, stored)`` settings; ``None`` on either side matches.

    Args:
        wanted: The settings, each with what the caller asked for and what the record holds.
        container: What the record belongs to, for the fix in the message ("store file", "collection").

    Raises:
        StoreMismatchError: Naming the setting, both values and the fix.
    """
    for label, asked, stored in wanted:
        if asked is not None and stored is not None and asked != stored:
            raise StoreMismatchError(
                f"this store was built with {label} {stored!r}, but {asked!r} was requested. "
                f"Open it with the same settings ({label} {stored!r}), or use a new {container} "
                f"for {label} {asked!r}."
            )


def check_encoder_dim(dim: int | None, full_dim: int | None, encoder_dim: int | None, *, container: str) -> None:
    """An encoder must produce the stored dimension or the model dimension it was truncated from.

    Raises:
        StoreMismatchError: The encoder's vectors fit neither.
    """
    if encoder_dim is None or dim is None or encoder_dim in (dim, full_dim):
        return
    raise StoreMismatchError(
        f"this store holds {dim}-d vectors (model dimension {full_dim}), but the encoder "
        f"produces {encoder_dim}-d vectors. Open it with the encoder it was built with, or use a new {container}."
    )
