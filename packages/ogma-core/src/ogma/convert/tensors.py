"""Reading ``.safetensors`` files into NumPy, including bfloat16 tensors NumPy has no dtype for.

Example:
    >>> import tempfile, numpy as np
    >>> from pathlib import Path
    >>> from safetensors.numpy import save_file
    >>> file = Path(tempfile.mkdtemp()) / "w.safetensors"
    >>> save_file({"w": np.ones((2, 2), np.float32)}, str(file))
    >>> read_safetensors(file)["w"].shape
    (2, 2)
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_safetensors"]

_DTYPES: dict[str, str] = {
    "F64": "<f8",
    "F32": "<f4",
    "F16": "<f2",
    "I64": "<i8",
    "I32": "<i4",
    "I16": "<i2",
    "I8": "i1",
    "U8": "u1",
    "BOOL": "?",
}


def _header(file: Path) -> tuple[dict[str, dict[str, Any]], int]:
    with file.open("rb") as handle:
        (size,) = struct.unpack("<Q", handle.read(8))
        header = json.loads(handle.read(size))
    header.pop("__metadata__", None)
    return header, 8 + size


def read_safetensors(file: Path) -> dict[str, np.ndarray]:
    """Load every tensor of ``file``; bfloat16 tensors are widened to float32 exactly.

    Args:
        file: A ``.safetensors`` file.

    Returns:
        Tensor name to array.

    Raises:
        SafetensorError, OSError, ValueError: The file is corrupt or truncated.
        TypeError: A tensor has a dtype with no NumPy equivalent other than bfloat16.
    """
    from safetensors.numpy import load_file

    try:
        return load_file(str(file))
    except TypeError:
        header, start = _header(file)
        if not any(info.get("dtype") == "BF16" for info in header.values()):
            raise
    raw = np.memmap(file, dtype=np.uint8, mode="r")
    tensors: dict[str, np.ndarray] = {}
    for name, info in header.items():
        dtype, shape, offsets = str(info["dtype"]), info["shape"], info["data_offsets"]
        begin, end = (start + int(o) for o in offsets)
        chunk = np.asarray(raw[begin:end])
        if dtype == "BF16":
            value = (chunk.view("<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in _DTYPES:
            value = chunk.view(_DTYPES[dtype]).copy()
        else:
            raise TypeError(f"tensor {name!r} has dtype {dtype}, which NumPy cannot represent")
        tensors[name] = value.reshape([int(d) for d in shape])
    return tensors
