from __future__ import annotations

import json
from pathlib import Path
from types import MappingProxyType, SimpleNamespace
from typing import Any

import numpy as np
import pytest

from ogma.blend import DEFAULT_RERANK_ALPHA
from ogma.errors import FilterError, StoreError, StoreMismatchError
from ogma.store import Document, Store
from ogma.types import Hit
from tests.core.store.conftest import StoreFactory


def test_add_get_count_and_generated_ids(store: Store) -> None:
    ids = store.add(["one", "two"], [{"n": 1}, None])
    assert len(ids) == 2 and all(len(i) == 32 for i in ids)
    assert store.count() == 2
    docs = store.get([ids[1], "missing", ids[0]])
    assert [d.text for d in docs] == ["two", "one"]
    assert docs[1].metadata == {"n": 1} and docs[0].metadata == {}
    assert isinstance(docs[0], Document) and docs[0].embedding is None


def test_upsert_replaces_text_metadata_and_vector(filled: Store) -> None:
    before = filled.count()
    filled.add(["Tokyo is the capital of Japan"], [{"lang": "en"}], ["paris"])
    assert filled.count() == before
    doc = filled.get(["paris"], include_embeddings=True)[0]
    assert doc.text.startswith("Tokyo") and doc.metadata == {"lang": "en"}
    assert [h.id for h in filled.search("Tokyo Japan", mode="lexical", k=3)] == ["paris"]
    assert filled.search("France", mode="lexical", k=3) == [] or "paris" not in [
        h.id for h in filled.search("France", mode="lexical", k=3)
    ]
    top = filled.search("Tokyo is the capital of Japan", k=1)[0]
    assert top.id == "paris" and top.score == pytest.approx(1.0, abs=1e-5)


def test_embeddings_come_back_exactly(store_factory: StoreFactory, backend: str) -> None:
    rng = np.random.default_rng(3)
    raw = (rng.standard_normal((5, 6)) * 7).astype(np.float32)  # not normalised
    precisions = ("float32", "int8", "binary") if backend == "sqlite" else ("float32", "binary")
    for precision in precisions:
        with store_factory(name=precision, dim=6, precision=precision) as store:
            store.add([f"t{i}" for i in range(5)], ids=[f"d{i}" for i in range(5)], embeddings=raw)
            got = store.get([f"d{i}" for i in range(5)], include_embeddings=True)
            assert np.array_equal(np.stack([d.embedding for d in got]), raw)  # type: ignore[misc]
            hit = store.search(vector=raw[2], k=1, include_embeddings=True)[0]
            assert hit.id == "d2" and np.array_equal(hit.embedding, raw[2])  # type: ignore[arg-type]
            assert hit.score == pytest.approx(1.0, abs=1e-5)


def test_delete(filled: Store) -> None:
    assert filled.delete(["paris", "nope", "paris"]) == 1
    assert filled.delete([]) == 0
    assert filled.get(["paris"]) == []
    assert "paris" not in [h.id for h in filled.search("capital France", mode="lexical", k=10)]
    assert "paris" not in [h.id for h in filled.search("Paris capital France", k=10)]
    assert filled.count() == 7


def test_iter_documents(filled: Store) -> None:
    docs = list(filled.iter_documents(batch_size=3, include_embeddings=True))
    assert [d.id for d in docs][:2] == ["paris", "berlin"] and len(docs) == 8
    assert all(d.embedding is not None and d.embedding.shape == (32,) for d in docs)


def test_dense_lexical_hybrid_scores(filled: Store) -> None:
    dense = filled.search("capital of Germany", k=3)
    assert dense[0].id == "berlin" and set(dense[0].scores) == {"dense"}
    assert dense[0].score == dense[0].scores["dense"] and -1.0 <= dense[0].score <= 1.0 + 1e-6
    lexical = filled.search("capital of Germany", mode="lexical", k=3)
    assert lexical[0].id == "berlin" and lexical[0].scores["lexical"] > 0
    assert [h.score for h in lexical] == sorted((h.score for h in lexical), reverse=True)
    hybrid = filled.search("capital of Germany", mode="hybrid", k=3)
    assert hybrid[0].id == "berlin"
    assert {"dense", "lexical", "fused"} <= set(hybrid[0].scores)
    assert hybrid[0].score == hybrid[0].scores["fused"]


def test_filters_apply_inside_candidate_generation(store: Store, vectors: Any) -> None:
    n = 400
    vecs = vectors(n)
    store.add(
        [f"doc {i}" for i in range(n)],
        [{"even": i % 2 == 0, "i": i} for i in range(n)],
        [str(i) for i in range(n)],
        embeddings=vecs,
    )
    query = vecs[1]  # an odd document: its nearest neighbours are mostly odd
    for mode in ("dense", "lexical", "hybrid"):
        hits = store.search("doc", vector=query, k=25, mode=mode, filter={"even": True})
        assert len(hits) == 25 and all(h.metadata["even"] for h in hits), mode
    few = store.search(vector=query, k=25, filter={"i": {"$lt": 3}})
    assert sorted(h.id for h in few) == ["0", "1", "2"]
    with pytest.raises(FilterError):
        store.search(vector=query, filter={"i": {"$bogus": 1}})


def test_metadata_never_injects_sql(store: Store) -> None:
    evil = "x') OR 1=1; DROP TABLE ogma_documents; --"
    store.add(["a", "b"], [{evil: evil}, {"k": "v"}], ["a", "b"])
    assert store.get(["a"])[0].metadata == {evil: evil}
    assert [h.id for h in store.search("a b", k=5, filter={"k": evil})] == []
    assert [h.id for h in store.search("a b", k=5, filter={"k": "v"})] == ["b"]
    assert store.count() == 2


def test_validation_errors(store: Store) -> None:
    with pytest.raises(TypeError, match=r"texts\[1\] must be a str or None"):
        store.add(["ok", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="list of strings"):
        store.add("just a string")
    with pytest.raises(ValueError, match="2 metadatas for 1 texts"):
        store.add(["a"], [{}, {}])
    with pytest.raises(ValueError, match="2 ids for 1 texts"):
        store.add(["a"], ids=["x", "y"])
    with pytest.raises(ValueError, match="appears twice"):
        store.add(["a", "b"], ids=["x", "x"])
    with pytest.raises(TypeError, match=r"metadatas\[0\] is not JSON"):
        store.add(["a"], [{"f": object()}])
    with pytest.raises(StoreMismatchError, match=r"dimension 5.*expects 32"):
        store.add(["a"], embeddings=np.ones((1, 5)))
    with pytest.raises(ValueError, match=r"embeddings\[1\] contains NaN"):
        store.add(["a", "b"], embeddings=np.array([[1.0] * 32, [np.nan] * 32]))
    with pytest.raises(ValueError, match="infinite"):
        store.add(["a"], embeddings=np.array([[np.inf] * 32]))
    with pytest.raises(ValueError, match=r"texts\[0\] is not valid Unicode"):
        store.add(["bad \udcff text"])
    with pytest.raises(ValueError, match="k must be >= 0"):
        store.search("x", k=-1)
    with pytest.raises(StoreMismatchError, match="query vector"):
        store.search(vector=np.ones(3))
    assert store.count() == 0  # nothing half-written
    assert store.search("x", k=0) == []


def test_metadata_checks_and_exact_json(store: Store) -> None:
    circular: dict[str, object] = {}
    circular["self"] = circular
    for bad, error, message in (
        ({1: "x"}, TypeError, r"metadatas\[0\] has a non-string key 1"),
        ({"x": {2: "x"}}, TypeError, r"metadatas\[0\]\['x'\] has a non-string key 2"),
        ({"x": float("nan")}, TypeError, r"metadatas\[0\] is not JSON-serialisable: .*\['x'\] is nan"),
        ({"x": {"deep": [float("inf")]}}, TypeError, r"metadatas\[0\]\['x'\]\['deep'\]\[0\] is inf"),
        (circular, ValueError, r"metadatas\[0\].* nests more than 64 levels deep \(or contains itself\)"),
        ({"f": object()}, TypeError, r"metadatas\[0\] is not JSON-serialisable"),
        ("not a dict", TypeError, r"metadatas\[0\] must be a dict"),
    ):
        with pytest.raises(error, match=message):
            store.add(["a"], [bad])  # type: ignore[list-item]
    assert store.count() == 0

    # Keys are checked once per distinct key in a batch: a bad key in a late entry, or one that repeats a good
    # key's text (1 and "1"), is still found and named.
    for bad_batch, message in (
        ([{"a": 1}] * 999 + [{"a": 2, 7: "x"}], r"metadatas\[999\] has a non-string key 7"),
        ([{"1": 1}, {"1": 2}, {1: 3}], r"metadatas\[2\] has a non-string key 1"),
        ([{"a": 1}, {True: 1}, {1: 1}], r"metadatas\[1\] has a non-string key True"),
    ):
        with pytest.raises(TypeError, match=message):
            store.add([f"t{i}" for i in range(len(bad_batch))], bad_batch)  # type: ignore[arg-type]
    assert store.count() == 0

    class Key(str):
        pass

    meta = {Key("k"): "v", "nested": {"é": [1, 2.5, None, True]}, "s": 'line\nbreak "quoted"'}
    store.add(["a", "b"], [meta, MappingProxyType({"m": 1})], ["a", "b"])
    assert store.get(["a"])[0].metadata == json.loads(json.dumps(meta))
    assert store.get(["b"])[0].metadata == {"m": 1}


def test_empty_store_search(store: Store) -> None:
    for mode in ("dense", "lexical", "hybrid"):
        assert store.search("anything", mode=mode) == []
    assert Store(":memory:").search(vector=np.ones(4)) == []


def test_no_encoder_needs_embeddings(store_factory: StoreFactory) -> None:
    with store_factory() as store:
        with pytest.raises(StoreError, match="no encoder"):
            store.add(["text"])
        store.add(["text"], embeddings=np.ones((1, 4)), ids=["t"])
        assert store.dim == 4
        with pytest.raises(StoreError, match="needs an encoder"):
            store.search("text")
        assert store.search("text", mode="lexical")[0].id == "t"


def test_plain_callable_and_embedder_protocol(store_factory: StoreFactory, embedder: Any) -> None:
    with store_factory(embedder.encode_documents, name="c") as store:
        store.add(["red apple", "blue sky"], ids=["a", "s"])
        assert store.search("apple red", k=1)[0].id == "a"
    proto = SimpleNamespace(embed_documents=embedder.encode_documents, embed_query=lambda t: embedder._one(t))
    with store_factory(proto, name="p") as store:
        store.add(["red apple", "blue sky"], ids=["a", "s"])
        assert store.search("blue sky", k=1)[0].id == "s"


def test_matryoshka_dim(store_factory: StoreFactory, embedder: Any) -> None:
    with store_factory(embedder, dim=16, precision="binary") as store:
        store.add(["alpha beta gamma delta epsilon zeta eta theta iota kappa lambda", "red green blue"], ids=["a", "d"])
        doc = store.get(["a"], include_embeddings=True)[0]
        assert doc.embedding is not None and doc.embedding.shape == (16,)
        assert np.linalg.norm(doc.embedding) == pytest.approx(1.0, abs=1e-5)
        assert store.config.full_dim == 32
        assert store.search("alpha beta gamma delta epsilon zeta eta theta iota kappa", k=1)[0].id == "a"
        full = embedder.encode_documents(["red green blue"])
        assert store.search(vector=full[0], k=1)[0].id == "d"  # full-dim query vectors are truncated too


def test_rerank_keeps_both_scores(filled: Store) -> None:
    class ByLength:
        def rerank(self, query: str, documents: list[str], top_k: int | None = None, **kw: Any) -> list[Any]:
            assert len(documents) == 8  # rerank_k candidates (all there are)
            order = sorted(range(len(documents)), key=lambda i: len(documents[i]))
            return [SimpleNamespace(index=i, score=1.0 / (1 + r)) for r, i in enumerate(order)][:top_k]

    hits = filled.search("capital", k=2, rerank=ByLength(), rerank_k=20, rerank_alpha=1.0)
    assert len(hits) == 2 and hits[0].id == "madrid"  # the shortest text
    assert set(hits[0].scores) == {"dense", "rerank"} and hits[0].score == hits[0].scores["rerank"]
    blended = filled.search("capital", k=8, rerank=ByLength(), rerank_k=20)  # the default blend
    for hit in blended:
        want = DEFAULT_RERANK_ALPHA * hit.scores["rerank"] + (1 - DEFAULT_RERANK_ALPHA) * max(hit.scores["dense"], 0.0)
        assert set(hit.scores) == {"dense", "rerank"} and hit.score == pytest.approx(want)


def test_mmr_prefers_diversity(store: Store) -> None:
    base = np.zeros((4, 32), dtype=np.float32)
    base[0, 0] = 1.0
    base[1, :2] = [0.99, 0.141]  # a near-duplicate of "a"
    base[2, 2] = 1.0
    base[3, 5] = 1.0
    store.add(["a", "a2", "b", "c"], ids=["a", "a2", "b", "c"], embeddings=base)
    q = np.zeros(32, dtype=np.float32)
    q[[0, 2]] = [1.0, 0.5]
    plain = [h.id for h in store.search(vector=q, k=2)]
    diverse = [h.id for h in store.max_marginal_relevance_search(vector=q, k=2, fetch_k=4, lambda_mult=0.5)]
    assert plain == ["a", "a2"] and diverse == ["a", "b"]
    assert store.max_marginal_relevance_search(vector=q, k=0) == []


def test_k_larger_than_store_and_hits_type(filled: Store) -> None:
    hits = filled.search("capital", k=100)
    assert len(hits) == 8 and all(isinstance(h, Hit) for h in hits)


def test_closed_store_raises(store_factory: StoreFactory) -> None:
    store = store_factory(dim=2)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.count()


def test_tracer_and_repr(tmp_path: Path) -> None:
    seen: list[str] = []
    with Store(tmp_path / "t.db", dim=2, tracer=lambda sql, params: seen.append(sql)) as store:
        store.count()
        assert "dim=2" in repr(store)
    assert any("count(*)" in s for s in seen)


def test_apsw_driver_forced(tmp_path: Path, embedder: Any) -> None:
    with Store(tmp_path / "a.db", embedder, driver="apsw") as store:
        store.add(["hello world"], ids=["h"])
        assert store.search("hello", mode="hybrid", k=1)[0].id == "h"


def test_sqlite3_driver_forced(tmp_path: Path, embedder: Any) -> None:
    from ogma.store.sqlite.connect import _stdlib_usable

    if not _stdlib_usable()[0]:
        pytest.skip("this Python's sqlite3 cannot load extensions")
    with Store(tmp_path / "s.db", embedder, driver="sqlite3") as store:
        store.add(["hello world"], ids=["h"])
        assert store.search("hello", mode="hybrid", k=1)[0].id == "h"


def test_delete_by_filter(filled: Store) -> None:
    before = filled.count()
    assert filled.delete(filter={"lang": "xx"}) == 0
    assert filled.delete(["paris", "madrid"], filter={"lang": "es"}) == 1  # only ids that also match
    assert filled.get(["paris", "madrid"])[0].id == "paris"
    assert filled.delete(filter={"year": {"$lte": 2018}}) == 2  # cafe (2018), apple (2017)
    assert filled.count() == before - 3
    assert {h.id for h in filled.search("Paris café apples", k=10)} & {"madrid", "cafe", "apple"} == set()
    assert {h.id for h in filled.search("capital", k=10, mode="lexical")} >= {"paris", "berlin"}
    with pytest.raises(ValueError, match="non-empty dict"):
        filled.delete(filter={})
    with pytest.raises(ValueError, match="ids=, filter="):
        filled.delete()
    assert filled.count() == before - 3


def test_reopening_checks_the_config_record(store_factory: StoreFactory, embedder: Any) -> None:
    with store_factory(embedder, dim=16, precision="binary") as store:
        store.add(["red apple", "green pear"], ids=["a", "p"])
    with store_factory(embedder) as again:  # the record gives the dim and precision back
        assert (again.dim, again.precision) == (16, "binary")
        assert again.config.model_id == "test/hash-embedder" and again.config.full_dim == 32
        assert [h.id for h in again.search("red apple", k=1)] == ["a"]
    with pytest.raises(StoreMismatchError, match="dimension 16"):
        store_factory(embedder, dim=8)
    with pytest.raises(StoreMismatchError, match="precision 'binary'"):
        store_factory(embedder, precision="float32")
    other = SimpleNamespace(embed_documents=embedder.encode_documents, embed_query=embedder._one, model_id="other/m")
    with pytest.raises(StoreMismatchError, match="model id 'test/hash-embedder'"):
        store_factory(other)
    with pytest.raises(StoreMismatchError, match="encoder produces 64-d"):
        store_factory(type(embedder)(dim=64))


def test_bad_constructor_arguments(store_factory: StoreFactory) -> None:
    with pytest.raises(ValueError, match="dim must be a positive integer"):
        store_factory(dim=0)
    with pytest.raises(ValueError, match="precision must be one of"):
        store_factory(precision="float16")
    with pytest.raises(ValueError, match="oversample must be"):
        store_factory(dim=2, oversample=0.5)


def test_nul_in_a_text_is_refused_and_separates_words_in_a_query(store: Store) -> None:
    """Milvus' BM25 analyzer stops at a NUL, SQLite's FTS5 reads past it: texts with one are refused on
    every backend, and in a query a NUL separates words, so both backends find the same documents."""
    with pytest.raises(ValueError, match=r"texts\[1\] holds a NUL character \('\\x00'\) at position 6"):
        store.add(["fine", "before\x00after"], ids=["a", "b"])
    with pytest.raises(ValueError, match=r"texts\[0\] holds a NUL"):
        store.add(["\x00", None], ids=["a", "b"], embeddings=[np.ones(32), None])
    assert store.count() == 0
    store.add(["red fox", "lazy dog", "cat"], ids=["fox", "dog", "cat"])
    for mode in ("lexical", "hybrid"):
        spaced = [h.id for h in store.search("fox dog", mode=mode)]
        assert [h.id for h in store.search("fox\x00dog", mode=mode)] == spaced
        assert set(spaced[:2]) == {"fox", "dog"}
