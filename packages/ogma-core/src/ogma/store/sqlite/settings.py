"""Settings: small strings kept in a SQLite store's configuration record (mixed into ``Store``).

Example:
    >>> from ogma.store import Store
    >>> with Store(":memory:") as store:
    ...     store.read_setting("app.owner") is None
    True
"""

from __future__ import annotations

from ogma.errors import StoreError
from ogma.store.settings import check_setting_key
from ogma.store.sqlite.pool import ConnectionPool
from ogma.store.sqlite.schema import CONFIG
from ogma.validation import check_str

__all__ = ["StoreSettings"]


class StoreSettings:
    """``read_setting`` and ``write_setting_once`` of a SQLite store."""

    _pool: ConnectionPool
    read_only: bool

    def read_setting(self, key: str) -> str | None:
        """A setting from the store's configuration record (``None`` when unset).

        Settings are small strings kept beside the configuration (the LangChain adapter
        keeps its embedder fingerprint there, see :mod:`ogma.store.fingerprint`).

        Example:
            >>> from ogma.store import Store
            >>> with Store(":memory:") as store:
            ...     store.write_setting_once("app.owner", "docs team"), store.read_setting("app.owner")
            (True, 'docs team')
        """
        key = check_setting_key(key)
        with self._pool.connection() as conn:
            value = conn.scalar(f"SELECT value FROM {CONFIG} WHERE key = ?", (key,))
        return None if value is None else str(value)

    def write_setting_once(self, key: str, value: str) -> bool:
        """Record a setting unless it is set already (the first value stands, also across processes).

        Returns:
            Whether this call wrote it.

        Raises:
            ValueError: ``key`` names a field of the configuration record (``dim``, ...).
            TypeError: ``key`` or ``value`` is not a string.
            StoreError: The store is read-only.
        """
        key = check_setting_key(key, writing=True)
        check_str(value, "value")
        if self.read_only:
            raise StoreError(f"this store was opened with read_only=True; open it without it to write setting {key!r}")
        with self._pool.connection() as conn, conn.transaction():
            if conn.scalar(f"SELECT 1 FROM {CONFIG} WHERE key = ?", (key,)) is not None:
                return False
            conn.execute(f"INSERT INTO {CONFIG} (key, value) VALUES (?, ?)", (key, value))
        return True
