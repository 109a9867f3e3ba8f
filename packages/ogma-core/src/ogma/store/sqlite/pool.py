"""One SQLite connection per thread (files) or one shared, locked connection (``:memory:``).

SQLite connections must not run statements from two threads at once. For a file,
each thread gets its own connection, so readers run in parallel under WAL while
one writer holds the write lock. An in-memory database exists only inside its one
connection, so it is shared and guarded by a lock. A forked child never reuses its
parent's connections: it opens its own.

Example:
    >>> pool = ConnectionPool(":memory:")
    >>> with pool.connection() as conn:
    ...     conn.scalar("SELECT 40 + 2")
    42
    >>> pool.close()
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from collections.abc import Callable, Iterator
from typing import Any

from ogma.errors import StoreError
from ogma.store.sqlite.connect import Connection, Driver, connect

__all__ = ["ConnectionPool"]

logger = logging.getLogger(__name__)


class ConnectionPool:
    """Hands out the calling thread's connection to one store file.

    Args:
        path: File path or ``":memory:"``.
        driver: SQLite driver (see :func:`ogma.store.sqlite.connect.resolve_driver`).
        busy_timeout: Seconds to wait for a lock.
        read_only: Open connections read-only.
        tracer: Called with ``(sql, params)`` before each statement, to see the SQL.

    Example:
        >>> with ConnectionPool(":memory:").connection() as conn:
        ...     conn.driver in ("sqlite3", "apsw")
        True
    """

    def __init__(
        self,
        path: str,
        *,
        driver: Driver = "auto",
        busy_timeout: float = 5.0,
        read_only: bool = False,
        tracer: Callable[[str, Any], None] | None = None,
    ) -> None:
        self.path = path
        self.memory = path == ":memory:"
        self._options: dict[str, Any] = {"driver": driver, "busy_timeout": busy_timeout, "read_only": read_only}
        self._tracer = tracer
        self._local = threading.local()
        # Weak: a finished thread's connection is dropped (and closed by its driver) with the thread.
        self._all: weakref.WeakSet[Connection] = weakref.WeakSet()
        self._registry_lock = threading.Lock()
        self._memory_lock = threading.RLock()
        self._pid = os.getpid()
        self._closed = False
        self._shared: Connection | None = None

    def _open(self) -> Connection:
        conn = connect(self.path, **self._options)
        conn.tracer = self._tracer
        with self._registry_lock:
            self._all.add(conn)
        return conn

    def _check_fork(self) -> None:
        if os.getpid() != self._pid:
            # Connections inherited across fork must never be used (or closed) by the child.
            self._pid = os.getpid()
            self._local = threading.local()
            self._all = weakref.WeakSet()
            self._shared = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[Connection]:
        """The calling thread's connection (held under a lock for ``:memory:``)."""
        if self._closed:
            raise StoreError(f"the store {self.path!r} is closed")
        self._check_fork()
        if self.memory:
            with self._memory_lock:
                if self._shared is None:
                    self._shared = self._open()
                yield self._shared
            return
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        yield conn

    def close(self) -> None:
        """Close every connection this pool opened (idempotent)."""
        self._closed = True
        with self._registry_lock:
            connections = list(self._all)
            self._all = weakref.WeakSet()
        for conn in connections:
            conn.close()
        self._shared = None
