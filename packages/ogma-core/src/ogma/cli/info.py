"""``ogma info DB``: what a store holds and how it was built.

Prints the document count (and how many have no vector or no text), model, dimensions,
precision, FTS tokenizer, schema version, the ogma-core version that created the file,
the file size (with its WAL), the time it was last written, and the indexed sources
(files recorded in ``source`` metadata by ``ogma index``): how many, and those with the
most chunks. ``--json`` prints the same as one JSON object. ``DB`` is a SQLite file or a
store URI (a Milvus collection); nothing is written, and a SQLite store is left without
``-wal``/``-shm`` files (see :func:`ogma.store.sqlite.connect.leaves_no_trace`).

Example:
    >>> from ogma.cli import build_parser
    >>> build_parser().parse_args(["info", "notes.ogma", "--json"]).json
    True
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from ogma.errors import StoreError

__all__ = ["register", "run", "store_info"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``info`` command."""
    parser = subparsers.add_parser(
        "info",
        help="show what a store holds: count, model, dims, precision, sources, size",
        description="Show an Ogma store's document count, model, dimensions, precision, schema version, "
        "file size, last write time and indexed sources. DB is a SQLite file or a store URI "
        "(milvus://host:19530/collection, milvus-lite:///path/file.db?collection=name). Nothing is written: "
        "a SQLite file is opened read-only and no -wal/-shm files are left behind.",
    )
    parser.add_argument(
        "db", metavar="DB", help="the store: a SQLite file or a store URI (milvus://..., milvus-lite://...)"
    )
    parser.add_argument("--top", type=int, default=5, help="sources listed, those with the most chunks (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def store_info(db: str, *, top: int = 5) -> dict[str, Any]:
    """Facts about a store (a SQLite file or any store URI), as a JSON-ready dict.

    A SQLite file is opened read-only, and reading it leaves no ``-wal``/``-shm`` files
    behind; a Milvus collection is only read.

    Args:
        db: The store file, or a store URI (``milvus://...``, ``milvus-lite://...``).
        top: How many sources to list (most chunks first).

    Returns:
        ``path``, ``backend``, ``documents``, ``without_vector``, ``without_text``, ``model``, ``dim``,
        ``full_dim``, ``precision``, ``task_scheme``, ``fts_tokenizer``, ``schema_version``, ``created_with``,
        ``size_bytes`` (file plus WAL), ``modified`` (ISO 8601, UTC), ``sources``
        (distinct ``source`` values), ``top_sources`` (``[path, chunks]`` pairs) and ``index`` (the
        approximate index, :meth:`ogma.store.sqlite.hnsw.IndexInfo.as_dict`, or ``None``). For a Milvus
        store ``path`` is the URI, ``fts_tokenizer`` is ``None``, and ``size_bytes`` and
        ``modified`` are ``None`` (Milvus keeps neither per collection).

    Raises:
        StoreError: The store does not exist or is not an Ogma store.

    Example:
        >>> store_info("/no/such/store.ogma")
        Traceback (most recent call last):
        ...
        ogma.errors.StoreError: '/no/such/store.ogma' does not exist; give the path of an Ogma store file.
    """
    from ogma.cli.stores import open_existing
    from ogma.store.uri import parse_store_uri

    uri = parse_store_uri(db)
    size: int | None = None
    modified: str | None = None
    where = db
    if uri.backend == "sqlite":
        path = Path(uri.location)
        if not path.is_file():
            raise StoreError(f"{db!r} does not exist; give the path of an Ogma store file.")
        where = str(path.resolve())
        # measured before the store is opened: reading must not count as the last write
        files = [p for p in (path, Path(f"{uri.location}-wal")) if p.exists()]
        size = sum(p.stat().st_size for p in files)
        stamp = max(p.stat().st_mtime for p in files)
        modified = dt.datetime.fromtimestamp(stamp, tz=dt.UTC).isoformat(timespec="seconds")
    sources: Counter[str] = Counter()
    with open_existing(db, option="DB") as store:
        config = getattr(store, "config", None)
        count = store.count()
        count_vectors = getattr(store, "count_vectors", None)
        with_vector = count_vectors() if callable(count_vectors) else 0
        without_text = store.count(filter={"$content": {"$exists": False}})
        index_info = getattr(store, "index_info", None)  # SQLite: the approximate index beside the file
        found = index_info() if callable(index_info) else None
        index = found.as_dict() if found is not None else None
        for doc in store.iter_documents(include_embeddings=not callable(count_vectors)):
            if not callable(count_vectors) and doc.embedding is not None:
                with_vector += 1
            source = doc.metadata.get("source") if isinstance(doc.metadata, dict) else None
            if isinstance(source, str):
                sources[source] += 1
    return {
        "path": where,
        "backend": uri.backend,
        "documents": count,
        "without_vector": count - with_vector,
        "without_text": without_text,
        "model": getattr(config, "model_id", None),
        "dim": store.dim,
        "full_dim": getattr(config, "full_dim", None),
        "precision": getattr(config, "precision", None),
        "task_scheme": getattr(config, "task_scheme", None),
        "fts_tokenizer": getattr(config, "fts_tokenizer", None),
        "schema_version": getattr(config, "schema_version", None),
        "created_with": getattr(config, "created_with", None) or None,
        "size_bytes": size,
        "modified": modified,
        "sources": len(sources),
        "top_sources": [[source, n] for source, n in sources.most_common(max(top, 0))],
        "index": index,
    }


def _missing(info: dict[str, Any]) -> str:
    pairs = (("without_vector", "a vector"), ("without_text", "text"))
    shown = [f"{info[key]} without {what}" for key, what in pairs if info[key]]
    return f" ({', '.join(shown)})" if shown else ""


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "KB", "MB"):
        if value < 1000:
            return f"{n} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def _index_line(info: dict[str, Any]) -> str:
    index = info["index"]
    if index is None:
        return "index:          exact search (no approximate index)"
    size = _size(index["size_bytes"]) if index["size_bytes"] is not None else "no file"
    dtype = (index.get("settings") or {}).get("dtype")
    kind = f"{index['kind']} ({dtype} graph)" if dtype else index["kind"]
    where = f"{kind}, {index['vectors'] if index['vectors'] is not None else '?'} vectors, {size}"
    if index["fresh"]:
        return f"index:          {where}, up to date (generation {index['generation']})"
    return (
        f"index:          {where}, STALE: {index['reason']}; searches are exact until it is rebuilt "
        f"(ogma index --hnsw --db {info['path']})"
    )


def run(args: argparse.Namespace) -> int:
    """Run ``ogma info``."""
    if args.top < 0:
        raise ValueError(f"--top must be >= 0, got {args.top}")
    info = store_info(args.db, top=args.top)
    if args.json:
        sys.stdout.write(json.dumps(info, ensure_ascii=False) + "\n")
        return 0
    dims = f"{info['dim']}" + (f" (of {info['full_dim']})" if info["full_dim"] not in (None, info["dim"]) else "")
    lines = [
        f"store:          {info['path']}",
        f"documents:      {info['documents']}" + _missing(info),
        f"model:          {info['model'] or 'unknown (vectors given directly)'}",
        f"dimensions:     {dims}",
        f"precision:      {info['precision']}",
        f"task scheme:    {info['task_scheme'] or '-'}",
        f"FTS tokenizer:  {info['fts_tokenizer'] or '-'}",
        f"schema version: {info['schema_version']} (created with ogma-core {info['created_with'] or 'unknown'})",
        f"size:           {_size(info['size_bytes'])} (with WAL)" if info["size_bytes"] is not None else "",
        f"last written:   {info['modified']}" if info["modified"] is not None else "",
        _index_line(info) if info["backend"] == "sqlite" else "",
        f"sources:        {info['sources']} file(s)" + (" (most chunks first:)" if info["top_sources"] else ""),
    ]
    lines = [line for line in lines if line]
    lines += [f"  {n:>8}  {source}" for source, n in info["top_sources"]]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
