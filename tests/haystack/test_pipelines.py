"""Real Haystack pipelines with Ogma components and the converted all-MiniLM-L6-v2, saved as YAML and loaded back.

Indexing: ``DocumentCleaner → DocumentSplitter → OgmaDocumentEmbedder → DocumentWriter`` into an
``OgmaDocumentStore`` file. Query: ``OgmaTextEmbedder → OgmaHybridRetriever → OgmaRanker →
PromptBuilder``. No trained cross-encoder is reachable offline, so the ranker runs the tiny
synthetic one: its order is arbitrary but deterministic, which is all the round trip needs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from haystack import Document, Pipeline
from haystack.components.builders import PromptBuilder
from haystack.components.preprocessors import DocumentCleaner, DocumentSplitter
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.components.embedders.ogma import OgmaDocumentEmbedder, OgmaTextEmbedder
from haystack_integrations.components.rankers.ogma import OgmaRanker
from haystack_integrations.components.retrievers.ogma import OgmaHybridRetriever
from haystack_integrations.document_stores.ogma import OgmaDocumentStore
from tests.helpers.tiny_cross_encoder import build_cross_encoder

pytestmark = pytest.mark.integration

MODEL = "sentence-transformers/all-MiniLM-L6-v2"

SOURCES = [
    Document(
        content="Paris is the capital of France.   The Seine flows through the city from east to west, and its "
        "banks are lined with bookstalls.\n\n\nThe Louvre, the largest art museum in the world, stands on the "
        "right bank. Millions of visitors climb the Eiffel Tower every year to look over the rooftops.",
        meta={"title": "Paris", "country": "France"},
    ),
    Document(
        content="Berlin is the capital of Germany. The Spree river crosses the city, and the Museum Island "
        "holds five museums.   The Berlin Wall divided the city from 1961 until 1989; a few stretches "
        "still stand as a memorial. Today the city is known for its music clubs and start-ups.",
        meta={"title": "Berlin", "country": "Germany"},
    ),
    Document(
        content="Bananas are yellow when ripe and green before. They grow in tropical countries and are one of "
        "the most traded fruits. A banana plant is not a tree but a giant herb, and each plant fruits "
        "only once before it dies back.",
        meta={"title": "Bananas", "country": None},
    ),
    Document(
        content="Photosynthesis turns light, water and carbon dioxide into sugar and oxygen. It happens in the "
        "chloroplasts of plant cells, where chlorophyll absorbs red and blue light and reflects green.",
        meta={"title": "Photosynthesis"},
    ),
]

TEMPLATE = """Answer the question from the context.
Context:
{% for document in documents %}- {{ document.meta.title }}: {{ document.content }}
{% endfor %}Question: {{ query }}
"""


def indexing_pipeline(path: Path) -> Pipeline:
    pipe = Pipeline()
    pipe.add_component("cleaner", DocumentCleaner())
    pipe.add_component("splitter", DocumentSplitter(split_by="word", split_length=24, split_overlap=4))
    pipe.add_component("embedder", OgmaDocumentEmbedder(model=MODEL, meta_fields_to_embed=["title"], batch_size=8))
    pipe.add_component(
        "writer", DocumentWriter(document_store=OgmaDocumentStore(path), policy=DuplicatePolicy.OVERWRITE)
    )
    pipe.connect("cleaner.documents", "splitter.documents")
    pipe.connect("splitter.documents", "embedder.documents")
    pipe.connect("embedder.documents", "writer.documents")
    return pipe


def query_pipeline(store: OgmaDocumentStore, cross_encoder: Path) -> Pipeline:
    pipe = Pipeline()
    pipe.add_component("text_embedder", OgmaTextEmbedder(model=MODEL))
    pipe.add_component("retriever", OgmaHybridRetriever(document_store=store, top_k=6))
    pipe.add_component("ranker", OgmaRanker(model=cross_encoder, top_k=3, meta_fields_to_embed=["title"]))
    pipe.add_component("prompt_builder", PromptBuilder(template=TEMPLATE, required_variables=["query", "documents"]))
    pipe.connect("text_embedder.embedding", "retriever.query_embedding")
    pipe.connect("retriever.documents", "ranker.documents")
    pipe.connect("ranker.documents", "prompt_builder.documents")
    return pipe


def ask(pipe: Pipeline, question: str) -> dict[str, Any]:
    return pipe.run(
        {
            "text_embedder": {"text": question},
            "retriever": {"query": question},
            "ranker": {"query": question},
            "prompt_builder": {"query": question},
        },
        include_outputs_from={"retriever", "ranker"},
    )


def definition(pipe: Pipeline) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """A pipeline's components and connections (Haystack lists connections in no fixed order)."""
    data = pipe.to_dict()
    return data["components"], sorted((c["sender"], c["receiver"]) for c in data["connections"])


def stored(store: OgmaDocumentStore) -> list[tuple[str, str | None, dict[str, Any], list[float] | None]]:
    docs = sorted(store.filter_documents(), key=lambda d: d.id)
    return [(d.id, d.content, d.meta, d.embedding) for d in docs]


@pytest.fixture(scope="module")
def cross_encoder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cross_encoder(tmp_path_factory.mktemp("hs-pipeline-ce")).folder


def test_indexing_pipeline_yaml_round_trip(tmp_path: Path) -> None:
    original = indexing_pipeline(tmp_path / "first.db")
    yaml = original.dumps()
    assert "haystack_integrations.components.embedders.ogma.document_embedder.OgmaDocumentEmbedder" in yaml
    assert "haystack_integrations.document_stores.ogma.document_store.OgmaDocumentStore" in yaml
    written = original.run({"cleaner": {"documents": SOURCES}})["writer"]["documents_written"]

    # The saved pipeline, pointed at a second file (the one line a user edits), builds the same store.
    loaded = Pipeline.loads(yaml.replace(str(tmp_path / "first.db"), str(tmp_path / "second.db")))
    assert definition(loaded) == definition(indexing_pipeline(tmp_path / "second.db"))
    assert loaded.run({"cleaner": {"documents": SOURCES}})["writer"]["documents_written"] == written

    first, second = OgmaDocumentStore(tmp_path / "first.db"), OgmaDocumentStore(tmp_path / "second.db")
    assert written > len(SOURCES)  # the splitter cut the sources into chunks
    assert first.count_documents() == second.count_documents() == written
    assert stored(first) == stored(second)
    chunks = first.filter_documents({"field": "meta.title", "operator": "==", "value": "Paris"})
    assert all(len(d.embedding or []) == 384 for d in chunks)
    assert all(d.meta["country"] == "France" and "source_id" in d.meta for d in chunks)
    assert "  " not in "".join(d.content or "" for d in chunks)  # the cleaner ran


def test_query_pipeline_yaml_round_trip(tmp_path: Path, cross_encoder: Path) -> None:
    indexing_pipeline(tmp_path / "docs.db").run({"cleaner": {"documents": SOURCES}})
    store = OgmaDocumentStore(tmp_path / "docs.db")
    original = query_pipeline(store, cross_encoder)
    yaml = original.dumps()
    for name in ("OgmaTextEmbedder", "OgmaHybridRetriever", "OgmaRanker", "OgmaDocumentStore"):
        assert f".{name}\n" in yaml
    loaded = Pipeline.loads(yaml)
    assert definition(loaded) == definition(original)

    for question in ("Which river flows through Paris?", "When did the wall divide Berlin?", "how do plants use light"):
        first, again = ask(original, question), ask(loaded, question)
        assert first["prompt_builder"]["prompt"] == again["prompt_builder"]["prompt"]
        for step in ("retriever", "ranker"):
            assert [(d.id, d.score) for d in first[step]["documents"]] == [
                (d.id, d.score) for d in again[step]["documents"]
            ]
        assert len(first["ranker"]["documents"]) == 3
        assert question in first["prompt_builder"]["prompt"]

    # The real model and the store's hybrid search find the right source first.
    expectations = {"Which river flows through Paris?": "Paris", "When did the wall divide Berlin?": "Berlin"}
    for question, title in expectations.items():
        assert ask(loaded, question)["retriever"]["documents"][0].meta["title"] == title
