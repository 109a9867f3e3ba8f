"""Finding, reading and indexing source files (what ``ogma index`` runs on).

* :mod:`ogma.sources.discover`: which files to index (formats, globs, ignored folders).
* :mod:`ogma.sources.read`: hashing, encodings, text in blocks, HTML text, JSONL records, PDF text.
* :mod:`ogma.sources.indexer`: keep a store in step with the files, in bounded memory.

Example:
    >>> from ogma.sources import find_files
    >>> find_files([]).files
    []
"""

from __future__ import annotations

from ogma.sources.discover import Discovery, SourceFile, SourcePathError, find_files
from ogma.sources.formats import FORMATS, format_of
from ogma.sources.indexer import IndexReport, Progress, index_files
from ogma.sources.read import SourceReadError

__all__ = [
    "FORMATS",
    "Discovery",
    "IndexReport",
    "Progress",
    "SourceFile",
    "SourcePathError",
    "SourceReadError",
    "find_files",
    "format_of",
    "index_files",
]
