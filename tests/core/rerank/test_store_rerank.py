"""ogma.Store reranks its hits with a real Reranker (synthetic cross-encoder)."""

from __future__ import annotations

import numpy as np
import pytest

from ogma.blend import DEFAULT_RERANK_ALPHA, linear_rescale
from ogma.fusion import saturate_bm25
from ogma.rerank import Reranker

store_module = pytest.importorskip("ogma.store")

TEXTS = ["paris is the capital of france", "bananas are yellow", "berlin is the capital of germany", "a fruit"]


def embed(texts: list[str]) -> np.ndarray:
    vocab = sorted({w for t in TEXTS for w in t.split()})
    return np.array([[t.split().count(w) + 0.01 for w in vocab] for t in texts], dtype=np.float32)


def _cross(reranker: Reranker, query: str, texts: dict[str, str]) -> dict[str, float]:
    """The cross-encoder side of the blend: the linear rescale of each document's logit."""
    raw = reranker.score(query, list(texts.values()))
    low, high = reranker.linear_range
    return dict(zip(texts, linear_rescale(raw, low=low, high=high).tolist(), strict=True))


def test_store_search_with_reranker(tiny_ce) -> None:  # type: ignore[no-untyped-def]
    reranker = Reranker.from_folder(tiny_ce.folder, normalize="linear", linear_range=(-6.0, 6.0))
    query = "capital of france"
    with store_module.Store(":memory:", embed) as store:
        store.add(TEXTS, ids=[f"d{i}" for i in range(len(TEXTS))])
        hits = store.search(query, k=3, mode="dense", rerank=reranker, rerank_k=4, rerank_alpha=None)
        pure = store.search(query, k=3, mode="dense", rerank=reranker, rerank_k=4, rerank_alpha=1.0)
        blended = store.search(query, k=4, mode="dense", rerank=reranker, rerank_k=4, rerank_alpha=0.5)
    assert [(h.id, h.score) for h in pure] == [(h.id, h.score) for h in hits]  # 1.0 and None: reranking alone
    expected = reranker.rerank(query, TEXTS, top_k=3)
    assert [h.id for h in hits] == [f"d{r.index}" for r in expected]
    assert [h.scores["rerank"] for h in hits] == pytest.approx([r.score for r in expected])
    assert [h.score for h in hits] == pytest.approx([r.score for r in expected])
    assert all("dense" in h.scores for h in blended)
    for hit in blended:
        assert hit.score == pytest.approx(0.5 * hit.scores["rerank"] + 0.5 * hit.scores["dense"], abs=1e-6)


@pytest.mark.parametrize("normalize", ["sigmoid", "linear"])
def test_default_search_blends_whatever_the_reranker_reports(tiny_ce, normalize: str) -> None:  # type: ignore[no-untyped-def]
    # The default path (no rerank_alpha) blends DEFAULT_RERANK_ALPHA of the logit's linear rescale
    # with the cosine; the reranker's normalize only sets scores["rerank"].
    reranker = Reranker.from_folder(tiny_ce.folder, normalize=normalize)  # type: ignore[arg-type]
    query = "capital of france"
    texts = {f"d{i}": t for i, t in enumerate(TEXTS)}
    with store_module.Store(":memory:", embed) as store:
        store.add(TEXTS, ids=list(texts))
        hits = store.search(query, k=4, rerank=reranker, rerank_k=4)
    cross = _cross(reranker, query, texts)
    want = {
        h.id: DEFAULT_RERANK_ALPHA * cross[h.id] + (1 - DEFAULT_RERANK_ALPHA) * min(max(h.scores["dense"], 0.0), 1.0)
        for h in hits
    }
    assert {h.id: h.score for h in hits} == pytest.approx(want, abs=1e-6)
    assert [h.id for h in hits] == sorted(want, key=lambda d: -want[d])
    reported = reranker.rerank(query, list(texts.values()))
    assert {h.id: h.scores["rerank"] for h in hits} == pytest.approx({f"d{r.index}": r.score for r in reported})


def test_lexical_blend_saturates_bm25(tiny_ce) -> None:  # type: ignore[no-untyped-def]
    # In lexical mode the first-stage side is bm25 / (bm25 + 5), the hybrid score's scale.
    reranker = Reranker.from_folder(tiny_ce.folder)
    query = "capital"
    texts = {f"d{i}": t for i, t in enumerate(TEXTS)}
    with store_module.Store(":memory:", embed) as store:
        store.add(TEXTS, ids=list(texts))
        hits = store.search(query, k=4, mode="lexical", rerank=reranker)
    cross = _cross(reranker, query, texts)
    assert {h.id for h in hits} == {"d0", "d2"} and all(h.scores["lexical"] > 0 for h in hits)
    for hit in hits:
        first = saturate_bm25(hit.scores["lexical"])
        assert hit.score == pytest.approx(DEFAULT_RERANK_ALPHA * cross[hit.id] + (1 - DEFAULT_RERANK_ALPHA) * first)
