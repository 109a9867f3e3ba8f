"""What is particular to the Milvus backend: index types, binary rescoring, limits, connections.

Everything the two backends share is tested once, on both, by the conformance tests in
``tests/core/store`` (the ``store_factory`` fixture).
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.errors import FilterError, MissingExtraError, StoreError, StoreMismatchError
from ogma.store.protocol import StoreProtocol
from tests.core.store.conftest import clustered_unit, exact_top


def test_it_is_a_store(make: Any) -> None:
    store = make(dim=4)
    assert isinstance(store, StoreProtocol)
    assert "dim=4" in repr(store) and "precision='float32'" in repr(store)


@pytest.mark.parametrize(
    ("precision", "index_type"),
    [("float32", "FLAT"), ("float32", "AUTOINDEX"), ("float32", "ivf_flat"), ("binary", "BIN_FLAT")],
)
def test_index_types_milvus_lite_builds(make: Any, precision: str, index_type: str) -> None:
    vectors = clustered_unit(60, dim=16)
    store = make(dim=16, precision=precision, index_type=index_type)
    store.add([f"t{i}" for i in range(60)], ids=[str(i) for i in range(60)], embeddings=vectors)
    assert store.config.index_type == index_type.upper()
    assert store.search(vector=vectors[7], k=1)[0].id == "7"


@pytest.mark.parametrize(("precision", "index_type"), [("float32", "HNSW"), ("binary", "BIN_IVF_FLAT")])
def test_server_index_types_are_accepted_but_milvus_lite_refuses_them_clearly(
    make: Any, precision: str, index_type: str
) -> None:
    with pytest.raises(StoreError, match=f"Milvus Lite refused index_type '{index_type}'"):
        make(dim=8, precision=precision, index_type=index_type)


def test_unknown_index_type_and_precision(make: Any) -> None:
    with pytest.raises(ValueError, match="index_type must be one of BIN_FLAT, AUTOINDEX, BIN_IVF_FLAT"):
        make(dim=8, precision="binary", index_type="HNSW")
    with pytest.raises(ValueError, match="no int8 vectors"):
        make(dim=8, precision="int8")


def test_reopening_with_another_index_type_is_a_mismatch(make: Any) -> None:
    store = make(dim=8, index_type="FLAT")
    with pytest.raises(StoreMismatchError, match="index_type 'FLAT'"):
        make(store.collection, index_type="IVF_FLAT")


@pytest.mark.parametrize("where", ["in Ogma", "in Milvus"])
def test_binary_candidates_are_rescored_with_the_float_vectors(
    make: Any, where: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ogma.store.milvus.store as milvus_store

    if where == "in Milvus":  # candidate sets too big to fetch are rescored by a second search
        monkeypatch.setattr(milvus_store, "RESCORE_FETCH_BYTES", 0)
    searches: list[str] = []
    vectors = clustered_unit(600, dim=64, seed=3)
    store = make(dim=64, precision="binary")
    real = store._client.search
    store._client.search = lambda *a, **k: searches.append(k["anns_field"]) or real(*a, **k)
    store.add([f"d{i}" for i in range(600)], ids=[str(i) for i in range(600)], embeddings=vectors)
    for q in (5, 111, 420):
        hits = store.search(vector=vectors[q], k=10)
        assert [int(h.id) for h in hits] == exact_top(vectors, vectors[q], 10)
        unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        expected = unit[[int(h.id) for h in hits]] @ unit[q]
        np.testing.assert_allclose([h.score for h in hits], expected, atol=1e-5)
    assert searches == (["bits"] * 3 if where == "in Ogma" else ["bits", "vector"] * 3)
    # with one candidate per result, the Hamming order alone decides: recall drops
    rough = make(store.collection, oversample=1.0)
    found = [
        len({int(h.id) for h in rough.search(vector=vectors[q], k=10)} & set(exact_top(vectors, vectors[q], 10)))
        for q in range(0, 600, 60)
    ]
    assert sum(found) < 100


def test_documents_without_vectors_need_a_known_dimension(make: Any) -> None:
    store = make()
    assert store.dim is None and store.count() == 0 and store.search(vector=np.ones(3)) == []
    with pytest.raises(StoreError, match="dimension is unknown"):
        store.add(["no vector"], embeddings=[None])
    store.add(["a", "b"], ids=["a", "b"], embeddings=[None, np.ones(3)])
    assert store.dim == 3 and store.get(["a"], include_embeddings=True)[0].embedding is None


def test_k_is_clamped_to_what_milvus_returns(make: Any) -> None:
    from ogma.store.milvus.store import MAX_LIMIT

    store = make(dim=2)
    store.add(["a", "b"], ids=["a", "b"], embeddings=np.eye(2))
    assert len(store.search(vector=np.ones(2), k=10**12)) == 2
    assert len(store.search("a b", mode="hybrid", vector=np.ones(2), k=MAX_LIMIT * 3, candidates=10**9)) == 2


def test_texts_and_ids_longer_than_a_varchar_are_refused_before_writing(make: Any) -> None:
    store = make(dim=2)
    with pytest.raises(ValueError, match=r"texts\[1\] is longer than 65,535 bytes"):
        store.add(["ok", "é" * 40_000], embeddings=np.eye(2))
    with pytest.raises(ValueError, match=r"ids\[0\] is longer than 65,535 bytes"):
        store.add(["ok"], ids=["x" * 70_000], embeddings=np.eye(1, 2))
    assert store.count() == 0


def test_filters_milvus_cannot_express_are_refused(make: Any) -> None:
    store = make(dim=2)
    store.add(["a"], [{"t": "abc"}], ids=["a"], embeddings=np.eye(1, 2))
    with pytest.raises(FilterError, match=r"\$contains under a negation"):
        store.search(vector=np.ones(2), filter={"$not": {"t": {"$contains": "b"}}})
    with pytest.raises(FilterError, match=r"\$like"):
        store.count(filter={"$not": {"t": {"$like": "a%c"}}})
    assert store.count(filter={"$not": {"t": {"$like": "abc"}}}) == 0  # no wildcard: plain inequality
    assert store.count(filter={"$not": {"t": {"$like": "%"}}}) == 0  # only wildcards: a type test


@pytest.mark.parametrize(
    ("uri", "error", "message"),
    [
        ("", ValueError, "uri is empty"),
        ("notes.sqlite", ValueError, "ending in '.db'"),
        (None, TypeError, "uri must be a str"),
    ],
)
def test_bad_uri(uri: Any, error: type[Exception], message: str) -> None:
    from ogma.store.milvus import MilvusStore

    with pytest.raises(error, match=message):
        MilvusStore(uri, "c", dim=2)


def test_a_directory_uri_is_refused(tmp_path: Path) -> None:
    from ogma.store.milvus import MilvusStore

    (tmp_path / "dir.db").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        MilvusStore(str(tmp_path / "dir.db"), "c", dim=2)


@pytest.mark.parametrize("name", ["", "1abc", "has-dash", "x" * 256, "spa ce"])
def test_bad_collection_names(milvus_uri: str, name: str) -> None:
    from ogma.store.milvus import MilvusStore

    with pytest.raises(ValueError, match="not a valid Milvus collection name"):
        MilvusStore(milvus_uri, name, dim=2)


def test_a_collection_not_made_by_ogma_is_refused(make: Any, milvus_uri: str) -> None:
    from pymilvus import DataType, MilvusClient

    name = f"foreign_{uuid.uuid4().hex}"
    client = MilvusClient(milvus_uri, alias=f"foreign-{name}")
    schema = MilvusClient.create_schema(description="someone else's")
    schema.add_field("pk", DataType.INT64, is_primary=True)
    schema.add_field("v", DataType.FLOAT_VECTOR, dim=2)
    client.create_collection(name, schema=schema)
    try:
        with pytest.raises(StoreError, match="not created by Ogma"):
            make(name)
    finally:
        client.drop_collection(name)
        client.close()


def test_closing_one_store_leaves_another_on_the_same_uri_open(make: Any) -> None:
    first = make(dim=2)
    first.add(["a"], ids=["a"], embeddings=np.eye(1, 2))
    second = make(first.collection)
    first.close()
    assert second.count() == 1
    with pytest.raises(StoreError, match="closed"):
        first.count()


def test_update_keeps_text_vectors_and_insertion_order(make: Any) -> None:
    store = make(dim=2, precision="binary")
    store.add(["one", "two", "three"], ids=["1", "2", "3"], embeddings=np.array([[1, 0], [0, 1], [1, 1]]))
    assert store.update(["2"], metadata={"k": 1}) == 1
    store.add(["ONE"], ids=["1"], embeddings=np.array([[1.0, 0.1]]))  # replaced: keeps its place
    docs = list(store.iter_documents(batch_size=2, include_embeddings=True))
    assert [d.id for d in docs] == ["1", "2", "3"]
    assert docs[1].metadata == {"k": 1} and docs[1].text == "two"
    np.testing.assert_array_equal(docs[1].embedding, [0, 1])  # type: ignore[arg-type]
    assert store.search("two", mode="lexical", k=1)[0].id == "2"
    assert store.search(vector=np.array([0.0, 1.0]), k=1)[0].id == "2"


def test_without_pymilvus_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from ogma.store.milvus import MilvusStore

    monkeypatch.setitem(sys.modules, "pymilvus", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'ogma-core\[milvus\]'"):
        MilvusStore("./never.db", "c", dim=2)


def test_ids_with_quotes_and_percent_signs(make: Any) -> None:
    # Milvus Lite 2.5.1 cannot upsert or delete a primary key holding a single quote: the
    # store keeps an encoded key and the id as given
    store = make(dim=2)
    ids = ["O'Brien", "100%", "%27", "a''b", 'q"uote', "line\nbreak"]
    store.add(ids, ids=ids, embeddings=np.ones((6, 2)))
    store.add(["again"], ids=["O'Brien"], embeddings=np.ones((1, 2)))
    assert store.count() == 6 and store.get(["O'Brien"])[0].text == "again"
    assert {h.id for h in store.search(vector=np.ones(2), k=10)} == set(ids)
    assert store.count(filter={"$id": {"$in": ["O'Brien", "%27"]}}) == 2
    assert [d.id for d in store.iter_documents()] == ids
    assert store.update(["a''b"], metadata={"k": 1}) == 1
    assert store.delete(["O'Brien", "%27"]) == 2
    assert store.delete(["line\nbreak"]) == 1
    assert sorted(d.id for d in store.iter_documents()) == sorted(["100%", "a''b", 'q"uote'])


def test_a_store_opened_before_the_collection_existed_sees_it(make: Any) -> None:
    early = make()  # no dimension yet: no collection
    other = make(early.collection, dim=2)
    other.add(["a"], ids=["a"], embeddings=np.eye(1, 2))
    assert early.count() == 1 and early.dim == 2
    assert [h.id for h in early.search(vector=np.ones(2), k=1)] == ["a"]


@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_insert_new_ids_inserts_new_and_still_replaces_stored_ids(make: Any, precision: str) -> None:
    store = make(dim=8, precision=precision, insert_new_ids=True)
    calls: list[tuple[str, list[str]]] = []
    for verb in ("insert", "upsert"):
        real = getattr(store._client, verb)

        def spy(collection: str, rows: list[dict[str, Any]], _real: Any = real, _verb: str = verb) -> Any:
            calls.append((_verb, [r["doc_id"] for r in rows]))
            return _real(collection, rows)

        setattr(store._client, verb, spy)
    vectors = clustered_unit(6, dim=8)
    store.add(["a", "b", "c"], ids=["a", "b", "c"], embeddings=vectors[:3])
    store.add(["B", "d"], [{"v": 2}, None], ids=["b", "d"], embeddings=vectors[3:5])
    assert calls == [("insert", ["a", "b", "c"]), ("insert", ["d"]), ("upsert", ["b"])]
    assert store.count() == 4  # "b" replaced, not doubled
    assert [(d.id, d.text, d.metadata) for d in store.get(["b"])] == [("b", "B", {"v": 2})]
    assert [d.id for d in store.iter_documents()] == ["a", "b", "c", "d"]  # a replaced id keeps its place
    assert store.add(["dup"], ids=["a"], embeddings=vectors[5:], on_conflict="skip") == []
    assert store.count() == 4 and store.search(vector=vectors[4], k=1)[0].id == "d"


def test_insert_new_ids_must_be_a_bool(make: Any) -> None:
    with pytest.raises(TypeError, match="insert_new_ids must be True or False"):
        make(dim=2, insert_new_ids="yes")


def test_a_file_that_is_not_milvus_lite_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    import sqlite3

    from ogma.store import Store
    from ogma.store.milvus import MilvusStore
    from ogma.store.uri import open_store

    with Store(tmp_path / "ogma.db", dim=2) as sqlite_store:
        sqlite_store.add(["a"], embeddings=np.ones((1, 2)))
    (tmp_path / "text.db").write_text("not a database")
    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE t (x)")
    other.commit()
    other.close()
    cases = [
        ("ogma.db", "it is an Ogma SQLite store"),
        ("text.db", "not an SQLite file at all"),
        ("other.db", "an SQLite database of something else"),
    ]
    for name, message in cases:
        before = sorted(tmp_path.iterdir()), (tmp_path / name).read_bytes()
        with pytest.raises(StoreError, match=f"is not a Milvus Lite database.*{message}"):
            MilvusStore(str(tmp_path / name), "c", dim=2)
        with pytest.raises(StoreError, match="is not a Milvus Lite database"):
            open_store(f"milvus-lite://{tmp_path / name}?collection=c", dim=2)
        assert (sorted(tmp_path.iterdir()), (tmp_path / name).read_bytes()) == before


def test_an_empty_or_missing_file_becomes_a_milvus_lite_database_that_reopens(tmp_path: Path) -> None:
    from ogma.store.milvus import MilvusStore

    (tmp_path / "empty.db").touch()
    with MilvusStore(str(tmp_path / "empty.db"), "c", dim=2) as store:
        store.add(["a"], ids=["a"], embeddings=np.ones((1, 2)))
    with MilvusStore(str(tmp_path / "empty.db"), "c") as again:
        assert again.count() == 1
