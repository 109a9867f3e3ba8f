"""Versions and format stamps of the files Ogma writes, in a leaf module that imports nothing.

The resolver (:mod:`ogma.hub`), the runtime and the converter all read them, so none of
them has to import another (or ``onnx``/``onnxruntime``) to know them.

Example:
    >>> GRAPH_VERSION >= 3, INT8_FORMAT_KEY
    (True, 'ogma.int8_format')
"""

from __future__ import annotations

__all__ = ["GRAPH_VERSION", "INT8_FORMAT", "INT8_FORMAT_KEY"]

GRAPH_VERSION = 3
"""Revision of the graphs the converter writes, int8 copies included; bump it when they change
(cached conversions are keyed on it). 3: int8 weights are 7-bit (exact on CPUs without VNNI)."""

INT8_FORMAT_KEY = "ogma.int8_format"
"""Model metadata key naming the int8 format of a model Ogma quantized."""
INT8_FORMAT = "u8-activations/s7-weights/per-channel"
"""The format :func:`ogma.convert.quantize_int8` writes: dynamic u8 activations, 7-bit
weights (``|w| <= 64``), one scale per output channel. Exact on every x86 int8 kernel."""
