"""``OgmaDocumentStore`` on another backend: a ``MilvusStore`` (Milvus Lite) by object or by store URI.

One argument switches backend; retrievers, ``recreate_index`` and pipeline serialisation
behave as on SQLite. Haystack's own suites also run on Milvus
(``document_stores/test_standard.py``).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from haystack import Document, Pipeline
from haystack.core.errors import SerializationError

from haystack_integrations.components.retrievers.ogma import (
    OgmaBM25Retriever,
    OgmaEmbeddingRetriever,
    OgmaHybridRetriever,
)
from haystack_integrations.document_stores.ogma import OgmaDocumentStore
from ogma.errors import StoreError
from ogma.store import Store
from tests.helpers.milvus_lite import new_collection, open_milvus, requires_milvus_lite
from tests.helpers.proxy_store import ProxyStore

pytestmark = requires_milvus_lite

DOCS = [
    Document(id="paris", content="Paris is the capital of France", embedding=[1.0, 0.0, 0.0], meta={"t": "geo"}),
    Document(id="cats", content="Cats purr when they are content", embedding=[0.0, 1.0, 0.0], meta={"t": "pets"}),
    Document(id="berlin", content="Berlin is the capital of Germany", embedding=[0.9, 0.0, 0.3], meta={"t": "geo"}),
]


def _uri(db: Path) -> str:
    return f"milvus-lite://{db}?collection={new_collection('hs')}"


@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_one_argument_switches_to_milvus(milvus_lite_db: Path, precision: str) -> None:
    store = OgmaDocumentStore(store=open_milvus(milvus_lite_db, precision=precision))
    assert store.write_documents(DOCS) == 3
    geo = {"field": "meta.t", "operator": "==", "value": "geo"}
    dense = OgmaEmbeddingRetriever(document_store=store, top_k=1).run(query_embedding=[0.0, 0.9, 0.1])
    assert [d.id for d in dense["documents"]] == ["cats"]
    lexical = OgmaBM25Retriever(document_store=store, top_k=3, filters=geo).run(query="capital of Germany")
    assert lexical["documents"][0].id == "berlin"
    assert {d.meta["t"] for d in lexical["documents"]} == {"geo"}
    hybrid = OgmaHybridRetriever(document_store=store, top_k=2).run(query="cats purr", query_embedding=[0, 1, 0])
    assert hybrid["documents"][0].id == "cats" and all(0.0 <= d.score <= 1.0 for d in hybrid["documents"])
    assert store.count_documents() == 3 and store.filter_documents(geo)[0].embedding is not None
    store.store.drop()  # type: ignore[attr-defined]


def test_a_milvus_store_is_saved_by_its_uri_and_reopens(milvus_lite_db: Path) -> None:
    backend = open_milvus(milvus_lite_db, precision="binary")
    store = OgmaDocumentStore(store=backend)
    store.write_documents(DOCS)
    data = store.to_dict()
    assert data["init_parameters"]["path"] == f"milvus-lite://{milvus_lite_db}?collection={backend.collection}"
    again = OgmaDocumentStore.from_dict(data)
    assert again.count_documents() == 3 and again.store.precision == "binary"  # type: ignore[attr-defined]
    again.close()
    backend.drop()


def test_path_may_be_a_milvus_uri_with_options(milvus_lite_db: Path) -> None:
    uri = _uri(milvus_lite_db)
    store = OgmaDocumentStore(uri, dim=3, precision="binary")
    store.write_documents([Document(id="t", content="text only, no embedding")])  # dim= fixed the collection
    store.write_documents(DOCS[:1])
    assert store.count_documents() == 2 and store.store.dim == 3
    assert OgmaDocumentStore.from_dict(store.to_dict()).count_documents() == 2
    store.store.drop()  # type: ignore[attr-defined]


def test_text_only_documents_on_a_new_collection_need_a_dimension(milvus_lite_db: Path) -> None:
    store = OgmaDocumentStore(_uri(milvus_lite_db))
    with pytest.raises(StoreError, match="open the store with dim="):
        store.write_documents([Document(id="t", content="no embedding yet")])
    store.write_documents(DOCS)  # the first embeddings fix it
    store.write_documents([Document(id="t", content="no embedding yet")])
    assert store.count_documents() == 4
    store.store.drop()  # type: ignore[attr-defined]


def test_sqlite_only_options_are_refused_on_milvus(milvus_lite_db: Path) -> None:
    with pytest.raises(ValueError, match="option 'fts_tokenizer' is not one a milvus-lite store takes"):
        OgmaDocumentStore(_uri(milvus_lite_db), fts_tokenizer="porter")
    with pytest.raises(ValueError, match="option 'read_only' is not one a milvus-lite store takes"):
        OgmaDocumentStore(_uri(milvus_lite_db), read_only=True)


def test_recreate_index_on_milvus_accepts_a_new_dimension(milvus_lite_db: Path) -> None:
    store = OgmaDocumentStore(store=open_milvus(milvus_lite_db))
    store.write_documents(DOCS)
    store.delete_all_documents(recreate_index=True)
    assert store.count_documents() == 0
    store.write_documents([Document(id="five", content="five dims", embedding=[0.0, 0.0, 0.0, 0.0, 1.0])])
    assert store.store.dim == 5
    store.store.drop()  # type: ignore[attr-defined]


def test_a_pipeline_on_milvus_round_trips_through_yaml(milvus_lite_db: Path) -> None:
    store = OgmaDocumentStore(_uri(milvus_lite_db))
    store.write_documents(DOCS)
    pipe = Pipeline()
    pipe.add_component("retriever", OgmaHybridRetriever(document_store=store, top_k=2))
    loaded = Pipeline.loads(pipe.dumps())
    question = {"retriever": {"query": "capital of France", "query_embedding": [1.0, 0.0, 0.0]}}
    first, again = pipe.run(question), loaded.run(question)
    assert [(d.id, d.score) for d in first["retriever"]["documents"]] == [
        (d.id, d.score) for d in again["retriever"]["documents"]
    ]
    assert first["retriever"]["documents"][0].id == "paris"
    store.store.drop()  # type: ignore[attr-defined]


def test_a_sqlite_store_object_is_saved_by_its_path(tmp_path: Path) -> None:
    store = OgmaDocumentStore(store=Store(tmp_path / "docs.db"))
    store.write_documents(DOCS)
    assert store.to_dict()["init_parameters"]["path"] == str(tmp_path / "docs.db")
    store.close()
    assert OgmaDocumentStore.from_dict(store.to_dict()).count_documents() == 3


def test_a_store_without_a_uri_still_works_but_is_not_saved() -> None:
    store = OgmaDocumentStore(store=ProxyStore())
    store.write_documents(DOCS)
    assert [d.id for d in store.embedding_retrieval([1.0, 0.0, 0.0], top_k=1)] == ["paris"]
    with pytest.raises(SerializationError):
        store.to_dict()
