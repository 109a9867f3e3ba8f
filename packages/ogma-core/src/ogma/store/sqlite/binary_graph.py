"""What a binary store's graph holds (int8 codes scaled per vector) and how it checks its search expansion.

A binary store's graph (:mod:`ogma.store.sqlite.hnsw`) does not walk the store's sign bits: it
holds :func:`scaled_int8` codes, searched by cosine, and its candidates are rescored with the
float32 vectors. Graphs hold up on clustered data but not on vectors with no structure: on 100,000 uniform
random 384-d vectors an expansion of 128 found a seventh of the true neighbours
(``docs/benchmarks.md``, "Approximate index"). :func:`check_expansion` finds the least
expansion that does find them, or says that none does (the store then searches exactly).

Example:
    >>> import numpy as np
    >>> scaled_int8(np.array([[0.5, -0.25, 0.0]], dtype=np.float32)).tolist()
    [[127, -64, 0]]
"""

from __future__ import annotations

import logging
import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "BINARY_OVERSAMPLE",
    "CHECK_QUERIES",
    "CHECK_RECALL",
    "CHECK_STEPS",
    "REFERENCE_EXPANSION",
    "check_expansion",
    "scaled_int8",
]

logger = logging.getLogger(__name__)

BINARY_OVERSAMPLE = 2.0
"""Candidates taken from a binary store's int8 graph per result wanted (without an explicit ``oversample``),
then rescored with the float32 vectors (``benchmarks/results/hnsw-binary-designs-100k.json``)."""

CHECK_QUERIES = 16
"""Stored vectors a binary store's graph walks as queries to check its own expansion
(:meth:`~ogma.store.sqlite.hnsw.HnswIndex.expansion`)."""

CHECK_RECALL = 0.98
"""The share of a reference walk's ``k`` nearest that a binary store's graph must find among its candidates."""

CHECK_STEPS = 3
"""A binary store's graph tries its default expansion and up to this many doublings of it
(128 × 8 = 1,024 up to 100,000 vectors) before it counts as unfit: beyond, the exact scan of the
store's sign bits and int8 copy was faster."""

REFERENCE_EXPANSION = 16
"""The reference walk of the check uses this many times the default expansion (2,048 up to 100,000 vectors)."""


def scaled_int8(unit: npt.NDArray[np.float32]) -> npt.NDArray[np.int8]:
    """int8 codes of vectors, each scaled so that its largest component is 127 (zero rows stay zero).

    What a binary store's graph holds. Cosine does not see the scale, so each vector keeps the
    int8 range in full: usearch's own conversion of float input scales unit vectors by 127, which
    leaves the components of a 384-d unit vector (about 0.05) a dozen levels.

    Example:
        >>> scaled_int8(np.array([[0.5, -0.25, 0.0]], dtype=np.float32)).tolist()
        [[127, -64, 0]]
    """
    rows = np.asarray(unit, dtype=np.float32)
    scale = np.max(np.abs(rows), axis=1, keepdims=True, initial=0.0) / 127.0
    return np.clip(np.rint(rows / np.where(scale > 0, scale, 1.0)), -127, 127).astype(np.int8)


def check_expansion(index: Any, base: int, oversample: float, store_path: str, k: int = 10) -> int | None:
    """The least expansion from ``base`` up at which the usearch ``index`` finds what a reference walk finds.

    :data:`CHECK_QUERIES` of the graph's own vectors (picked by a generator seeded with its size)
    are walked as queries, each one's own key left out: :data:`CHECK_RECALL` of the ``k`` nearest
    that a walk at :data:`REFERENCE_EXPANSION` times ``base`` finds must be among the
    ``k × oversample`` candidates of a walk at the expansion tried: ``base``, then up to
    :data:`CHECK_STEPS` doublings. ``None`` (with a warning) when none of them does. Leaves
    ``index.expansion_search`` changed: the caller sets its own.
    """
    size = int(index.size)
    picks = np.random.default_rng(size).choice(size, CHECK_QUERIES, replace=False)
    stored = index.keys
    picked = np.array([stored[int(i)] for i in picks], dtype=np.uint64)
    held = [(int(key), vector) for key, vector in zip(picked, index.get(picked)) if vector is not None]
    if not held:
        return base
    sample = np.array([key for key, _ in held], dtype=np.int64)
    queries = np.stack([vector for _, vector in held]).reshape(len(held), -1)

    def walk(expansion: int, count: int) -> list[list[int]]:
        index.expansion_search = expansion
        found = np.asarray(index.search(queries, min(count + 1, size), threads=1).keys, dtype=np.int64)
        return [[int(key) for key in row if key != own][:count] for row, own in zip(found, sample.tolist())]

    reference = [set(row[:k]) for row in walk(base * REFERENCE_EXPANSION, k)]
    wanted = sum(len(row) for row in reference)
    candidates = max(k, math.ceil(k * oversample))
    found = 0.0
    for step in range(CHECK_STEPS + 1):
        expansion = base * 2**step
        found = sum(len(ref & set(row)) for ref, row in zip(reference, walk(expansion, candidates))) / wanted
        if found >= CHECK_RECALL:
            logger.debug("the HNSW graph of %s: expansion %d (%.3f of a reference walk)", store_path, expansion, found)
            return expansion
    logger.warning(
        "the HNSW graph of %s finds %.2f of its own nearest neighbours at expansion %d (%d vectors without the "
        "structure a graph needs): searching exactly",
        store_path,
        found,
        base * 2**CHECK_STEPS,
        size,
    )
    return None
