"""Store URIs: one string names a store of any backend (``ogma migrate``, adapters' ``to_dict``).

=====================================================  ============================================
URI                                                    Store
=====================================================  ============================================
``notes.db``, ``/data/notes.db``, ``:memory:``         SQLite file (:class:`ogma.Store`)
``sqlite:///data/notes.db``, ``sqlite://notes.db``     the same, explicit
``milvus://host:19530/collection``                     Milvus server or cluster (``MilvusStore``)
``milvus-lite:///data/vectors.db?collection=notes``    Milvus Lite, embedded, in a local file
``milvus-lite://vectors.db?collection=notes``          the same, path relative to the working folder
=====================================================  ============================================

The path in a ``sqlite://`` or ``milvus-lite://`` URI is percent-encoded as in any URI:
``%3F`` is a ``?``, ``%23`` a ``#``, ``%25`` a ``%``, ``%20`` a space (a plain path is
never decoded). :func:`store_uri` writes such a URI for any path, and
:func:`parse_store_uri` reads it back to the same path, so a folder named ``a?b#c%d``
round-trips through adapters' ``to_dict``/``from_dict``.

A ``milvus://`` URI may carry ``?secure=true`` (TLS, ``https``). The Milvus token (user
and password, or an API key) is never part of a URI: it is read from the ``MILVUS_TOKEN``
environment variable, so URIs can be logged and serialised safely.

Example:
    >>> parse_store_uri("notes.db")
    StoreURI(backend='sqlite', location='notes.db', collection=None)
    >>> parse_store_uri("milvus://db.example:19530/notes")
    StoreURI(backend='milvus', location='http://db.example:19530', collection='notes')
    >>> parse_store_uri("milvus-lite:///srv/vectors.db?collection=notes")
    StoreURI(backend='milvus-lite', location='/srv/vectors.db', collection='notes')
"""

from __future__ import annotations

import inspect
import os
from typing import Any

from ogma.store.protocol import StoreProtocol
from ogma.store.uri_syntax import (
    TOKEN_ENV,
    StoreURI,
    local_file,
    parse_store_uri,
    quote_path,
    same_file,
    sqlite_uri,
)

__all__ = [
    "StoreURI",
    "local_file",
    "open_store",
    "parse_store_uri",
    "quote_path",
    "same_file",
    "sqlite_uri",
    "store_file",
    "store_uri",
]


def store_uri(store: Any) -> str | None:
    """The URI that reopens ``store`` (its :attr:`~ogma.store.protocol.StoreProtocol.store_uri`), or ``None``.

    SQLite stores are named by their path, Milvus stores by a ``milvus://`` or
    ``milvus-lite://`` URI (never with the token); an object that is not a store, or a
    backend that cannot describe itself, gives ``None``.

    Example:
        >>> from ogma.store import Store
        >>> store_uri(Store(":memory:"))
        ':memory:'
    """
    uri = getattr(store, "store_uri", None)
    return uri if isinstance(uri, str) else None


def store_file(store: Any) -> str | None:
    """The local file an open store lives in (SQLite or Milvus Lite), or ``None``.

    Example:
        >>> from ogma.store import Store
        >>> store_file(Store(":memory:")) is None
        True
    """
    uri = store_uri(store)
    return None if uri is None else local_file(parse_store_uri(uri))


def _milvus_uri(address: str, collection: str) -> str:
    from ogma.store.milvus.client import reopening_uri

    return reopening_uri(address, collection)


def open_store(uri: str | os.PathLike[str], encoder: Any = None, **options: Any) -> StoreProtocol:
    """Open (or create) the store a URI names.

    Args:
        uri: A store URI (see the module docs).
        encoder: Passed to the backend (optional).
        **options: Backend options (``dim``, ``precision``, ``read_only``, ...), passed on.

    Raises:
        ValueError: A malformed URI, or an option the URI's backend does not take (named,
            with the options it does take).
        MissingExtraError: A Milvus URI without ``ogma-core[milvus]`` installed.

    Example:
        >>> with open_store(":memory:") as store:
        ...     store.count()
        0
        >>> open_store("milvus-lite:///tmp/v.db?collection=c", fts_tokenizer="porter")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: option 'fts_tokenizer' is not one a milvus-lite store takes (MilvusStore takes dim, ...
    """
    parsed = parse_store_uri(uri)
    if parsed.backend == "sqlite":
        from ogma.store.sqlite.store import Store

        _check_options(Store, parsed.backend, options)
        return Store(parsed.location, encoder, **options)
    from ogma.store.milvus.store import MilvusStore  # raises MissingExtraError without pymilvus on connecting

    _check_options(MilvusStore, parsed.backend, options)
    token = os.environ.get(TOKEN_ENV) if parsed.backend == "milvus" else None
    if token:
        options.setdefault("token", token)
    return MilvusStore(parsed.location, parsed.collection or "ogma", encoder, **options)


def _check_options(cls: type, backend: str, options: dict[str, Any]) -> None:
    """Refuse options ``cls`` does not take, naming them and the ones it does."""
    taken = sorted(
        name for name, p in inspect.signature(cls).parameters.items() if p.kind is inspect.Parameter.KEYWORD_ONLY
    )
    for name in sorted(options):
        if name not in taken:
            other = "a Milvus URI" if backend == "sqlite" else "a SQLite path"
            raise ValueError(
                f"option {name!r} is not one a {backend} store takes ({cls.__name__} takes {', '.join(taken)}); "
                f"drop it, or give {other}"
            )
