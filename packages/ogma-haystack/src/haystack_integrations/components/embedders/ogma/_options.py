"""What the Ogma embedders and the ranker share: option checks, devices, loading through the model cache."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Self

from haystack import Document, default_from_dict
from haystack.utils import ComponentDevice, Secret, deserialize_secrets_inplace

from ogma.model_cache import shared_model
from ogma.record_text import RecordTextBuilder
from ogma.validation import check_count, check_unicode
from ogma.windows import DEFAULT_LONG_TEXT, LONG_TEXT_MODES, LongText

if TYPE_CHECKING:
    from ogma import Reranker, TextEncoder

logger = logging.getLogger(__name__)


def load_encoder(**options: Any) -> TextEncoder:
    """Build a :class:`ogma.TextEncoder` (the factory the shared model cache calls)."""
    from ogma import TextEncoder

    return TextEncoder(**options)


def load_reranker(**options: Any) -> Reranker:
    """Build a :class:`ogma.Reranker` (the factory the shared model cache calls)."""
    from ogma import Reranker

    return Reranker(**options)


def component_device(device: ComponentDevice | str | None) -> ComponentDevice | None:
    """``device`` as Haystack's :class:`ComponentDevice` (a string such as ``"cuda:0"`` is parsed)."""
    if device is None or isinstance(device, ComponentDevice):
        return device
    if isinstance(device, str):
        try:
            return ComponentDevice.from_str(device)
        except ValueError as exc:
            raise ValueError(f"device must be a ComponentDevice or a string such as 'cpu' or 'cuda:0': {exc}") from exc
    raise TypeError(f"device must be a ComponentDevice, a string such as 'cpu', or None; got {type(device).__name__}")


def onnx_device(device: ComponentDevice | None) -> Literal["cpu", "cuda"]:
    """The ONNX Runtime device for a Haystack device: ``None`` runs on the CPU.

    Raises:
        ValueError: A device map, or a device type ONNX Runtime has no provider for here (e.g. ``mps``).
    """
    if device is None:
        return "cpu"
    if device.has_multiple_devices:
        raise ValueError(
            "device must be one device: Ogma runs one ONNX Runtime session, not a device map. "
            "Pass ComponentDevice.from_str('cpu') or ComponentDevice.from_str('cuda:0')."
        )
    name = device.to_torch_str()
    if name == "cpu":
        return "cpu"
    if name.startswith("cuda"):
        if name not in ("cuda", "cuda:0"):
            logger.warning("ONNX Runtime uses the first CUDA device; %s was asked for", name)
        return "cuda"
    raise ValueError(
        f"device {name!r} is not supported: Ogma runs ONNX Runtime on 'cpu' or 'cuda'. "
        "Pass ComponentDevice.from_str('cpu') or ComponentDevice.from_str('cuda:0')."
    )


def optional_count(value: Any, name: str) -> int | None:
    """``None`` or a positive integer (``TypeError``/``ValueError`` naming ``name`` otherwise)."""
    return None if value is None else check_count(value, name)


def check_model_device_threads(
    model: str | Path, device: ComponentDevice | str | None, threads: int | None
) -> tuple[str, ComponentDevice | None, int | None]:
    """The model, device and thread options every Ogma model component takes, checked.

    Raises:
        TypeError: ``model`` is not a string or path, or an option has the wrong type.
        ValueError: ``device`` is not usable by ONNX Runtime (refused now, not at warm-up), or ``threads`` < 1.
    """
    if not isinstance(model, str | Path):
        raise TypeError(f"model must be a model name, hub id or folder path, got {type(model).__name__}")
    checked_device = component_device(device)
    onnx_device(checked_device)  # refuse an unusable device now, not at warm_up
    return str(model), checked_device, optional_count(threads, "threads")


def document_texts(documents: list[Document], build: RecordTextBuilder) -> list[str | None]:
    """The text a model reads for each Document (``None``: nothing to read), checked for valid Unicode.

    Raises:
        ValueError: A text holds a lone surrogate (the message names the Document's index and id).
    """
    texts = [build(content=doc.content, metadata=doc.meta) for doc in documents]
    for index, text in enumerate(texts):
        if text is not None and not text.isascii():
            check_unicode(text, f"documents[{index}] (id {documents[index].id!r}) text")
    return texts


def check_documents(documents: Any, component: str, *, hint: str) -> list[Document]:
    """A list of Haystack documents, or ``TypeError`` naming the first bad item and the fix."""
    if not isinstance(documents, Sequence) or isinstance(documents, str | bytes):
        raise TypeError(f"{component} expects a list of Documents, got {type(documents).__name__}. {hint}")
    for index, doc in enumerate(documents):
        if not isinstance(doc, Document):
            raise TypeError(
                f"{component} expects a list of Documents; documents[{index}] is a {type(doc).__name__}. {hint}"
            )
    return list(documents)


class EncoderOptions:
    """The model settings both Ogma embedders share (they are the shared model cache's key)."""

    ogma_model_attribute: ClassVar[str] = "model"  # see ogma.store.fingerprint.ogma_model_name
    model: str
    device: ComponentDevice | None
    threads: int | None
    quantized: bool
    max_length: int | None
    cache_dir: str | None
    local_files_only: bool | None
    trust_remote_code: bool
    truncate_dim: int | None
    base_url: str | None
    api_key: Secret
    registry_model: str | None
    long_text: LongText
    _encoder: TextEncoder | None

    def _set_model_options(
        self,
        *,
        model: str | Path,
        device: ComponentDevice | str | None,
        threads: int | None,
        quantized: bool,
        max_length: int | None,
        cache_dir: str | Path | None,
        local_files_only: bool | None,
        trust_remote_code: bool,
        truncate_dim: int | None,
        base_url: str | None = None,
        api_key: Secret | None = None,
        registry_model: str | None = None,
        long_text: LongText = DEFAULT_LONG_TEXT,
    ) -> None:
        self.model, self.device, self.threads = check_model_device_threads(model, device, threads)
        if base_url is not None and not isinstance(base_url, str):
            raise TypeError(f"base_url must be an http(s) URL string or None, got {type(base_url).__name__}")
        self.base_url = base_url
        self.api_key = api_key if api_key is not None else Secret.from_env_var("OGMA_API_KEY", strict=False)
        if registry_model is not None and not isinstance(registry_model, str):
            raise TypeError(
                f"registry_model must be a registry model id (str) or None, got {type(registry_model).__name__}"
            )
        self.registry_model = registry_model
        if long_text not in LONG_TEXT_MODES:
            raise ValueError(f"long_text must be one of {', '.join(LONG_TEXT_MODES)}; got {long_text!r}")
        self.long_text = long_text
        self.quantized = bool(quantized)
        self.max_length = optional_count(max_length, "max_length")
        self.cache_dir = None if cache_dir is None else str(cache_dir)
        self.local_files_only = local_files_only
        self.trust_remote_code = bool(trust_remote_code)
        self.truncate_dim = optional_count(truncate_dim, "truncate_dim")
        self._encoder = None

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build the component from its ``to_dict`` output."""
        init = dict(data.get("init_parameters", {}))  # the caller's dict stays as it was
        deserialize_secrets_inplace(init, keys=["api_key"])
        return default_from_dict(cls, {**data, "init_parameters": init})

    def _model_options(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "device": self.device,
            "threads": self.threads,
            "quantized": self.quantized,
            "max_length": self.max_length,
            "cache_dir": self.cache_dir,
            "local_files_only": self.local_files_only,
            "trust_remote_code": self.trust_remote_code,
            "truncate_dim": self.truncate_dim,
            "base_url": self.base_url,
            "api_key": self.api_key.to_dict(),
            "registry_model": self.registry_model,
            "long_text": self.long_text,
        }

    def warm_up(self) -> None:
        """Load the model (once: every Ogma component with the same model settings shares it).

        Raises:
            ogma.errors.ModelNotFoundError: The model cannot be found (offline and not cached, or a bad path).
            ValueError: ``truncate_dim`` is larger than the model's dimension.
        """
        if self._encoder is not None:
            return
        encoder: Any
        if self.base_url is not None:
            from ogma.remote import shared_remote_encoder

            encoder = shared_remote_encoder(self.base_url, self.api_key.resolve_value())
        else:
            encoder = shared_model(
                load_encoder,
                model=self.model,
                device=onnx_device(self.device),
                threads=self.threads,
                quantized=self.quantized,
                max_length=self.max_length,
                cache_dir=self.cache_dir,
                local_files_only=self.local_files_only,
                trust_remote_code=self.trust_remote_code,
                model_id=self.registry_model,
            )
        if self.truncate_dim is not None and self.truncate_dim > encoder.dim:
            raise ValueError(
                f"truncate_dim={self.truncate_dim} is larger than the {encoder.dim} dimensions of {encoder.model_id}; "
                f"use at most {encoder.dim}"
                + (f" (trained Matryoshka dims: {list(encoder.matryoshka_dims)})" if encoder.matryoshka_dims else "")
            )
        self._encoder = encoder

    @property
    def max_tokens(self) -> int:
        """Tokens of text one model input holds (the model's window less its special tokens).

        Size a ``DocumentSplitter`` with it so that every chunk is read whole by one vector
        (it counts words: about 0.75 words per token for English prose).
        """
        return self.encoder.max_tokens

    @property
    def encoder(self) -> TextEncoder:
        """The shared :class:`ogma.TextEncoder`, or the ``base_url`` server's ``RemoteEncoder`` (from warm_up)."""
        if self._encoder is None:
            self.warm_up()
        assert self._encoder is not None  # set by warm_up
        return self._encoder
