"""Documents without a vector and documents without content (text ``None``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ogma.errors import StoreMismatchError
from ogma.store import Store
from ogma.store.filters import matches
from ogma.store.ranking import rerank_hits
from ogma.store.sqlite.connect import connect
from ogma.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION, content_hash
from ogma.types import Hit
from tests.core.store.conftest import BACKENDS, StoreFactory, fresh_store

DIM = 4


def _vec(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=DIM).astype(np.float32)


def _fts_ok(store: Store) -> None:
    """FTS5's own index check, and exactly one FTS row per document with a text (none for the others).

    (FTS5's ``integrity-check`` with ``rank=1`` would compare against every row of the
    content table, expecting an FTS row even for a ``NULL`` text; documents without text
    are kept out of FTS on purpose, so BM25's document count and average length only
    count documents that have text.) Other backends keep no FTS table: nothing to check there.
    """
    if not isinstance(store, Store):
        return
    conn = connect(store.path)
    try:
        assert conn.scalar("PRAGMA integrity_check") == "ok"
        conn.execute("INSERT INTO ogma_fts(ogma_fts) VALUES ('integrity-check')")
        in_fts = {r[0] for r in conn.fetchall("SELECT id FROM ogma_fts_docsize")}
        with_text = {r[0] for r in conn.fetchall("SELECT rowid FROM ogma_documents WHERE text IS NOT NULL")}
        assert in_fts == with_text
    finally:
        conn.close()


@pytest.fixture
def mixed(store_factory: StoreFactory) -> Store:
    """a: text + vector, b: text only, c: vector only, d: neither."""
    store = store_factory(dim=DIM)
    store.add(
        ["red apple", "red pear", None, None],
        [{"k": 1}, {"k": 2}, {"k": 3}, {"k": 4}],
        ids=["a", "b", "c", "d"],
        embeddings=[_vec(1), None, _vec(3), None],
    )
    return store


# --------------------------------------------------------------------------- storing and reading


def test_everything_is_stored_and_read_back(mixed: Store) -> None:
    assert mixed.count() == 4
    docs = {d.id: d for d in mixed.get(["a", "b", "c", "d"], include_embeddings=True)}
    assert {i: d.text for i, d in docs.items()} == {"a": "red apple", "b": "red pear", "c": None, "d": None}
    assert docs["b"].embedding is None and docs["d"].embedding is None
    np.testing.assert_array_equal(docs["c"].embedding, _vec(3))  # type: ignore[arg-type]
    listed = list(mixed.iter_documents(batch_size=3, include_embeddings=True))
    assert [d.id for d in listed] == ["a", "b", "c", "d"]
    assert [d.embedding is None for d in listed] == [False, True, False, True]
    _fts_ok(mixed)


def test_dense_search_skips_documents_without_a_vector(mixed: Store) -> None:
    backends = ({"backend": "memory"}, {"backend": "sqlite-vec"}) if isinstance(mixed, Store) else ({},)
    for options in backends:
        hits = mixed.search(vector=_vec(1), k=10, **options)
        assert sorted(h.id for h in hits) == ["a", "c"]
        assert next(h for h in hits if h.id == "c").text is None
    assert [h.id for h in mixed.search(vector=_vec(3), k=1, filter={"k": {"$gte": 2}})] == ["c"]


def test_lexical_search_finds_documents_without_a_vector_and_never_those_without_text(mixed: Store) -> None:
    hits = mixed.search("red", mode="lexical", k=10)
    assert sorted(h.id for h in hits) == ["a", "b"]


def test_hybrid_dense_side_skips_documents_without_a_vector(mixed: Store) -> None:
    hits = mixed.search("pear", vector=_vec(2), mode="hybrid", k=10)
    by_id = {h.id: h for h in hits}
    assert "b" in by_id and "dense" not in by_id["b"].scores and "lexical" in by_id["b"].scores
    assert all(("dense" in h.scores) == (h.id in ("a", "c")) for h in hits)
    assert "d" not in by_id


def test_mmr_only_picks_documents_with_a_vector(mixed: Store) -> None:
    hits = mixed.max_marginal_relevance_search(vector=_vec(1), k=4, fetch_k=10)
    assert sorted(h.id for h in hits) == ["a", "c"]


def test_filters_reach_every_document(mixed: Store) -> None:
    assert mixed.count(filter={"k": {"$in": [2, 4]}}) == 2
    assert mixed.delete(filter={"k": 4}) == 1
    assert mixed.count() == 3
    _fts_ok(mixed)


# --------------------------------------------------------------------------- $content and None


@pytest.mark.parametrize(
    ("flt", "expected"),
    [
        ({"$content": None}, ["c", "d"]),
        ({"$content": {"$eq": None}}, ["c", "d"]),
        ({"$content": {"$ne": None}}, ["a", "b"]),
        ({"$content": {"$exists": True}}, ["a", "b"]),
        ({"$content": {"$exists": False}}, ["c", "d"]),
        ({"$content": {"$empty": True}}, ["c", "d"]),
        ({"$content": {"$empty": False}}, ["a", "b"]),
        ({"$content": {"$ne": "red apple"}}, ["b", "c", "d"]),
        ({"$content": {"$nin": ["red apple", None]}}, ["b"]),
        ({"$content": {"$in": ["red pear", None]}}, ["b", "c", "d"]),
        ({"$content": {"$contains": "red"}}, ["a", "b"]),
        ({"$content": {"$like": "%"}}, ["a", "b"]),
        ({"$not": {"$content": {"$like": "%"}}}, ["c", "d"]),
        ({"$content": {"$gte": ""}}, ["a", "b"]),
    ],
)
def test_content_filters_treat_none_like_a_missing_value(
    mixed: Store, flt: dict[str, Any], expected: list[str]
) -> None:
    docs = list(mixed.iter_documents())
    in_python = [d.id for d in docs if matches(flt, d.metadata, id=d.id, content=d.text)]
    assert in_python == expected
    assert mixed.count(filter=flt) == len(expected)
    lexical_like = mixed.search(vector=_vec(3), k=10, filter=flt)
    assert {h.id for h in lexical_like} == set(expected) & {"a", "c"}


# --------------------------------------------------------------------------- the encoder path


class _Counting:
    def __init__(self) -> None:
        self.seen: list[list[str]] = []

    def __call__(self, texts: list[str]) -> np.ndarray:
        assert all(isinstance(t, str) for t in texts)
        self.seen.append(list(texts))
        return np.stack([_vec(len(t)) for t in texts])


def test_the_encoder_embeds_only_texts_that_are_not_none() -> None:
    encoder = _Counting()
    with Store(":memory:", encoder) as store:
        store.add(["one", None, "three"], ids=["1", "2", "3"], batch_size=2)
        store.add([None, None], ids=["4", "5"])  # no call at all
        assert encoder.seen == [["one"], ["three"]]
        docs = store.get(["1", "2", "3", "4"], include_embeddings=True)
        assert [d.embedding is not None for d in docs] == [True, False, True, False]
        assert store.dim == DIM
        # an explicit None row means "no vector" even with an encoder
        store.add(["six"], ids=["6"], embeddings=[None])
        assert store.get(["6"], include_embeddings=True)[0].embedding is None
        assert encoder.seen == [["one"], ["three"]]


# --------------------------------------------------------------------------- no vectors at all yet


def test_a_store_of_only_vectorless_documents_later_receives_vectors(tmp_path: Path) -> None:
    path = tmp_path / "later.db"
    with Store(path) as store:
        store.add(["plain words", None], ids=["p", "n"], embeddings=[None, None])
        assert store.dim is None and store.count() == 2
        assert store.search(vector=np.ones(3, np.float32), k=5) == []
        assert [h.id for h in store.search("words", mode="lexical", k=5)] == ["p"]
        assert [h.id for h in store.search("words", vector=np.ones(3, np.float32), mode="hybrid", k=5)] == ["p"]
        store.add(["replaced"], ids=["p"], embeddings=[None])  # upsert, no vector tables yet
        assert store.delete(["n"]) == 1
        _fts_ok(store)
    with Store(path) as store:
        assert store.dim is None
        store.add(["with vector"], ids=["v"], embeddings=[[1.0, 0.0, 0.0]])
        assert store.dim == 3
        assert [h.id for h in store.search(vector=np.array([1.0, 0.0, 0.0], np.float32), k=5)] == ["v"]
        store.add(["p again"], ids=["p"], embeddings=[[0.0, 1.0, 0.0]])
        assert [h.id for h in store.search(vector=np.array([0.0, 1.0, 0.0], np.float32), k=1)] == ["p"]
        assert store.delete_all(confirm=True) == 2


def test_another_store_on_the_file_settles_the_dimension(tmp_path: Path) -> None:
    path = tmp_path / "two.db"
    first, second = Store(path), Store(path)
    first.add(["x"], ids=["x"], embeddings=[None])
    second.add(["y"], ids=["y"], embeddings=[[1.0, 0.0]])
    first.add(["x"], ids=["x"], embeddings=[[0.0, 1.0]])  # sees the dimension the other one fixed
    assert [h.id for h in first.search(vector=np.array([0.0, 1.0], np.float32), k=1)] == ["x"]
    second.add(["y"], ids=["y"], embeddings=[None])  # drops y's vector
    assert [h.id for h in first.search(vector=np.array([1.0, 0.0], np.float32), k=5)] == ["x"]
    first.close()
    second.close()


# --------------------------------------------------------------------------- upsert transitions


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_upsert_transitions_keep_vectors_fts_and_the_mirror_in_sync(tmp_path: Path, precision: str) -> None:
    with Store(tmp_path / "t.db", dim=DIM, precision=precision, oversample=100) as store:  # type: ignore[arg-type]
        store.add(["alpha words", "beta words"], ids=["a", "b"], embeddings=[_vec(1), _vec(2)])
        assert {h.id for h in store.search(vector=_vec(1), k=5)} == {"a", "b"}  # the mirror is loaded now
        store.add(["alpha words"], ids=["a"], embeddings=[None])  # vector -> none
        assert [h.id for h in store.search(vector=_vec(1), k=5)] == ["b"]
        assert [h.id for h in store.search(vector=_vec(1), k=5, backend="sqlite-vec")] == ["b"]
        store.add([None], ids=["b"], embeddings=[_vec(5)])  # text -> none, new vector
        assert store.search("words", mode="lexical", k=5)[0].id == "a"
        assert len(store.search("beta", mode="lexical", k=5)) == 0
        assert [h.id for h in store.search(vector=_vec(5), k=5)] == ["b"]
        store.add(["alpha again"], ids=["a"], embeddings=[_vec(7)])  # none -> vector
        store.add(["beta again"], ids=["b"], embeddings=[None])  # none -> text, vector -> none
        assert [h.id for h in store.search(vector=_vec(5), k=5)] == ["a"]
        assert [h.id for h in store.search("again", mode="lexical", k=5)] in (["a", "b"], ["b", "a"])
        docs = store.get(["a", "b"], include_embeddings=True)
        np.testing.assert_array_equal(docs[0].embedding, _vec(7))  # type: ignore[arg-type]
        assert docs[1].embedding is None and docs[1].text == "beta again"
        _fts_ok(store)
    # a fresh process-view (mirror loaded from the file) agrees with the incremental one
    with Store(tmp_path / "t.db") as reopened:
        assert [h.id for h in reopened.search(vector=_vec(5), k=5)] == ["a"]


def test_each_upsert_bumps_the_generation(tmp_path: Path) -> None:
    from ogma.store.sqlite.schema import read_generation

    with Store(tmp_path / "g.db", dim=DIM) as store:
        store.add(["x"], ids=["x"], embeddings=[_vec(1)])
        conn = connect(store.path)
        before = read_generation(conn)
        store.add(["x"], ids=["x"], embeddings=[None])
        assert read_generation(conn) == before + 1
        conn.close()


def test_skip_policy_with_mixed_rows() -> None:
    with Store(":memory:", dim=DIM) as store:
        store.add(["a"], ids=["a"], embeddings=[_vec(1)])
        written = store.add(
            ["a2", None, "c"], ids=["a", "b", "c"], embeddings=[None, _vec(2), None], on_conflict="skip"
        )
        assert written == ["b", "c"]
        docs = store.get(["a", "b", "c"], include_embeddings=True)
        assert [d.text for d in docs] == ["a", None, "c"]
        assert [d.embedding is None for d in docs] == [False, False, True]
        assert sorted(h.id for h in store.search(vector=_vec(2), k=5)) == ["a", "b"]


# --------------------------------------------------------------------------- bad input


def test_a_wrong_dimension_among_none_rows_names_the_row() -> None:
    with Store(":memory:", dim=DIM) as store:
        with pytest.raises(StoreMismatchError, match=r"embeddings\[2\]"):
            store.add(["a", "b", "c"], embeddings=[None, _vec(1), np.ones(3, np.float32)])
        with pytest.raises(StoreMismatchError, match=r"embeddings\[1\]"):
            store.add(["a", "b"], embeddings=[None, np.ones(3, np.float32)])
        with pytest.raises(ValueError, match=r"embeddings\[1\] contains NaN"):
            store.add(["a", "b"], embeddings=[None, [np.nan] * DIM])
        with pytest.raises(ValueError, match=r"embeddings\[1\] must be a vector"):
            store.add(["a", "b"], embeddings=[None, np.ones((2, DIM))])
        with pytest.raises(ValueError, match="got 2 embeddings for 3 texts"):
            store.add(["a", "b", "c"], embeddings=[None, _vec(1)])
        with pytest.raises(TypeError, match=r"embeddings\[1\]"):
            store.add(["a", "b"], embeddings=[None, ["x"] * DIM])
        assert store.count() == 0
    with Store(":memory:") as fresh, pytest.raises(StoreMismatchError, match=r"embeddings\[2\].*embeddings\[0\]"):
        fresh.add(["a", "b", "c"], embeddings=[np.ones(3), None, np.ones(5)])


def test_numpy_object_arrays_with_none_rows() -> None:
    rows = np.empty(3, dtype=object)
    rows[:] = [_vec(1), None, _vec(3)]
    with Store(":memory:", dim=DIM) as store:
        store.add(["a", "b", "c"], ids=["a", "b", "c"], embeddings=rows)
        assert [d.embedding is None for d in store.get(["a", "b", "c"], include_embeddings=True)] == [
            False,
            True,
            False,
        ]
        with pytest.raises(TypeError, match="dtype object"):
            store.add(["z"], embeddings=np.array([[1, None, 3, 4]], dtype=object))


@pytest.mark.parametrize("bad", [3, b"bytes", ["nested"]])
def test_a_text_that_is_neither_str_nor_none_is_named(bad: Any) -> None:
    with Store(":memory:", dim=DIM) as store, pytest.raises(TypeError, match=r"texts\[1\] must be a str or None"):
        store.add(["ok", bad], embeddings=[None, None])


def test_no_encoder_and_no_embeddings_says_how_to_store_vectorless_documents() -> None:
    with Store(":memory:") as store, pytest.raises(Exception, match=r"embeddings=\[None\]"):
        store.add(["x"])


# --------------------------------------------------------------------------- readers of text


def test_reranking_keeps_hits_without_text_after_the_scored_ones() -> None:
    class Reranker:
        def rerank(self, query: str, texts: list[str], top_k: int) -> list[Any]:
            assert all(isinstance(t, str) for t in texts)
            from types import SimpleNamespace

            return [SimpleNamespace(index=i, score=float(len(t))) for i, t in enumerate(texts)]

    hits = [Hit("n1", None, {}, 0.9), Hit("s", "short", {}, 0.8), Hit("n2", None, {}, 0.7), Hit("l", "longer", {}, 0.6)]
    out = rerank_hits(Reranker(), "q", hits, 10)
    assert [h.id for h in out] == ["l", "s", "n1", "n2"]
    assert "rerank" not in out[2].scores and out[2].score == 0.9
    assert [h.id for h in rerank_hits(Reranker(), "q", hits, 3)] == ["l", "s", "n1"]


def test_cli_output_and_adapters_accept_hits_without_text() -> None:
    from ogma.cli.search import format_hits, hits_to_json

    hit = Hit("n", None, {"k": 1}, 0.5, {"dense": 0.5})
    assert hits_to_json([hit], "q")[0]["text"] is None
    assert "n" in format_hits([hit], "q")
    convert = pytest.importorskip("langchain_ogma._convert")
    assert convert.hit_to_document(hit).page_content == ""
    base = pytest.importorskip("llama_index.vector_stores.ogma.base")
    assert base.OgmaVectorStore._to_node("n", None, {}).get_content() == ""


# --------------------------------------------------------------------------- migration


# The layout of schema version 3 as it was written: text NOT NULL.
SCHEMA_V3 = [
    "CREATE TABLE ogma_config (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE ogma_documents (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, text TEXT NOT NULL, "
    "metadata TEXT NOT NULL DEFAULT '{}', content_hash BLOB)",
    "CREATE VIRTUAL TABLE ogma_fts USING fts5(text, content='ogma_documents', content_rowid='rowid', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE ogma_vec USING vec0(embedding float[2] distance_metric=cosine)",
    "CREATE TABLE ogma_vectors (rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL)",
]


def _write_v3_file(path: Path) -> None:
    conn = connect(path)
    for statement in SCHEMA_V3:
        conn.execute(statement)
    config = {
        "schema_version": "3",
        "dim": "2",
        "full_dim": "2",
        "precision": "float32",
        "fts_tokenizer": "porter unicode61 remove_diacritics 2",
        "exact_in_index": "1",
        "generation": "1",
    }
    for key, value in config.items():
        conn.execute("INSERT INTO ogma_config VALUES (?, ?)", (key, value))
    for rowid, (doc_id, text, vec) in enumerate([("old", "old text", [1.0, 0.0]), ("two", "second", [0.0, 1.0])], 1):
        blob = np.array(vec, dtype="<f4").tobytes()
        conn.execute(
            "INSERT INTO ogma_documents (rowid, id, text, metadata, content_hash) VALUES (?, ?, ?, '{\"y\": 1}', ?)",
            (rowid, doc_id, text, content_hash(text.encode())),
        )
        conn.execute("INSERT INTO ogma_fts (rowid, text) VALUES (?, ?)", (rowid, text))
        conn.execute("INSERT INTO ogma_vec (rowid, embedding) VALUES (?, ?)", (rowid, blob))
    conn.close()


def _text_not_null(path: Path) -> int:
    conn = connect(path)
    try:
        return int(next(row[3] for row in conn.fetchall("PRAGMA table_info(ogma_documents)") if row[1] == "text"))
    finally:
        conn.close()


def test_a_version_3_file_is_migrated_to_a_nullable_text_column(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    _write_v3_file(path)
    assert _text_not_null(path) == 1
    with Store(path) as store:
        assert store.config.schema_version == SCHEMA_VERSION == 6
        assert [(d.id, d.text, d.metadata) for d in store.iter_documents()] == [
            ("old", "old text", {"y": 1}),
            ("two", "second", {"y": 1}),
        ]
        assert [h.id for h in store.search("second", mode="lexical", k=5)] == ["two"]
        assert [h.id for h in store.search(vector=np.array([1.0, 0.0], np.float32), k=1)] == ["old"]
        store.add([None], ids=["old"], embeddings=[None])
        assert store.search("old", mode="lexical", k=5) == []
        assert [h.id for h in store.search(vector=np.array([1.0, 0.0], np.float32), k=5)] == ["two"]
        _fts_ok(store)
    assert _text_not_null(path) == 0


def test_a_failed_migration_leaves_the_old_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "v3.db"
    _write_v3_file(path)
    original = MIGRATIONS[4]

    def broken(conn: Any) -> None:
        original(conn)
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(MIGRATIONS, 4, broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        Store(path)
    assert _text_not_null(path) == 1
    conn = connect(path)
    assert conn.scalar("SELECT value FROM ogma_config WHERE key = 'schema_version'") == "3"
    assert conn.scalar("SELECT count(*) FROM ogma_documents") == 2
    conn.close()
    monkeypatch.setitem(MIGRATIONS, 4, original)
    with Store(path) as store:
        assert store.count() == 2


# --------------------------------------------------------------------------- concurrency


def test_writers_of_mixed_documents_and_readers_run_together(tmp_path: Path) -> None:
    errors: list[BaseException] = []
    with Store(tmp_path / "c.db", dim=DIM) as store:
        store.add(["seed"], ids=["seed"], embeddings=[_vec(0)])

        def writer(name: str) -> None:
            try:
                for start in range(0, 200, 20):
                    ids = [f"{name}{i}" for i in range(start, start + 20)]
                    texts = [None if i % 3 == 0 else f"word {i}" for i in range(start, start + 20)]
                    vecs = [None if i % 2 == 0 else _vec(i) for i in range(start, start + 20)]
                    store.add(texts, ids=ids, embeddings=vecs)
            except BaseException as exc:  # re-raised in the main thread
                errors.append(exc)

        def reader() -> None:
            try:
                for _ in range(30):
                    assert store.search(vector=_vec(0), k=3)
                    store.search("word", mode="hybrid", vector=_vec(1), k=3)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(n,)) for n in "xy"] + [threading.Thread(target=reader)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert store.count() == 401
        with_vectors = store.search(vector=_vec(0), k=10_000)
        assert len(with_vectors) == 1 + 2 * 100
        assert len(store.search("word", mode="lexical", k=10_000)) == 2 * (200 - 67)
        _fts_ok(store)


# --------------------------------------------------------------------------- property: a dict model

WORDS = ["apple", "pear", "plum", "fig"]
doc_strategy = st.tuples(
    st.one_of(st.none(), st.lists(st.sampled_from(WORDS), min_size=1, max_size=3).map(" ".join)),
    st.one_of(st.none(), st.integers(0, 10_000)),
    st.integers(0, 3),
)
content_filter = st.one_of(
    st.just({"$content": None}),
    st.sampled_from([True, False]).map(lambda b: {"$content": {"$exists": b}}),
    st.sampled_from([True, False]).map(lambda b: {"$content": {"$empty": b}}),
    st.sampled_from(WORDS).map(lambda w: {"$content": {"$contains": w}}),
    st.sampled_from(WORDS).map(lambda w: {"$content": {"$ne": w}}),
    st.lists(st.one_of(st.none(), st.sampled_from(WORDS)), max_size=3).map(lambda v: {"$content": {"$nin": v}}),
    st.sampled_from(WORDS).map(lambda w: {"$content": {"$like": f"{w}%"}}),
    st.integers(0, 3).map(lambda g: {"g": g}),
)


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.dictionaries(st.integers(0, 9), doc_strategy, min_size=1, max_size=6), min_size=1, max_size=4),
    flt=st.one_of(content_filter, st.tuples(content_filter, content_filter).map(lambda p: {"$or": list(p)})),
    query_seed=st.integers(0, 10_000),
)
def test_round_trips_match_a_model(
    backend: str,
    maybe_milvus_uri: str | None,
    batches: list[dict[int, tuple[str | None, int | None, int]]],
    flt: dict[str, Any],
    query_seed: int,
) -> None:
    model: dict[str, tuple[str | None, np.ndarray | None, dict[str, Any]]] = {}
    # a Milvus collection needs its dimension when it is created: the SQLite store learns it
    # from the first vectors, even after documents without any
    options = {"dim": DIM} if backend == "milvus" else {}
    with fresh_store(backend, maybe_milvus_uri, **options) as store:
        for batch in batches:
            ids = [f"d{i}" for i in batch]
            texts = [t for t, _, _ in batch.values()]
            vecs = [None if s is None else _vec(s) for _, s, _ in batch.values()]
            metas = [{"g": g} for _, _, g in batch.values()]
            store.add(texts, metas, ids=ids, embeddings=vecs)
            model.update({i: (t, v, m) for i, t, v, m in zip(ids, texts, vecs, metas)})
        docs = {d.id: d for d in store.iter_documents(include_embeddings=True)}
        assert set(docs) == set(model)
        for doc_id, (text, vec, meta) in model.items():
            assert docs[doc_id].text == text and docs[doc_id].metadata == meta
            stored = docs[doc_id].embedding
            assert (stored is None) if vec is None else np.array_equal(stored, vec)  # type: ignore[arg-type]
        # filters: SQL and the Python evaluator agree
        expected = {i for i, (t, _, m) in model.items() if matches(flt, m, id=i, content=t)}
        assert store.count(filter=flt) == len(expected)
        # dense: only documents with a vector, in cosine order (brute force)
        query = _vec(query_seed)
        if store.dim is not None:
            unit = query / np.linalg.norm(query)
            cosine = {i: float(v @ unit / np.linalg.norm(v)) for i, (_, v, _) in model.items() if v is not None}
            hits = store.search(vector=query, k=100, filter=flt)
            assert {h.id for h in hits} == {i for i in cosine if i in expected}
            assert [h.score for h in hits] == pytest.approx(
                sorted((cosine[h.id] for h in hits), reverse=True), abs=1e-5
            )
            fused = store.search("apple", vector=query, mode="hybrid", k=100)
            assert all(("dense" in h.scores) == (h.id in cosine) for h in fused)
        # lexical: only documents whose text has the word
        found = {h.id for h in store.search("plum", mode="lexical", k=100)}
        assert found == {i for i, (t, _, _) in model.items() if t is not None and "plum" in t.split()}
