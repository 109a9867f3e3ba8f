"""Compare search configurations on a BEIR collection: quality, latency and size.

For each configuration (model, search mode, precision, dimension, reranker) the
runner builds a temporary :class:`ogma.Store`, runs every query and scores the run
with :func:`ogma.evaluate.evaluate_run`. The corpus is indexed once per
(model, precision, dim); the modes and rerankers sharing that index reuse it, and
document embeddings are computed once per model.

Latency is wall-clock time of ``store.search`` per query, after one untimed warm-up
query: it includes query embedding, search and reranking. Index size is the on-disk
size of the store's files after indexing.

Example:
    >>> from ogma.evaluate import CompareConfig, compare_configs, load_beir  # doctest: +SKIP
    >>> data = load_beir("nano-dbpedia")  # doctest: +SKIP
    >>> rows = compare_configs(data, [CompareConfig("all-MiniLM-L6-v2", mode="hybrid")])  # doctest: +SKIP
    >>> round(rows[0].metrics["ndcg@10"], 3)  # doctest: +SKIP
    0.512
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol, get_args

import numpy as np

from ogma.evaluate.beir import BeirDataset
from ogma.evaluate.metrics import DEFAULT_METRICS, evaluate_run, parse_metric
from ogma.types import SEARCH_MODES, Embedder, SearchMode

__all__ = [
    "CompareConfig",
    "CompareRow",
    "EncoderFactory",
    "RerankerFactory",
    "SearchStore",
    "StoreFactory",
    "StorePrecision",
    "compare_configs",
]

logger = logging.getLogger(__name__)

StorePrecision = Literal["float32", "int8", "binary"]
"""Precisions a store can index vectors in."""
STORE_PRECISIONS: tuple[StorePrecision, ...] = get_args(StorePrecision)


class _HitLike(Protocol):
    id: str
    score: float


class SearchStore(Protocol):
    """What the runner needs from a store (``ogma.Store`` satisfies it).

    Example:
        >>> from ogma.store import Store  # doctest: +SKIP
        >>> store: SearchStore = Store("index.db", encoder=my_encoder)  # doctest: +SKIP
    """

    def add(self, texts: list[str], metadatas: Any = None, ids: list[str] | None = None) -> Any:
        """Index texts under the given ids."""
        ...

    def search(self, query: str, *, k: int, mode: SearchMode, rerank: Any = None, rerank_k: int | None = None) -> Any:
        """Return hits (objects with ``.id`` and ``.score``), best first."""
        ...


EncoderFactory = Callable[[str], Embedder]
"""Builds the embedder for a model name."""
StoreFactory = Callable[[Path, Embedder, "CompareConfig"], SearchStore]
"""Opens a new store at a path with an embedder, for a configuration's precision and dim."""
RerankerFactory = Callable[[str], Any]
"""Builds the reranker passed to ``store.search(rerank=...)`` for a model name."""


@dataclass(frozen=True)
class CompareConfig:
    """One configuration to evaluate.

    Attributes:
        model: Embedding model name, hub id or folder.
        mode: ``"dense"``, ``"lexical"`` or ``"hybrid"``.
        precision: Stored vector precision (``"float32"``, ``"int8"``, ``"binary"``).
        dim: Matryoshka dimension to truncate to (``None``: the model's full dimension).
        rerank: Cross-encoder model to rerank with (``None``: no reranking).
        rerank_k: How many first-stage candidates the reranker sees (``None``: the
            store's default).

    Example:
        >>> CompareConfig("all-MiniLM-L6-v2", mode="hybrid", rerank="ms-marco-MiniLM-L-6-v2").label
        'all-MiniLM-L6-v2 | hybrid | float32 | full | ms-marco-MiniLM-L-6-v2'
    """

    model: str
    mode: SearchMode = "dense"
    precision: StorePrecision = "float32"
    dim: int | None = None
    rerank: str | None = None
    rerank_k: int | None = None

    def __post_init__(self) -> None:
        if self.precision not in STORE_PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(STORE_PRECISIONS)}; got {self.precision!r}")
        if self.mode not in SEARCH_MODES:
            raise ValueError(f"mode must be one of {', '.join(SEARCH_MODES)}; got {self.mode!r}")
        if self.dim is not None and (isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1):
            raise ValueError(f"dim must be None (full) or a positive integer, got {self.dim!r}")
        if self.rerank_k is not None and (
            isinstance(self.rerank_k, bool) or not isinstance(self.rerank_k, int) or self.rerank_k < 1
        ):
            raise ValueError(f"rerank_k must be None or a positive integer, got {self.rerank_k!r}")

    @property
    def label(self) -> str:
        """A short human-readable description."""
        dim = "full" if self.dim is None else str(self.dim)
        return " | ".join((self.model, self.mode, self.precision, dim, self.rerank or "-"))

    @property
    def index_key(self) -> tuple[str, str, int | None]:
        """Configurations with the same key share one index."""
        return (self.model, self.precision, self.dim)


@dataclass
class CompareRow:
    """The result of one configuration.

    Attributes:
        config: The configuration.
        metrics: ``{metric_name: mean over judged queries}``.
        latency_mean_ms: Mean ``search`` time per query, milliseconds.
        latency_p50_ms: Median ``search`` time per query.
        latency_p95_ms: 95th percentile ``search`` time per query.
        index_bytes: On-disk size of the store after indexing.
        index_seconds: Time to index the corpus. A model's document embeddings are
            computed once, so later indexes of the same model count storage time only.
        num_queries: Queries run.
        per_query: ``{query_id: {metric: value}}`` when asked for.

    Example:
        >>> row = CompareRow(CompareConfig("m"), {"ndcg@10": 0.5}, 3.0, 2.5, 6.0, 1024, 1.5, 50)
        >>> row.to_dict()["ndcg@10"], row.to_dict()["mode"]
        (0.5, 'dense')
    """

    config: CompareConfig
    metrics: dict[str, float]
    latency_mean_ms: float
    latency_p50_ms: float
    latency_p95_ms: float
    index_bytes: int
    index_seconds: float
    num_queries: int
    per_query: dict[str, dict[str, float]] | None = field(default=None, repr=False)

    def to_dict(self) -> dict[str, Any]:
        """A flat JSON-ready record: the configuration fields, the metrics, then the costs."""
        record: dict[str, Any] = asdict(self.config)
        record.update(self.metrics)
        record.update(
            latency_mean_ms=round(self.latency_mean_ms, 3),
            latency_p50_ms=round(self.latency_p50_ms, 3),
            latency_p95_ms=round(self.latency_p95_ms, 3),
            index_bytes=self.index_bytes,
            index_seconds=round(self.index_seconds, 3),
            num_queries=self.num_queries,
        )
        if self.per_query is not None:
            record["per_query"] = self.per_query
        return record


class _DocumentCache:
    """Wraps an embedder so each distinct document is embedded once per model.

    Queries are never cached, so query latency stays honest. Both embedder styles are
    offered (``encode_documents``/``encode_queries`` and ``embed_documents``/``embed_query``),
    each falling back to the other on the wrapped object; any other attribute (model id,
    dimension, task scheme) is passed through.
    """

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self._cache: dict[str, np.ndarray] = {}

    def encode_documents(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        todo = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if todo:
            embed = getattr(self._inner, "encode_documents", None) or self._inner.embed_documents
            self._cache.update(zip(todo, np.asarray(embed(todo), dtype=np.float32)))
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        return np.stack([self._cache[t] for t in texts])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        encode = getattr(self._inner, "encode_queries", None)
        if encode is not None:
            return np.asarray(encode(list(texts)))
        return np.stack([np.asarray(self._inner.embed_query(t)) for t in texts])

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.encode_documents(texts)

    def embed_query(self, text: str) -> np.ndarray:
        embed = getattr(self._inner, "embed_query", None)
        return np.asarray(embed(text)) if embed is not None else self.encode_queries([text])[0]

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self._inner, name)


def _default_encoder_factory(model: str) -> Embedder:
    from ogma.encoder import TextEncoder

    return TextEncoder(model)


def _default_store_factory(path: Path, encoder: Embedder, config: CompareConfig) -> SearchStore:
    from ogma.store import Store

    store: SearchStore = Store(path, encoder=encoder, dim=config.dim, precision=config.precision)
    return store


def _default_reranker_factory(model: str) -> Any:
    from ogma.rerank import Reranker

    return Reranker(model)


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _progress(items: Sequence[Any], *, show_progress: bool | None, desc: str) -> Iterable[Any]:
    enabled = sys.stderr.isatty() if show_progress is None else show_progress
    if not enabled:
        return items
    from tqdm.auto import tqdm

    return tqdm(items, desc=desc, leave=False)


def _percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else math.nan


def _search_depth(metrics: Sequence[str], k: int | None) -> int:
    if k is not None:
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"k must be None or a positive integer, got {k!r}")
        return k
    cutoffs = [parse_metric(m).k for m in metrics]
    return max([c for c in cutoffs if c is not None] or [100])


def _close(store: object) -> None:
    close = getattr(store, "close", None)
    if callable(close):
        close()


def compare_configs(
    dataset: BeirDataset,
    configs: Sequence[CompareConfig],
    *,
    metrics: Sequence[str] = DEFAULT_METRICS,
    k: int | None = None,
    encoder_factory: EncoderFactory | None = None,
    store_factory: StoreFactory | None = None,
    reranker_factory: RerankerFactory | None = None,
    workdir: str | os.PathLike[str] | None = None,
    batch_size: int = 256,
    per_query: bool = False,
    show_progress: bool | None = None,
) -> list[CompareRow]:
    """Evaluate several search configurations on one dataset.

    Args:
        dataset: A loaded collection (:func:`ogma.evaluate.load_beir`).
        configs: The configurations, in the order the rows should come back.
        metrics: Metric names (see :mod:`ogma.evaluate.metrics`).
        k: Hits retrieved per query (default: the largest metric cutoff, or 100 when none has one).
        encoder_factory: Builds an embedder for a model name (default: ``ogma.TextEncoder``).
        store_factory: Opens a store (default: ``ogma.Store(path, encoder=, dim=, precision=)``).
        reranker_factory: Builds the reranker for a model name (default: ``ogma.Reranker``).
        workdir: Where temporary stores go (default: the system temp folder); removed after.
        batch_size: Documents per ``store.add`` call.
        per_query: Keep per-query metrics in each row.
        show_progress: Progress bars (default: when stderr is a terminal).

    Returns:
        One :class:`CompareRow` per configuration, in input order.

    Raises:
        ValueError: No configurations, an unknown metric or bad ``k``.

    Example:
        >>> configs = [CompareConfig("all-MiniLM-L6-v2", mode=m) for m in ("dense", "hybrid")]  # doctest: +SKIP
        >>> rows = compare_configs(data, configs)  # doctest: +SKIP
        >>> [round(r.metrics["ndcg@10"], 3) for r in rows]  # doctest: +SKIP
        [0.511, 0.512]
    """
    if not configs:
        raise ValueError("configs is empty; pass at least one CompareConfig")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    metric_names = [parse_metric(m).name for m in metrics]
    depth = _search_depth(metric_names, k)
    make_encoder = encoder_factory or _default_encoder_factory
    make_store = store_factory or _default_store_factory
    make_reranker = reranker_factory or _default_reranker_factory

    encoders: dict[str, _DocumentCache] = {}
    rerankers: dict[str, Any] = {}
    groups: dict[tuple[str, str, int | None], list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(config.index_key, []).append(i)
    rows: list[CompareRow | None] = [None] * len(configs)
    doc_ids = dataset.document_ids()
    doc_texts = dataset.document_texts()
    query_items = list(dataset.queries.items())
    base = Path(tempfile.mkdtemp(prefix="ogma-eval-", dir=workdir))
    try:
        for n, (key, members) in enumerate(groups.items()):
            model = key[0]
            if model not in encoders:
                encoders[model] = _DocumentCache(make_encoder(model))
            folder = base / f"index-{n}"
            folder.mkdir()
            store = make_store(folder / "store.db", encoders[model], configs[members[0]])
            try:
                started = time.perf_counter()
                batches = range(0, len(doc_ids), batch_size)
                for start in _progress(
                    batches, show_progress=show_progress, desc=f"Indexing {configs[members[0]].label}"
                ):
                    end = start + batch_size
                    store.add(doc_texts[start:end], ids=doc_ids[start:end])
                index_seconds = time.perf_counter() - started
                index_bytes = _folder_bytes(folder)
                for i in members:
                    config = configs[i]
                    reranker = None
                    if config.rerank is not None:
                        if config.rerank not in rerankers:
                            rerankers[config.rerank] = make_reranker(config.rerank)
                        reranker = rerankers[config.rerank]
                    rows[i] = _run_config(
                        store,
                        config,
                        reranker,
                        query_items,
                        dataset,
                        metric_names=metric_names,
                        depth=depth,
                        index_bytes=index_bytes,
                        index_seconds=index_seconds,
                        per_query=per_query,
                        show_progress=show_progress,
                    )
            finally:
                _close(store)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return [row for row in rows if row is not None]


def _run_config(
    store: SearchStore,
    config: CompareConfig,
    reranker: Any,
    query_items: list[tuple[str, str]],
    dataset: BeirDataset,
    *,
    metric_names: list[str],
    depth: int,
    index_bytes: int,
    index_seconds: float,
    per_query: bool,
    show_progress: bool | None,
) -> CompareRow:
    def search(text: str) -> Any:
        return store.search(text, k=depth, mode=config.mode, rerank=reranker, rerank_k=config.rerank_k)

    if query_items:
        search(query_items[0][1])  # warm-up: lazy loading and first-call allocations are not timed
    run: dict[str, dict[str, float]] = {}
    latencies: list[float] = []
    for qid, text in _progress(query_items, show_progress=show_progress, desc=f"Searching {config.label}"):
        started = time.perf_counter()
        hits = list(search(text))
        latencies.append((time.perf_counter() - started) * 1000.0)
        ranked: dict[str, float] = {}
        for rank, hit in enumerate(hits):
            # Rank-based scores keep the store's own order (ties included) when scored.
            ranked.setdefault(str(hit.id), float(len(hits) - rank))
        run[qid] = ranked
    table = evaluate_run(run, dataset.qrels, metric_names, per_query=True)
    means = evaluate_run(run, dataset.qrels, metric_names)
    logger.info("%s: %s", config.label, ", ".join(f"{m}={v:.4f}" for m, v in means.items()))
    return CompareRow(
        config=config,
        metrics=means,
        latency_mean_ms=statistics.fmean(latencies) if latencies else math.nan,
        latency_p50_ms=_percentile(latencies, 50),
        latency_p95_ms=_percentile(latencies, 95),
        index_bytes=index_bytes,
        index_seconds=index_seconds,
        num_queries=len(query_items),
        per_query=table if per_query else None,
    )
