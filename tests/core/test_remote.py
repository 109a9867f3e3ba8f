"""RemoteEncoder: TextEncoder's contract over HTTP, stores, retries, and the model check."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ogma import RemoteEncoder, Store, TextEncoder
from ogma.errors import StoreMismatchError
from ogma.remote import RemoteError
from ogma.server import ServeSettings, create_app
from tests.helpers.serve import free_port, running_server

TEXTS = ["paris is the capital of france", "cats purr", "", "the river runs by the mountain"]


@pytest.fixture(scope="module")
def encoder(tiny_ogma_dir: Path) -> TextEncoder:
    return TextEncoder(tiny_ogma_dir)


@pytest.fixture(scope="module")
def url(encoder: TextEncoder) -> Iterator[str]:
    with running_server(create_app(ServeSettings(api_key="k"), encoder=encoder)) as base:
        yield base


def test_encode_contract_matches_the_local_encoder(url: str, encoder: TextEncoder) -> None:
    remote = RemoteEncoder(url, api_key="k", batch_size=3)
    assert remote.model_id == encoder.model_id and remote.dim == encoder.dim
    assert remote.matryoshka_dims == encoder.matryoshka_dims
    for task in ("query", "document", "symmetric"):
        np.testing.assert_allclose(remote.encode(TEXTS, task=task), encoder.encode(TEXTS, task=task), atol=1e-6)
    half = encoder.matryoshka_dims[1]
    np.testing.assert_allclose(
        remote.encode_queries(TEXTS, dim=half), encoder.encode_queries(TEXTS, dim=half), atol=1e-6
    )
    assert remote.encode("cats purr").shape == (encoder.dim,)
    np.testing.assert_array_equal(remote.encode(TEXTS, precision="binary"), encoder.encode(TEXTS, precision="binary"))
    np.testing.assert_allclose(remote.embed_query("cats"), encoder.embed_query("cats"), atol=1e-6)
    np.testing.assert_allclose(remote.embed_documents(TEXTS), encoder.embed_documents(TEXTS), atol=1e-6)
    with pytest.raises(TypeError):
        remote.encode([1])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="task"):
        remote.encode(["a"], task="sideways")  # type: ignore[arg-type]


def test_wrong_key_and_bad_url(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OGMA_API_KEY", raising=False)
    with pytest.raises(RemoteError, match="401") as info:
        RemoteEncoder(url, api_key="nope").encode(["a"])
    assert info.value.status == 401
    monkeypatch.setenv("OGMA_API_KEY", "k")
    assert RemoteEncoder(url + "/v1").encode(["a"]).shape == (1, RemoteEncoder(url).dim)
    for bad in ("localhost:8080", "http://[::1", "http://127.0.0.1:99999", None):
        with pytest.raises(ValueError, match="url must be an http"):
            RemoteEncoder(bad)  # type: ignore[arg-type]
    with pytest.raises(RemoteError, match="cannot reach"):
        RemoteEncoder(f"http://127.0.0.1:{free_port()}", retries=1, backoff=0.01).encode(["a"])


def test_store_through_a_remote_encoder_and_the_model_check(
    url: str, encoder: TextEncoder, tiny_model_dir: Path, tmp_path: Path
) -> None:
    remote = RemoteEncoder(url, api_key="k")
    path = tmp_path / "remote.db"
    docs = ["paris is the capital of france", "cats purr", "the river"]
    with Store(path, remote) as store:
        store.add(docs, ids=["p", "c", "r"])
        hits = store.search("capital of france", k=3, mode="dense")
    with Store(path, encoder, read_only=True) as local:  # the same model, local: the same answer
        expected = local.search("capital of france", k=3, mode="dense")
    assert [h.id for h in hits] == [h.id for h in expected]
    assert [h.score for h in hits] == pytest.approx([h.score for h in expected], abs=1e-5)
    other = TextEncoder(tiny_model_dir)
    with running_server(create_app(encoder=other)) as base, pytest.raises(StoreMismatchError):
        Store(path, RemoteEncoder(base))


def test_retries_until_the_server_is_up(encoder: TextEncoder) -> None:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(encoder=encoder), host="127.0.0.1", port=port, log_level="error"))

    def start_later() -> None:
        time.sleep(0.5)
        server.run()

    thread = threading.Thread(target=start_later, daemon=True)
    thread.start()
    try:
        remote = RemoteEncoder(f"http://127.0.0.1:{port}", retries=8, backoff=0.1)
        np.testing.assert_allclose(remote.encode(["cats"]), encoder.encode(["cats"]), atol=1e-6)
    finally:
        server.should_exit = True
        thread.join(30)


def test_retries_on_503_then_succeeds(tiny_ogma_dir: Path) -> None:
    # The models load in the background: /v1/embeddings answers 503 + Retry-After until then.
    with running_server(create_app(ServeSettings(model=str(tiny_ogma_dir)))) as base:
        remote = RemoteEncoder(base, retries=20, backoff=0.05)
        assert remote.encode(["cats"]).shape == (1, 32)


def test_long_texts_and_max_tokens_as_the_local_encoder(tiny_model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    short = TextEncoder(tiny_model_dir, max_length=6)
    texts = ["cat", "paris france capital city cat dog river"]
    with running_server(create_app(encoder=short)) as base:
        remote = RemoteEncoder(base)
        assert remote.max_tokens == short.max_tokens
        np.testing.assert_allclose(remote.encode(texts), short.encode(texts), atol=1e-5)  # mean of windows
        np.testing.assert_allclose(remote.embed_documents(texts), short.embed_documents(texts), atol=1e-5)
        with caplog.at_level("WARNING", logger="ogma.remote"):
            cut = remote.encode(texts, long_text="truncate")
        assert "1 of 2 texts" in caplog.text
        np.testing.assert_allclose(cut, short.encode(texts, long_text="truncate"), atol=1e-5)
        with pytest.raises(RemoteError, match="longer than") as info:
            remote.encode(texts, long_text="error")
        assert info.value.status == 400
