"""Maximal marginal relevance: pick results that are relevant and unlike each other.

Example:
    >>> import numpy as np
    >>> q = np.array([1.0, 0.0], dtype=np.float32)
    >>> docs = np.array([[1.0, 0.0], [0.99, 0.14], [0.6, 0.8]], dtype=np.float32)
    >>> mmr_select(q, docs, 2, lambda_mult=0.3)
    [0, 2]
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from ogma.compress import normalize

__all__ = ["mmr_select"]


def mmr_select(
    query: npt.NDArray[np.float32], candidates: npt.NDArray[np.float32], k: int, *, lambda_mult: float = 0.5
) -> list[int]:
    """Indices of ``k`` candidates chosen greedily by MMR, in selection order.

    Each step takes the candidate maximising
    ``lambda_mult · sim(query, d) − (1 − lambda_mult) · max sim(d, chosen)`` (cosine).

    Args:
        query: ``(d,)`` query vector.
        candidates: ``(n, d)`` candidate vectors.
        k: How many to pick.
        lambda_mult: 1 = relevance only, 0 = diversity only.

    Raises:
        ValueError: ``lambda_mult`` outside ``[0, 1]``.
    """
    if not 0.0 <= lambda_mult <= 1.0:
        raise ValueError(f"lambda_mult must be between 0 and 1, got {lambda_mult!r}")
    n = candidates.shape[0]
    if n == 0 or k <= 0:
        return []
    unit = normalize(candidates)
    relevance = unit @ normalize(query)[0]
    chosen: list[int] = [int(np.argmax(relevance))]
    redundancy = unit @ unit[chosen[0]]
    while len(chosen) < min(k, n):
        score = lambda_mult * relevance - (1.0 - lambda_mult) * redundancy
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        redundancy = np.maximum(redundancy, unit @ unit[best])
    return chosen
