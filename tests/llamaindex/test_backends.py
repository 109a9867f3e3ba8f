"""LlamaIndex ``OgmaVectorStore(store=...)`` with any store backend, and its serialisation."""

from __future__ import annotations

from pathlib import Path

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import VectorStoreQuery, VectorStoreQueryMode

from llama_index.vector_stores.ogma import OgmaVectorStore
from ogma import Store
from tests.helpers.milvus_lite import open_milvus, requires_milvus_lite
from tests.helpers.proxy_store import ProxyStore


def _nodes() -> list[TextNode]:
    return [
        TextNode(id_="p", text="Paris is in France.", embedding=[1.0, 0.0], metadata={"t": "geo"}),
        TextNode(id_="c", text="Cats purr.", embedding=[0.0, 1.0], metadata={"t": "pets"}),
    ]


def test_any_backend_through_store_argument() -> None:
    backend = ProxyStore()
    vs = OgmaVectorStore(store=backend)
    assert vs.client is backend
    assert vs.add(_nodes()) == ["p", "c"]
    assert vs.query(VectorStoreQuery(query_embedding=[0.9, 0.1], similarity_top_k=1)).ids == ["p"]
    text = VectorStoreQuery(query_str="cats", mode=VectorStoreQueryMode.TEXT_SEARCH, similarity_top_k=1)
    assert vs.query(text).ids == ["c"]
    assert [n.node_id for n in vs.get_nodes(["c"])] == ["c"]
    vs.delete("c")  # no ref_doc_id: nothing deleted
    assert backend.count() == 2
    assert OgmaVectorStore.from_store(backend).client is backend


def test_store_without_uri_cannot_be_serialised() -> None:
    vs = OgmaVectorStore(store=ProxyStore())
    with pytest.raises(ValueError, match="wraps a ProxyStore that has no path or URI"):
        vs.to_dict()


def test_sqlite_store_serialises_its_path(tmp_path: Path) -> None:
    vs = OgmaVectorStore(store=Store(tmp_path / "s.db"))
    vs.add(_nodes())
    data = vs.to_dict()
    assert data["path"] == str(tmp_path / "s.db")
    vs.close()
    again = OgmaVectorStore.from_dict(data)
    assert again.client.count() == 2
    again.close()


def test_path_may_be_a_store_uri(tmp_path: Path) -> None:
    vs = OgmaVectorStore(f"sqlite://{tmp_path}/u.db")
    vs.add(_nodes())
    assert isinstance(vs.client, Store) and vs.client.path == f"{tmp_path}/u.db"
    vs.close()
    with pytest.raises(ValueError, match="unknown scheme 'redis'"):
        OgmaVectorStore("redis://host/x")


def test_store_argument_errors(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match=r"store must be an Ogma store.*got dict"):
        OgmaVectorStore(store={})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="either an open store= or a path"):
        OgmaVectorStore(tmp_path / "x.db", store=ProxyStore())


@requires_milvus_lite
def test_milvus_store_argument_and_uri_round_trip(milvus_lite_db: Path) -> None:
    backend = open_milvus(milvus_lite_db, precision="binary")
    vs = OgmaVectorStore(store=backend)
    vs.add(_nodes())
    assert vs.query(VectorStoreQuery(query_embedding=[0.9, 0.1], similarity_top_k=1)).ids == ["p"]
    data = vs.to_dict()
    assert data["path"] == f"milvus-lite://{milvus_lite_db}?collection={backend.collection}"
    vs.close()
    again = OgmaVectorStore.from_dict(data)
    assert again.client.count() == 2
    assert again.query(VectorStoreQuery(query_embedding=[0.1, 0.9], similarity_top_k=1)).ids == ["c"]
    again.close()
