"""Store URI syntax: parsing and writing the strings that name a store (no backend is imported).

:mod:`ogma.store.uri` opens stores from these URIs; the backends use this module to say how
they are reopened (their ``store_uri``).

Example:
    >>> parse_store_uri("notes.db")
    StoreURI(backend='sqlite', location='notes.db', collection=None)
    >>> sqlite_uri("a?b.db")
    'a?b.db'
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, quote, unquote, urlsplit

__all__ = ["TOKEN_ENV", "StoreURI", "local_file", "parse_store_uri", "quote_path", "same_file", "sqlite_uri"]

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
        try:
            parts = urlsplit(uri)
            port = parts.port or 19530
        except ValueError as exc:  # "Invalid IPv6 URL", "Port out of range 0-65535", ...
            raise ValueError(
                f"store URI {uri!r} has a malformed host or port ({exc}); e.g. {_MILVUS_EXAMPLE!r}"
            ) from None
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
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return StoreURI("milvus", f"{'https' if secure else 'http'}://{host}:{port}", _collection(name, uri))
    raise ValueError(f"store URI {uri!r} has the unknown scheme {scheme!r}; give {_EXAMPLES}")


_MILVUS_EXAMPLE = "milvus://localhost:19530/notes"

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


def local_file(parsed: StoreURI) -> str | None:
    """The local file a parsed URI names (a SQLite or Milvus Lite file), or ``None`` (a server, ``:memory:``).

    Example:
        >>> local_file(parse_store_uri("milvus-lite://v.db?collection=c")), local_file(parse_store_uri(":memory:"))
        ('v.db', None)
    """
    if parsed.backend == "milvus" or parsed.location == ":memory:":
        return None
    return parsed.location


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
