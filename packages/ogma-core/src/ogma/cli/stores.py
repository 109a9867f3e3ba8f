"""The store a command's ``--db`` (or ``DB``) names: a SQLite path or any store URI.

Every command that reads or writes a store takes the same strings as ``ogma migrate``
(:mod:`ogma.store.uri`): a SQLite path (``notes.db``), ``milvus://host:19530/collection``
or ``milvus-lite:///path/to/file.db?collection=name``. A SQLite store that is only read is
opened read-only; a Milvus store has no read-only mode, and reading it writes nothing.

Example:
    >>> store_exists("/no/such/folder/notes.db")
    False
    >>> store_exists("milvus-lite:///no/such/folder/v.db?collection=notes")
    False
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ogma.errors import StoreError, StoreMismatchError
from ogma.store.protocol import StoreProtocol

__all__ = ["check_new_store_folder", "open_existing", "recorded_model", "store_exists"]


def _file(db: str) -> str | None:
    """The local file of a SQLite or Milvus Lite store (``None`` for a server or ``:memory:``)."""
    from ogma.store.uri import parse_store_uri

    uri = parse_store_uri(db)
    if uri.backend == "milvus" or uri.location == ":memory:":
        return None
    return uri.location


def _has_collection(store: Any) -> bool:
    """Whether a Milvus store's collection exists (a new one is created by its first vectors)."""
    return getattr(store, "dim", None) is not None


def store_exists(db: str) -> bool:
    """Whether ``db`` names a store that exists (a SQLite file, or a Milvus collection).

    A Milvus Lite file that does not exist is not opened (opening would create it).

    Args:
        db: A SQLite path or store URI.

    Returns:
        True when the store exists.

    Raises:
        ValueError: A malformed URI.
        StoreError: A Milvus server cannot be reached.
    """
    from ogma.store.uri import open_store, parse_store_uri

    uri = parse_store_uri(db)
    path = _file(db)
    if path is not None and not Path(path).exists():
        return False
    if uri.backend == "sqlite":
        return True
    with open_store(db, show_progress=False) as store:
        return _has_collection(store)


def open_existing(db: str, encoder: Any = None, *, option: str = "--db") -> StoreProtocol:
    """Open the existing store ``db`` for reading (a SQLite store read-only).

    Args:
        db: A SQLite path or store URI.
        encoder: The query encoder (optional).
        option: How the command names the argument, for messages.

    Returns:
        The open store (close it, or use it in a ``with`` block).

    Raises:
        StoreError: No store there (the message says how to create one), or it cannot be opened.
        StoreMismatchError: ``encoder`` is not the store's model.
    """
    from ogma.store.uri import open_store, parse_store_uri

    uri = parse_store_uri(db)
    path = _file(db)
    missing = f"no store at {db!r}; create one with: ogma index PATH... --db {db}"
    if path is not None and not Path(path).exists():
        raise StoreError(f"{option} {db}: {missing}")
    options: dict[str, Any] = {"show_progress": False}
    if uri.backend == "sqlite":
        options["read_only"] = True
    try:
        store = open_store(db, encoder, **options)
    except StoreMismatchError:
        raise
    except StoreError as exc:
        raise StoreError(f"{option} {db}: {exc}") from exc
    if uri.backend != "sqlite" and not _has_collection(store):
        store.close()
        where = "this Milvus Lite file" if uri.backend == "milvus-lite" else "this Milvus server"
        raise StoreError(f"{option} {db}: {where} has no collection {uri.collection!r}; {missing}")
    return store


def recorded_model(db: str, *, option: str = "--db") -> str | None:
    """The embedding model an existing store records (``None``: vectors were given directly).

    See :func:`ogma.store.fingerprint.recorded_model`: the configured model id, else the model
    an adapter's Ogma embedder recorded.

    Raises:
        StoreError: No store there, or it cannot be opened.
    """
    from ogma.store.fingerprint import recorded_model as stored_model

    with open_existing(db, option=option) as store:
        return stored_model(store)


def check_new_store_folder(db: str, *, option: str = "--db") -> None:
    """Refuse a new local store whose folder does not exist (Ogma does not create folders).

    Example:
        >>> check_new_store_folder("/no/such/folder/notes.db")
        Traceback (most recent call last):
        ...
        ogma.errors.StoreError: --db /no/such/folder/notes.db: the folder /no/such/folder does not exist, and \
Ogma does not create folders: create it (mkdir -p /no/such/folder), or choose another path
    """
    path = _file(db)
    if path is None or Path(path).exists():
        return
    folder = Path(path).expanduser().absolute().parent
    if not folder.exists():
        raise StoreError(
            f"{option} {db}: the folder {folder} does not exist, and Ogma does not create folders: "
            f"create it (mkdir -p {folder}), or choose another path"
        )
    if not folder.is_dir():
        raise StoreError(f"{option} {db}: {folder} is not a folder; choose another path")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StoreError(f"{option} {db}: the folder {folder} is not writable; choose a writable place")
