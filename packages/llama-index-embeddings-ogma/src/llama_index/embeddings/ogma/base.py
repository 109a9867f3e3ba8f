"""``OgmaEmbedding``: a LlamaIndex embedding model backed by a local :class:`ogma.TextEncoder`.

Example:
    >>> from llama_index.embeddings.ogma import OgmaEmbedding
    >>> embed_model = OgmaEmbedding(model_name="sentence-transformers/all-MiniLM-L6-v2", dim=128)
    >>> embed_model.dim  # nothing is loaded until the first embedding
    128
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.bridge.pydantic import ConfigDict, Field

from ogma.model_cache import shared_model
from ogma.registry import DEFAULT_MODEL
from ogma.validation import check_texts

if TYPE_CHECKING:
    from ogma import TextEncoder

__all__ = ["DEFAULT_EMBED_BATCH_SIZE", "OgmaEmbedding"]

logger = logging.getLogger(__name__)

DEFAULT_EMBED_BATCH_SIZE = 256
"""Texts handed to the model per call. The model sorts each call's texts by length and plans
its own forward passes, so larger calls waste less padding than LlamaIndex's usual 10."""


def _load_encoder(**options: Any) -> TextEncoder:
    from ogma import TextEncoder

    return TextEncoder(**options)


class OgmaEmbedding(BaseEmbedding):
    """Embed texts locally with a small ONNX model; no API key, no torch.

    Query methods (``get_query_embedding`` and friends) encode with the model's query
    task, text methods with its document task: task tokens or prefixes, the way the model
    was trained. The model loads on the first call and is shared, through
    :mod:`ogma.model_cache`, by every Ogma adapter object with the same model settings.

    Args:
        model_name: Registry name, hub id or local folder (default: Ogma's default model,
            :data:`ogma.registry.DEFAULT_MODEL`).
        dim: Matryoshka truncation (re-normalised); ``None`` keeps the full dimension.
        embed_batch_size: Texts per call to the model (LlamaIndex's batching); the model
            plans its own length-sorted forward passes within each call.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        device: ``"cpu"`` or ``"cuda"``.
        cache_folder: Hugging Face cache folder.
        local_files_only: Never contact the hub (``None``: the ``HF_HUB_OFFLINE`` default).
        show_progress: The model's own progress bar (LlamaIndex's ``show_progress``
            arguments control LlamaIndex's bars).
        quantized: Run an int8 model.
        trust_remote_code: Allow running a model repository's own code (Ogma checkpoints).
        max_length: Token window (``None``: the model's own).
        base_url: An ``ogma serve`` server to embed with instead of a local model
            (``http://host:port``); the model options above then do not apply.
        api_key: The server's key (default: ``$OGMA_API_KEY``).
        registry_model: The registry model a local folder holds (e.g. ``"intfloat/e5-small-v2"``), so it gets
            that model's prefixes or instruction, pooling and window (``ogma.TextEncoder(model_id=...)``).
        long_text: A text longer than the window: ``"mean"`` (default) reads it whole in
            overlapping windows and returns their mean vector; ``"truncate"`` keeps its first
            window and logs a warning that counts the texts cut; ``"error"`` raises. Size the
            node parser with :attr:`max_tokens` so that no chunk is longer.

    Example:
        >>> from llama_index.core import Settings
        >>> Settings.embed_model = OgmaEmbedding(model_name="all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> embed_model = OgmaEmbedding(model_name="all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> query = embed_model.get_query_embedding("Where is Paris?")  # doctest: +SKIP
        >>> docs = embed_model.get_text_embedding_batch(["Paris is in France.", "Cats purr."])  # doctest: +SKIP
        >>> len(query) == len(docs[0]) == 384  # doctest: +SKIP
        True
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), validate_assignment=True)

    ogma_model_attribute: ClassVar[str] = "model_name"  # see ogma.store.fingerprint.ogma_model_name
    model_name: str = Field(default=DEFAULT_MODEL, description="Registry name, hub id or local folder.")
    embed_batch_size: int = Field(default=DEFAULT_EMBED_BATCH_SIZE, gt=0, le=2048)
    dim: int | None = Field(default=None, gt=0, description="Matryoshka truncation; None keeps the full dimension.")
    threads: int | None = Field(default=None, gt=0)
    device: Literal["cpu", "cuda"] = "cpu"
    cache_folder: str | None = None
    local_files_only: bool | None = None
    show_progress: bool = False
    quantized: bool = False
    trust_remote_code: bool = False
    max_length: int | None = Field(default=None, gt=1)
    base_url: str | None = Field(default=None, description="An ogma serve server to embed with.")
    api_key: str | None = Field(default=None, repr=False, exclude=True)
    registry_model: str | None = None
    long_text: Literal["mean", "truncate", "error"] = Field(
        default="mean", description="What a text longer than the model's window gives: see the class docs."
    )

    @classmethod
    def class_name(cls) -> str:
        """The name LlamaIndex serialises this class under."""
        return "OgmaEmbedding"

    @property
    def encoder(self) -> TextEncoder:
        """The shared :class:`ogma.TextEncoder` (loaded on first access), or the server's ``RemoteEncoder``."""
        if self.base_url is not None:
            from ogma.remote import shared_remote_encoder

            return shared_remote_encoder(self.base_url, self.api_key)  # type: ignore[return-value]
        return shared_model(
            _load_encoder,
            model=self.model_name,
            device=self.device,
            threads=self.threads,
            quantized=self.quantized,
            max_length=self.max_length,
            cache_dir=self.cache_folder,
            local_files_only=self.local_files_only,
            trust_remote_code=self.trust_remote_code,
            model_id=self.registry_model,
        )

    @property
    def model_id(self) -> str:
        """The canonical model id."""
        return self.encoder.model_id

    @property
    def max_tokens(self) -> int:
        """Tokens of text one model input holds (the model's window less its special tokens).

        Chunks of at most this many tokens (counted with the model's tokenizer) are each read
        whole by one vector; size a node parser with it (``SentenceSplitter(chunk_size=...)``).
        """
        return self.encoder.max_tokens

    def _documents(self, texts: list[str]) -> list[Embedding]:
        vectors = self.encoder.encode_documents(
            texts, dim=self.dim, show_progress=self.show_progress, long_text=self.long_text
        )
        return vectors.tolist()

    def _queries(self, texts: list[str]) -> list[Embedding]:
        return self.encoder.encode_queries(texts, dim=self.dim, show_progress=False, long_text=self.long_text).tolist()

    # -- LlamaIndex's hooks: queries ------------------------------------------------
    def _get_query_embedding(self, query: str) -> Embedding:
        if not isinstance(query, str):
            raise TypeError(f"query must be a str, got {type(query).__name__}")
        return self._queries([query])[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return await asyncio.to_thread(self._get_query_embedding, query)

    # -- LlamaIndex's hooks: documents (texts) -------------------------------------
    def _get_text_embedding(self, text: str) -> Embedding:
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self._documents([text])[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._documents(check_texts(texts))

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return await asyncio.to_thread(self._get_text_embedding, text)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await asyncio.to_thread(self._get_text_embeddings, texts)
