"""Write policies, metadata updates, delete_all, counting by filter and metadata facts."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ogma.errors import DuplicateDocumentError, FilterError, OgmaError, StoreError
from ogma.store import Store
from tests.core.store.conftest import StoreFactory


def _vectors(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, 4)).astype(np.float32)


@pytest.fixture
def store(store_factory: StoreFactory) -> Store:
    s = store_factory(dim=4)
    s.add(["alpha", "beta", "gamma"], [{"k": 1}, {"k": 2}, {"k": 3}], ids=["a", "b", "c"], embeddings=_vectors(3))
    return s


# --------------------------------------------------------------------------- on_conflict


def test_replace_is_the_default(store: Store) -> None:
    assert store.add(["ALPHA"], [{"k": 9}], ids=["a"], embeddings=_vectors(1, 5)) == ["a"]
    doc = store.get(["a"], include_embeddings=True)[0]
    assert (doc.text, doc.metadata) == ("ALPHA", {"k": 9})
    assert doc.embedding is not None
    np.testing.assert_array_equal(doc.embedding, _vectors(1, 5)[0])


def test_skip_keeps_stored_and_writes_new(store: Store) -> None:
    vectors = _vectors(2, 7)
    assert store.add(["new a", "delta"], ids=["a", "d"], embeddings=vectors, on_conflict="skip") == ["d"]
    assert store.get(["a"])[0].text == "alpha"
    assert store.count() == 4
    # the skipped row's vector never reaches the dense index; the new one does
    hits = store.search(vector=vectors[1], k=1, mode="dense")
    assert hits[0].id == "d"
    assert [h.id for h in store.search("delta", mode="lexical")] == ["d"]
    assert [h.id for h in store.search("new", mode="lexical")] == []


def test_skip_with_everything_present_writes_nothing(store: Store) -> None:
    assert store.add(["x", "y"], ids=["a", "b"], embeddings=_vectors(2), on_conflict="skip") == []
    assert [d.text for d in store.get(["a", "b"])] == ["alpha", "beta"]


def test_fail_names_ids_and_writes_nothing(store: Store) -> None:
    with pytest.raises(DuplicateDocumentError, match=r"'b'.*nothing was written") as info:
        store.add(["x", "y", "z"], ids=["x", "b", "c"], embeddings=_vectors(3), on_conflict="fail")
    assert info.value.ids == ["b", "c"]
    assert isinstance(info.value, ValueError) and isinstance(info.value, OgmaError)
    assert store.count() == 3
    assert store.get(["x"]) == []
    assert store.get(["b"])[0].text == "beta"


def test_fail_across_batches_writes_nothing(store: Store) -> None:
    ids = [f"n{i}" for i in range(10)] + ["c"]
    with pytest.raises(DuplicateDocumentError) as info:
        store.add([f"t{i}" for i in range(11)], ids=ids, embeddings=_vectors(11), batch_size=3, on_conflict="fail")
    assert info.value.ids == ["c"]
    assert store.count() == 3


def test_fail_without_conflict_writes(store: Store) -> None:
    assert store.add(["x"], ids=["x"], embeddings=_vectors(1), on_conflict="fail") == ["x"]
    assert store.count() == 4


def test_duplicate_message_is_bounded() -> None:
    error = DuplicateDocumentError.for_ids([f"id{i}" for i in range(50)])
    assert "and 45 more" in str(error)
    assert len(error.ids) == 50


def test_bad_on_conflict(store: Store) -> None:
    with pytest.raises(ValueError, match="on_conflict must be one of 'replace', 'skip', 'fail', got 'overwrite'"):
        store.add(["x"], ids=["x"], embeddings=_vectors(1), on_conflict="overwrite")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- update


def test_update_by_ids_merges(store: Store) -> None:
    assert store.update(["a", "zz"], metadata={"tag": "x"}) == 1
    assert store.get(["a"])[0].metadata == {"k": 1, "tag": "x"}


def test_update_by_filter_and_replace(store: Store) -> None:
    assert store.update(filter={"k": {"$gte": 2}}, metadata={"k": 0, "new": [1, 2]}, replace=True) == 2
    assert [d.metadata for d in store.get(["a", "b", "c"])] == [
        {"k": 1},
        {"k": 0, "new": [1, 2]},
        {"k": 0, "new": [1, 2]},
    ]
    assert store.count(filter={"k": 0}) == 2


def test_update_by_ids_and_filter_intersects(store: Store) -> None:
    assert store.update(["a", "b"], filter={"k": 2}, metadata={"hit": True}) == 1
    assert store.count(filter={"hit": True}) == 1


def test_update_leaves_text_vectors_and_search(store: Store) -> None:
    before = store.search(vector=_vectors(3)[2], k=3, mode="dense")
    store.update(["c"], metadata={"k": 30})
    after = store.search(vector=_vectors(3)[2], k=3, mode="dense", filter={"k": 30})
    assert [h.id for h in after] == ["c"]
    assert before[0].id == "c"
    assert [h.id for h in store.search("gamma", mode="lexical")] == ["c"]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"metadata": {"a": 1}}, ValueError, "give ids=, filter=, or both"),
        ({"filter": {}, "metadata": {"a": 1}}, ValueError, "empty one would update every document"),
        ({"ids": ["a"], "metadata": [("a", 1)]}, TypeError, "metadata must be a dict"),
        ({"ids": ["a"], "metadata": {"a": float("nan")}}, TypeError, "NaN"),
        ({"ids": "a", "metadata": {"a": 1}}, TypeError, "str"),
        ({"filter": {"k": {"$bad": 1}}, "metadata": {"a": 1}}, FilterError, "Unknown operator"),
    ],
    ids=["nothing-chosen", "empty-filter", "metadata-list", "nan", "bare-string-ids", "bad-filter"],
)
def test_update_refuses(store: Store, kwargs: dict, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        store.update(**kwargs)
    assert [d.metadata for d in store.get(["a", "b", "c"])] == [{"k": 1}, {"k": 2}, {"k": 3}]


# --------------------------------------------------------------------------- delete_all


def test_delete_all_needs_confirm(store: Store) -> None:
    with pytest.raises(ValueError, match=r"delete_all\(confirm=True\)"):
        store.delete_all()
    with pytest.raises(ValueError, match="confirm"):
        store.delete_all(confirm=1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="empty one would delete every document"):
        store.delete(filter={})
    assert store.count() == 3


def test_delete_all_empties_and_store_stays_usable(store: Store) -> None:
    assert store.delete_all(confirm=True) == 3
    assert store.count() == 0
    assert store.search(vector=_vectors(1)[0], k=3, mode="dense") == []
    assert store.search("alpha", mode="lexical") == []
    assert store.delete_all(confirm=True) == 0
    store.add(["again"], ids=["a"], embeddings=_vectors(1))
    assert [h.id for h in store.search(vector=_vectors(1)[0], k=3, mode="dense")] == ["a"]


def test_read_only_refuses_new_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, dim=4) as s:
        s.add(["a"], ids=["a"], embeddings=_vectors(1))
    with Store(path, read_only=True) as s:
        with pytest.raises(StoreError, match="read_only"):
            s.update(["a"], metadata={"x": 1})
        with pytest.raises(StoreError, match="read_only"):
            s.delete_all(confirm=True)
        assert s.count(filter={"$id": "a"}) == 1


# --------------------------------------------------------------------------- counts and facts


def test_count_by_filter_including_document_fields(store: Store) -> None:
    assert store.count(filter=None) == store.count(filter={}) == 3
    assert store.count(filter={"k": {"$in": [1, 3]}}) == 2
    assert store.count(filter={"$id": {"$in": ["a", "b"]}, "k": 2}) == 1
    assert store.count(filter={"$content": {"$contains": "mm"}}) == 1
    with pytest.raises(FilterError):
        store.count(filter={"k": {"$nope": 1}})


def test_search_and_delete_by_document_fields(store: Store) -> None:
    hits = store.search(vector=_vectors(3)[0], k=3, mode="dense", filter={"$id": {"$ne": "a"}})
    assert {h.id for h in hits} == {"b", "c"}
    assert store.delete(filter={"$content": {"$like": "b%"}}) == 1
    assert store.get(["b"]) == []


@pytest.fixture
def mixed(store_factory: StoreFactory) -> Store:
    s = store_factory(dim=4)
    metas = [
        {"year": 2020, "tag": "x", "score": 1, "flag": True, "l": [1, 2]},
        {"year": 2024, "tag": "y", "score": 2.5, "flag": False, "l": [1, 2]},
        {"year": 2020, "tag": "x", "note": None, "obj": {"a": 1}},
        {"year": "unknown", "tag": None},
    ]
    s.add(["a", "b", "c", "d"], metas, ids=["1", "2", "3", "4"], embeddings=_vectors(4))
    return s


def test_metadata_fields(mixed: Store) -> None:
    assert mixed.metadata_fields() == {
        "flag": "bool",
        "l": "list",
        "note": "null",
        "obj": "dict",
        "score": "float",
        "tag": "str",
        "year": "mixed",
    }
    assert mixed.metadata_fields(filter={"$id": "1"}) == {
        "flag": "bool",
        "l": "list",
        "score": "int",
        "tag": "str",
        "year": "int",
    }


def test_metadata_values(mixed: Store) -> None:
    assert mixed.metadata_values("tag") == [("x", 2), ("y", 1)]
    assert mixed.metadata_values("year") == [(2020, 2), (2024, 1), ("unknown", 1)]
    assert mixed.metadata_values("flag") == [(False, 1), (True, 1)]
    assert mixed.metadata_values("l") == [([1, 2], 2)]
    assert mixed.metadata_values("tag", filter={"year": 2024}) == [("y", 1)]
    assert mixed.metadata_values("absent") == []


def test_metadata_range(mixed: Store) -> None:
    assert mixed.metadata_range("year") == (2020, 2024)  # numbers win over strings
    assert mixed.metadata_range("score") == (1, 2.5)
    assert mixed.metadata_range("tag") == ("x", "y")
    assert mixed.metadata_range("year", filter={"$id": "4"}) == ("unknown", "unknown")
    assert mixed.metadata_range("flag") is None
    assert mixed.metadata_range("absent") is None


@pytest.mark.parametrize(("field", "error"), [(1, TypeError), ("", ValueError), (None, TypeError)])
def test_metadata_facts_refuse_bad_field(mixed: Store, field: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="field"):
        mixed.metadata_values(field)  # type: ignore[arg-type]
    with pytest.raises(error, match="field"):
        mixed.metadata_range(field)  # type: ignore[arg-type]


def test_metadata_key_with_quote_and_dot(mixed: Store) -> None:
    mixed.add(["e"], [{"a.b": 5, 'q"x': "v"}], ids=["5"], embeddings=_vectors(1))
    assert mixed.metadata_values("a.b") == [(5, 1)]
    assert mixed.metadata_range('q"x') == ("v", "v")


# --------------------------------------------------------------------------- iter_documents(filter=)


@pytest.mark.parametrize(
    "flt",
    [
        None,
        {},
        {"k": {"$gte": 2}},
        {"$id": {"$in": ["a", "c"]}},
        {"$content": {"$contains": "amm"}},
        {"$or": [{"k": 1}, {"$id": "c"}]},
        {"k": 99},
    ],
)
@pytest.mark.parametrize("batch_size", [1, 2, 1000])
def test_iter_documents_by_filter_agrees_with_the_evaluator(store: Store, flt: dict | None, batch_size: int) -> None:
    from ogma.store.filters import matches

    every = list(store.iter_documents())
    expected = [d.id for d in every if not flt or matches(flt, d.metadata, id=d.id, content=d.text)]
    got = list(store.iter_documents(filter=flt, batch_size=batch_size, include_embeddings=True))
    assert [d.id for d in got] == expected
    assert len(got) == store.count(filter=flt)
    assert all(d.embedding is not None for d in got)


def test_iter_documents_refuses_a_bad_filter_before_iterating(store: Store) -> None:
    with pytest.raises(FilterError):
        store.iter_documents(filter={"k": {"$bogus": 1}})
