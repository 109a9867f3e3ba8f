"""The document record the store returns from ``get`` and ``iter_documents``.

Example:
    >>> Document(id="d1", text="hello", metadata={"lang": "en"}).metadata["lang"]
    'en'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["Document"]


@dataclass(frozen=True)
class Document:
    """One stored document.

    Attributes:
        id: The document id.
        text: The text, or ``None`` for a document stored without content.
        metadata: The metadata (a fresh dict per call; mutate freely).
        embedding: The stored float32 vector, when asked for (exactly as added); ``None``
            for a document stored without a vector, even when asked for.

    Example:
        >>> Document(id="a", text="t", metadata={}).embedding is None
        True
    """

    id: str
    text: str | None
    metadata: dict[str, Any]
    embedding: npt.NDArray[np.float32] | None = field(default=None, repr=False, compare=False)
