"""LangChain's standard vector-store suite (sync and async) on the Milvus backend (Milvus Lite).

The adapter is the same ``OgmaVectorStore``; only ``store=`` changes. Each test gets a new
collection in the session's Milvus Lite file.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import VectorStoreIntegrationTests

from langchain_ogma import OgmaRetriever, OgmaVectorStore
from ogma.store.uri import store_uri
from tests.helpers.milvus_lite import new_collection, open_milvus, requires_milvus_lite

pytestmark = [requires_milvus_lite, pytest.mark.slow]


class TestOgmaVectorStoreOnMilvusLite(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self, milvus_lite_db: Path) -> Generator[VectorStore, None, None]:
        store = OgmaVectorStore(self.get_embeddings(), store=open_milvus(milvus_lite_db))
        yield store
        store.close()


@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_one_argument_switches_to_milvus(milvus_lite_db: Path, precision: str) -> None:
    backend = open_milvus(milvus_lite_db, precision=precision)
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=8), store=backend, retrieval_mode="hybrid")
    vs.add_texts(
        ["Paris is the capital of France.", "Cats purr when content.", "Berlin is in Germany."],
        [{"topic": "geo", "year": 2020}, {"topic": "pets", "year": 2021}, {"topic": "geo", "year": 2022}],
        ids=["paris", "cats", "berlin"],
    )
    assert [d.id for d in vs.similarity_search("Cats purr when content.", k=1, mode="dense")] == ["cats"]
    assert [d.id for d in vs.similarity_search("capital France", k=1, mode="lexical")] == ["paris"]
    geo = vs.similarity_search("anything", k=3, filter={"topic": "geo", "year": {"$gte": 2021}})
    assert [d.id for d in geo] == ["berlin"]
    assert [d.id for d in OgmaRetriever(store=vs, k=1, mode="dense").invoke("Berlin is in Germany.")] == ["berlin"]
    assert backend.read_setting("embedder") is not None  # the fingerprint, through the protocol
    assert store_uri(backend) == f"milvus-lite://{milvus_lite_db}?collection={backend.collection}"
    vs.close()


def test_path_may_be_a_milvus_uri(milvus_lite_db: Path) -> None:
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection('lc')}"
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=8), uri, precision="binary")
    vs.add_texts(["Paris is the capital of France.", "Cats purr."], ids=["paris", "cats"])
    assert vs.store.precision == "binary" and store_uri(vs.store) == uri
    assert [d.id for d in vs.similarity_search("Cats purr.", k=1)] == ["cats"]
    with pytest.raises(ValueError, match="option 'fts_tokenizer' is not one a milvus-lite store takes"):
        OgmaVectorStore(DeterministicFakeEmbedding(size=8), uri, fts_tokenizer="porter")
    vs.store.drop()
    vs.close()
