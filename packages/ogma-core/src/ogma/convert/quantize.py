"""Dynamic int8 quantization of a converted model with ONNX Runtime's quantizer.

The format is chosen so that its accuracy does not depend on which kernel ONNX Runtime
picks at run time. Activations are quantized on the fly to u8 (0-255) and weights to s8,
and the u8 x s8 product is computed in one of two ways:

* with VNNI (``vpdpbusd``, AVX-512 VNNI or AVX-VNNI), each product is exact;
* without it (AVX2, or AVX-512 without VNNI), ``vpmaddubsw`` adds two neighbouring
  products into a *saturating* int16 before widening. With 8-bit weights
  (``|w| <= 127``) a pair can reach ``2 * 255 * 127 = 64770`` and is clipped to 32767,
  which moved a small classifier's logits by 0.15 on such a CPU.

Ogma therefore writes 7-bit weights (``reduce_range``: ``|w| <= 64``, so a pair is at most
``2 * 255 * 64 = 32640``) with one scale per output channel. No sum can saturate, and both
kernels compute the same integers. The format is recorded in the model's metadata
(``ogma.int8_format``) so that loaders can tell it from int8 files made elsewhere.

Example:
    >>> from ogma.convert.quantize import QUANTIZED_OP_TYPES, WEIGHT_LIMIT
    >>> "MatMul" in QUANTIZED_OP_TYPES, 2 * 255 * WEIGHT_LIMIT <= 32767
    (True, True)
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ogma.errors import ConversionError, ModelFileError
from ogma.formats import INT8_FORMAT, INT8_FORMAT_KEY

__all__ = ["INT8_FORMAT", "QUANTIZED_OP_TYPES", "WEIGHT_LIMIT", "quantize_int8"]

logger = logging.getLogger(__name__)

QUANTIZED_OP_TYPES: tuple[str, ...] = ("MatMul", "Attention")
"""Ops given int8 weights; embeddings (``Gather``) stay float32 for accuracy."""
WEIGHT_LIMIT = 64
"""Largest weight magnitude the written models use (7-bit, ``reduce_range``): u8 activations
times such weights never saturate the int16 pair sums of ``vpmaddubsw`` (CPUs without VNNI)."""


class _DropPreProcessHint(logging.Filter):
    """Hide the quantizer's root-logger hint to run shape-inference pre-processing.

    Converted graphs are already fused, and the pre-processing step cannot infer shapes
    through ONNX Runtime's contrib ops, so the hint would only confuse users.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return not record.getMessage().startswith("Please consider to run pre-processing")


def quantize_int8(
    src_onnx: str | os.PathLike[str],
    dst_onnx: str | os.PathLike[str],
    *,
    per_channel: bool = True,
) -> Path:
    """Write an int8 copy of an ONNX model whose results do not depend on the CPU's int8 kernel.

    Weights of ``MatMul`` and fused ``Attention`` nodes are quantized to 7 bits
    (``|w| <= 64``) with one scale per output channel; activations are quantized to u8 on
    the fly. See the module docstring for why 7 bits: with 8-bit weights the int16 pair sums
    of CPUs without VNNI saturate. Accuracy and speed on all-MiniLM-L6-v2 are in
    ``docs/benchmarks.md`` (int8 section).

    Args:
        src_onnx: The float32 model (e.g. ``model.onnx`` written by :func:`ogma.convert.convert_checkpoint`).
        dst_onnx: Where to write the int8 model.
        per_channel: One scale per output channel (more accurate, same speed). Per-tensor
            scales cost accuracy and are kept only for comparisons.

    Returns:
        ``dst_onnx`` as a :class:`~pathlib.Path`.

    Raises:
        ModelFileError: ``src_onnx`` does not exist.
        ConversionError: ONNX Runtime's quantizer failed.

    Example:
        >>> quantize_int8("missing.onnx", "out.onnx")
        Traceback (most recent call last):
        ...
        ogma.errors.ModelFileError: ONNX model to quantize not found: missing.onnx. Convert the checkpoint first.
    """
    src, dst = Path(src_onnx), Path(dst_onnx)
    if not src.is_file():
        raise ModelFileError(f"ONNX model to quantize not found: {src}. Convert the checkpoint first.")
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    root = logging.getLogger()
    hint = _DropPreProcessHint()
    root.addFilter(hint)  # only while quantizing; removed below
    try:
        quantize_dynamic(
            src,
            dst,
            op_types_to_quantize=list(QUANTIZED_OP_TYPES),
            per_channel=per_channel,
            reduce_range=True,
            weight_type=QuantType.QInt8,
            extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
        )
        _record_format(dst, INT8_FORMAT if per_channel else INT8_FORMAT.replace("per-channel", "per-tensor"))
    except Exception as exc:  # the quantizer raises bare Exception/RuntimeError types
        raise ConversionError(
            f"int8 quantization of {src} failed ({type(exc).__name__}: {exc}); convert without int8, or "
            "update onnxruntime (pip install -U onnxruntime)."
        ) from exc
    finally:
        root.removeFilter(hint)
    logger.info("wrote int8 model %s", dst)
    return dst


def _record_format(file: Path, fmt: str) -> None:
    """Write the int8 format into the model's metadata (``ogma.int8_format``)."""
    import onnx

    model = onnx.load(str(file))
    props = {p.key: p.value for p in model.metadata_props}
    props[INT8_FORMAT_KEY] = fmt
    onnx.helper.set_model_props(model, props)
    onnx.save_model(model, str(file))
