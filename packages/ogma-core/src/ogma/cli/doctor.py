"""``ogma doctor``: what the store and the encoders will run on (SQLite driver, sqlite-vec, ONNX Runtime, CPU)."""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import platform
import sys
from typing import Any

__all__ = ["collect", "register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``doctor`` command."""
    parser = subparsers.add_parser(
        "doctor",
        help="check the SQLite driver, sqlite-vec, FTS5, ONNX Runtime, PyTorch and the CPU's int8 support",
        description="Report which SQLite driver the store uses (stdlib sqlite3 or apsw) and its SQLite, "
        "sqlite-vec and FTS5 support, the ONNX Runtime version and providers, whether PyTorch "
        "is installed, and the CPU's int8 support (AVX2, AVX-512, VNNI, ARM dot product) with what "
        "int8 models gain on it. Exits with status 1 when the store cannot run.",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def _onnxruntime() -> dict[str, Any]:
    try:
        import onnxruntime
    except ImportError as exc:
        return {"installed": False, "error": str(exc)}
    return {
        "installed": True,
        "version": onnxruntime.__version__,
        "providers": list(onnxruntime.get_available_providers()),
    }


def _torch() -> dict[str, Any]:
    # Read the installed version without importing torch (which takes seconds).
    if importlib.util.find_spec("torch") is None:
        return {"installed": False}
    try:
        return {"installed": True, "version": importlib.metadata.version("torch")}
    except importlib.metadata.PackageNotFoundError:
        return {"installed": True, "version": "unknown"}


def _cpu() -> dict[str, Any]:
    from ogma.cpu import cpu_features

    cpu = cpu_features()
    known = cpu.flags is not None
    return {
        "machine": cpu.machine,
        "flags_source": cpu.source,
        "avx2": cpu.avx2,
        "avx512": cpu.avx512,
        "vnni": cpu.vnni,
        "arm_dotprod": cpu.arm_dotprod,
        "int8_flags": cpu.reported_flags if known else None,
        "int8_gain": cpu.int8_gain,
        "int8": cpu.int8_summary,
    }


def collect() -> dict[str, Any]:
    """Everything ``ogma doctor`` reports, as a dict."""
    from ogma.store.sqlite.connect import driver_info

    return {
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "sqlite": driver_info(),
        "onnxruntime": _onnxruntime(),
        "torch": _torch(),
        "cpu": _cpu(),
    }


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


def run(args: argparse.Namespace) -> int:
    """Run ``ogma doctor``."""
    report = collect()
    sqlite = report["sqlite"]
    ok = sqlite.get("driver") is not None and bool(sqlite.get("fts5"))
    if args.json:
        print(json.dumps({**report, "ok": ok}, indent=2))
        return 0 if ok else 1
    lines = [
        f"python            {report['python']} ({report['platform']})",
        f"sqlite driver     {sqlite.get('driver') or 'NONE'}",
        f"sqlite version    {sqlite.get('sqlite_version') or '-'}",
        f"sqlite-vec        {sqlite.get('sqlite_vec_version') or '-'}",
        f"fts5              {_yes(sqlite.get('fts5'))}",
        f"json functions    {_yes(sqlite.get('json'))}",
        f"stdlib sqlite3    {sqlite['stdlib_sqlite_version']}, can load extensions: "
        f"{_yes(sqlite['stdlib_can_load_extensions'])}"
        + (f" (not used: {sqlite['stdlib_reason']})" if sqlite.get("stdlib_reason") else ""),
    ]
    ort = report["onnxruntime"]
    lines.append(
        f"onnxruntime       {ort['version']} ({', '.join(ort['providers'])})"
        if ort["installed"]
        else "onnxruntime       NOT INSTALLED"
    )
    torch = report["torch"]
    lines.append(
        f"torch             {torch['version']}"
        if torch["installed"]
        else "torch             not installed (only needed to convert checkpoints: pip install 'ogma-core[torch]')"
    )
    cpu = report["cpu"]
    flags = cpu["int8_flags"]
    lines.append(
        f"cpu               {cpu['machine']}; int8-relevant flags: "
        + ((", ".join(flags) or "none") if flags is not None else "unknown")
    )
    lines.append(f"int8 models       {cpu['int8']}")
    if not ok:
        lines.append(f"\nproblem: {sqlite.get('error', 'FTS5 is missing from this SQLite build')}")
    print("\n".join(lines))
    return 0 if ok else 1
