"""Evaluate retrieval: load BEIR collections, score runs, compare search configurations.

* :func:`load_beir` reads a BEIR folder (corpus, queries, qrels).
* :func:`evaluate_run` scores ``{query: {doc: score}}`` runs with nDCG, recall,
  precision, MRR and MAP at a cutoff, with ``trec_eval`` semantics.
* :func:`compare_configs` indexes a corpus into temporary stores and reports quality,
  query latency and index size per configuration (``ogma eval`` on the command line).
* :class:`EmbeddingCache` keeps corpus embeddings on disk between runs.

Example:
    >>> from ogma.evaluate import evaluate_run
    >>> evaluate_run({"q1": {"d1": 0.9, "d2": 0.1}}, {"q1": {"d2": 1}}, ["mrr@10"])
    {'mrr@10': 0.5}
"""

from __future__ import annotations

from ogma.evaluate.beir import BeirDataset, DatasetError, load_beir
from ogma.evaluate.cache import EmbeddingCache
from ogma.evaluate.compare import (
    CompareConfig,
    CompareRow,
    CrossEncoderFactory,
    TextEncoderFactory,
    compare_configs,
)
from ogma.evaluate.metrics import (
    DEFAULT_METRICS,
    Metric,
    evaluate_run,
    evaluate_run_per_query,
    parse_metric,
    rank_documents,
)

__all__ = [
    "DEFAULT_METRICS",
    "BeirDataset",
    "CompareConfig",
    "CompareRow",
    "CrossEncoderFactory",
    "DatasetError",
    "EmbeddingCache",
    "Metric",
    "TextEncoderFactory",
    "compare_configs",
    "evaluate_run",
    "evaluate_run_per_query",
    "load_beir",
    "parse_metric",
    "rank_documents",
]
