"""Ranking metrics with trec_eval semantics, in pure Python.

Every metric ranks a query's run the way ``trec_eval`` does: by score, highest first,
and among equal scores by document id in DESCENDING string order (``trec_eval`` sorts
ties by ``docno`` descending). The numbers therefore match ``trec_eval`` /
``pytrec_eval`` exactly, ties included.

Metrics (``k`` is the cutoff; without ``@k`` the whole run counts):

* ``ndcg@k``: graded nDCG, gain = the qrels grade, discount ``log2(rank + 1)``, the
  ideal ranking built from all judged documents (``trec_eval``'s ``ndcg_cut_k``).
* ``recall@k``: relevant documents in the top ``k`` / all relevant documents.
* ``precision@k``: relevant documents in the top ``k`` / ``k`` (``P_k``).
* ``mrr@k``: 1 / rank of the first relevant document in the top ``k``, else 0.
* ``map@k``: average precision over the top ``k``, divided by ALL relevant documents
  (``map_cut_k``).

A document is relevant when its grade is >= 1 (``trec_eval``'s default). Queries
with judgements but no relevant document score 0 on every metric.

Example:
    >>> qrels = {"q1": {"d1": 2, "d2": 0, "d3": 1}}
    >>> run = {"q1": {"d1": 0.9, "d2": 0.8, "d3": 0.1}}
    >>> scores = evaluate_run(run, qrels, metrics=("recall@2", "mrr@10"))
    >>> scores["recall@2"], scores["mrr@10"]
    (0.5, 1.0)
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, get_args, overload

__all__ = [
    "DEFAULT_METRICS",
    "Metric",
    "MetricKind",
    "evaluate_run",
    "evaluate_run_per_query",
    "parse_metric",
    "rank_documents",
]

MetricKind = Literal["ndcg", "recall", "precision", "mrr", "map"]
METRIC_KINDS: tuple[MetricKind, ...] = get_args(MetricKind)
_ALIASES: dict[str, MetricKind] = {"p": "precision", "p_": "precision", "recip_rank": "mrr", "rr": "mrr"}
DEFAULT_METRICS: tuple[str, ...] = ("ndcg@10", "recall@100", "mrr@10", "map@100")
_PATTERN = re.compile(r"^\s*([a-z_]+?)(?:@(\d+))?\s*$")

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]


@dataclass(frozen=True)
class Metric:
    """A parsed metric name.

    Attributes:
        kind: One of ``ndcg``, ``recall``, ``precision``, ``mrr``, ``map``.
        k: The cutoff, or ``None`` for the whole run.

    Example:
        >>> Metric("ndcg", 10).name
        'ndcg@10'
    """

    kind: MetricKind
    k: int | None

    @property
    def name(self) -> str:
        """The canonical name, e.g. ``"ndcg@10"``."""
        return self.kind if self.k is None else f"{self.kind}@{self.k}"


def parse_metric(name: str) -> Metric:
    """Parse ``"ndcg@10"``-style names (case-insensitive; ``p@5`` means precision).

    Raises:
        ValueError: Unknown metric or a cutoff below 1.

    Example:
        >>> parse_metric("MAP@100")
        Metric(kind='map', k=100)
    """
    match = _PATTERN.match(name.lower()) if isinstance(name, str) else None
    kind_text = match.group(1) if match else ""
    kind = _ALIASES.get(kind_text, kind_text)
    if match is None or kind not in METRIC_KINDS:
        raise ValueError(
            f"Unknown metric {name!r}. Use one of {', '.join(f'{m}@k' for m in METRIC_KINDS)} "
            "(e.g. 'ndcg@10'); without '@k' the whole run counts."
        )
    k = int(match.group(2)) if match.group(2) is not None else None
    if k is not None and k < 1:
        raise ValueError(f"The cutoff of metric {name!r} must be at least 1")
    return Metric(kind, k)


def rank_documents(scores: Mapping[str, float]) -> list[str]:
    """Document ids in ``trec_eval`` order: score descending, ties by id descending.

    Example:
        >>> rank_documents({"a": 1.0, "b": 1.0, "c": 2.0})
        ['c', 'b', 'a']
    """
    return [doc for doc, _ in sorted(scores.items(), key=lambda item: (item[1], item[0]), reverse=True)]


def _query_metrics(ranking: Sequence[str], judged: Mapping[str, int], metrics: Sequence[Metric]) -> dict[str, float]:
    relevant = {doc for doc, grade in judged.items() if grade >= 1}
    n_rel = len(relevant)
    ideal = sorted((g for g in judged.values() if g > 0), reverse=True)
    out: dict[str, float] = {}
    for metric in metrics:
        top = ranking if metric.k is None else ranking[: metric.k]
        if n_rel == 0:
            out[metric.name] = 0.0
        elif metric.kind == "ndcg":
            dcg = sum(max(judged.get(doc, 0), 0) / math.log2(i + 2) for i, doc in enumerate(top))
            cut = ideal if metric.k is None else ideal[: metric.k]
            idcg = sum(g / math.log2(i + 2) for i, g in enumerate(cut))
            out[metric.name] = dcg / idcg if idcg > 0 else 0.0
        elif metric.kind == "recall":
            out[metric.name] = sum(1 for doc in top if doc in relevant) / n_rel
        elif metric.kind == "precision":
            denominator = metric.k if metric.k is not None else max(len(top), 1)
            out[metric.name] = sum(1 for doc in top if doc in relevant) / denominator
        elif metric.kind == "mrr":
            out[metric.name] = next((1.0 / (i + 1) for i, doc in enumerate(top) if doc in relevant), 0.0)
        else:  # map
            hits = 0
            total = 0.0
            for i, doc in enumerate(top):
                if doc in relevant:
                    hits += 1
                    total += hits / (i + 1)
            out[metric.name] = total / n_rel
    return out


def _parse_all(metrics: Sequence[str] | str) -> list[Metric]:
    if isinstance(metrics, str):
        metrics = (metrics,)
    parsed = [parse_metric(m) for m in metrics]
    if not parsed:
        raise ValueError("metrics must name at least one metric, e.g. ('ndcg@10',)")
    return list({m.name: m for m in parsed}.values())


def _check_run(run: object) -> None:
    if not isinstance(run, Mapping):
        raise TypeError(f"run must be a dict {{query_id: {{doc_id: score}}}}, got {type(run).__name__}")
    for qid, docs in run.items():
        if not isinstance(docs, Mapping):
            raise TypeError(f"run[{qid!r}] must be a dict {{doc_id: score}}, got {type(docs).__name__}")
        for doc, score in docs.items():
            if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
                raise ValueError(f"run[{qid!r}][{doc!r}] must be a finite number, got {score!r}")


def evaluate_run_per_query(
    run: Run,
    qrels: Qrels,
    metrics: Sequence[str] | str = DEFAULT_METRICS,
) -> dict[str, dict[str, float]]:
    """Metrics for every query that has judgements.

    A judged query missing from ``run`` scores 0 (``trec_eval -c``); run queries without
    judgements are ignored.

    Args:
        run: ``{query_id: {doc_id: score}}``; higher scores rank first.
        qrels: ``{query_id: {doc_id: grade}}``; grade >= 1 means relevant.
        metrics: Metric names such as ``"ndcg@10"``.

    Returns:
        ``{query_id: {metric_name: value}}``.

    Raises:
        ValueError: An unknown metric or a non-finite score.
        TypeError: ``run`` is not a nested dict.

    Example:
        >>> evaluate_run_per_query({"q": {"a": 1.0}}, {"q": {"a": 1}}, ["mrr@10"])
        {'q': {'mrr@10': 1.0}}
    """
    parsed = _parse_all(metrics)
    _check_run(run)
    depth = None if any(m.k is None for m in parsed) else max(m.k or 0 for m in parsed)
    results: dict[str, dict[str, float]] = {}
    for qid, judged in qrels.items():
        ranking = rank_documents(run.get(qid, {}))
        results[qid] = _query_metrics(ranking if depth is None else ranking[:depth], judged, parsed)
    return results


@overload
def evaluate_run(
    run: Run, qrels: Qrels, metrics: Sequence[str] | str = ..., *, per_query: Literal[False] = ...
) -> dict[str, float]: ...


@overload
def evaluate_run(
    run: Run, qrels: Qrels, metrics: Sequence[str] | str = ..., *, per_query: Literal[True]
) -> dict[str, dict[str, float]]: ...


def evaluate_run(
    run: Run,
    qrels: Qrels,
    metrics: Sequence[str] | str = DEFAULT_METRICS,
    *,
    per_query: bool = False,
) -> dict[str, float] | dict[str, dict[str, float]]:
    """Average metrics over the queries that have judgements.

    Args:
        run: ``{query_id: {doc_id: score}}``; higher scores rank first, ties by doc id
            descending (``trec_eval``).
        qrels: ``{query_id: {doc_id: grade}}``.
        metrics: Metric names (see the module docs).
        per_query: Return ``{query_id: {metric: value}}`` instead of the means.

    Returns:
        ``{metric_name: mean}`` in the order asked for (0.0 for each when there are no qrels).

    Raises:
        ValueError: An unknown metric or a non-finite score.
        TypeError: ``run`` is not a nested dict.

    Example:
        >>> evaluate_run({"q": {"a": 0.2, "b": 0.9}}, {"q": {"a": 1}}, ["mrr@10", "recall@1"])
        {'mrr@10': 0.5, 'recall@1': 0.0}
    """
    table = evaluate_run_per_query(run, qrels, metrics)
    if per_query:
        return table
    names = [m.name for m in _parse_all(metrics)]
    if not table:
        return dict.fromkeys(names, 0.0)
    return {name: math.fsum(row[name] for row in table.values()) / len(table) for name in names}
