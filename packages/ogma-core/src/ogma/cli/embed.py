"""``ogma embed``: texts (arguments, a file or stdin) → JSONL or a ``.npy`` matrix, one row per input row.

Input rows:

* arguments: one row per argument;
* text (``--format text``): one row per line; an empty line is an empty text and gets
  its own row (a valid embedding), so row ``i`` of the output is line ``i`` of the input;
* JSONL (``--format jsonl``): one row per JSON object with a string ``text`` (and an
  optional ``id`` or ``_id``, carried to the JSONL output); blank lines are not records.

``--format auto`` (the default) reads ``.jsonl`` files as JSONL, and other files and
standard input as JSONL only when every non-blank line is a JSON object with a string
``text``; otherwise as text.

Example:
    >>> parse_rows('{"id": 7, "text": "cat"}\\n{"text": "dog"}\\n', fmt="auto")
    (['cat', 'dog'], [7, None])
    >>> parse_rows("cat\\n\\ndog\\n", fmt="auto")
    (['cat', '', 'dog'], None)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from ogma.cli import options
from ogma.cli.options import add_model_options, batch_size_option, encoder_options
from ogma.errors import OgmaError
from ogma.registry import DEFAULT_MODEL
from ogma.types import PRECISIONS, TASKS

__all__ = ["FORMATS", "EmbedInputError", "parse_rows", "register", "run"]

FORMATS = ("auto", "text", "jsonl")
"""Input formats of ``ogma embed --format``."""


class EmbedInputError(OgmaError, ValueError):
    """The input of ``ogma embed`` cannot be read as the requested format (the message names the line)."""


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``embed`` command."""
    parser = subparsers.add_parser(
        "embed",
        help="embed texts to JSONL or .npy",
        description="Embed texts given as arguments, read from a file or from standard input, and write one "
        "JSON object per text (with its 'id' when the input had one) or a .npy matrix. There is exactly one "
        "output row per input row: in text input every line is a row, and an empty line is an empty text. "
        "JSONL input (objects with 'text' and optional 'id') is detected, or forced with --format jsonl.",
    )
    parser.add_argument("texts", nargs="*", help="texts to embed (default: read --input or standard input)")
    parser.add_argument("-i", "--input", type=Path, help="file with one text per line, or JSONL with 'text'")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="auto",
        help="input format of --input or stdin: text (one text per line), jsonl (objects with 'text', optional "
        "'id'), or auto (.jsonl files, and input whose every non-blank line is such an object, are JSONL) "
        "[auto]",
    )
    parser.add_argument("-o", "--output", type=Path, help="write here (.npy for a matrix, else JSONL); default stdout")
    parser.add_argument("--task", choices=TASKS, default="document", help="how to encode (default document)")
    add_model_options(
        parser,
        model_default=DEFAULT_MODEL,
        precision=PRECISIONS,
        precision_default="float32",
        precision_help="output precision (default float32)",
    )
    parser.add_argument("--quantized", action="store_true", help="run the int8 model")
    batch_size_option(parser, default=32, help="texts per forward pass (default 32)")
    parser.set_defaults(func=run)


def _lines(raw: str) -> list[str]:
    """Lines split on ``\\n`` only (a trailing ``\\r`` is dropped), so row ``i`` is line ``i + 1``."""
    if raw == "":
        return []
    lines = raw.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line does not start another
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def _as_record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except (json.JSONDecodeError, RecursionError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("text"), str) else None


def _looks_like_jsonl(lines: list[str]) -> bool:
    filled = [line for line in lines if line.strip()]
    return bool(filled) and all(line.lstrip().startswith("{") and _as_record(line) for line in filled)


def parse_rows(raw: str, *, fmt: str = "auto", source: str = "<stdin>") -> tuple[list[str], list[Any] | None]:
    """Split input into texts and, for JSONL, ids (``None`` where a record has none).

    Args:
        raw: The whole input.
        fmt: ``"text"``, ``"jsonl"`` or ``"auto"`` (JSONL when every non-blank line is an
            object with a string ``text``).
        source: The input's name, for error messages.

    Returns:
        ``(texts, ids)``; ``ids`` is ``None`` for text input.

    Raises:
        EmbedInputError: A JSONL line is not an object with a string ``text``, or an
            ``id`` is not a string or an integer.

    Example:
        >>> parse_rows("a\\r\\n\\r\\nb", fmt="text")
        (['a', '', 'b'], None)
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}; got {fmt!r}")
    raw = raw.removeprefix("\ufeff")
    lines = _lines(raw)
    if fmt == "text" or (fmt == "auto" and not _looks_like_jsonl(lines)):
        return lines, None
    texts: list[str] = []
    ids: list[Any] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        record = _as_record(line)
        if record is None:
            raise EmbedInputError(
                f"{source}:{number}: expected a JSON object with a string 'text' (JSONL input), got {line[:60]!r}; "
                "use --format text to embed the lines as they are"
            )
        doc_id = record.get("id", record.get("_id"))
        if doc_id is not None and (isinstance(doc_id, bool) or not isinstance(doc_id, str | int)):
            raise EmbedInputError(f"{source}:{number}: 'id' must be a string or an integer, got {doc_id!r}")
        texts.append(record["text"])
        ids.append(doc_id)
    return texts, ids


def _read_rows(args: argparse.Namespace) -> tuple[list[str], list[Any] | None]:
    if args.texts:
        if args.input is not None:
            raise EmbedInputError("give texts as arguments or --input FILE, not both")
        return list(args.texts), None
    if args.input is not None:
        fmt = "jsonl" if args.format == "auto" and args.input.suffix.lower() == ".jsonl" else args.format
        try:
            raw = args.input.read_bytes().decode("utf-8")
        except UnicodeDecodeError as exc:
            raise EmbedInputError(f"--input {args.input} is not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
        except OSError as exc:
            raise EmbedInputError(f"--input {args.input}: cannot read it ({exc.strerror or exc})") from exc
        return parse_rows(raw, fmt=fmt, source=str(args.input))
    if sys.stdin is None or sys.stdin.isatty():
        raise EmbedInputError("no texts to embed: pass TEXT arguments, --input FILE, or pipe text on standard input")
    return parse_rows(sys.stdin.read(), fmt=args.format, source="<stdin>")


def _check_output(path: Path) -> None:
    """Refuse an unwritable output before any model is loaded or any text embedded."""
    if path.is_dir():
        raise EmbedInputError(f"--output {path} is a folder; give a file name such as {path / 'vectors.npy'}")
    folder = path.parent
    if not folder.is_dir():
        raise EmbedInputError(f"--output {path}: the folder {folder} does not exist; create it or choose another path")


def run(args: argparse.Namespace) -> int:
    """Run ``ogma embed``."""
    if args.output is not None:
        _check_output(args.output)
    texts, ids = _read_rows(args)
    encoder = options.load_encoder(
        args.model or DEFAULT_MODEL,
        quantized=args.quantized,
        batch_size=args.batch_size,
        show_progress=False if args.quiet else None,
        **encoder_options(args),
    )
    vectors = encoder.encode(texts, task=args.task, dim=args.dim, precision=args.precision)
    if args.output is not None and args.output.suffix.lower() == ".npy":
        np.save(args.output, vectors)
        return 0
    out = args.output.open("w", encoding="utf-8") if args.output is not None else sys.stdout
    try:
        for i, (text, vector) in enumerate(zip(texts, vectors, strict=True)):
            row: dict[str, Any] = {} if ids is None or ids[i] is None else {"id": ids[i]}
            row.update(text=text, embedding=vector.tolist())
            out.write(json.dumps(row) + "\n")
    finally:
        if args.output is not None:
            out.close()
    return 0
