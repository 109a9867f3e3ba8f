"""Compare search configurations on a BEIR collection: quality, latency and size.

For each configuration (model, search mode, precision, dimension, reranker) the
runner builds a temporary :class:`ogma.Store`, runs every query and scores the run
with :func:`ogma.evaluate.evaluate_run`. The corpus is indexed once per
(model, precision, dim); the modes and rerankers sharing that index reuse it, and
document embeddings are computed once per model.

The run fails fast: every embedding model and reranker is loaded before the first
document is embedded, so a model that cannot be found stops the run in seconds. With an
:class:`~ogma.evaluate.cache.EmbeddingCache`, a model's corpus embeddings are stored on
disk and a later run on the same corpus and model reuses them.

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

from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.errors import OgmaError
from ogma.evaluate.beir import BeirDataset
from ogma.evaluate.cache import EmbeddingCache, corpus_fingerprint
from ogma.evaluate.metrics import DEFAULT_METRICS, evaluate_run, parse_metric
from ogma.types import SEARCH_MODES, Embedder, SearchMode

__all__ = [
    "CompareConfig",
    "CompareRow",
    "CrossEncoderFactory",
    "EncoderFactory",
    "RerankerFactory",
    "SearchStore",
    "StoreFactory",
    "StorePrecision",
    "TextEncoderFactory",
    "compare_configs",
]

logger = logging.getLogger(__name__)

StorePrecision = Literal["float32", "int8", "binary"]
"""Precisions a store can index vectors in."""
STORE_PRECISIONS: tuple[StorePrecision, ...] = get_args(StorePrecision)
_EMBED_CHUNK = 1024
"""Documents per embedding call while embedding a corpus (the encoder length-sorts within a call)."""


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
        rerank_alpha: Weight of the reranker in its blend with the first-stage score
            (``Store.search(rerank_alpha=...)``; ``1.0`` or ``None``: the reranker alone).

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
    rerank_alpha: float | None = DEFAULT_RERANK_ALPHA

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
        if self.rerank_alpha is not None and (
            isinstance(self.rerank_alpha, bool)
            or not isinstance(self.rerank_alpha, int | float)
            or not 0 <= self.rerank_alpha <= 1
        ):
            raise ValueError(f"rerank_alpha must be None or a number from 0 to 1, got {self.rerank_alpha!r}")

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
        index_seconds: Time to store the corpus in the index (its embeddings are
            computed, or loaded from the cache, beforehand: see ``embed_seconds``).
        num_queries: Queries run.
        per_query: ``{query_id: {metric: value}}`` when asked for.
        embed_seconds: Time to embed the corpus with this model (shared by the rows of
            the model), or ``None`` when the embeddings came from the cache.

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
    embed_seconds: float | None = None

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
            embed_seconds=None if self.embed_seconds is None else round(self.embed_seconds, 3),
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

    def prefill(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Remember precomputed document vectors (row ``i`` is ``texts[i]``)."""
        self._cache.update(zip(texts, np.asarray(vectors, dtype=np.float32)))

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


@dataclass(frozen=True)
class TextEncoderFactory:
    """Loads :class:`ogma.TextEncoder` models for :func:`compare_configs`, and fingerprints them.

    Attributes:
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        device: ``"cpu"`` or ``"cuda"``.
        trust_remote_code: Allow exporting Ogma checkpoints (runs the repository's code once).

    Example:
        >>> factory = TextEncoderFactory(threads=2)
        >>> encoder = factory("all-MiniLM-L6-v2")  # doctest: +SKIP
    """

    threads: int | None = None
    device: Literal["cpu", "cuda"] = "cpu"
    trust_remote_code: bool = False

    def __call__(self, model: str) -> Embedder:
        """Load ``model`` (its own progress bar off: the runner shows one per corpus)."""
        from ogma.encoder import TextEncoder

        return TextEncoder(
            model,
            threads=self.threads,
            device=self.device,
            trust_remote_code=self.trust_remote_code,
            show_progress=False,
        )

    def fingerprint(self, model: str, encoder: Embedder) -> str | None:
        """A content fingerprint of the loaded model (see :mod:`ogma.evaluate.cache`)."""
        from ogma.evaluate.cache import text_encoder_fingerprint

        return text_encoder_fingerprint(encoder, model, trust_remote_code=self.trust_remote_code)


@dataclass(frozen=True)
class CrossEncoderFactory:
    """Loads :class:`ogma.Reranker` models for :func:`compare_configs`.

    Example:
        >>> reranker = CrossEncoderFactory(threads=2)("ms-marco-MiniLM-L-6-v2")  # doctest: +SKIP
    """

    threads: int | None = None
    device: Literal["cpu", "cuda"] = "cpu"

    def __call__(self, model: str) -> Any:
        """Load the cross-encoder ``model``."""
        from ogma.rerank import Reranker

        return Reranker(model, threads=self.threads, device=self.device)


_default_encoder_factory: EncoderFactory = TextEncoderFactory()


def _default_store_factory(path: Path, encoder: Embedder, config: CompareConfig) -> SearchStore:
    from ogma.store import Store

    store: SearchStore = Store(path, encoder=encoder, dim=config.dim, precision=config.precision)
    return store


_default_reranker_factory: RerankerFactory = CrossEncoderFactory()


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


def _fingerprint(factory: Any, model: str, embedder: Any) -> str | None:
    """The embedder's own ``fingerprint`` attribute, else the factory's ``fingerprint(model, embedder)``."""
    own = getattr(embedder, "fingerprint", None)
    if isinstance(own, str) and own:
        return own
    method = getattr(factory, "fingerprint", None)
    if not callable(method):
        return None
    try:
        value = method(model, embedder)
    except (OgmaError, OSError) as exc:
        logger.warning("Cannot fingerprint %s (%s); its corpus embeddings are not cached", model, exc)
        return None
    return value if isinstance(value, str) and value else None


def _embed_corpus(
    embedder: Any, texts: Sequence[str], *, chunk: int, show_progress: bool | None, desc: str
) -> np.ndarray:
    """Document embeddings of ``texts`` in order (each distinct text embedded once), float32."""
    unique = list(dict.fromkeys(texts))
    embed = getattr(embedder, "encode_documents", None) or embedder.embed_documents
    parts: list[np.ndarray] = []
    enabled = sys.stderr.isatty() if show_progress is None else show_progress
    from tqdm.auto import tqdm

    with tqdm(total=len(unique), desc=desc, unit="doc", leave=False, disable=not enabled) as bar:
        for start in range(0, len(unique), chunk):
            part = np.asarray(embed(unique[start : start + chunk]), dtype=np.float32)
            if part.ndim != 2 or part.shape[0] != len(unique[start : start + chunk]):
                raise ValueError(f"the embedder returned shape {part.shape} for {chunk} documents")
            parts.append(part)
            bar.update(part.shape[0])
    matrix = np.concatenate(parts)
    row = {text: i for i, text in enumerate(unique)}
    return matrix[[row[text] for text in texts]]


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
    cache: EmbeddingCache | None = None,
) -> list[CompareRow]:
    """Evaluate several search configurations on one dataset.

    Every model and reranker is loaded first, so one that cannot be found fails the run
    before any document is embedded. Then each model embeds the corpus once (or loads
    the embeddings from ``cache``), each (model, precision, dim) gets one index, and
    each configuration runs every query against its index.

    Args:
        dataset: A loaded collection (:func:`ogma.evaluate.load_beir`).
        configs: The configurations, in the order the rows should come back.
        metrics: Metric names (see :mod:`ogma.evaluate.metrics`).
        k: Hits retrieved per query (default: the largest metric cutoff, or 100 when none has one).
        encoder_factory: Builds an embedder for a model name (default: :class:`TextEncoderFactory`).
            A factory with a ``fingerprint(model, embedder)`` method, or an embedder with a
            ``fingerprint`` string, makes the model's corpus embeddings cacheable.
        store_factory: Opens a store (default: ``ogma.Store(path, encoder=, dim=, precision=)``).
        reranker_factory: Builds the reranker for a model name (default: :class:`CrossEncoderFactory`).
        workdir: Where temporary stores go (default: the system temp folder); removed after.
        batch_size: Documents per ``store.add`` call.
        per_query: Keep per-query metrics in each row.
        show_progress: Progress bars (default: when stderr is a terminal).
        cache: Where to keep and find corpus embeddings (``None``: embed every time).

    Returns:
        One :class:`CompareRow` per configuration, in input order.

    Raises:
        ValueError: No configurations, an unknown metric or bad ``k``.
        ModelNotFoundError: A model or reranker cannot be found (before any embedding).

    Example:
        >>> configs = [CompareConfig("all-MiniLM-L6-v2", mode=m) for m in ("dense", "hybrid")]  # doctest: +SKIP
        >>> rows = compare_configs(data, configs, cache=EmbeddingCache())  # doctest: +SKIP
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

    # Fail fast: load every model and reranker before embedding anything.
    encoders: dict[str, _DocumentCache] = {}
    for model in dict.fromkeys(c.model for c in configs):
        logger.info("Loading embedding model %s", model)
        encoders[model] = _DocumentCache(make_encoder(model))
    rerankers: dict[str, Any] = {}
    for name in dict.fromkeys(c.rerank for c in configs if c.rerank is not None):
        logger.info("Loading reranker %s", name)
        rerankers[name] = make_reranker(name)

    doc_ids = dataset.document_ids()
    doc_texts = dataset.document_texts()
    query_items = list(dataset.queries.items())
    embed_seconds = _embed_models(
        encoders, make_encoder, doc_ids, doc_texts, cache=cache, show_progress=show_progress, name=dataset.name
    )

    groups: dict[tuple[str, str, int | None], list[int]] = {}
    for i, config in enumerate(configs):
        groups.setdefault(config.index_key, []).append(i)
    rows: list[CompareRow | None] = [None] * len(configs)
    base = Path(tempfile.mkdtemp(prefix="ogma-eval-", dir=workdir))
    try:
        for n, (key, members) in enumerate(groups.items()):
            model = key[0]
            folder = base / f"index-{n}"
            folder.mkdir()
            store = make_store(folder / "store.db", encoders[model], configs[members[0]])
            try:
                started = time.perf_counter()
                batches = range(0, len(doc_ids), batch_size)
                label = configs[members[0]]
                desc = f"indexing {label.model} {label.precision} dim={label.dim or 'full'}"
                for start in _progress(batches, show_progress=show_progress, desc=desc):
                    end = start + batch_size
                    store.add(doc_texts[start:end], ids=doc_ids[start:end])
                index_seconds = time.perf_counter() - started
                index_bytes = _folder_bytes(folder)
                for i in members:
                    config = configs[i]
                    row = _run_config(
                        store,
                        config,
                        rerankers[config.rerank] if config.rerank is not None else None,
                        query_items,
                        dataset,
                        metric_names=metric_names,
                        depth=depth,
                        index_bytes=index_bytes,
                        index_seconds=index_seconds,
                        per_query=per_query,
                        show_progress=show_progress,
                    )
                    row.embed_seconds = embed_seconds[model]
                    rows[i] = row
            finally:
                _close(store)
    finally:
        shutil.rmtree(base, ignore_errors=True)
    return [row for row in rows if row is not None]


def _embed_models(
    encoders: dict[str, _DocumentCache],
    factory: Any,
    doc_ids: list[str],
    doc_texts: list[str],
    *,
    cache: EmbeddingCache | None,
    show_progress: bool | None,
    name: str,
) -> dict[str, float | None]:
    """Embed the corpus once per model (or load it from ``cache``); returns seconds per model (None: cached)."""
    seconds: dict[str, float | None] = {}
    corpus = corpus_fingerprint(doc_ids, doc_texts) if cache is not None and doc_ids else None
    for model, encoder in encoders.items():
        key = None
        if corpus is not None and cache is not None:
            fingerprint = _fingerprint(factory, model, encoder._inner)
            key = cache.key(corpus, fingerprint) if fingerprint else None
            vectors = cache.load(key, rows=len(doc_ids)) if key else None
            if vectors is not None:
                encoder.prefill(doc_texts, vectors)
                seconds[model] = None
                logger.info("%s: corpus embeddings of %s loaded from %s", name, model, cache.path(key or ""))
                continue
        if not doc_ids:
            seconds[model] = 0.0
            continue
        started = time.perf_counter()
        desc = f"embedding corpus ({model})"
        vectors = _embed_corpus(encoder._inner, doc_texts, chunk=_EMBED_CHUNK, show_progress=show_progress, desc=desc)
        seconds[model] = time.perf_counter() - started
        encoder.prefill(doc_texts, vectors)
        if key is not None and cache is not None:
            cache.save(key, vectors, info={"model": model, "dataset": name, "documents": len(doc_ids)})
    return seconds


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
        # rerank_alpha is passed only when it is not the default, so a store without the option still works
        blend = {} if config.rerank_alpha == DEFAULT_RERANK_ALPHA else {"rerank_alpha": config.rerank_alpha}
        return store.search(text, k=depth, mode=config.mode, rerank=reranker, rerank_k=config.rerank_k, **blend)

    if query_items:
        search(query_items[0][1])  # warm-up: lazy loading and first-call allocations are not timed
    run: dict[str, dict[str, float]] = {}
    latencies: list[float] = []
    stage = f"queries + reranking ({config.rerank})" if reranker is not None else "queries"
    desc = f"{stage}: {config.mode} {config.model} {config.precision} dim={config.dim or 'full'}"
    for qid, text in _progress(query_items, show_progress=show_progress, desc=desc):
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
