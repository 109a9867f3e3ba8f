"""The typed facets table: every top-level metadata value by field, type and value, indexed.

A metadata filter compiled over ``json_extract`` reads every document's JSON to find the
rows that pass. The facets table holds the same information in a form an index answers:
one row per document and top-level metadata key, with the value's JSON type (numbers of
both kinds share one, so a range crosses ints and floats) and the scalar value itself,
exactly as ``json_each`` reads it from the stored JSON (the very values ``json_extract``
gives the JSON-path form of a filter). The filter compiler
(:mod:`ogma.store.sqlite.filters`) turns equality, ``$in``, ranges, ``$exists``,
``$like``/``$ilike`` on a top-level key (and their negations) into index lookups on it.

The write path keeps it in the same transaction as the documents: every statement that
inserts documents, changes their metadata or deletes them is followed by
:func:`index_metadata` or :func:`drop_facets` for the same rowids (set-based statements that
read the rows just written; per-row triggers measured four times slower on bulk adds). A
migration creates the table and fills it from the stored documents in its transaction.

Layout (``WITHOUT ROWID``, primary key ``(doc, field)``, so a document's rows are found
and removed by its rowid; the index ``(field, kind, value)`` carries ``doc`` along)::

    doc    INTEGER  the document's rowid
    field  TEXT     the top-level metadata key, as stored (no escaping)
    kind   INTEGER  0 null, 1 number (integer or real), 2 text, 3 boolean, 4 array, 5 object
    value           the number, the text, 1/0 for true/false; NULL for null, arrays, objects
                    (no declared type: no affinity converts '5' to 5 or 1.0 to 1)

Example:
    >>> from ogma.store.sqlite.connect import connect
    >>> conn = connect(":memory:")
    >>> conn.execute("CREATE TABLE docs (rowid INTEGER PRIMARY KEY, metadata TEXT NOT NULL)")
    >>> create_facets(conn, documents="docs", facets="facets")
    >>> conn.execute("INSERT INTO docs VALUES (1, ?)", ['{"year": 2020, "lang": "en", "draft": true}'])
    >>> index_metadata(conn, [1], fresh=True, documents="docs", facets="facets")
    >>> conn.fetchall("SELECT doc, field, kind, value FROM facets ORDER BY field")
    [(1, 'draft', 3, 1), (1, 'lang', 2, 'en'), (1, 'year', 1, 2020)]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import Final

from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.sql import DOCUMENTS, chunked, placeholders, quote_identifier

__all__ = [
    "FACETS",
    "FACETS_SINCE",
    "KIND_ARRAY",
    "KIND_BOOLEAN",
    "KIND_NULL",
    "KIND_NUMBER",
    "KIND_OBJECT",
    "KIND_TEXT",
    "create_facets",
    "drop_facets",
    "facets_sql",
    "fill_sql",
    "index_metadata",
]

logger = logging.getLogger(__name__)

FACETS: Final = "ogma_facets"
"""The facets table of a store (see the module docs)."""

FACETS_SINCE: Final = 6
"""The store schema version that added the facets table."""

KIND_NULL: Final = 0
KIND_NUMBER: Final = 1
KIND_TEXT: Final = 2
KIND_BOOLEAN: Final = 3
KIND_ARRAY: Final = 4
KIND_OBJECT: Final = 5

_KIND_OF_TYPE: Final = (
    f"CASE j.type WHEN 'integer' THEN {KIND_NUMBER} WHEN 'real' THEN {KIND_NUMBER} WHEN 'text' THEN {KIND_TEXT} "
    f"WHEN 'true' THEN {KIND_BOOLEAN} WHEN 'false' THEN {KIND_BOOLEAN} WHEN 'null' THEN {KIND_NULL} "
    f"WHEN 'array' THEN {KIND_ARRAY} ELSE {KIND_OBJECT} END"
)


def facets_sql(facets: str = FACETS) -> list[str]:
    """The statements that create the facets table and its index.

    Example:
        >>> [s.split(" (")[0] for s in facets_sql()]
        ['CREATE TABLE IF NOT EXISTS "ogma_facets"', 'CREATE INDEX IF NOT EXISTS "ogma_facets_value" ON "ogma_facets"']
    """
    table = quote_identifier(facets)
    return [
        f"CREATE TABLE IF NOT EXISTS {table} (doc INTEGER NOT NULL, field TEXT NOT NULL, kind INTEGER NOT NULL, "
        "value, PRIMARY KEY (doc, field)) WITHOUT ROWID",
        f"CREATE INDEX IF NOT EXISTS {quote_identifier(facets + '_value')} ON {table} (field, kind, value)",
    ]


def fill_sql(where: str = "1", *, documents: str = DOCUMENTS, facets: str = FACETS) -> str:
    """``INSERT`` the facet rows of the documents selected by ``where`` (SQL over ``d``), read from their JSON.

    ``INSERT OR IGNORE`` keeps the first of duplicate keys, the one ``json_extract`` reads
    (Ogma never writes duplicate keys; a hand-made file might).

    Example:
        >>> fill_sql("d.rowid = ?").startswith('INSERT OR IGNORE INTO "ogma_facets" (doc, field, kind, value) SELECT')
        True
    """
    return (
        f"INSERT OR IGNORE INTO {quote_identifier(facets)} (doc, field, kind, value) "
        f"SELECT d.rowid, j.key, {_KIND_OF_TYPE}, j.atom FROM {quote_identifier(documents)} AS d, "
        f"json_each(d.metadata) AS j WHERE {where} AND json_type(d.metadata) = 'object'"
    )


def _ranges(rowids: Sequence[int]) -> list[tuple[int, int]]:
    """Sorted distinct rowids as inclusive runs ``(first, last)``: a batch of new documents is one run.

    Example:
        >>> _ranges([7, 3, 4, 5, 9, 8]), _ranges(range(1, 8193))
        ([(3, 5), (7, 9)], [(1, 8192)])
    """
    if isinstance(rowids, range) and rowids.step == 1:  # new documents: no sorting needed
        return [(rowids.start, rowids.stop - 1)] if rowids else []
    ordered = sorted(set(rowids))
    runs: list[tuple[int, int]] = []
    for rowid in ordered:
        if runs and rowid == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], rowid)
        else:
            runs.append((rowid, rowid))
    return runs


def _by_rowid(conn: Connection, rowids: Sequence[int], statement: Callable[[str], str]) -> None:
    """Run ``statement(where)`` over the rowids: ``BETWEEN`` for runs, ``IN`` lists for the scattered ones."""
    runs = _ranges(rowids)
    scattered = [first for first, last in runs if first == last]
    for first, last in runs:
        if first != last:
            conn.execute(statement("{col} BETWEEN ? AND ?"), (first, last))
    for chunk in chunked(scattered):
        conn.execute(statement(f"{{col}} IN ({placeholders(len(chunk))})"), list(chunk))


def index_metadata(
    conn: Connection,
    rowids: Sequence[int],
    *,
    fresh: bool = False,
    documents: str = DOCUMENTS,
    facets: str = FACETS,
) -> None:
    """(Re)write the facets of the documents ``rowids`` from their stored metadata.

    Call it inside the write transaction, after the documents were inserted or their
    metadata changed. ``fresh=True`` (new rowids, no facets yet) skips removing old rows.
    """
    if not rowids:
        return
    if not fresh:
        drop_facets(conn, rowids, facets=facets)
    _by_rowid(conn, rowids, lambda where: fill_sql(where.format(col="d.rowid"), documents=documents, facets=facets))


def drop_facets(conn: Connection, rowids: Sequence[int], *, facets: str = FACETS) -> None:
    """Remove the facets of the documents ``rowids`` (inside the transaction that deletes or rewrites them)."""
    if rowids:
        table = quote_identifier(facets)
        _by_rowid(conn, rowids, lambda where: f"DELETE FROM {table} WHERE {where.format(col='doc')}")


def create_facets(conn: Connection, *, documents: str = DOCUMENTS, facets: str = FACETS) -> None:
    """Create the facets table and its index, and fill it from the stored documents.

    Runs in one transaction (the caller's, when one is open: a migration's). Documents
    whose metadata is not a JSON object get no facets (Ogma always writes objects).
    """
    with conn.transaction():
        for statement in facets_sql(facets):
            conn.execute(statement)
        conn.execute(fill_sql(documents=documents, facets=facets))
        logger.debug("filled %s with %s rows from %s", facets, conn.scalar("SELECT changes()"), documents)
