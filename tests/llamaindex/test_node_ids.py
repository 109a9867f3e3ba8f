"""Node ids are the store's document ids: ``node_ids`` and ``_node_id`` filters are the core's ``$id``.

Earlier versions of ``OgmaVectorStore`` also copied each node id into the metadata key
``_node_id``. Stores written that way (built here through the core, as those versions
wrote them) must keep reading, searching and deleting exactly like new ones.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from llama_index.core.schema import NodeRelationship, RelatedNodeInfo, TextNode
from llama_index.core.vector_stores import SimpleVectorStore
from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery
from llama_index.core.vector_stores.utils import node_to_metadata_dict

from llama_index.vector_stores.ogma import OgmaVectorStore, to_ogma_filter
from llama_index.vector_stores.ogma.filters import NODE_ID_KEY
from ogma import Store
from ogma.store.filters import matches

DIM = 8
N = 12


def make_nodes() -> list[TextNode]:
    vectors = np.random.default_rng(3).normal(size=(N, DIM))
    nodes = []
    for i in range(N):
        node = TextNode(
            id_=f"n{i:02d}",
            text=f"river number {i}" if i % 2 else f"ocean number {i}",
            metadata={"group": i % 3},
            embedding=vectors[i].tolist(),
        )
        node.relationships[NodeRelationship.SOURCE] = RelatedNodeInfo(node_id=f"doc-{i // 3}")
        nodes.append(node)
    return nodes


def legacy_store() -> Store:
    """A store as earlier versions of ``OgmaVectorStore.add`` wrote it: the node id in ``_node_id`` too."""
    nodes = make_nodes()
    metadatas = [
        {**node_to_metadata_dict(n, remove_text=True, flat_metadata=False), "_node_id": n.node_id} for n in nodes
    ]
    store = Store(":memory:")
    store.add(
        [n.get_content() for n in nodes],
        metadatas,
        [n.node_id for n in nodes],
        embeddings=np.asarray([n.embedding for n in nodes], dtype=np.float32),
    )
    return store


@pytest.fixture(params=["new", "legacy"])
def store(request: pytest.FixtureRequest) -> Iterator[OgmaVectorStore]:
    if request.param == "new":
        vs = OgmaVectorStore()
        vs.add(make_nodes())
    else:
        vs = OgmaVectorStore.from_store(legacy_store())
    yield vs
    vs.close()


def ids_filter(ids: list[str]) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=NODE_ID_KEY, value=ids, operator="in")])


def test_new_stores_keep_the_node_id_as_the_document_id_only() -> None:
    vs = OgmaVectorStore()
    vs.add(make_nodes())
    [doc] = vs.client.get(["n03"])
    assert doc.id == "n03" and NODE_ID_KEY not in doc.metadata
    assert vs.client.metadata_fields().keys().isdisjoint({NODE_ID_KEY})


def test_node_id_key_maps_to_the_core_id() -> None:
    assert to_ogma_filter(ids_filter(["a", "b"])) == {"$and": [{"$id": {"$in": ["a", "b"]}}]}
    eq = to_ogma_filter(MetadataFilters(filters=[MetadataFilter(key=NODE_ID_KEY, value="a")]))
    assert eq == {"$and": [{"$id": {"$eq": "a"}}]}
    assert matches(eq, {}, id="a", content=None) and not matches(eq, {NODE_ID_KEY: "a"}, id="b", content=None)


def test_node_ids_restrict_the_search(store: OgmaVectorStore) -> None:
    simple = SimpleVectorStore()
    simple.add(make_nodes())
    some = ["n01", "n04", "n05", "n10"]
    for vector in np.random.default_rng(9).normal(size=(3, DIM)).tolist():
        query = VectorStoreQuery(query_embedding=vector, similarity_top_k=3, node_ids=some)
        assert store.query(query).ids == simple.query(query).ids
        by_filter = VectorStoreQuery(query_embedding=vector, similarity_top_k=3, filters=ids_filter(some))
        assert store.query(by_filter).ids == simple.query(query).ids
    text = store.query(VectorStoreQuery(query_str="river", similarity_top_k=10, node_ids=some, mode="text_search"))
    assert sorted(text.ids) == ["n01", "n05"]


def test_nodes_read_back_without_the_legacy_key(store: OgmaVectorStore) -> None:
    originals = {n.node_id: n for n in make_nodes()}
    got = store.get_nodes(["n07", "n02"])
    assert [n.node_id for n in got] == ["n07", "n02"]
    for node in got:
        assert node.metadata == originals[node.node_id].metadata
        assert node.ref_doc_id == originals[node.node_id].ref_doc_id
    assert [n.node_id for n in store.get_nodes(filters=ids_filter(["n09", "n00"]))] == ["n00", "n09"]
    both = store.get_nodes(["n00", "n01", "n09"], filters=ids_filter(["n09", "n00"]))
    assert [n.node_id for n in both] == ["n00", "n09"]


def test_delete_nodes_by_id_and_by_id_filter(store: OgmaVectorStore) -> None:
    store.delete_nodes(["n00", "n01"])
    store.delete_nodes(filters=ids_filter(["n02", "n03", "missing"]))
    store.delete_nodes(["n04", "n05"], filters=MetadataFilters(filters=[MetadataFilter(key="group", value=1)]))
    remaining = [n.node_id for n in store.get_nodes()]
    assert remaining == ["n05", *[f"n{i:02d}" for i in range(6, N)]]  # n04 (group 1) went, n05 (group 2) stayed
    store.delete("doc-3")
    assert [n.node_id for n in store.get_nodes()] == ["n05", "n06", "n07", "n08"]


def test_clear_empties_the_store(store: OgmaVectorStore) -> None:
    store.clear()
    assert store.client.count() == 0 and store.get_nodes() == []
    store.clear()  # nothing left: still fine
    store.add(make_nodes()[:2])
    assert [n.node_id for n in store.get_nodes()] == ["n00", "n01"]


def test_legacy_nodes_rewritten_lose_the_key() -> None:
    vs = OgmaVectorStore.from_store(legacy_store())
    vs.add(make_nodes()[:1])
    fresh, old = vs.client.get(["n00", "n01"])
    assert NODE_ID_KEY not in fresh.metadata and old.metadata[NODE_ID_KEY] == "n01"
    assert [n.node_id for n in vs.get_nodes(filters=ids_filter(["n00", "n01"]))] == ["n00", "n01"]
    vs.close()
