"""``OgmaVectorStore(embedding, store=...)`` with a backend that is not the SQLite ``Store``.

The proxy backend forwards the store protocol only (no path, config or SQLite
internals), so these tests, and LangChain's standard suite run on it, pass only when the
adapter keeps to :class:`~ogma.store.protocol.StoreProtocol`.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from langchain_ogma import OgmaRetriever, OgmaVectorStore
from ogma import Store
from ogma.errors import StoreMismatchError
from ogma.store.fingerprint import read_fingerprint
from tests.helpers.proxy_store import ProxyStore


class TestOgmaVectorStoreOnProxyBackend(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self) -> Generator[VectorStore, None, None]:
        store = OgmaVectorStore(self.get_embeddings(), store=ProxyStore())
        yield store
        store.close()


def test_store_argument_takes_any_backend() -> None:
    backend = ProxyStore()
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=6), store=backend, retrieval_mode="hybrid")
    assert vs.store is backend
    vs.add_texts(["Paris is in France.", "Cats purr."], [{"t": "geo"}, {"t": "pets"}], ids=["p", "c"])
    assert backend.count() == 2
    assert [d.id for d in vs.similarity_search("Cats purr.", k=1)] == ["c"]
    assert [d.id for d in vs.similarity_search("France", k=1, mode="lexical")] == ["p"]
    assert [d.id for d in vs.similarity_search("anything", k=2, filter={"t": "geo"})] == ["p"]
    # The embedder fingerprint goes through the protocol's settings.
    recorded = read_fingerprint(backend)
    assert recorded is not None and recorded.identity.endswith("DeterministicFakeEmbedding(size=6)")
    # A retriever over the vector store embeds queries with the vector store's embeddings
    # (the backend has no encoder of its own).
    retriever = OgmaRetriever(store=vs, k=1, mode="hybrid")
    assert retriever.ogma_store is backend
    assert [d.id for d in retriever.invoke("Cats purr.")] == ["c"]
    # Other embeddings are refused by the fingerprint, whatever the backend (and the store is closed).
    with pytest.raises(StoreMismatchError, match="ProxyStore"):
        OgmaVectorStore(_Salted(), store=backend)


class _Salted(Embeddings):
    """Another model: the fake embeddings of salted texts (no attribute names the model)."""

    def __init__(self) -> None:
        self.inner = DeterministicFakeEmbedding(size=6)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.inner.embed_documents(["salt " + t for t in texts])

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query("salt " + text)


def test_sqlite_store_argument_keeps_path_usage(tmp_path: Path) -> None:
    sqlite = Store(tmp_path / "s.db")
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=4), store=sqlite)
    vs.add_texts(["a"], ids=["a"])
    vs.close()
    again = OgmaVectorStore(DeterministicFakeEmbedding(size=4), path=tmp_path / "s.db")
    assert [d.id for d in again.get_by_ids(["a"])] == ["a"]
    again.close()
    via_from_store = OgmaVectorStore.from_store(Store(tmp_path / "s.db"), DeterministicFakeEmbedding(size=4))
    assert via_from_store.store.count() == 1
    via_from_store.close()


def test_store_argument_errors(tmp_path: Path) -> None:
    emb = DeterministicFakeEmbedding(size=4)
    with pytest.raises(TypeError, match=r"store must be an Ogma store.*got str"):
        OgmaVectorStore(emb, store="notes.db")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either an open store= or a path"):
        OgmaVectorStore(emb, tmp_path / "x.db", store=ProxyStore())
    with pytest.raises(ValueError, match="either an open store= or a path"):
        OgmaVectorStore(emb, store=ProxyStore(), dim=4)
    assert not (tmp_path / "x.db").exists()
