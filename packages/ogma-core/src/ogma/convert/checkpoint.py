"""Reading a BERT-family checkpoint folder: what it is, its config and its weights.

This module only reads; graph building lives in :mod:`ogma.convert.bert`.

Example:
    >>> from ogma.convert.checkpoint import SUPPORTED_ARCHITECTURES
    >>> "BertModel" in SUPPORTED_ARCHITECTURES
    True
"""

from __future__ import annotations

import json
import logging
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ogma.convert.tensors import read_safetensors
from ogma.errors import ConversionError, ModelFileError

__all__ = [
    "SUPPORTED_ARCHITECTURES",
    "CheckpointKind",
    "EncoderSpec",
    "detect_checkpoint_kind",
    "load_weights",
    "read_config",
    "read_spec",
]

logger = logging.getLogger(__name__)

CheckpointKind = Literal["safetensors", "pytorch-bin", "onnx", "unknown"]
"""What a folder holds: convertible safetensors weights, torch-only weights, an ONNX model, or nothing usable."""

Family = Literal["bert", "roberta"]
Head = Literal["none", "sequence-classification", "splade"]
Activation = Literal["gelu", "gelu_tanh", "relu"]

SUPPORTED_ARCHITECTURES: dict[str, tuple[Family, Head]] = {
    "BertModel": ("bert", "none"),
    "BertForSequenceClassification": ("bert", "sequence-classification"),
    "BertForMaskedLM": ("bert", "splade"),
    "RobertaModel": ("roberta", "none"),
    "RobertaForSequenceClassification": ("roberta", "sequence-classification"),
    "XLMRobertaModel": ("roberta", "none"),
    "XLMRobertaForSequenceClassification": ("roberta", "sequence-classification"),
}
"""Architectures :func:`ogma.convert.convert_checkpoint` can convert, mapped to (family, head).

A masked-language-model checkpoint (``BertForMaskedLM``) converts to a SPLADE term-weight graph:
its vocabulary head scores every token and the graph pools them into one weight per vocabulary
entry (see :mod:`ogma.convert.bert`)."""

_MODEL_TYPE_DEFAULTS: dict[str, str] = {
    "bert": "BertModel",
    "roberta": "RobertaModel",
    "xlm-roberta": "XLMRobertaModel",
}

_ACTIVATIONS: dict[str, Activation] = {
    "gelu": "gelu",
    "gelu_new": "gelu_tanh",
    "gelu_fast": "gelu_tanh",
    "gelu_pytorch_tanh": "gelu_tanh",
    "relu": "relu",
}

_PREFIXES: dict[Family, tuple[str, ...]] = {"bert": ("bert.", ""), "roberta": ("roberta.", "")}


@dataclass(frozen=True)
class EncoderSpec:
    """The shape and options of a BERT-family encoder, read from ``config.json``.

    Example:
        >>> spec = EncoderSpec("BertModel", "bert", "none", 8, 2, 1, 16, 1e-12, "gelu", 30, 2, 16, 0, 0)
        >>> spec.head_size
        4
    """

    architecture: str
    family: Family
    head: Head
    hidden_size: int
    num_heads: int
    num_layers: int
    intermediate_size: int
    layer_norm_eps: float
    activation: Activation
    vocab_size: int
    type_vocab_size: int
    max_position_embeddings: int
    num_labels: int
    pad_token_id: int
    tie_word_embeddings: bool = True

    @property
    def head_size(self) -> int:
        """Width of one attention head."""
        return self.hidden_size // self.num_heads

    @property
    def uses_token_type_ids(self) -> bool:
        """Whether the graph takes a ``token_type_ids`` input (BERT does, (XLM-)RoBERTa does not)."""
        return self.family == "bert"


def detect_checkpoint_kind(folder: str | Path) -> CheckpointKind:
    """Tell what kind of model files a folder holds.

    Args:
        folder: A model folder.

    Returns:
        ``"safetensors"`` when ``model.safetensors`` is present (convertible),
        ``"pytorch-bin"`` when only ``pytorch_model.bin`` is, ``"onnx"`` when the folder
        already holds ``model.onnx`` (or ``onnx/model.onnx``), else ``"unknown"``.

    Example:
        >>> import tempfile
        >>> detect_checkpoint_kind(tempfile.mkdtemp())
        'unknown'
    """
    path = Path(folder)
    if (path / "model.safetensors").is_file():
        return "safetensors"
    if (path / "pytorch_model.bin").is_file():
        return "pytorch-bin"
    if (path / "model.onnx").is_file() or (path / "onnx" / "model.onnx").is_file():
        return "onnx"
    return "unknown"


def read_config(folder: Path) -> dict[str, Any]:
    """Load ``config.json`` from a checkpoint folder.

    Raises:
        ModelFileError: The file is missing or is not a JSON object.

    Example:
        >>> read_config(Path("all-MiniLM-L6-v2"))["hidden_size"]  # doctest: +SKIP
        384
    """
    file = folder / "config.json"
    if not file.is_file():
        raise ModelFileError(
            f"{file} not found: a checkpoint folder needs the Hugging Face config.json next to model.safetensors. "
            "Copy it from the model repository."
        )
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{file} is not valid JSON ({exc}); re-download the model's config.json.") from exc
    if not isinstance(data, dict):
        raise ModelFileError(f"{file} must hold a JSON object, got {type(data).__name__}; re-download it.")
    return data


def _architecture(config: dict[str, Any], file: Path) -> str:
    architectures = config.get("architectures")
    supported = ", ".join(SUPPORTED_ARCHITECTURES)
    if architectures is None:
        model_type = str(config.get("model_type", ""))
        if model_type in _MODEL_TYPE_DEFAULTS:
            return _MODEL_TYPE_DEFAULTS[model_type]
        raise ConversionError(
            f"{file} names no 'architectures' and model_type {model_type!r} is not supported; "
            f"Ogma converts {supported}. Export other models with optimum (optimum-cli export onnx)."
        )
    if not isinstance(architectures, list) or len(architectures) != 1:
        raise ConversionError(f"{file}: expected 'architectures' to list exactly one class, got {architectures!r}.")
    name = str(architectures[0])
    if name not in SUPPORTED_ARCHITECTURES:
        raise ConversionError(
            f"{file}: architecture {name!r} is not supported by the torch-free converter; supported are "
            f"{supported}. Export other models with optimum (optimum-cli export onnx) and load the ONNX folder."
        )
    return name


def _int(config: dict[str, Any], key: str, file: Path, default: int | None = None) -> int:
    value = config.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConversionError(f"{file}: expected a non-negative integer for {key!r}, got {value!r}.")
    return value


def read_spec(folder: Path) -> EncoderSpec:
    """Read and validate the encoder options from ``folder/config.json``.

    Raises:
        ModelFileError: ``config.json`` is missing or unreadable.
        ConversionError: The architecture or an option is not supported.

    Example:
        >>> spec = read_spec(Path("all-MiniLM-L6-v2"))  # doctest: +SKIP
        >>> spec.architecture, spec.num_layers, spec.head_size  # doctest: +SKIP
        ('BertModel', 6, 32)
    """
    file = folder / "config.json"
    config = read_config(folder)
    architecture = _architecture(config, file)
    family, head = SUPPORTED_ARCHITECTURES[architecture]
    act_name = str(config.get("hidden_act", "gelu"))
    if act_name not in _ACTIVATIONS:
        raise ConversionError(
            f"{file}: hidden_act {act_name!r} is not supported; expected one of {', '.join(_ACTIVATIONS)}."
        )
    position_type = config.get("position_embedding_type", "absolute")
    if position_type != "absolute":
        raise ConversionError(
            f"{file}: position_embedding_type {position_type!r} is not supported; only 'absolute' is. "
            "Export this model with optimum (optimum-cli export onnx)."
        )
    if config.get("is_decoder") or config.get("add_cross_attention"):
        raise ConversionError(f"{file}: decoder/cross-attention BERT models are not supported; only encoders are.")
    hidden = _int(config, "hidden_size", file)
    heads = _int(config, "num_attention_heads", file)
    if heads == 0 or hidden % heads:
        raise ConversionError(f"{file}: hidden_size {hidden} is not divisible by num_attention_heads {heads}.")
    num_labels = 0
    if head == "sequence-classification":
        id2label = config.get("id2label")
        num_labels = _int(config, "num_labels", file, len(id2label) if isinstance(id2label, dict) else 2)
    return EncoderSpec(
        architecture=architecture,
        family=family,
        head=head,
        hidden_size=hidden,
        num_heads=heads,
        num_layers=_int(config, "num_hidden_layers", file),
        intermediate_size=_int(config, "intermediate_size", file),
        layer_norm_eps=float(config.get("layer_norm_eps", 1e-12)),
        activation=_ACTIVATIONS[act_name],
        vocab_size=_int(config, "vocab_size", file),
        type_vocab_size=_int(config, "type_vocab_size", file, 2),
        max_position_embeddings=_int(config, "max_position_embeddings", file, 512),
        num_labels=num_labels,
        pad_token_id=_int(config, "pad_token_id", file, 1 if family == "roberta" else 0),
        tie_word_embeddings=bool(config.get("tie_word_embeddings", True)),
    )


def _check_weights_file(folder: Path) -> Path:
    file = folder / "model.safetensors"
    if file.is_file():
        return file
    if (folder / "pytorch_model.bin").is_file():
        raise ConversionError(
            f"{folder / 'pytorch_model.bin'} is a PyTorch pickle; the torch-free converter reads only "
            f'model.safetensors. Convert it first (needs torch): python -c "import torch; '
            f"from safetensors.torch import save_file; "
            f"save_file({{k: v.contiguous() for k, v in torch.load('pytorch_model.bin').items()}}, "
            f"'model.safetensors')\" inside {folder}, or use a repository revision that ships model.safetensors."
        )
    if (folder / "model.safetensors.index.json").is_file():
        raise ConversionError(
            f"{folder} holds a sharded checkpoint (model.safetensors.index.json); the converter expects a "
            "single model.safetensors. Merge the shards first."
        )
    raise ModelFileError(
        f"{file} not found: the converter needs the weights as model.safetensors next to config.json. "
        "Download the full model repository (including model.safetensors)."
    )


def load_weights(folder: Path, spec: EncoderSpec) -> dict[str, np.ndarray]:
    """Load ``model.safetensors`` as float32 arrays keyed without the model prefix.

    Keys become e.g. ``embeddings.word_embeddings.weight`` whether the file stores
    them bare (``BertModel``) or under ``bert.`` / ``roberta.``; head weights
    (``classifier.*``, the masked-LM head's ``cls.predictions.*``) keep their names.
    Old ``gamma``/``beta`` LayerNorm names are mapped to ``weight``/``bias``.

    Raises:
        ConversionError: Only ``pytorch_model.bin`` is present, or a tensor has an unsupported dtype.
        ModelFileError: ``model.safetensors`` is missing or corrupt.

    Example:
        >>> folder = Path("all-MiniLM-L6-v2")  # doctest: +SKIP
        >>> load_weights(folder, read_spec(folder))["embeddings.word_embeddings.weight"].shape  # doctest: +SKIP
        (30522, 384)
    """
    from safetensors import SafetensorError

    file = _check_weights_file(folder)
    try:
        raw = read_safetensors(file)
    except (SafetensorError, OSError, ValueError, TypeError, KeyError, struct.error) as exc:
        raise ModelFileError(
            f"{file} could not be read as safetensors ({type(exc).__name__}: {exc}); the file is corrupt or "
            "truncated, or stores a dtype NumPy cannot represent. Re-download it, or re-save it in float32."
        ) from exc
    weights: dict[str, np.ndarray] = {}
    prefixes = _PREFIXES[spec.family]
    for key, value in raw.items():
        name = key
        for prefix in prefixes:
            if prefix and name.startswith(prefix):
                name = name[len(prefix) :]
                break
        if name.endswith(".gamma"):
            name = name[: -len("gamma")] + "weight"
        elif name.endswith(".beta"):
            name = name[: -len("beta")] + "bias"
        if value.dtype.name == "bfloat16":  # when ml_dtypes (imported by onnx) taught NumPy the dtype
            value = value.astype(np.float32)
        if value.dtype.kind != "f":
            continue  # e.g. embeddings.position_ids buffers
        if value.dtype != np.float32:
            value = value.astype(np.float32)
        weights[name] = value
    logger.debug("read %d tensors from %s", len(weights), file)
    return weights
