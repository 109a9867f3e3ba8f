"""``ogma index``: chunk and index text, Markdown and JSONL files into a store.

Each file becomes chunks of at most ``--max-tokens`` tokens (counted with the model's
tokenizer), stored with metadata ``source`` (the absolute path), ``chunk``, ``chunks``,
``start``/``end`` (character offsets), ``file_hash`` (SHA-256) and ``chunking``. Running
the command again skips files whose hash and chunking are unchanged, replaces the
chunks of files that changed, and removes the chunks of files that were deleted from
the given directories (``--keep-deleted`` keeps them).

Example:
    >>> from ogma.cli import build_parser
    >>> args = build_parser().parse_args(["index", "notes/", "--db", "notes.ogma"])
    >>> args.db, args.paths
    ('notes.ogma', ['notes/'])
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ogma.chunking import chunk_text
from ogma.cli.options import add_model_options, encoder_options
from ogma.errors import OgmaError

__all__ = ["SUFFIXES", "load_encoder", "register", "run", "store_model_id"]

logger = logging.getLogger(__name__)

SUFFIXES = (".txt", ".md", ".markdown", ".jsonl")
"""File types ``ogma index`` reads (directories are searched recursively for them)."""
_RESERVED_TOKENS = 16  # room for special tokens and task prefixes inside the model window
_OWN_KEYS = ("source", "chunk", "chunks", "start", "end", "file_hash", "chunking")


class IndexInputError(OgmaError, ValueError):
    """An input file cannot be read or parsed."""


def load_encoder(model: str, **options: Any) -> Any:
    """Create the text encoder for ``model`` (tests replace this function).

    Args:
        model: A model name, hub id or folder.
        **options: ``TextEncoder`` options (``--threads``, ``--device``, ``--trust-remote-code``).

    Returns:
        An :class:`ogma.TextEncoder`.

    Example:
        >>> load_encoder("all-MiniLM-L6-v2")  # doctest: +SKIP
        TextEncoder(...)
    """
    from ogma.encoder import TextEncoder

    return TextEncoder(model, **options)


def store_model_id(db: str) -> str | None:
    """The model id recorded in an existing store file, or None for a new file.

    Args:
        db: The store file.

    Returns:
        The recorded model id, or None when the file does not exist or records none.

    Example:
        >>> store_model_id("/nonexistent/store.ogma") is None
        True
    """
    if db == ":memory:" or not Path(db).exists():
        return None
    from ogma.store import Store

    with Store(db, read_only=True, show_progress=False) as store:
        return store.config.model_id


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``index`` command."""
    from ogma.registry import DEFAULT_MODEL

    parser = subparsers.add_parser(
        "index",
        help="chunk and index .txt, .md and .jsonl files into a store",
        description="Chunk and index files into an Ogma store (one SQLite file). Directories are searched "
        "recursively for .txt, .md and .jsonl files. JSONL lines are documents with 'text' and optional 'id' "
        "and 'metadata', or BEIR's '_id', 'title' and 'text'. Unchanged files are skipped on re-runs; changed "
        "files replace their old chunks; files deleted from the given directories lose theirs.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files or directories to index")
    parser.add_argument("--db", required=True, help="the store file (created if missing)")
    add_model_options(
        parser,
        model_help=f"embedding model for a new store (default {DEFAULT_MODEL}; an existing store uses its own)",
        precision=("float32", "int8", "binary"),
        precision_help="index precision for a new store",
        dim_help="Matryoshka dimension for a new store",
    )
    parser.add_argument(
        "--max-tokens", type=int, default=None, help="tokens per chunk (default: the model's window minus 16)"
    )
    parser.add_argument("--overlap", type=int, default=None, help="tokens shared by neighbouring chunks (default 1/8)")
    parser.add_argument(
        "--keep-deleted",
        action="store_true",
        help="keep the chunks of indexed files that no longer exist (default: remove them)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=run)


@dataclass
class _Stored:
    """What the store holds for one source file."""

    ids: set[str] = field(default_factory=set)
    hashes: set[str] = field(default_factory=set)
    chunkings: set[str] = field(default_factory=set)
    chunks: set[int] = field(default_factory=set)


@dataclass
class _Summary:
    indexed: int = 0
    unchanged: int = 0
    chunks: int = 0
    removed: int = 0
    deleted_files: int = 0
    failed: list[str] = field(default_factory=list)


def _files(paths: list[str]) -> list[Path]:
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)
        elif path.is_file():
            found.append(path)
        else:
            raise IndexInputError(f"{raw!r} is not a file or directory; give existing paths to index.")
    return list(dict.fromkeys(p.resolve() for p in found))


def _deleted_sources(paths: list[str], stored: dict[str, _Stored]) -> list[str]:
    """Indexed files that no longer exist and lie under (or are) one of ``paths``."""
    roots = [Path(raw).resolve() for raw in paths]
    gone = []
    for source in stored:
        path = Path(source)
        if not path.exists() and any(path == root or root in path.parents for root in roots):
            gone.append(source)
    return sorted(gone)


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


def _documents(path: Path, data: bytes) -> Iterator[tuple[str | None, str, dict[str, Any]]]:
    """``(doc id or None, text, user metadata)`` for each document in a file."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IndexInputError(f"{path} is not UTF-8 text ({exc}); convert it to UTF-8 or leave it out.") from exc
    if path.suffix.lower() != ".jsonl":
        yield None, content, {}
        return
    for number, line in enumerate(content.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise IndexInputError(f"{path}:{number}: invalid JSON ({exc.msg}); each line must be one object.") from exc
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            raise IndexInputError(
                f"{path}:{number}: expected an object with a string 'text' (and optional 'id'/'_id', "
                f"'title', 'metadata'), got {line[:80]!r}."
            )
        metadata = record.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise IndexInputError(f"{path}:{number}: 'metadata' must be an object, got {metadata!r}.")
        metadata = dict(metadata)
        text = record["text"]
        title = record.get("title")
        if isinstance(title, str) and title.strip():
            metadata.setdefault("title", title)
            text = f"{title}\n\n{text}"
        doc_id = record.get("id", record.get("_id"))
        yield (str(doc_id) if doc_id is not None else f"{path}:{number}"), text, metadata


def _stored_sources(store: Any) -> dict[str, _Stored]:
    stored: dict[str, _Stored] = {}
    for doc in store.iter_documents():
        meta = doc.metadata if isinstance(doc.metadata, dict) else {}
        source = meta.get("source")
        if isinstance(source, str):
            entry = stored.setdefault(source, _Stored())
            entry.ids.add(doc.id)
            entry.hashes.add(str(meta.get("file_hash")))
            entry.chunkings.add(str(meta.get("chunking")))
            if isinstance(meta.get("chunks"), int):
                entry.chunks.add(meta["chunks"])
    return stored


def _index_file(
    store: Any, path: Path, stored: _Stored | None, chunker: Callable[[str], list[Any]], chunking: str
) -> tuple[int, int] | None:
    """Index one file; returns ``(chunks written, old chunks removed)``, or None when unchanged."""
    data = path.read_bytes()
    file_hash = hashlib.sha256(data).hexdigest()
    source = str(path)
    if (
        stored is not None
        and stored.hashes == {file_hash}
        and stored.chunkings == {chunking}
        and stored.chunks == {len(stored.ids)}
    ):
        return None
    texts: list[str] = []
    metadatas: list[dict[str, Any]] = []
    ids: list[str] = []
    for doc_id, text, user_meta in _documents(path, data):
        chunks = chunker(text)
        clash = sorted(set(user_meta) & set(_OWN_KEYS))
        if clash:
            logger.warning("%s: metadata keys %s are replaced by the indexer's own", path, clash)
        for chunk in chunks:
            base = doc_id if doc_id is not None else source
            ids.append(base if doc_id is not None and len(chunks) == 1 else f"{base}#{chunk.index}")
            texts.append(chunk.text)
            metadatas.append({**user_meta, **({"doc_id": doc_id} if doc_id is not None else {})})
            metadatas[-1].update(
                source=source,
                chunk=chunk.index,
                start=chunk.start,
                end=chunk.end,
                file_hash=file_hash,
                chunking=chunking,
            )
    for meta in metadatas:
        meta["chunks"] = len(metadatas)
    if len(set(ids)) != len(ids):
        duplicates = sorted({i for i in ids if ids.count(i) > 1})[:5]
        raise IndexInputError(f"{path}: duplicate document ids {duplicates}; ids must be unique within a file.")
    if texts:
        store.add(texts, metadatas=metadatas, ids=ids)
    removed = 0
    if stored is not None:
        leftover = sorted(stored.ids - set(ids))
        still_ours = [d.id for d in store.get(leftover) if d.metadata.get("source") == source] if leftover else []
        removed = store.delete(still_ours) if still_ours else 0
    return len(texts), removed


def run(args: argparse.Namespace) -> int:
    """Run ``ogma index``; returns the exit code (1 when some files failed)."""
    from ogma.registry import DEFAULT_MODEL
    from ogma.store import Store

    files = _files(args.paths)  # before anything else: a missing PATH is an error, never a reason to prune
    recorded = store_model_id(args.db)
    model = recorded or args.model or DEFAULT_MODEL
    if recorded and args.model and args.model != recorded:
        logger.info("the store records model %r; using it rather than --model %r", recorded, args.model)
    encoder = load_encoder(model, **encoder_options(args))
    window = getattr(encoder, "max_length", None)
    max_tokens = args.max_tokens or (max(16, int(window) - _RESERVED_TOKENS) if isinstance(window, int) else 256)
    overlap = args.overlap if args.overlap is not None else max_tokens // 8
    if max_tokens < 1 or not 0 <= overlap < max_tokens:
        raise IndexInputError(
            f"--max-tokens must be >= 1 and --overlap in [0, max-tokens); got {max_tokens} and {overlap}."
        )
    counter = _chunk_counter(encoder)
    chunking = f"{max_tokens}/{overlap}"

    def chunker(text: str) -> list[Any]:
        return chunk_text(text, max_tokens=max_tokens, overlap=overlap, tokenizer=counter)

    summary = _Summary()
    options: dict[str, Any] = {"precision": args.precision, "dim": args.dim}
    with Store(args.db, encoder, show_progress=False, **{k: v for k, v in options.items() if v is not None}) as store:
        stored = _stored_sources(store)
        for path in tqdm(files, desc="indexing", unit="file", disable=args.quiet or not sys.stderr.isatty()):
            try:
                result = _index_file(store, path, stored.get(str(path)), chunker, chunking)
            except (OSError, IndexInputError) as exc:
                logger.error("%s", exc)
                summary.failed.append(str(path))
                continue
            if result is None:
                summary.unchanged += 1
            else:
                summary.indexed += 1
                summary.chunks += result[0]
                summary.removed += result[1]
        if not args.keep_deleted:
            for source in _deleted_sources(args.paths, stored):
                summary.removed += store.delete(filter={"source": source})
                summary.deleted_files += 1
                logger.info("%s no longer exists; removed its chunks", source)
        total = store.count()
    if not args.quiet:
        sys.stdout.write(
            f"indexed {summary.indexed} file(s) into {summary.chunks} chunk(s), {summary.unchanged} unchanged, "
            f"{summary.deleted_files} deleted, {summary.removed} old chunk(s) removed, {len(summary.failed)} failed; "
            f"{total} chunk(s) in {args.db}\n"
        )
    return 1 if summary.failed else 0
