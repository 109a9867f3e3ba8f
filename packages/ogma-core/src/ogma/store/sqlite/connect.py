"""SQLite driver choice, sqlite-vec loading and connection pragmas.

The store needs SQLite with FTS5 and the JSON functions, plus the sqlite-vec
extension. The standard library's :mod:`sqlite3` is used when it can load
extensions and its SQLite is new enough; otherwise :mod:`apsw`, which bundles a
recent SQLite and can always load extensions. Both sit behind :class:`Connection`,
so the rest of the store does not care which one runs.

Example:
    >>> from ogma.store.sqlite.connect import connect
    >>> conn = connect(":memory:")
    >>> conn.fetchone("SELECT vec_version() LIKE 'v%'")
    (1,)
    >>> conn.close()
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import sqlite_vec

from ogma.errors import FilterError, OgmaError, SqliteDriverError, StoreError

__all__ = [
    "DRIVERS",
    "MIN_SQLITE_VERSION",
    "Connection",
    "Driver",
    "connect",
    "driver_info",
    "leaves_no_trace",
    "read_only_uri",
    "resolve_driver",
]

logger = logging.getLogger(__name__)

Driver = Literal["auto", "sqlite3", "apsw"]
DRIVERS: tuple[Driver, ...] = ("auto", "sqlite3", "apsw")

MIN_SQLITE_VERSION = (3, 38, 0)
"""JSON functions built in (3.38), ``RETURNING`` (3.35), upserts (3.24)."""

NEW_FILE_PAGE_SIZE = 16384
"""Page size of new files: bigger pages make bulk ingest of vector blobs markedly faster."""

WAL_AUTOCHECKPOINT_PAGES = 4000
"""WAL pages after which a commit checkpoints the file itself (SQLite's default: 1,000).

A backstop: the store checkpoints its bulk writes on a thread of its own
(:mod:`ogma.store.sqlite.checkpoint`); a writer that already began its next transaction keeps
the WAL from restarting, so it grows past 1,000 pages while that thread keeps up."""

_INSTALL_HINT = (
    "Fix: pip install apsw (it bundles a recent SQLite that can load extensions), "
    "or use a Python whose sqlite3 module supports enable_load_extension and SQLite >= "
    + ".".join(map(str, MIN_SQLITE_VERSION))
    + "."
)

Params = Sequence[Any] | dict[str, Any]


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3] if part.isdigit())


class Connection:
    """One SQLite connection behind a driver-neutral interface.

    Statements run in autocommit mode unless inside :meth:`transaction`, which
    holds the write lock (``BEGIN IMMEDIATE``) and commits or rolls back as a whole.
    Driver errors surface as :class:`~ogma.errors.StoreError`.

    Example:
        >>> conn = connect(":memory:")
        >>> with conn.transaction():
        ...     conn.execute("CREATE TABLE t (x)")
        ...     conn.executemany("INSERT INTO t VALUES (?)", [(1,), (2,)])
        >>> conn.fetchall("SELECT x FROM t ORDER BY x")
        [(1,), (2,)]
        >>> conn.close()
    """

    driver: str = ""

    def __init__(self, raw: Any, *, path: str) -> None:
        self._raw = raw
        self.path = path
        self._depth = 0
        self.tracer: Callable[[str, Any], None] | None = None
        """Called with ``(sql, params)`` before each statement (``None``: off)."""
        self.generation_pin: list[int] | None = None
        """Inside one search, the change counter as that search first read it (see
        :func:`ogma.store.sqlite.schema.pin_generation`); ``None``: no search is running."""

    # -- driver specifics -------------------------------------------------
    def _errors(self) -> tuple[type[BaseException], ...]:
        raise NotImplementedError

    def _cursor_execute(self, sql: str, params: Params) -> Any:
        raise NotImplementedError

    def _cursor_executemany(self, sql: str, rows: Iterable[Params]) -> None:
        raise NotImplementedError

    def _script(self, sql: str) -> None:
        raise NotImplementedError

    # -- public interface -------------------------------------------------
    def _wrap(self, exc: BaseException, sql: str) -> OgmaError:
        message = str(exc)
        if any(
            sign in message for sign in ("parser stack overflow", "Expression tree is too large", "Recursion limit")
        ):
            # The store's own statements are flat: only a deeply nested metadata filter gets here.
            return FilterError(
                f"the metadata filter nests too deeply for this SQLite ({self.driver}: {message}); flatten it "
                "(one $and/$or list instead of nested ones, $in for alternatives on one field). Older SQLite builds "
                "have a small fixed parser stack; the apsw driver bundles a recent SQLite (driver='apsw')."
            )
        if "locked" in message or "busy" in message.lower():
            return StoreError(
                f"the database {self.path!r} stayed locked by another writer longer than the busy timeout "
                f"({message}); retry, or open the store with a larger busy_timeout"
            )
        return StoreError(f"SQLite error ({self.driver}): {message} -- while running: {sql.strip()[:200]}")

    def execute(self, sql: str, params: Params = ()) -> None:
        """Run one statement, discarding any rows."""
        if self.tracer is not None:
            self.tracer(sql, params)
        try:
            for _ in self._cursor_execute(sql, params):
                pass
        except self._errors() as exc:
            raise self._wrap(exc, sql) from exc

    def executescript(self, sql: str) -> None:
        """Run several ``;``-separated statements without parameters (DDL)."""
        try:
            self._script(sql)
        except self._errors() as exc:
            raise self._wrap(exc, sql) from exc

    def executemany(self, sql: str, rows: Iterable[Params]) -> None:
        """Run one statement once per parameter row."""
        if self.tracer is not None:
            self.tracer(sql, rows)
        try:
            self._cursor_executemany(sql, rows)
        except self._errors() as exc:
            raise self._wrap(exc, sql) from exc

    def fetchall(self, sql: str, params: Params = ()) -> list[tuple[Any, ...]]:
        """Run a query and return all rows as tuples."""
        if self.tracer is not None:
            self.tracer(sql, params)
        try:
            return list(self._cursor_execute(sql, params).fetchall())
        except self._errors() as exc:
            raise self._wrap(exc, sql) from exc

    def fetchbatches(self, sql: str, params: Params = (), *, size: int = 10_000) -> Iterator[list[tuple[Any, ...]]]:
        """Run a query and yield its rows ``size`` at a time (streams a large result)."""
        if self.tracer is not None:
            self.tracer(sql, params)
        try:
            cursor = self._cursor_execute(sql, params)
            while True:
                batch = [tuple(row) for row in itertools.islice(cursor, size)]
                if not batch:
                    return
                yield batch
        except self._errors() as exc:
            raise self._wrap(exc, sql) from exc

    def fetchone(self, sql: str, params: Params = ()) -> tuple[Any, ...] | None:
        """Run a query and return its first row, or ``None``."""
        if self.tracer is not None:
            self.tracer(sql, params)
        try:
            for row in self._cursor_execute(sql, params):
                return tuple(row)
        except self._errors() as exc:
            raise self._wrap(exc, sql) from exc
        return None

    def scalar(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or ``None``."""
        row = self.fetchone(sql, params)
        return None if row is None else row[0]

    @property
    def in_transaction(self) -> bool:
        """Whether :meth:`transaction` is active on this connection."""
        return self._depth > 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception.

        Nested calls join the outer transaction.
        """
        if self._depth:
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
            return
        self.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
        except BaseException:
            self._depth = 0
            try:
                self._cursor_execute("ROLLBACK", ())
            except self._errors() as rollback_exc:  # the original error matters more
                logger.warning("ROLLBACK failed after an error: %s", rollback_exc)
            raise
        self._depth = 0
        self.execute("COMMIT")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._raw is not None:
            self._raw.close()
            self._raw = None


class _Sqlite3Connection(Connection):
    driver = "sqlite3"

    def _errors(self) -> tuple[type[BaseException], ...]:
        return (sqlite3.Error,)

    def _cursor_execute(self, sql: str, params: Params) -> Any:
        return self._raw.execute(sql, params)

    def _script(self, sql: str) -> None:
        self._raw.executescript(sql)

    def _cursor_executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._raw.executemany(sql, rows)


class _ApswConnection(Connection):
    driver = "apsw"

    def _errors(self) -> tuple[type[BaseException], ...]:
        import apsw

        return (apsw.Error,)

    def _cursor_execute(self, sql: str, params: Params) -> Any:
        return self._raw.execute(sql, params if params else None)

    def _script(self, sql: str) -> None:
        self._raw.execute(sql)

    def _cursor_executemany(self, sql: str, rows: Iterable[Params]) -> None:
        self._raw.executemany(sql, rows)


@functools.cache
def _stdlib_usable() -> tuple[bool, str]:
    """Whether stdlib sqlite3 can run the store, and why not."""
    if not hasattr(sqlite3.Connection, "enable_load_extension"):
        return False, "this Python's sqlite3 module was built without enable_load_extension"
    if _version_tuple(sqlite3.sqlite_version) < MIN_SQLITE_VERSION:
        return False, f"its SQLite {sqlite3.sqlite_version} is older than the required version"
    try:
        probe = sqlite3.connect(":memory:")
        try:
            probe.execute("CREATE VIRTUAL TABLE temp.probe USING fts5(x)")
            probe.enable_load_extension(True)
            probe.load_extension(sqlite_vec.loadable_path())
        finally:
            probe.close()
    except (sqlite3.Error, AttributeError) as exc:
        return False, f"probing it failed: {exc}"
    return True, ""


def _apsw_available() -> tuple[bool, str]:
    try:
        import apsw
    except ImportError:
        return False, "apsw is not installed"
    if _version_tuple(apsw.sqlite_lib_version()) < MIN_SQLITE_VERSION:
        return False, f"its SQLite {apsw.sqlite_lib_version()} is too old"
    return True, ""


def resolve_driver(driver: Driver = "auto") -> Literal["sqlite3", "apsw"]:
    """Pick the driver: ``"auto"`` prefers stdlib sqlite3 when it is capable, else apsw.

    Raises:
        SqliteDriverError: The requested driver (or, for ``"auto"``, every driver) is unusable.
        ValueError: Unknown driver name.
    """
    if driver not in DRIVERS:
        raise ValueError(f"driver must be one of {', '.join(DRIVERS)}; got {driver!r}")
    stdlib_ok, stdlib_why = _stdlib_usable()
    if driver == "sqlite3":
        if not stdlib_ok:
            raise SqliteDriverError(f"the sqlite3 driver cannot be used: {stdlib_why}. {_INSTALL_HINT}")
        return "sqlite3"
    apsw_ok, apsw_why = _apsw_available()
    if driver == "apsw":
        if not apsw_ok:
            raise SqliteDriverError(f"the apsw driver cannot be used: {apsw_why}. {_INSTALL_HINT}")
        return "apsw"
    if stdlib_ok:
        return "sqlite3"
    if apsw_ok:
        return "apsw"
    raise SqliteDriverError(f"no usable SQLite driver: sqlite3 -- {stdlib_why}; apsw -- {apsw_why}. {_INSTALL_HINT}")


def _writable_dir(directory: Path) -> bool:
    return os.access(directory, os.W_OK | os.X_OK)


def read_only_uri(path: str) -> str:
    """The SQLite URI that opens ``path`` for reading only.

    ``mode=ro`` never writes the database. In WAL mode SQLite still needs the ``-shm``
    index beside the file; when the directory is not writable it cannot make one, so the
    file is opened ``immutable=1`` (no locks, no ``-wal``/``-shm``), which is safe as long
    as there is no ``-wal`` file with changes that are not yet in the database file.

    Raises:
        StoreError: The directory is not writable and a non-empty ``-wal`` file exists:
            reading the database file alone would miss the changes still in the WAL.

    Example:
        >>> read_only_uri("/tmp/no such dir/s.db")
        'file:///tmp/no%20such%20dir/s.db?mode=ro&immutable=1'
    """
    resolved = Path(path).resolve()
    query = "mode=ro"
    if not _writable_dir(resolved.parent):
        wal = Path(str(resolved) + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(
                f"cannot open {path!r} read-only: its directory is not writable, so SQLite cannot create the "
                f"shared-memory index that reading needs, and {wal.name!r} still holds changes that are not in "
                "the database file (reading without it would miss them). Open the store once where it is "
                "writable (closing the last writer folds the WAL into the file), or copy the store file "
                "together with its -wal file to a writable directory."
            )
        query += "&immutable=1"
    return resolved.as_uri() + "?" + query


def leaves_no_trace(path: str) -> bool:
    """Whether a read-only open of ``path`` should use a query-only read-write connection.

    Reading a WAL database needs its ``-wal`` and ``-shm`` files. A ``mode=ro``
    connection creates them when they are missing but cannot remove them when it closes,
    so every read would leave them behind (and the ``-wal`` file's time would look like
    a write). A read-write connection with ``PRAGMA query_only`` cannot change the
    database either, and SQLite removes both files when the last connection closes.
    It is used when the ``-wal`` file is missing or empty (no changes wait in it: no
    writer has committed since the last checkpoint, and no crashed writer left any behind;
    an empty one may come from another read-only connection) and both the file and its
    directory are writable; otherwise the store is opened ``mode=ro`` (see
    :func:`read_only_uri`), which leaves the files as it found them.

    Example:
        >>> leaves_no_trace("/no/such/dir/s.db")
        False
    """
    target = Path(path).resolve()
    wal = Path(str(target) + "-wal")
    return (
        target.is_file()
        and (not wal.exists() or wal.stat().st_size == 0)
        and os.access(target, os.W_OK)
        and _writable_dir(target.parent)
    )


def _query_only_uri(path: str) -> str:
    return Path(path).resolve().as_uri() + "?mode=rw"


def _open_raw(name: str, path: str, *, read_only: bool) -> Any:
    memory = path == ":memory:"
    quiet = read_only and not memory and leaves_no_trace(path)
    if name == "sqlite3":
        if quiet:
            raw = sqlite3.connect(_query_only_uri(path), uri=True, isolation_level=None, check_same_thread=False)
        elif read_only and not memory:
            raw = sqlite3.connect(read_only_uri(path), uri=True, isolation_level=None, check_same_thread=False)
        else:
            raw = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        raw.enable_load_extension(True)
        raw.load_extension(sqlite_vec.loadable_path())
        raw.enable_load_extension(False)
        return raw
    import apsw

    if quiet:
        conn = apsw.Connection(_query_only_uri(path), flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_URI)
    elif read_only and not memory:
        conn = apsw.Connection(read_only_uri(path), flags=apsw.SQLITE_OPEN_READONLY | apsw.SQLITE_OPEN_URI)
    else:
        conn = apsw.Connection(path, flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE)
    conn.enable_load_extension(True)
    conn.load_extension(sqlite_vec.loadable_path())
    conn.enable_load_extension(False)
    return conn


def connect(
    path: str | Path,
    *,
    driver: Driver = "auto",
    busy_timeout: float = 5.0,
    read_only: bool = False,
    cache_mib: int = 64,
    mmap_mib: int = 2048,
) -> Connection:
    """Open ``path`` with sqlite-vec loaded and the store's pragmas set.

    Args:
        path: A file path, or ``":memory:"``.
        driver: ``"auto"``, ``"sqlite3"`` or ``"apsw"`` (see :func:`resolve_driver`).
        busy_timeout: Seconds to wait for another writer's lock before failing.
        read_only: Open the file read-only (nothing can be written; no ``-wal``/``-shm`` files are left
            behind, see :func:`leaves_no_trace`).
        cache_mib: Page cache size of this connection, in MiB.
        mmap_mib: Memory-map up to this much of the file for reads (``0``: off). Random reads of
            vectors by rowid, as exact rescoring does, run two to three times faster mapped.

    Returns:
        A :class:`Connection` in autocommit mode, WAL journal (files; automatic checkpoints every
        :data:`WAL_AUTOCHECKPOINT_PAGES` pages), ``synchronous=NORMAL``, foreign keys on, reads memory-mapped.

    Raises:
        SqliteDriverError: No driver can load sqlite-vec.
        StoreError: The file cannot be opened.
    """
    if busy_timeout < 0:
        raise ValueError(f"busy_timeout must be >= 0 seconds, got {busy_timeout!r}")
    name = resolve_driver(driver)
    text_path = str(path)
    if read_only and text_path != ":memory:" and not Path(text_path).exists():
        raise StoreError(f"{text_path!r} does not exist, and a read-only store cannot be created")
    errors: tuple[type[BaseException], ...] = (sqlite3.Error,)
    if name == "apsw":
        import apsw

        errors = (apsw.Error,)
    try:
        raw = _open_raw(name, text_path, read_only=read_only)
    except errors as exc:
        hint = _access_hint(text_path)
        raise StoreError(f"cannot open the store file {text_path!r} with {name}: {exc}{hint}") from exc
    conn: Connection = (
        _Sqlite3Connection(raw, path=text_path) if name == "sqlite3" else _ApswConnection(raw, path=text_path)
    )
    try:
        if read_only:
            conn.execute("PRAGMA query_only = 1")  # SQLite itself refuses every write on this connection
        conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if text_path != ":memory:" and not read_only:
            if conn.scalar("PRAGMA page_count") == 0:
                conn.execute(f"PRAGMA page_size = {NEW_FILE_PAGE_SIZE}")
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute(f"PRAGMA cache_size = {-1024 * int(cache_mib)}")
        conn.execute(f"PRAGMA mmap_size = {1024 * 1024 * int(mmap_mib)}")
    except StoreError as exc:
        conn.close()
        if "not a database" in str(exc):
            raise StoreError(f"{text_path!r} is not an SQLite database, so not an Ogma store; check the path") from exc
        hint = _access_hint(text_path) if not read_only else ""
        if hint:
            raise StoreError(f"{exc}{hint}") from exc
        raise
    logger.debug("opened %s with %s", text_path, name)
    return conn


def _access_hint(path: str) -> str:
    """Why a file cannot be written, and what to do, when permissions are the cause."""
    if path == ":memory:":
        return ""
    target = Path(path)
    folder = target.resolve().parent
    if not folder.is_dir():
        what = "exists but is not a folder" if folder.exists() else "does not exist"
        return (
            f". The folder {str(folder)!r} {what}, and Ogma does not create folders: create it, or choose another path"
        )
    if target.exists() and not os.access(target, os.W_OK):
        return f". The file {path!r} is not writable: open the store with read_only=True to search it"
    if not _writable_dir(folder):
        what = "open the store with read_only=True to search it" if target.exists() else "choose a writable place"
        return f". The directory of {path!r} is not writable (SQLite writes -wal/-shm files beside the store): {what}"
    return ""


def driver_info(driver: Driver = "auto") -> dict[str, Any]:
    """What the store would run on: driver, SQLite and sqlite-vec versions, FTS5 and JSON support.

    Returns:
        A dict with ``driver``, ``sqlite_version``, ``sqlite_vec_version``, ``fts5``, ``json``,
        ``stdlib_sqlite_version``, ``stdlib_can_load_extensions`` and ``stdlib_reason``
        (why stdlib sqlite3 is not used, empty when it is). When no driver works, ``driver``
        is ``None`` and ``error`` holds the reason.

    Example:
        >>> info = driver_info()
        >>> info["fts5"], info["driver"] in ("sqlite3", "apsw")
        (True, True)
    """
    stdlib_ok, stdlib_why = _stdlib_usable()
    info: dict[str, Any] = {
        "driver": None,
        "sqlite_version": None,
        "sqlite_vec_version": None,
        "fts5": False,
        "json": False,
        "stdlib_sqlite_version": sqlite3.sqlite_version,
        "stdlib_can_load_extensions": hasattr(sqlite3.Connection, "enable_load_extension"),
        "stdlib_reason": stdlib_why if not stdlib_ok else "",
    }
    try:
        conn = connect(":memory:", driver=driver)
    except (SqliteDriverError, StoreError) as exc:
        info["error"] = str(exc)
        return info
    try:
        info["driver"] = conn.driver
        info["sqlite_version"] = conn.scalar("SELECT sqlite_version()")
        info["sqlite_vec_version"] = conn.scalar("SELECT vec_version()")
        options = {row[0] for row in conn.fetchall("PRAGMA compile_options")}
        info["fts5"] = "ENABLE_FTS5" in options or _can_create(conn, "CREATE VIRTUAL TABLE temp.p USING fts5(x)")
        info["json"] = conn.scalar("SELECT json_valid('{}')") == 1
    finally:
        conn.close()
    return info


def _can_create(conn: Connection, sql: str) -> bool:
    try:
        conn.execute(sql)
    except StoreError:
        return False
    return True
