"""``ogma cache list|clear``: what Ogma caches under ``$OGMA_HOME``.

The models it converted, exported or quantized, and the corpus embeddings ``ogma eval``
keeps (``$OGMA_HOME/eval-embeddings``), listed and cleared alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from ogma.disk_cache import EVAL_EMBEDDINGS, CacheEntry, list_entries, remove_entries
from ogma.errors import OgmaError
from ogma.hub import ogma_home

__all__ = ["register", "run_clear", "run_list"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``cache`` command with its ``list`` and ``clear`` actions."""
    parser = subparsers.add_parser(
        "cache",
        help="list or clear converted models and cached evaluation embeddings",
        description="Models Ogma converted to ONNX, exported or quantized are cached under $OGMA_HOME "
        "(default ~/.cache/ogma), keyed by the bytes of their source files, so every environment that "
        "has the same checkpoint shares one copy; `ogma eval` caches each model's corpus embeddings "
        "in $OGMA_HOME/eval-embeddings (kind eval-embeddings). The Hugging Face download cache and "
        "an `ogma eval --cache-dir` elsewhere are not touched.",
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True, help="list or clear")
    show = actions.add_parser(
        "list",
        help="list cache entries",
        description="List cache entries: kind, size, last use, key, source models (and, for "
        "evaluation embeddings, the data set and its size).",
    )
    show.add_argument("--json", action="store_true", help="machine-readable output")
    show.set_defaults(func=run_list)
    clear = actions.add_parser(
        "clear",
        help="delete cache entries",
        description="Delete cache entries (all of them, or those of one model: its converted, exported "
        "and quantized copies and its cached evaluation embeddings). They are rebuilt on next use.",
    )
    clear.add_argument("--model", "-m", help="only the entries of this model (id, short name or source folder)")
    clear.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    clear.set_defaults(func=run_clear)


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _when(stamp: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(stamp))


def _describe(entry: CacheEntry) -> str:
    models = ", ".join(entry.models) or "(made by an older Ogma; source unknown)"
    if entry.kind != EVAL_EMBEDDINGS:
        return models
    about = ", ".join(part for part in (*entry.sources, entry.note) if part)
    return f"{models} ({about})" if about else models


def run_list(args: argparse.Namespace) -> int:
    """Run ``ogma cache list``."""
    home = ogma_home()
    entries = list_entries(home)
    if args.json:
        rows = [
            {
                "path": str(e.path),
                "kind": e.kind,
                "models": list(e.models),
                "sources": list(e.sources),
                "size_bytes": e.size_bytes,
                "last_used": e.last_used,
                "note": e.note,
            }
            for e in entries
        ]
        print(json.dumps({"home": str(home), "entries": rows}, indent=2))
        return 0
    print(f"Ogma cache: {home} (set OGMA_HOME to move it)")
    if not entries:
        print("(empty)")
        return 0
    print(f"{'kind':15} {'size':>10} {'last used':16}  {'key':16}  model")
    for e in entries:
        key = e.path.stem[:16]
        print(f"{e.kind:15} {_megabytes(e.size_bytes):>10} {_when(e.last_used):16}  {key:16}  {_describe(e)}")
    total = sum(e.size_bytes for e in entries)
    print(f"{len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, {_megabytes(total)}")
    return 0


def run_clear(args: argparse.Namespace) -> int:
    """Run ``ogma cache clear``."""
    home = ogma_home()
    entries = list_entries(home)
    if args.model is not None:
        entries = [e for e in entries if e.matches(args.model)]
        if not entries:
            raise OgmaError(f"no cache entry for model {args.model!r} in {home}; `ogma cache list` shows the entries")
    if not entries:
        print(f"The cache at {home} is already empty.")
        return 0
    total = sum(e.size_bytes for e in entries)
    what = f"{len(entries)} cache entr{'y' if len(entries) == 1 else 'ies'} ({_megabytes(total)}) in {home}"
    if not args.yes:
        if not sys.stdin.isatty():
            raise OgmaError(f"refusing to delete {what} without confirmation; pass --yes")
        answer = input(f"Delete {what}? [y/N] ").strip().lower()
        if answer not in ("y", "yes"):
            print("Nothing deleted.")
            return 1
    freed = remove_entries(entries, home=home)
    print(f"Deleted {len(entries)} entr{'y' if len(entries) == 1 else 'ies'}, freed {_megabytes(freed)}.")
    return 0
