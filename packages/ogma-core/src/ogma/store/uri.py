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
import re
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

from ogma.store.protocol import StoreProtocol

__all__ = ["StoreURI", "open_store", "parse_store_uri", "quote_path", "sqlite_uri", "store_uri"]

Backend = Literal["sqlite", "milvus", "milvus-lite"]

TOKEN_ENV = "MILVUS_TOKEN"
"""Environment variable holding the Milvus token (``user:password`` or an API key)."""

_COLLECTION = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")
_EXAMPLES = (
    "a SQLite path ('notes.db'), 'milvus://host:19530/collection', or 'milvus-lite:///path/to/file.db?collection=name'"
)


@dataclass(frozen=True)
class StoreURI:
    """A parsed store URI.

    Attributes:
        backend: ``"sqlite"``, ``"milvus"`` (a server) or ``"milvus-lite"`` (a local file).
        location: The SQLite path, the Milvus server address (``http://host:port``), or the
            Milvus Lite file path.
        collection: The Milvus collection (``None`` for SQLite).
    """

    backend: Backend
    location: str
    collection: str | None = None


def _collection(name: str, uri: str) -> str:
    if not _COLLECTION.match(name):
        raise ValueError(
            f"store URI {uri!r}: collection name {name!r} is not valid for Milvus (a letter or '_' first, "
            "then letters, digits and '_', at most 255 characters)"
        )
    return name


def parse_store_uri(uri: str | os.PathLike[str]) -> StoreURI:
    """Parse a store URI (see the module docs for the forms).

    Raises:
        TypeError: ``uri`` is not a string or path.
        ValueError: An unknown scheme, or a Milvus URI without host, file or collection.

    Example:
        >>> parse_store_uri("milvus://localhost/docs").location
        'http://localhost:19530'
    """
    if isinstance(uri, os.PathLike):
        return StoreURI("sqlite", os.fspath(uri))
    if not isinstance(uri, str):
        raise TypeError(f"store URI must be a string or path, got {type(uri).__name__}")
    if not uri:
        raise ValueError(f"store URI is empty; give {_EXAMPLES}")
    scheme, sep, rest = uri.partition("://")
    if not sep or scheme == "" or "/" in scheme or "\\" in scheme:
        return StoreURI("sqlite", uri)  # a plain path (Windows drive letters included)
    if scheme == "sqlite":
        if not rest or rest == "/":
            raise ValueError(f"store URI {uri!r} names no file; e.g. 'sqlite:///data/notes.db'")
        return StoreURI("sqlite", _unquote_path(rest))
    if scheme == "milvus-lite":
        quoted, _, query = rest.partition("?")
        path = _unquote_path(quoted)
        params = parse_qs(query, keep_blank_values=True)
        if not path or path == "/":
            raise ValueError(
                f"store URI {uri!r} names no Milvus Lite file; e.g. 'milvus-lite:///data/vectors.db?collection=notes'"
            )
        names = params.get("collection") or [""]
        if not names[0]:
            raise ValueError(f"store URI {uri!r} names no collection; add '?collection=NAME'")
        unknown = sorted(set(params) - {"collection"})
        if unknown:
            raise ValueError(f"store URI {uri!r}: unknown parameter(s) {', '.join(unknown)}; only 'collection' is read")
        return StoreURI("milvus-lite", path, _collection(names[0], uri))
    if scheme in ("milvus", "milvus+https"):
        parts = urlsplit(uri)
        if parts.username or parts.password:
            raise ValueError(
                f"store URI {uri!r} carries credentials; set the {TOKEN_ENV} environment variable instead "
                "so the URI can be logged and saved safely"
            )
        if not parts.hostname:
            raise ValueError(f"store URI {uri!r} names no host; e.g. 'milvus://localhost:19530/notes'")
        name = parts.path.strip("/")
        if not name:
            raise ValueError(f"store URI {uri!r} names no collection; e.g. 'milvus://{parts.netloc}/notes'")
        params = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(params) - {"secure"})
        if unknown:
            raise ValueError(f"store URI {uri!r}: unknown parameter(s) {', '.join(unknown)}; only 'secure' is read")
        secure = scheme == "milvus+https" or (params.get("secure") or ["false"])[0].lower() in ("1", "true", "yes")
        port = parts.port or 19530
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return StoreURI("milvus", f"{'https' if secure else 'http'}://{host}:{port}", _collection(name, uri))
    raise ValueError(f"store URI {uri!r} has the unknown scheme {scheme!r}; give {_EXAMPLES}")


_SAFE = "/\\:@!$&'()*+,;=~"
"""Characters kept as they are in a URI's path (besides letters, digits and ``-._``)."""


def quote_path(path: str) -> str:
    """A file path as the path of a ``sqlite://`` or ``milvus-lite://`` URI (percent-encoded).

    ``?``, ``#``, ``%``, spaces, control characters and non-ASCII characters are encoded
    (non-ASCII as UTF-8; lone surrogates from undecodable file names are kept with
    ``surrogatepass``); :func:`parse_store_uri` decodes them.

    Example:
        >>> quote_path("/data/a?b#c %d.db")
        '/data/a%3Fb%23c%20%25d.db'
    """
    return quote(path, safe=_SAFE, encoding="utf-8", errors="surrogatepass")


def _unquote_path(text: str) -> str:
    return unquote(text, encoding="utf-8", errors="surrogatepass")


def store_uri(store: Any) -> str | None:
    """The URI that reopens ``store``, or ``None`` when the store cannot describe itself.

    SQLite stores are named by their path, Milvus stores by a ``milvus://`` or
    ``milvus-lite://`` URI (never with the token); other backends cannot describe themselves.

    Example:
        >>> from ogma.store import Store
        >>> store_uri(Store(":memory:"))
        ':memory:'
    """
    from ogma.store.milvus.store import MilvusStore  # imports no pymilvus until a store connects
    from ogma.store.sqlite.store import Store

    if isinstance(store, Store):
        return sqlite_uri(store.path)
    if isinstance(store, MilvusStore):
        return _milvus_uri(store.uri, store.collection)
    return None


def sqlite_uri(path: str) -> str:
    """The store URI of a SQLite path: the path itself when it reads back as that path, else ``sqlite://``.

    Example:
        >>> sqlite_uri("notes.db")
        'notes.db'
        >>> sqlite_uri("x://y.db")
        'sqlite://x%3A//y.db'
    """
    try:
        if parse_store_uri(path) == StoreURI("sqlite", path):
            return path
    except ValueError:  # it reads as a malformed URI of some scheme: write it as a sqlite:// URI
        pass
    return "sqlite://" + quote_path(path).replace("://", "%3A//")


def _milvus_uri(address: str, collection: str) -> str:
    parts = urlsplit(address) if re.match(r"^(https?|tcp|grpc)://", address) else None
    if parts is not None and parts.hostname:
        secure = "?secure=true" if parts.scheme == "https" else ""
        return f"milvus://{parts.netloc}/{collection}{secure}"
    return f"milvus-lite://{quote_path(address)}?collection={collection}"


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
