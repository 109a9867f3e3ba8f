"""``OgmaEmbedding``: query vs document tasks, batches, async, Matryoshka, sharing, Settings."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.embeddings.utils import resolve_embed_model

from llama_index.embeddings.ogma import OgmaEmbedding
from ogma import TextEncoder
from ogma.model_cache import cached_model_count

# The tiny Ogma-like model folder carries the Ogma family's licence notice (CC-BY-NC-4.0).
pytestmark = pytest.mark.filterwarnings("ignore::ogma.errors.LicenseWarning")

TEXTS = ["paris is the capital of france", "bananas are yellow", "the seine flows through paris"]


def test_queries_and_texts_use_their_own_task(tiny_ogma_dir: Path, fresh_model_cache: None) -> None:
    embed = OgmaEmbedding(model_name=str(tiny_ogma_dir))
    encoder = TextEncoder(str(tiny_ogma_dir))
    query = embed.get_query_embedding(TEXTS[0])
    text = embed.get_text_embedding(TEXTS[0])
    np.testing.assert_allclose(query, encoder.encode_queries([TEXTS[0]])[0], atol=1e-6)
    np.testing.assert_allclose(text, encoder.encode_documents([TEXTS[0]])[0], atol=1e-6)
    assert not np.allclose(query, text)  # the task tokens differ


def test_batch_equals_one_by_one(tiny_model_dir: Path, fresh_model_cache: None) -> None:
    embed = OgmaEmbedding(model_name=str(tiny_model_dir), embed_batch_size=2)
    batch = embed.get_text_embedding_batch(TEXTS)
    singles = [embed.get_text_embedding(t) for t in TEXTS]
    np.testing.assert_allclose(batch, singles, atol=1e-6)
    assert embed.get_text_embedding_batch([]) == []


def test_async_equals_sync(tiny_ogma_dir: Path, fresh_model_cache: None) -> None:
    embed = OgmaEmbedding(model_name=str(tiny_ogma_dir))

    async def run() -> tuple[list[float], list[float], list[list[float]]]:
        return (
            await embed.aget_query_embedding(TEXTS[0]),
            await embed.aget_text_embedding(TEXTS[1]),
            await embed.aget_text_embedding_batch(TEXTS),
        )

    query, text, batch = asyncio.run(run())
    np.testing.assert_allclose(query, embed.get_query_embedding(TEXTS[0]), atol=1e-6)
    np.testing.assert_allclose(text, embed.get_text_embedding(TEXTS[1]), atol=1e-6)
    np.testing.assert_allclose(batch, embed.get_text_embedding_batch(TEXTS), atol=1e-6)


def test_matryoshka_dim(tiny_ogma_dir: Path, fresh_model_cache: None) -> None:
    full = OgmaEmbedding(model_name=str(tiny_ogma_dir)).get_text_embedding(TEXTS[0])
    short = OgmaEmbedding(model_name=str(tiny_ogma_dir), dim=16).get_text_embedding(TEXTS[0])
    assert (len(full), len(short)) == (32, 16)
    expected = np.asarray(full[:16]) / np.linalg.norm(full[:16])
    np.testing.assert_allclose(short, expected, atol=1e-6)


def test_models_are_shared(tiny_model_dir: Path, fresh_model_cache: None) -> None:
    first = OgmaEmbedding(model_name=str(tiny_model_dir), embed_batch_size=4)
    second = OgmaEmbedding(model_name=str(tiny_model_dir), dim=8)
    assert first.encoder is second.encoder
    assert cached_model_count() == 1
    assert OgmaEmbedding(model_name=str(tiny_model_dir), threads=1).encoder is not first.encoder


def test_nothing_loads_until_first_use(fresh_model_cache: None) -> None:
    OgmaEmbedding(model_name="no/such-model-anywhere")
    assert cached_model_count() == 0


def test_works_as_settings_embed_model(tiny_model_dir: Path, fresh_model_cache: None) -> None:
    embed = OgmaEmbedding(model_name=str(tiny_model_dir))
    previous = Settings._embed_model
    try:
        Settings.embed_model = embed
        assert resolve_embed_model(Settings.embed_model) is embed
        index = VectorStoreIndex.from_documents([Document(text=t) for t in TEXTS])
        hits = index.as_retriever(similarity_top_k=1).retrieve("capital of france")
        assert len(hits) == 1
    finally:
        Settings._embed_model = previous


def test_serialisation_round_trip(tiny_model_dir: Path) -> None:
    embed = OgmaEmbedding(model_name=str(tiny_model_dir), dim=8, embed_batch_size=7, threads=1)
    again = OgmaEmbedding.from_dict(embed.to_dict())
    assert (again.model_name, again.dim, again.embed_batch_size, again.threads) == (str(tiny_model_dir), 8, 7, 1)
    assert embed.to_dict()["class_name"] == "OgmaEmbedding"


@pytest.mark.parametrize(
    ("field", "value"), [("dim", 0), ("embed_batch_size", 0), ("threads", -1), ("device", "tpu"), ("unknown", 1)]
)
def test_bad_options_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValueError, match=field):
        OgmaEmbedding(**{field: value})


def test_registry_model_declares_what_a_folder_holds(real_bge_dir: Path) -> None:
    declared = OgmaEmbedding(model_name=str(real_bge_dir), registry_model="BAAI/bge-small-en-v1.5", threads=1)
    assert declared.model_id == "BAAI/bge-small-en-v1.5"
    reference = TextEncoder(real_bge_dir, model_id="BAAI/bge-small-en-v1.5", threads=1)
    got = declared.get_query_embedding("summit define")
    np.testing.assert_allclose(got, reference.encode_queries(["summit define"])[0], atol=1e-6)


def test_long_texts_and_the_window(
    tiny_model_dir: Path, fresh_model_cache: None, caplog: pytest.LogCaptureFixture
) -> None:
    long = "the a of and to in is was for on with as by at from " * 2 + "music song"
    embed = OgmaEmbedding(model_name=str(tiny_model_dir), max_length=8)
    encoder = TextEncoder(tiny_model_dir, max_length=8)
    assert embed.max_tokens == encoder.max_tokens == 6
    np.testing.assert_allclose(embed.get_text_embedding(long), encoder.encode_documents([long])[0], atol=1e-6)
    np.testing.assert_allclose(embed.get_query_embedding(long), encoder.encode_queries([long])[0], atol=1e-6)
    cut = OgmaEmbedding(model_name=str(tiny_model_dir), max_length=8, long_text="truncate")
    with caplog.at_level("WARNING", logger="ogma.encoder"):
        cut.get_text_embedding_batch([long, "cat"])
    assert [r.getMessage()[:17] for r in caplog.records if r.name == "ogma.encoder"] == ["1 of 2 texts are "]
    with pytest.raises(ValueError, match="longer than the 6-token window"):
        OgmaEmbedding(model_name=str(tiny_model_dir), max_length=8, long_text="error").get_text_embedding(long)
