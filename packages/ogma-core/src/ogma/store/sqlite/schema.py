"""The store's tables, its configuration record and versioned migrations.

Layout of one store file (all names prefixed ``ogma_`` so a store can share a
file with other tables):

* ``ogma_documents`` -- ``rowid INTEGER PRIMARY KEY``, ``id TEXT UNIQUE``, ``text``
  (``NULL`` for a document without content, schema 4+), ``metadata`` (JSON text),
  ``content_hash`` (BLAKE2b-128 of the UTF-8 text, ``NULL`` without text).
* ``ogma_fts`` -- FTS5, external content over ``ogma_documents.text``, same rowids.
* ``ogma_vec`` -- sqlite-vec ``vec0`` index of the search vectors: ``float[d]``
  (cosine), ``int8[d]`` (cosine) or ``bit[d]`` (Hamming), by precision.
* ``ogma_vectors`` -- the exact float32 vectors as little-endian blobs, by rowid.
* ``ogma_facets`` -- every top-level metadata value by field, type and value, indexed,
  written with the documents (schema 6+; :mod:`ogma.store.sqlite.facets`).
* ``ogma_config`` -- key/value record: model id, dims, task scheme, precision,
  int8 ranges, FTS tokenizer, schema version, creating Ogma version, and a
  change counter bumped by every write.

Example:
    >>> from ogma.store.sqlite.connect import connect
    >>> conn = connect(":memory:")
    >>> create_schema(conn, StoreConfig(precision="binary"))
    >>> read_config(conn).precision
    'binary'
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields, replace
from typing import Literal

from ogma.compress import Int8Ranges
from ogma.errors import StoreError
from ogma.store.config import check_settings
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.facets import create_facets, facets_sql
from ogma.store.sqlite.sql import DOCUMENTS, FTS, VEC_INDEX, VECTORS, quote_identifier, quote_string, windows_table_sql

__all__ = [
    "CONFIG",
    "DEFAULT_FTS_TOKENIZER",
    "INDEX_PRECISIONS",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "IndexPrecision",
    "StoreConfig",
    "bump_generation",
    "check_compatible",
    "content_hash",
    "create_schema",
    "create_vector_tables",
    "migrate",
    "pin_generation",
    "read_config",
    "read_generation",
    "search_generation",
    "write_config",
]

logger = logging.getLogger(__name__)

CONFIG = "ogma_config"
SCHEMA_VERSION = 6
DEFAULT_FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"

IndexPrecision = Literal["float32", "int8", "binary"]
INDEX_PRECISIONS: tuple[IndexPrecision, ...] = ("float32", "int8", "binary")

_VEC_TYPES: dict[str, str] = {
    "float32": "float[{dim}] distance_metric=cosine",
    "int8": "int8[{dim}] distance_metric=cosine",
    "binary": "bit[{dim}]",
}


def _ogma_version() -> str:
    try:
        from importlib.metadata import PackageNotFoundError, version

        return version("ogma-core")
    except PackageNotFoundError:
        return "unknown"


def content_hash(encoded_text: bytes) -> bytes:
    """BLAKE2b-128 of a document's UTF-8 text (lets callers skip unchanged documents).

    Example:
        >>> len(content_hash(b"hello"))
        16
    """
    return hashlib.blake2b(encoded_text, digest_size=16).digest()


@dataclass(frozen=True)
class StoreConfig:
    """The configuration record of one store file.

    Attributes:
        model_id: Embedding model id, or ``None`` when unknown (plain callables, raw vectors).
        dim: Dimension of the stored vectors (``None`` until the first vectors arrive).
        full_dim: The model's own dimension (``dim`` is smaller after Matryoshka truncation).
        task_scheme: The encoder's task scheme name, if any.
        precision: Precision of the search index.
        int8_ranges: Quantization ranges of an int8 index (fixed when the first vectors arrive).
        fts_tokenizer: The FTS5 ``tokenize`` option.
        schema_version: Layout version of the file.
        created_with: The ogma-core version that created the file.
        exact_in_index: The float32 ``vec0`` index holds the exact vectors and
            ``ogma_vectors`` stays empty (float32 stores created with schema 3+).

    Example:
        >>> StoreConfig(model_id="m", dim=256, full_dim=384).dim
        256
    """

    model_id: str | None = None
    dim: int | None = None
    full_dim: int | None = None
    task_scheme: str | None = None
    precision: IndexPrecision = "float32"
    int8_ranges: Int8Ranges | None = None
    fts_tokenizer: str = DEFAULT_FTS_TOKENIZER
    schema_version: int = SCHEMA_VERSION
    created_with: str = ""
    exact_in_index: bool = False


def _encode_value(name: str, value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, Int8Ranges):
        return value.to_bytes().hex()
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def write_config(conn: Connection, config: StoreConfig) -> None:
    """Write every field of ``config`` (``None`` fields are removed)."""
    with conn.transaction():
        for item in fields(config):
            value = _encode_value(item.name, getattr(config, item.name))
            if value is None:
                conn.execute(f"DELETE FROM {CONFIG} WHERE key = ?", (item.name,))
            else:
                conn.execute(
                    f"INSERT INTO {CONFIG} (key, value) VALUES (?, ?) "
                    "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                    (item.name, value),
                )


def _table_exists(conn: Connection, name: str) -> bool:
    return conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (name,)) is not None


def read_config(conn: Connection) -> StoreConfig:
    """Read the configuration record.

    Raises:
        StoreError: The file is not an Ogma store.
    """
    if not _table_exists(conn, CONFIG):
        raise StoreError(f"{conn.path!r} is not an Ogma store (no {CONFIG} table)")
    raw = dict(conn.fetchall(f"SELECT key, value FROM {CONFIG}"))
    try:
        precision = raw.get("precision", "float32")
        if precision not in INDEX_PRECISIONS:
            raise ValueError(f"unknown precision {precision!r}")
        ranges = raw.get("int8_ranges")
        return StoreConfig(
            model_id=raw.get("model_id"),
            dim=int(raw["dim"]) if raw.get("dim") else None,
            full_dim=int(raw["full_dim"]) if raw.get("full_dim") else None,
            task_scheme=raw.get("task_scheme"),
            precision=precision,
            int8_ranges=Int8Ranges.from_bytes(bytes.fromhex(ranges)) if ranges else None,
            fts_tokenizer=raw.get("fts_tokenizer", DEFAULT_FTS_TOKENIZER),
            schema_version=int(raw.get("schema_version", "1")),
            created_with=raw.get("created_with", ""),
            exact_in_index=raw.get("exact_in_index", "0") == "1",
        )
    except (KeyError, ValueError) as exc:
        raise StoreError(f"the configuration record of {conn.path!r} is corrupt: {exc}") from exc


def read_generation(conn: Connection) -> int:
    """The change counter: bumped by every committed write to documents or vectors."""
    value = conn.scalar(f"SELECT value FROM {CONFIG} WHERE key = 'generation'")
    return int(value) if value is not None else 0


@contextlib.contextmanager
def pin_generation(conn: Connection) -> Iterator[None]:
    """One search: inside, :func:`search_generation` reads the change counter once and repeats it.

    A search syncs several in-process indexes (the graph or the vector mirror, then the
    windows of long documents) to the store's generation; each used to read the counter
    itself. Pinned, the first read serves them all: each then loads what it holds no earlier
    than that read, so a write committed meanwhile can only make it reload on the next
    search, never be missed. Nested pins join the outer one.

    Example:
        >>> from ogma.store.sqlite.connect import connect
        >>> conn = connect(":memory:")
        >>> create_schema(conn, StoreConfig())
        >>> with pin_generation(conn):
        ...     first = search_generation(conn)
        ...     with conn.transaction():
        ...         _ = bump_generation(conn)
        ...     search_generation(conn) == first, read_generation(conn) == first + 1
        (True, True)
        >>> search_generation(conn) == first + 1
        True
    """
    if conn.generation_pin is not None:
        yield
        return
    conn.generation_pin = []
    try:
        yield
    finally:
        conn.generation_pin = None


def search_generation(conn: Connection) -> int:
    """The change counter as the running search first read it (:func:`pin_generation`); outside one, read now."""
    pin = conn.generation_pin
    if pin is None:
        return read_generation(conn)
    if not pin:
        pin.append(read_generation(conn))
    return pin[0]


def bump_generation(conn: Connection) -> int:
    """Increment the change counter (call inside the write transaction); returns the new value."""
    value = conn.scalar(
        f"INSERT INTO {CONFIG} (key, value) VALUES ('generation', '1') "
        "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 RETURNING value"
    )
    return int(value)


def _documents_table(name: str) -> str:
    return (
        f"CREATE TABLE IF NOT EXISTS {quote_identifier(name)} ("
        "rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, text TEXT, "
        "metadata TEXT NOT NULL DEFAULT '{}', content_hash BLOB)"
    )


def _base_statements(tokenizer: str) -> list[str]:
    return [
        f"CREATE TABLE IF NOT EXISTS {CONFIG} (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        _documents_table(DOCUMENTS),
        f"CREATE VIRTUAL TABLE IF NOT EXISTS {quote_identifier(FTS)} USING fts5("
        f"text, content={quote_string(DOCUMENTS)}, content_rowid='rowid', tokenize={quote_string(tokenizer)})",
        windows_table_sql(),
        *facets_sql(),
    ]


def create_vector_tables(conn: Connection, dim: int, precision: IndexPrecision) -> None:
    """Create the ``vec0`` index and the float blob table for ``dim``-d vectors."""
    if precision not in _VEC_TYPES:
        raise ValueError(f"precision must be one of {', '.join(INDEX_PRECISIONS)}; got {precision!r}")
    width = -(-int(dim) // 8) * 8 if precision == "binary" else int(dim)  # bit[N] needs N % 8 == 0
    column = _VEC_TYPES[precision].format(dim=width)
    with conn.transaction():
        conn.execute(f"CREATE VIRTUAL TABLE IF NOT EXISTS {quote_identifier(VEC_INDEX)} USING vec0(embedding {column})")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {quote_identifier(VECTORS)} (rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL)"
        )


def create_schema(conn: Connection, config: StoreConfig) -> None:
    """Create a new store in an empty file and write its configuration record.

    Raises:
        StoreError: The tokenizer is not accepted by FTS5, or the file cannot be written.
    """
    with conn.transaction():
        for statement in _base_statements(config.fts_tokenizer):
            conn.execute(statement)
        if config.dim is not None:
            create_vector_tables(conn, config.dim, config.precision)
        write_config(conn, replace(config, schema_version=SCHEMA_VERSION, created_with=_ogma_version()))
        conn.execute(f"INSERT OR IGNORE INTO {CONFIG} (key, value) VALUES ('generation', '0')")


# -- migrations -------------------------------------------------------------
def _migrate_to_2(conn: Connection) -> None:
    """Version 2 adds ``content_hash`` to documents and backfills it."""
    table = quote_identifier(DOCUMENTS)
    columns = {row[1] for row in conn.fetchall(f"PRAGMA table_info({table})")}
    if "content_hash" not in columns:
        conn.execute(f"ALTER TABLE {table} ADD COLUMN content_hash BLOB")
    last = 0
    while True:
        rows = conn.fetchall(f"SELECT rowid, text FROM {table} WHERE rowid > ? ORDER BY rowid LIMIT 5000", (last,))
        if not rows:
            break
        conn.executemany(
            f"UPDATE {table} SET content_hash = ? WHERE rowid = ?",
            [(content_hash(text.encode("utf-8")), rowid) for rowid, text in rows],
        )
        last = rows[-1][0]


def _migrate_to_3(conn: Connection) -> None:
    """Version 3 lets float32 stores keep their exact vectors in the ``vec0`` index only.

    Files written before keep both tables; recording that (``exact_in_index = 0``) is all
    the upgrade does. The version bump itself makes older ogma-core refuse the new layout
    instead of reading an empty ``ogma_vectors`` table.
    """
    conn.execute(f"INSERT OR IGNORE INTO {CONFIG} (key, value) VALUES ('exact_in_index', '0')")


def _migrate_to_4(conn: Connection) -> None:
    """Version 4 lets a document have no text: ``ogma_documents.text`` becomes nullable.

    SQLite cannot drop a ``NOT NULL`` constraint in place, so the table is rebuilt under a
    new name with the same rowids (the FTS index and the vectors refer to rowids, so they
    stay valid), the old one dropped and the new one renamed, all inside the migration's
    transaction. A file already at the new layout is left alone.
    """
    table = quote_identifier(DOCUMENTS)
    columns = {row[1]: row[3] for row in conn.fetchall(f"PRAGMA table_info({table})")}
    if not columns.get("text"):  # "notnull" is 0: nothing to do
        return
    rebuilt = f"{DOCUMENTS}_v4"
    conn.execute(f"DROP TABLE IF EXISTS {quote_identifier(rebuilt)}")
    conn.execute(_documents_table(rebuilt))
    conn.execute(
        f"INSERT INTO {quote_identifier(rebuilt)} (rowid, id, text, metadata, content_hash) "
        f"SELECT rowid, id, text, metadata, content_hash FROM {table}"
    )
    conn.execute(f"DROP TABLE {table}")
    conn.execute(f"ALTER TABLE {quote_identifier(rebuilt)} RENAME TO {table}")


def _migrate_to_5(conn: Connection) -> None:
    """Version 5 adds ``ogma_windows``: the vectors of a long document's windows after its first.

    Existing documents keep their one vector (re-add a long document to store its windows).
    """
    conn.execute(windows_table_sql())


def _migrate_to_6(conn: Connection) -> None:
    """Version 6 adds ``ogma_facets`` (the typed, indexed metadata values filters read).

    The table is filled from the stored documents' metadata in the migration's transaction.
    """
    create_facets(conn)


MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    2: _migrate_to_2,
    3: _migrate_to_3,
    4: _migrate_to_4,
    5: _migrate_to_5,
    6: _migrate_to_6,
}
"""``version -> function`` upgrading a file from ``version - 1`` to ``version``."""


def migrate(conn: Connection) -> int:
    """Bring an existing store up to :data:`SCHEMA_VERSION`, in one transaction.

    Returns:
        The version the file had before.

    Raises:
        StoreError: The file was written by a newer Ogma (a newer schema version).
    """
    with conn.transaction():
        found = int(conn.scalar(f"SELECT value FROM {CONFIG} WHERE key = 'schema_version'") or 1)
        if found > SCHEMA_VERSION:
            raise StoreError(
                f"{conn.path!r} has store schema version {found}, newer than this ogma-core supports "
                f"({SCHEMA_VERSION}); upgrade ogma-core to open it"
            )
        for version in range(found + 1, SCHEMA_VERSION + 1):
            logger.info("migrating %s to store schema version %d", conn.path, version)
            MIGRATIONS[version](conn)
            conn.execute(
                f"INSERT INTO {CONFIG} (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (str(version),),
            )
    return found


def check_compatible(
    found: StoreConfig,
    *,
    model_id: str | None,
    dim: int | None,
    precision: IndexPrecision | None,
    fts_tokenizer: str | None,
) -> None:
    """Compare what the caller asked for with the file's record.

    ``None`` means "not specified" and always matches.

    Raises:
        StoreMismatchError: Naming the setting, both values and the fix.
    """
    check_settings(
        [
            ("model id", model_id, found.model_id),
            ("dimension", dim, found.dim),
            ("precision", precision, found.precision),
            ("FTS tokenizer", fts_tokenizer, found.fts_tokenizer),
        ],
        container="store file",
    )
