"""Bad input to ``OgmaVectorStore``: a clear error or a defined empty result, and nothing half-written.

Each row runs against a store holding three nodes; after a failing call the store must
hold exactly those three nodes, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
    VectorStoreQueryMode,
)

from llama_index.vector_stores.ogma import OgmaVectorStore
from ogma import Store
from ogma.errors import FilterError, StoreMismatchError


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
def store() -> OgmaVectorStore:
    vs = OgmaVectorStore()
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


def test_an_empty_store_answers_every_mode() -> None:
    empty = OgmaVectorStore(store=Store(":memory:"))
    for mode in ("default", "text_search", "hybrid", "mmr"):
        assert empty.query(query(query_str="paris", mode=mode)).ids == []
