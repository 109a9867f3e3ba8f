"""What a SQLite store reads: documents by id or filter, counts and metadata facts.

:class:`Reading` is the reading half of :class:`ogma.store.sqlite.store.Store` (a mixin:
the store supplies the connection pool, the configuration and the vector codec).

Example:
    >>> from ogma.store import Store
    >>> with Store(":memory:") as store:
    ...     _ = store.add(["a", "b"], [{"k": 1}, {"k": 2}], ids=["a", "b"], embeddings=[None, None])
    ...     store.count(filter={"k": 2}), [d.id for d in store.iter_documents()]
    (1, ['a', 'b'])
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from ogma.store.document import Document
from ogma.store.sqlite.connect import Connection
from ogma.store.sqlite.metadata import field_range, field_types, field_values
from ogma.store.sqlite.pool import ConnectionPool
from ogma.store.sqlite.schema import StoreConfig
from ogma.store.sqlite.sql import DOCUMENTS, VEC_INDEX, chunked, quote_identifier, select_in_sql
from ogma.store.sqlite.vectors import VectorCodec, fetch_vectors
from ogma.store.validate import check_field_name, check_lookup_ids
from ogma.validation import check_count

if TYPE_CHECKING:
    from ogma.store.sqlite.filters import RowSet

__all__ = ["Reading", "SearchFilter"]

FloatArray = npt.NDArray[np.float32]

SearchFilter = tuple[str | None, list[Any], "RowSet | None"]
"""A filter as the search primitives take it: SQL expression (``None``: no filter), its parameters, rowid set."""


@functools.lru_cache(maxsize=128)
def _rows_sql(count: int) -> str:
    """The statement reading ``count`` documents by rowid (one per search: the same few counts recur)."""
    return select_in_sql(DOCUMENTS, ["rowid", "id", "text", "metadata"], "rowid", count)


class Reading:
    """Documents, counts and metadata facts of a SQLite store (mixed into ``Store``)."""

    _pool: ConnectionPool
    config: StoreConfig

    def _refresh_config(self, conn: Connection) -> None:
        raise NotImplementedError

    def _codec(self) -> VectorCodec:
        raise NotImplementedError

    def count(self, *, filter: Mapping[str, Any] | None = None) -> int:
        """Number of documents, or of those matching ``filter``.

        Args:
            filter: A metadata filter (see ``docs/filters.md``); ``None`` or ``{}`` counts all.

        Raises:
            FilterError: The filter is malformed.

        Example:
            >>> import numpy as np
            >>> from ogma.store import Store
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], [{"k": 1}, {"k": 2}], embeddings=np.eye(2))
            >>> store.count(), store.count(filter={"k": {"$gt": 1}})
            (2, 1)
        """
        sql, params = self._filter(filter)
        with self._pool.connection() as conn:
            return int(conn.scalar(f"SELECT count(*) FROM {quote_identifier(DOCUMENTS)} WHERE {sql or '1'}", params))

    def count_vectors(self) -> int:
        """Number of documents that have a vector (the others are found by text and filters only).

        Example:
            >>> import numpy as np
            >>> from ogma.store import Store
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], embeddings=[np.ones(2), None])
            >>> store.count(), store.count_vectors()
            (2, 1)
        """
        with self._pool.connection() as conn:
            # the vec0 index holds every stored vector's code (float32 stores keep no other copy)
            if conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (VEC_INDEX,)) is None:
                return 0
            return int(conn.scalar(f"SELECT count(*) FROM {quote_identifier(VEC_INDEX)}"))

    def _get_with(self, conn: Connection, ids: Sequence[str]) -> list[Document]:
        found = []
        for chunk in chunked(list(dict.fromkeys(ids))):
            sql = select_in_sql(DOCUMENTS, ["id", "text", "metadata"], "id", len(chunk))
            found += [Document(i, t, json.loads(m), None) for i, t, m in conn.fetchall(sql, list(chunk))]
        order = {doc_id: index for index, doc_id in enumerate(ids)}
        return sorted(found, key=lambda d: order[d.id])

    def _field_name(self, field: Any) -> str:
        return check_field_name(field)

    def metadata_fields(self, *, filter: Mapping[str, Any] | None = None) -> dict[str, str]:
        """Top-level metadata keys of the (matching) documents with their inferred types.

        A type is ``"str"``, ``"int"``, ``"float"``, ``"bool"``, ``"list"``, ``"dict"``,
        ``"null"`` (only nulls), or ``"mixed"``; ints and floats together give ``"float"``.

        Args:
            filter: Only look at documents matching this filter.

        Example:
            >>> import numpy as np
            >>> from ogma.store import Store
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], [{"n": 1, "s": "x"}, {"n": 2.5}], embeddings=np.eye(2))
            >>> store.metadata_fields()
            {'n': 'float', 's': 'str'}
        """
        where = self._filter(filter)
        with self._pool.connection() as conn:
            return field_types(conn, where)

    def metadata_values(self, field: str, *, filter: Mapping[str, Any] | None = None) -> list[tuple[Any, int]]:
        """Distinct non-null values of a top-level metadata field, with how many documents hold each.

        Ordered by count (most frequent first). Lists and dicts count as whole values.

        Args:
            field: The top-level metadata key.
            filter: Only count documents matching this filter.

        Raises:
            TypeError: ``field`` is not a string.
            ValueError: ``field`` is empty.

        Example:
            >>> import numpy as np
            >>> from ogma.store import Store
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b", "c"], [{"t": "x"}, {"t": "y"}, {"t": "x"}], embeddings=np.eye(3, 2))
            >>> store.metadata_values("t")
            [('x', 2), ('y', 1)]
        """
        name = self._field_name(field)
        where = self._filter(filter)
        with self._pool.connection() as conn:
            return field_values(conn, name, where)

    def metadata_range(self, field: str, *, filter: Mapping[str, Any] | None = None) -> tuple[Any, Any] | None:
        """``(min, max)`` of a top-level metadata field, or ``None`` if no document holds a number or string there.

        Numbers are compared when the field holds any (ints and floats together),
        otherwise strings (by code point); other values are ignored.

        Args:
            field: The top-level metadata key.
            filter: Only look at documents matching this filter.

        Example:
            >>> import numpy as np
            >>> from ogma.store import Store
            >>> store = Store(":memory:", dim=2)
            >>> _ = store.add(["a", "b"], [{"y": 2001}, {"y": 1999.5}], embeddings=np.eye(2))
            >>> store.metadata_range("y")
            (1999.5, 2001)
        """
        name = self._field_name(field)
        where = self._filter(filter)
        with self._pool.connection() as conn:
            return field_range(conn, name, where)

    def _rows_by_rowid(self, conn: Connection, rowids: Sequence[int]) -> dict[int, tuple[str, str | None, str]]:
        found: dict[int, tuple[str, str | None, str]] = {}
        for chunk in chunked(list(rowids)):
            for rowid, doc_id, text, meta in conn.fetchall(_rows_sql(len(chunk)), list(chunk)):
                found[int(rowid)] = (doc_id, text, meta)
        return found

    def _embeddings(self, conn: Connection, rowids: Sequence[int]) -> dict[int, FloatArray]:
        self._refresh_config(conn)  # another Store on this file may have written the first vectors
        if self.config.dim is None or not rowids:
            return {}
        return fetch_vectors(conn, self._codec(), rowids)

    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[Document]:
        """Documents by id, in input order; missing ids are skipped.

        Args:
            ids: The ids to fetch (a list: a single string is refused, it is not a list of its characters).
            include_embeddings: Attach the stored float32 vectors (exactly as added).

        Raises:
            TypeError: ``ids`` is a single string or holds a non-string (the message names its index).
            ValueError: An id is not valid Unicode.
        """
        wanted = check_lookup_ids(ids)
        with self._pool.connection() as conn:
            by_id: dict[str, tuple[int, str | None, str]] = {}
            for chunk in chunked(list(dict.fromkeys(wanted))):
                sql = select_in_sql(DOCUMENTS, ["id", "rowid", "text", "metadata"], "id", len(chunk))
                for doc_id, rowid, text, meta in conn.fetchall(sql, list(chunk)):
                    by_id[doc_id] = (int(rowid), text, meta)
            vectors = self._embeddings(conn, [v[0] for v in by_id.values()]) if include_embeddings else {}
        return [
            Document(i, by_id[i][1], json.loads(by_id[i][2]), vectors.get(by_id[i][0])) for i in wanted if i in by_id
        ]

    def iter_documents(
        self, *, filter: Mapping[str, Any] | None = None, batch_size: int = 1000, include_embeddings: bool = False
    ) -> Iterator[Document]:
        """Every document (or those matching ``filter``) in insertion (rowid) order, read in batches.

        Args:
            filter: Only the documents it matches (``docs/filters.md``); ``None`` or ``{}``: all.
            batch_size: How many documents one SQL query reads (at least 1).
            include_embeddings: Also give each document its stored float32 vector.

        Raises:
            TypeError: If ``batch_size`` is not an int.
            ValueError: If ``batch_size`` < 1.
            FilterError: A malformed filter (raised before the first document is read).

        Example:
            >>> from ogma.store import Store
            >>> store = Store(":memory:")
            >>> _ = store.add(["a", "b"], [{"k": 1}, {"k": 2}], ids=["a", "b"], embeddings=[None, None])
            >>> [d.id for d in store.iter_documents(filter={"k": {"$gt": 1}})]
            ['b']
        """
        batch_size = check_count(batch_size, "batch_size")
        sql, params = self._filter(filter)
        return self._iter_documents(batch_size, include_embeddings, sql, params)

    def _iter_documents(
        self, batch_size: int, include_embeddings: bool, where: str | None = None, params: Sequence[Any] = ()
    ) -> Iterator[Document]:
        last = -(2**63)
        extra = f" AND ({where})" if where else ""
        while True:
            with self._pool.connection() as conn:
                rows = conn.fetchall(
                    f"SELECT rowid, id, text, metadata FROM {quote_identifier(DOCUMENTS)} "
                    f"WHERE rowid > ?{extra} ORDER BY rowid LIMIT ?",
                    (last, *params, batch_size),
                )
                vectors = self._embeddings(conn, [r[0] for r in rows]) if include_embeddings else {}
            if not rows:
                return
            for rowid, doc_id, text, meta in rows:
                yield Document(doc_id, text, json.loads(meta), vectors.get(int(rowid)))
            last = int(rows[-1][0])

    def _filter(self, filter: Mapping[str, Any] | None) -> tuple[str | None, list[Any]]:
        if not filter:
            return None, []
        from ogma.store.sqlite.facets import FACETS, FACETS_SINCE
        from ogma.store.sqlite.filters import compile_filter

        # files opened read-only at an older schema have no facets table: their filters read the JSON
        facets = FACETS if self.config.schema_version >= FACETS_SINCE else None
        sql, params = compile_filter(filter, column=f"{DOCUMENTS}.metadata", facets=facets)
        return sql, list(params)

    def _search_filter(self, filter: Mapping[str, Any] | None) -> SearchFilter:
        """The filter for a search: the SQL expression, and the facets' rowid set when they answer it alone."""
        if not filter:
            return None, [], None
        from ogma.store.sqlite.facets import FACETS, FACETS_SINCE
        from ogma.store.sqlite.filters import compile_search_filter

        if self.config.schema_version < FACETS_SINCE:  # a file opened read-only at an older schema
            sql, params = self._filter(filter)
            return sql, params, None
        found = compile_search_filter(filter, column=f"{DOCUMENTS}.metadata", facets=FACETS)
        return found.sql, list(found.params), found.rows

    _pushdown = _search_filter
