"""Combining ranked lists: hybrid fusion and reranking of first-stage hits.

The fusion maths lives in :mod:`ogma.fusion`; this module only adapts the store's
``(rowid, score)`` lists and :class:`~ogma.types.Hit` objects to it and to a reranker.

Example:
    >>> from ogma.types import Hit
    >>> class Reverse:
    ...     def rerank(self, query, documents, top_k=None, **kw):
    ...         from types import SimpleNamespace
    ...         return [SimpleNamespace(index=i, score=float(i)) for i in reversed(range(len(documents)))][:top_k]
    >>> hits = [Hit("a", "x", {}, 0.9), Hit("b", "y", {}, 0.5)]
    >>> [h.id for h in rerank_hits(Reverse(), "q", hits, 2)]
    ['b', 'a']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from ogma.types import Hit

__all__ = ["fuse_ranked", "rerank_hits"]

Ranked = list[tuple[int, float]]


def fuse_ranked(dense: Ranked, lexical: Ranked, fusion: str | Mapping[str, Any] | None) -> Ranked:
    """Fuse two ranked ``(rowid, score)`` lists with :func:`ogma.fusion.fuse`, best first.

    Args:
        dense: Dense hits, best first.
        lexical: Lexical hits, best first.
        fusion: ``None`` (the default method), a method name, or ``{"method": name, **params}``.
    """
    from ogma.fusion import fuse

    params: dict[str, Any] = {}
    if isinstance(fusion, Mapping):
        params = dict(fusion)
    elif fusion is not None:
        params = {"method": fusion}
    if params.get("method") is None:
        params.pop("method", None)
    fused = fuse([(str(r), s) for r, s in dense], [(str(r), s) for r, s in lexical], **params)
    return [(int(item[0]), float(item[1])) for item in fused]


def rerank_hits(reranker: Any, query: str, hits: Sequence[Hit], k: int, *, alpha: float | None = None) -> list[Hit]:
    """Reorder ``hits`` with ``reranker``; keeps the first-stage scores and adds ``"rerank"``.

    With ``alpha``, the reranker blends its score with each hit's first-stage score
    and the blend becomes :attr:`Hit.score`; otherwise the rerank score does.
    """
    if not hits:
        return []
    texts = [h.text for h in hits]
    kwargs: dict[str, Any] = {}
    if alpha is not None:
        kwargs = {"first_stage_scores": [h.score for h in hits], "alpha": alpha}
    results = reranker.rerank(query, texts, top_k=k, **kwargs)
    out: list[Hit] = []
    for result in results:
        hit = hits[int(result.index)]
        rerank_score = float(result.score)
        final = getattr(result, "final_score", rerank_score)
        out.append(dataclasses.replace(hit, score=float(final), scores={**hit.scores, "rerank": rerank_score}))
    out.sort(key=lambda h: -h.score)
    return out[:k]
