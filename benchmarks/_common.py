"""Helpers shared by the benchmark scripts.

The scripts run from the repository root (``python benchmarks/bench_encoder.py``), so this
folder is on ``sys.path`` and they import it as ``from _common import cpu_flags``.
"""

from __future__ import annotations

__all__ = ["SIMD_FLAGS", "cpu_flags"]

SIMD_FLAGS = frozenset({"avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "fma"})
"""The flags a benchmark result records: they decide ONNX Runtime's kernels (int8 speed depends on VNNI)."""


def cpu_flags() -> list[str]:
    """The :data:`SIMD_FLAGS` this CPU has, sorted (empty when the flags cannot be read)."""
    from ogma.cpu import cpu_features  # read by the library (Linux /proc/cpuinfo, macOS sysctl)

    return sorted((cpu_features().flags or frozenset()) & SIMD_FLAGS)
