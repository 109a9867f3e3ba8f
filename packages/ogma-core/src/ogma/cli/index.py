"""``ogma index``: chunk and index the files of folders into a store.

Folders are searched recursively for text, Markdown, reStructuredText, HTML, JSONL,
source code and (with ``ogma-core[pdf]``) PDF files; see :mod:`ogma.sources` for the
formats, globs, ignored folders, encodings and metadata. Running the command again
skips files whose content and chunking are unchanged, replaces the chunks of files that
changed, and removes the chunks of files deleted from the given folders
(``--keep-deleted`` keeps them).

Exit code: 0 when every file was indexed, unchanged or skipped on purpose (unsupported
type, binary, excluded, no text); 1 when some files or JSONL lines could not be indexed
(they are listed, on stderr with ``-q``; everything else was indexed); 2 for a usage error
(nothing is written); 130 after Ctrl-C (the batches written so far are kept and the message
says how many; running the command again resumes, since unchanged files are skipped).

When the paths hold no file to index, a warning names them and the formats looked for, and
the exit code is 0; a store that does not exist yet is then not created. The store (``--db``)
is a SQLite file or a store URI (:mod:`ogma.store.uri`); its folder must exist.

Example:
    >>> from ogma.cli import build_parser
    >>> args = build_parser().parse_args(["index", "notes/", "--db", "notes.ogma", "--exclude", "drafts/*"])
    >>> args.db, args.paths, args.exclude
    ('notes.ogma', ['notes/'], ['drafts/*'])
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from tqdm import tqdm

from ogma.cli import options as cli_options
from ogma.cli.options import add_model_options, encoder_options
from ogma.errors import OgmaError, StoreMismatchError

__all__ = ["build_hnsw", "register", "run", "store_model_id"]

logger = logging.getLogger(__name__)

_RESERVED_TOKENS = 16  # room for special tokens and task prefixes inside the model window
PROGRESS_INTERVAL = 5.0
"""Seconds between progress lines when stderr is not a terminal."""


class IndexInputError(OgmaError, ValueError):
    """The options of ``ogma index`` do not fit together."""


def store_model_id(db: str) -> str | None:
    """The model id recorded in an existing store, or None for a new one.

    Args:
        db: The store file, or a store URI (``milvus://...``, ``milvus-lite://...``).

    Returns:
        The recorded model id, or None when the store does not exist or records none.

    Example:
        >>> store_model_id("/nonexistent/store.ogma") is None
        True
    """
    from ogma.cli.stores import recorded_model, store_exists

    if db == ":memory:" or not store_exists(db):
        return None
    return recorded_model(db)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``index`` command."""
    from ogma.registry import DEFAULT_MODEL

    parser = subparsers.add_parser(
        "index",
        help="chunk and index folders of text, Markdown, reST, HTML, JSONL, code and PDF files into a store",
        description="Chunk and index files into an Ogma store (a SQLite file, or a store URI such as "
        "milvus-lite:///path/file.db?collection=notes or milvus://host:19530/notes). Folders are searched recursively "
        "for .txt, .md, .rst, .html, .jsonl, source code and .pdf files (PDF needs ogma-core[pdf]); hidden folders, "
        ".git, node_modules and virtual environments are left out, and so are binary files. JSONL lines are "
        "documents with 'text' and optional 'id' and 'metadata', or BEIR's '_id', 'title' and 'text'. Unchanged "
        "files are skipped on re-runs; changed files replace their old chunks; files deleted from the given "
        "folders lose theirs. A file or line that cannot be indexed is reported and the rest is indexed (exit 1).",
    )
    parser.add_argument(
        "paths", nargs="*", metavar="PATH", help="files or folders to index (none with --hnsw: build the index only)"
    )
    parser.add_argument(
        "--db",
        required=True,
        help="the store: a SQLite file or a store URI (milvus://..., milvus-lite://...); created if missing",
    )
    add_model_options(
        parser,
        model_help=f"embedding model for a new store (default {DEFAULT_MODEL}); an existing store must be given "
        "its own (or none)",
        precision=("float32", "int8", "binary"),
        precision_help="index precision for a new store",
        dim_help="Matryoshka dimension for a new store",
    )
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="index only files matching GLOB in folders, of any type (repeatable; e.g. '*.md' or 'docs/*.txt')",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="leave out files and folders matching GLOB (repeatable; e.g. 'drafts' or '*.min.js')",
    )
    parser.add_argument(
        "--max-tokens", type=int, default=None, help="tokens per chunk (default: the model's window minus 16)"
    )
    parser.add_argument("--overlap", type=int, default=None, help="tokens shared by neighbouring chunks (default 1/8)")
    parser.add_argument("--batch-size", type=int, default=64, help="chunks embedded and written at a time (default 64)")
    parser.add_argument(
        "--keep-deleted",
        action="store_true",
        help="keep the chunks of indexed files that no longer exist (default: remove them)",
    )
    parser.add_argument(
        "--hnsw",
        action="store_true",
        help="keep the store's approximate HNSW index (ogma-core[hnsw]) up to date: built, or rebuilt when stale, "
        "after indexing; without PATHs only that (SQLite stores)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress or summary (files that failed are still listed)"
    )
    parser.set_defaults(func=run)


def _chunk_counter(encoder: Any) -> Any:
    """The raw ``tokenizers.Tokenizer`` of a TextEncoder (truncation off), else a token-count callable or None."""
    raw = getattr(getattr(encoder, "tokenizer", None), "tokenizer", None)
    if raw is not None and hasattr(raw, "to_str"):
        copy = type(raw).from_str(raw.to_str())
        copy.no_truncation()
        copy.no_padding()
        return copy
    count = getattr(encoder, "count_tokens", None)
    if callable(count):
        return lambda text: int(count([text])[0])
    return None


def _same_model(asked: str, recorded: str) -> bool:
    from ogma.registry import canonical_model_id

    if Path(asked).expanduser().is_dir():
        return str(Path(asked).expanduser().resolve()) == recorded
    return canonical_model_id(asked) == canonical_model_id(recorded)


class _ProgressLines:
    """Progress of the whole run: one tqdm bar on a terminal, else a line every few seconds."""

    def __init__(self, *, files: int, nbytes: int, enabled: bool, stream: TextIO) -> None:
        self.files_total, self.bytes_total = files, max(nbytes, 1)
        self.files = self.bytes = self.chunks = 0
        self.stream = stream
        self.enabled = enabled
        self.start = self.last = time.monotonic()
        tty = enabled and stream.isatty()
        self.bar = (
            tqdm(
                total=nbytes, unit="B", unit_scale=True, desc="indexing", file=stream, dynamic_ncols=True, disable=False
            )
            if tty
            else None
        )

    def update(self, *, files: int = 0, nbytes: int = 0, chunks: int = 0) -> None:
        self.files += files
        self.bytes += nbytes
        self.chunks += chunks
        if self.bar is not None:
            self.bar.update(nbytes)
            if files or chunks:
                self.bar.set_postfix(files=f"{self.files}/{self.files_total}", chunks=self.chunks, refresh=False)
        elif self.enabled and time.monotonic() - self.last >= PROGRESS_INTERVAL:
            self.line()

    def line(self) -> None:
        scale, unit = (1e6, "MB") if self.bytes_total >= 1e6 else (1e3, "KB")
        now = time.monotonic()
        self.last = now
        rate = self.chunks / max(now - self.start, 1e-9)
        self.stream.write(
            f"indexing: {self.files}/{self.files_total} files, "
            f"{self.bytes / scale:.1f}/{self.bytes_total / scale:.1f} {unit}"
            f" ({100 * self.bytes / self.bytes_total:.0f}%), {self.chunks} chunks, {rate:.1f} chunks/s\n"
        )
        self.stream.flush()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _summary(report: Any, total: int, db: str) -> str:
    lines = [
        f"indexed {report.indexed} file(s) into {report.chunks} chunk(s), {report.unchanged} unchanged, "
        f"{report.deleted_files} deleted, {report.removed} old chunk(s) removed, {len(report.failed)} failed; "
        f"{total} chunk(s) in {db}"
    ]
    reasons = report.skipped_by_reason()
    if reasons:
        counts = ", ".join(f"{n} {reason}" for reason, n in reasons.most_common())
        lines.append(f"skipped {len(report.skipped)}: {counts} (-v lists them)")
    if report.notes:
        lines.append(f"{len(report.notes)} file(s) were not UTF-8 and were decoded as Windows-1252 (-v lists them)")
    for where, reason in report.failed[:20]:
        lines.append(f"failed: {where}: {reason}")
    if len(report.failed) > 20:
        lines.append(f"failed: ... and {len(report.failed) - 20} more (see the warnings above)")
    return "\n".join(lines) + "\n"


def _looked_for(include: list[str]) -> str:
    if include:
        return "files matching " + " or ".join(repr(glob) for glob in include)
    return (
        "text, Markdown, reST, HTML, JSONL, source code and PDF files (.txt, .md, .rst, .html, .jsonl, .pdf, "
        ".py and other code; --include takes other names)"
    )


def _nothing_found(args: argparse.Namespace, found: Any, *, existing: bool) -> str:
    left = f"; {len(found.skipped)} file(s) or folder(s) were left out (-v lists them)" if found.skipped else ""
    outcome = "" if existing else "; nothing was written and no store was created"
    return (
        f"ogma index: warning: found no files to index in {', '.join(args.paths)}: looked for "
        f"{_looked_for(args.include)}{left}{outcome}\n"
    )


def _failures(report: Any) -> str:
    lines = [f"failed: {where}: {reason}" for where, reason in report.failed[:20]]
    if len(report.failed) > 20:
        lines.append(f"failed: ... and {len(report.failed) - 20} more (run without -q to see each one)")
    return "\n".join(lines) + "\n"


def _interrupted(report: Any, progress: _ProgressLines, db: str) -> str:
    """What an interrupted run saved, and how to resume."""
    done = f"{report.indexed} file(s) indexed, {report.unchanged} unchanged"
    return (
        f"interrupted after {progress.files} of {progress.files_total} file(s) ({done}); the {progress.chunks} "
        f"chunk(s) written by this run are saved in {db}. Run the same command again to resume: files already "
        "indexed are skipped, and a file that was cut off midway is indexed again."
    )


def _build_and_report(store: Any, *, quiet: bool) -> None:
    """Build the store's HNSW index and say how long it took (unless ``quiet``)."""
    start = time.perf_counter()
    info = store.build_index(show_progress=not quiet and sys.stderr.isatty())
    count = store.count_vectors()
    if not quiet and info is not None:
        seconds = time.perf_counter() - start
        sys.stdout.write(
            f"built the HNSW index of {count} vector(s) in {seconds:.1f} s ({count / max(seconds, 1e-9):,.0f}/s): "
            f"{info.path}, {info.size_bytes or 0:,} bytes\n"
        )


def _refresh_hnsw(store: Any, *, quiet: bool) -> None:
    """Build the store's HNSW index unless it is current (it followed this run's writes; closing saves it)."""
    if store.dim is not None and not store.index_is_current():
        _build_and_report(store, quiet=quiet)


def build_hnsw(db: str, *, quiet: bool = False) -> int:
    """``ogma index --hnsw --db DB`` without paths: (re)build the HNSW index of an existing SQLite store.

    Returns:
        The exit code (0).

    Raises:
        StoreError: No store at ``db``, or it has no vectors.
        MissingExtraError: usearch is not installed (``pip install 'ogma-core[hnsw]'``).

    Example:
        >>> build_hnsw("/no/such/store.ogma")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ogma.errors.StoreError: --db /no/such/store.ogma: no store there; create one with: ogma index PATH... --db ...
    """
    from ogma.cli.stores import store_exists
    from ogma.errors import StoreError
    from ogma.store.sqlite.store import Store

    if not store_exists(db):
        raise StoreError(f"--db {db}: no store there; create one with: ogma index PATH... --db {db}")
    with Store(parse_sqlite(db), show_progress=False) as store:
        if store.dim is None:
            raise StoreError(f"--db {db}: the store has no vectors yet, so there is nothing to index; add documents")
        _build_and_report(store, quiet=quiet)
    return 0


def parse_sqlite(db: str) -> str:
    """The file of a SQLite store string (a path or ``sqlite://`` URI)."""
    from ogma.store.uri import parse_store_uri

    return parse_store_uri(db).location


def run(args: argparse.Namespace) -> int:
    """Run ``ogma index``; returns the exit code (1 when some files or lines failed)."""
    from ogma.cli.stores import check_new_store_folder, store_exists
    from ogma.registry import DEFAULT_MODEL
    from ogma.sources import IndexReport, find_files, index_files
    from ogma.store.uri import open_store, parse_store_uri

    if args.batch_size < 1:
        raise IndexInputError(f"--batch-size must be >= 1, got {args.batch_size}.")
    backend = parse_store_uri(args.db).backend
    if args.hnsw and backend != "sqlite":
        raise IndexInputError(f"--hnsw: only SQLite stores have an HNSW index; {args.db} is a {backend} store")
    if not args.paths:
        if not args.hnsw:
            raise IndexInputError("give at least one PATH to index (or --hnsw alone to build the store's HNSW index)")
        return build_hnsw(args.db, quiet=args.quiet)
    if backend != "sqlite" and args.precision == "int8":
        raise IndexInputError(
            "--precision int8: Milvus has no int8 vectors; use --precision binary (Hamming candidates, rescored) "
            "or float32, or a SQLite store"
        )
    found = find_files(args.paths, include=args.include, exclude=args.exclude)  # a missing PATH is an error first
    exists = args.db == ":memory:" or store_exists(args.db)
    if not exists:
        check_new_store_folder(args.db)
    if not found.files:
        sys.stderr.write(_nothing_found(args, found, existing=exists))
        if not exists:
            return 0
    recorded = store_model_id(args.db) if exists else None
    declared = getattr(args, "model_id", None)
    if recorded and args.model and not _same_model(declared or args.model, recorded):
        raise StoreMismatchError(
            f"{args.db} was built with model {recorded!r}, not {args.model!r}. Leave out -m to index with the "
            f"store's model, or give a new --db to index with {args.model!r}."
        )
    model = args.model if declared else recorded or args.model or DEFAULT_MODEL
    encoder = cli_options.load_encoder(model, **encoder_options(args))
    window = getattr(encoder, "max_length", None)
    default_tokens = max(16, int(window) - _RESERVED_TOKENS) if isinstance(window, int) else 256
    max_tokens = args.max_tokens if args.max_tokens is not None else default_tokens
    overlap = args.overlap if args.overlap is not None else max_tokens // 8
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise IndexInputError(
            f"--max-tokens must be >= 1 and --overlap in [0, max-tokens); got {max_tokens} and {overlap}."
        )
    for path, reason in found.skipped:
        logger.info("skipped %s: %s", path, reason)
    options: dict[str, Any] = {"precision": args.precision, "dim": args.dim, "index": "hnsw" if args.hnsw else None}
    progress = _ProgressLines(
        files=len(found.files),
        nbytes=sum(f.size for f in found.files),
        enabled=not args.quiet,
        stream=sys.stderr,
    )
    report = IndexReport()
    try:
        with open_store(
            args.db, encoder, show_progress=False, **{k: v for k, v in options.items() if v is not None}
        ) as store:
            index_files(
                store,
                found.files,
                max_tokens=max_tokens,
                overlap=overlap,
                tokenizer=_chunk_counter(encoder),
                batch_size=args.batch_size,
                prune=[] if args.keep_deleted else [Path(p) for p in args.paths],
                progress=progress,
                report=report,
            )
            total = store.count()
            if args.hnsw:
                _refresh_hnsw(store, quiet=args.quiet)
    except KeyboardInterrupt as exc:
        raise KeyboardInterrupt(_interrupted(report, progress, args.db)) from exc
    finally:
        progress.close()
    report.skipped[:0] = found.skipped
    for path, reason in report.skipped[len(found.skipped) :]:
        logger.info("skipped %s: %s", path, reason)
    for path, note in report.notes:
        logger.info("%s: %s", path, note)
    if not args.quiet:
        sys.stdout.write(_summary(report, total, args.db))
    elif report.failed:  # quiet hides progress and the summary, never what failed
        sys.stderr.write(_failures(report))
    return 1 if report.failed else 0
