"""The ``ogma`` command line: thin wrappers over the Python API.

Each sub-command lives in its own module with a ``register(subparsers)`` function
that adds its parser and sets ``func`` (a callable taking the parsed
``argparse.Namespace`` and returning an exit code).

Example:
    >>> from ogma.cli import build_parser
    >>> build_parser().parse_args(["models"]).command
    'models'
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from ogma.errors import OgmaError

__all__ = ["build_parser", "main"]

COMMAND_MODULES = ("embed", "models", "convert", "index", "info", "search", "eval", "doctor", "cache")


def build_parser() -> argparse.ArgumentParser:
    """The full ``ogma`` argument parser."""
    parser = argparse.ArgumentParser(
        prog="ogma",
        description="Ogma: local-first embeddings, search and reranking.",
    )
    parser.add_argument("-v", "--verbose", action="count", default=0, help="log more (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"ogma.cli.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ogma`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)
    level = logging.WARNING - 10 * min(args.verbose, 2)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.func(args) or 0)
    except OgmaError as exc:
        print(f"ogma {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
