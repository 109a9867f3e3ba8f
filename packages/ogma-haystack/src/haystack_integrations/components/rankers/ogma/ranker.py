"""``OgmaRanker``: rerank Haystack Documents with a local ONNX cross-encoder (:class:`ogma.Reranker`)."""

from __future__ import annotations

import asyncio
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from haystack import Document, component, default_from_dict, default_to_dict
from haystack.utils import ComponentDevice

from haystack_integrations.components.embedders.ogma._options import (
    check_documents,
    check_model_device_threads,
    document_texts,
    load_reranker,
    onnx_device,
    optional_count,
)
from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.model_cache import shared_model
from ogma.record_text import RecordTextBuilder
from ogma.rerank import DEFAULT_RERANKER, rerank_scored
from ogma.validation import check_count, check_str

if TYPE_CHECKING:
    from ogma import Reranker

__all__ = ["OgmaRanker"]

logger = logging.getLogger(__name__)


def _check_threshold(value: Any, name: str = "score_threshold") -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError(f"{name} must be a finite number or None, got {value!r}")
    return float(value)


def _check_alpha(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise ValueError(f"alpha must be a number from 0 to 1 or None, got {value!r}")
    return float(value)


def _score(result: Any, scaled: bool) -> float:
    """The blend when the result was blended, else the cross-encoder's score (sigmoid or raw logit)."""
    if result.blended_score is not None:
        return float(result.blended_score)
    return float(result.score if scaled else result.raw_score)


def _check_flag(value: Any, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__}")
    return value


def _best_per_id(documents: list[Document]) -> list[Document]:
    """One Document per id: the one with the highest score (the first among equals), in first-seen order."""
    best: dict[str, Document] = {}
    for doc in documents:
        kept = best.get(doc.id)
        if kept is None or (doc.score is not None and (kept.score is None or doc.score > kept.score)):
            best[doc.id] = doc
    return list(best.values())


@component
class OgmaRanker:
    """Reorder Documents by a local ONNX cross-encoder's relevance to the query and keep the best.

    A cross-encoder reads the query and each Document together, so it ranks far more
    precisely than comparing embeddings, and far more slowly: use it on the few dozen
    Documents a retriever returns. Documents with the same id are ranked once (the one
    with the highest score is kept). The text read for each Document is
    ``document_prefix + separator.join(chosen meta values + [content]) + document_suffix``
    (:func:`ogma.record_text.record_text`). The parameters carry the names of Haystack's own
    similarity ranker, so swapping one in is a one-line change.

    Returns copies of the Documents (the inputs are not changed), best first. When every
    Document has a ``score`` in ``[-1, 1]`` from the retriever (a cosine, Ogma's hybrid score),
    the ranking and the new ``score`` are the blend ``alpha * linear_rescale(logit) + (1 - alpha)
    * score`` (:func:`ogma.blend.first_stage_for_blend`, the rule every Ogma reranker follows);
    otherwise (a Document without a score, or scores on another scale such as raw BM25) the
    ``score`` is the cross-encoder's alone: the sigmoid of its logit in ``[0, 1]`` with
    ``scale_score=True`` (for two-class heads, the probability of the relevant class), the raw
    logit otherwise. A Document with no content and none of the
    ``meta_fields_to_embed`` has nothing to read: it is not scored, comes after every
    scored Document with ``score=None`` (a warning says how many), and is dropped when a
    ``score_threshold`` applies.

    Args:
        model: Cross-encoder hub id, short name or local folder holding ``model.onnx``
            (or ``onnx/model.onnx``) and ``tokenizer.json``.
        device: Haystack device (``ComponentDevice.from_str("cuda:0")``) or a string; ``None``
            runs on the CPU. ONNX Runtime runs on ``cpu`` or ``cuda``.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        top_k: The most Documents to return (at least 1).
        query_prefix: Text put before the query.
        query_suffix: Text put after the query.
        document_prefix: Text put before each Document's text.
        document_suffix: Text put after each Document's text.
        meta_fields_to_embed: Meta keys whose values are read before the content.
        embedding_separator: Joins those values and the content.
        scale_score: Scores are the sigmoid of the logits (``True``) or the raw logits, when
            not blended.
        alpha: Weight of the cross-encoder in the blend with the Documents' own scores
            (default 0.3, :data:`ogma.blend.DEFAULT_RERANK_ALPHA`; ``None`` or ``1.0``: the
            cross-encoder alone).
        score_threshold: Keep only Documents whose score (after ``scale_score``) is at
            least this.
        batch_size: (query, Document) pairs per forward pass.
        quantized: Run an int8 model.
        max_length: Token window per pair (``None``: the model's own).
        cache_dir: Hugging Face cache folder.
        local_files_only: Never contact the hub (``None``: the ``HF_HUB_OFFLINE`` default).

    Raises:
        TypeError: An option has the wrong type (the message names it).
        ValueError: An option is out of range (e.g. ``top_k=0``), or ``device`` is not usable.

    Example:
        >>> ranker = OgmaRanker(top_k=3, score_threshold=0.2)
        >>> ranker.to_dict()["init_parameters"]["top_k"]
        3
        >>> from haystack import Document
        >>> docs = [Document(content="Paris is in France."), Document(content="Bananas are yellow.")]
        >>> ranker.run(query="Where is Paris?", documents=docs)["documents"][0].content  # doctest: +SKIP
        'Paris is in France.'
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_RERANKER,
        *,
        device: ComponentDevice | str | None = None,
        threads: int | None = None,
        top_k: int = 10,
        query_prefix: str = "",
        query_suffix: str = "",
        document_prefix: str = "",
        document_suffix: str = "",
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
        scale_score: bool = True,
        score_threshold: float | None = None,
        alpha: float | None = DEFAULT_RERANK_ALPHA,
        batch_size: int = 32,
        quantized: bool = False,
        max_length: int | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool | None = None,
    ) -> None:
        self.model, self.device, self.threads = check_model_device_threads(model, device, threads)
        self.top_k = check_count(top_k, "top_k")
        self.query_prefix = check_str(query_prefix, "query_prefix")
        self.query_suffix = check_str(query_suffix, "query_suffix")
        self._text = RecordTextBuilder(
            fields=meta_fields_to_embed, separator=embedding_separator, prefix=document_prefix, suffix=document_suffix
        )
        self.document_prefix = document_prefix
        self.document_suffix = document_suffix
        self.meta_fields_to_embed = list(self._text.fields)
        self.embedding_separator = embedding_separator
        self.scale_score = _check_flag(scale_score, "scale_score")
        self.score_threshold = _check_threshold(score_threshold)
        self.alpha = _check_alpha(alpha)
        self.batch_size = check_count(batch_size, "batch_size")
        self.quantized = _check_flag(quantized, "quantized")
        self.max_length = optional_count(max_length, "max_length")
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.local_files_only = local_files_only
        self._reranker: Reranker | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component (its init parameters) for pipeline YAML."""
        return default_to_dict(
            self,
            model=self.model,
            device=self.device,
            threads=self.threads,
            top_k=self.top_k,
            query_prefix=self.query_prefix,
            query_suffix=self.query_suffix,
            document_prefix=self.document_prefix,
            document_suffix=self.document_suffix,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
            scale_score=self.scale_score,
            score_threshold=self.score_threshold,
            alpha=self.alpha,
            batch_size=self.batch_size,
            quantized=self.quantized,
            max_length=self.max_length,
            cache_dir=self.cache_dir,
            local_files_only=self.local_files_only,
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OgmaRanker:
        """Build the component from :meth:`to_dict` output."""
        return default_from_dict(cls, data)

    def warm_up(self) -> None:
        """Load the cross-encoder (once: every Ogma ranker with the same model settings shares it).

        Raises:
            ogma.errors.ModelNotFoundError: The model cannot be found (offline and not cached, or a bad path).
            ogma.errors.ModelFileError: The folder holds no usable cross-encoder.
        """
        if self._reranker is None:
            self._reranker = shared_model(
                load_reranker,
                model=self.model,
                device=onnx_device(self.device),
                threads=self.threads,
                quantized=self.quantized,
                max_length=self.max_length,
                batch_size=self.batch_size,
                normalize="sigmoid",
                cache_dir=self.cache_dir,
                local_files_only=self.local_files_only,
            )

    @property
    def cross_encoder(self) -> Reranker:
        """The shared :class:`ogma.Reranker` (loaded by :meth:`warm_up` on first access)."""
        if self._reranker is None:
            self.warm_up()
        assert self._reranker is not None  # set by warm_up
        return self._reranker

    @component.output_types(documents=list[Document])
    def run(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        scale_score: bool | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, Any]:
        """Rank ``documents`` by relevance to ``query``, best first.

        Args:
            query: The query.
            documents: The Documents to rank (not modified).
            top_k: Overrides the ``top_k`` given at construction for this call.
            scale_score: Overrides ``scale_score`` for this call.
            score_threshold: Overrides ``score_threshold`` for this call.

        Returns:
            ``{"documents": list[Document]}``: at most ``top_k`` copies, best first, ``score`` set.

        Raises:
            TypeError: ``query`` is not a string or ``documents`` not a list of Documents.
            ValueError: ``top_k`` is below 1, or a text is not valid Unicode.
        """
        query = check_str(query, "query")
        docs = _best_per_id(check_documents(documents, "OgmaRanker", hint="Pass the retriever's documents."))
        k = self.top_k if top_k is None else check_count(top_k, "top_k")
        scaled = self.scale_score if scale_score is None else _check_flag(scale_score, "scale_score")
        threshold = self.score_threshold if score_threshold is None else _check_threshold(score_threshold)
        if not docs:
            return {"documents": []}
        texts = document_texts(docs, self._text)
        readable = [i for i, text in enumerate(texts) if text is not None]
        results = (
            rerank_scored(
                self.cross_encoder,
                self.query_prefix + query + self.query_suffix,
                [text for text in texts if text is not None],
                [docs[i].score for i in readable],
                alpha=self.alpha,
                show_progress=False,
            )
            if readable
            else []
        )
        ranked = [replace(docs[readable[r.index]], score=_score(r, scaled)) for r in results]
        if threshold is not None:
            ranked = [doc for doc in ranked if doc.score is not None and doc.score >= threshold]
        unread = [docs[i] for i, text in enumerate(texts) if text is None]
        if unread:
            logger.warning(
                "%d of %d documents have no content and none of the meta fields %s; they are not scored%s "
                "(first ids: %s)",
                len(unread),
                len(docs),
                self.meta_fields_to_embed,
                " and are dropped by the score threshold" if threshold is not None else " and come last",
                [doc.id for doc in unread[:3]],
            )
            if threshold is None:
                ranked.extend(replace(doc, score=None) for doc in unread)
        return {"documents": ranked[:k]}

    @component.output_types(documents=list[Document])
    async def run_async(
        self,
        query: str,
        documents: list[Document],
        top_k: int | None = None,
        scale_score: bool | None = None,
        score_threshold: float | None = None,
    ) -> dict[str, Any]:
        """Like :meth:`run`, in a worker thread so the event loop stays free."""
        return await asyncio.to_thread(
            self.run,
            query=query,
            documents=documents,
            top_k=top_k,
            scale_score=scale_score,
            score_threshold=score_threshold,
        )
