"""Differential conformance suite: ``OgmaVectorStore`` against llama-index-core's ``SimpleVectorStore``.

The same nodes (exact embeddings), queries and filters must give the same ids in the same
order, for every filter form ``SimpleVectorStore`` supports. Where it has no support
(nested filters, ``doc_ids``, text search, hybrid), the expectation comes from the core's
pure-Python filter evaluator (``ogma.store.filters.matches``) instead. Every test runs on
``":memory:"`` and on a file, through the sync and the async methods.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import (
    FilterCondition,
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from llama_index.vector_stores.ogma import OgmaVectorStore, to_ogma_filter
from ogma.store.filters import matches

DIM = 12
N_NODES = 40
ASYNC_NAMES = {
    "add": "async_add",
    "query": "aquery",
    "delete": "adelete",
    "delete_nodes": "adelete_nodes",
    "get_nodes": "aget_nodes",
    "clear": "aclear",
}
WORDS = ["river", "mountain", "city", "forest", "ocean", "desert", "valley", "island"]


def make_nodes(seed: int = 0) -> list[TextNode]:
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(N_NODES, DIM))
    nodes = []
    for i in range(N_NODES):
        metadata: dict[str, Any] = {
            "group": i % 4,
            "year": 2000 + (i * 7) % 25,
            "score": round(float(rng.uniform(0, 10)), 3),
            "tags": sorted({WORDS[i % 8], WORDS[(i * 3) % 8]}),
            "title": f"{WORDS[i % 8].title()} report {i}",
            "note": ["", [], "kept", None][i % 4],
        }
        if i % 5:
            metadata["lang"] = ["en", "fr", "de"][i % 3]
        text = f"{WORDS[i % 8]} {WORDS[(i + 3) % 8]} {WORDS[(i * 5) % 8]} number {i}"
        node = TextNode(id_=f"node-{i:02d}", text=text, metadata=metadata, embedding=vectors[i].tolist())
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc-{i // 4}")
        nodes.append(node)
    return nodes


def query_vectors(count: int = 4, seed: int = 1) -> list[list[float]]:
    return np.random.default_rng(seed).normal(size=(count, DIM)).tolist()


@pytest.fixture(params=["memory", "file"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return ":memory:" if request.param == "memory" else str(tmp_path / "conformance.db")


@pytest.fixture(params=["sync", "async"])
def call(request: pytest.FixtureRequest) -> Callable[..., Any]:
    """``call(store, "query", ...)`` through the sync method or its async twin."""

    def run(store: Any, name: str, *args: Any, **kwargs: Any) -> Any:
        if request.param == "sync":
            return getattr(store, name)(*args, **kwargs)
        return asyncio.run(getattr(store, ASYNC_NAMES[name])(*args, **kwargs))

    return run


@pytest.fixture
def pair(location: str, call: Callable[..., Any]) -> tuple[OgmaVectorStore, SimpleVectorStore]:
    ogma, simple = OgmaVectorStore(location), SimpleVectorStore()
    nodes = make_nodes()
    assert call(ogma, "add", nodes) == [n.node_id for n in nodes]
    simple.add(make_nodes())
    yield ogma, simple
    ogma.close()


def everything(store: Any, call: Callable[..., Any]) -> list[str]:
    result = call(store, "query", VectorStoreQuery(query_embedding=[1.0] * DIM, similarity_top_k=10 * N_NODES))
    return sorted(result.ids)


def F(key: str, value: Any, op: FilterOperator | str = FilterOperator.EQ) -> MetadataFilter:
    return MetadataFilter(key=key, value=value, operator=op)


def Fs(*filters: Any, condition: FilterCondition = FilterCondition.AND) -> MetadataFilters:
    return MetadataFilters(filters=list(filters), condition=condition)


# Every filter form SimpleVectorStore evaluates (flat MetadataFilters, each operator and condition).
SIMPLE_FILTERS: dict[str, MetadataFilters | None] = {
    "none": None,
    "empty": Fs(),
    "EQ-int": Fs(F("group", 2)),
    "EQ-str": Fs(F("lang", "fr")),
    "NE": Fs(F("lang", "en", "!=")),
    "GT": Fs(F("year", 2012, ">")),
    "GTE-float": Fs(F("score", 5.0, ">=")),
    "LT": Fs(F("year", 2006, "<")),
    "LTE": Fs(F("score", 2.5, "<=")),
    "IN": Fs(F("lang", ["de", "fr"], "in")),
    "IN-int": Fs(F("group", [0, 3], "in")),
    "NIN": Fs(F("lang", ["en"], "nin")),
    "ANY": Fs(F("tags", ["ocean", "desert"], "any")),
    "ALL": Fs(F("tags", ["city", "valley"], "all")),
    "CONTAINS": Fs(F("tags", "city", "contains")),
    "TEXT_MATCH": Fs(F("title", "report 1", "text_match")),
    "TEXT_MATCH_INSENSITIVE": Fs(F("title", "RIVER", "text_match_insensitive")),
    "IS_EMPTY": Fs(F("note", None, "is_empty")),
    "AND": Fs(F("group", 1), F("year", 2010, ">")),
    "OR": Fs(F("lang", "de"), F("group", 0), condition=FilterCondition.OR),
    "NOT": Fs(F("lang", "de"), F("group", 0), condition=FilterCondition.NOT),
    "no-match": Fs(F("lang", "xx")),
}

# Forms SimpleVectorStore refuses ("Nested MetadataFilters are not supported").
NESTED_FILTERS: dict[str, MetadataFilters] = {
    "nested-OR-in-AND": Fs(F("year", 2005, ">="), Fs(F("lang", "en"), F("tags", "ocean", "contains"), condition="or")),
    "nested-NOT": Fs(F("group", [1, 2], "in"), Fs(F("lang", "fr"), condition="not")),
    "deeply-nested": Fs(
        Fs(Fs(F("score", 3.0, ">"), F("score", 8.0, "<")), F("tags", ["island"], "any"), condition="or"),
        F("note", None, "is_empty"),
    ),
}


@pytest.mark.parametrize("filters", list(SIMPLE_FILTERS.values()), ids=list(SIMPLE_FILTERS))
@pytest.mark.parametrize("top_k", [1, 5, N_NODES + 5])
def test_dense_matches_simple_vector_store(
    pair: tuple[OgmaVectorStore, SimpleVectorStore],
    call: Callable[..., Any],
    filters: MetadataFilters | None,
    top_k: int,
) -> None:
    ogma, simple = pair
    for vector in query_vectors():
        query = VectorStoreQuery(query_embedding=vector, similarity_top_k=top_k, filters=filters)
        got, want = call(ogma, "query", query), simple.query(query)
        assert got.ids == want.ids
        np.testing.assert_allclose(got.similarities, want.similarities, rtol=0, atol=1e-5)
        assert [n.node_id for n in got.nodes] == got.ids


@pytest.mark.parametrize("filters", list(NESTED_FILTERS.values()), ids=list(NESTED_FILTERS))
def test_dense_nested_filters_match_the_core_evaluator(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any], filters: MetadataFilters
) -> None:
    ogma, simple = pair
    ogma_filter = to_ogma_filter(filters)
    allowed = [n.node_id for n in make_nodes() if matches(ogma_filter, n.metadata)]
    assert 0 < len(allowed) < N_NODES
    for vector in query_vectors():
        got = call(ogma, "query", VectorStoreQuery(query_embedding=vector, similarity_top_k=6, filters=filters))
        want = simple.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=6, node_ids=allowed))
        assert got.ids == want.ids


def test_node_ids_restrict_and_empty_means_all(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]
) -> None:
    ogma, simple = pair
    some = [f"node-{i:02d}" for i in (3, 7, 8, 21, 30, 39)]
    for vector in query_vectors():
        query = VectorStoreQuery(query_embedding=vector, similarity_top_k=4, node_ids=some)
        assert call(ogma, "query", query).ids == simple.query(query).ids
        everywhere = call(ogma, "query", VectorStoreQuery(query_embedding=vector, similarity_top_k=4, node_ids=[]))
        assert everywhere.ids == simple.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=4)).ids


def test_doc_ids_restrict_to_those_documents(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]
) -> None:
    ogma, simple = pair
    docs = ["doc-1", "doc-6"]
    allowed = [n.node_id for n in make_nodes() if n.ref_doc_id in docs]
    for vector in query_vectors():
        got = call(ogma, "query", VectorStoreQuery(query_embedding=vector, similarity_top_k=5, doc_ids=docs))
        want = simple.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=5, node_ids=allowed))
        assert got.ids == want.ids


def test_mmr_first_pick_and_pure_relevance_match_simple(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]
) -> None:
    # LlamaIndex's MMR penalises similarity to the most recent pick only; Ogma's (the usual
    # definition) to every pick so far. They agree on the first pick and at threshold 1.
    ogma, simple = pair
    for vector in query_vectors():
        mmr = VectorStoreQuery(query_embedding=vector, similarity_top_k=5, mode=VectorStoreQueryMode.MMR)
        got = call(ogma, "query", mmr, mmr_threshold=0.5, mmr_prefetch_k=N_NODES)
        assert got.ids[0] == simple.query(mmr, mmr_threshold=0.5).ids[0]
        assert len(set(got.ids)) == 5
        relevance = call(ogma, "query", mmr, mmr_threshold=1.0, mmr_prefetch_k=N_NODES)
        assert relevance.ids == simple.query(mmr, mmr_threshold=1.0).ids
        core = ogma.client.max_marginal_relevance_search(vector=vector, k=5, fetch_k=N_NODES, lambda_mult=0.5)
        assert got.ids == [h.id for h in core]


@pytest.mark.parametrize(
    "filters", [None, *NESTED_FILTERS.values(), SIMPLE_FILTERS["NOT"]], ids=["none", *NESTED_FILTERS, "NOT"]
)
def test_text_search_matches_the_core_and_the_evaluator(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any], filters: MetadataFilters | None
) -> None:
    ogma, _ = pair
    ogma_filter = to_ogma_filter(filters)
    for words in ["river city", "ocean", "desert valley island"]:
        query = VectorStoreQuery(query_str=words, similarity_top_k=5, filters=filters, mode="text_search")
        got = call(ogma, "query", query)
        every = ogma.client.search(words, k=N_NODES, mode="lexical")
        want = [h for h in every if ogma_filter is None or matches(ogma_filter, h.metadata)][:5]
        assert got.ids == [h.id for h in want]
        assert got.similarities == pytest.approx([h.score for h in want])
        assert all(s > 0 for s in got.similarities)
        assert all(any(w in n.get_content() for w in words.split()) for n in got.nodes)


@pytest.mark.parametrize("alpha", [None, 0.0, 0.5, 1.0])
def test_hybrid_is_the_core_fusion(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any], alpha: float | None
) -> None:
    ogma, simple = pair
    filters = NESTED_FILTERS["nested-OR-in-AND"]
    ogma_filter = to_ogma_filter(filters)
    fusion = None if alpha is None else {"method": "convex", "alpha": alpha}
    for vector in query_vectors():
        query = VectorStoreQuery(
            query_embedding=vector, query_str="river ocean", similarity_top_k=4, mode="hybrid", alpha=alpha
        )
        got = call(ogma, "query", query)
        core = ogma.client.search("river ocean", vector=vector, k=4, mode="hybrid", fusion=fusion)
        assert got.ids == [h.id for h in core]
        assert got.similarities == pytest.approx([h.score for h in core])
        if alpha == 1.0:  # dense only: the dense ranking
            dense = simple.query(VectorStoreQuery(query_embedding=vector, similarity_top_k=4))
            assert got.ids == dense.ids
        filtered = call(ogma, "query", VectorStoreQuery(**{**vars(query), "filters": filters, "hybrid_top_k": 7}))
        assert len(filtered.ids) == 7
        assert all(matches(ogma_filter, n.metadata) for n in filtered.nodes)


def test_hybrid_depth_follows_sparse_top_k(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]
) -> None:
    ogma, _ = pair
    vector = query_vectors(1)[0]
    query = VectorStoreQuery(
        query_embedding=vector, query_str="river", similarity_top_k=2, sparse_top_k=3, hybrid_top_k=5, mode="hybrid"
    )
    got = call(ogma, "query", query)
    core = ogma.client.search("river", vector=vector, k=5, mode="hybrid", candidates=3)
    assert got.ids == [h.id for h in core]


def test_nodes_come_back_whole(pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]) -> None:
    ogma, _ = pair
    originals = {n.node_id: n for n in make_nodes()}
    result = call(ogma, "query", VectorStoreQuery(query_embedding=query_vectors(1)[0], similarity_top_k=N_NODES))
    assert len(result.nodes) == N_NODES
    for node in result.nodes:
        original = originals[node.node_id]
        assert node.get_content() == original.get_content()
        assert node.metadata == original.metadata
        assert node.ref_doc_id == original.ref_doc_id
        assert node.relationships == original.relationships
    got = call(ogma, "get_nodes", ["node-05", "missing", "node-01"])
    assert [n.node_id for n in got] == ["node-05", "node-01"]
    assert got[0].metadata == originals["node-05"].metadata


@pytest.mark.parametrize("filters", [SIMPLE_FILTERS["OR"], NESTED_FILTERS["nested-NOT"]], ids=["OR", "nested-NOT"])
def test_get_nodes_with_filters(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any], filters: MetadataFilters
) -> None:
    ogma, _ = pair
    ogma_filter = to_ogma_filter(filters)
    want = [n.node_id for n in make_nodes() if matches(ogma_filter, n.metadata)]
    assert [n.node_id for n in call(ogma, "get_nodes", None, filters)] == want
    some = ["node-00", "node-04", "node-09", "node-13"]
    assert [n.node_id for n in call(ogma, "get_nodes", some, filters)] == [i for i in some if i in want]
    assert len(call(ogma, "get_nodes")) == N_NODES


def test_delete_by_ref_doc_id(pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]) -> None:
    ogma, simple = pair
    call(ogma, "delete", "doc-3")
    simple.delete("doc-3")
    assert everything(ogma, call) == everything(simple, call)
    assert len(everything(ogma, call)) == N_NODES - 4
    call(ogma, "delete", "no-such-doc")
    assert len(everything(ogma, call)) == N_NODES - 4


@pytest.mark.parametrize(
    ("node_ids", "filters"),
    [
        (["node-01", "node-02", "missing"], None),
        (None, SIMPLE_FILTERS["GT"]),
        (["node-01", "node-20", "node-33"], SIMPLE_FILTERS["GT"]),
        ([], SIMPLE_FILTERS["GT"]),
    ],
    ids=["ids", "filters", "ids-and-filters", "no-ids"],
)
def test_delete_nodes(
    pair: tuple[OgmaVectorStore, SimpleVectorStore],
    call: Callable[..., Any],
    node_ids: list[str] | None,
    filters: MetadataFilters | None,
) -> None:
    ogma, simple = pair
    call(ogma, "delete_nodes", node_ids, filters)
    simple.delete_nodes(node_ids, filters)
    assert everything(ogma, call) == everything(simple, call)


def test_clear(pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]) -> None:
    ogma, _ = pair
    call(ogma, "clear")
    assert everything(ogma, call) == []
    call(ogma, "add", make_nodes()[:3])
    assert len(everything(ogma, call)) == 3


def test_re_adding_a_node_replaces_it(
    pair: tuple[OgmaVectorStore, SimpleVectorStore], call: Callable[..., Any]
) -> None:
    ogma, simple = pair
    changed = make_nodes(seed=5)[:3]
    for node in changed:
        node.set_content(node.get_content() + " updated")
    call(ogma, "add", changed)
    simple.add(make_nodes(seed=5)[:3])
    assert everything(ogma, call) == everything(simple, call)
    vector = query_vectors(1)[0]
    query = VectorStoreQuery(query_embedding=vector, similarity_top_k=8)
    assert call(ogma, "query", query).ids == simple.query(query).ids
    assert call(ogma, "get_nodes", ["node-00"])[0].get_content().endswith("updated")


def test_reopening_a_file_serves_the_same_answers(tmp_path: Path, call: Callable[..., Any]) -> None:
    path = tmp_path / "reopen.db"
    first = OgmaVectorStore(path)
    call(first, "add", make_nodes())
    queries = [
        VectorStoreQuery(query_embedding=v, query_str="river", similarity_top_k=5, mode=mode)
        for v in query_vectors()
        for mode in ("default", "text_search", "hybrid", "mmr")
    ]
    before = [call(first, "query", q) for q in queries]
    first.close()
    reopened = OgmaVectorStore(str(path))
    after = [call(reopened, "query", q) for q in queries]
    assert [r.ids for r in after] == [r.ids for r in before]
    assert [r.similarities for r in after] == [r.similarities for r in before]
    reopened.close()


@pytest.mark.parametrize("name", [n for n in SIMPLE_FILTERS if n not in ("none", "empty", "no-match")])
def test_each_filter_is_selective(name: str) -> None:
    # A filter that keeps every node (or none) would make its differential test vacuous.
    ogma_filter = to_ogma_filter(SIMPLE_FILTERS[name])
    kept = [n for n in make_nodes() if matches(ogma_filter, n.metadata)]
    assert 0 < len(kept) < N_NODES


def test_serialisation_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "ser.db"
    first = OgmaVectorStore(path)
    first.add(make_nodes()[:5])
    data = first.to_dict()
    assert data["class_name"] == "OgmaVectorStore" and data["path"] == str(path)
    first.close()
    again = OgmaVectorStore.from_dict(data)
    assert [n.node_id for n in again.get_nodes()] == [n.node_id for n in make_nodes()[:5]]
    again.close()
