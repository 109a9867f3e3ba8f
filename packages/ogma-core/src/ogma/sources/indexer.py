"""Keep a store in step with a set of files, in bounded memory.

:func:`index_files` hashes each file, skips it when the store already holds its chunks
for the same content and chunking, and otherwise streams it: text is read in blocks,
chunked in windows (:func:`ogma.chunking.iter_chunks`) and embedded and written a
batch at a time, so memory does not grow with the size of a file or of the run. The
old chunks of a changed file are removed once its new ones are written.

Each chunk's metadata holds ``source`` (the absolute path), ``chunk``, ``chunks`` (the
file's chunk count), ``start``/``end`` (character offsets into the file's text; for
HTML and PDF, into the extracted text), ``file_hash`` (SHA-256) and ``chunking``.
A JSONL record's own ``metadata`` is kept beside them, and its id in ``doc_id``.

One bad file or JSONL line never stops the run: it is reported in
:attr:`IndexReport.failed` (``path:line: reason``) and the rest is indexed.

Example:
    >>> import tempfile, pathlib, numpy as np
    >>> from ogma.store import Store
    >>> from ogma.sources import find_files
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "a.md").write_text("One short note.")
    >>> embed = lambda texts: np.ones((len(texts), 4), dtype=np.float32)
    >>> with Store(":memory:", embed) as store:
    ...     report = index_files(store, find_files([folder]).files, max_tokens=32, overlap=4)
    ...     report.indexed, report.chunks, store.count()
    (1, 1, 1)
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, Protocol

from ogma.chunking import TokenizerLike, chunk_text, iter_chunks
from ogma.errors import MissingExtraError, StoreError
from ogma.sources.discover import SourceFile
from ogma.sources.read import (
    FileFacts,
    Record,
    RecordError,
    SourceReadError,
    fingerprint,
    html_text,
    iter_jsonl,
    iter_pdf_text,
    iter_text,
)

__all__ = ["DEFAULT_BATCH_SIZE", "OWN_KEYS", "IndexReport", "Progress", "index_files", "stored_sources"]

logger = logging.getLogger(__name__)

DEFAULT_BATCH_SIZE: Final = 64
"""Chunks embedded and written per store transaction."""
OWN_KEYS: Final = ("source", "chunk", "chunks", "start", "end", "file_hash", "chunking")
"""Metadata keys the indexer writes on every chunk."""

Row = tuple[str, str, dict[str, Any]]  # (id, text, metadata without "chunks")


class Progress(Protocol):
    """Receives progress: files finished, bytes read and chunks written since the last call.

    Example:
        >>> class Count:
        ...     chunks = 0
        ...     def update(self, *, files=0, nbytes=0, chunks=0):
        ...         self.chunks += chunks
        >>> isinstance(Count().chunks, int)
        True
    """

    def update(self, *, files: int = 0, nbytes: int = 0, chunks: int = 0) -> None:
        """Advance the counters."""
        ...


@dataclass
class IndexReport:
    """What a run did.

    Attributes:
        indexed: Files (re)indexed.
        unchanged: Files skipped because the store holds their current chunks.
        chunks: Chunks written.
        removed: Old chunks removed (of changed and of deleted files).
        deleted_files: Indexed files that no longer exist and lost their chunks.
        skipped: ``(path, reason)`` for files left out on purpose (binary, no text, ...).
        failed: ``(path or path:line, reason)`` for files and JSONL lines that could not be indexed.
        notes: ``(path, note)``, such as a file decoded as Windows-1252.

    Example:
        >>> report = IndexReport(skipped=[("a.png", "binary"), ("b.gif", "binary")])
        >>> report.skipped_by_reason()
        Counter({'binary': 2})
    """

    indexed: int = 0
    unchanged: int = 0
    chunks: int = 0
    removed: int = 0
    deleted_files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    notes: list[tuple[str, str]] = field(default_factory=list)

    def skipped_by_reason(self) -> Counter[str]:
        """How many files were skipped for each reason."""
        return Counter(reason for _, reason in self.skipped)


@dataclass
class _Stored:
    """What the store holds for one source file."""

    count: int = 0
    hashes: set[str] = field(default_factory=set)
    chunkings: set[str] = field(default_factory=set)
    totals: set[int] = field(default_factory=set)

    def current(self, file_hash: str, chunking: str) -> bool:
        return self.hashes == {file_hash} and self.chunkings == {chunking} and self.totals == {self.count}


def stored_sources(store: Any) -> dict[str, _Stored]:
    """Per source path: the chunk count, file hashes, chunkings and recorded totals in the store."""
    stored: dict[str, _Stored] = {}
    for doc in store.iter_documents():
        meta = doc.metadata if isinstance(doc.metadata, dict) else {}
        source = meta.get("source")
        if isinstance(source, str):
            entry = stored.setdefault(source, _Stored())
            entry.count += 1
            entry.hashes.add(str(meta.get("file_hash")))
            entry.chunkings.add(str(meta.get("chunking")))
            total = meta.get("chunks")
            entry.totals.add(total if isinstance(total, int) else -1)
    return stored


@dataclass
class _Settings:
    max_tokens: int
    overlap: int
    tokenizer: TokenizerLike | Callable[[str], int] | None
    chunking: str
    batch_size: int


class _File:
    """Rows of one file, produced afresh by each call of :meth:`rows`."""

    def __init__(self, source: SourceFile, facts: FileFacts, settings: _Settings) -> None:
        self.source = source
        self.facts = facts
        self.settings = settings
        self.path = str(source.path)

    def _pieces(self, on_bytes: Callable[[int], None] | None) -> Iterator[str]:
        kind = self.source.kind
        if kind == "pdf":
            return iter_pdf_text(self.source.path)
        encoding = self.facts.encoding or "utf-8-sig"
        pieces = iter_text(self.source.path, encoding, on_bytes=on_bytes)
        return html_text(pieces) if kind == "html" else pieces

    def _own(self, chunk: Any) -> dict[str, Any]:
        return {
            "source": self.path,
            "chunk": chunk.index,
            "start": chunk.start,
            "end": chunk.end,
            "file_hash": self.facts.sha256,
            "chunking": self.settings.chunking,
        }

    def rows(self, problems: list[tuple[str, str]], on_bytes: Callable[[int], None] | None = None) -> Iterator[Row]:
        s = self.settings
        pieces = self._pieces(on_bytes)
        if self.source.kind != "jsonl":
            for chunk in iter_chunks(pieces, max_tokens=s.max_tokens, overlap=s.overlap, tokenizer=s.tokenizer):
                yield f"{self.path}#{chunk.index}", chunk.text, self._own(chunk)
            return
        first_line: dict[str, int] = {}
        warned = False
        for item in iter_jsonl(pieces):
            if isinstance(item, RecordError):
                problems.append((f"{self.path}:{item.line}", item.reason))
                continue
            if item.doc_id is not None:
                if item.doc_id in first_line:
                    reason = (
                        f"duplicate id {item.doc_id!r} (first on line {first_line[item.doc_id]}); ids must be unique"
                    )
                    problems.append((f"{self.path}:{item.line}", reason))
                    continue
                first_line[item.doc_id] = item.line
            clash = sorted(set(item.metadata) & {*OWN_KEYS, "doc_id"})
            if clash and not warned:
                logger.warning("%s: metadata keys %s are replaced by the indexer's own", self.path, clash)
                warned = True
            yield from self._record_rows(item)

    def _record_rows(self, record: Record) -> Iterator[Row]:
        s = self.settings
        chunks = chunk_text(record.text, max_tokens=s.max_tokens, overlap=s.overlap, tokenizer=s.tokenizer)
        base = record.doc_id if record.doc_id is not None else f"{self.path}:{record.line}"
        extra = {"doc_id": record.doc_id} if record.doc_id is not None else {}
        for chunk in chunks:
            doc_id = base if record.doc_id is not None and len(chunks) == 1 else f"{base}#{chunk.index}"
            yield doc_id, chunk.text, {**record.metadata, **extra, **self._own(chunk)}


def _write(store: Any, rows: list[Row], total: int, file: _File, report: IndexReport) -> int:
    """Write one batch; a batch the store refuses is retried row by row, and bad rows are reported."""
    for _, _, meta in rows:
        meta["chunks"] = total
    try:
        store.add([r[1] for r in rows], metadatas=[r[2] for r in rows], ids=[r[0] for r in rows], batch_size=len(rows))
        return len(rows)
    except StoreError:
        raise
    except (ValueError, TypeError) as exc:
        if len(rows) == 1:
            report.failed.append((f"{file.path} ({rows[0][0]})", str(exc)))
            logger.warning("%s (%s): %s", file.path, rows[0][0], exc)
            return 0
    return sum(_write(store, [row], total, file, report) for row in rows)


def _index_one(store: Any, file: _File, report: IndexReport, progress: Progress | None, *, had_chunks: bool) -> int:
    """Stream one file into the store; returns the chunks written.

    When the store held chunks of this file before, those not rewritten now are removed
    (one filtered delete; a file new to the store has nothing to remove).
    """
    s = file.settings
    problems: list[tuple[str, str]] = []

    def on_bytes(n: int) -> None:
        if progress is not None:
            progress.update(nbytes=n)

    rows = file.rows(problems, on_bytes)
    batch: list[Row] = []
    for row in rows:
        batch.append(row)
        if len(batch) > s.batch_size:
            break
    # A long file: count its chunks first, so each records the total (tokenising is cheap next to embedding).
    total = len(batch) if len(batch) <= s.batch_size else sum(1 for _ in file.rows([]))
    written = 0
    while batch:
        chunk_rows, batch = batch[: s.batch_size], batch[s.batch_size :]
        done = _write(store, chunk_rows, total, file, report)
        written += done
        if progress is not None:
            progress.update(chunks=done)
        for row in rows:
            batch.append(row)
            if len(batch) >= s.batch_size:
                break
    for where, reason in problems:
        logger.warning("%s: %s", where, reason)
    report.failed.extend(problems)
    if not had_chunks:
        return written
    stale = {
        "$or": [
            {"file_hash": {"$ne": file.facts.sha256}},
            {"chunking": {"$ne": s.chunking}},
            {"chunks": {"$ne": total}},
        ]
    }
    report.removed += store.delete(filter={"source": file.path, **stale})
    return written


def _deleted_sources(roots: Sequence[Path], stored: dict[str, _Stored]) -> list[str]:
    """Indexed files that no longer exist and lie under (or are) one of ``roots``."""
    resolved = [root.resolve() for root in roots]
    gone = []
    for source in stored:
        path = Path(source)
        if not path.exists() and any(path == root or root in path.parents for root in resolved):
            gone.append(source)
    return sorted(gone)


def index_files(
    store: Any,
    files: Sequence[SourceFile],
    *,
    max_tokens: int,
    overlap: int,
    tokenizer: TokenizerLike | Callable[[str], int] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    prune: Sequence[Path] = (),
    progress: Progress | None = None,
    report: IndexReport | None = None,
) -> IndexReport:
    """Index ``files`` into ``store``, skipping unchanged ones and replacing changed ones.

    Args:
        store: An open :class:`ogma.store.Store` with an encoder.
        files: From :func:`ogma.sources.find_files`.
        max_tokens: Most tokens per chunk.
        overlap: Tokens shared by neighbouring chunks.
        tokenizer: Token counter for chunking (see :func:`ogma.chunking.chunk_text`).
        batch_size: Chunks embedded and written per transaction.
        prune: Folders (or files) whose indexed files that no longer exist lose their chunks.
        progress: Receives progress updates.
        report: Fill in this report as the run goes (default: a new one), so that a caller
            still knows what was done when the run stops early (e.g. on Ctrl-C).

    Returns:
        What was indexed, skipped, failed and removed.

    Raises:
        ValueError: ``max_tokens``/``overlap``/``batch_size`` out of range.
        StoreError: The store cannot be written (the run stops: nothing is lost).
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    chunk_text("", max_tokens=max_tokens, overlap=overlap)  # validates both, with the documented errors
    settings = _Settings(max_tokens, overlap, tokenizer, f"{max_tokens}/{overlap}", batch_size)
    report = IndexReport() if report is None else report
    stored = stored_sources(store)
    for source in files:
        path = str(source.path)
        try:
            facts = fingerprint(source.path)
        except OSError as exc:
            report.failed.append((path, f"cannot read it ({exc.strerror or exc})"))
            logger.warning("%s: cannot read it (%s)", path, exc.strerror or exc)
            _advance(progress, source.size)
            continue
        if facts.encoding is None and source.kind != "pdf":
            report.skipped.append((path, "binary"))
            _advance(progress, source.size)
            continue
        previous = stored.get(path)
        if previous is not None and previous.current(facts.sha256, settings.chunking):
            report.unchanged += 1
            _advance(progress, source.size)
            continue
        if facts.encoding == "windows-1252" and source.kind != "pdf":
            report.notes.append((path, "not UTF-8: decoded as Windows-1252 (Latin-1)"))
            logger.info("%s is not UTF-8: decoded as Windows-1252 (Latin-1)", path)
        file = _File(source, facts, settings)
        failures = len(report.failed)
        try:
            written = _index_one(store, file, report, progress, had_chunks=previous is not None)
        except MissingExtraError as exc:
            report.skipped.append((path, str(exc)))
            _advance(progress, source.size)
            continue
        except (OSError, SourceReadError) as exc:
            reason = f"cannot read it ({exc.strerror or exc})" if isinstance(exc, OSError) else str(exc)
            report.failed.append((path, reason))
            logger.warning("%s: %s", path, reason)
            _advance(progress, 0)
            continue
        if written:
            report.indexed += 1
            report.chunks += written
        elif len(report.failed) == failures:  # (when lines failed, they are the report)
            report.skipped.append((path, "no text"))
        _advance(progress, source.size if source.kind == "pdf" else 0)
    for source_path in _deleted_sources(prune, stored):
        report.removed += store.delete(filter={"source": source_path})
        report.deleted_files += 1
        logger.info("%s no longer exists; removed its chunks", source_path)
    return report


def _advance(progress: Progress | None, nbytes: int) -> None:
    if progress is not None:
        progress.update(files=1, nbytes=nbytes)
