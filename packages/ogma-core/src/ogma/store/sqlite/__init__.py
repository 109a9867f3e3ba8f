"""The SQLite backend: documents, metadata, FTS5 and vectors in one file.

:class:`~ogma.store.sqlite.store.Store` is the default backend and what
``ogma.Store`` names. Its modules each do one job: ``connect`` (driver and
sqlite-vec), ``schema`` (tables, config record, migrations), ``writes`` (the
transactional write path), ``search`` / ``mirror`` / ``kernels`` (candidate
generation), ``fts`` (safe FTS5 queries), ``metadata`` (updates and field facts),
``hnsw`` / ``indexing`` (the opt-in approximate index, ``Store(path, index="hnsw")``).

Example:
    >>> from ogma.store.sqlite import Store
    >>> Store(":memory:").count()
    0
"""

from __future__ import annotations

from ogma.store.sqlite.store import Store

__all__ = ["Store"]
