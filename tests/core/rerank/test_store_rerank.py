"""ogma.Store reranks its hits with a real Reranker (synthetic cross-encoder)."""

from __future__ import annotations

import numpy as np
import pytest

from ogma.rerank import Reranker

store_module = pytest.importorskip("ogma.store")

TEXTS = ["paris is the capital of france", "bananas are yellow", "berlin is the capital of germany", "a fruit"]


def embed(texts: list[str]) -> np.ndarray:
    vocab = sorted({w for t in TEXTS for w in t.split()})
    return np.array([[t.split().count(w) + 0.01 for w in vocab] for t in texts], dtype=np.float32)


def test_store_search_with_reranker(tiny_ce) -> None:  # type: ignore[no-untyped-def]
    reranker = Reranker.from_folder(tiny_ce.folder, normalize="linear", linear_range=(-6.0, 6.0))
    query = "capital of france"
    with store_module.Store(":memory:", embed) as store:
        store.add(TEXTS, ids=[f"d{i}" for i in range(len(TEXTS))])
        hits = store.search(query, k=3, mode="dense", rerank=reranker, rerank_k=4, rerank_alpha=None)
        blended = store.search(query, k=4, mode="dense", rerank=reranker, rerank_k=4, rerank_alpha=0.5)
        default = store.search(query, k=3, mode="dense", rerank=reranker, rerank_k=4)  # rerank only
    assert [(h.id, h.score) for h in default] == [(h.id, h.score) for h in hits]
    expected = reranker.rerank(query, TEXTS, top_k=3)
    assert [h.id for h in hits] == [f"d{r.index}" for r in expected]
    assert [h.scores["rerank"] for h in hits] == pytest.approx([r.score for r in expected])
    assert all("dense" in h.scores for h in blended)
    for hit in blended:
        assert hit.score == pytest.approx(0.5 * hit.scores["rerank"] + 0.5 * hit.scores["dense"], abs=1e-6)
