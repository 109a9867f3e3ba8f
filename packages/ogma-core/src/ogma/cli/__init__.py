"""The ``ogma`` command line: thin wrappers over the Python API.

Each sub-command lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (a callable taking the parsed
``argparse.Namespace`` and returning an exit code).

Errors are handled here, once, for every command:

* a user error (a bad option value, a missing or unwritable path, malformed input, any
  :class:`~ogma.errors.OgmaError`) prints one line ``ogma CMD: error: ...`` on stderr
  and exits with status 2;
* an unexpected error prints one line and the hint to run with ``-v``, and exits 1;
* Ctrl-C exits 130, after one line saying what was saved when the command knows
  (``ogma index`` raises ``KeyboardInterrupt("interrupted after ...")`` for that);
* ``-v`` (before or after the command) also prints the traceback.

Example:
    >>> from ogma.cli import build_parser
    >>> build_parser().parse_args(["models"]).command
    'models'
    >>> build_parser().parse_args(["models", "-v"]).verbose_sub
    1
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from ogma.cli.options import add_global_options
from ogma.errors import OgmaError

__all__ = ["EXIT_INTERNAL", "EXIT_INTERRUPTED", "EXIT_USAGE", "build_parser", "main", "ogma_version"]

COMMAND_MODULES = (
    "embed",
    "models",
    "convert",
    "index",
    "info",
    "search",
    "eval",
    "doctor",
    "cache",
    "import",
    "migrate",
    "serve",
)

EXIT_USAGE = 2
"""Exit status of a user error (bad option, bad input, missing file)."""
EXIT_INTERNAL = 1
"""Exit status of an unexpected error (a bug, or an environment failure such as a full disk)."""
EXIT_INTERRUPTED = 130
"""Exit status after Ctrl-C (128 + SIGINT)."""

_USER_OS_ERRORS = (
    FileNotFoundError,
    FileExistsError,
    PermissionError,
    IsADirectoryError,
    NotADirectoryError,
)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose usage errors are one line."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def ogma_version() -> str:
    """The installed ``ogma-core`` version (``"unknown"`` when it is not installed as a package).

    Example:
        >>> ogma_version() != ""
        True
    """
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("ogma-core")
    except PackageNotFoundError:
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    """The full ``ogma`` argument parser."""
    parser = _Parser(
        prog="ogma",
        description="Ogma: local-first embeddings, search and reranking.",
        epilog="Global options (-v, -q) also work after the command: ogma index docs/ --db d.ogma -v",
    )
    parser.add_argument("--version", action="version", version=f"ogma-core {ogma_version()}")
    add_global_options(parser, top=True)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(f"ogma.cli.{name}").register(subparsers)
    for sub in subparsers.choices.values():
        add_global_options(sub, top=False)
    return parser


def _one_line(text: str) -> str:
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def _os_message(exc: OSError) -> str:
    reason = exc.strerror or (errno.errorcode.get(exc.errno, "") if exc.errno else "") or str(exc)
    where = exc.filename if exc.filename is not None else ""
    if exc.filename2 is not None:
        where = f"{where} -> {exc.filename2}"
    return f"{reason}: {where}" if where else _one_line(str(exc)) or type(exc).__name__


def _user_message(exc: BaseException) -> str:
    if isinstance(exc, OSError) and not isinstance(exc, OgmaError):
        return _os_message(exc)
    if isinstance(exc, UnicodeError):
        return f"input is not valid UTF-8 text ({exc})"
    message = _one_line(str(exc))
    if isinstance(exc, KeyError) and not isinstance(exc, OgmaError):
        message = f"missing key {message}"
    return message or type(exc).__name__


def _is_user_error(exc: BaseException) -> bool:
    return isinstance(exc, (OgmaError, ValueError, TypeError, *_USER_OS_ERRORS))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ogma`` console script; returns the exit status.

    Args:
        argv: The arguments (default: ``sys.argv[1:]``).

    Returns:
        0 on success; 2 for a user error; 1 for an unexpected error; 130 after Ctrl-C.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version and usage errors (already printed, one line)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else EXIT_USAGE)
    verbose = int(getattr(args, "verbose", 0)) + int(getattr(args, "verbose_sub", 0))
    args.verbose = verbose
    args.quiet = bool(getattr(args, "quiet", False) or getattr(args, "quiet_top", False))
    level = logging.ERROR if args.quiet and not verbose else logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    prefix = f"ogma {args.command}"
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt as exc:  # a command may say what was saved: KeyboardInterrupt("interrupted after ...")
        detail = exc.args[0] if exc.args and isinstance(exc.args[0], str) else "interrupted"
        sys.stderr.write(f"\n{prefix}: {detail}\n")
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. `ogma embed ... | head`: the reader left; not an error
        _silence_stdout()
        return 0
    except Exception as exc:
        if verbose:
            traceback.print_exc(file=sys.stderr)
        if isinstance(exc, RecursionError) and not isinstance(exc, OgmaError):
            sys.stderr.write(f"{prefix}: error: input nested too deeply to process ({_one_line(str(exc))})\n")
            return EXIT_USAGE
        if _is_user_error(exc):
            sys.stderr.write(f"{prefix}: error: {_user_message(exc)}\n")
            return EXIT_USAGE
        hint = "" if verbose else " (run with -v for the traceback)"
        sys.stderr.write(f"{prefix}: internal error: {type(exc).__name__}: {_user_message(exc)}{hint}\n")
        return EXIT_INTERNAL


def _silence_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so the interpreter's final flush is quiet."""
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no real stdout (e.g. under a test runner)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())
