"""Connecting to Milvus: a server (``http://host:19530``) or Milvus Lite (``./file.db``).

Example:
    >>> is_lite("./notes.db"), is_lite("http://localhost:19530")
    (True, False)
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ogma.errors import StoreError, missing_extra
from ogma.store.uri_syntax import quote_path

__all__ = ["connect", "is_lite", "pymilvus", "reopening_uri"]

logger = logging.getLogger(__name__)


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
    return uri


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
    parts = urlsplit(address)
    if parts.scheme in ("http", "https", "tcp", "grpc") and parts.hostname:
        secure = "?secure=true" if parts.scheme == "https" else ""
        return f"milvus://{parts.netloc}/{collection}{secure}"
    return f"milvus-lite://{quote_path(address)}?collection={collection}"
