"""``OgmaEmbeddings``: LangChain embeddings backed by a local Ogma :class:`ogma.TextEncoder`.

Example:
    >>> from langchain_ogma import OgmaEmbeddings
    >>> embeddings = OgmaEmbeddings(model_name="sentence-transformers/all-MiniLM-L6-v2")
    >>> embeddings.dim is None  # full dimension; nothing is loaded yet
    True
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from langchain_core.embeddings import Embeddings
from langchain_core.runnables.config import run_in_executor
from pydantic import BaseModel, ConfigDict, Field

from ogma.model_cache import shared_model
from ogma.registry import DEFAULT_MODEL
from ogma.store.validate import encode_text
from ogma.validation import check_texts

if TYPE_CHECKING:
    from ogma import TextEncoder

__all__ = ["OgmaEmbeddings"]

logger = logging.getLogger(__name__)


def _load_encoder(**options: object) -> TextEncoder:
    from ogma import TextEncoder

    return TextEncoder(**options)  # type: ignore[arg-type]


class OgmaEmbeddings(BaseModel, Embeddings):
    """Embed texts locally with a small ONNX model; no API key, no torch.

    Documents are embedded as documents and queries as queries, the way the model was
    trained (task tokens or prefixes where the model has them). The model loads on the
    first call and is shared by every ``OgmaEmbeddings`` with the same model settings
    (``batch_size`` and ``show_progress`` apply per call and are not part of them).

    Args:
        model_name: Registry name, hub id or local folder. Default: Ogma's default model.
        dim: Matryoshka truncation (re-normalised); ``None`` keeps the full dimension.
        batch_size: Maximum texts per forward pass.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        device: ``"cpu"`` or ``"cuda"``.
        cache_dir: Hugging Face cache folder.
        local_files_only: Never contact the hub (``None``: the ``HF_HUB_OFFLINE`` default).
        show_progress: Show a progress bar while embedding.
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
            text splitter with :attr:`max_tokens` so that no chunk is longer.

    Example:
        >>> embeddings = OgmaEmbeddings(model_name="sentence-transformers/all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> vectors = embeddings.embed_documents(["Paris is in France.", "Cats purr."])  # doctest: +SKIP
        >>> len(embeddings.embed_query("Where is Paris?")) == len(vectors[0])  # doctest: +SKIP
        True
    """

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), validate_assignment=True)

    ogma_model_attribute: ClassVar[str] = "model_name"  # see ogma.store.fingerprint.ogma_model_name
    model_name: str = DEFAULT_MODEL
    dim: int | None = Field(default=None, gt=0)
    batch_size: int = Field(default=32, gt=0)
    threads: int | None = Field(default=None, gt=0)
    device: Literal["cpu", "cuda"] = "cpu"
    cache_dir: str | None = None
    local_files_only: bool | None = None
    show_progress: bool = False
    quantized: bool = False
    trust_remote_code: bool = False
    max_length: int | None = Field(default=None, gt=1)
    base_url: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    registry_model: str | None = None
    long_text: Literal["mean", "truncate", "error"] = "mean"

    @property
    def max_tokens(self) -> int:
        """Tokens of text one model input holds (the model's window less its special tokens).

        Chunks of at most this many tokens (counted with the model's tokenizer) are each read
        whole by one vector; size a text splitter with it.
        """
        return self.encoder.max_tokens

    @property
    def encoder(self) -> TextEncoder:
        """The shared :class:`ogma.TextEncoder` (loaded on first access), or the server's ``RemoteEncoder``."""
        if self.base_url is not None:
            from ogma.remote import shared_remote_encoder

            return shared_remote_encoder(self.base_url, self.api_key)  # type: ignore[return-value]
        options: dict[str, Any] = {
            "model": self.model_name,
            "device": self.device,
            "threads": self.threads,
            "quantized": self.quantized,
            "max_length": self.max_length,
            "cache_dir": self.cache_dir,
            "local_files_only": self.local_files_only,
            "trust_remote_code": self.trust_remote_code,
            "model_id": self.registry_model,
        }
        return shared_model(_load_encoder, **options)

    @property
    def model_id(self) -> str:
        """The canonical model id (recorded by an Ogma store and checked when it is reopened)."""
        return self.encoder.model_id

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        """Embed documents to be searched.

        Args:
            texts: The texts; an empty list gives an empty list.

        Returns:
            One vector per text, in input order.

        Raises:
            TypeError: ``texts`` is not a list of strings (a single string is refused).
            ValueError: A text is not valid Unicode (a lone surrogate).
        """
        if isinstance(texts, (str, bytes)):
            raise TypeError(
                f"texts must be a list of strings, not a single {type(texts).__name__}; "
                "use embed_query(text) for one query, or embed_documents([text])"
            )
        for index, text in enumerate(check_texts(texts)):
            encode_text(text, index)
        vectors = self.encoder.encode_documents(
            texts, dim=self.dim, batch_size=self.batch_size, show_progress=self.show_progress, long_text=self.long_text
        )
        return vectors.tolist()

    def embed_query(self, text: str) -> list[float]:
        """Embed one search query.

        Args:
            text: The query.

        Returns:
            Its vector.

        Raises:
            TypeError: ``text`` is not a string.
            ValueError: ``text`` is not valid Unicode (a lone surrogate).
        """
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(
                f"text is not valid Unicode (it contains a lone surrogate at position {exc.start}); "
                "decode the source with the right encoding, or errors='replace'"
            ) from exc
        vectors = self.encoder.encode_queries([text], dim=self.dim, show_progress=False, long_text=self.long_text)
        return vectors[0].tolist()

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        """Like :meth:`embed_documents`, run in the default executor so the event loop stays free."""
        return await run_in_executor(None, self.embed_documents, texts)

    async def aembed_query(self, text: str) -> list[float]:
        """Like :meth:`embed_query`, run in the default executor so the event loop stays free."""
        return await run_in_executor(None, self.embed_query, text)
