"""OgmaRetriever: LangChain's standard retriever tests plus modes, filters, scores and reranking."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_tests.integration_tests import RetrieversIntegrationTests
from pydantic import ValidationError

from langchain_ogma import OgmaReranker, OgmaRetriever, OgmaVectorStore
from ogma import Store
from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.errors import FilterError

TEXTS = [
    ("Paris is the capital of France.", {"topic": "geo", "year": 2019}),
    ("Berlin is the capital of Germany.", {"topic": "geo", "year": 2021}),
    ("Cats purr when they are content.", {"topic": "pets", "year": 2022}),
    ("Dogs bark at strangers.", {"topic": "pets", "year": 2023}),
    ("The Seine flows through Paris.", {"topic": "geo", "year": 2024}),
]
IDS = ["paris", "berlin", "cats", "dogs", "seine"]


@cache
def _standard_store() -> Store:
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=6))
    vs.add_texts([t for t, _ in TEXTS], [m for _, m in TEXTS], ids=IDS)
    return vs.store


class TestOgmaRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[OgmaRetriever]:
        return OgmaRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, object]:
        return {"store": _standard_store(), "k": 2}

    @property
    def retriever_query_example(self) -> str:
        return "capital of France"


class TestOgmaRetrieverHybridStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[OgmaRetriever]:
        return OgmaRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, object]:
        return {"store": _standard_store(), "k": 2, "mode": "hybrid"}

    @property
    def retriever_query_example(self) -> str:
        return "capital of France"


@cache
def _standard_vectorstore() -> OgmaVectorStore:
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=6), retrieval_mode="hybrid")
    vs.add_texts([t for t, _ in TEXTS], [m for _, m in TEXTS], ids=IDS)
    return vs


class TestOgmaRetrieverOverVectorStoreStandard(RetrieversIntegrationTests):
    """The standard suite with the LangChain vector store itself as ``store``."""

    @property
    def retriever_constructor(self) -> type[OgmaRetriever]:
        return OgmaRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, object]:
        return {"store": _standard_vectorstore(), "k": 2, "mode": "hybrid"}

    @property
    def retriever_query_example(self) -> str:
        return "capital of France"


@pytest.fixture
def vs() -> OgmaVectorStore:
    store = OgmaVectorStore(DeterministicFakeEmbedding(size=6))
    store.add_texts([t for t, _ in TEXTS], [m for _, m in TEXTS], ids=IDS)
    return store


def test_dense_scores_in_metadata(vs: OgmaVectorStore) -> None:
    docs = OgmaRetriever(store=vs.store, k=2).invoke("Dogs bark at strangers.")
    assert docs[0].id == "dogs"
    assert docs[0].metadata["topic"] == "pets"
    assert docs[0].metadata["score"] == pytest.approx(1.0, abs=1e-5)
    assert set(docs[0].metadata["scores"]) == {"dense"}
    # The store's own copy is untouched.
    assert "score" not in vs.get_by_ids(["dogs"])[0].metadata


def test_lexical_mode_matches_words(vs: OgmaVectorStore) -> None:
    docs = OgmaRetriever(store=vs.store, k=5, mode="lexical").invoke("capital")
    assert {d.id for d in docs} == {"paris", "berlin"}
    assert all(set(d.metadata["scores"]) == {"lexical"} and d.metadata["score"] > 0 for d in docs)


def test_hybrid_mode_fuses(vs: OgmaVectorStore) -> None:
    docs = OgmaRetriever(store=vs.store, k=5, mode="hybrid").invoke("Seine Paris")
    assert len(docs) == 5
    top = docs[0].metadata["scores"]
    assert "fused" in top and "dense" in top
    assert {d.id for d in docs if "lexical" in d.metadata["scores"]} == {"paris", "seine"}


def test_per_call_overrides(vs: OgmaVectorStore) -> None:
    retriever = OgmaRetriever(store=vs.store, k=4, filter={"topic": "geo"})
    assert {d.id for d in retriever.invoke("x")} == {"paris", "berlin", "seine"}
    assert len(retriever.invoke("x", k=1)) == 1
    assert {d.id for d in retriever.invoke("x", filter={"topic": "pets"})} == {"cats", "dogs"}
    assert {d.id for d in retriever.invoke("capital", mode="lexical")} == {"paris", "berlin"}
    assert retriever.invoke("x", k=0) == []
    with pytest.raises(TypeError):
        retriever.invoke("x", colour="red")


def test_filters_on_missing_keys_and_bad_filters(vs: OgmaVectorStore) -> None:
    retriever = OgmaRetriever(store=vs.store)
    assert retriever.invoke("x", filter={"nope": 1}) == []
    assert {d.id for d in retriever.invoke("x", filter={"year": {"$between": [2021, 2022]}})} == {"berlin", "cats"}
    with pytest.raises(FilterError):
        retriever.invoke("x", filter={"year": {"$near": 1}})


def test_empty_query(vs: OgmaVectorStore) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        with pytest.raises(ValueError, match="query must be a non-empty string"):
            OgmaRetriever(store=vs.store, k=2, mode=mode).invoke("")


def test_invalid_settings(vs: OgmaVectorStore) -> None:
    with pytest.raises(ValidationError):
        OgmaRetriever(store=vs.store, k=-1)
    with pytest.raises(ValidationError):
        OgmaRetriever(store=vs.store, mode="semantic")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        OgmaRetriever(store="not a store")  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"\$after"):
        OgmaRetriever(store=vs.store, filter={"year": {"$after": 2020}})


@dataclass(frozen=True)
class _Result:
    index: int
    score: float


class ReverseAlphabetical:
    def rerank(self, query: str, documents: list[str], top_k: int | None = None) -> list[_Result]:
        order = sorted(range(len(documents)), key=lambda i: documents[i], reverse=True)
        return [_Result(i, 1.0 - rank / 10) for rank, i in enumerate(order)][:top_k]


def test_reranker_runs_in_the_store(vs: OgmaVectorStore) -> None:
    retriever = OgmaRetriever(store=vs.store, k=2, reranker=ReverseAlphabetical(), rerank_k=5)
    docs = retriever.invoke("anything")
    assert all("dense" in d.metadata["scores"] and "rerank" in d.metadata["scores"] for d in docs)
    # the store's default blend: a reranker without logits gives its score, the first stage its cosine
    for d in docs:
        scores = d.metadata["scores"]
        want = DEFAULT_RERANK_ALPHA * scores["rerank"] + (1 - DEFAULT_RERANK_ALPHA) * min(max(scores["dense"], 0), 1)
        assert d.metadata["score"] == pytest.approx(want)
    alone = OgmaRetriever(store=vs.store, k=2, reranker=OgmaReranker(reranker=ReverseAlphabetical(), alpha=None))
    docs = alone.invoke("anything")
    assert [d.id for d in docs] == ["seine", "paris"]
    assert docs[0].metadata["scores"]["rerank"] == pytest.approx(1.0) == docs[0].metadata["score"]


def test_ogma_reranker_with_tiny_cross_encoder(vs: OgmaVectorStore, tiny_ce_dir: Path) -> None:
    reranker = OgmaReranker(model_name=str(tiny_ce_dir), alpha=None)
    retriever = OgmaRetriever(store=vs.store, k=3, mode="hybrid", reranker=reranker)
    docs = retriever.invoke("paris is the capital of france")
    assert len(docs) == 3
    scores = [d.metadata["scores"]["rerank"] for d in docs]
    assert scores == sorted(scores, reverse=True)
    assert [d.metadata["score"] for d in docs] == pytest.approx(scores)
    blended = OgmaRetriever(store=vs.store, k=3, mode="hybrid", reranker=OgmaReranker(model_name=str(tiny_ce_dir)))
    finals = [d.metadata["score"] for d in blended.invoke("paris is the capital of france")]
    assert finals == sorted(finals, reverse=True) and finals != pytest.approx(scores)


def test_store_without_encoder_needs_embedding() -> None:
    emb = DeterministicFakeEmbedding(size=6)
    store = Store(":memory:")
    store.add(["alpha", "beta"], ids=["a", "b"], embeddings=emb.embed_documents(["alpha", "beta"]))
    assert OgmaRetriever(store=store, k=1, embedding=emb).invoke("beta")[0].id == "b"
    assert OgmaRetriever(store=store, k=1, mode="lexical").invoke("beta")[0].id == "b"


def test_async_matches_sync(vs: OgmaVectorStore) -> None:
    retriever = OgmaRetriever(store=vs.store, k=3, mode="hybrid")
    assert asyncio.run(retriever.ainvoke("capital", k=2)) == retriever.invoke("capital", k=2)


def test_accepts_the_langchain_vector_store(vs: OgmaVectorStore) -> None:
    retriever = OgmaRetriever(store=vs, k=2, mode="hybrid")
    assert retriever.store is vs.store and retriever.ogma_store is vs.store
    assert retriever.invoke("Seine Paris") == OgmaRetriever(store=vs.store, k=2, mode="hybrid").invoke("Seine Paris")
    assert {d.id for d in OgmaRetriever(store=vs, k=5, mode="lexical").invoke("capital")} == {"paris", "berlin"}
