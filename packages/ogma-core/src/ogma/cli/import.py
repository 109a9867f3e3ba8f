"""``ogma import``: load precomputed embeddings (Parquet from ``ogma embed --ray``) into a store."""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from pathlib import Path
from typing import Any

from ogma.cli.options import UsageError, add_writer_options, writer_options
from ogma.store.sqlite.schema import INDEX_PRECISIONS

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``import`` command."""
    parser = subparsers.add_parser(
        "import",
        help="import precomputed embeddings (Parquet) into a store",
        description="Add the rows of Parquet files written by 'ogma embed --ray' (id, text, embedding) to a "
        "store, without re-encoding. The files' model must be the store's; a new store records it.",
    )
    parser.add_argument(
        "db",
        metavar="STORE",
        help="the store: a SQLite file (created if missing) or a store URI, e.g. milvus://host:19530/collection "
        "or milvus-lite:///abs/file.db?collection=name",
    )
    parser.add_argument("files", nargs="+", type=Path, help="Parquet files, or folders of them")
    parser.add_argument(
        "--precision", choices=INDEX_PRECISIONS, help="search index precision of a new store (default float32)"
    )
    parser.add_argument("--batch-rows", type=int, default=8192, help="rows per store transaction (default 8192)")
    add_writer_options(parser)
    parser.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ogma import``.

    Every file is checked whole before the store is opened, so a bad file creates no
    store; if a new SQLite store was created and the import then fails, it is removed.
    """
    from ogma.store.parquet import check_parquet, declared_encoder, import_parquet
    from ogma.store.uri import open_store

    if args.batch_rows < 1:
        raise UsageError(f"--batch-rows must be a positive integer, got {args.batch_rows}")
    try:
        plan = check_parquet(args.files)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    created = _new_sqlite_file(args.db)
    encoder = declared_encoder(plan.info) if _is_new(args.db) else None
    options: dict[str, Any] = {"dim": plan.info.dim} if encoder is not None else {}
    if args.precision is not None:
        options["precision"] = args.precision
    options.update(writer_options(args, args.db))
    start = time.perf_counter()
    try:
        with open_store(args.db, encoder, show_progress=False if args.quiet else None, **options) as store:
            count = import_parquet(store, plan, batch_rows=args.batch_rows)
            total = store.count()
    except BaseException:
        if created is not None:
            _remove_store_file(created)
        raise
    seconds = time.perf_counter() - start
    if not args.quiet:
        print(
            f"imported {count} rows from {len(plan.files)} file(s) into {args.db} ({total} documents, {seconds:.1f} s)"
        )
    return 0


def _new_sqlite_file(db: str) -> Path | None:
    """The SQLite file ``db`` names when it does not exist yet (removed again if the import fails)."""
    from ogma.store.uri import parse_store_uri

    parsed = parse_store_uri(db)
    if parsed.backend != "sqlite" or parsed.location == ":memory:":
        return None
    path = Path(parsed.location)
    return None if path.exists() else path


def _remove_store_file(path: Path) -> None:
    """Remove a store file this run created, with SQLite's side files."""
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{path}{suffix}").unlink()


def _is_new(db: str) -> bool:
    """Whether ``db`` names a store that does not exist yet (it then records the files' model)."""
    from ogma.store.uri import open_store, parse_store_uri

    parsed = parse_store_uri(db)
    if parsed.backend == "sqlite":
        return parsed.location == ":memory:" or not Path(parsed.location).exists()
    with open_store(db, show_progress=False) as probe:  # opening a missing collection creates nothing
        return probe.dim is None
