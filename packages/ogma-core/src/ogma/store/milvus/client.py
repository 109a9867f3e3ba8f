"""Connecting to Milvus: a server (``http://host:19530``) or Milvus Lite (``./file.db``).

Example:
    >>> is_lite("./notes.db"), is_lite("http://localhost:19530")
    (True, False)
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import uuid
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from ogma.errors import StoreError, missing_extra
from ogma.store.uri_syntax import quote_path

__all__ = [
    "BM25_SINCE",
    "LIKE_ANYWHERE_SINCE",
    "MULTI_VECTOR_SINCE",
    "at_least",
    "check_lite_file",
    "connect",
    "has_bm25",
    "is_lite",
    "pymilvus",
    "reopening_uri",
    "server_version",
]

logger = logging.getLogger(__name__)

SQLITE_HEADER: Final = b"SQLite format 3\x00"
"""The first 16 bytes of every SQLite database file."""

BM25_SINCE: Final = (2, 5)
"""The first Milvus version with BM25 functions (full-text search): lexical and hybrid search need it."""

MULTI_VECTOR_SINCE: Final = (2, 4)
"""The first Milvus version with several vector fields per collection (``precision="binary"`` needs two)."""

LIKE_ANYWHERE_SINCE: Final = (2, 4)
"""The first Milvus version whose ``like`` takes wildcards before the end (Milvus 2.3 matches prefixes only)."""

LITE_TABLES: Final = frozenset({"collection_meta"})
"""Tables Milvus Lite 2.5 keeps in its file (itself an SQLite database) from its first start."""


def pymilvus() -> Any:
    """The ``pymilvus`` module, or the ``pip install`` fix.

    Raises:
        MissingExtraError: pymilvus is not installed.
    """
    try:
        import pymilvus as module
    except ImportError as exc:
        raise missing_extra("pymilvus", "milvus", "MilvusStore") from exc
    return module


def is_lite(uri: str) -> bool:
    """Whether ``uri`` names a Milvus Lite file rather than a server."""
    return not uri.startswith(("http://", "https://", "tcp://", "unix:", "grpc://"))


def check_uri(uri: Any) -> str:
    """The URI as a string; a Milvus Lite path must end in ``.db``.

    Raises:
        TypeError: Not a string or path.
        ValueError: Empty, or a local path without ``.db``.
    """
    if isinstance(uri, os.PathLike):
        uri = os.fspath(uri)
    if not isinstance(uri, str):
        raise TypeError(
            f"uri must be a str such as './milvus.db' or 'http://localhost:19530', got {type(uri).__name__}"
        )
    if not uri:
        raise ValueError("uri is empty; give './milvus.db' (Milvus Lite) or 'http://host:19530' (a server)")
    if is_lite(uri) and not uri.endswith(".db"):
        raise ValueError(
            f"uri {uri!r} is neither a server address (http://host:19530) nor a Milvus Lite file ending in '.db'"
        )
    if is_lite(uri) and Path(uri).is_dir():
        raise ValueError(f"uri {uri!r} is a directory; give the Milvus Lite file inside it, e.g. {uri}/milvus.db")
    if is_lite(uri):
        check_lite_file(uri)
    return uri


def check_lite_file(path: str) -> None:
    """Refuse an existing file that is not a Milvus Lite database, before Milvus Lite writes into it.

    A missing or empty file is fine (Milvus Lite creates it). Milvus Lite 2.5's file is an
    SQLite database holding a ``collection_meta`` table; any other file, an Ogma SQLite store
    included, would get Milvus' tables added to it. The file is read without locking and
    without creating ``-wal``/``-shm`` files (SQLite's ``immutable`` mode).

    Raises:
        StoreError: The file exists and is not a Milvus Lite database (names the file, what it
            seems to be, and the fix).

    Example:
        >>> check_lite_file("/nonexistent/new.db")  # a new file: nothing to check
    """
    try:
        with open(path, "rb") as file:
            head = file.read(len(SQLITE_HEADER))
    except FileNotFoundError:
        return
    except OSError as exc:
        raise StoreError(f"cannot read the Milvus Lite file {path!r}: {exc}") from exc
    if not head:
        return
    fix = "give a new file name (Milvus Lite creates it), or the file of a Milvus Lite database"
    if head != SQLITE_HEADER:
        raise StoreError(f"{path!r} is not a Milvus Lite database (it is not an SQLite file at all); {fix}")
    tables = _tables(path)
    if tables is None:
        raise StoreError(f"{path!r} is not a Milvus Lite database (an SQLite file that cannot be read); {fix}")
    if tables and not tables >= LITE_TABLES:
        what = "an Ogma SQLite store" if "ogma_config" in tables else "an SQLite database of something else"
        raise StoreError(
            f"{path!r} is not a Milvus Lite database: it is {what} (tables {', '.join(sorted(tables)[:5])}); "
            f"{fix}. Open an Ogma SQLite store with ogma.Store or a plain path URI."
        )


def _tables(path: str) -> frozenset[str] | None:
    """The table names of an SQLite file, read-only and without locks (``None``: unreadable)."""
    try:
        connection = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
    except sqlite3.Error:
        return None
    try:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'").fetchall()
    except sqlite3.Error:
        return None
    finally:
        connection.close()
    return frozenset(str(row[0]) for row in rows)


def connect(uri: str, token: str | None) -> Any:
    """A ``MilvusClient`` with its own connection alias (closing it never closes another store's).

    Raises:
        StoreError: The server or the Milvus Lite file cannot be reached.
    """
    module = pymilvus()
    try:
        return module.MilvusClient(uri=uri, token=token or "", alias=f"ogma-{uuid.uuid4().hex}")
    except ImportError as exc:
        raise missing_extra("milvus-lite", "milvus", "MilvusStore with a local .db file") from exc
    except Exception as exc:
        hint = " (a Milvus Lite file serves one process at a time; is another one using it?)" if is_lite(uri) else ""
        raise StoreError(f"cannot connect to Milvus at {uri!r}: {exc}{hint}") from exc


def reopening_uri(address: str, collection: str) -> str:
    """The store URI (:mod:`ogma.store.uri`) of ``collection`` at ``address``, never with a token.

    Example:
        >>> reopening_uri("http://db.example:19530", "notes")
        'milvus://db.example:19530/notes'
        >>> reopening_uri("/srv/v.db", "notes")
        'milvus-lite:///srv/v.db?collection=notes'
    """
    try:
        parts = urlsplit(address)
    except ValueError:  # a file path urllib misreads as a network location, e.g. "//[x.db"
        return f"milvus-lite://{quote_path(address)}?collection={collection}"
    if parts.scheme in ("http", "https", "tcp", "grpc") and parts.hostname:
        secure = "?secure=true" if parts.scheme == "https" else ""
        return f"milvus://{parts.netloc}/{collection}{secure}"
    return f"milvus-lite://{quote_path(address)}?collection={collection}"


def server_version(client: Any, uri: str) -> str | None:
    """The server's version (``"v2.3.5"``), or ``None`` for Milvus Lite (which has no such call) or when unknown."""
    if is_lite(uri):
        return None
    try:
        return str(client.get_server_version())
    except Exception as exc:  # an old or proxied server without the call: assume a current one
        logger.debug("cannot read the Milvus server version at %s: %s", uri, exc)
        return None


def at_least(version: str | None, since: tuple[int, int]) -> bool:
    """Whether a Milvus of this version is ``since`` or newer (``None``: Milvus Lite 2.5, or unknown: yes).

    Example:
        >>> at_least("v2.3.5-lite", BM25_SINCE), at_least("2.5.4", BM25_SINCE), at_least(None, BM25_SINCE)
        (False, True, True)
    """
    if version is None:
        return True
    found = re.search(r"(\d+)\.(\d+)", version)
    return found is None or (int(found.group(1)), int(found.group(2))) >= since


def has_bm25(version: str | None) -> bool:
    """Whether a Milvus of this version has BM25 functions (lexical and hybrid search)."""
    return at_least(version, BM25_SINCE)
