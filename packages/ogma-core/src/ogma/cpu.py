"""What this CPU offers int8 inference: AVX2, AVX-512, VNNI, ARM dot product.

ONNX Runtime picks its int8 matrix kernels from the CPU at run time. With VNNI
(``avx512_vnni`` or ``avx_vnni``) a u8 x s8 multiply-accumulate is one instruction and
int8 models encode about 2-2.5x faster than float32. Without it (AVX2 only, or AVX-512
without VNNI) the kernel takes ``vpmaddubsw`` plus ``vpmaddwd``, about what a float32 FMA
costs, so int8 gains little speed there; its files are still 4x smaller. On ARM the
dot-product extension (``asimddp``) plays VNNI's part.

Flags are read from ``/proc/cpuinfo`` on Linux and ``sysctl`` on macOS; elsewhere they are
unknown, and nothing is claimed.

Example:
    >>> from ogma.cpu import parse_cpuinfo
    >>> features = parse_cpuinfo("flags : fpu sse2 avx2 fma avx512f avx512_vnni", machine="x86_64")
    >>> features.vnni, features.int8_gain
    (True, 'fast')
    >>> parse_cpuinfo("flags : fpu sse2 avx2 fma", machine="x86_64").int8_gain
    'none'
"""

from __future__ import annotations

import functools
import logging
import platform
import subprocess
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = [
    "CpuFeatures",
    "cpu_features",
    "parse_cpuinfo",
    "parse_sysctl",
    "warn_int8_may_saturate",
    "warn_int8_without_gain",
]

logger = logging.getLogger(__name__)

Int8Gain = Literal["fast", "none", "unknown"]
"""``"fast"``: int8 kernels with dot-product instructions (VNNI, ARM ``asimddp``);
``"none"``: int8 runs about as fast as float32; ``"unknown"``: the flags could not be read."""

_X86 = ("x86_64", "amd64", "i386", "i686", "x86")
_ARM = ("aarch64", "arm64", "armv8l", "armv8b")
_VNNI_FLAGS = ("avx512_vnni", "avx_vnni")
_REPORTED = ("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8", "asimddp", "i8mm")
_SYSCTL_NAMES = {  # macOS spellings -> Linux /proc/cpuinfo spellings
    "avx2": "avx2",
    "avx512f": "avx512f",
    "avx512bw": "avx512bw",
    "avx512vnni": "avx512_vnni",
    "avxvnni": "avx_vnni",
}


@dataclass(frozen=True)
class CpuFeatures:
    """The CPU features that decide how fast int8 models run.

    Attributes:
        machine: ``platform.machine()``, lower-cased (``"x86_64"``, ``"arm64"``, ...).
        flags: The CPU's feature flags (Linux spelling, lower case), or ``None`` when they
            could not be read.
        source: Where the flags came from (``"/proc/cpuinfo"``, ``"sysctl"``) or ``"unknown"``.

    Example:
        >>> CpuFeatures("x86_64", None, "unknown").int8_gain
        'unknown'
    """

    machine: str
    flags: frozenset[str] | None
    source: str

    def _has(self, *names: str) -> bool | None:
        return None if self.flags is None else any(name in self.flags for name in names)

    @property
    def is_x86(self) -> bool:
        """Whether this is an x86 CPU."""
        return self.machine in _X86

    @property
    def is_arm(self) -> bool:
        """Whether this is a 64-bit ARM CPU."""
        return self.machine in _ARM

    @property
    def avx2(self) -> bool | None:
        """AVX2 (``None``: unknown)."""
        return self._has("avx2")

    @property
    def avx512(self) -> bool | None:
        """AVX-512 foundation (``avx512f``; ``None``: unknown)."""
        return self._has("avx512f")

    @property
    def vnni(self) -> bool | None:
        """VNNI dot-product instructions: ``avx512_vnni`` or ``avx_vnni`` (``None``: unknown)."""
        return self._has(*_VNNI_FLAGS)

    @property
    def arm_dotprod(self) -> bool | None:
        """ARM's dot-product extension (``asimddp``; ``None``: unknown)."""
        return self._has("asimddp")

    @property
    def int8_gain(self) -> Int8Gain:
        """Whether int8 models can run faster than float32 on this CPU."""
        if self.flags is None or not (self.is_x86 or self.is_arm):
            return "unknown"
        fast = self.vnni if self.is_x86 else self.arm_dotprod
        return "fast" if fast else "none"

    @property
    def int8_summary(self) -> str:
        """One line on what int8 gains here, for ``ogma doctor`` and warnings."""
        if self.int8_gain == "unknown":
            return "unknown (CPU flags not readable here); measure int8 against float32 before relying on it"
        if self.int8_gain == "fast" and self.is_x86:
            name = "AVX-512 VNNI" if "avx512_vnni" in (self.flags or ()) else "AVX-VNNI"
            return f"{name}: int8 about 2-2.5x float32 encode speed (measured on an AVX-512 VNNI CPU)"
        if self.int8_gain == "fast":
            return "ARM dot product (asimddp): int8 uses dot-product kernels (speed not measured by Ogma)"
        kind = "AVX-512 without VNNI" if self.avx512 else ("AVX2" if self.avx2 else "no AVX2")
        return (
            f"no VNNI ({kind}): int8 about as fast as float32; use it only for its 4x smaller model file"
            if self.is_x86
            else "no ARM dot product: int8 about as fast as float32; use it only for its smaller model file"
        )

    @property
    def reported_flags(self) -> list[str]:
        """The int8-relevant flags present, in a fixed order (empty when unknown)."""
        return [flag for flag in _REPORTED if flag in (self.flags or ())]


def parse_cpuinfo(text: str, *, machine: str | None = None) -> CpuFeatures:
    """Features from the text of Linux's ``/proc/cpuinfo``.

    Reads the ``flags`` lines (x86) and ``Features`` lines (ARM); a text without either
    gives unknown flags.

    Args:
        text: The file's content.
        machine: The architecture (default: ``platform.machine()``).

    Example:
        >>> parse_cpuinfo("Features : fp asimd asimddp", machine="aarch64").arm_dotprod
        True
    """
    flags: set[str] = set()
    found = False
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip().lower() in ("flags", "features"):
            found = True
            flags.update(value.lower().split())
    arch = (machine or platform.machine()).lower()
    return CpuFeatures(arch, frozenset(flags) if found else None, "/proc/cpuinfo" if found else "unknown")


def parse_sysctl(text: str, *, machine: str) -> CpuFeatures:
    """Features from macOS ``sysctl`` output (``machdep.cpu.*features`` and ``hw.optional.arm.*``).

    Args:
        text: ``sysctl`` output, ``name: value`` lines.
        machine: ``"x86_64"`` or ``"arm64"``.

    Example:
        >>> parse_sysctl("machdep.cpu.leaf7_features: AVX2 AVX512F AVX512VNNI", machine="x86_64").vnni
        True
        >>> parse_sysctl("hw.optional.arm.FEAT_DotProd: 1", machine="arm64").arm_dotprod
        True
    """
    flags: set[str] = set()
    found = False
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key.startswith("machdep.cpu.") and key.endswith("features"):
            found = True
            for word in value.lower().replace(".", "_").split():
                flags.add(_SYSCTL_NAMES.get(word.replace("_", ""), word))
        elif key == "hw.optional.arm.FEAT_DotProd":
            found = True
            if value == "1":
                flags.add("asimddp")
    arch = machine.lower()
    return CpuFeatures(arch, frozenset(flags) if found else None, "sysctl" if found else "unknown")


def _read_sysctl(machine: str) -> CpuFeatures:
    names = (
        ["hw.optional.arm.FEAT_DotProd"]
        if machine.lower() in _ARM
        else ["machdep.cpu.features", "machdep.cpu.leaf7_features"]
    )
    try:
        done = subprocess.run(["sysctl", *names], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        logger.debug("sysctl could not be run: %s", exc)
        return CpuFeatures(machine.lower(), None, "unknown")
    return parse_sysctl(done.stdout, machine=machine)


@functools.lru_cache(maxsize=1)
def cpu_features() -> CpuFeatures:
    """This machine's CPU features (read once per process).

    Example:
        >>> cpu_features().int8_gain in ("fast", "none", "unknown")
        True
    """
    machine = platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if sys.platform.startswith("linux") and cpuinfo.is_file():
        try:
            return parse_cpuinfo(cpuinfo.read_text(encoding="utf-8", errors="replace"), machine=machine)
        except OSError as exc:
            logger.debug("could not read %s: %s", cpuinfo, exc)
    elif sys.platform == "darwin":
        return _read_sysctl(machine)
    return CpuFeatures(machine.lower(), None, "unknown")


_warned: set[str] = set()
_warn_lock = threading.Lock()


def _first_time(what: str) -> bool:
    with _warn_lock:
        if what in _warned:
            return False
        _warned.add(what)
        return True


def warn_int8_without_gain(model: str | Path, *, features: CpuFeatures | None = None) -> bool:
    """Log, once per process, that an int8 model cannot run faster than float32 on this CPU.

    Nothing is logged when the CPU has int8 dot-product instructions or its flags are
    unknown. Silence it with ``logging.getLogger("ogma.cpu").setLevel(logging.ERROR)``.

    Args:
        model: The int8 model file (named in the message).
        features: The CPU to judge (default: this one).

    Returns:
        Whether the warning was logged by this call.

    Example:
        >>> vnni = parse_cpuinfo("flags : avx2 avx512_vnni", machine="x86_64")
        >>> warn_int8_without_gain("model_int8.onnx", features=vnni)
        False
    """
    cpu = features if features is not None else cpu_features()
    if cpu.int8_gain != "none" or not _first_time("no-gain"):
        return False
    logger.warning(
        "Running the int8 model %s on a CPU without int8 dot-product instructions (%s). Expect no "
        "speed-up over the float32 model; keep int8 only for its smaller file. (`ogma doctor` shows the "
        'CPU\'s int8 support; silence this with logging.getLogger("ogma.cpu").setLevel(logging.ERROR).)',
        model,
        cpu.int8_summary,
    )
    return True


def warn_int8_may_saturate(model: str | Path, *, features: CpuFeatures | None = None) -> bool:
    """Log, once per process, that an int8 file of unknown format may be inaccurate on this CPU.

    x86 CPUs without VNNI add pairs of u8 x s8 products into saturating int16 sums;
    8-bit weights can overflow them. Ogma's own int8 files use 7-bit weights and cannot;
    this is for int8 files made elsewhere (or by an older Ogma).

    Args:
        model: The int8 model file.
        features: The CPU to judge (default: this one).

    Returns:
        Whether the warning was logged by this call.

    Example:
        >>> warn_int8_may_saturate("model_int8.onnx", features=parse_cpuinfo("flags : avx2", machine="aarch64"))
        False
    """
    cpu = features if features is not None else cpu_features()
    if not (cpu.is_x86 and cpu.int8_gain == "none") or not _first_time("may-saturate"):
        return False
    logger.warning(
        "The int8 model %s was not quantized by this version of Ogma, and this CPU has no VNNI: "
        "its int8 kernel adds pairs of products into saturating 16-bit sums, which 8-bit weights "
        "can overflow, so results may drift from the float32 model. Re-create it with "
        "`ogma convert --int8` (7-bit weights, exact on every CPU) or use the float32 model.",
        model,
    )
    return True
