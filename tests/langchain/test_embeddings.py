"""OgmaEmbeddings: LangChain's standard embeddings tests plus the adapter's own contract."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from langchain_tests.integration_tests import EmbeddingsIntegrationTests
from langchain_tests.unit_tests import EmbeddingsUnitTests
from pydantic import ValidationError

from langchain_ogma import OgmaEmbeddings
from ogma import TextEncoder
from ogma import model_cache as _shared
from tests.helpers.model_fixtures import REAL_MODEL
from tests.helpers.tiny_models import make_tiny_ogma_folder


class TestOgmaEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[OgmaEmbeddings]:
        return OgmaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, object]:
        return {"model_name": REAL_MODEL, "batch_size": 8}


@pytest.mark.integration
class TestOgmaEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[OgmaEmbeddings]:
        return OgmaEmbeddings

    @property
    def embedding_model_params(self) -> dict[str, object]:
        return {"model_name": REAL_MODEL, "local_files_only": True}


@pytest.fixture(scope="module")
def tiny_ogma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An Ogma-style model: task tokens (queries and documents differ) and Matryoshka dims 32/16/8."""
    return make_tiny_ogma_folder(tmp_path_factory.mktemp("lc-tiny-ogma") / "model", dim=32)


def test_nothing_loads_until_first_use(fresh_model_cache: None) -> None:
    OgmaEmbeddings(model_name="no/such-model")
    assert _shared.cached_model_count() == 0


def test_returns_plain_float_lists(tiny_model_dir: Path) -> None:
    emb = OgmaEmbeddings(model_name=str(tiny_model_dir))
    docs = emb.embed_documents(["paris is the capital of france", "cats purr"])
    assert len(docs) == 2 and len(docs[0]) == 16
    assert all(type(x) is float for x in docs[0])
    query = emb.embed_query("capital of france")
    assert len(query) == 16 and type(query[0]) is float
    assert emb.embed_documents([]) == []


@pytest.mark.filterwarnings("ignore::ogma.errors.LicenseWarning")  # a CC-BY-NC Ogma model, loaded on purpose
def test_documents_and_queries_are_encoded_as_such(tiny_ogma_dir: Path) -> None:
    emb = OgmaEmbeddings(model_name=str(tiny_ogma_dir))
    encoder = TextEncoder(tiny_ogma_dir)
    text = "the capital of france"
    np.testing.assert_allclose(emb.embed_documents([text])[0], encoder.encode_documents([text])[0], atol=1e-6)
    np.testing.assert_allclose(emb.embed_query(text), encoder.encode_queries([text])[0], atol=1e-6)
    assert not np.allclose(emb.embed_query(text), emb.embed_documents([text])[0])


def test_matryoshka_dim(tiny_ogma_dir: Path) -> None:
    emb = OgmaEmbeddings(model_name=str(tiny_ogma_dir), dim=16)
    doc = np.asarray(emb.embed_documents(["cats purr"])[0])
    query = np.asarray(emb.embed_query("cats"))
    assert doc.shape == (16,) and query.shape == (16,)
    assert np.linalg.norm(doc) == pytest.approx(1.0, abs=1e-5)
    full = OgmaEmbeddings(model_name=str(tiny_ogma_dir))
    assert len(full.embed_query("cats")) == 32


def test_bad_dim_is_reported_by_the_core(tiny_ogma_dir: Path) -> None:
    with pytest.raises(ValueError, match="dim must be"):
        OgmaEmbeddings(model_name=str(tiny_ogma_dir), dim=64).embed_query("cats")


def test_encoder_is_shared_by_model_settings(tiny_model_dir: Path, fresh_model_cache: None) -> None:
    a = OgmaEmbeddings(model_name=str(tiny_model_dir))
    b = OgmaEmbeddings(model_name=str(tiny_model_dir), batch_size=2, show_progress=False)
    c = OgmaEmbeddings(model_name=str(tiny_model_dir), threads=1)
    assert a.encoder is b.encoder
    assert a.encoder is not c.encoder
    assert _shared.cached_model_count() == 2
    assert a.model_id == a.encoder.model_id


def test_cache_is_bounded(tiny_model_dir: Path, fresh_model_cache: None) -> None:
    first = OgmaEmbeddings(model_name=str(tiny_model_dir), threads=1)
    held = first.encoder
    for threads in range(2, 2 + _shared.MAX_MODELS):
        _ = OgmaEmbeddings(model_name=str(tiny_model_dir), threads=threads).encoder
    assert _shared.cached_model_count() == _shared.MAX_MODELS
    # The least recently used model was evicted; whoever still holds it keeps a working encoder.
    assert first.encoder is not held
    assert held.encode_queries(["cats"]).shape == (1, 16)


def test_concurrent_first_use_loads_once(
    tiny_model_dir: Path, fresh_model_cache: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    loads: list[str] = []
    real_init = TextEncoder.__init__

    def counting_init(self: TextEncoder, *args: object, **kwargs: object) -> None:
        loads.append("load")
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(TextEncoder, "__init__", counting_init)
    emb = OgmaEmbeddings(model_name=str(tiny_model_dir))
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda t: emb.embed_query(t), ["cats"] * 8))
    assert len(loads) == 1
    assert all(r == results[0] for r in results)


def test_async_matches_sync(tiny_model_dir: Path) -> None:
    emb = OgmaEmbeddings(model_name=str(tiny_model_dir))

    async def run() -> tuple[list[list[float]], list[float]]:
        return await emb.aembed_documents(["cats purr", "dogs"]), await emb.aembed_query("cats")

    docs, query = asyncio.run(run())
    assert docs == emb.embed_documents(["cats purr", "dogs"])
    assert query == emb.embed_query("cats")


def test_bad_input(tiny_model_dir: Path) -> None:
    emb = OgmaEmbeddings(model_name=str(tiny_model_dir))
    with pytest.raises(TypeError, match=r"texts\[1\]"):
        emb.embed_documents(["cats", 3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="must be a str"):
        emb.embed_query(None)  # type: ignore[arg-type]
    assert len(emb.embed_query("")) == 16


@pytest.mark.parametrize("options", [{"dim": 0}, {"batch_size": 0}, {"device": "tpu"}, {"unknown_option": 1}])
def test_invalid_settings_fail_at_construction(options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        OgmaEmbeddings(**options)  # type: ignore[arg-type]


def test_settings_round_trip() -> None:
    emb = OgmaEmbeddings(model_name=REAL_MODEL, dim=128, threads=2, quantized=True, local_files_only=True)
    assert OgmaEmbeddings(**emb.model_dump()) == emb
    assert OgmaEmbeddings.model_validate_json(emb.model_dump_json()) == emb


def test_registry_model_declares_what_a_folder_holds(real_e5_dir: Path) -> None:
    from ogma import TextEncoder

    declared = OgmaEmbeddings(model_name=str(real_e5_dir), registry_model="intfloat/e5-small-v2", threads=1)
    assert declared.model_id == "intfloat/e5-small-v2"
    reference = TextEncoder(real_e5_dir, model_id="intfloat/e5-small-v2", threads=1)
    np.testing.assert_allclose(
        declared.embed_query("summit define"), reference.encode_queries(["summit define"])[0], atol=1e-6
    )
    plain = OgmaEmbeddings(model_name=str(real_e5_dir), threads=1)
    assert plain.model_id != "intfloat/e5-small-v2" and plain.encoder.task_scheme_name == "none"


LONG = "the a of and to in is was for on with as by at from " * 2 + "music song"


def test_long_texts_and_the_window(
    tiny_model_dir: Path, fresh_model_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    embeddings = OgmaEmbeddings(model_name=str(tiny_model_dir), max_length=8)
    encoder = TextEncoder(tiny_model_dir, max_length=8)
    assert embeddings.max_tokens == encoder.max_tokens == 6
    # default: read whole (the windows' mean), as the core does
    np.testing.assert_allclose(embeddings.embed_documents([LONG])[0], encoder.encode_documents([LONG])[0], atol=1e-6)
    np.testing.assert_allclose(embeddings.embed_query(LONG), encoder.encode_queries([LONG])[0], atol=1e-6)
    cut = OgmaEmbeddings(model_name=str(tiny_model_dir), max_length=8, long_text="truncate")
    with caplog.at_level("WARNING", logger="ogma.encoder"):
        cut.embed_documents([LONG, "cat", LONG])
    assert [r.getMessage()[:17] for r in caplog.records if r.name == "ogma.encoder"] == ["2 of 3 texts are "]
    with pytest.raises(ValueError, match="longer than the 6-token window"):
        OgmaEmbeddings(model_name=str(tiny_model_dir), max_length=8, long_text="error").embed_documents([LONG])
    with pytest.raises(ValidationError):
        OgmaEmbeddings(long_text="drop")  # type: ignore[arg-type]
