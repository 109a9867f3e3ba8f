"""Reading files in bounded memory: fingerprint, encoding, text in blocks, HTML text, JSONL records, PDF pages.

A file is read twice at most, a block at a time: once to hash it (SHA-256), sniff for
binary content (a NUL byte in the first 8 KiB, as git does) and check that it is UTF-8,
and once more, only if it changed since it was indexed, to stream its text. Text that
is not UTF-8 (nor UTF-16 with a byte-order mark) is decoded as Windows-1252, the
superset of Latin-1 that browsers use for "latin-1"; that never fails, and is noted.

Example:
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as handle:
    ...     _ = handle.write("café".encode("cp1252"))
    >>> facts = fingerprint(handle.name)
    >>> facts.encoding, "".join(iter_text(handle.name, facts.encoding))
    ('windows-1252', 'café')
    >>> os.unlink(handle.name)
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Final

from ogma.errors import OgmaError, missing_extra
from ogma.validation import record_id

__all__ = [
    "BLOCK_SIZE",
    "MAX_METADATA_DEPTH",
    "FileFacts",
    "Record",
    "RecordError",
    "SourceReadError",
    "fingerprint",
    "html_text",
    "iter_jsonl",
    "iter_pdf_text",
    "iter_text",
    "record_id",
]

BLOCK_SIZE: Final = 1 << 20
"""Bytes read at a time."""
SNIFF_BYTES: Final = 8192
MAX_METADATA_DEPTH: Final = 64
"""Deepest metadata nesting accepted from JSONL (SQLite's JSON functions stop at 1000)."""

# Windows-1252 with its five undefined bytes mapped to the same code points as Latin-1 (as WHATWG does).
_CP1252: Final = "".join(
    bytes([b]).decode("cp1252") if b not in (0x81, 0x8D, 0x8F, 0x90, 0x9D) else chr(b) for b in range(256)
)


class SourceReadError(OgmaError, ValueError):
    """A file cannot be read as a source (the message says why)."""


@dataclass(frozen=True)
class FileFacts:
    """What one pass over a file's bytes tells.

    Attributes:
        sha256: Hex digest of the content.
        size: Bytes read.
        encoding: ``"utf-8-sig"``, ``"utf-16"`` or ``"windows-1252"``; None for binary content.

    Example:
        >>> FileFacts("ab" * 32, 10, None).encoding is None  # binary
        True
    """

    sha256: str
    size: int
    encoding: str | None


def fingerprint(path: str | Path, *, block_size: int = BLOCK_SIZE) -> FileFacts:
    """Hash a file, sniff for binary content and find its text encoding, in one pass.

    Raises:
        OSError: The file cannot be read.
    """
    digest = hashlib.sha256()
    size = 0
    encoding: str | None = "utf-8-sig"
    utf8 = codecs.getincrementaldecoder("utf-8-sig")()
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
        if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and not head.startswith(codecs.BOM_UTF32_LE):
            encoding = "utf-16"
        elif b"\0" in head:
            encoding = None
        block = head
        while block:
            digest.update(block)
            size += len(block)
            if encoding == "utf-8-sig":
                try:
                    utf8.decode(block)
                except UnicodeDecodeError:
                    encoding = "windows-1252"
            block = handle.read(block_size)
    if encoding == "utf-8-sig":
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            encoding = "windows-1252"
    return FileFacts(digest.hexdigest(), size, encoding)


def iter_text(
    path: str | Path, encoding: str, *, block_size: int = BLOCK_SIZE, on_bytes: Callable[[int], None] | None = None
) -> Iterator[str]:
    """A file's text in pieces of about ``block_size`` characters.

    Args:
        path: The file.
        encoding: From :func:`fingerprint` (``"windows-1252"`` never fails; the others
            replace undecodable bytes with U+FFFD should the file change in between).
        block_size: Bytes per read.
        on_bytes: Called with the size of each block read (for progress).

    Raises:
        OSError: The file cannot be read.
    """
    if encoding == "windows-1252":
        with open(path, "rb") as handle:
            while block := handle.read(block_size):
                if on_bytes is not None:
                    on_bytes(len(block))
                yield codecs.charmap_decode(block, "strict", _CP1252)[0]
        return
    decoder = codecs.getincrementaldecoder(encoding)(errors="replace")
    with open(path, "rb") as handle:
        while block := handle.read(block_size):
            if on_bytes is not None:
                on_bytes(len(block))
            text = decoder.decode(block)
            if text:
                yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


_BLOCK_TAGS: Final = frozenset(
    "address article aside blockquote br dd details dialog div dl dt fieldset figcaption figure footer form "
    "h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table tbody td th thead tr ul".split()
)
_SKIP_TAGS: Final = frozenset({"script", "style", "noscript", "template", "svg", "head"})
_SPACE_RE: Final = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """Visible text of an HTML document; block elements become paragraph breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self._skip = 0
        self._pre = 0
        self._title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self._skip += 1
        elif tag == "pre":
            self._pre += 1
        if tag == "title":
            self._title = True
        if tag in _BLOCK_TAGS:
            self.out.append("\n" if tag in ("br", "li", "tr", "dt", "dd") else "\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self._skip = max(0, self._skip - 1)
        elif tag == "pre":
            self._pre = max(0, self._pre - 1)
        if tag == "title":
            self._title = False
            self.out.append("\n\n")
        if tag in _BLOCK_TAGS:
            self.out.append("\n\n" if tag not in ("br", "li", "tr", "dt", "dd") else "\n")

    def handle_data(self, data: str) -> None:
        if self._title:  # the title sits in <head>, but it is the best summary of the page
            self.out.append(_SPACE_RE.sub(" ", data))
        elif not self._skip:
            self.out.append(data if self._pre else _SPACE_RE.sub(" ", data))

    def take(self) -> str:
        text = "".join(self.out)
        self.out = []
        return text


def html_text(pieces: Iterable[str]) -> Iterator[str]:
    """The visible text of an HTML document given in pieces (scripts, styles and tags dropped).

    Example:
        >>> "".join(html_text(["<html><head><title>T</title><script>x()</script></head>",
        ...                    "<body><p>Hello &amp; <b>welcome</b></p><p>Bye</p></body></html>"])).split()
        ['T', 'Hello', '&', 'welcome', 'Bye']
    """
    parser = _TextExtractor()
    for piece in pieces:
        parser.feed(piece)
        text = parser.take()
        if text:
            yield text
    parser.close()
    text = parser.take()
    if text:
        yield text


def iter_pdf_text(path: str | Path) -> Iterator[str]:
    """The text of a PDF, page by page (pages separated by a blank line), with ``pypdf``.

    Raises:
        MissingExtraError: ``pypdf`` is not installed (the message gives the ``pip`` command).
        SourceReadError: The PDF cannot be parsed.
    """
    try:
        from pypdf import PdfReader
        from pypdf.errors import PyPdfError
    except ImportError as exc:
        raise missing_extra("pypdf", "pdf", "Indexing PDF files") from exc
    try:
        reader = PdfReader(str(path))
        for number, page in enumerate(reader.pages):
            text = page.extract_text() or ""
            if text:
                yield ("\n\n" if number else "") + text
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise SourceReadError(f"{path}: not a readable PDF ({exc})") from exc


@dataclass(frozen=True)
class Record:
    """One JSONL document: its id (None to generate one), text, metadata and line number.

    Example:
        >>> Record("a", "text", {"lang": "en"}, 3).line
        3
    """

    doc_id: str | None
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class RecordError:
    """A JSONL line that cannot be indexed, with the reason.

    Example:
        >>> RecordError(2, "invalid JSON").reason
        'invalid JSON'
    """

    line: int
    reason: str


def _depth(value: Any, limit: int) -> int:
    """Nesting depth of JSON containers, stopping once past ``limit``."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def _valid_unicode(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_JSON: Final = json.JSONEncoder(ensure_ascii=False, allow_nan=False)


def _record(line: str, number: int) -> Record | RecordError:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        return RecordError(number, f"invalid JSON ({exc.msg}); each line must be one object")
    except ValueError as exc:  # e.g. an integer longer than Python's int/str conversion limit
        return RecordError(number, f"invalid JSON ({exc})")
    except RecursionError:
        return RecordError(number, "JSON nests too deep")
    if not isinstance(record, dict) or not isinstance(record.get("text"), str):
        return RecordError(
            number,
            f"expected an object with a string 'text' (and optional 'id'/'_id', 'title', 'metadata'): {line[:80]!r}",
        )
    metadata = record.get("metadata") or {}
    if not isinstance(metadata, dict):
        return RecordError(number, f"'metadata' must be an object, got {type(metadata).__name__}")
    if _depth(metadata, MAX_METADATA_DEPTH) > MAX_METADATA_DEPTH:
        return RecordError(number, f"'metadata' nests deeper than {MAX_METADATA_DEPTH} levels")
    try:
        encoded = _JSON.encode(metadata)
    except ValueError:
        return RecordError(number, "'metadata' contains NaN or Infinity, which JSON metadata cannot hold")
    try:
        doc_id = record_id(record)
    except ValueError as exc:
        return RecordError(number, str(exc))
    text = record["text"]
    title = record.get("title")
    metadata = dict(metadata)
    if isinstance(title, str) and title.strip():
        metadata.setdefault("title", title)
        text = f"{title}\n\n{text}"
    if "\x00" in text:
        return RecordError(number, "the text holds a NUL character (\\u0000), which a document text cannot hold")
    if not all(_valid_unicode(value) for value in (text, doc_id or "", encoded)):
        return RecordError(number, "not valid Unicode (a lone surrogate such as \\ud800 in the text, id or metadata)")
    return Record(doc_id, text, metadata, number)


def iter_jsonl(pieces: Iterable[str]) -> Iterator[Record | RecordError]:
    """Documents of a JSONL text given in pieces: a :class:`Record` or :class:`RecordError` per non-blank line.

    Lines are objects with ``text`` and optional ``id`` (or BEIR's ``_id``), ``title``
    (prepended to the text and kept in the metadata) and ``metadata`` (an object).

    Example:
        >>> [type(r).__name__ for r in iter_jsonl(['{"id": "a", "text": "x"}\\n{"id": "", "te', 'xt": "y"}\\n'])]
        ['Record', 'RecordError']
    """
    number = 0
    rest = ""
    for piece in pieces:
        lines = (rest + piece).split("\n")
        rest = lines.pop()
        for line in lines:
            number += 1
            if line.strip():
                yield _record(line, number)
    if rest.strip():
        yield _record(rest, number + 1)
