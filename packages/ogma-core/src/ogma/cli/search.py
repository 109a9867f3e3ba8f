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
from typing import Any

from ogma.cli.options import (
    MAX_K,
    UsageError,
    add_model_options,
    encoder_options,
    positive_int,
    reranker_options,
    unit_float,
)
from ogma.errors import FilterError, StoreError, StoreMismatchError
from ogma.fusion import FUSION_METHODS
from ogma.store.ranking import DEFAULT_RERANK_ALPHA, DEFAULT_RERANK_DEPTH
from ogma.store.sqlite.fts import snippet
from ogma.types import SEARCH_MODES, Hit

__all__ = ["format_hits", "fusion_option", "hits_to_json", "register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``search`` command."""
    parser = subparsers.add_parser(
        "search",
        help="search a store (dense, lexical or hybrid), optionally reranked",
        description="Search an Ogma store built with 'ogma index'. Prints ranked hits with scores and a "
        "snippet in which the query's words are marked [like this]. The embedding model is the one the store "
        "records (by 'ogma index', or by an adapter writing with an Ogma embedder); -m names it for a store that "
        "records none, and a model other than the recorded one is refused. --fusion and --alpha tune hybrid "
        "search and are refused in the other modes; --rerank reorders the first --rerank-k hits with a cross-encoder.",
    )
    parser.add_argument("query", help="the query text")
    parser.add_argument(
        "--db", required=True, help="the store: a SQLite file or a store URI (milvus://..., milvus-lite://...)"
    )
    parser.add_argument("--mode", choices=SEARCH_MODES, default="hybrid", help="search mode (default hybrid)")
    parser.add_argument("-k", "--k", type=positive_int(maximum=MAX_K), default=10, help="number of hits (default 10)")
    parser.add_argument(
        "--filter", default=None, help='metadata filter as JSON, e.g. \'{"source": {"$like": "%%.md"}}\''
    )
    parser.add_argument(
        "--fusion",
        choices=FUSION_METHODS,
        default=None,
        help="how hybrid search fuses the dense and lexical lists (default: the store's default); hybrid only",
    )
    parser.add_argument(
        "--alpha",
        type=unit_float,
        default=None,
        help="dense weight in [0, 1] of convex fusion (implies --fusion convex unless --fusion default is "
        "given); hybrid only",
    )
    parser.add_argument(
        "--rerank",
        metavar="MODEL",
        default=None,
        help="rerank the first hits with this cross-encoder (name, hub id or folder)",
    )
    parser.add_argument(
        "--rerank-k",
        type=positive_int(maximum=MAX_K),
        default=None,
        help=f"first-stage hits the reranker sees (default max(k, {DEFAULT_RERANK_DEPTH})); needs --rerank",
    )
    parser.add_argument(
        "--rerank-alpha",
        type=unit_float,
        default=None,
        metavar="A",
        help=f"weight of the reranker in its blend with the first-stage score (default {DEFAULT_RERANK_ALPHA}; "
        "1 ranks by the reranker alone); needs --rerank",
    )
    parser.add_argument(
        "--width", type=positive_int(maximum=100_000), default=160, help="snippet width in characters (default 160)"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON array of hits")
    add_model_options(
        parser,
        model="folder",
        model_help="embedding model of the queries (default: the model the store records; another one is refused)",
        dim="none",
    )
    parser.set_defaults(func=run)


def fusion_option(mode: str, fusion: str | None, alpha: float | None) -> str | dict[str, Any] | None:
    """The ``fusion=`` argument of :meth:`ogma.Store.search` for ``--mode``, ``--fusion`` and ``--alpha``.

    Raises:
        UsageError: ``--fusion`` or ``--alpha`` outside hybrid mode, or ``--alpha`` with a
            rank-based fusion (which has no dense weight).

    Example:
        >>> fusion_option("hybrid", None, 0.7)
        {'method': 'convex', 'alpha': 0.7}
        >>> fusion_option("dense", "rrf", None)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ogma.errors.UsageError: --fusion applies to hybrid search only, not --mode dense; ...
    """
    given = [name for name, value in (("--fusion", fusion), ("--alpha", alpha)) if value is not None]
    if mode != "hybrid" and given:
        raise UsageError(
            f"{' and '.join(given)} applies to hybrid search only, not --mode {mode}; "
            f"drop {'them' if len(given) > 1 else 'it'} or use --mode hybrid"
        )
    if alpha is None:
        return fusion
    if fusion is not None and fusion not in ("default", "convex"):
        raise UsageError(
            f"--alpha is the dense weight of convex fusion; --fusion {fusion} has none (it fuses by rank). "
            "Use --fusion convex with --alpha, or drop --alpha"
        )
    return {"method": fusion or "convex", "alpha": alpha}


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
            "snippet": snippet(hit.text or "", query, width=width),
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
        lines.append("    " + snippet(hit.text or "", query, width=width).replace("\n", " "))
    return "\n".join(lines) + "\n"


def _parse_filter(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise FilterError(
            f"--filter is not valid JSON ({exc.msg} at position {exc.pos}): {raw[:200]!r}. "
            'Example: --filter \'{"lang": "en", "year": {"$gte": 2020}}\''
        ) from exc
    except RecursionError as exc:
        raise FilterError("--filter is nested too deeply to parse; flatten it (e.g. $and/$or lists)") from exc
    if not isinstance(value, dict):
        raise FilterError(f'--filter must be a JSON object such as {{"lang": "en"}}, got {raw[:200]!r}.')
    return value


def _query_model(db: str, recorded: str | None, asked: str | None, declared: str | None = None) -> str:
    """The model that embeds the queries: the recorded one; ``-m`` only when it is the same or none is recorded.

    ``declared`` (``--model-id``) names the registry model a ``-m`` folder holds; it is what
    is compared with the recorded model, and the folder is what loads.

    Raises:
        StoreMismatchError: ``-m`` names another model than the recorded one.
        StoreError: Neither is known.
    """
    from ogma.cli.index import _same_model

    if recorded is not None and asked is not None and not _same_model(declared or asked, recorded):
        raise StoreMismatchError(
            f"-m {asked}: {db} was built with model {recorded!r}; its vectors only match queries embedded by that "
            "model. Leave out -m to search with it, or search a store built with "
            f"{asked!r}."
        )
    model = asked or recorded
    if model is None:
        raise StoreError(
            f"{db!r} records no embedding model, so it cannot be searched by meaning: give -m MODEL (the model its "
            "vectors came from), or use --mode lexical."
        )
    return model


def run(args: argparse.Namespace) -> int:
    """Run ``ogma search``; prints the hits and returns the exit code."""
    from ogma.cli.options import load_encoder
    from ogma.cli.stores import open_existing, recorded_model, store_exists
    from ogma.store.fingerprint import check_embedder

    fusion = fusion_option(args.mode, args.fusion, args.alpha)
    if args.rerank_k is not None and args.rerank is None:
        raise UsageError("--rerank-k needs --rerank MODEL (the cross-encoder that sees those hits)")
    if args.rerank_alpha is not None and args.rerank is None:
        raise UsageError("--rerank-alpha needs --rerank MODEL (the cross-encoder whose score it blends)")
    if args.db != ":memory:" and not store_exists(args.db):
        raise StoreError(f"no store at {args.db!r}; create one with: ogma index PATH... --db {args.db}")
    filter_ = _parse_filter(args.filter)
    encoder = None
    recorded: str | None = None
    if args.mode != "lexical":
        recorded = recorded_model(args.db)
        model = _query_model(args.db, recorded, args.model, getattr(args, "model_id", None))
        encoder = load_encoder(model, **encoder_options(args))
    reranker = None
    if args.rerank is not None:
        from ogma.rerank import Reranker

        reranker = Reranker(args.rerank, **reranker_options(args))
    with open_existing(args.db, encoder) as store:
        if encoder is not None and recorded is None:  # -m for a store that names no model: compare vectors
            check_embedder(store, encoder.embed_documents, identity=f"-m {model}", fix="Give -m the store's model.")
        try:
            hits = store.search(
                args.query,
                k=args.k,
                mode=args.mode,
                filter=filter_,
                fusion=fusion,
                rerank=reranker,
                rerank_k=args.rerank_k,
                rerank_alpha=DEFAULT_RERANK_ALPHA if args.rerank_alpha is None else args.rerank_alpha,
            )
        except FilterError as exc:
            raise FilterError(f"--filter: {exc}") from exc
    if args.json:
        sys.stdout.write(json.dumps(hits_to_json(hits, args.query, width=args.width), ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(format_hits(hits, args.query, width=args.width))
    return 0
