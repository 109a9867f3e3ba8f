"""The embedder fingerprint in a store's configuration record."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.errors import StoreError, StoreMismatchError
from ogma.store import Store
from ogma.store.encoding import StoreEncoder
from ogma.store.fingerprint import (
    FINGERPRINT_KEY,
    PROBE_TEXT,
    EmbedderFingerprint,
    check_embedder,
    describe_embedder,
    fingerprint,
    read_fingerprint,
    record_fingerprint,
)
from ogma.store.sqlite.schema import read_config


def _model(seed: int, dim: int = 8) -> Any:
    """A deterministic toy 'model': a fixed random projection of character counts."""
    proj = np.random.default_rng(seed).normal(size=(128, dim)).astype(np.float32)

    def embed(texts: list[str]) -> np.ndarray:
        counts = np.zeros((len(texts), 128), dtype=np.float32)
        for row, text in enumerate(texts):
            for ch in text:
                counts[row, ord(ch) % 128] += 1
        return counts @ proj

    return embed


def test_describe_reads_plain_attributes_only() -> None:
    class Emb:
        loaded = False

        def __init__(self) -> None:
            self.model_name = "org/model"
            self.size = 8
            self.cache_dir = "/tmp"

        @property
        def model_id(self) -> str:  # a property that would load a model: never run
            type(self).loaded = True
            return "x"

    identity, named = describe_embedder(Emb())
    assert identity.endswith("Emb(model_name='org/model', size=8)") and named
    assert not Emb.loaded
    assert describe_embedder(object()) == ("builtins.object()", False)


def test_record_round_trip_and_first_record_stands() -> None:
    store = Store(":memory:", dim=8)
    first = fingerprint(_model(1), identity="toy(seed=1)")
    assert record_fingerprint(store, first)
    assert not record_fingerprint(store, fingerprint(_model(2), identity="toy(seed=2)"))
    assert read_fingerprint(store) == first
    assert len(first.probe) == 8 and np.linalg.norm(first.probe) == pytest.approx(1.0)
    # The store's own record is untouched by the extra key.
    assert read_config_of(store).dim == 8


def read_config_of(store: Store) -> Any:
    with store._pool.connection() as conn:
        return read_config(conn)


def test_check_with_a_record() -> None:
    store = Store(":memory:", dim=8)
    store.add(["banana split"], embeddings=_model(1)(["banana split"]))
    record_fingerprint(store, fingerprint(_model(1), identity="toy(seed=1)"))
    calls: list[list[str]] = []

    def counted(texts: list[str]) -> Any:
        calls.append(texts)
        return _model(1)(texts)

    # Equal identities that name the model: nothing is embedded.
    assert check_embedder(store, counted, identity="toy(seed=1)") is None and calls == []
    # Another identity, same vectors: one probe call, passes.
    assert check_embedder(store, counted, identity="other wrapper", named=False) == pytest.approx(1.0)
    assert calls == [[PROBE_TEXT]]
    # The same model, slightly perturbed (as int8 is): passes.
    noisy = lambda texts: _model(1)(texts) * (1 + 0.01 * np.random.default_rng(0).normal(size=8))  # noqa: E731
    assert check_embedder(store, noisy, identity="toy-int8") > 0.99
    with pytest.raises(StoreMismatchError, match=r"toy\(seed=1\).*toy\(seed=2\).*cosine.*check_embeddings"):
        check_embedder(store, _model(2), identity="toy(seed=2)", fix="check_embeddings=False skips this.")
    with pytest.raises(StoreMismatchError, match="16-d, against the recorded 8-d"):
        check_embedder(store, _model(1, dim=16), identity="toy(seed=1, dim=16)")


def test_check_without_a_record_uses_the_data(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, encoder=_model(3)) as store:
        assert check_embedder(store, _model(9), identity="anything") is None  # empty store
        store.add(["alpha beta", "gamma"], ids=["a", "g"])
        assert check_embedder(store, _model(3), identity="toy") == pytest.approx(1.0, abs=1e-5)
        with pytest.raises(StoreMismatchError, match="document 'a'"):
            check_embedder(store, _model(4), identity="toy(seed=4)")
        assert read_fingerprint(store) is None  # checking never writes


def test_matryoshka_store_compares_leading_dims() -> None:
    model = _model(5, dim=16)
    encoder = StoreEncoder(model, lambda q: model([q])[0], dim=16, matryoshka_dims=(8,))
    store = Store(":memory:", encoder, dim=8)
    store.add(["some text"])  # 16-d vectors, stored at 8-d
    assert check_embedder(store, model, identity="toy") == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(StoreMismatchError):
        check_embedder(store, _model(6, dim=16), identity="toy(seed=6)")


def test_corrupt_record_is_a_store_error() -> None:
    store = Store(":memory:", dim=2)
    with store._pool.connection() as conn:
        conn.execute("INSERT INTO ogma_config (key, value) VALUES (?, ?)", (FINGERPRINT_KEY, "{not json"))
    with pytest.raises(StoreError, match="corrupt"):
        read_fingerprint(store)
    with pytest.raises(StoreError, match="corrupt"):
        EmbedderFingerprint.from_json('{"identity": "x"}')


def test_the_record_keeps_an_ogma_model_name_and_reads_old_records() -> None:
    fp = EmbedderFingerprint("toy(size=2)", True, (0.6, 0.8), "all-MiniLM-L6-v2")
    assert EmbedderFingerprint.from_json(fp.to_json()) == fp
    old = '{"identity": "toy(size=2)", "named": true, "probe": [0.6, 0.8]}'  # written before models were recorded
    assert EmbedderFingerprint.from_json(old).model is None


def test_ogma_model_name_only_for_embedders_that_declare_it() -> None:
    from ogma.store.fingerprint import ogma_model_name

    class Declared:
        ogma_model_attribute = "model"

        def __init__(self) -> None:
            self.model = "ogma-mini"

    class Undeclared:
        def __init__(self) -> None:
            self.model = "text-embedding-3-small"  # another library's model: not one Ogma can load

    assert ogma_model_name(Declared()) == "ogma-mini"
    assert ogma_model_name(Undeclared()) is None


def test_guard_checks_once_records_once_and_names_both(tmp_path: Path) -> None:
    from ogma.store.fingerprint import EmbedderGuard, recorded_model

    class Emb:
        ogma_model_attribute = "model_name"

        def __init__(self, name: str, seed: int) -> None:
            self.model_name = name
            self.embed = _model(seed)
            self.calls = 0

        def embed_documents(self, texts: list[str]) -> Any:
            self.calls += 1
            return self.embed(texts)

    a = Emb("model-a", 1)
    with Store(tmp_path / "s.db") as store:
        guard = EmbedderGuard(a, a.embed_documents)
        guard.check(store)  # empty: passes, embeds nothing
        assert a.calls == 0
        store.add(["x y z"], ids=["1"], embeddings=a.embed_documents(["x y z"]))
        guard.recorded(store)
        guard.recorded(store)  # once
        assert a.calls == 2
        assert recorded_model(store) == "model-a"
    b = Emb("model-b", 2)
    with Store(tmp_path / "s.db") as store:
        with pytest.raises(StoreMismatchError, match=r"Emb\(model_name='model-a'\).*Emb\(model_name='model-b'\)"):
            EmbedderGuard(b, b.embed_documents, fix="Use model-a.").check(store)
        same = Emb("model-a", 1)
        guard = EmbedderGuard(same, same.embed_documents)
        guard.check(store)
        guard.check(store)
        assert same.calls == 0  # an equal named identity costs no embedding, and the check runs once


def test_recorded_model_prefers_the_configured_model_id() -> None:
    from ogma.store.fingerprint import recorded_model

    embed = _model(3)
    encoder = StoreEncoder(embed, lambda q: embed([q])[0], model_id="configured/model", dim=8)
    with Store(":memory:", encoder) as store:
        store.add(["a b"], ids=["1"])
        record_fingerprint(store, fingerprint(embed, identity="x", model="recorded/model"))
        assert recorded_model(store) == "configured/model"
