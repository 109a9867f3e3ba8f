"""OgmaEmbeddingRetriever, OgmaBM25Retriever and OgmaHybridRetriever: results, scores, filters, serialisation."""

from __future__ import annotations

import asyncio
import math
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from haystack import Document, Pipeline
from haystack.components.retrievers.in_memory import InMemoryEmbeddingRetriever
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import FilterPolicy

from haystack_integrations.components.retrievers.ogma import (
    OgmaBM25Retriever,
    OgmaEmbeddingRetriever,
    OgmaHybridRetriever,
)
from haystack_integrations.document_stores.ogma import OgmaDocumentStore

TEXTS = [
    "SQLite keeps the whole index in one file",
    "Cross-encoders rerank a short list of candidates",
    "BM25 scores documents by the words they share with the query",
    "Cats purr when they are content",
    "The capital of France is Paris",
    "Dense vectors capture meaning rather than exact words",
]
LANGS = ["en", "en", "de", "fr", "en", "de"]


def _embedding(rng: random.Random, dim: int = 8) -> list[float]:
    return [rng.uniform(-1, 1) for _ in range(dim)]


def _documents(seed: int = 7) -> list[Document]:
    rng = random.Random(seed)
    return [
        Document(id=f"d{i}", content=text, meta={"lang": LANGS[i], "k": i % 3}, embedding=_embedding(rng))
        for i, text in enumerate(TEXTS)
    ]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[OgmaDocumentStore]:
    s = OgmaDocumentStore(str(tmp_path / "docs.db"))
    s.write_documents(_documents())
    yield s
    s.close()


def _ids(result: dict[str, list[Document]]) -> list[str]:
    return [d.id for d in result["documents"]]


# -- embedding ------------------------------------------------------------------


def test_embedding_retriever_agrees_with_haystacks_in_memory_cosine_retriever() -> None:
    rng = random.Random(11)
    docs = [Document(id=f"v{i}", content=f"doc {i}", embedding=_embedding(rng, 16)) for i in range(60)]
    ours = OgmaDocumentStore()
    reference = InMemoryDocumentStore(embedding_similarity_function="cosine")
    ours.write_documents(docs)
    reference.write_documents(docs)
    for scale in (False, True):
        mine = OgmaEmbeddingRetriever(document_store=ours, top_k=7, scale_score=scale)
        theirs = InMemoryEmbeddingRetriever(document_store=reference, top_k=7, scale_score=scale)
        for _ in range(10):
            query = _embedding(rng, 16)
            got, expected = mine.run(query_embedding=query)["documents"], theirs.run(query_embedding=query)["documents"]
            assert [d.id for d in got] == [d.id for d in expected]
            assert [d.score for d in got] == pytest.approx([d.score for d in expected], abs=1e-5)


def test_embedding_scores_are_cosines_and_scaled_to_unit_interval(store: OgmaDocumentStore) -> None:
    query = _documents()[3].embedding
    assert query is not None
    raw = OgmaEmbeddingRetriever(document_store=store, top_k=6).run(query_embedding=query)["documents"]
    assert raw[0].id == "d3" and raw[0].score == pytest.approx(1.0, abs=1e-6)
    assert all(-1.0 <= d.score <= 1.0 for d in raw)  # type: ignore[operator]
    assert [d.score for d in raw] == sorted((d.score for d in raw), reverse=True)  # type: ignore[type-var]
    scaled = OgmaEmbeddingRetriever(document_store=store, top_k=6).run(query_embedding=query, scale_score=True)
    assert [d.score for d in scaled["documents"]] == pytest.approx([(d.score + 1) / 2 for d in raw])  # type: ignore[operator]


# -- BM25 -----------------------------------------------------------------------


def test_bm25_finds_the_documents_sharing_words_and_scales_like_haystack(store: OgmaDocumentStore) -> None:
    retriever = OgmaBM25Retriever(document_store=store, top_k=3)
    docs = retriever.run(query="which words does BM25 share with the query")["documents"]
    assert docs[0].id == "d2"
    assert all(d.score is not None and d.score > 0 for d in docs)
    scaled = retriever.run(query="which words does BM25 share with the query", scale_score=True)["documents"]
    assert [d.id for d in scaled] == [d.id for d in docs]
    assert [d.score for d in scaled] == pytest.approx([1 / (1 + math.exp(-d.score / 8)) for d in docs])  # type: ignore[operator]
    assert retriever.run(query="zebra")["documents"] == []


# -- hybrid ---------------------------------------------------------------------


@pytest.mark.parametrize("fusion", [None, "rrf", {"method": "convex", "alpha": 0.6}])
def test_hybrid_is_the_cores_hybrid_search_in_one_call(store: OgmaDocumentStore, fusion: Any) -> None:
    query, vector = "the words of the query", _embedding(random.Random(3))
    retriever = OgmaHybridRetriever(document_store=store, top_k=4, fusion=fusion, candidates=20)
    docs = retriever.run(query=query, query_embedding=vector)["documents"]
    hits = store.store.search(
        query, vector=np.asarray(vector, dtype=np.float32), k=4, mode="hybrid", fusion=fusion, candidates=20
    )
    assert [d.id for d in docs] == [h.id for h in hits]
    assert [d.score for d in docs] == [h.score for h in hits]
    assert [d.content for d in docs] == [h.text for h in hits]


def test_hybrid_rrf_scale_score_ranks_first_the_document_first_in_both_lists(store: OgmaDocumentStore) -> None:
    target = _documents()[2]  # the BM25 document; its own embedding makes it first on the dense side too
    assert target.embedding is not None
    retriever = OgmaHybridRetriever(document_store=store, fusion="rrf", scale_score=True)
    docs = retriever.run(query="BM25 scores documents by words", query_embedding=target.embedding)["documents"]
    assert docs[0].id == "d2"  # its hybrid score is comparable across queries, not 1 by construction
    assert all(0.0 <= d.score <= 1.0 for d in docs)  # type: ignore[operator]
    default = OgmaHybridRetriever(document_store=store, scale_score=True)
    assert all(0.0 <= d.score <= 1.0 for d in default.run(query="words", query_embedding=target.embedding)["documents"])  # type: ignore[operator]


# -- shared behaviour -----------------------------------------------------------


def _runs(store: OgmaDocumentStore, **init: Any) -> list[tuple[Any, dict[str, Any]]]:
    vector = _documents()[0].embedding
    return [
        (OgmaEmbeddingRetriever(document_store=store, **init), {"query_embedding": vector}),
        (OgmaBM25Retriever(document_store=store, **init), {"query": "the query words in one file in France"}),
        (OgmaHybridRetriever(document_store=store, **init), {"query": "the query words", "query_embedding": vector}),
    ]


def test_embeddings_only_when_asked(store: OgmaDocumentStore) -> None:
    stored = {d.id: d.embedding for d in store.filter_documents()}
    for retriever, inputs in _runs(store):
        docs = retriever.run(**inputs)["documents"]
        assert docs and all(d.embedding is None for d in docs)
        docs = retriever.run(**inputs, return_embedding=True)["documents"]
        assert all(d.embedding == stored[d.id] for d in docs)
    for retriever, inputs in _runs(store, return_embedding=True):
        assert all(d.embedding is not None for d in retriever.run(**inputs)["documents"])


def test_top_k_at_init_and_at_run(store: OgmaDocumentStore) -> None:
    for retriever, inputs in _runs(store, top_k=2):
        assert len(retriever.run(**inputs)["documents"]) <= 2
        assert retriever.run(**inputs, top_k=0)["documents"] == []


EN = {"field": "meta.lang", "operator": "==", "value": "en"}
K0 = {"field": "meta.k", "operator": "==", "value": 0}


def test_filter_policy_replace_and_merge(store: OgmaDocumentStore) -> None:
    everything = {d.id: d for d in store.filter_documents()}
    english = {i for i, d in everything.items() if d.meta["lang"] == "en"}
    k0 = {i for i, d in everything.items() if d.meta["k"] == 0}
    assert english & k0 and english - k0 and k0 - english  # the cases differ
    for retriever, inputs in _runs(store, filters=K0, top_k=10):
        assert set(_ids(retriever.run(**inputs))) <= k0
        assert set(_ids(retriever.run(**inputs, filters=EN))) <= english  # REPLACE: the run's filter alone
        assert set(_ids(retriever.run(**inputs, filters=EN))) - k0
    for retriever, inputs in _runs(store, filters=K0, top_k=10, filter_policy=FilterPolicy.MERGE):
        assert retriever.filter_policy is FilterPolicy.MERGE
        assert set(_ids(retriever.run(**inputs, filters=EN))) <= english & k0  # MERGE: both
        assert set(_ids(retriever.run(**inputs))) <= k0
    for retriever, _ in _runs(store, filter_policy="merge"):
        assert retriever.filter_policy is FilterPolicy.MERGE


def test_run_async_gives_the_same_documents(store: OgmaDocumentStore) -> None:
    async def both(retriever: Any, inputs: dict[str, Any]) -> tuple[Any, Any]:
        return retriever.run(**inputs, filters=EN), await retriever.run_async(**inputs, filters=EN)

    for retriever, inputs in _runs(store, scale_score=True):
        sync, async_ = asyncio.run(both(retriever, inputs))
        assert sync == async_ and sync["documents"]


def test_to_dict_from_dict_round_trip(store: OgmaDocumentStore) -> None:
    init = {"filters": EN, "top_k": 3, "scale_score": True, "filter_policy": FilterPolicy.MERGE}
    for retriever, inputs in _runs(store, **init):
        data = retriever.to_dict()
        cls = type(retriever)
        assert data["type"] == f"{cls.__module__}.{cls.__name__}"
        assert data["type"].startswith("haystack_integrations.components.retrievers.ogma.")
        params = data["init_parameters"]
        assert params["document_store"]["type"] == (
            "haystack_integrations.document_stores.ogma.document_store.OgmaDocumentStore"
        )
        assert params["document_store"]["init_parameters"]["path"] == store.path
        assert params["filter_policy"] == "merge" and params["filters"] == EN and params["top_k"] == 3
        copy = cls.from_dict(data)
        assert copy.to_dict() == data
        assert copy.filter_policy is FilterPolicy.MERGE
        assert copy.run(**inputs) == retriever.run(**inputs)
        copy.document_store.close()


def test_hybrid_to_dict_keeps_fusion_and_candidates(store: OgmaDocumentStore) -> None:
    retriever = OgmaHybridRetriever(
        document_store=store, fusion={"method": "weighted_rrf", "weights": [1, 2]}, candidates=7
    )
    data = retriever.to_dict()
    assert data["init_parameters"]["fusion"] == {"method": "weighted_rrf", "weights": [1, 2]}
    assert data["init_parameters"]["candidates"] == 7
    copy = OgmaHybridRetriever.from_dict(data)
    assert (copy.fusion, copy.candidates) == (retriever.fusion, retriever.candidates)
    copy.document_store.close()


def test_document_store_to_dict_from_dict(tmp_path: Path) -> None:
    path = str(tmp_path / "x.db")
    original = OgmaDocumentStore(path, precision="int8", backend="sqlite-vec", batch_size=64)
    original.write_documents(_documents())
    data = original.to_dict()
    assert data == {
        "type": "haystack_integrations.document_stores.ogma.document_store.OgmaDocumentStore",
        "init_parameters": {
            "path": path,
            "dim": None,
            "precision": "int8",
            "fts_tokenizer": None,
            "read_only": False,
            "busy_timeout": 5.0,
            "driver": "auto",
            "backend": "sqlite-vec",
            "oversample": None,
            "batch_size": 64,
        },
    }
    reopened = OgmaDocumentStore.from_dict(data)
    assert reopened.filter_documents() == original.filter_documents()
    assert reopened.store.precision == "int8"
    reopened.close()
    original.close()


def test_pipeline_yaml_round_trip(store: OgmaDocumentStore) -> None:
    vector = _documents()[1].embedding
    pipeline = Pipeline()
    pipeline.add_component("retriever", OgmaHybridRetriever(document_store=store, top_k=3, filters=EN))
    inputs = {"retriever": {"query": "rerank a list of candidates", "query_embedding": vector}}
    expected = pipeline.run(inputs)
    loaded = Pipeline.loads(pipeline.dumps())
    assert loaded.run(inputs) == expected
    assert _ids(expected["retriever"])
    loaded.get_component("retriever").document_store.close()


def test_documents_with_only_content_or_only_an_embedding() -> None:
    """Content-only documents are found by BM25, embedding-only ones by embedding search; hybrid finds both."""
    store = OgmaDocumentStore()
    store.write_documents(
        [
            Document(id="text", content="purring cats and sleepy dogs"),
            Document(id="vector", embedding=[1.0, 0.0, 0.0], meta={"kind": "image"}),
            Document(id="both", content="cats chase mice", embedding=[0.0, 1.0, 0.0]),
        ]
    )
    assert {d.id: (d.content, d.embedding) for d in store.filter_documents()} == {
        "text": ("purring cats and sleepy dogs", None),
        "vector": (None, [1.0, 0.0, 0.0]),
        "both": ("cats chase mice", [0.0, 1.0, 0.0]),
    }
    assert _ids(OgmaBM25Retriever(document_store=store).run(query="cats")) in (["text", "both"], ["both", "text"])
    assert _ids(OgmaEmbeddingRetriever(document_store=store).run(query_embedding=[0.9, 0.1, 0.0])) == ["vector", "both"]
    hybrid = OgmaHybridRetriever(document_store=store).run(query="cats", query_embedding=[0.9, 0.1, 0.0])
    assert set(_ids(hybrid)) == {"text", "vector", "both"}
    no_content = {"field": "content", "operator": "==", "value": None}
    assert [d.id for d in store.filter_documents(no_content)] == ["vector"]
    store.close()


def test_pipeline_run_async_uses_run_async(store: OgmaDocumentStore) -> None:
    vector = _documents()[4].embedding
    pipeline = Pipeline()
    pipeline.add_component("hybrid", OgmaHybridRetriever(document_store=store, top_k=2))
    pipeline.add_component("bm25", OgmaBM25Retriever(document_store=store, top_k=2))
    inputs = {"hybrid": {"query": "capital of France", "query_embedding": vector}, "bm25": {"query": "France"}}
    expected = pipeline.run(inputs)
    assert asyncio.run(pipeline.run_async(inputs)) == expected
    assert _ids(expected["hybrid"])[0] == _ids(expected["bm25"])[0] == "d4"
