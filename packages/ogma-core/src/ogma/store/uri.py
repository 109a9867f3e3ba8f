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
from urllib.parse import parse_qs, urlsplit

from ogma.store.protocol import StoreProtocol

__all__ = ["StoreURI", "local_file", "open_store", "parse_store_uri", "same_file", "store_file", "store_uri"]

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
        return StoreURI("sqlite", rest)
    if scheme == "milvus-lite":
        path, _, query = rest.partition("?")
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
        return store.path
    if isinstance(store, MilvusStore):
        return _milvus_uri(store.uri, store.collection)
    return None


def local_file(parsed: StoreURI) -> str | None:
    """The local file a parsed URI names (a SQLite or Milvus Lite file), or ``None`` (a server, ``:memory:``).

    Example:
        >>> local_file(parse_store_uri("milvus-lite://v.db?collection=c")), local_file(parse_store_uri(":memory:"))
        ('v.db', None)
    """
    if parsed.backend == "milvus" or parsed.location == ":memory:":
        return None
    return parsed.location


def store_file(store: Any) -> str | None:
    """The local file an open store lives in (SQLite or Milvus Lite), or ``None``.

    Example:
        >>> from ogma.store import Store
        >>> store_file(Store(":memory:")) is None
        True
    """
    uri = store_uri(store)
    return None if uri is None else local_file(parse_store_uri(uri))


def same_file(a: str | None, b: str | None) -> bool:
    """Whether two paths name one file (after resolving links and ``..``; hard links too, when both exist).

    Example:
        >>> same_file("a/../x.db", "x.db"), same_file("x.db", None)
        (True, False)
    """
    if a is None or b is None:
        return False
    if os.path.exists(a) and os.path.exists(b):
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


def _milvus_uri(address: str, collection: str) -> str:
    parts = urlsplit(address)
    if parts.scheme in ("http", "https", "tcp", "grpc") and parts.hostname:
        secure = "?secure=true" if parts.scheme == "https" else ""
        return f"milvus://{parts.netloc}/{collection}{secure}"
    return f"milvus-lite://{address}?collection={collection}"


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
