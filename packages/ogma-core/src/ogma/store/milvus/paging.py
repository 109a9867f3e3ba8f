"""Reading a whole Milvus collection, or every match of a filter, past Milvus' query window.

One Milvus query returns at most :data:`QUERY_WINDOW` (16,384) rows, on a server as on
Milvus Lite 2.5.1 (whose answer to a query without a limit stops there too). Everything
that enumerates (``iter_documents``, ``delete(filter=)``, ``delete_all``,
``update(filter=)``, the metadata facts, lookups of many ids) therefore reads in pages by
primary key: a query with ``limit`` returns the matches with the smallest keys, and the next
page asks for keys greater than the last one seen (``id > "last"``), which is how pymilvus'
own query iterator pages; it works the same on Milvus Lite 2.5 and on Milvus 2.3 to 2.5
servers. Each page is one request; nothing holds more than one page of rows.

Insertion order (``iter_documents``) cannot come from key pages: Milvus cannot order a
query by another field. :func:`seq_windows` reads the matching documents' insertion
numbers first (8 bytes each: 80 MB for ten million documents), and cuts them into windows
of consecutive numbers, each read with a range filter on ``seq`` (in key pages) and sorted
in memory.

Example:
    >>> and_expr("", 'id > "k"'), and_expr("a == 1", "")
    ('id > "k"', 'a == 1')
    >>> seq_bounds([(None, 10), (10, 20), (20, None)], 1)
    'seq >= 10 and seq < 20'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import pairwise
from typing import Any, Final

import numpy as np
import numpy.typing as npt

from ogma.store.milvus.expressions import literal

__all__ = ["ALL", "PAGE_SIZE", "QUERY_WINDOW", "and_expr", "key_pages", "scan", "seq_bounds", "seq_windows"]

QUERY_WINDOW: Final = 16_384
"""The most rows one Milvus query or search returns (``limit`` + ``offset``)."""

PAGE_SIZE: Final = 4_096
"""Rows read per page when nothing else says how many."""

ALL: Final = 'id != ""'
"""An expression every row matches (ids are never empty)."""


def and_expr(*parts: str) -> str:
    """The conjunction of the non-empty expressions (each parenthesised when there are several)."""
    kept = [p for p in parts if p]
    return " and ".join(f"({p})" for p in kept) if len(kept) > 1 else (kept[0] if kept else "")


def key_pages(
    client: Any, collection: str, expr: str, fields: list[str], *, page_size: int = PAGE_SIZE
) -> Iterator[list[dict[str, Any]]]:
    """Every row matching ``expr`` (``""``: every row), in pages of at most ``page_size`` rows, by primary key.

    Each page is the ``page_size`` matches with the smallest keys above the last key of the
    page before. A page shorter than ``page_size`` ends the scan. Rows written or deleted
    during the scan may or may not be seen (as with any cursor), but no row present
    throughout is missed or returned twice.

    Args:
        client: A ``MilvusClient``.
        collection: The collection to read.
        expr: A Milvus boolean expression (``""`` for every row).
        fields: Output fields (the primary key ``id`` is always returned).
        page_size: Rows per request, 1 to :data:`QUERY_WINDOW`.
    """
    size = max(1, min(int(page_size), QUERY_WINDOW))
    wanted = fields if "id" in fields else ["id", *fields]
    last: str | None = None
    while True:
        where = and_expr(expr, f"id > {literal(last)}") if last is not None else (expr or ALL)
        rows = client.query(collection, filter=where, output_fields=wanted, limit=size)
        if not rows:
            return
        yield rows
        if len(rows) < size:
            return
        last = max(str(row["id"]) for row in rows)  # Python orders str as Milvus orders UTF-8 bytes


def scan(client: Any, collection: str, expr: str, fields: list[str], *, page_size: int = PAGE_SIZE) -> Iterator[Any]:
    """The rows of :func:`key_pages`, one by one."""
    for page in key_pages(client, collection, expr, fields, page_size=page_size):
        yield from page


def seq_windows(seqs: Iterable[int], window: int) -> list[tuple[int | None, int | None]]:
    """Ranges ``[low, high)`` of insertion numbers holding about ``window`` of ``seqs`` each, in order.

    The first range is open below and the last open above (``None``), so a document written
    meanwhile with a number outside the ones read is still found.

    Example:
        >>> seq_windows([5, 1, 3, 9, 7], 2)
        [(None, 5), (5, 9), (9, None)]
        >>> seq_windows([], 2)
        [(None, None)]
    """
    ordered: npt.NDArray[np.int64] = np.sort(np.fromiter(seqs, dtype=np.int64))
    starts = np.unique(ordered[:: max(int(window), 1)]).tolist()[1:]
    edges: list[int | None] = [None, *starts, None]
    return list(pairwise(edges))


def seq_bounds(windows: list[tuple[int | None, int | None]], index: int) -> str:
    """The ``seq`` range filter of ``windows[index]`` (``""`` when it is unbounded)."""
    low, high = windows[index]
    parts = ([f"seq >= {low}"] if low is not None else []) + ([f"seq < {high}"] if high is not None else [])
    return " and ".join(parts)
