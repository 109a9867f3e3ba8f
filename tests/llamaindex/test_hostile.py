"""Bad input to ``OgmaVectorStore``: a clear error or a defined empty result, and nothing half-written.

Each row runs against a store holding three nodes, on every backend (SQLite and Milvus
Lite); after a failing call the store must hold exactly those three nodes, unchanged.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import MetadataMode, TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from llama_index.vector_stores.ogma import OgmaVectorStore
from ogma.errors import FilterError, StoreMismatchError
from ogma.store.fingerprint import read_fingerprint
from tests.helpers.backends import BackendStores, store_in


def node(node_id: str, embedding: Sequence[float] | None = (1.0, 0.0, 0.0, 0.0), text: str = "paris") -> TextNode:
    return TextNode(id_=node_id, text=text, embedding=None if embedding is None else list(embedding))


def query(**fields: Any) -> VectorStoreQuery:
    return VectorStoreQuery(**{"query_embedding": [1.0, 0.0, 0.0, 0.0], "similarity_top_k": 2, **fields})


class Operator:
    """Stands in for an operator a newer LlamaIndex might add."""

    name = "NEAR"


UNKNOWN_OPERATOR = MetadataFilters(filters=[MetadataFilter.model_construct(key="k", value=1, operator=Operator())])
WRONG_VALUE = MetadataFilters(filters=[MetadataFilter(key="k", value="ab", operator="in")])
ORDERED_LIST = MetadataFilters(filters=[MetadataFilter(key="k", value=[1, 2], operator=">")])


def _deep(levels: int) -> MetadataFilters:
    filters = MetadataFilters(filters=[MetadataFilter(key="k", value=1)])
    for _ in range(levels):
        filters = MetadataFilters(filters=[filters], condition="or")
    return filters


DEEP = _deep(1500)
CYCLE = MetadataFilters(filters=[MetadataFilter(key="k", value=1)])
CYCLE.filters.append(CYCLE)
TOO_DEEP = "nests more than 100 levels deep"

# (id, action on the store, expected exception type, message pattern)
ERRORS: list[tuple[str, Callable[[OgmaVectorStore], Any], type[BaseException], str]] = [
    ("node-without-embedding", lambda s: s.add([node("n1"), node("n2", None)]), ValueError, r"nodes\[1\].*n2.*embed"),
    ("wrong-dimension", lambda s: s.add([node("n1", [1.0, 0.0])]), StoreMismatchError, "dimension"),
    (
        "mixed-dimensions",
        lambda s: s.add([node("n1"), node("n2", [1.0, 0.0, 0.0])]),
        ValueError,
        "different lengths",
    ),
    ("nan-embedding", lambda s: s.add([node("n1", [float("nan"), 0.0, 0.0, 0.0])]), ValueError, "NaN"),
    ("duplicate-ids-in-batch", lambda s: s.add([node("n1"), node("n1")]), ValueError, "n1"),
    ("not-a-node", lambda s: s.add([node("n1"), "text"]), TypeError, r"nodes\[1\]"),
    ("lone-surrogate", lambda s: s.add([node("n1", text="bad \ud800")]), ValueError, "surrogate"),
    ("unknown-add-kwarg", lambda s: s.add([node("n1")], upsert=True), TypeError, "upsert"),
    ("unknown-operator-query", lambda s: s.query(query(filters=UNKNOWN_OPERATOR)), FilterError, "NEAR"),
    ("unknown-operator-delete", lambda s: s.delete_nodes(["a"], filters=UNKNOWN_OPERATOR), FilterError, "NEAR"),
    ("unknown-operator-get", lambda s: s.get_nodes(filters=UNKNOWN_OPERATOR), FilterError, "NEAR"),
    ("wrong-value-type", lambda s: s.query(query(filters=WRONG_VALUE)), FilterError, "IN"),
    ("ordered-list", lambda s: s.query(query(filters=ORDERED_LIST)), FilterError, "GT"),
    ("negative-top-k", lambda s: s.query(query(similarity_top_k=-1)), ValueError, "k"),
    ("query-wrong-dimension", lambda s: s.query(query(query_embedding=[1.0, 0.0])), StoreMismatchError, "dimension"),
    ("dense-without-embedding", lambda s: s.query(query(query_embedding=None)), ValueError, "query_embedding"),
    (
        "text-search-without-text",
        lambda s: s.query(query(mode=VectorStoreQueryMode.TEXT_SEARCH)),
        ValueError,
        "query_str",
    ),
    ("hybrid-without-text", lambda s: s.query(query(mode=VectorStoreQueryMode.HYBRID)), ValueError, "query_str"),
    ("empty-text-search", lambda s: s.query(query(query_str="", mode="text_search")), ValueError, "non-empty"),
    ("blank-hybrid", lambda s: s.query(query(query_str=" ", mode="hybrid")), ValueError, "non-empty"),
    ("unsupported-mode", lambda s: s.query(query(mode=VectorStoreQueryMode.SVM)), ValueError, "svm.*supported"),
    ("mmr-threshold-out-of-range", lambda s: s.query(query(mode="mmr", mmr_threshold=2.0)), ValueError, "lambda"),
    ("unknown-query-kwarg", lambda s: s.query(query(), top_k=3), TypeError, "top_k"),
    ("not-a-query", lambda s: s.query("paris"), TypeError, "VectorStoreQuery"),
    ("delete-nothing-named", lambda s: s.delete_nodes(), ValueError, "clear"),
    ("delete-empty-filters", lambda s: s.delete_nodes(filters=MetadataFilters(filters=[])), ValueError, "clear"),
    ("delete-non-string-ref", lambda s: s.delete(3), TypeError, "ref_doc_id"),
    # -- a bare string where a list of ids goes, and other id lists ---------------------
    ("delete-nodes-bare-str", lambda s: s.delete_nodes("ab"), TypeError, r"node_ids must be a list.*\['ab'\]"),
    ("get-nodes-bare-str", lambda s: s.get_nodes("ab"), TypeError, r"node_ids must be a list.*\['ab'\]"),
    ("adelete-nodes-bare-str", lambda s: asyncio.run(s.adelete_nodes("ab")), TypeError, "node_ids must be a list"),
    ("aget-nodes-bare-str", lambda s: asyncio.run(s.aget_nodes("ab")), TypeError, "node_ids must be a list"),
    ("delete-nodes-bytes", lambda s: s.delete_nodes(b"ab"), TypeError, "node_ids must be a list"),
    ("delete-nodes-dict", lambda s: s.delete_nodes({"a": 1}), TypeError, "node_ids must be a list"),
    ("delete-nodes-non-str", lambda s: s.delete_nodes(["a", 3]), TypeError, r"node_ids\[1\] must be a str"),
    ("query-doc-ids-bare-str", lambda s: s.query(query(doc_ids="ab")), TypeError, "query.doc_ids must be a list"),
    ("query-node-ids-bare-str", lambda s: s.query(query(node_ids="ab")), TypeError, "query.node_ids must be a list"),
    ("get-nodes-surrogate", lambda s: s.get_nodes(["a", "\ud800"]), ValueError, r"node_ids\[1\] is not valid"),
    # -- filters deeper than the core's limit, or holding themselves ----------------------
    ("filters-1500-deep-query", lambda s: s.query(query(filters=DEEP)), FilterError, TOO_DEEP),
    ("filters-1500-deep-delete", lambda s: s.delete_nodes(filters=DEEP), FilterError, TOO_DEEP),
    ("filters-1500-deep-get", lambda s: s.get_nodes(filters=DEEP), FilterError, TOO_DEEP),
    ("filters-101-deep", lambda s: s.query(query(filters=_deep(101))), FilterError, TOO_DEEP),
    ("filters-cycle-query", lambda s: s.query(query(filters=CYCLE)), FilterError, "contains itself"),
    ("filters-cycle-delete", lambda s: s.delete_nodes(["a"], filters=CYCLE), FilterError, "contains itself"),
    # -- node metadata the store cannot keep as it is: named by node --------------------------
    (
        "metadata-nan",
        lambda s: s.add([node("n1"), TextNode(id_="n2", text="x", embedding=[1.0, 0, 0, 0], metadata={"k": math.nan})]),
        TypeError,
        r"nodes\[1\]\.metadata\['k'\] is nan",
    ),
    (
        "metadata-object",
        lambda s: s.add([node("n1"), TextNode(id_="n2", text="x", embedding=[1.0, 0, 0, 0], metadata={"o": object()})]),
        TypeError,
        r"nodes\[1\]\.metadata is not JSON-serialisable",
    ),
    ("embed-model-not-an-embedding", lambda s: OgmaVectorStore(embed_model="m"), TypeError, "BaseEmbedding"),
    ("store-and-options", lambda s: OgmaVectorStore(store=s.client, dim=4), ValueError, "not both"),
    ("store-not-a-store", lambda s: OgmaVectorStore(store="x.db"), TypeError, "ogma.Store"),
]

# (id, query, expected ids): defined empty results.
EMPTY: list[tuple[str, VectorStoreQuery]] = [
    ("top-k-zero-dense", query(similarity_top_k=0)),
    ("top-k-zero-text", query(similarity_top_k=0, query_str="paris", mode="text_search")),
    ("top-k-zero-hybrid", query(similarity_top_k=0, query_str="paris", mode="hybrid")),
    ("top-k-zero-mmr", query(similarity_top_k=0, mode="mmr")),
    ("punctuation-text-search", query(query_str="?!", mode="text_search")),
    ("no-filter-match", query(filters=MetadataFilters(filters=[MetadataFilter(key="k", value="none")]))),
]


@pytest.fixture
def store(backend_stores: BackendStores) -> OgmaVectorStore:
    vs = OgmaVectorStore(store=backend_stores())
    vs.add([node("a"), node("b", [0.0, 1.0, 0.0, 0.0], "berlin"), node("c", [0.0, 0.0, 1.0, 0.0], "rome")])
    return vs


def contents(store: OgmaVectorStore) -> list[tuple[str, str]]:
    return [(n.node_id, n.get_content()) for n in store.get_nodes()]


@pytest.mark.parametrize(("action", "error", "pattern"), [row[1:] for row in ERRORS], ids=[row[0] for row in ERRORS])
def test_clear_error_and_nothing_written(
    store: OgmaVectorStore, action: Callable[[OgmaVectorStore], Any], error: type[BaseException], pattern: str
) -> None:
    before = contents(store)
    with pytest.raises(error, match=pattern):
        action(store)
    assert contents(store) == before


@pytest.mark.parametrize("bad_query", [row[1] for row in EMPTY], ids=[row[0] for row in EMPTY])
def test_defined_empty_result(store: OgmaVectorStore, bad_query: VectorStoreQuery) -> None:
    result = store.query(bad_query)
    assert (result.ids, result.similarities, result.nodes) == ([], [], [])


def test_empty_inputs_are_no_ops(store: OgmaVectorStore) -> None:
    before = contents(store)
    assert store.add([]) == []
    store.delete_nodes([])
    store.delete("never-added")
    assert store.get_nodes([]) == []
    assert contents(store) == before


def test_an_empty_store_answers_every_mode(backend_stores: BackendStores) -> None:
    empty = OgmaVectorStore(store=backend_stores(name="empty", dim=4))
    for mode in ("default", "text_search", "hybrid", "mmr"):
        assert empty.query(query(query_str="paris", mode=mode)).ids == []


def test_row_ids_are_unique() -> None:
    assert len({row[0] for row in ERRORS}) == len(ERRORS)


class ToyEmbedding(BaseEmbedding):
    """A deterministic 4-d 'model' per name: two names are two models of the same dimension."""

    def _vector(self, text: str) -> list[float]:
        rng = np.random.default_rng(sum(map(ord, self.model_name)))
        projection = rng.normal(size=(4, 4))
        counts = np.array([text.count(c) for c in "aeio"], dtype=np.float64) + 1.0
        return [float(x) for x in projection @ counts]

    def _get_text_embedding(self, text: str) -> list[float]:
        return self._vector(text)

    def _get_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        return self._vector(query)


def _embedded(model: ToyEmbedding, *texts: str) -> list[TextNode]:
    return [TextNode(id_=f"n{i}", text=t, embedding=model.get_text_embedding(t)) for i, t in enumerate(texts)]


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "not-recorded"])
def test_reopening_with_another_embedder_of_the_same_dim_is_refused(
    backend_stores: BackendStores, recorded: bool
) -> None:
    a, b = ToyEmbedding(model_name="toy-a"), ToyEmbedding(model_name="toy-b")
    first = OgmaVectorStore(store=backend_stores(name="shared"), embed_model=a if recorded else None)
    first.add(_embedded(a, "paris in france", "cats purr", "a dog barks"))
    assert (read_fingerprint(first.client) is not None) == recorded
    first.close()
    with pytest.raises(StoreMismatchError, match=r"toy-b"):
        OgmaVectorStore(store=backend_stores(name="shared"), embed_model=b)
    again = OgmaVectorStore(store=backend_stores(name="shared"), embed_model=ToyEmbedding(model_name="toy-a"))
    assert sorted(n.node_id for n in again.get_nodes()) == ["n0", "n1", "n2"]  # nothing lost, same model opens
    again.close()


def test_the_recorded_embedder_is_named_in_the_error(backend_stores: BackendStores) -> None:
    a = ToyEmbedding(model_name="toy-a")
    first = OgmaVectorStore(store=backend_stores(name="shared"), embed_model=a)
    first.add(_embedded(a, "paris in france"))
    first.close()
    with pytest.raises(
        StoreMismatchError, match=r"ToyEmbedding\(model_name='toy-a'\).*ToyEmbedding\(model_name='toy-b'\)"
    ):
        OgmaVectorStore(store=backend_stores(name="shared"), embed_model=ToyEmbedding(model_name="toy-b"))


@pytest.mark.parametrize("folder", ["a?b", "c#d", "50% off", "ü n"])
def test_to_dict_from_dict_reopens_a_store_in_an_awkward_folder(
    tmp_path: Path, adapter_backend: str, folder: str
) -> None:
    (tmp_path / folder).mkdir()
    vs = OgmaVectorStore(store=store_in(tmp_path / folder, adapter_backend))
    vs.add([node("a")])
    data = vs.to_dict()
    vs.close()
    again = OgmaVectorStore.from_dict(data)
    assert [n.node_id for n in again.get_nodes()] == ["a"]
    again.close()


def test_a_store_without_a_record_is_checked_as_llamaindex_embedded_it(backend_stores: BackendStores) -> None:
    # LlamaIndex embeds a node's text with its metadata; the check against stored nodes must do the same,
    # or the right model would be refused for a store written without embed_model.
    a = ToyEmbedding(model_name="toy-a")
    nodes = [
        TextNode(id_="n0", text="cats purr", metadata={"topic": "pets", "source": "notes/zoo/" + "o" * 40 + ".md"}),
        TextNode(id_="n1", text="paris", metadata={"topic": "geography", "source": "notes/europe.md"}),
    ]
    for n in nodes:
        n.embedding = a.get_text_embedding(n.get_content(metadata_mode=MetadataMode.EMBED))
    first = OgmaVectorStore(store=backend_stores(name="shared"))
    first.add(nodes)
    first.close()
    again = OgmaVectorStore(store=backend_stores(name="shared"), embed_model=ToyEmbedding(model_name="toy-a"))
    assert sorted(n.node_id for n in again.get_nodes()) == ["n0", "n1"]
    again.close()
    with pytest.raises(StoreMismatchError, match="toy-b"):
        OgmaVectorStore(store=backend_stores(name="shared"), embed_model=ToyEmbedding(model_name="toy-b"))
