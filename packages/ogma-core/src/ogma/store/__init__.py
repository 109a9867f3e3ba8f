"""Document stores: one protocol, one folder per backend.

``Store`` is the SQLite backend (``ogma.store.sqlite``): documents, metadata, FTS5 and
vectors in one file. :class:`~ogma.store.protocol.StoreProtocol` names what every
backend offers; adapters depend on it, not on SQLite.

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
from ogma.store.protocol import StoreProtocol
from ogma.store.sqlite.connect import driver_info
from ogma.store.sqlite.store import Store

__all__ = ["Document", "Store", "StoreProtocol", "driver_info"]
