"""ONNX Runtime sessions: threads, device choice and a clear CUDA fallback.

Opening an int8 model on a CPU where int8 cannot run faster than float32 (no VNNI, no ARM
dot product) logs one warning per process (see :mod:`ogma.cpu`).

Example:
    >>> from ogma.runtime import resolve_providers
    >>> resolve_providers("cpu")
    ['CPUExecutionProvider']
"""

from __future__ import annotations

import logging
import os
import warnings
from pathlib import Path
from typing import Literal

import onnxruntime as ort

from ogma.errors import ModelFileError
from ogma.formats import INT8_FORMAT, INT8_FORMAT_KEY

__all__ = [
    "INT8_FORMAT",
    "INT8_FORMAT_KEY",
    "SPINNING_ENV",
    "Device",
    "create_session",
    "is_int8_model",
    "resolve_providers",
]

logger = logging.getLogger(__name__)

Device = Literal["cpu", "cuda"]
DEVICES: tuple[Device, ...] = ("cpu", "cuda")
SLOW_CPU_FUSIONS: tuple[str, ...] = ("SkipLayerNormFusion", "BiasGeluFusion")
"""ONNX Runtime fusions left off on CPU: with ONNX Runtime 1.32 the fused
``SkipLayerNormalization`` kernel is about 4x slower than the Add + ``LayerNormalization``
it replaces, and ``BiasGelu`` about 20% slower than Add + ``Gelu``. With both off,
all-MiniLM-L6-v2 int8 encodes about 25% faster (2 threads, DBpedia passages)."""
SPINNING_ENV = "OGMA_ORT_SPINNING"
"""Set to ``1`` to let ONNX Runtime's worker threads busy-wait between operators (its own
default). Ogma turns spinning off: spinning threads take cores that a server's event loop,
its clients or other jobs need. Measured with ``benchmarks/bench_spinning.py``."""
KERNEL_SAFE_INT8_FORMATS: frozenset[str] = frozenset({INT8_FORMAT, "u8-activations/s7-weights/per-tensor"})
"""Formats whose integer products cannot saturate on CPUs without VNNI."""
_INT8_NAME_HINTS = ("int8", "qint8", "quantized", "uint8")


def resolve_providers(device: str) -> list[str]:
    """Execution providers for ``device``; warns and falls back to CPU when CUDA is missing.

    Args:
        device: ``"cpu"`` or ``"cuda"``.

    Raises:
        ValueError: Unknown device.
    """
    if device not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}; got {device!r}")
    if device == "cpu":
        return ["CPUExecutionProvider"]
    available = ort.get_available_providers()
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    warnings.warn(
        "device='cuda' was asked for but this onnxruntime has no CUDAExecutionProvider "
        f"(available: {', '.join(available)}); running on the CPU instead. For the GPU, "
        "install onnxruntime-gpu in place of onnxruntime (the two cannot be installed together): "
        "pip uninstall -y onnxruntime && pip install onnxruntime-gpu",
        RuntimeWarning,
        stacklevel=3,
    )
    return ["CPUExecutionProvider"]


def create_session(
    path: str | os.PathLike[str],
    *,
    device: str = "cpu",
    threads: int | None = None,
    optimized_model_path: str | os.PathLike[str] | None = None,
) -> ort.InferenceSession:
    """Open an ONNX model with sensible options.

    Args:
        path: The ``.onnx`` file.
        device: ``"cpu"`` or ``"cuda"`` (falls back to CPU with a warning).
        threads: Intra-op threads; ``None`` lets ONNX Runtime use all cores.
        optimized_model_path: Also save the graph as ONNX Runtime optimized it for this
            machine (to inspect which kernels run).

    An int8 model on a CPU without int8 dot-product instructions logs one warning per
    process (no speed-up to expect), and an int8 file Ogma did not write logs one more on x86
    without VNNI (its 8-bit weights may saturate there).

    Raises:
        ModelFileError: The file is missing or is not a valid ONNX model.
        ValueError: ``threads`` is not a positive integer.
    """
    file = Path(path)
    if not file.is_file():
        raise ModelFileError(f"ONNX model file not found: {file}. Re-download or re-convert the model.")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ValueError(f"threads must be a positive integer or None, got {threads!r}")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    if threads is not None:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    options.log_severity_level = 3
    # ONNX Runtime's worker threads busy-wait between operators by default. On a machine
    # whose cores are shared (a server's own event loop, its clients, other jobs) that spinning
    # takes the cores the other work needs, so Ogma turns it off unless $OGMA_ORT_SPINNING=1
    # (docs/benchmarks.md, "ONNX Runtime thread spinning").
    spinning = os.environ.get(SPINNING_ENV, "").strip() == "1"
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    if optimized_model_path is not None:
        options.optimized_model_filepath = str(optimized_model_path)
    providers = resolve_providers(device)
    try:
        disabled = list(SLOW_CPU_FUSIONS) if providers[0] == "CPUExecutionProvider" else []
        session = ort.InferenceSession(
            str(file), sess_options=options, providers=providers, disabled_optimizers=disabled
        )
    except Exception as exc:  # onnxruntime raises its own untyped errors for bad files
        raise ModelFileError(
            f"Could not load the ONNX model {file}: {exc}. The file may be corrupt or truncated; "
            "delete it and re-download or re-convert the model."
        ) from exc
    logger.debug("Loaded %s on %s", file, session.get_providers())
    if providers[0] == "CPUExecutionProvider":
        _check_int8_on_cpu(session, file)
    return session


def is_int8_model(session: ort.InferenceSession, path: str | os.PathLike[str]) -> str | None:
    """The int8 format of an open model: Ogma's recorded format, ``"unknown"`` or ``None``.

    Models Ogma quantizes carry their format in the metadata (:data:`INT8_FORMAT_KEY`);
    other int8 files are recognised by their name (``model_int8.onnx``,
    ``model_quantized.onnx``, ...) and reported as ``"unknown"``. ``None``: not int8.

    Example:
        >>> is_int8_model(create_session("model_int8.onnx"), "model_int8.onnx")  # doctest: +SKIP
        'u8-activations/s7-weights/per-channel'
    """
    fmt = session.get_modelmeta().custom_metadata_map.get(INT8_FORMAT_KEY)
    if fmt:
        return str(fmt)
    name = Path(path).name.lower()
    return "unknown" if any(hint in name for hint in _INT8_NAME_HINTS) else None


def _check_int8_on_cpu(session: ort.InferenceSession, file: Path) -> None:
    """Say once when an int8 model cannot gain speed here, or may lose accuracy here."""
    fmt = is_int8_model(session, file)
    if fmt is None:
        return
    from ogma.cpu import cpu_features, warn_int8_may_saturate, warn_int8_without_gain

    cpu = cpu_features()
    warn_int8_without_gain(file, features=cpu)
    if fmt not in KERNEL_SAFE_INT8_FORMATS:
        warn_int8_may_saturate(file, features=cpu)
