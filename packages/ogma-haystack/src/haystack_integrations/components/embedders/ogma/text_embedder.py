"""``OgmaTextEmbedder``: embed a query string locally with an Ogma :class:`ogma.TextEncoder`."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from haystack import component, default_to_dict
from haystack.utils import ComponentDevice, Secret

from haystack_integrations.components.embedders.ogma._options import EncoderOptions
from ogma.registry import DEFAULT_MODEL
from ogma.validation import check_str
from ogma.windows import DEFAULT_LONG_TEXT, LongText

__all__ = ["OgmaTextEmbedder"]

logger = logging.getLogger(__name__)


@component
class OgmaTextEmbedder(EncoderOptions):
    """Embed a query with a small local ONNX model; no API key, no torch, no server.

    The text is embedded as a *query*, the way the model was trained (Ogma models get their
    ``[QRY]`` task token, E5/BGE-style models their query prefix): pair it with
    :class:`OgmaDocumentEmbedder` and the same model. The parameters carry the names of
    Haystack's own embedders, so swapping one in is a one-line change.

    Args:
        model: Registry name, hub id or local folder (default:
            :data:`ogma.registry.DEFAULT_MODEL`, ``sentence-transformers/all-MiniLM-L6-v2``).
        device: Haystack device (``ComponentDevice.from_str("cuda:0")``) or a string; ``None``
            runs on the CPU. ONNX Runtime runs on ``cpu`` or ``cuda``.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        prefix: Text put before the query (on top of the model's own query marker, which
            Ogma adds itself; leave it empty unless you know the model wants more).
        suffix: Text put after the query.
        truncate_dim: Matryoshka truncation of the output (re-normalised); ``None`` keeps
            the model's full dimension.
        quantized: Run an int8 model.
        max_length: Token window (``None``: the model's own).
        cache_dir: Hugging Face cache folder.
        local_files_only: Never contact the hub (``None``: the ``HF_HUB_OFFLINE`` default).
        trust_remote_code: Allow running a model repository's own code (Ogma checkpoints).
        base_url: An ``ogma serve`` server to embed with instead of a local model
            (``http://host:port``); the model options above then do not apply.
        api_key: The server's key (default: the ``OGMA_API_KEY`` environment variable, if set).
        registry_model: The registry model a local folder holds (e.g. ``"intfloat/e5-small-v2"``), so it gets
            that model's prefixes or instruction, pooling and window (``ogma.TextEncoder(model_id=...)``).
        long_text: A text longer than the window (:attr:`max_tokens` tokens): ``"mean"``
            (default) reads it whole in overlapping windows and returns their mean vector;
            ``"truncate"`` keeps its first window and logs a warning that counts the texts
            cut; ``"error"`` raises.

    Raises:
        TypeError: An option has the wrong type (the message names it).
        ValueError: An option is out of range, or ``device`` is not usable by ONNX Runtime.

    Example:
        >>> embedder = OgmaTextEmbedder(truncate_dim=128)
        >>> embedder.to_dict()["init_parameters"]["truncate_dim"]
        128
        >>> embedder.run("Where is the index stored?")["embedding"][:2]  # doctest: +SKIP
        [0.0132, -0.0417]
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        device: ComponentDevice | str | None = None,
        threads: int | None = None,
        prefix: str = "",
        suffix: str = "",
        truncate_dim: int | None = None,
        quantized: bool = False,
        max_length: int | None = None,
        cache_dir: str | Path | None = None,
        local_files_only: bool | None = None,
        trust_remote_code: bool = False,
        base_url: str | None = None,
        api_key: Secret | None = None,
        registry_model: str | None = None,
        long_text: LongText = DEFAULT_LONG_TEXT,
    ) -> None:
        self._set_model_options(
            model=model,
            device=device,
            threads=threads,
            quantized=quantized,
            max_length=max_length,
            cache_dir=cache_dir,
            local_files_only=local_files_only,
            trust_remote_code=trust_remote_code,
            base_url=base_url,
            api_key=api_key,
            truncate_dim=truncate_dim,
            registry_model=registry_model,
            long_text=long_text,
        )
        self.prefix = check_str(prefix, "prefix")
        self.suffix = check_str(suffix, "suffix")

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component (its init parameters) for pipeline YAML."""
        return default_to_dict(self, prefix=self.prefix, suffix=self.suffix, **self._model_options())

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, Any]:
        """Embed one query.

        Args:
            text: The query.

        Returns:
            ``{"embedding": list[float]}``.

        Raises:
            TypeError: ``text`` is not a string (to embed Documents, use :class:`OgmaDocumentEmbedder`).
            ValueError: ``text`` is not valid Unicode (a lone surrogate).
        """
        if not isinstance(text, str):
            raise TypeError(
                f"OgmaTextEmbedder expects a string as input, got {type(text).__name__}. "
                "To embed a list of Documents, use OgmaDocumentEmbedder."
            )
        vector = self.encoder.encode_queries(
            [self.prefix + text + self.suffix], dim=self.truncate_dim, show_progress=False, long_text=self.long_text
        )[0]
        return {"embedding": vector.tolist()}

    @component.output_types(embedding=list[float])
    async def run_async(self, text: str) -> dict[str, Any]:
        """Like :meth:`run`, in a worker thread so the event loop stays free."""
        return await asyncio.to_thread(self.run, text)
