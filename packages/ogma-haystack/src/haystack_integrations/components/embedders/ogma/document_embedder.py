"""``OgmaDocumentEmbedder``: embed Haystack Documents locally with an Ogma :class:`ogma.TextEncoder`."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

from haystack import Document, component, default_to_dict
from haystack.utils import ComponentDevice, Secret

from haystack_integrations.components.embedders.ogma._options import EncoderOptions, check_documents, document_texts
from ogma.record_text import RecordTextBuilder
from ogma.registry import DEFAULT_MODEL
from ogma.validation import check_count
from ogma.windows import DEFAULT_LONG_TEXT, LongText

__all__ = ["OgmaDocumentEmbedder"]

logger = logging.getLogger(__name__)

_HINT = "To embed a single string, use OgmaTextEmbedder."


@component
class OgmaDocumentEmbedder(EncoderOptions):
    """Embed Documents with a small local ONNX model; no API key, no torch, no server.

    Each Document is embedded as a *document*, the way the model was trained (Ogma models
    get their ``[DOC]`` task token, E5/BGE-style models their passage prefix); queries go
    through :class:`OgmaTextEmbedder` with the same model. The text embedded is
    ``prefix + separator.join(chosen meta values + [content]) + suffix``
    (:func:`ogma.record_text.record_text`). The parameters carry the names of Haystack's
    own embedders, so swapping one in is a one-line change.

    Documents come back as copies with ``embedding`` set (the inputs are not changed), in
    input order. A Document whose ``content`` is ``None`` and that has none of the
    ``meta_fields_to_embed`` has nothing to embed: it comes back unchanged, with no new
    ``embedding`` (a warning says how many), and an Ogma document store keeps a Document
    without a vector for filters, metadata and BM25.

    Args:
        model: Registry name, hub id or local folder (default:
            :data:`ogma.registry.DEFAULT_MODEL`, ``sentence-transformers/all-MiniLM-L6-v2``).
        device: Haystack device (``ComponentDevice.from_str("cuda:0")``) or a string; ``None``
            runs on the CPU. ONNX Runtime runs on ``cpu`` or ``cuda``.
        threads: ONNX Runtime intra-op threads (``None``: all cores).
        prefix: Text put before each document's text (on top of the model's own document
            marker, which Ogma adds itself).
        suffix: Text put after each document's text.
        batch_size: Maximum texts per forward pass (the model sorts texts by length and
            plans its passes within this bound).
        progress_bar: Show a progress bar while embedding (only when stderr is a terminal).
        meta_fields_to_embed: Meta keys whose values are embedded before the content.
        embedding_separator: Joins those values and the content.
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
        >>> from haystack import Document
        >>> embedder = OgmaDocumentEmbedder(meta_fields_to_embed=["title"], batch_size=64)
        >>> embedder.to_dict()["init_parameters"]["meta_fields_to_embed"]
        ['title']
        >>> docs = embedder.run([Document(content="Cats purr.", meta={"title": "Cats"})])["documents"]  # doctest: +SKIP
        >>> len(docs[0].embedding)  # doctest: +SKIP
        384
    """

    def __init__(
        self,
        model: str | Path = DEFAULT_MODEL,
        *,
        device: ComponentDevice | str | None = None,
        threads: int | None = None,
        prefix: str = "",
        suffix: str = "",
        batch_size: int = 32,
        progress_bar: bool = True,
        meta_fields_to_embed: list[str] | None = None,
        embedding_separator: str = "\n",
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
        self._text = RecordTextBuilder(
            fields=meta_fields_to_embed, separator=embedding_separator, prefix=prefix, suffix=suffix
        )
        self.prefix = prefix
        self.suffix = suffix
        self.meta_fields_to_embed = list(self._text.fields)
        self.embedding_separator = embedding_separator
        self.batch_size = check_count(batch_size, "batch_size")
        if not isinstance(progress_bar, bool):
            raise TypeError(f"progress_bar must be True or False, got {type(progress_bar).__name__}")
        self.progress_bar = progress_bar

    def to_dict(self) -> dict[str, Any]:
        """Serialise the component (its init parameters) for pipeline YAML."""
        return default_to_dict(
            self,
            prefix=self.prefix,
            suffix=self.suffix,
            batch_size=self.batch_size,
            progress_bar=self.progress_bar,
            meta_fields_to_embed=self.meta_fields_to_embed,
            embedding_separator=self.embedding_separator,
            **self._model_options(),
        )

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, Any]:
        """Embed Documents.

        Args:
            documents: The Documents (not modified).

        Returns:
            ``{"documents": list[Document]}``: copies with ``embedding`` set, in input order
            (a Document with nothing to embed comes back unchanged; see the class docstring).

        Raises:
            TypeError: ``documents`` is not a list of Documents (the message names the first bad item).
            ValueError: A text is not valid Unicode (a lone surrogate; the message names its index).
        """
        docs = check_documents(documents, "OgmaDocumentEmbedder", hint=_HINT)
        texts = document_texts(docs, self._text)
        todo = [i for i, text in enumerate(texts) if text is not None]
        if len(todo) < len(docs):
            skipped = [docs[i].id for i, text in enumerate(texts) if text is None]
            logger.warning(
                "%d of %d documents have no content and none of the meta fields %s; they are passed on "
                "without an embedding (first ids: %s)",
                len(skipped),
                len(docs),
                self.meta_fields_to_embed,
                skipped[:3],
            )
        if not todo:
            return {"documents": docs}
        vectors = self.encoder.encode_documents(
            [text for text in texts if text is not None],
            dim=self.truncate_dim,
            batch_size=self.batch_size,
            show_progress=None if self.progress_bar else False,
            long_text=self.long_text,
        )
        out = list(docs)
        for row, index in enumerate(todo):
            out[index] = replace(docs[index], embedding=vectors[row].tolist())
        return {"documents": out}

    @component.output_types(documents=list[Document])
    async def run_async(self, documents: list[Document]) -> dict[str, Any]:
        """Like :meth:`run`, in a worker thread so the event loop stays free."""
        return await asyncio.to_thread(self.run, documents)
