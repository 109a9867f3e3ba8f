"""WAL checkpoints of bulk writes on a thread of their own, so the writer does not wait for them.

In WAL mode every commit appends pages to the ``-wal`` file, and SQLite's automatic checkpoint
copies them into the database file *inside the commit that crosses its mark*: the writer waits
while the pages are copied and both files are synced (``synchronous=NORMAL`` syncs only
there). With SQLite's default mark (1,000 pages) a bulk load crosses it with almost every batch.
:class:`BackgroundCheckpoint` runs a ``PASSIVE`` checkpoint on its own connection once this
process has written :data:`BULK_BYTES` more: SQLite steps it with the GIL released, so the copy
and the syncs run while the caller prepares its next batch. The automatic checkpoint stays, at
a higher mark (:data:`~ogma.store.sqlite.connect.WAL_AUTOCHECKPOINT_PAGES`), as the backstop:
the WAL restarts from its start only when a writer begins with every page copied, so during a
load it can grow past 1,000 pages while this thread keeps up.

Nothing changes in what is stored, in atomicity or in durability: a checkpoint only copies
committed pages, ``PASSIVE`` never waits for (or blocks) readers and writers of any process,
and a checkpoint that fails or is cut short by a crash leaves the WAL for the next one.

Example:
    >>> from ogma.store.sqlite.pool import ConnectionPool
    >>> pool = ConnectionPool(":memory:")
    >>> checkpoints = BackgroundCheckpoint(pool)
    >>> checkpoints.wrote(64 << 20)  # an in-memory database has no WAL: nothing starts
    >>> checkpoints.close()
"""

from __future__ import annotations

import logging
import os
import threading

from ogma.errors import OgmaError
from ogma.store.sqlite.pool import ConnectionPool

__all__ = ["BULK_BYTES", "IDLE_SECONDS", "BackgroundCheckpoint"]

logger = logging.getLogger(__name__)

BULK_BYTES = 1 << 20
"""Bytes (vectors, texts, metadata) this process writes before it asks for a background checkpoint.

Smaller writes leave the WAL to SQLite's automatic checkpoint, as before."""

IDLE_SECONDS = 2.0
"""Seconds without a request after which the thread ends (and closes its connection); the next
request starts another. A store that is never closed then keeps no thread alive."""


class BackgroundCheckpoint:
    """One thread that checkpoints a store's WAL when asked, with its own connection from ``pool``.

    Args:
        pool: The store's connection pool (an in-memory one never starts the thread; a store
            calls :meth:`wrote` only after its own writes, which a read-only store refuses).

    Example:
        >>> import tempfile, pathlib
        >>> folder = tempfile.mkdtemp()
        >>> pool = ConnectionPool(str(pathlib.Path(folder) / "s.db"))
        >>> with pool.connection() as conn:
        ...     conn.execute("CREATE TABLE t (x)")
        >>> checkpoints = BackgroundCheckpoint(pool)
        >>> checkpoints.wrote(BULK_BYTES)
        >>> checkpoints.wait()
        >>> checkpoints.done >= 1
        True
        >>> checkpoints.close(); pool.close()
    """

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._lock = threading.Condition()
        self._pending = 0  # bytes written since the last request
        self._requested = False
        self._running = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._pid = os.getpid()
        self.done = 0
        """Checkpoints run so far (for tests and diagnostics)."""

    def wrote(self, nbytes: int) -> None:
        """Count ``nbytes`` just committed; past :data:`BULK_BYTES`, ask the thread for a checkpoint."""
        if self._pool.memory:
            return
        with self._lock:
            if os.getpid() != self._pid:  # a forked child: the parent's thread does not run here
                self._pid, self._thread, self._requested, self._running = os.getpid(), None, False, False
            if self._closing:
                return
            self._pending += nbytes
            if self._pending < BULK_BYTES:
                return
            self._pending = 0
            self._requested = True
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ogma-checkpoint", daemon=True)
                self._thread.start()
            self._lock.notify_all()

    def wait(self) -> None:
        """Block until no checkpoint is asked for or running."""
        with self._lock:
            self._lock.wait_for(lambda: self._thread is None or not (self._requested or self._running))

    def close(self) -> None:
        """Finish the checkpoint under way, if any, and stop the thread (idempotent)."""
        with self._lock:
            self._closing = True
            thread = self._thread if os.getpid() == self._pid else None
            self._lock.notify_all()
        if thread is not None:
            thread.join()

    def _next(self) -> bool:
        """Wait for a request (``True``), or for :meth:`close` or :data:`IDLE_SECONDS` without one (``False``)."""
        with self._lock:
            self._running = False
            self._lock.notify_all()
            self._lock.wait_for(lambda: self._requested or self._closing, timeout=IDLE_SECONDS)
            if self._closing or not self._requested:
                self._thread = None  # under the lock: a request from now on starts a new thread
                return False
            self._requested, self._running = False, True
            return True

    def _run(self) -> None:
        try:
            with self._pool.connection() as conn:
                while self._next():
                    try:
                        conn.fetchone("PRAGMA wal_checkpoint(PASSIVE)")
                    except OgmaError as exc:  # the WAL stays for the next checkpoint: nothing is lost
                        logger.warning("background checkpoint of %s failed: %s", self._pool.path, exc)
                    else:
                        self.done += 1
        except OgmaError as exc:  # no connection: SQLite's own checkpoints remain
            logger.warning("background checkpoints of %s stopped: %s", self._pool.path, exc)
        finally:
            with self._lock:
                if self._thread is threading.current_thread():
                    self._thread = None
                self._running = False
                self._lock.notify_all()
