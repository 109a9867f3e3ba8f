"""``ogma eval``: compare search configurations on a BEIR-format collection.

Every combination of the given models, modes, precisions, dims and rerankers is
evaluated; the corpus is indexed once per (model, precision, dim).

Example:
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="ogma")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["eval", "data", "--model", "m", "--mode", "dense", "hybrid"])
    >>> [c.mode for c in build_configs(args)]
    ['dense', 'hybrid']
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Sequence
from typing import Any

from ogma.cli.options import MAX_K, add_model_options, positive_int, unit_float
from ogma.evaluate import (
    CompareConfig,
    CompareRow,
    CrossEncoderFactory,
    EmbeddingCache,
    TextEncoderFactory,
    compare_configs,
    load_beir,
)
from ogma.evaluate.compare import STORE_PRECISIONS
from ogma.evaluate.metrics import parse_metric
from ogma.store.ranking import DEFAULT_RERANK_ALPHA, DEFAULT_RERANK_DEPTH
from ogma.types import SEARCH_MODES

__all__ = ["build_configs", "default_metrics", "format_table", "register", "run"]

PRECISION_CHOICES = STORE_PRECISIONS
_NONE_WORDS = ("none", "full", "-")


def _rerank(text: str) -> str | None:
    return None if text.lower() in _NONE_WORDS else text


def _metric(text: str) -> str:
    try:
        return parse_metric(text).name
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


def register(subparsers: Any) -> None:
    """Add the ``eval`` sub-command to an ``argparse`` sub-parser group."""
    parser = subparsers.add_parser(
        "eval",
        help="compare models, search modes, precisions and rerankers on a BEIR dataset",
        description=(
            "Index a BEIR-format collection (corpus.jsonl, queries.jsonl, qrels/<split>.tsv) and report "
            "retrieval quality, query latency and index size for every combination of the options. "
            "Options take several values: --mode dense hybrid --precision float32 binary. Every model and "
            "reranker is loaded before anything is embedded, and each model's corpus embeddings are cached "
            "(under $OGMA_HOME/eval-embeddings), so a second run on the same data skips the embedding."
        ),
    )
    parser.add_argument("data_dir", metavar="DATA_DIR", help="folder with corpus.jsonl, queries.jsonl and qrels/")
    add_model_options(
        parser,
        model="many",
        dim="many",
        dim_help="Matryoshka dim(s), or 'full' [full]",
        precision=PRECISION_CHOICES,
        precision_many=True,
        precision_help="stored vector precision(s) [float32]",
    )
    parser.add_argument("--mode", nargs="+", action="extend", choices=SEARCH_MODES, help="search mode(s) [dense]")
    parser.add_argument(
        "--rerank", nargs="+", action="extend", type=_rerank, help="cross-encoder(s); 'none' adds a run without one"
    )
    parser.add_argument(
        "--rerank-k",
        type=positive_int(maximum=MAX_K),
        default=None,
        help=f"candidates the reranker sees [max(k, {DEFAULT_RERANK_DEPTH})]",
    )
    parser.add_argument(
        "--rerank-alpha",
        type=unit_float,
        default=DEFAULT_RERANK_ALPHA,
        metavar="A",
        help=f"weight of the reranker in its blend with the first-stage score (default {DEFAULT_RERANK_ALPHA}; "
        "1 ranks by the reranker alone)",
    )
    parser.add_argument(
        "--k", type=positive_int(maximum=MAX_K), default=10, help="cutoff for nDCG, recall, MRR and MAP [10]"
    )
    parser.add_argument("--metrics", nargs="+", type=_metric, help="metrics to report instead (e.g. ndcg@10 p@5)")
    parser.add_argument("--split", default="test", help="qrels split: qrels/SPLIT.tsv [test]")
    parser.add_argument(
        "--max-queries",
        type=positive_int(),
        default=None,
        help="run only the first N judged queries (the corpus is still indexed whole, so scores stay comparable)",
    )
    parser.add_argument(
        "--no-cache", action="store_true", help="embed the corpus even if cached embeddings exist, and keep none"
    )
    parser.add_argument(
        "--cache-dir", default=None, help="where corpus embeddings are cached [$OGMA_HOME/eval-embeddings]"
    )
    parser.add_argument("--json", action="store_true", help="print one JSON array of result rows")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars (as -q does)")
    parser.set_defaults(func=run)


def default_metrics(k: int) -> list[str]:
    """The metrics reported for cutoff ``k``: nDCG, recall, MRR and MAP at ``k``, plus recall@100.

    Example:
        >>> default_metrics(10)
        ['ndcg@10', 'recall@10', 'mrr@10', 'map@10', 'recall@100']
    """
    metrics = [f"ndcg@{k}", f"recall@{k}", f"mrr@{k}", f"map@{k}"]
    if k < 100:
        metrics.append("recall@100")
    return metrics


def build_configs(args: argparse.Namespace) -> list[CompareConfig]:
    """The cartesian product of the parsed options, in a stable order."""
    models = list(dict.fromkeys(args.model))
    modes = list(dict.fromkeys(args.mode or ["dense"]))
    precisions = list(dict.fromkeys(args.precision or ["float32"]))
    dims = list(dict.fromkeys(args.dim or [None]))
    reranks = list(dict.fromkeys(args.rerank or [None]))
    return [
        CompareConfig(
            model,
            mode=mode,
            precision=precision,
            dim=dim,
            rerank=rerank,
            rerank_k=args.rerank_k,
            rerank_alpha=args.rerank_alpha,
        )
        for model, precision, dim, mode, rerank in itertools.product(models, precisions, dims, modes, reranks)
    ]


def _size(num: int) -> str:
    value = float(num)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


def format_table(rows: Sequence[CompareRow]) -> str:
    """A plain-text table: one line per configuration, metrics then latency and size.

    Example:
        >>> row = CompareRow(CompareConfig("m"), {"ndcg@10": 0.5}, 3.0, 2.5, 6.0, 2048, 1.5, 50)
        >>> print(format_table([row]))  # doctest: +NORMALIZE_WHITESPACE
        model  mode   precision  dim   rerank  ndcg@10  mean ms  p50 ms  index
        m      dense  float32    full  -        0.5000      3.0     2.5  2.0 KB
    """
    if not rows:
        return "(no results)"
    metric_names = list(rows[0].metrics)
    header = ["model", "mode", "precision", "dim", "rerank", *metric_names, "mean ms", "p50 ms", "index"]
    body = []
    for row in rows:
        c = row.config
        body.append(
            [
                c.model,
                c.mode,
                c.precision,
                "full" if c.dim is None else str(c.dim),
                c.rerank or "-",
                *(f"{row.metrics[m]:.4f}" for m in metric_names),
                f"{row.latency_mean_ms:.1f}",
                f"{row.latency_p50_ms:.1f}",
                _size(row.index_bytes),
            ]
        )
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]
    numeric = set(range(5, len(header) - 1))

    def fmt(line: list[str]) -> str:
        cells = [cell.rjust(w) if i in numeric else cell.ljust(w) for i, (cell, w) in enumerate(zip(line, widths))]
        return "  ".join(cells).rstrip()

    return "\n".join([fmt(header), *(fmt(line) for line in body)])


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def run(args: argparse.Namespace) -> int:
    """Run ``ogma eval``; prints the table (or JSON) and returns the exit code."""
    dataset = load_beir(args.data_dir, split=args.split)
    if args.max_queries is not None:
        dataset = dataset.subset(args.max_queries)
    metrics = args.metrics or default_metrics(args.k)
    depth = max([args.k, *(parse_metric(m).k or 0 for m in metrics)])
    configs = build_configs(args)
    rows = compare_configs(
        dataset,
        configs,
        metrics=metrics,
        k=depth,
        encoder_factory=TextEncoderFactory(
            threads=args.threads, device=args.device, trust_remote_code=args.trust_remote_code
        ),
        reranker_factory=CrossEncoderFactory(threads=args.threads, device=args.device),
        cache=None if args.no_cache else EmbeddingCache(args.cache_dir),
        show_progress=False if args.no_progress or args.quiet else None,
    )
    if args.json:
        _out(json.dumps([{"dataset": dataset.name, **row.to_dict()} for row in rows], indent=2))
    else:
        _out(f"{dataset.name}: {len(dataset.corpus)} documents, {len(dataset.queries)} queries ({args.split})")
        _out(format_table(rows))
    return 0
