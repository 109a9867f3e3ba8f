"""The single-file SQLite store: documents, metadata, FTS5 and vectors.

Example:
    >>> import numpy as np
    >>> from ogma.store import Store
    >>> with Store(":memory:", dim=2) as store:
    ...     _ = store.add(["hello"], ids=["h"], embeddings=np.array([[1.0, 0.0]], dtype=np.float32))
    ...     store.get(["h"])[0].text
    'hello'
"""

from __future__ import annotations

from ogma.store.document import Document
from ogma.store.sqlite.connect import driver_info
from ogma.store.sqlite.store import Store

__all__ = ["Document", "Store", "driver_info"]
