"""copy_store / destination_options: a store moves with its vectors, settings and config, no re-encoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ogma.errors import DuplicateDocumentError, StoreError, StoreMismatchError
from ogma.store import Store
from ogma.store.encoding import StoreEncoder
from ogma.store.fingerprint import FINGERPRINT_KEY
from ogma.store.migrate import copy_store, destination_options, source_config
from ogma.store.protocol import StoreProtocol
from ogma.store.uri import open_store
from tests.helpers.milvus_lite import milvus_lite_db, new_collection, requires_milvus_lite

__all__ = ["milvus_lite_db"]  # the session fixture, imported for pytest


def _vectors(n: int, dim: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)


def _source(path: Path, *, n: int = 50, dim: int = 16, precision: str = "float32", **options: object) -> Store:
    store = Store(path, dim=dim, precision=precision, show_progress=False, **options)  # type: ignore[arg-type]
    store.add(
        [f"document number {i} about {'cats' if i % 2 else 'dogs'}" for i in range(n)],
        [{"i": i, "pet": "cat" if i % 2 else "dog", "tags": ["a", str(i)]} for i in range(n)],
        [f"d{i}" for i in range(n)],
        embeddings=_vectors(n, dim),
    )
    return store


def _same_contents(a: StoreProtocol, b: StoreProtocol) -> None:
    docs_a = list(a.iter_documents(include_embeddings=True))
    docs_b = {d.id: d for d in b.iter_documents(include_embeddings=True)}
    assert len(docs_a) == len(docs_b)
    for doc in docs_a:
        other = docs_b[doc.id]
        assert (other.text, other.metadata) == (doc.text, doc.metadata)
        assert doc.embedding is not None and other.embedding is not None
        np.testing.assert_array_equal(other.embedding, doc.embedding)


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
def test_copy_keeps_documents_vectors_and_search(tmp_path: Path, precision: str) -> None:
    with (
        _source(tmp_path / "src.db", precision=precision) as src,
        Store(tmp_path / "dst.db", show_progress=False, **destination_options(src)) as dst,
    ):
        assert copy_store(src, dst, batch_size=7, show_progress=False) == 50
        assert dst.precision == precision and dst.dim == 16
        _same_contents(src, dst)
        for q in _vectors(5, 16, seed=9):
            for mode_filter in (None, {"pet": "cat"}):
                want = src.search(vector=q, k=10, filter=mode_filter)
                got = dst.search(vector=q, k=10, filter=mode_filter)
                assert [h.id for h in got] == [h.id for h in want]
        lexical = [h.id for h in src.search("cats", k=10, mode="lexical")]
        assert [h.id for h in dst.search("cats", k=10, mode="lexical")] == lexical


def test_config_carried_over_matryoshka_and_model(tmp_path: Path) -> None:
    def embed(texts: list[str]) -> np.ndarray:
        return _vectors(len(texts), 32, seed=len(texts))

    encoder = StoreEncoder(
        embed, lambda q: embed([q])[0], model_id="org/model", dim=32, task_scheme="prefix", matryoshka_dims=(8,)
    )
    with Store(tmp_path / "src.db", encoder, dim=8, precision="binary", show_progress=False) as src:
        src.add(["a", "b", "c"], ids=["a", "b", "c"])
        src.write_setting_once(FINGERPRINT_KEY, '{"identity": "x", "named": true, "probe": [1.0]}')
        with Store(tmp_path / "dst.db", show_progress=False, **destination_options(src)) as dst:
            copy_store(src, dst, show_progress=False)
            assert (
                source_config(dst)
                == source_config(src)
                == {"dim": 8, "model_id": "org/model", "full_dim": 32, "task_scheme": "prefix", "precision": "binary"}
            )
            assert dst.read_setting(FINGERPRINT_KEY) == src.read_setting(FINGERPRINT_KEY)
            with pytest.raises(StoreError, match="vectors migrated from model 'org/model'"):
                dst.add(["new text needs the model"])
    # The destination reopens with the model, as the source would.
    with Store(tmp_path / "dst.db", encoder, show_progress=False) as dst:
        assert dst.count() == 3
    with pytest.raises(StoreMismatchError):
        Store(tmp_path / "dst.db", StoreEncoder(embed, embed, model_id="other/model"))


def test_precision_override(tmp_path: Path) -> None:
    with (
        _source(tmp_path / "src.db") as src,
        Store(tmp_path / "dst.db", **destination_options(src, precision="binary")) as dst,
    ):
        copy_store(src, dst, show_progress=False)
        assert dst.precision == "binary"
        _same_contents(src, dst)


def test_non_empty_destination_refused_then_resumed(tmp_path: Path) -> None:
    with _source(tmp_path / "src.db", n=20) as src, Store(tmp_path / "dst.db", dim=16) as dst:
        part = list(src.iter_documents(include_embeddings=True))[:8]
        dst.add(
            [d.text for d in part],
            [{"old": True} for _ in part],
            [d.id for d in part],
            embeddings=np.stack([d.embedding for d in part if d.embedding is not None]),
        )
        with pytest.raises(StoreError, match=r"already holds 8 documents.*on_conflict='skip'"):
            copy_store(src, dst, show_progress=False)
        with pytest.raises(DuplicateDocumentError):
            copy_store(src, dst, on_conflict="fail", show_progress=False)
        assert copy_store(src, dst, on_conflict="skip", show_progress=False) == 20
        assert dst.count() == 20
        assert dst.get(["d0"])[0].metadata == {"old": True}  # kept: resume leaves copied documents alone
        assert copy_store(src, dst, on_conflict="skip", show_progress=False) == 20  # idempotent
        assert dst.count() == 20
        copy_store(src, dst, on_conflict="replace", show_progress=False)
        _same_contents(src, dst)


def test_mismatches_refused_before_writing(tmp_path: Path) -> None:
    with _source(tmp_path / "src.db") as src:
        with Store(tmp_path / "dst.db", dim=8) as dst:
            with pytest.raises(StoreMismatchError, match="16-d vectors, the destination 8-d"):
                copy_store(src, dst)
            assert dst.count() == 0
        with pytest.raises(ValueError, match="same store"):
            copy_store(src, src)
        with Store(":memory:") as dst:
            with pytest.raises(ValueError, match="on_conflict must be one of"):
                copy_store(src, dst, on_conflict="merge")  # type: ignore[arg-type]
            with pytest.raises(ValueError, match="batch_size"):
                copy_store(src, dst, batch_size=0)


def test_model_mismatch(tmp_path: Path) -> None:
    def enc(model: str) -> StoreEncoder:
        return StoreEncoder(lambda t: _vectors(len(t), 4), lambda q: _vectors(1, 4)[0], model_id=model, dim=4)

    with Store(tmp_path / "a.db", enc("m1")) as src, Store(tmp_path / "b.db", enc("m2")) as dst:
        src.add(["x"])
        with pytest.raises(StoreMismatchError, match=r"model_id 'm1'.*'m2'"):
            copy_store(src, dst)


def test_empty_source(tmp_path: Path) -> None:
    with Store(tmp_path / "src.db") as src, Store(tmp_path / "dst.db", **destination_options(src)) as dst:
        assert copy_store(src, dst, show_progress=False) == 0
        assert dst.dim is None


# -- across backends: SQLite to Milvus Lite and back -----------------------------------------
@requires_milvus_lite
@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_sqlite_to_milvus_and_back(tmp_path: Path, milvus_lite_db: Path, precision: str) -> None:
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    with _source(tmp_path / "src.db", precision=precision) as src:
        src.write_setting_once(FINGERPRINT_KEY, '{"identity": "x", "named": true, "probe": [1.0]}')
        options = destination_options(src)
        with open_store(uri, options.pop("encoder", None), **options) as milvus:
            assert copy_store(src, milvus, batch_size=16, show_progress=False) == 50
            assert source_config(milvus) == source_config(src)
            assert milvus.read_setting(FINGERPRINT_KEY) == src.read_setting(FINGERPRINT_KEY)
            _same_contents(src, milvus)
            for q in _vectors(5, 16, seed=9):
                assert [h.id for h in milvus.search(vector=q, k=10)] == [h.id for h in src.search(vector=q, k=10)]
                filtered = src.search(vector=q, k=5, filter={"pet": "cat"})
                assert [h.id for h in milvus.search(vector=q, k=5, filter={"pet": "cat"})] == [h.id for h in filtered]
            # Resuming into the non-empty collection skips what is there.
            assert copy_store(src, milvus, on_conflict="skip", show_progress=False) == 50
            assert milvus.count() == 50
            with Store(tmp_path / "back.db", **destination_options(milvus)) as back:
                copy_store(milvus, back, show_progress=False)
                _same_contents(src, back)
                assert back.precision == precision


@requires_milvus_lite
def test_ids_with_apostrophes_and_line_breaks_to_milvus_lite(tmp_path: Path, milvus_lite_db: Path) -> None:
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection()}"
    ids = ["<dbpedia:Kid_'n_Play>", "50%", "two\nlines"]
    with Store(tmp_path / "src.db", dim=4) as src, open_store(uri, dim=4) as dst:
        src.add(["Kid 'n Play", "half", "x"], ids=ids, embeddings=np.eye(3, 4, dtype=np.float32))
        copy_store(src, dst, show_progress=False)
        assert [d.id for d in dst.iter_documents()] == ids
        assert copy_store(src, dst, on_conflict="replace", show_progress=False) == 3  # upserts of the same ids
        assert dst.count() == 3


def test_the_same_file_under_two_names_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.db").symlink_to(tmp_path / "src.db")
    with (
        _source(tmp_path / "src.db", n=3) as src,
        Store(tmp_path / "sub" / ".." / "src.db", read_only=True) as again,
        Store(tmp_path / "link.db", read_only=True) as linked,
    ):
        for other in (again, linked):
            with pytest.raises(ValueError, match="source and destination are the same file"):
                copy_store(src, other)
        assert src.count() == 3
