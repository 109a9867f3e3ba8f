"""Torch-free conversion of BERT-family checkpoints to ONNX model folders.

:func:`convert_checkpoint` reads ``config.json`` and ``model.safetensors`` with NumPy,
builds the ONNX graph directly and writes a folder the Ogma encoder (and
reranker) loads: ``model.onnx`` (+ ``model_int8.onnx``), the tokenizer and
sentence-transformers files, and ``ogma_conversion.json``.

Supported architectures: ``BertModel``, ``BertForSequenceClassification``,
``RobertaModel``, ``RobertaForSequenceClassification``, ``XLMRobertaModel`` and
``XLMRobertaForSequenceClassification``; ``BertForMaskedLM`` converts to a SPLADE
graph whose output ``sparse_weights`` holds one term weight per vocabulary entry
(``TextEncoder`` refuses it: it embeds dense vectors).

Example:
    >>> from ogma.convert import SUPPORTED_ARCHITECTURES, detect_checkpoint_kind
    >>> sorted(SUPPORTED_ARCHITECTURES)[0]
    'BertForMaskedLM'
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ogma.convert.checkpoint import (
    SUPPORTED_ARCHITECTURES,
    CheckpointKind,
    EncoderSpec,
    detect_checkpoint_kind,
    load_weights,
    read_spec,
)
from ogma.convert.files import (
    MANIFEST_NAME,
    atomic_output_dir,
    check_required_files,
    copy_companion_files,
    write_manifest,
)
from ogma.convert.quantize import QUANTIZED_OP_TYPES, quantize_int8
from ogma.errors import ConversionError
from ogma.formats import GRAPH_VERSION

if TYPE_CHECKING:
    import onnx

__all__ = [
    "FP32_FILE",
    "INT8_FILE",
    "MANIFEST_NAME",
    "SUPPORTED_ARCHITECTURES",
    "CheckpointKind",
    "EncoderSpec",
    "convert_checkpoint",
    "detect_checkpoint_kind",
    "quantize_int8",
]

logger = logging.getLogger(__name__)

FP32_FILE = "model.onnx"
INT8_FILE = "model_int8.onnx"
EXTERNAL_DATA_LIMIT = 1_800_000_000
"""Above this many weight bytes the graph is saved with external data (protobuf's 2 GB cap)."""


_OUTPUTS = {"none": "last_hidden_state", "sequence-classification": "logits", "splade": "sparse_weights"}


def _ogma_version() -> str:
    try:
        return metadata.version("ogma-core")
    except metadata.PackageNotFoundError:
        return "unknown"


def _save(model: onnx.ModelProto, file: Path) -> None:
    import onnx

    size = sum(t.ByteSize() for t in model.graph.initializer)
    if size > EXTERNAL_DATA_LIMIT:
        onnx.save_model(model, str(file), save_as_external_data=True, location=file.name + ".data")
    else:
        onnx.save_model(model, str(file))


def convert_checkpoint(
    src: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    int8: bool = False,
    optimize: bool = True,
    overwrite: bool = False,
) -> Path:
    """Convert a BERT-family checkpoint folder into an ONNX model folder, without torch.

    The folder is built next to ``out`` and renamed into place at the end, so a
    failure never leaves a half-written ``out``.

    Args:
        src: Folder with ``config.json``, ``model.safetensors`` and ``tokenizer.json``
            (Hugging Face / sentence-transformers layout).
        out: Folder to create.
        int8: Also write ``model_int8.onnx`` (dynamic int8 quantization).
        optimize: Emit ONNX Runtime's fused kernels (``Attention``, ``SkipLayerNormalization``,
            ``BiasGelu``); faster on CPU but ONNX Runtime-only. ``False`` writes standard ONNX ops.
        overwrite: Replace an existing ``out``.

    Returns:
        ``out`` as a :class:`~pathlib.Path`.

    Raises:
        ModelFileError: A required file is missing or corrupt.
        ConversionError: The architecture is unsupported, the weights do not match the config,
            only ``pytorch_model.bin`` is present, or ``out`` exists and ``overwrite`` is false.

    Example:
        >>> from ogma.convert import convert_checkpoint
        >>> convert_checkpoint("all-MiniLM-L6-v2", "minilm-onnx", int8=True)  # doctest: +SKIP
        PosixPath('minilm-onnx')
    """
    import onnx  # imported here, so that reading the converter's file lists needs no onnx

    from ogma.convert.bert import CONTRIB_OPSET, OPSET, build_model

    source, target = Path(src), Path(out)
    check_required_files(source)
    if target.resolve() == source.resolve():
        raise ConversionError(f"Output folder {target} is the checkpoint folder itself; choose a new folder for out.")
    spec = read_spec(source)
    weights = load_weights(source, spec)
    model = build_model(spec, weights, fused=optimize, source=str(source / "model.safetensors"))
    del weights
    with atomic_output_dir(target, overwrite=overwrite) as tmp:
        _save(model, tmp / FP32_FILE)
        del model
        copied = copy_companion_files(source, tmp)
        if int8:
            quantize_int8(tmp / FP32_FILE, tmp / INT8_FILE)
        record: dict[str, Any] = {
            "kind": "bert-family",
            "source": str(source.resolve()),
            "architecture": spec.architecture,
            "family": spec.family,
            "opset": OPSET,
            "graph_version": GRAPH_VERSION,
            "contrib_opset": CONTRIB_OPSET if optimize else None,
            "optimized": optimize,
            "ogma_version": _ogma_version(),
            "onnx_version": onnx.__version__,
            "converted_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "files": {"fp32": FP32_FILE, "int8": INT8_FILE if int8 else None},
            "int8_op_types": list(QUANTIZED_OP_TYPES) if int8 else None,
            "inputs": ["input_ids", "attention_mask"] + (["token_type_ids"] if spec.uses_token_type_ids else []),
            "output": _OUTPUTS[spec.head],
            "hidden_size": spec.hidden_size,
            "num_labels": spec.num_labels or None,
            "copied_files": copied,
        }
        write_manifest(tmp, record)
    logger.info("converted %s (%s) to %s", source, spec.architecture, target)
    return target
