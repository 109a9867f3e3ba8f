"""Where Ogma keeps its files: the one place that knows the cache folder.

A leaf module (it imports nothing from Ogma), so the model resolver (:mod:`ogma.hub`)
and the cache (:mod:`ogma.disk_cache`) both use it without importing each other.

Example:
    >>> import os
    >>> ogma_home().name in ("ogma", os.path.basename(os.environ.get("OGMA_HOME", "ogma")))
    True
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["ogma_home"]


def ogma_home() -> Path:
    """Where Ogma caches converted, exported and quantized models.

    ``$OGMA_HOME`` if set, else ``$XDG_CACHE_HOME/ogma``, else ``~/.cache/ogma``.
    """
    if env := os.environ.get("OGMA_HOME"):
        return Path(env).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "ogma"
