from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ogma.compress import Int8Ranges
from ogma.errors import StoreError, StoreMismatchError
from ogma.store import Store
from ogma.store.sqlite.connect import connect
from ogma.store.sqlite.schema import (
    SCHEMA_VERSION,
    StoreConfig,
    check_compatible,
    content_hash,
    create_schema,
    migrate,
    read_config,
    read_generation,
)

# The layout of schema version 1, frozen here as it was written: no content_hash column.
SCHEMA_V1 = [
    "CREATE TABLE ogma_config (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE ogma_documents (rowid INTEGER PRIMARY KEY, id TEXT UNIQUE NOT NULL, text TEXT NOT NULL, "
    "metadata TEXT NOT NULL DEFAULT '{}')",
    "CREATE VIRTUAL TABLE ogma_fts USING fts5(text, content='ogma_documents', content_rowid='rowid', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE VIRTUAL TABLE ogma_vec USING vec0(embedding float[2] distance_metric=cosine)",
    "CREATE TABLE ogma_vectors (rowid INTEGER PRIMARY KEY, vector BLOB NOT NULL)",
]


def _write_v1_file(path: Path) -> None:
    conn = connect(path)
    for statement in SCHEMA_V1:
        conn.execute(statement)
    for key, value in {
        "schema_version": "1",
        "dim": "2",
        "full_dim": "2",
        "precision": "float32",
        "fts_tokenizer": "porter unicode61 remove_diacritics 2",
        "generation": "1",
    }.items():
        conn.execute("INSERT INTO ogma_config VALUES (?, ?)", (key, value))
    vec = np.array([1.0, 0.0], dtype="<f4").tobytes()
    conn.execute("INSERT INTO ogma_documents (rowid, id, text, metadata) VALUES (1, 'old', 'old text', '{}')")
    conn.execute("INSERT INTO ogma_fts (rowid, text) VALUES (1, 'old text')")
    conn.execute("INSERT INTO ogma_vec (rowid, embedding) VALUES (1, ?)", (vec,))
    conn.execute("INSERT INTO ogma_vectors (rowid, vector) VALUES (1, ?)", (vec,))
    conn.close()


def test_create_and_read_config_roundtrip() -> None:
    conn = connect(":memory:")
    ranges = Int8Ranges(np.array([-1.0, -0.5], np.float32), np.array([1.0, 0.5], np.float32))
    create_schema(
        conn,
        StoreConfig(
            model_id="m",
            dim=2,
            full_dim=4,
            task_scheme="prefix",
            precision="int8",
            int8_ranges=ranges,
            fts_tokenizer="trigram",
        ),
    )
    config = read_config(conn)
    assert (config.model_id, config.dim, config.full_dim, config.task_scheme, config.precision) == (
        "m",
        2,
        4,
        "prefix",
        "int8",
    )
    assert config.fts_tokenizer == "trigram"
    assert config.schema_version == SCHEMA_VERSION
    assert config.int8_ranges is not None and config.int8_ranges.high.tolist() == [1.0, 0.5]
    assert read_generation(conn) == 0
    tables = {r[0] for r in conn.fetchall("SELECT name FROM sqlite_master")}
    assert {"ogma_config", "ogma_documents", "ogma_fts", "ogma_vec", "ogma_vectors"} <= tables
    conn.close()


def test_migrates_a_version_1_file(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _write_v1_file(path)
    with Store(path) as store:
        assert store.config.schema_version == SCHEMA_VERSION
        assert store.get(["old"])[0].text == "old text"
        hits = store.search(vector=np.array([1.0, 0.0], np.float32), k=1)
        assert [h.id for h in hits] == ["old"]
    conn = connect(path)
    assert conn.scalar("SELECT content_hash FROM ogma_documents WHERE id = 'old'") == content_hash(b"old text")
    assert migrate(conn) == SCHEMA_VERSION  # idempotent
    conn.close()


def test_old_float32_files_keep_both_tables_after_migration(tmp_path: Path) -> None:
    """A float32 store written before schema 3 has its exact vectors in ogma_vectors (and unit
    codes in vec0): after the upgrade it reads them there, and new writes follow its layout."""
    path = tmp_path / "old.db"
    _write_v1_file(path)
    with Store(path) as store:
        assert store.config.exact_in_index is False
        exact = np.array([3.0, 4.0], np.float32)
        store.add(["new text"], ids=["new"], embeddings=exact[None, :])
        docs = store.get(["old", "new"], include_embeddings=True)
        assert [d.embedding.tolist() for d in docs] == [[1.0, 0.0], [3.0, 4.0]]  # type: ignore[union-attr]
        assert [h.id for h in store.search(vector=np.array([0.6, 0.8], np.float32), k=1)] == ["new"]
    conn = connect(path)
    assert conn.scalar("SELECT count(*) FROM ogma_vectors") == 2
    conn.close()


def test_new_float32_stores_write_vectors_once(tmp_path: Path) -> None:
    """Schema 3: the float32 vec0 index holds the exact vectors; ogma_vectors stays empty."""
    rng = np.random.default_rng(1)
    vectors = (rng.standard_normal((300, 8)) * 3).astype(np.float32)  # not unit length
    path = tmp_path / "new.db"
    with Store(path, dim=8) as store:
        assert store.config.exact_in_index is True
        ids = [str(i) for i in range(300)]
        store.add([f"t{i}" for i in range(300)], ids=ids, embeddings=vectors, batch_size=128)
        got = np.stack([d.embedding for d in store.get(ids, include_embeddings=True)])  # type: ignore[misc]
        np.testing.assert_array_equal(got, vectors)  # exact, as given
        exported = {d.id: d.embedding for d in store.iter_documents(include_embeddings=True)}
        np.testing.assert_array_equal(np.stack([exported[i] for i in ids]), vectors)
        query = vectors[123] / np.linalg.norm(vectors[123])
        for backend in ("memory", "sqlite-vec"):
            hit = store.search(vector=vectors[123], k=1, backend=backend)[0]
            assert hit.id == "123" and hit.score == pytest.approx(1.0, abs=1e-5)
        cosines = (vectors / np.linalg.norm(vectors, axis=1, keepdims=True)) @ query
        expected = [str(i) for i in np.argsort(-cosines)[:10]]
        assert [h.id for h in store.search(vector=query, k=10)] == expected
        assert [h.id for h in store.search(vector=query, k=10, backend="sqlite-vec")] == expected
        assert store.delete(ids[:100]) == 100
        assert {h.id for h in store.search(vector=vectors[5], k=300)} == set(ids[100:])
    remaining = [i for i in expected if int(i) >= 100] + [
        str(i) for i in np.argsort(-cosines) if i >= 100 and str(i) not in expected
    ]
    with Store(path) as reopened:  # a new Store: the in-process index reloads from vec0
        assert [h.id for h in reopened.search(vector=query, k=10)] == remaining[:10]
        assert reopened.count() == 200
    conn = connect(path)
    assert conn.scalar("SELECT count(*) FROM ogma_vectors") == 0
    assert conn.scalar("SELECT value FROM ogma_config WHERE key = 'exact_in_index'") == "1"
    conn.close()
    with Store(tmp_path / "bin.db", dim=8, precision="binary") as binary:
        assert binary.config.exact_in_index is False  # quantized: the exact copy is needed


def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    Store(path, dim=2).close()
    conn = connect(path)
    conn.execute("UPDATE ogma_config SET value = '999' WHERE key = 'schema_version'")
    conn.close()
    with pytest.raises(StoreError, match="upgrade ogma-core"):
        Store(path)


def test_mismatch_errors_name_both_values_and_the_fix(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    Store(path, dim=8, precision="binary").close()
    with pytest.raises(StoreMismatchError, match=r"precision 'binary'.*'int8'.*new store file"):
        Store(path, precision="int8")
    with pytest.raises(StoreMismatchError, match=r"dimension 8.*16"):
        Store(path, dim=16)
    with pytest.raises(StoreMismatchError, match="FTS tokenizer"):
        Store(path, fts_tokenizer="trigram")


def test_model_id_mismatch(tmp_path: Path, embedder: object) -> None:
    path = tmp_path / "s.db"
    Store(path, embedder).close()

    class Other:
        model_id = "someone/else"
        dim = 32

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            return np.zeros((len(texts), 32))

        def embed_query(self, text: str) -> np.ndarray:
            return np.zeros(32)

    with pytest.raises(StoreMismatchError, match=r"'test/hash-embedder'.*'someone/else'"):
        Store(path, Other())


def test_open_without_encoder_reads_config(tmp_path: Path, embedder: object) -> None:
    path = tmp_path / "s.db"
    with Store(path, embedder, dim=16, precision="binary") as s:
        s.add(["alpha beta"], ids=["a"])
    with Store(path) as s:
        assert (s.config.model_id, s.dim, s.config.full_dim, s.precision) == ("test/hash-embedder", 16, 32, "binary")
        assert s.count() == 1


def test_encoder_with_other_dimension_is_refused(tmp_path: Path, embedder: object) -> None:
    path = tmp_path / "s.db"
    Store(path, dim=5).close()

    def enc(texts: list[str]) -> np.ndarray:
        return np.ones((len(texts), 7))

    enc.dim = 7  # type: ignore[attr-defined]
    with pytest.raises(StoreMismatchError, match="7-d"):
        Store(path, enc)


def test_check_compatible_none_matches_anything() -> None:
    check_compatible(StoreConfig(model_id="m", dim=3), model_id=None, dim=None, precision=None, fts_tokenizer=None)


def test_read_only_cannot_create(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="read-only"):
        Store(tmp_path / "none.db", read_only=True)


def test_not_a_store(tmp_path: Path) -> None:
    conn = connect(":memory:")
    with pytest.raises(StoreError, match="not an Ogma store"):
        read_config(conn)
    conn.close()
