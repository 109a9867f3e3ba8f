"""Store.add over several transactions: order, the encoder's thread, and a failure half-way."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from ogma.store import Store
from tests.core.store.conftest import HashEmbedder


class ThreadRecordingEmbedder(HashEmbedder):
    """Records the thread of every call; can be told to return NaN from a given call on."""

    def __init__(self, fail_from_call: int | None = None) -> None:
        super().__init__()
        self.threads: list[str] = []
        self.fail_from_call = fail_from_call

    def encode_documents(self, texts: list[str]) -> npt.NDArray[np.float32]:
        self.threads.append(threading.current_thread().name)
        out = super().encode_documents(texts)
        if self.fail_from_call is not None and self.calls >= self.fail_from_call:
            out[0, 0] = np.nan
        return out


def test_many_batches_keep_input_order_and_vectors(tmp_path: Path) -> None:
    embedder = ThreadRecordingEmbedder()
    texts = [f"document number {i} about topic {i % 3}" for i in range(23)]
    with Store(tmp_path / "s.db", embedder) as store:
        ids = store.add(texts, [{"i": i} for i in range(23)], [f"d{i}" for i in range(23)], batch_size=4)
        assert embedder.calls == 6  # 5 batches of 4 and one of 3
        assert ids == [f"d{i}" for i in range(23)]
        docs = store.get(ids, include_embeddings=True)
        assert [d.text for d in docs] == texts
        assert [d.metadata["i"] for d in docs] == list(range(23))
        expected = embedder.encode_documents(texts)
        np.testing.assert_array_equal(np.stack([d.embedding for d in docs]), expected)
        assert store.search("document number 17", k=1)[0].id == "d17"
    # the embedding callable is only ever called from the caller's thread
    assert set(embedder.threads) == {threading.current_thread().name}


def test_precomputed_embeddings_over_many_batches(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((50, 16)).astype(np.float32)
    with Store(tmp_path / "p.db", dim=16, precision="binary") as store:
        store.add([f"t{i}" for i in range(50)], ids=[str(i) for i in range(50)], embeddings=vectors, batch_size=7)
        assert store.count() == 50
        got = np.stack([d.embedding for d in store.get([str(i) for i in range(50)], include_embeddings=True)])
        np.testing.assert_array_equal(got, vectors)  # stored exactly as given
        hit = store.search(vector=vectors[31], k=1)[0]
        assert hit.id == "31"


def test_a_failing_batch_stops_the_add_and_keeps_earlier_batches(tmp_path: Path) -> None:
    embedder = ThreadRecordingEmbedder(fail_from_call=3)  # the third batch returns NaN
    texts = [f"text {i}" for i in range(20)]
    with Store(tmp_path / "f.db", embedder) as store:
        with pytest.raises(ValueError, match="NaN"):
            store.add(texts, ids=[str(i) for i in range(20)], batch_size=4)
        stored = {d.id for d in store.iter_documents()}
        assert stored == {str(i) for i in range(8)}  # batches 1 and 2 are committed, whole
        assert store.count() == 8
        assert len(store.search("text", k=50, mode="lexical")) == 8


def test_invalid_unicode_in_a_later_batch_is_named_by_its_input_index(tmp_path: Path) -> None:
    texts = [f"t{i}" for i in range(10)]
    texts[7] = "bad \udcff text"
    with Store(tmp_path / "u.db", dim=4) as store:
        with pytest.raises(ValueError, match=r"texts\[7\] is not valid Unicode"):
            store.add(texts, embeddings=np.ones((10, 4), np.float32), batch_size=3)
        assert store.count() == 0  # texts are checked before the first batch is written
