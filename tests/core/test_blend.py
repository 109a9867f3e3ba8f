"""ogma.blend: the rerank blend's scales, and the frameworks' rule for documents that may carry scores."""

from __future__ import annotations

import numpy as np
import pytest

from ogma.blend import (
    DEFAULT_RERANK_ALPHA,
    blend_scores,
    first_stage_for_blend,
    first_stage_relevance,
    is_blend,
    linear_rescale,
)
from ogma.fusion import hybrid_score, saturate_bm25
from ogma.rerank import Reranker


def test_first_stage_relevance_by_kind() -> None:
    assert first_stage_relevance([0.7, -0.2, 1.3], "cosine").tolist() == [0.7, 0.0, 1.0]
    assert first_stage_relevance([0.42], "hybrid").tolist() == [0.42]
    assert first_stage_relevance([0.0, 5.0, 15.0, -3.0], "bm25").tolist() == [0.0, 0.5, 0.75, 0.0]
    with pytest.raises(ValueError, match="kind must be one of"):
        first_stage_relevance([1.0], "logit")  # type: ignore[arg-type]


def test_bm25_scale_is_the_hybrid_scores() -> None:
    # lexical-mode blends use the saturation the hybrid score gives BM25 (weight 0: BM25 alone)
    for bm25 in (0.3, 2.0, 11.5):
        assert first_stage_relevance([bm25], "bm25")[0] == pytest.approx(hybrid_score(None, bm25, 0.0))
        assert saturate_bm25(bm25) == pytest.approx(bm25 / (bm25 + 5.0))


def test_blend_scores_is_the_linear_rescale_and_the_first_stage() -> None:
    got = blend_scores([-12.0, -3.0, 9.0], [1.0, 0.5, 0.0], 0.3)
    assert got.tolist() == pytest.approx([0.7, 0.3 * 0.5 + 0.7 * 0.5, 0.3])
    wide = blend_scores([0.0], [0.0], 1.0, linear_range=(-2.0, 2.0))
    assert wide.tolist() == pytest.approx(linear_rescale([0.0], low=-2.0, high=2.0).tolist())


@pytest.mark.parametrize(("alpha", "blends"), [(0.3, True), (0.0, True), (0.99, True), (1.0, False), (None, False)])
def test_is_blend(alpha: float | None, blends: bool) -> None:
    assert is_blend(alpha) is blends


def test_first_stage_for_blend_rule(caplog: pytest.LogCaptureFixture) -> None:
    assert first_stage_for_blend([0.9, -0.4, 0.1], DEFAULT_RERANK_ALPHA).tolist() == [0.9, 0.0, 0.1]  # type: ignore[union-attr]
    assert first_stage_for_blend([0.9, 0.1], None) is None and first_stage_for_blend([0.9], 1.0) is None
    assert first_stage_for_blend([], 0.3) is None
    with caplog.at_level("DEBUG", logger="ogma.blend"):
        assert first_stage_for_blend([0.9, None], 0.3) is None
        assert first_stage_for_blend([12.5, 3.0], 0.3) is None
        assert first_stage_for_blend([0.5, float("nan")], 0.3) is None
        assert first_stage_for_blend([0.5, "x"], 0.3) is None
    assert "cross-encoder alone" in caplog.text and "12.5" in caplog.text
    with pytest.raises(ValueError, match=r"alpha=0.5 .* documents \[1\] have no first-stage score"):
        first_stage_for_blend([0.9, None], 0.5, explicit=True)
    with pytest.raises(ValueError, match=r"not on a \[-1, 1\] scale \(document 0 has 12.5"):
        first_stage_for_blend([12.5, 3.0], 0.5, explicit=True)


@pytest.mark.parametrize("normalize", ["sigmoid", "linear", "none"])
def test_reranker_blends_the_linear_rescale_whatever_normalize(tiny_ce, normalize: str) -> None:  # type: ignore[no-untyped-def]
    reranker = Reranker.from_folder(tiny_ce.folder, normalize=normalize)  # type: ignore[arg-type]
    docs = ["paris is the capital of france", "bananas are yellow", "a river"]
    first = [0.2, 0.9, 0.5]
    raw = reranker.score("capital of france", docs)
    results = reranker.rerank("capital of france", docs, first_stage_scores=first, alpha=0.3)
    want = blend_scores(raw, first, 0.3)
    assert {r.index: r.blended_score for r in results} == pytest.approx(dict(enumerate(want.tolist())))
    assert [r.index for r in results] == np.argsort(-want, kind="stable").tolist()
    assert {r.index: r.score for r in results} == pytest.approx(
        dict(enumerate(reranker.normalize_scores(raw).tolist()))
    )
    alone = reranker.rerank("capital of france", docs, first_stage_scores=first, alpha=1.0)
    assert all(r.blended_score is None for r in alone)
    assert [r.index for r in alone] == np.argsort(-raw, kind="stable").tolist()
