"""Ogma: local-first retrieval. Small ONNX embedding models, one SQLite file, hybrid search.

The public API is small; everything else lives in submodules (``ogma.compress``,
``ogma.registry``, ``ogma.evaluate``, ...). Heavy imports happen on first use, so
``import ogma`` is cheap.

Example:
    >>> import ogma
    >>> sorted(ogma.__all__)[:3]
    ['Hit', 'OgmaError', 'RemoteEncoder']
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ogma.errors import OgmaError
from ogma.types import Hit

if TYPE_CHECKING:
    from ogma.encoder import TextEncoder
    from ogma.remote import RemoteEncoder
    from ogma.rerank import Reranker
    from ogma.store import Store

__version__ = "0.1.0"
__all__ = ["Hit", "OgmaError", "RemoteEncoder", "Reranker", "Store", "TextEncoder", "__version__"]

_LAZY = {
    "TextEncoder": "ogma.encoder",
    "Store": "ogma.store",
    "Reranker": "ogma.rerank",
    "RemoteEncoder": "ogma.remote",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ogma' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
