"""``ogma migrate SRC DST``: move a store to another store or backend, with its vectors.

Nothing is re-encoded: documents, metadata and the stored float vectors are copied in
batches (:func:`ogma.store.migrate.copy_store`), and a new destination takes the
source's model id, task scheme, dimension and precision. ``SRC`` and ``DST`` are store
URIs (:mod:`ogma.store.uri`): a SQLite path, ``milvus://host:19530/collection``, or
``milvus-lite:///path/to/file.db?collection=name``.

Example:
    >>> from ogma.cli import build_parser
    >>> args = build_parser().parse_args(["migrate", "notes.db", "milvus://localhost:19530/notes", "--resume"])
    >>> args.src, args.dst, args.resume
    ('notes.db', 'milvus://localhost:19530/notes', True)
"""

from __future__ import annotations

import argparse
import logging
import os
import time

from ogma.cli.options import add_writer_options, writer_options
from ogma.errors import StoreError
from ogma.store.sqlite.schema import INDEX_PRECISIONS

__all__ = ["register", "run"]

logger = logging.getLogger(__name__)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``migrate`` command."""
    parser = subparsers.add_parser(
        "migrate",
        help="copy a store to another store or backend (SQLite, Milvus), vectors included",
        description="Copy every document of SRC (ids, texts, metadata and stored vectors) into DST, without "
        "re-encoding. A new DST takes SRC's model, dimension and precision. Stores are URIs: a SQLite path "
        "('notes.db'), 'milvus://host:19530/collection' (the token, if any, from MILVUS_TOKEN), or "
        "'milvus-lite:///path/to/file.db?collection=name'. A DST that holds documents is refused unless "
        "--resume or --replace is given.",
    )
    parser.add_argument("src", metavar="SRC", help="the store to copy (opened read-only when SQLite)")
    parser.add_argument("dst", metavar="DST", help="the store to copy into (created if missing)")
    conflict = parser.add_mutually_exclusive_group()
    conflict.add_argument(
        "--resume",
        action="store_true",
        help="DST may hold documents: keep those already there (resumes an interrupted migration)",
    )
    conflict.add_argument(
        "--replace", action="store_true", help="DST may hold documents: overwrite the ids present in both"
    )
    parser.add_argument(
        "--precision",
        choices=INDEX_PRECISIONS,
        help="search index precision of a new DST (default: SRC's); the float vectors are copied either way",
    )
    parser.add_argument("--batch-size", type=int, default=1000, help="documents per batch (default 1000)")
    add_writer_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ogma migrate``."""
    from ogma.store.migrate import copy_store, destination_options
    from ogma.store.protocol import OnConflict
    from ogma.store.uri import local_file, open_store, parse_store_uri, same_file

    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be a positive integer, got {args.batch_size}")
    src_uri, dst_uri = parse_store_uri(args.src), parse_store_uri(args.dst)
    if src_uri.backend == "sqlite":
        if src_uri.location == ":memory:":
            raise ValueError("SRC ':memory:' is a new, empty store; give the store file to copy")
        if not os.path.isfile(src_uri.location):
            raise FileNotFoundError(f"SRC {args.src!r} does not exist; give the path of an Ogma store")
    if src_uri == dst_uri:
        raise ValueError(f"SRC and DST name the same store ({args.src!r}); give another destination")
    if same_file(local_file(src_uri), local_file(dst_uri)):
        raise ValueError(f"SRC and DST are the same file ({args.src!r}, {args.dst!r}); give another destination file")
    show = False if args.quiet else None
    src_options = {"read_only": True} if src_uri.backend == "sqlite" else {}
    start = time.perf_counter()
    with open_store(args.src, show_progress=False, **src_options) as source:
        options = destination_options(source, precision=args.precision)
        if dst_uri.backend != "sqlite" and options["precision"] == "int8":
            raise ValueError(
                "SRC's index precision is int8, which Milvus 2.5 does not have; pass --precision binary "
                "(Hamming candidates, rescored) or --precision float32 (the float vectors are copied either way)"
            )
        encoder = options.pop("encoder", None)
        options.update(writer_options(args, args.dst))
        with open_store(args.dst, encoder, show_progress=False, **options) as destination:
            on_conflict: OnConflict | None = "skip" if args.resume else "replace" if args.replace else None
            before = destination.count()
            if before and on_conflict is None:
                raise StoreError(
                    f"DST {args.dst} already holds {before} document(s); give an empty or new DST, or pass "
                    "--resume to keep the documents there and copy the rest (continues an interrupted migration), "
                    "or --replace to overwrite the ids present in both"
                )
            count = copy_store(
                source, destination, batch_size=args.batch_size, on_conflict=on_conflict, show_progress=show
            )
            total = destination.count()
    seconds = time.perf_counter() - start
    if not args.quiet:
        print(_summary(args, count, total - before, seconds, total))
    return 0


def _summary(args: argparse.Namespace, read: int, new: int, seconds: float, total: int) -> str:
    """One line: documents copied and, with --resume or --replace, how many were already there."""
    tail = f" ({total} documents there, {seconds:.1f} s)"
    if args.resume:
        kept = f"; {read - new} were already there and kept" if read - new else ""
        return f"migrated {new} documents from {args.src} to {args.dst}{kept}{tail}"
    replaced = f" ({new} new, {read - new} replaced)" if args.replace else ""
    return f"migrated {read} documents from {args.src} to {args.dst}{replaced}{tail}"
