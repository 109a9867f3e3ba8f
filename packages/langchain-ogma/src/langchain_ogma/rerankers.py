"""``OgmaReranker``: a LangChain document compressor backed by an Ogma cross-encoder.

Example:
    >>> from langchain_ogma import OgmaReranker
    >>> OgmaReranker(top_n=2).top_n
    2
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field, model_validator

from langchain_ogma._convert import check_documents
from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.model_cache import shared_model
from ogma.rerank import DEFAULT_RERANKER, rerank_scored, reranker_argument

if TYPE_CHECKING:
    from ogma import Reranker

__all__ = ["OgmaReranker"]

logger = logging.getLogger(__name__)


def _load_reranker(**options: object) -> Reranker:
    from ogma import Reranker

    return Reranker(**options)  # type: ignore[arg-type]


def _final(result: Any) -> float:
    """The score a result is ranked by (a custom reranker's results may have only ``score``)."""
    return float(getattr(result, "final_score", result.score))


class OgmaReranker(BaseDocumentCompressor):
    """Reorder retrieved documents with a local ONNX cross-encoder and keep the best ``top_n``.

    Returns copies of the documents (the inputs are never mutated), best first, with the score
    they are ranked by in ``metadata["relevance_score"]``: the blend of the cross-encoder with
    the first-stage score in ``metadata["score"]`` (what :class:`~langchain_ogma.OgmaRetriever`
    sets), ``alpha * linear_rescale(logit) + (1 - alpha) * score``, when every document has one in
    ``[-1, 1]`` (a cosine, Ogma's hybrid score); else the cross-encoder's normalised score alone
    (:func:`ogma.blend.first_stage_for_blend`, the rule every Ogma reranker follows). The model
    loads on first use and is shared by every ``OgmaReranker`` with the same settings.

    Args:
        model_name: Cross-encoder hub id, short name or local folder.
        top_n: How many documents to keep (``None``: all, reordered).
        device: ``"cpu"`` or ``"cuda"``.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        quantized: Run an int8 model.
        max_length: Token window per (query, document) pair (``None``: the model's).
        batch_size: Pairs per forward pass.
        normalize: How logits become ``relevance_score`` when not blended: ``"sigmoid"``,
            ``"linear"`` or ``"none"`` (raw logits).
        alpha: Weight of the cross-encoder in the blend (default 0.3,
            :data:`ogma.blend.DEFAULT_RERANK_ALPHA`; ``None`` or ``1.0``: the cross-encoder alone).
            Given explicitly, every document must have ``metadata["score"]`` in ``[-1, 1]``
            (else ``ValueError``).
        cache_dir: Hugging Face cache folder.
        local_files_only: Never contact the hub (``None``: the ``HF_HUB_OFFLINE`` default).
        reranker: An already loaded :class:`ogma.Reranker` (or any object with the same
            ``rerank(query, documents, top_k)`` method) to use instead of loading
            ``model_name``, or a model name or folder (the same as ``model_name=``).
            Anything else is refused here, not at the first query.

    Example:
        >>> from langchain_core.documents import Document
        >>> reranker = OgmaReranker(model_name="cross-encoder/ms-marco-MiniLM-L-6-v2", top_n=1)  # doctest: +SKIP
        >>> docs = [Document(page_content="Bananas are yellow."), Document(page_content="Paris is in France.")]
        >>> reranker.compress_documents(docs, "Where is Paris?")  # doctest: +SKIP
        [Document(metadata={'relevance_score': 0.98}, page_content='Paris is in France.')]
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), arbitrary_types_allowed=True)

    model_name: str = DEFAULT_RERANKER
    top_n: int | None = Field(default=3, ge=0)
    device: Literal["cpu", "cuda"] = "cpu"
    threads: int | None = Field(default=None, gt=0)
    quantized: bool = False
    max_length: int | None = Field(default=None, gt=1)
    batch_size: int = Field(default=32, gt=0)
    normalize: Literal["sigmoid", "linear", "none"] = "sigmoid"
    alpha: float | None = Field(default=DEFAULT_RERANK_ALPHA, ge=0.0, le=1.0)
    cache_dir: str | None = None
    local_files_only: bool | None = None
    reranker: Any = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _reranker_or_name(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("reranker") is not None:
            loaded, model = reranker_argument(
                data["reranker"], data.get("model_name", DEFAULT_RERANKER), model_arg="model_name"
            )
            data = {**data, "reranker": loaded, "model_name": model}
        return data

    @property
    def model(self) -> Reranker:
        """The cross-encoder: ``reranker`` when given, else the shared model (loaded on first access)."""
        if self.reranker is not None:
            return self.reranker
        options: dict[str, Any] = {
            "model": self.model_name,
            "device": self.device,
            "threads": self.threads,
            "quantized": self.quantized,
            "max_length": self.max_length,
            "batch_size": self.batch_size,
            "normalize": self.normalize,
            "cache_dir": self.cache_dir,
            "local_files_only": self.local_files_only,
        }
        return shared_model(_load_reranker, **options)

    def compress_documents(
        self,
        documents: Sequence[Document],
        query: str,
        callbacks: Callbacks | None = None,
    ) -> Sequence[Document]:
        """Rerank ``documents`` for ``query`` and keep the best ``top_n``.

        Args:
            documents: The retrieved documents (not modified).
            query: The query they were retrieved for.
            callbacks: Unused; part of LangChain's interface.

        Returns:
            Copies of the best documents, best first, each with ``relevance_score`` in its metadata.

        Raises:
            TypeError: ``query`` is not a string, or ``documents`` is not a list of ``Document``
                (a bare string is refused, not read as one document per character).
        """
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        docs = check_documents(documents)
        if not docs:
            return []
        results = rerank_scored(
            self.model,
            query,
            [doc.page_content for doc in docs],
            [doc.metadata.get("score") for doc in docs],
            alpha=self.alpha,
            explicit="alpha" in self.model_fields_set,
            top_k=self.top_n,
        )
        return [
            docs[r.index].model_copy(
                update={"metadata": {**copy.deepcopy(docs[r.index].metadata), "relevance_score": _final(r)}}
            )
            for r in results
        ]
