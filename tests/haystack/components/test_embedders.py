"""``OgmaTextEmbedder`` / ``OgmaDocumentEmbedder``: the core's vectors, Haystack's contract, clear errors."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from haystack import Document, Pipeline
from haystack.utils import ComponentDevice, Device, DeviceMap

from haystack_integrations.components.embedders.ogma import OgmaDocumentEmbedder, OgmaTextEmbedder
from ogma import TextEncoder
from ogma.model_cache import cached_model_count
from ogma.registry import DEFAULT_MODEL
from tests.helpers.model_fixtures import REAL_MODEL

pytestmark = pytest.mark.filterwarnings("ignore::ogma.errors.LicenseWarning")  # the tiny Ogma-like model

DOCS = [
    Document(content="paris is the capital city of france", meta={"title": "paris", "year": 2024}),
    Document(content="cats purr and dogs sleep", meta={"title": "cats"}),
    Document(content="the river in the mountain", meta={}),
]


def docs_copy() -> list[Document]:
    return [Document(id=d.id, content=d.content, meta=dict(d.meta)) for d in DOCS]


# -- text embedder ------------------------------------------------------------------------


def test_text_embedder_gives_the_core_query_vector(tiny_ogma_dir: Path) -> None:
    encoder = TextEncoder(tiny_ogma_dir)
    out = OgmaTextEmbedder(model=tiny_ogma_dir).run("where is paris")
    assert set(out) == {"embedding"}
    assert isinstance(out["embedding"], list) and all(isinstance(x, float) for x in out["embedding"])
    np.testing.assert_allclose(out["embedding"], encoder.encode_queries(["where is paris"])[0], rtol=1e-6)
    # the task token matters: the query vector is not the document vector of the same text
    assert not np.allclose(out["embedding"], encoder.encode_documents(["where is paris"])[0], atol=1e-4)


def test_text_embedder_prefix_suffix_and_matryoshka_dim(tiny_ogma_dir: Path) -> None:
    encoder = TextEncoder(tiny_ogma_dir)
    out = OgmaTextEmbedder(model=tiny_ogma_dir, prefix="the ", suffix=" city", truncate_dim=16).run("paris")
    want = encoder.encode_queries(["the paris city"], dim=16)[0]
    assert len(out["embedding"]) == 16
    np.testing.assert_allclose(out["embedding"], want, rtol=1e-6)
    assert np.linalg.norm(out["embedding"]) == pytest.approx(1.0, abs=1e-5)


def test_text_embedder_refuses_documents_and_bad_text(tiny_model_dir: Path) -> None:
    embedder = OgmaTextEmbedder(model=tiny_model_dir)
    with pytest.raises(TypeError, match=r"expects a string.*OgmaDocumentEmbedder"):
        embedder.run([Document(content="x")])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="surrogate"):
        embedder.run("bad \ud800 text")


def test_text_embedder_run_async_equals_run(tiny_model_dir: Path) -> None:
    embedder = OgmaTextEmbedder(model=tiny_model_dir)
    assert asyncio.run(embedder.run_async("cats purr")) == embedder.run("cats purr")


# -- document embedder --------------------------------------------------------------------


def test_document_embedder_gives_the_core_document_vectors(tiny_ogma_dir: Path) -> None:
    encoder = TextEncoder(tiny_ogma_dir)
    out = OgmaDocumentEmbedder(model=tiny_ogma_dir, progress_bar=False).run(docs_copy())
    assert set(out) == {"documents"}
    got = out["documents"]
    assert [d.id for d in got] == [d.id for d in DOCS]
    want = encoder.encode_documents([d.content for d in DOCS])
    np.testing.assert_allclose(np.array([d.embedding for d in got]), want, rtol=1e-6)
    assert [d.meta for d in got] == [d.meta for d in DOCS]


def test_meta_fields_separator_prefix_and_suffix_shape_the_text(tiny_model_dir: Path) -> None:
    embedder = OgmaDocumentEmbedder(
        model=tiny_model_dir,
        meta_fields_to_embed=["year", "title"],
        embedding_separator=" and ",
        prefix="the ",
        suffix=" city",
        progress_bar=False,
    )
    got = embedder.run(docs_copy())["documents"]
    texts = [
        "the 2024 and paris and paris is the capital city of france city",
        "the cats and cats purr and dogs sleep city",
        "the the river in the mountain city",
    ]
    want = TextEncoder(tiny_model_dir).encode_documents(texts)
    np.testing.assert_allclose(np.array([d.embedding for d in got]), want, rtol=1e-6)


def test_inputs_are_not_changed(tiny_model_dir: Path) -> None:
    docs = docs_copy()
    docs[0] = replace(docs[0], embedding=[0.5] * 3)
    out = OgmaDocumentEmbedder(model=tiny_model_dir, progress_bar=False).run(docs)["documents"]
    assert docs[0].embedding == [0.5] * 3 and docs[1].embedding is None
    assert out[0] is not docs[0] and len(out[0].embedding or []) == 16


def test_batch_size_does_not_change_the_vectors(tiny_model_dir: Path) -> None:
    many = [Document(content=" ".join(["paris", "cats", "river"][: i % 3 + 1] * (i + 1))) for i in range(23)]
    one = OgmaDocumentEmbedder(model=tiny_model_dir, batch_size=1, progress_bar=False).run(many)["documents"]
    big = OgmaDocumentEmbedder(model=tiny_model_dir, batch_size=64, progress_bar=False).run(many)["documents"]
    np.testing.assert_allclose(np.array([d.embedding for d in one]), np.array([d.embedding for d in big]), atol=1e-6)


def test_documents_without_content(tiny_model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    """No content and no chosen meta value: passed on without an embedding, with a warning.
    No content but a chosen meta value: the meta value is embedded."""
    docs = [
        Document(content=None, meta={"title": "cats"}),
        Document(content=None, meta={"other": "x"}),
        Document(content="paris"),
        Document(content=""),
    ]
    embedder = OgmaDocumentEmbedder(model=tiny_model_dir, meta_fields_to_embed=["title"], progress_bar=False)
    with caplog.at_level(logging.WARNING):
        out = embedder.run(docs)["documents"]
    encoder = TextEncoder(tiny_model_dir)
    np.testing.assert_allclose(out[0].embedding, encoder.encode_documents(["cats"])[0], rtol=1e-6)
    assert out[1] is docs[1] and out[1].embedding is None
    np.testing.assert_allclose(out[2].embedding, encoder.encode_documents(["paris"])[0], rtol=1e-6)
    assert out[3].embedding is not None and len(out[3].embedding) == 16
    assert "1 of 4 documents have no content" in caplog.text and docs[1].id in caplog.text
    # nothing at all to embed: no model call, documents come back as they are
    only_empty = [Document(content=None)]
    assert OgmaDocumentEmbedder(model="not/loaded").run(only_empty)["documents"] == only_empty


def test_documents_without_content_in_an_ogma_document_store(tiny_model_dir: Path) -> None:
    """Embedded from a meta value, a content-less Document is stored with a vector and found by it."""
    from haystack_integrations.components.retrievers.ogma import OgmaEmbeddingRetriever
    from haystack_integrations.document_stores.ogma import OgmaDocumentStore

    docs = [
        Document(id="titled", content=None, meta={"title": "cats purr"}),
        Document(id="text", content="paris is the capital city of france"),
    ]
    embedded = OgmaDocumentEmbedder(model=tiny_model_dir, meta_fields_to_embed=["title"]).run(docs)["documents"]
    store = OgmaDocumentStore()
    assert store.write_documents(embedded) == 2
    query = OgmaTextEmbedder(model=tiny_model_dir).run("cats purr")["embedding"]
    found = OgmaEmbeddingRetriever(store, top_k=1).run(query_embedding=query)["documents"]
    assert [(d.id, d.content) for d in found] == [("titled", None)]


def test_empty_list(tiny_model_dir: Path) -> None:
    assert OgmaDocumentEmbedder(model=tiny_model_dir).run([]) == {"documents": []}


@pytest.mark.parametrize(
    ("bad", "match"),
    [
        ("a string", "expects a list of Documents, got str.*OgmaTextEmbedder"),
        ([Document(content="a"), "b"], r"documents\[1\] is a str"),
        (None, "got NoneType"),
    ],
)
def test_document_embedder_refuses_non_documents(tiny_model_dir: Path, bad: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        OgmaDocumentEmbedder(model=tiny_model_dir).run(bad)


def test_a_bad_text_names_the_document(tiny_model_dir: Path) -> None:
    docs = [Document(content="fine"), Document(id="d2", content="bad \udcff")]
    with pytest.raises(ValueError, match=r"documents\[1\] \(id 'd2'\) text"):
        OgmaDocumentEmbedder(model=tiny_model_dir).run(docs)


def test_document_embedder_run_async_equals_run(tiny_model_dir: Path) -> None:
    embedder = OgmaDocumentEmbedder(model=tiny_model_dir, progress_bar=False)
    assert asyncio.run(embedder.run_async(docs_copy())) == embedder.run(docs_copy())


# -- shared settings ----------------------------------------------------------------------


def test_defaults_follow_the_core() -> None:
    for cls in (OgmaTextEmbedder, OgmaDocumentEmbedder):
        params = cls().to_dict()["init_parameters"]
        assert params["model"] == DEFAULT_MODEL
        assert params["device"] is None and params["truncate_dim"] is None


def test_model_is_loaded_once_and_shared(tiny_model_dir: Path, fresh_model_cache: None) -> None:
    text = OgmaTextEmbedder(model=tiny_model_dir)
    docs = OgmaDocumentEmbedder(model=tiny_model_dir, batch_size=4, meta_fields_to_embed=["title"])
    assert cached_model_count() == 0  # constructors load nothing
    text.warm_up()
    docs.warm_up()
    text.warm_up()
    assert text.encoder is docs.encoder
    assert cached_model_count() == 1
    OgmaTextEmbedder(model=tiny_model_dir, threads=1).warm_up()
    assert cached_model_count() == 2  # other session options: another model


def test_run_without_warm_up_loads_the_model(tiny_model_dir: Path, fresh_model_cache: None) -> None:
    assert len(OgmaTextEmbedder(model=tiny_model_dir).run("cats")["embedding"]) == 16


@pytest.mark.parametrize("cls", [OgmaTextEmbedder, OgmaDocumentEmbedder])
def test_serialisation_round_trip(cls: type[Any], tiny_model_dir: Path) -> None:
    options: dict[str, Any] = {
        "model": str(tiny_model_dir),
        "device": ComponentDevice.from_str("cpu"),
        "threads": 2,
        "prefix": "p ",
        "suffix": " s",
        "truncate_dim": 8,
        "quantized": True,
        "max_length": 32,
        "cache_dir": "/tmp/hf",
        "local_files_only": True,
        "trust_remote_code": True,
    }
    if cls is OgmaDocumentEmbedder:
        options |= {"batch_size": 7, "progress_bar": False, "meta_fields_to_embed": ["a"], "embedding_separator": "|"}
    data = cls(**options).to_dict()
    assert data["type"] == f"{cls.__module__}.{cls.__name__}"
    assert cls.__module__.startswith("haystack_integrations.components.embedders.ogma.")
    assert data["init_parameters"]["device"] == {"type": "single", "device": "cpu"}
    again = cls.from_dict(data)
    assert again.to_dict() == data
    assert again.device == ComponentDevice.from_str("cpu")
    assert {k: getattr(again, k) for k in options if k != "device"} == {
        k: v for k, v in options.items() if k != "device"
    }


def test_device_strings_and_unusable_devices() -> None:
    assert OgmaTextEmbedder(device="cpu").device == ComponentDevice.from_str("cpu")
    assert OgmaTextEmbedder(device="cuda:0").device == ComponentDevice.from_str("cuda:0")
    with pytest.raises(ValueError, match=r"'mps' is not supported.*'cpu' or 'cuda'"):
        OgmaDocumentEmbedder(device="mps")
    with pytest.raises(ValueError, match="device must be a ComponentDevice or a string"):
        OgmaTextEmbedder(device="gpu")
    with pytest.raises(TypeError, match="device must be"):
        OgmaTextEmbedder(device=0)  # type: ignore[arg-type]
    device_map = ComponentDevice.from_multiple(DeviceMap({"layer": Device.cpu()}))
    with pytest.raises(ValueError, match="not a device map"):
        OgmaTextEmbedder(device=device_map)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be >= 1"),
        ({"batch_size": "8"}, TypeError, "batch_size must be an integer"),
        ({"threads": 0}, ValueError, "threads must be >= 1"),
        ({"truncate_dim": 0}, ValueError, "truncate_dim must be >= 1"),
        ({"max_length": 2.5}, TypeError, "max_length must be an integer"),
        ({"meta_fields_to_embed": "title"}, TypeError, "meta_fields_to_embed must be a list"),
        ({"embedding_separator": None}, TypeError, "embedding_separator must be a str"),
        ({"prefix": None}, TypeError, "prefix must be a str"),
        ({"progress_bar": "yes"}, TypeError, "progress_bar must be True or False"),
        ({"model": None}, TypeError, "model must be a model name"),
    ],
)
def test_bad_options_are_refused_at_construction(options: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        OgmaDocumentEmbedder(**options)


def test_truncate_dim_larger_than_the_model(tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="truncate_dim=64 is larger than the 16 dimensions"):
        OgmaTextEmbedder(model=tiny_model_dir, truncate_dim=64).warm_up()


def test_pipeline_yaml_round_trip(tiny_model_dir: Path) -> None:
    pipe = Pipeline()
    pipe.add_component("embedder", OgmaDocumentEmbedder(model=tiny_model_dir, meta_fields_to_embed=["title"]))
    loaded = Pipeline.loads(pipe.dumps())
    assert loaded.dumps() == pipe.dumps()
    first = pipe.run({"embedder": {"documents": docs_copy()}})["embedder"]["documents"]
    again = loaded.run({"embedder": {"documents": docs_copy()}})["embedder"]["documents"]
    assert [d.embedding for d in first] == [d.embedding for d in again]


# -- the real model ------------------------------------------------------------------------


@pytest.mark.integration
def test_real_model_queries_find_their_documents() -> None:
    docs = [
        Document(content="The Eiffel Tower is a wrought-iron tower in Paris.", meta={"title": "Eiffel Tower"}),
        Document(content="Photosynthesis turns light into chemical energy in plants.", meta={"title": "Biology"}),
        Document(content="The offside rule applies in association football.", meta={"title": "Football"}),
    ]
    embedded = OgmaDocumentEmbedder(model=REAL_MODEL, meta_fields_to_embed=["title"]).run(docs)["documents"]
    text = OgmaTextEmbedder(model=REAL_MODEL)
    matrix = np.array([d.embedding for d in embedded])
    assert matrix.shape == (3, 384)
    for query, want in [("landmarks in France", 0), ("how do plants make energy", 1), ("soccer rules", 2)]:
        assert int(np.argmax(matrix @ np.array(text.run(query)["embedding"]))) == want
    encoder = TextEncoder(REAL_MODEL)
    np.testing.assert_allclose(
        matrix[0], encoder.encode_documents(["Eiffel Tower\nThe Eiffel Tower is a wrought-iron tower in Paris."])[0]
    )


def test_registry_model_declares_what_a_folder_holds(real_e5_dir: Path) -> None:
    reference = TextEncoder(real_e5_dir, model_id="intfloat/e5-small-v2", threads=1)
    text = OgmaTextEmbedder(model=real_e5_dir, threads=1, registry_model="intfloat/e5-small-v2")
    docs = OgmaDocumentEmbedder(model=real_e5_dir, threads=1, registry_model="intfloat/e5-small-v2", progress_bar=False)
    assert text.to_dict()["init_parameters"]["registry_model"] == "intfloat/e5-small-v2"
    text.warm_up()
    docs.warm_up()
    query = text.run("summit define")["embedding"]
    np.testing.assert_allclose(query, reference.encode_queries(["summit define"])[0], atol=1e-6)
    (doc,) = docs.run([Document(content="The summit is the top of a mountain.")])["documents"]
    np.testing.assert_allclose(
        doc.embedding, reference.encode_documents(["The summit is the top of a mountain."])[0], atol=1e-6
    )
    with pytest.raises(TypeError, match="registry_model must be"):
        OgmaTextEmbedder(model=real_e5_dir, registry_model=3)  # type: ignore[arg-type]


def test_long_texts_and_the_window(tiny_model_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    long = "the a of and to in is was for on with as by at from " * 2 + "music song"
    encoder = TextEncoder(tiny_model_dir, max_length=8)
    text = OgmaTextEmbedder(model=tiny_model_dir, max_length=8)
    docs = OgmaDocumentEmbedder(model=tiny_model_dir, max_length=8, progress_bar=False)
    assert text.max_tokens == docs.max_tokens == encoder.max_tokens == 6
    assert docs.to_dict()["init_parameters"]["long_text"] == "mean"
    out = docs.run([Document(content=long)])["documents"][0].embedding
    np.testing.assert_allclose(out, encoder.encode_documents([long])[0], atol=1e-6)
    np.testing.assert_allclose(text.run(long)["embedding"], encoder.encode_queries([long])[0], atol=1e-6)
    cut = OgmaDocumentEmbedder(model=tiny_model_dir, max_length=8, progress_bar=False, long_text="truncate")
    restored = OgmaDocumentEmbedder.from_dict(cut.to_dict())
    assert restored.long_text == "truncate"
    with caplog.at_level(logging.WARNING, logger="ogma.encoder"):
        restored.run([Document(content=long), Document(content="cat")])
    assert [r.getMessage()[:17] for r in caplog.records if r.name == "ogma.encoder"] == ["1 of 2 texts are "]
    with pytest.raises(ValueError, match="longer than the 6-token window"):
        OgmaTextEmbedder(model=tiny_model_dir, max_length=8, long_text="error").run(long)
    with pytest.raises(ValueError, match="long_text must be one of mean, truncate, error"):
        OgmaTextEmbedder(long_text="drop")  # type: ignore[arg-type]
