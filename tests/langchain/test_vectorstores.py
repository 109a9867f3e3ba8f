"""OgmaVectorStore: LangChain's standard vector store tests (sync and async) plus its own contract."""

from __future__ import annotations

import warnings
from collections.abc import Generator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.vectorstores import VectorStore, VectorStoreRetriever
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from langchain_ogma import OgmaEmbeddings, OgmaReranker, OgmaVectorStore
from langchain_ogma.vectorstores import clipped_cosine_relevance, shifted_cosine_relevance
from ogma import Store
from ogma.errors import FilterError, StoreMismatchError


class TestOgmaVectorStoreInMemory(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self) -> Generator[VectorStore, None, None]:
        store = OgmaVectorStore(self.get_embeddings())
        yield store
        store.close()


class TestOgmaVectorStoreFile(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self, tmp_path: Path) -> Generator[VectorStore, None, None]:
        store = OgmaVectorStore(self.get_embeddings(), path=tmp_path / "store.db")
        yield store
        store.close()


GEO = [
    ("Paris is the capital of France.", {"topic": "geo", "year": 2019, "tags": ["europe"]}),
    ("Berlin is the capital of Germany.", {"topic": "geo", "year": 2021, "tags": ["europe"]}),
    ("Cats purr when they are content.", {"topic": "pets", "year": 2022}),
    ("Dogs bark at strangers.", {"topic": "pets", "year": 2023, "extra": None}),
]


@pytest.fixture
def store(fake_embeddings: DeterministicFakeEmbedding) -> Generator[OgmaVectorStore, None, None]:
    vs = OgmaVectorStore(fake_embeddings)
    vs.add_texts([t for t, _ in GEO], [m for _, m in GEO], ids=["paris", "berlin", "cats", "dogs"])
    yield vs
    vs.close()


def test_scores_are_cosine_similarities(store: OgmaVectorStore, fake_embeddings: DeterministicFakeEmbedding) -> None:
    results = store.similarity_search_with_score(GEO[2][0], k=4)
    assert results[0][0].id == "cats"
    assert results[0][1] == pytest.approx(1.0, abs=1e-5)
    q = np.asarray(fake_embeddings.embed_query(GEO[2][0]))
    for doc, score in results:
        d = np.asarray(fake_embeddings.embed_documents([doc.page_content])[0])
        assert score == pytest.approx(float(q @ d / np.linalg.norm(q) / np.linalg.norm(d)), abs=1e-5)
    assert [s for _, s in results] == sorted((s for _, s in results), reverse=True)


def test_relevance_scores_in_unit_interval(store: OgmaVectorStore) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # LangChain warns on relevance scores outside [0, 1]
        results = store.similarity_search_with_relevance_scores("Dogs bark at strangers.", k=4)
    assert all(0.0 <= s <= 1.0 for _, s in results)
    assert results[0][1] == pytest.approx(1.0, abs=1e-5)
    raw = dict((d.id, s) for d, s in store.similarity_search_with_score("Dogs bark at strangers.", k=4))
    for doc, rel in results:
        assert rel == pytest.approx(clipped_cosine_relevance(raw[doc.id]))
    kept = store.similarity_search_with_relevance_scores("Dogs bark at strangers.", k=4, score_threshold=0.99)
    assert [d.id for d, _ in kept] == ["dogs"]


def test_relevance_functions() -> None:
    assert clipped_cosine_relevance(1.0000001) == 1.0 and clipped_cosine_relevance(-0.2) == 0.0
    assert clipped_cosine_relevance(0.35) == 0.35
    assert shifted_cosine_relevance(1.0000001) == 1.0 and shifted_cosine_relevance(-1.2) == 0.0
    assert shifted_cosine_relevance(0.0) == 0.5


def test_relevance_score_fn_is_settable(fake_embeddings: DeterministicFakeEmbedding) -> None:
    vs = OgmaVectorStore(fake_embeddings, relevance_score_fn=shifted_cosine_relevance)
    vs.add_texts([t for t, _ in GEO], ids=["paris", "berlin", "cats", "dogs"])
    raw = dict((d.id, s) for d, s in vs.similarity_search_with_score(GEO[0][0], k=4))
    for doc, rel in vs.similarity_search_with_relevance_scores(GEO[0][0], k=4):
        assert rel == pytest.approx(shifted_cosine_relevance(raw[doc.id]))
    with pytest.raises(TypeError, match="relevance_score_fn"):
        OgmaVectorStore(fake_embeddings, relevance_score_fn=0.5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("filter_", "expected"),
    [
        ({"topic": "pets"}, {"cats", "dogs"}),
        ({"topic": {"$eq": "geo"}}, {"paris", "berlin"}),
        ({"year": {"$gte": 2021}}, {"berlin", "cats", "dogs"}),
        ({"year": {"$between": [2020, 2022]}}, {"berlin", "cats"}),
        ({"topic": {"$in": ["pets"]}, "year": {"$lt": 2023}}, {"cats"}),
        ({"$or": [{"year": 2019}, {"topic": "pets"}]}, {"paris", "cats", "dogs"}),
        ({"$and": [{"topic": "geo"}, {"$not": {"year": 2019}}]}, {"berlin"}),
        ({"tags": {"$exists": True}}, {"paris", "berlin"}),
        ({"topic": {"$nin": ["geo"]}}, {"cats", "dogs"}),
        ({"tags": {"$contains": "europe"}}, {"paris", "berlin"}),
        ({"tags": {"$not_contains": "europe"}}, {"cats", "dogs"}),
        ({"$nor": [{"topic": "geo"}, {"year": 2022}]}, {"dogs"}),
        ({"topic": "pets", "$nor": [{"year": 2022}], "tags": {"$not_contains": "x"}}, {"dogs"}),
        ({"extra": None}, {"paris", "berlin", "cats", "dogs"}),
        ({"extra": {"$exists": True}}, {"dogs"}),
        ({"missing_key": "x"}, set()),
        ({"missing_key": {"$gt": 1}}, set()),
        ({}, {"paris", "berlin", "cats", "dogs"}),
    ],
)
def test_dict_filters(store: OgmaVectorStore, filter_: dict[str, object], expected: set[str]) -> None:
    got = store.similarity_search("anything", k=10, filter=filter_)
    assert {d.id for d in got} == expected
    assert {d.id for d in store.max_marginal_relevance_search("anything", k=10, fetch_k=10, filter=filter_)} == expected


def test_filter_returns_k_matches_when_enough_match(fake_embeddings: Embeddings) -> None:
    vs = OgmaVectorStore(fake_embeddings)
    vs.add_texts([f"text {i}" for i in range(60)], [{"even": i % 2 == 0} for i in range(60)])
    assert len(vs.similarity_search("text 1", k=20, filter={"even": True})) == 20


def test_bad_filters(store: OgmaVectorStore) -> None:
    with pytest.raises(FilterError, match=r"\$after"):
        store.similarity_search("x", filter={"year": {"$after": 2020}})
    with pytest.raises(FilterError, match="between"):
        store.similarity_search("x", filter={"year": {"$between": [2020]}})
    with pytest.raises(TypeError, match="filter must be a dict"):
        store.similarity_search("x", filter=lambda doc: True)  # type: ignore[arg-type]


def test_k_zero_and_negative(store: OgmaVectorStore) -> None:
    assert store.similarity_search("cats", k=0) == []
    assert store.max_marginal_relevance_search("cats", k=0) == []
    with pytest.raises(ValueError, match="k must be >= 0"):
        store.similarity_search("cats", k=-1)


def test_empty_query_is_refused_in_every_mode(store: OgmaVectorStore) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        with pytest.raises(ValueError, match="query must be a non-empty string"):
            store.similarity_search(" ", k=2, mode=mode)


def test_search_by_vector(store: OgmaVectorStore, fake_embeddings: DeterministicFakeEmbedding) -> None:
    vector = fake_embeddings.embed_query("Berlin is the capital of Germany.")
    assert store.similarity_search_by_vector(vector, k=1)[0].id == "berlin"
    doc, score = store.similarity_search_with_score_by_vector(vector, k=1)[0]
    assert doc.id == "berlin" and score == pytest.approx(1.0, abs=1e-5)
    assert store.max_marginal_relevance_search_by_vector(vector, k=1)[0].id == "berlin"


def test_mmr_prefers_diverse_results(fake_embeddings: Embeddings) -> None:
    vs = OgmaVectorStore(fake_embeddings)
    vs.add_texts(["alpha", "beta", "gamma"], ids=["a", "b", "c"])
    # Two copies of "alpha" under different ids: plain similarity returns both, MMR only one.
    vs.add_texts(["alpha"], ids=["a2"])
    top2 = [d.id for d in vs.similarity_search("alpha", k=2)]
    assert set(top2) == {"a", "a2"}
    mmr = [d.id for d in vs.max_marginal_relevance_search("alpha", k=2, fetch_k=4, lambda_mult=0.25)]
    assert mmr[0] in {"a", "a2"} and mmr[1] not in {"a", "a2"}


def test_wrong_dimension_for_existing_store(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    OgmaVectorStore(DeterministicFakeEmbedding(size=6), path=path).add_texts(["a"], ids=["a"])
    with pytest.raises(StoreMismatchError, match=r"DeterministicFakeEmbedding\(size=6\).*size=8"):
        OgmaVectorStore(DeterministicFakeEmbedding(size=8), path=path)
    # Without the embeddings check, the core still refuses vectors of the wrong dimension.
    other = OgmaVectorStore(DeterministicFakeEmbedding(size=8), path=path, check_embeddings=False)
    with pytest.raises(StoreMismatchError, match="dimension"):
        other.add_texts(["b"])
    with pytest.raises(StoreMismatchError, match="dimension"):
        other.similarity_search("b")
    assert other.store.count() == 1


def test_non_string_page_content_and_bad_metadata(store: OgmaVectorStore) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        store.add_texts(["ok", 5])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="JSON"):
        store.add_texts(["ok"], [{"when": object()}])
    with pytest.raises(ValueError, match="appears twice"):
        store.add_texts(["a", "b"], ids=["x", "x"])
    with pytest.raises(TypeError, match="unexpected keyword"):
        store.add_texts(["a"], colour="red")
    with pytest.raises(TypeError, match="query must be a str"):
        store.similarity_search(3)  # type: ignore[arg-type]
    assert store.store.count() == 4


def test_documents_with_and_without_ids(fake_embeddings: Embeddings) -> None:
    vs = OgmaVectorStore(fake_embeddings)
    ids = vs.add_documents([Document(page_content="a", id="given"), Document(page_content="b")])
    assert ids[0] == "given" and len(ids[1]) == 32
    assert [d.page_content for d in vs.get_by_ids(ids)] == ["a", "b"]
    assert vs.add_documents([]) == []


def test_get_by_ids_order_and_missing(store: OgmaVectorStore) -> None:
    docs = store.get_by_ids(["dogs", "nope", "paris"])
    assert [d.id for d in docs] == ["dogs", "paris"]
    assert docs[0].metadata == GEO[3][1]


def test_results_are_copies(store: OgmaVectorStore) -> None:
    first = store.similarity_search("cats", k=1)[0]
    first.metadata["topic"] = "changed"
    assert store.get_by_ids([first.id or ""])[0].metadata["topic"] != "changed"


def test_delete_needs_ids(store: OgmaVectorStore) -> None:
    with pytest.raises(ValueError, match="pass the ids"):
        store.delete()
    assert store.delete(["cats", "nope"]) is True
    assert store.store.count() == 3


def test_from_texts_and_from_documents(fake_embeddings: Embeddings, tmp_path: Path) -> None:
    vs = OgmaVectorStore.from_texts(["a", "b"], fake_embeddings, [{"n": 1}, {"n": 2}], ids=["1", "2"])
    assert vs.get_by_ids(["2"]) == [Document(id="2", page_content="b", metadata={"n": 2})]
    path = tmp_path / "docs.db"
    vs2 = OgmaVectorStore.from_documents(
        [Document(page_content="c", metadata={"n": 3}, id="3")], fake_embeddings, path=path, precision="int8"
    )
    assert vs2.store.precision == "int8"
    vs2.close()
    reopened = OgmaVectorStore(fake_embeddings, path=path)
    assert reopened.similarity_search("c", k=1) == [Document(id="3", page_content="c", metadata={"n": 3})]


def test_from_store_without_encoder(fake_embeddings: Embeddings) -> None:
    vs = OgmaVectorStore.from_store(Store(":memory:"), fake_embeddings)
    vs.add_texts(["alpha", "beta"], ids=["a", "b"])
    assert vs.similarity_search("beta", k=1)[0].id == "b"
    assert vs.embeddings is fake_embeddings


def test_as_retriever(store: OgmaVectorStore) -> None:
    retriever = store.as_retriever(search_kwargs={"k": 2, "filter": {"topic": "geo"}})
    assert isinstance(retriever, VectorStoreRetriever)
    assert {d.id for d in retriever.invoke("capital")} == {"paris", "berlin"}
    mmr = store.as_retriever(search_type="mmr", search_kwargs={"k": 1, "fetch_k": 4})
    assert len(mmr.invoke("cats")) == 1
    threshold = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"score_threshold": 0.99, "k": 4}
    )
    assert [d.id for d in threshold.invoke(GEO[0][0])] == ["paris"]


async def test_async_search_and_filters(store: OgmaVectorStore) -> None:
    docs = await store.asimilarity_search("x", k=10, filter={"topic": "pets"})
    assert {d.id for d in docs} == {"cats", "dogs"}
    scored = await store.asimilarity_search_with_relevance_scores(GEO[1][0], k=1)
    assert scored[0][0].id == "berlin"
    mmr = await store.amax_marginal_relevance_search("x", k=2, fetch_k=4)
    assert len(mmr) == 2


def test_ogma_embeddings_record_the_model(tiny_model_dir: Path, tmp_path: Path) -> None:
    emb = OgmaEmbeddings(model_name=str(tiny_model_dir))
    vs = OgmaVectorStore(emb, path=tmp_path / "m.db")
    vs.add_texts(["paris is the capital of france", "cats purr", "dogs sleep"], ids=["p", "c", "d"])
    assert vs.store.config.model_id == emb.model_id
    assert vs.similarity_search("capital of france", k=1)[0].id == "p"
    vs.close()
    with pytest.raises(StoreMismatchError):
        OgmaVectorStore(DeterministicFakeEmbedding(size=16), path=tmp_path / "m.db", dim=8)


@pytest.mark.integration
def test_real_model_end_to_end(tmp_path: Path) -> None:
    embeddings = OgmaEmbeddings(model_name="sentence-transformers/all-MiniLM-L6-v2", local_files_only=True)
    vs = OgmaVectorStore(embeddings, path=tmp_path / "real.db")
    vs.add_texts([t for t, _ in GEO], [m for _, m in GEO], ids=["paris", "berlin", "cats", "dogs"])
    assert vs.similarity_search("Which city is France's capital?", k=1)[0].id == "paris"
    assert vs.similarity_search("Why do cats make a rumbling sound?", k=1)[0].id == "cats"
    assert vs.similarity_search("capital", k=1, filter={"year": {"$gte": 2020}})[0].id == "berlin"
    (doc, relevance), *_ = vs.similarity_search_with_relevance_scores("German capital city", k=4)
    assert doc.id == "berlin" and 0.5 < relevance <= 1.0
    vs.close()
    reopened = OgmaVectorStore(embeddings, path=tmp_path / "real.db")
    assert reopened.store.config.model_id == "sentence-transformers/all-MiniLM-L6-v2"
    assert reopened.get_by_ids(["dogs"])[0].page_content == GEO[3][0]


# -- search modes through the LangChain interfaces ----------------------------------------
def test_similarity_search_modes(store: OgmaVectorStore) -> None:
    lexical = store.similarity_search_with_score("capital", k=4, mode="lexical")
    assert {d.id for d, _ in lexical} == {"paris", "berlin"}
    assert all(score > 0 for _, score in lexical)
    hybrid = store.similarity_search(GEO[1][0], k=4, mode="hybrid")
    assert len(hybrid) == 4 and hybrid[0].id == "berlin"
    assert store.similarity_search("capital", k=4, mode="dense") == store.similarity_search("capital", k=4)


def test_retrieval_mode_default_and_fusion(fake_embeddings: DeterministicFakeEmbedding) -> None:
    vs = OgmaVectorStore(fake_embeddings, retrieval_mode="lexical")
    vs.add_texts([t for t, _ in GEO], [m for _, m in GEO], ids=["paris", "berlin", "cats", "dogs"])
    assert {d.id for d in vs.similarity_search("capital", k=4)} == {"paris", "berlin"}
    assert len(vs.similarity_search("capital", k=4, mode="dense")) == 4
    rrf = OgmaVectorStore.from_store(vs.store, fake_embeddings, retrieval_mode="hybrid", fusion="rrf")
    fused = rrf.similarity_search_with_score("capital", k=2)
    vector = fake_embeddings.embed_query("capital")
    core = vs.store.search("capital", vector=vector, k=2, mode="hybrid", fusion="rrf")  # the store's own RRF
    assert [(d.id, score) for d, score in fused] == [(h.id, pytest.approx(h.score)) for h in core]


def test_as_retriever_hybrid_and_lexical(store: OgmaVectorStore) -> None:
    hybrid = store.as_retriever(search_type="hybrid", search_kwargs={"k": 2})
    assert isinstance(hybrid, VectorStoreRetriever) and hybrid.vectorstore is store
    assert hybrid.invoke(GEO[1][0])[0].id == "berlin"
    lexical = store.as_retriever(search_type="lexical", search_kwargs={"k": 4, "filter": {"year": {"$gte": 2020}}})
    assert [d.id for d in lexical.invoke("capital")] == ["berlin"]
    by_kwargs = store.as_retriever(search_kwargs={"mode": "hybrid", "k": 2})
    assert by_kwargs.invoke("capital Germany") == hybrid.invoke("capital Germany")
    assert [d.page_content for d in store.search("purr", "lexical")] == [GEO[2][0]]


async def test_as_retriever_hybrid_async(store: OgmaVectorStore) -> None:
    retriever = store.as_retriever(search_type="hybrid", search_kwargs={"k": 3})
    assert await retriever.ainvoke("capital Germany") == retriever.invoke("capital Germany")
    assert [d.id for d in await store.asearch("purr", "lexical")] == ["cats"]


def test_relevance_scores_are_cosines_in_every_mode(store: OgmaVectorStore) -> None:
    dense = dict((d.id, s) for d, s in store.similarity_search_with_score("capital Germany", k=4, mode="dense"))
    for mode in ("dense", "lexical", "hybrid"):
        scored = store.similarity_search_with_relevance_scores("capital Germany", k=4, mode=mode)
        assert scored
        for doc, relevance in scored:
            assert relevance == pytest.approx(clipped_cosine_relevance(dense[doc.id]), abs=1e-5)
    kept = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"score_threshold": 0.99, "mode": "lexical"}
    ).invoke(GEO[1][0])
    assert [d.id for d in kept] == ["berlin"]


def test_rerank_through_similarity_search(store: OgmaVectorStore) -> None:
    class Alphabetical:
        def rerank(self, query: str, documents: list[str], top_k: int | None = None) -> list[Any]:
            order = sorted(range(len(documents)), key=lambda i: documents[i])
            return [SimpleNamespace(index=i, score=1.0 - rank / 10) for rank, i in enumerate(order)][:top_k]

    alone = OgmaReranker(reranker=Alphabetical(), alpha=None)  # the reranker's score alone
    docs = store.similarity_search_with_score("anything", k=2, mode="hybrid", rerank=alone, rerank_k=4)
    assert [d.id for d, _ in docs] == ["berlin", "cats"]
    assert [s for _, s in docs] == pytest.approx([1.0, 0.9])
    # by default the store blends the reranker's score with the hybrid score
    blended = store.similarity_search_with_score("anything", k=4, mode="hybrid", rerank=Alphabetical(), rerank_k=4)
    for doc, score in blended:
        scores = doc.metadata.get("scores") or {}
        assert score <= 1.0 and (not scores or "rerank" in scores)
    assert [s for _, s in blended] == sorted((s for _, s in blended), reverse=True)
    assert [s for _, s in blended] != pytest.approx([1.0, 0.9, 0.8, 0.7])


# -- the embeddings are checked against the file ------------------------------------------
class _Counting(Embeddings):
    def __init__(self, size: int = 6, salt: str = "") -> None:
        self.inner = DeterministicFakeEmbedding(size=size)
        self.salt = salt
        self.calls = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        return self.inner.embed_documents([self.salt + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(self.salt + text)


def test_fingerprint_recorded_on_first_add_and_checked(tmp_path: Path) -> None:
    from ogma.store.fingerprint import read_fingerprint

    path = tmp_path / "s.db"
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=6), path=path)
    assert read_fingerprint(vs.store) is None
    vs.add_texts(["a"], ids=["a"])
    recorded = read_fingerprint(vs.store)
    assert recorded is not None and recorded.identity.endswith("DeterministicFakeEmbedding(size=6)")
    vs.add_texts(["b"], ids=["b"])
    assert read_fingerprint(vs.store) == recorded
    vs.close()
    # A class without model attributes is probed (one call); the same vectors pass.
    same = _Counting()
    OgmaVectorStore(same, path=path).close()
    assert same.calls == 1
    with pytest.raises(StoreMismatchError, match="_Counting"):
        OgmaVectorStore(_Counting(salt="other model "), path=path)
    # Opting out opens anyway.
    OgmaVectorStore(_Counting(salt="other model "), path=path, check_embeddings=False).close()


def test_equal_named_identity_costs_no_embedding(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    OgmaVectorStore(DeterministicFakeEmbedding(size=6), path=path).add_texts(["a"])

    emb = DeterministicFakeEmbedding(size=6)
    calls: list[list[str]] = []
    original = emb.embed_documents
    object.__setattr__(emb, "embed_documents", lambda texts: calls.append(texts) or original(texts))
    OgmaVectorStore(emb, path=path).close()
    assert calls == []


def test_store_without_record_is_checked_against_its_data(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    emb = DeterministicFakeEmbedding(size=6)
    with Store(path, encoder=emb) as core:  # written by the core (as `ogma index` does): no fingerprint
        core.add(["Paris is in France.", "Cats purr."], ids=["p", "c"])
    with pytest.raises(StoreMismatchError, match="document 'p'"):
        OgmaVectorStore(_Counting(salt="x"), path=path)
    vs = OgmaVectorStore(_Counting(), path=path)  # same vectors: opens, and records on the next add
    vs.add_texts(["Dogs bark."], ids=["d"])
    vs.close()
    with pytest.raises(StoreMismatchError, match="probe"):
        OgmaVectorStore(_Counting(salt="x"), path=path)


def test_from_store_checks_and_keeps_the_store_open_on_success(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    OgmaVectorStore(DeterministicFakeEmbedding(size=6), path=path).add_texts(["a"], ids=["a"])
    core = Store(path)
    with pytest.raises(StoreMismatchError):
        OgmaVectorStore.from_store(core, _Counting(salt="x"))
    ok = OgmaVectorStore.from_store(Store(path), DeterministicFakeEmbedding(size=6))
    assert ok.get_by_ids(["a"])[0].page_content == "a"


@pytest.mark.integration
def test_minilm_store_refuses_fake_embeddings(tmp_path: Path) -> None:
    # The reported case: a store built with all-MiniLM-L6-v2, opened with 384-d fake embeddings.
    path = tmp_path / "minilm.db"
    embeddings = OgmaEmbeddings(model_name="sentence-transformers/all-MiniLM-L6-v2", local_files_only=True)
    vs = OgmaVectorStore(embeddings, path=path)
    vs.add_texts([t for t, _ in GEO])
    vs.close()
    with pytest.raises(StoreMismatchError, match=r"all-MiniLM-L6-v2.*DeterministicFakeEmbedding\(size=384\)"):
        OgmaVectorStore(DeterministicFakeEmbedding(size=384), path=path)
    # The same model at int8 is the same model (probe cosine above 0.99).
    quantized = OgmaEmbeddings(
        model_name="sentence-transformers/all-MiniLM-L6-v2", local_files_only=True, quantized=True
    )
    reopened = OgmaVectorStore(quantized, path=path)
    assert reopened.similarity_search("Which city is France's capital?", k=1)[0].page_content == GEO[0][0]
    reopened.close()
