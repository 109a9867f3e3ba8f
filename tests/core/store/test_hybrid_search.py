"""Hybrid search in the store: the default on keyword and identifier queries, and its options.

The two keyword cases are built from precomputed vectors, so the dense ranking is
exactly the one described: the dense list prefers documents without the keyword.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from ogma.errors import FusionError
from ogma.store import Store
from tests.core.store.conftest import StoreFactory


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


def _vectors_with_cosines(cosines: list[float], dim: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """A query vector and one unit document vector per cosine, each at that cosine to the query."""
    query = np.zeros(dim, dtype=np.float32)
    query[0] = 1.0
    docs = np.zeros((len(cosines), dim), dtype=np.float32)
    for i, cos in enumerate(cosines):
        docs[i, 0] = cos
        docs[i, 1 + i % (dim - 1)] = np.sqrt(1.0 - cos * cos)
    return query, docs


def _store(make: StoreFactory, texts: dict[str, str], cosines: list[float]) -> tuple[Store, np.ndarray]:
    query, docs = _vectors_with_cosines(cosines)
    store = make(dim=docs.shape[1])
    store.add(list(texts.values()), ids=list(texts), embeddings=docs)
    return store, query


def test_a_keyword_query_does_not_hide_the_document_with_the_keyword(store_factory: StoreFactory) -> None:
    # "proxy": the best dense hits talk about networks without the word; the setting
    # itself is only third by cosine, and the only document BM25 finds.
    texts = {
        "network": "Route outbound requests through an intermediary server on the company network.",
        "firewall": "Network access rules: which hosts the client may reach through the firewall.",
        "proxy": "proxy: the URL of the HTTP server that relays every request, e.g. http://host:3128.",
        "timeout": "timeout: seconds to wait for a server before giving up.",
        "retries": "retries: how often a failed download is tried again.",
        "cache": "cache_dir: where downloaded files are kept between runs.",
    }
    store, query = _store(store_factory, texts, [0.62, 0.60, 0.55, 0.40, 0.35, 0.30])
    with store:
        dense = store.search(vector=query, k=3)
        assert [h.id for h in dense] == ["network", "firewall", "proxy"]
        old = store.search("proxy", vector=query, mode="hybrid", k=3, fusion={"method": "convex", "alpha": 0.85})
        assert old[0].id == "network"  # the old default: the top dense hit wins by construction
        hits = store.search("proxy", vector=query, mode="hybrid", k=3)
        assert hits[0].id == "proxy"
        assert hits[0].scores["lexical"] > 0 and "lexical" not in hits[1].scores


def test_an_identifier_query_puts_the_exact_match_near_the_top(store_factory: StoreFactory) -> None:
    # "init.defaultBranch": dense prefers notes about branches and `git init`; BM25
    # ranks the release note with the exact key first.
    texts = {
        "branches": "Branches: create, rename and delete branches; the default branch is main.",
        "init": "git init creates an empty repository; init templates are copied into it.",
        "clone": "Cloning a repository checks out the remote's default branch.",
        "rename": "Renaming the default branch of an existing repository, step by step.",
        "note": "Release 2.28: the new init.defaultBranch setting names the first branch of a new repository.",
        "hooks": "Hooks run scripts at points of the init, commit and push workflow.",
        "tags": "Tags mark release points; annotated tags carry a message.",
    }
    store, query = _store(store_factory, texts, [0.66, 0.64, 0.63, 0.62, 0.50, 0.45, 0.30])
    with store:
        lexical = store.search("init.defaultBranch", mode="lexical", k=3)
        assert lexical[0].id == "note"
        old = store.search(
            "init.defaultBranch", vector=query, mode="hybrid", k=5, fusion={"method": "convex", "alpha": 0.85}
        )
        assert "note" not in [h.id for h in old[:3]]  # the old default showed dense's list
        hits = store.search("init.defaultBranch", vector=query, mode="hybrid", k=5)
        assert hits[0].id == "note"
