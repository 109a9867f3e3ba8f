"""``OgmaRerank``: a LlamaIndex node postprocessor backed by :class:`ogma.Reranker`.

Example:
    >>> from llama_index.postprocessor.ogma_rerank import OgmaRerank
    >>> OgmaRerank(top_n=3, alpha=0.6, normalize="linear").alpha
    0.6
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Literal

from llama_index.core.bridge.pydantic import ConfigDict, Field, model_validator
from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle

from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.model_cache import shared_model
from ogma.rerank import DEFAULT_LINEAR_RANGE, DEFAULT_RERANKER, rerank_scored, reranker_argument

if TYPE_CHECKING:
    from ogma import Reranker

__all__ = ["RETRIEVAL_SCORE_KEY", "OgmaRerank"]

logger = logging.getLogger(__name__)

RETRIEVAL_SCORE_KEY = "retrieval_score"
"""Metadata key of the first-stage score (LlamaIndex's own rerankers use the same key)."""


def _load_reranker(**options: Any) -> Reranker:
    from ogma import Reranker

    return Reranker(**options)


class OgmaRerank(BaseNodePostprocessor):
    """Rerank retrieved nodes with a local ONNX cross-encoder and keep the best ``top_n``.

    Returns copies of the nodes (the inputs are never changed), best first, whose
    ``score`` is the blend of the cross-encoder with the node's first-stage score
    (``alpha * linear_rescale(logit) + (1 - alpha) * first_stage``, :func:`ogma.blend.blend_scores`)
    when every node has a score in ``[-1, 1]`` (a cosine, Ogma's hybrid score), else the
    cross-encoder's normalised score alone (a node without a score, or scores on another scale
    such as raw BM25): :func:`ogma.blend.first_stage_for_blend`, the rule every Ogma reranker
    follows. The first-stage score stays on each node as
    ``metadata["retrieval_score"]`` (hidden from the LLM and the embedding). The model loads
    on first use and is shared through :mod:`ogma.model_cache`.

    Args:
        model: Cross-encoder hub id, short name or local folder.
        top_n: How many nodes to keep (``None``: all, reordered).
        alpha: Weight of the cross-encoder when blending with the first-stage scores
            (default 0.3, :data:`ogma.blend.DEFAULT_RERANK_ALPHA`; ``None`` or ``1.0``: the
            cross-encoder alone). Given explicitly, every node must have a score in ``[-1, 1]``
            (else ``ValueError``); by default, nodes without such scores are ranked by the
            cross-encoder alone.
        normalize: How logits become scores: ``"sigmoid"``, ``"linear"`` (rescale of
            ``linear_range``, clipped) or ``"none"`` (raw logits).
        linear_range: ``(low, high)`` logits mapped to 0 and 1 by ``normalize="linear"``.
        metadata_mode: Which metadata the cross-encoder reads with the text
            (LlamaIndex's ``MetadataMode``; default ``EMBED``, as the embeddings did).
        device: ``"cpu"`` or ``"cuda"``.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        quantized: Run an int8 model.
        max_length: Token window per (query, node) pair (``None``: the model's).
        batch_size: Pairs per forward pass.
        cache_folder: Hugging Face cache folder.
        local_files_only: Never contact the hub (``None``: the ``HF_HUB_OFFLINE`` default).
        reranker: An already loaded :class:`ogma.Reranker` to use instead of loading ``model``,
            or a model name or folder (the same as ``model=``). Anything else is refused here,
            not at the first query.

    Example:
        >>> rerank = OgmaRerank(model="cross-encoder/ms-marco-MiniLM-L-6-v2", top_n=3)  # doctest: +SKIP
        >>> engine = index.as_query_engine(similarity_top_k=20, node_postprocessors=[rerank])  # doctest: +SKIP
        >>> [(n.score, n.metadata["retrieval_score"]) for n in engine.query("...").source_nodes]  # doctest: +SKIP
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), arbitrary_types_allowed=True)

    model: str = DEFAULT_RERANKER
    top_n: int | None = Field(default=3, ge=0)
    alpha: float | None = Field(default=DEFAULT_RERANK_ALPHA, ge=0.0, le=1.0)
    normalize: Literal["sigmoid", "linear", "none"] = "sigmoid"
    linear_range: tuple[float, float] = DEFAULT_LINEAR_RANGE
    metadata_mode: MetadataMode = MetadataMode.EMBED
    device: Literal["cpu", "cuda"] = "cpu"
    threads: int | None = Field(default=None, gt=0)
    quantized: bool = False
    max_length: int | None = Field(default=None, gt=1)
    batch_size: int = Field(default=32, gt=0)
    cache_folder: str | None = None
    local_files_only: bool | None = None
    reranker: Any = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _reranker_or_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("reranker") is not None:
            loaded, model = reranker_argument(data["reranker"], data.get("model", DEFAULT_RERANKER))
            data = {**data, "reranker": loaded, "model": model}
        return data

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "OgmaRerank"

    @property
    def cross_encoder(self) -> Reranker:
        """The cross-encoder: ``reranker`` when given, else the shared model (loaded on first access)."""
        if self.reranker is not None:
            return self.reranker
        return shared_model(
            _load_reranker,
            model=self.model,
            device=self.device,
            threads=self.threads,
            quantized=self.quantized,
            max_length=self.max_length,
            batch_size=self.batch_size,
            normalize=self.normalize,
            linear_range=tuple(self.linear_range),
            cache_dir=self.cache_folder,
            local_files_only=self.local_files_only,
        )

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        if query_bundle is None:
            raise ValueError("OgmaRerank needs the query: pass query_bundle= or query_str=")
        if not isinstance(query_bundle.query_str, str):
            raise TypeError(f"the query must be a str, got {type(query_bundle.query_str).__name__}")
        if isinstance(nodes, str | bytes) or not isinstance(nodes, Iterable):
            raise TypeError(f"nodes must be a list of NodeWithScore, got {type(nodes).__name__}")
        nodes = list(nodes)
        for index, item in enumerate(nodes):
            if not isinstance(item, NodeWithScore):
                raise TypeError(f"nodes[{index}] must be a NodeWithScore, got {type(item).__name__}")
        if not nodes:
            return []
        results = rerank_scored(
            self.cross_encoder,
            query_bundle.query_str,
            [n.node.get_content(metadata_mode=self.metadata_mode) for n in nodes],
            [n.score for n in nodes],
            alpha=self.alpha,
            explicit="alpha" in self.model_fields_set,
            top_k=self.top_n,
        )
        return [self._scored(nodes[r.index], r.final_score) for r in results]

    @staticmethod
    def _scored(original: NodeWithScore, score: float) -> NodeWithScore:
        node = original.node.model_copy(deep=True)
        node.metadata[RETRIEVAL_SCORE_KEY] = original.score
        for excluded in (node.excluded_llm_metadata_keys, node.excluded_embed_metadata_keys):
            if RETRIEVAL_SCORE_KEY not in excluded:
                excluded.append(RETRIEVAL_SCORE_KEY)
        return NodeWithScore(node=node, score=float(score))
