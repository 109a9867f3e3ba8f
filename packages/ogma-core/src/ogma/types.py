"""Shared value types: task and precision names, search hits, the embedder protocol.

Example:
    >>> from ogma.types import Hit
    >>> Hit(id="a", text="hello", metadata={}, score=0.5).score
    0.5
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

__all__ = [
    "PRECISIONS",
    "SEARCH_MODES",
    "TASKS",
    "Embedder",
    "Hit",
    "Precision",
    "SearchMode",
    "Task",
]

Task = Literal["query", "document", "symmetric"]
"""How a text is encoded: as a search query, a document to be found, or symmetrically."""

Precision = Literal["float32", "int8", "uint8", "binary", "ubinary"]
"""Output precision of an embedding (see :mod:`ogma.compress`)."""

SearchMode = Literal["dense", "lexical", "hybrid"]

TASKS: tuple[Task, ...] = ("query", "document", "symmetric")
PRECISIONS: tuple[Precision, ...] = ("float32", "int8", "uint8", "binary", "ubinary")
SEARCH_MODES: tuple[SearchMode, ...] = ("dense", "lexical", "hybrid")

FloatArray = npt.NDArray[np.float32]


@runtime_checkable
class Embedder(Protocol):
    """Anything that embeds documents and queries: the contract the store relies on.

    :class:`ogma.TextEncoder` satisfies it, and the framework adapters wrap their
    frameworks' embeddings into it.
    """

    def embed_documents(self, texts: list[str]) -> Any:
        """Embed documents; returns a 2-D array-like, one row per text."""
        ...

    def embed_query(self, text: str) -> Any:
        """Embed one query; returns a 1-D array-like."""
        ...


@dataclass(frozen=True)
class Hit:
    """One search result.

    Attributes:
        id: The document id.
        text: The document text (``None`` for a document stored without content).
        metadata: The document's metadata (a copy; mutate freely).
        score: The final score the hits are ranked by (higher is better).
        scores: Per-stage scores, e.g. ``{"dense": 0.71, "lexical": 7.2, "fused": 0.83,
            "rerank": 0.97}``; only the stages that ran are present.
        embedding: The stored float embedding, when it was asked for (``None`` for a
            document stored without a vector).

    Example:
        >>> hit = Hit(id="d1", text="Paris is in France", metadata={"lang": "en"}, score=0.9,
        ...           scores={"dense": 0.9})
        >>> hit.scores["dense"]
        0.9
    """

    id: str
    text: str | None
    metadata: dict[str, Any]
    score: float
    scores: dict[str, float] = field(default_factory=dict)
    embedding: FloatArray | None = field(default=None, repr=False, compare=False)
