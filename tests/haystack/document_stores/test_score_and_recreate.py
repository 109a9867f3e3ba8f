"""A written ``score`` round-trips (kept under a reserved metadata key, hidden everywhere else);
``delete_all_documents(recreate_index=True)`` forgets the vector dimension."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from haystack.dataclasses import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.ogma import OgmaDocumentStore, OgmaFilterError
from haystack_integrations.document_stores.ogma.conversion import SCORE_KEY
from ogma.errors import StoreMismatchError
from ogma.store import Store


@pytest.fixture
def store() -> Iterator[OgmaDocumentStore]:
    document_store = OgmaDocumentStore()
    yield document_store
    document_store.close()


DOCS = [
    Document(id="a", content="red apple", meta={"score": "user's own", "n": 1}, score=0.25, embedding=[1.0, 0.0]),
    Document(id="b", content="green pear", meta={"n": 2}, score=3, embedding=[0.0, 1.0]),
    Document(id="c", content="yellow banana", meta={"n": 3}, embedding=[0.5, 0.75]),
]


def test_score_round_trips_like_the_in_memory_store(store: OgmaDocumentStore) -> None:
    memory = InMemoryDocumentStore()
    store.write_documents(DOCS)
    memory.write_documents(DOCS)
    ours = store.filter_documents()
    assert [(d.id, d.score, d.meta) for d in ours] == [(d.id, d.score, d.meta) for d in memory.filter_documents()]
    assert ours[0].meta == {"score": "user's own", "n": 1}  # the user's own "score" key is untouched
    assert ours == DOCS


def test_the_score_key_is_not_a_metadata_field(store: OgmaDocumentStore) -> None:
    store.write_documents(DOCS)
    assert SCORE_KEY not in store.get_metadata_fields_info()
    assert store.get_metadata_fields_info() == {"score": {"type": "keyword"}, "n": {"type": "int"}}
    for method, args in (
        (store.get_metadata_field_min_max, (SCORE_KEY,)),
        (store.get_metadata_field_unique_values, (f"meta.{SCORE_KEY}",)),
        (store.count_unique_metadata_by_filter, ({}, [SCORE_KEY])),
    ):
        with pytest.raises(ValueError, match="keeps document scores"):
            method(*args)  # type: ignore[operator]
    assert store.get_metadata_field_min_max("n") == {"min": 1, "max": 3}


def test_retrievers_set_the_retrieval_score_and_hide_the_stored_one(store: OgmaDocumentStore) -> None:
    store.write_documents(DOCS)
    for docs in (
        store.embedding_retrieval([1.0, 0.0], top_k=3),
        store.bm25_retrieval("apple", top_k=3),
        store.hybrid_retrieval("apple", [1.0, 0.0], top_k=3),
    ):
        assert docs and all(SCORE_KEY not in d.meta for d in docs)
        assert docs[0].id == "a" and docs[0].score != 0.25
    hit = store.embedding_retrieval([1.0, 0.0], top_k=1)[0]
    assert hit.score == pytest.approx(1.0)


def test_score_filters_reach_the_stored_score(store: OgmaDocumentStore) -> None:
    store.write_documents(DOCS)
    memory = InMemoryDocumentStore()
    memory.write_documents(DOCS)
    for filters in (
        {"field": "score", "operator": ">", "value": 1},
        {"field": "score", "operator": "==", "value": None},
        {"field": "score", "operator": "<=", "value": 0.25},
        {"field": "meta.score", "operator": "==", "value": "user's own"},
    ):
        assert [d.id for d in store.filter_documents(filters)] == [d.id for d in memory.filter_documents(filters)]
    with pytest.raises(OgmaFilterError, match="filter on the field 'score'"):
        store.filter_documents({"field": f"meta.{SCORE_KEY}", "operator": ">", "value": 0})


def test_overwrite_and_update_keep_the_score_honest(store: OgmaDocumentStore) -> None:
    store.write_documents(DOCS)
    store.update_by_filter({"field": "id", "operator": "==", "value": "a"}, {"n": 10})
    assert store.filter_documents({"field": "id", "operator": "==", "value": "a"})[0].score == 0.25
    store.write_documents([Document(id="a", content="red apple")], DuplicatePolicy.OVERWRITE)
    assert store.filter_documents({"field": "id", "operator": "==", "value": "a"})[0].score is None
    with pytest.raises(ValueError, match="reserves for document scores"):
        store.update_by_filter({"field": "id", "operator": "==", "value": "b"}, {SCORE_KEY: 9.0})
    assert store.filter_documents({"field": "id", "operator": "==", "value": "b"})[0].score == 3


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (Document(id="x", content="t", meta={SCORE_KEY: 1.0}), r"documents\[1\]\.meta has the key '_haystack_score'"),
        (Document(id="x", content="t", score=float("nan")), r"documents\[1\]\.score must be a finite number"),
        (Document(id="x", content="t", score="high"), r"documents\[1\]\.score must be a finite number"),  # type: ignore[arg-type]
        (Document(id="x", content="t", score=True), r"documents\[1\]\.score must be a finite number"),
    ],
)
def test_bad_scores_and_the_reserved_key_are_refused(
    store: OgmaDocumentStore, document: Document, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        store.write_documents([Document(id="ok", content="fine"), document])
    assert store.count_documents() == 0


def test_a_foreign_value_under_the_key_stays_in_meta(store: OgmaDocumentStore) -> None:
    store.store.add(["t"], [{SCORE_KEY: "not a number"}], ["x"], [[1.0, 0.0]])
    (doc,) = store.filter_documents()
    assert doc.score is None and doc.meta == {SCORE_KEY: "not a number"}


@pytest.mark.parametrize("where", ["memory", "file"])
def test_recreate_index_accepts_a_new_dimension(tmp_path: Path, where: str) -> None:
    path = ":memory:" if where == "memory" else str(tmp_path / "d.db")
    store = OgmaDocumentStore(path)
    store.write_documents([Document(id="a", content="x", embedding=[1.0, 0.0])])
    store.delete_all_documents()
    with pytest.raises(StoreMismatchError, match="holds 2-d vectors"):
        store.write_documents([Document(id="b", content="y", embedding=[1.0, 0.0, 0.0])])
    store.write_documents([Document(id="c", content="z", embedding=[0.0, 1.0])])
    store.delete_all_documents(recreate_index=True)
    assert store.count_documents() == 0
    store.write_documents([Document(id="b", content="y", embedding=[0.0, 0.0, 1.0])])
    assert [d.id for d in store.embedding_retrieval([0.0, 0.0, 1.0], top_k=1)] == ["b"]
    store.close()
    if where == "file":
        reopened = OgmaDocumentStore(path)
        assert reopened.store.dim == 3 and [d.id for d in reopened.filter_documents()] == ["b"]
        reopened.close()


def test_recreate_index_keeps_a_dimension_given_to_the_document_store() -> None:
    store = OgmaDocumentStore(dim=2)
    store.write_documents([Document(id="a", content="x", embedding=[1.0, 0.0])])
    store.delete_all_documents(recreate_index=True)
    with pytest.raises(StoreMismatchError):
        store.write_documents([Document(id="b", content="y", embedding=[1.0, 0.0, 0.0])])


def test_recreate_index_async() -> None:
    store = OgmaDocumentStore()
    store.write_documents([Document(id="a", content="x", embedding=[1.0, 0.0])])
    asyncio.run(store.delete_all_documents_async(recreate_index=True))
    store.write_documents([Document(id="b", content="y", embedding=list(np.ones(5)))])
    assert store.store.dim == 5


class _NoReset:
    """A store object without ``reset`` (a backend that cannot forget its dimension)."""

    def __init__(self) -> None:
        self._inner = Store(":memory:")

    def __getattr__(self, name: str) -> object:
        if name == "reset":
            raise AttributeError(name)
        return getattr(self._inner, name)


def test_recreate_index_on_a_backend_without_reset_says_so() -> None:
    store = OgmaDocumentStore()
    store._store = _NoReset()  # type: ignore[assignment]
    store.write_documents([Document(id="a", content="x")])
    with pytest.raises(NotImplementedError, match="cannot forget its vector dimension"):
        store.delete_all_documents(recreate_index=True)
    assert store.count_documents() == 1  # nothing deleted
