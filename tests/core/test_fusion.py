"""Fusion functions on hand-made ranked lists."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ogma.errors import FusionError
from ogma.fusion import (
    DEFAULT_ALPHA,
    DEFAULT_ALPHA_LEXICAL,
    DEFAULT_NORMALIZATION,
    FusedHit,
    convex_combination,
    fuse,
    identifier_likeness,
    keyword_likeness,
    normalize_scores,
    reciprocal_rank_fusion,
)


def test_rrf_formula_and_order() -> None:
    fused = dict(reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60))
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert [d for d, _ in reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]])] == ["a", "c", "b"]


def test_rrf_accepts_pairs_weights_and_ignores_duplicates() -> None:
    fused = reciprocal_rank_fusion([[("a", 9.0), ("a", 8.0), ("b", 1.0)], [("b", 3.0)]], k=0, weights=[1.0, 2.0])
    assert fused == [("b", 0.5 + 2.0), ("a", 1.0)]
    with pytest.raises(ValueError, match="one finite, non-negative weight per ranking"):
        reciprocal_rank_fusion([["a"]], weights=[1.0, 2.0])
    with pytest.raises(ValueError, match="k must be >= 0"):
        reciprocal_rank_fusion([["a"]], k=-1)


def test_rrf_ties_keep_first_seen_order() -> None:
    assert [d for d, _ in reciprocal_rank_fusion([["a"], ["b"]])] == ["a", "b"]


def test_normalize_scores_methods() -> None:
    assert normalize_scores([0.6, 0.0], kind="cosine") == pytest.approx([1.0, 0.625])
    assert normalize_scores([10.0, 5.0], kind="bm25") == [1.0, 0.5]
    assert normalize_scores([3.0, 1.0, 2.0], method="minmax") == [1.0, 0.0, 0.5]
    assert normalize_scores([4.0, 1.0], method="max") == [1.0, 0.25]
    assert normalize_scores([4.0, 1.0], method="none") == [4.0, 1.0]
    assert normalize_scores([2.0, 2.0], method="minmax") == [1.0, 1.0]
    assert normalize_scores([]) == []
    # unbounded scores fall back to the observed minimum
    assert normalize_scores([5.0, 1.0, 3.0]) == [1.0, 0.0, 0.5]
    with pytest.raises(ValueError, match="valid: theoretical"):
        normalize_scores([1.0], method="zscore")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="score kind"):
        normalize_scores([1.0], kind="dot")  # type: ignore[arg-type]


def test_theoretical_normalisation_is_independent_of_list_length() -> None:
    short = normalize_scores([0.8, 0.7], kind="cosine")
    long = normalize_scores([0.8, 0.7, 0.1, -0.2], kind="cosine")
    assert short == long[:2]
    assert normalize_scores([0.8, 0.7], method="minmax") != normalize_scores([0.8, 0.7, 0.1], method="minmax")[:2]


def test_convex_combination_values() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    lexical = [("c", 10.0), ("b", 5.0)]
    fused = dict(convex_combination(dense, lexical, alpha=0.5))
    # dense min-max: a=1, b=0.5, c=0; BM25 / max: c=1, b=0.5, a missing -> 0
    assert fused == pytest.approx({"a": 0.5, "b": 0.5, "c": 0.5})
    fused = dict(convex_combination(dense, lexical, alpha=1.0))
    assert fused == pytest.approx({"a": 1.0, "b": 0.5, "c": 0.0})
    fused = dict(convex_combination(dense, lexical, alpha=0.0))
    assert fused == pytest.approx({"a": 0.0, "b": 0.5, "c": 1.0})
    with pytest.raises(ValueError, match="alpha must be in"):
        convex_combination(dense, lexical, alpha=1.5)


def test_convex_pair_normalisation() -> None:
    dense = [("a", 0.6), ("b", 0.0)]
    fused = dict(convex_combination(dense, [], alpha=1.0, normalization=("theoretical", "max")))
    assert fused == pytest.approx({"a": 1.0, "b": 0.625})


def test_fuse_default_is_the_documented_adaptive_convex() -> None:
    dense = [("a", 0.82), ("b", 0.80), ("c", 0.41)]
    lexical = [("c", 12.0), ("a", 3.0)]
    assert DEFAULT_ALPHA == 0.85 and DEFAULT_ALPHA_LEXICAL == 0.2
    assert DEFAULT_NORMALIZATION == ("minmax", "theoretical")
    for query, alpha in (
        (None, DEFAULT_ALPHA),
        ("how are a and c related", DEFAULT_ALPHA),
        ("proxy", DEFAULT_ALPHA_LEXICAL),
        ("init.defaultBranch", DEFAULT_ALPHA_LEXICAL),
        ("set max_seq_length now", DEFAULT_ALPHA - (DEFAULT_ALPHA - DEFAULT_ALPHA_LEXICAL) / 3),
    ):
        explicit = fuse(dense, lexical, method="convex", alpha=alpha, normalization=DEFAULT_NORMALIZATION)
        default = fuse(dense, lexical, query=query)
        assert [h.id for h in default] == [h.id for h in explicit]
        assert [h.score for h in default] == pytest.approx([h.score for h in explicit])
        assert default == fuse(dense, lexical, method="adaptive", query=query)


def test_fuse_returns_raw_scores_per_source() -> None:
    hits = fuse([("a", 0.9), ("b", 0.7)], [("b", 5.0), ("z", 1.0)], method="rrf")
    assert all(isinstance(h, FusedHit) for h in hits)
    by_id = {h.id: h for h in hits}
    assert by_id["a"].scores == {"dense": 0.9, "lexical": None}
    assert by_id["b"].scores == {"dense": 0.7, "lexical": 5.0}
    assert by_id["z"].scores == {"dense": None, "lexical": 1.0}
    doc_id, score, scores = hits[0]
    assert doc_id == "b" and score > 0 and scores["dense"] == 0.7


@pytest.mark.parametrize("method", ["default", "rrf", "weighted_rrf", "convex"])
def test_fuse_one_empty_list_keeps_the_other_order(method: str) -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.2)]
    assert [h.id for h in fuse(dense, [], method=method)] == ["a", "b", "c"]  # type: ignore[arg-type]
    lexical = [("x", 9.0), ("y", 3.0)]
    assert [h.id for h in fuse([], lexical, method=method)] == ["x", "y"]  # type: ignore[arg-type]
    assert fuse([], [], method=method) == []  # type: ignore[arg-type]


def test_fuse_limit_and_weighted_rrf() -> None:
    dense = [("a", 0.9), ("b", 0.5)]
    lexical = [("b", 9.0), ("a", 3.0)]
    assert [h.id for h in fuse(dense, lexical, method="weighted_rrf")] == ["a", "b"]
    assert [h.id for h in fuse(dense, lexical, method="weighted_rrf", weights=(0.5, 1.0))] == ["b", "a"]
    assert len(fuse(dense, lexical, limit=1)) == 1


def test_fuse_rejects_bad_options() -> None:
    with pytest.raises(ValueError, match="valid: default, rrf, weighted_rrf, convex"):
        fuse([], [], method="borda")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="alpha do not apply to method='rrf'"):
        fuse([], [], method="rrf", alpha=0.5)
    with pytest.raises(ValueError, match="k do not apply to method='convex'"):
        fuse([], [], method="convex", k=10)
    with pytest.raises(ValueError, match="finite score"):
        fuse([("a", math.nan)], [])
    with pytest.raises(ValueError, match="finite score"):
        fuse([], [("a", math.inf)])


_ranking = st.lists(
    st.tuples(st.sampled_from("abcdefgh"), st.floats(min_value=-1, max_value=1)), max_size=8, unique_by=lambda p: p[0]
).map(lambda r: sorted(r, key=lambda p: -p[1]))
_bm25 = st.lists(
    st.tuples(st.sampled_from("abcdefghxyz"), st.floats(min_value=0, max_value=30)),
    max_size=8,
    unique_by=lambda p: p[0],
).map(lambda r: sorted(r, key=lambda p: -p[1]))


@given(dense=_ranking, lexical=_bm25, method=st.sampled_from(["default", "rrf", "weighted_rrf", "convex"]))
def test_fuse_properties(dense: list[tuple[str, float]], lexical: list[tuple[str, float]], method: str) -> None:
    hits = fuse(dense, lexical, method=method)  # type: ignore[arg-type]
    assert {h.id for h in hits} == {d for d, _ in dense} | {d for d, _ in lexical}
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    assert all(math.isfinite(s) for s in scores)
    if method in ("default", "convex"):
        assert all(-1e-9 <= s <= 1 + 1e-9 for s in scores)


@pytest.mark.parametrize(
    ("query", "likeness"),
    [
        ("init.defaultBranch", 1.0),
        ("os.path.join", 1.0),
        ("max_seq_length", 1.0),
        ("__init__", 1.0),
        ("--dry-run", 1.0),
        ("ArgumentParser", 1.0),
        ("defaultBranch", 1.0),
        ("`sys.meta_path`,", 1.0),
        ("how do I set max_seq_length?", 0.2),
        ("Who founded the city of Rome?", 0.0),
        ("Which U.S. state has been admitted latest?", 0.0),
        ("e.g. a city-state", 0.0),
        ("Boeing 747 MI6 YMCA C++ 3.14", 0.0),
        ("", 0.0),
        ("   ", 0.0),
    ],
)
def test_identifier_likeness(query: str, likeness: float) -> None:
    assert identifier_likeness(query) == pytest.approx(likeness)


def test_identifier_likeness_of_non_text_is_zero() -> None:
    assert identifier_likeness(None) == 0.0  # type: ignore[arg-type]


def test_identifier_query_puts_the_lexical_top_hit_first() -> None:
    # "init.defaultBranch": dense ranks release notes that talk about branches and
    # initialisation; only one note has the exact key, and BM25 ranks it first.
    dense = [("branches", 0.61), ("init-docs", 0.60), ("clone", 0.58), ("note-2.28", 0.52), ("misc", 0.30)]
    lexical = [("note-2.28", 14.0), ("init-docs", 3.0), ("misc", 2.5)]
    old = fuse(dense, lexical, method="convex", alpha=0.85)
    assert [h.id for h in old][:3] == ["init-docs", "branches", "clone"]  # the old default: dense's list
    assert fuse(dense, lexical, query="init.defaultBranch")[0].id == "note-2.28"
    # Without the query text, the default cannot tell, and stays with dense.
    assert fuse(dense, lexical)[0].id == "init-docs"


def test_adaptive_alpha_moves_with_identifier_likeness() -> None:
    dense = [("a", 0.9), ("b", 0.5), ("c", 0.1)]
    lexical = [("c", 10.0), ("b", 5.0)]
    prose = dict((h.id, h.score) for h in fuse(dense, lexical, method="adaptive", alpha=0.8, query="a question"))
    ident = dict(
        (h.id, h.score) for h in fuse(dense, lexical, method="adaptive", alpha=0.8, alpha_lexical=0.2, query="x_y")
    )
    assert prose == pytest.approx(dict(convex_combination(dense, lexical, alpha=0.8)))
    assert ident == pytest.approx(dict(convex_combination(dense, lexical, alpha=0.2)))
    with pytest.raises(FusionError, match="alpha_lexical must be in"):
        fuse(dense, lexical, method="adaptive", alpha_lexical=2.0)
    with pytest.raises(FusionError, match="alpha_lexical do not apply to method='convex'"):
        fuse(dense, lexical, method="convex", alpha_lexical=0.2)


@pytest.mark.parametrize(
    ("query", "likeness"),
    [
        ("proxy", 1.0),
        ("`proxy`?", 1.0),
        ("Guggenheim", 1.0),
        ("init.defaultBranch", 1.0),
        ("proxy settings", 0.0),
        ("42", 0.0),
        ("", 0.0),
        ("set --dry-run", 0.5),
    ],
)
def test_keyword_likeness(query: str, likeness: float) -> None:
    assert keyword_likeness(query) == pytest.approx(likeness)


_lexical_hits = st.lists(
    st.tuples(st.sampled_from("pqrs"), st.floats(min_value=0.01, max_value=30)),
    min_size=1,
    max_size=4,
    unique_by=lambda p: p[0],
).map(lambda r: sorted(r, key=lambda p: -p[1]))


@given(dense=_ranking, lexical=_lexical_hits, query=st.sampled_from(["proxy", "init.defaultBranch", "--dry-run"]))
def test_keyword_query_top_lexical_hit_beats_every_document_without_the_word(
    dense: list[tuple[str, float]], lexical: list[tuple[str, float]], query: str
) -> None:
    # By construction, whatever the dense scores: the best BM25 hit scores >= 0.8 and a
    # document BM25 did not find scores <= 0.2.
    hits = fuse(dense, lexical, query=query)
    found = {d for d, _ in lexical}
    top_lexical = next(i for i, h in enumerate(hits) if h.id == lexical[0][0])
    assert all(h.id in found for h in hits[:top_lexical])
