"""``Store.search``'s hybrid-only options: refused outside hybrid mode, validated before searching."""

from __future__ import annotations

from typing import Any

import pytest

from ogma.errors import FusionError
from ogma.store import Store


@pytest.mark.parametrize("mode", ["dense", "lexical"])
@pytest.mark.parametrize(
    "options",
    [
        {"fusion": "rrf"},
        {"fusion": "no-such-method"},
        {"fusion": {"method": "convex", "alpha": 0.5}},
        {"fusion": {}},
        {"candidates": 100},
    ],
)
def test_hybrid_options_are_refused_in_other_modes(filled: Store, mode: str, options: dict[str, Any]) -> None:
    name = next(iter(options))
    with pytest.raises(FusionError, match=rf"{name}=.*mode='hybrid' only.*mode='{mode}'"):
        filled.search("capital", mode=mode, **options)  # type: ignore[arg-type]
    with pytest.raises(ValueError):  # FusionError is a ValueError
        filled.search("capital", mode=mode, **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fusion", "error", "message"),
    [
        ("no-such-method", FusionError, "Unknown fusion method 'no-such-method'"),
        ({"method": "nope"}, FusionError, "Unknown fusion method 'nope'"),
        ({"method": "rrf", "alpha": 0.5}, FusionError, "alpha do not apply to method='rrf'"),
        ({"method": "convex", "alpha": 1.5}, FusionError, "alpha must be in"),
        ({"method": "convex", "alpha_lexical": 0.2}, FusionError, "alpha_lexical do not apply"),
        ({"alpha_lexical": -1}, FusionError, "alpha_lexical must be in"),
        ({"method": "convex", "normalization": "zz"}, FusionError, "Unknown normalisation 'zz'"),
        ({"method": "weighted_rrf", "weights": (1.0,)}, FusionError, "one finite, non-negative weight"),
        ({"method": "rrf", "k": -1}, FusionError, "k must be >= 0"),
        ({"method": "rrf", "limit": 1}, FusionError, "unknown option.*'limit'"),
        ({"method": "rrf", "query": "x"}, FusionError, "unknown option.*'query'"),
        ({"alpah": 0.5}, FusionError, "unknown option.*'alpah'.*valid keys"),
        (0.5, TypeError, "fusion must be None, a method name or a dict"),
        (["rrf"], TypeError, "fusion must be None"),
        ({1: "rrf"}, TypeError, "fusion keys must be str"),
    ],
)
def test_invalid_fusion_is_refused_before_searching(filled: Store, fusion: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        filled.search("capital", mode="hybrid", fusion=fusion)
    with pytest.raises(error, match=message):
        filled.search("capital", mode="hybrid", fusion=fusion, k=0)  # validated even when nothing is fetched


@pytest.mark.parametrize(
    "fusion",
    [None, "default", "rrf", "convex", "adaptive", {"method": None}, {"alpha": 0.7}, {"method": "rrf", "k": 10}],
)
def test_valid_fusion_runs(filled: Store, fusion: Any) -> None:
    hits = filled.search("capital of Germany", mode="hybrid", fusion=fusion, k=3)
    assert hits[0].id == "berlin" and "fused" in hits[0].scores


def test_candidates_still_set_hybrid_depth(filled: Store) -> None:
    assert len(filled.search("capital", mode="hybrid", candidates=2, k=5)) <= 4
