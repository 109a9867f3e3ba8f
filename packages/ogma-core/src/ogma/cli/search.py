"""``ogma search``: query a store from the command line (dense, lexical or hybrid).

Prints ranked hits with their scores and a snippet with the query's words marked, or
one JSON array with ``--json``.

Example:
    >>> from ogma.cli import build_parser
    >>> args = build_parser().parse_args(["search", "sqlite vectors", "--db", "notes.ogma", "--mode", "lexical"])
    >>> args.query, args.mode, args.k
    ('sqlite vectors', 'lexical', 10)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ogma.errors import FilterError, StoreError
from ogma.store.fts import snippet
from ogma.types import SEARCH_MODES, Hit

__all__ = ["format_hits", "hits_to_json", "register", "run"]

_FUSION_METHODS = ("default", "rrf", "weighted_rrf", "convex")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``search`` command."""
    parser = subparsers.add_parser(
        "search",
        help="search a store (dense, lexical or hybrid)",
        description="Search an Ogma store built with 'ogma index'. Prints ranked hits with scores and a "
        "snippet in which the query's words are marked [like this].",
    )
    parser.add_argument("query", help="the query text")
    parser.add_argument("--db", required=True, help="the store file")
    parser.add_argument("--mode", choices=SEARCH_MODES, default="hybrid", help="search mode (default hybrid)")
    parser.add_argument("-k", "--k", type=_positive_int, default=10, help="number of hits (default 10)")
    parser.add_argument(
        "--filter", default=None, help='metadata filter as JSON, e.g. \'{"source": {"$like": "%%.md"}}\''
    )
    parser.add_argument("--fusion", choices=_FUSION_METHODS, default=None, help="hybrid fusion method")
    parser.add_argument("--width", type=_positive_int, default=160, help="snippet width in characters (default 160)")
    parser.add_argument("--json", action="store_true", help="print one JSON array of hits")
    parser.set_defaults(func=run)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def hits_to_json(hits: list[Hit], query: str, *, width: int = 160) -> list[dict[str, Any]]:
    """Hits as JSON-ready dicts (rank, id, score, per-stage scores, metadata, text, snippet).

    Args:
        hits: The search hits, best first.
        query: The query (for the snippet).
        width: Snippet width in characters.

    Returns:
        One dict per hit.

    Example:
        >>> hits_to_json([Hit("a", "hello world", {}, 1.0, {"lexical": 1.0})], "world")[0]["snippet"]
        'hello [world]'
    """
    return [
        {
            "rank": rank,
            "id": hit.id,
            "score": hit.score,
            "scores": dict(hit.scores),
            "metadata": hit.metadata,
            "snippet": snippet(hit.text, query, width=width),
            "text": hit.text,
        }
        for rank, hit in enumerate(hits, start=1)
    ]


def format_hits(hits: list[Hit], query: str, *, width: int = 160) -> str:
    """Human-readable hits: rank, score, per-stage scores, id and source, then the snippet.

    Args:
        hits: The search hits, best first.
        query: The query (for the snippet).
        width: Snippet width in characters.

    Returns:
        The text to print (ends with a newline).

    Example:
        >>> print(format_hits([Hit("a", "hello world", {"source": "x.txt"}, 0.5, {"dense": 0.5})], "world"), end="")
         1. 0.5000  (dense 0.500)  a  x.txt
            hello [world]
    """
    if not hits:
        return "no results\n"
    lines: list[str] = []
    for rank, hit in enumerate(hits, start=1):
        stages = ", ".join(f"{name} {value:.3f}" for name, value in hit.scores.items())
        source = hit.metadata.get("source") if isinstance(hit.metadata, dict) else None
        where = f"  {source}" if isinstance(source, str) and not hit.id.startswith(source) else ""
        lines.append(f"{rank:2d}. {hit.score:.4f}  ({stages})  {hit.id}{where}")
        lines.append("    " + snippet(hit.text, query, width=width).replace("\n", " "))
    return "\n".join(lines) + "\n"


def _parse_filter(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FilterError(
            f"--filter is not valid JSON ({exc.msg} at position {exc.pos}): {raw!r}. "
            'Example: --filter \'{"lang": "en", "year": {"$gte": 2020}}\''
        ) from exc
    if not isinstance(value, dict):
        raise FilterError(f'--filter must be a JSON object such as {{"lang": "en"}}, got {raw!r}.')
    return value


def run(args: argparse.Namespace) -> int:
    """Run ``ogma search``; prints the hits and returns the exit code."""
    from ogma.cli.index import load_encoder, store_model_id
    from ogma.store import Store

    if args.db != ":memory:" and not Path(args.db).exists():
        raise StoreError(f"no store at {args.db!r}; create one with: ogma index PATH... --db {args.db}")
    filter_ = _parse_filter(args.filter)
    encoder = None
    if args.mode != "lexical":
        model = store_model_id(args.db)
        if model is None:
            raise StoreError(
                f"{args.db!r} records no embedding model, so it cannot be searched by meaning; use --mode lexical."
            )
        encoder = load_encoder(model)
    with Store(args.db, encoder, read_only=True, show_progress=False) as store:
        hits = store.search(
            args.query, k=args.k, mode=args.mode, filter=filter_, fusion=args.fusion if args.mode == "hybrid" else None
        )
    if args.json:
        sys.stdout.write(json.dumps(hits_to_json(hits, args.query, width=args.width), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_hits(hits, args.query, width=args.width))
    return 0
