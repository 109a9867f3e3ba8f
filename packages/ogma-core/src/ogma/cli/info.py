"""``ogma info DB``: what a store holds and how it was built.

Prints the document count (and how many have no vector or no text), model, dimensions,
precision, FTS tokenizer, schema version, the ogma-core version that created the file,
the file size (with its WAL), the time it was last written, and the indexed sources
(files recorded in ``source`` metadata by ``ogma index``): how many, and those with the
most chunks. ``--json`` prints the same
as one JSON object.

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
        "file size, last write time and indexed sources. The store is opened read-only.",
    )
    parser.add_argument("db", metavar="DB", help="the store file")
    parser.add_argument("--top", type=int, default=5, help="sources listed, those with the most chunks (default 5)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(func=run)


def store_info(db: str, *, top: int = 5) -> dict[str, Any]:
    """Facts about a store file, as a JSON-ready dict.

    Args:
        db: The store file.
        top: How many sources to list (most chunks first).

    Returns:
        ``path``, ``documents``, ``without_vector``, ``without_text``, ``model``, ``dim``, ``full_dim``, ``precision``,
        ``task_scheme``, ``fts_tokenizer``, ``schema_version``, ``created_with``,
        ``size_bytes`` (file plus WAL), ``modified`` (ISO 8601, UTC), ``sources``
        (distinct ``source`` values) and ``top_sources`` (``[path, chunks]`` pairs).

    Raises:
        StoreError: The file does not exist or is not an Ogma store.

    Example:
        >>> store_info("/no/such/store.ogma")
        Traceback (most recent call last):
        ...
        ogma.errors.StoreError: '/no/such/store.ogma' does not exist; give the path of an Ogma store file.
    """
    from ogma.store import Store

    path = Path(db)
    if not path.is_file():
        raise StoreError(f"{db!r} does not exist; give the path of an Ogma store file.")
    files = [path, Path(f"{db}-wal")]
    size = sum(p.stat().st_size for p in files if p.exists())
    modified = max(p.stat().st_mtime for p in files if p.exists())
    sources: Counter[str] = Counter()
    with Store(db, read_only=True, show_progress=False) as store:
        config = store.config
        count = store.count()
        without_vector = count - store.count_vectors()
        without_text = store.count(filter={"$content": {"$exists": False}})
        for doc in store.iter_documents():
            source = doc.metadata.get("source") if isinstance(doc.metadata, dict) else None
            if isinstance(source, str):
                sources[source] += 1
    return {
        "path": str(path.resolve()),
        "documents": count,
        "without_vector": without_vector,
        "without_text": without_text,
        "model": config.model_id,
        "dim": config.dim,
        "full_dim": config.full_dim,
        "precision": config.precision,
        "task_scheme": config.task_scheme,
        "fts_tokenizer": config.fts_tokenizer,
        "schema_version": config.schema_version,
        "created_with": config.created_with or None,
        "size_bytes": size,
        "modified": dt.datetime.fromtimestamp(modified, tz=dt.UTC).isoformat(timespec="seconds"),
        "sources": len(sources),
        "top_sources": [[source, n] for source, n in sources.most_common(max(top, 0))],
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
        f"FTS tokenizer:  {info['fts_tokenizer']}",
        f"schema version: {info['schema_version']} (created with ogma-core {info['created_with'] or 'unknown'})",
        f"size:           {_size(info['size_bytes'])} (with WAL)",
        f"last written:   {info['modified']}",
        f"sources:        {info['sources']} file(s)" + (" (most chunks first:)" if info["top_sources"] else ""),
    ]
    lines += [f"  {n:>8}  {source}" for source, n in info["top_sources"]]
    sys.stdout.write("\n".join(lines) + "\n")
    return 0
