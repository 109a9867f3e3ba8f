"""End to end with the real converted all-MiniLM-L6-v2: indexes, ingestion, hybrid retrieval, reranking."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
from llama_index.core.llms import MockLLM
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.schema import MetadataMode
from llama_index.core.storage.docstore import SimpleDocumentStore

from llama_index.embeddings.ogma import OgmaEmbedding
from llama_index.postprocessor.ogma_rerank import OgmaRerank
from llama_index.vector_stores.ogma import OgmaVectorStore
from ogma import TextEncoder
from tests.helpers.model_fixtures import REAL_MODEL

pytestmark = pytest.mark.integration

DATA = Path(__file__).resolve().parents[2] / "examples" / "data"


@pytest.fixture(scope="module")
def embed_model() -> OgmaEmbedding:
    return OgmaEmbedding(model_name=REAL_MODEL)


def documents() -> list[Document]:
    return [
        Document(text=path.read_text(encoding="utf-8"), id_=path.name, metadata={"source": path.name})
        for path in sorted(DATA.iterdir())
    ]


def test_index_from_documents_and_reopen_without_docstore(embed_model: OgmaEmbedding, tmp_path: Path) -> None:
    path = tmp_path / "index.db"
    storage = StorageContext.from_defaults(vector_store=OgmaVectorStore(path))
    splitter = SentenceSplitter(chunk_size=256, chunk_overlap=20)
    index = VectorStoreIndex.from_documents(
        documents(), storage_context=storage, embed_model=embed_model, transformations=[splitter]
    )
    question = "How does a cross-encoder rerank search results?"
    first = index.as_retriever(similarity_top_k=3).retrieve(question)
    assert first[0].node.metadata["source"] == "reranking.md"
    assert all(-1.0 <= hit.score <= 1.0 for hit in first)
    storage.vector_store.close()  # type: ignore[attr-defined]

    reopened = VectorStoreIndex.from_vector_store(OgmaVectorStore(str(path)), embed_model=embed_model)
    again = reopened.as_retriever(similarity_top_k=3).retrieve(question)
    assert [(h.node.node_id, h.node.get_content(), h.node.metadata) for h in again] == [
        (h.node.node_id, h.node.get_content(), h.node.metadata) for h in first
    ]
    assert [h.score for h in again] == pytest.approx([h.score for h in first])
    assert again[0].node.ref_doc_id == "reranking.md"


def test_documents_are_embedded_with_their_metadata_as_llamaindex_does(embed_model: OgmaEmbedding) -> None:
    store = OgmaVectorStore()
    doc = Document(text="SQLite keeps the whole index in one file.", metadata={"source": "storage.md"})
    VectorStoreIndex.from_documents(
        [doc], storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed_model
    )
    [node] = store.get_nodes()
    [stored] = store.client.get([node.node_id], include_embeddings=True)
    encoder = TextEncoder(REAL_MODEL)
    embed_text = node.get_content(metadata_mode=MetadataMode.EMBED)
    assert "source: storage.md" in embed_text
    np.testing.assert_allclose(stored.embedding, encoder.encode_documents([embed_text])[0], atol=1e-5)
    assert stored.text == doc.text  # the store (and its BM25 index) holds the text alone


def test_ingestion_pipeline_replaces_changed_documents_and_skips_unchanged(
    embed_model: OgmaEmbedding, tmp_path: Path
) -> None:
    store = OgmaVectorStore(tmp_path / "ingest.db")
    pipeline = IngestionPipeline(
        transformations=[SentenceSplitter(chunk_size=40, chunk_overlap=4), embed_model],
        vector_store=store,
        docstore=SimpleDocumentStore(),
        docstore_strategy=DocstoreStrategy.UPSERTS,
    )
    docs = documents()
    first = pipeline.run(documents=docs)
    assert store.client.count() == len(first) > len(docs)
    old_storage_chunks = {n.node_id for n in first if n.ref_doc_id == "storage.md"}
    assert len(old_storage_chunks) >= 2

    new_text = "Ogma stores everything in one SQLite file: text, BM25 and vectors."
    changed = [Document(text=new_text, id_=d.id_, metadata=d.metadata) if d.id_ == "storage.md" else d for d in docs]
    second = pipeline.run(documents=changed)
    assert {n.ref_doc_id for n in second} == {"storage.md"}  # only the changed document was processed
    stored = store.get_nodes()
    assert not old_storage_chunks & {n.node_id for n in stored}
    assert [n.get_content() for n in stored if n.ref_doc_id == "storage.md"] == [n.get_content() for n in second]
    assert "one SQLite file" in second[0].get_content()
    assert len(stored) == len(first) - len(old_storage_chunks) + len(second)
    hits = (
        VectorStoreIndex.from_vector_store(store, embed_model=embed_model)
        .as_retriever()
        .retrieve("Where does Ogma keep its vectors?")
    )
    assert hits[0].node.ref_doc_id == "storage.md"


def test_hybrid_retriever_honours_alpha(embed_model: OgmaEmbedding) -> None:
    store = OgmaVectorStore()
    index = VectorStoreIndex.from_documents(
        documents(),
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
        transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=10)],
    )
    question = "BM25 full-text index"
    vector = embed_model.get_query_embedding(question)
    for alpha in (0.0, 0.5, 1.0):
        hits = index.as_retriever(vector_store_query_mode="hybrid", alpha=alpha, similarity_top_k=4).retrieve(question)
        core = store.client.search(
            question, vector=vector, k=4, mode="hybrid", fusion={"method": "convex", "alpha": alpha}
        )
        assert [h.node.node_id for h in hits] == [h.id for h in core]
        assert [h.score for h in hits] == pytest.approx([h.score for h in core])
    dense_only = index.as_retriever(vector_store_query_mode="hybrid", alpha=1.0, similarity_top_k=4).retrieve(question)
    dense = index.as_retriever(similarity_top_k=4).retrieve(question)
    assert [h.node.node_id for h in dense_only] == [h.node.node_id for h in dense]
    text = index.as_retriever(vector_store_query_mode="text_search", similarity_top_k=4).retrieve(question)
    assert all("BM25" in h.node.get_content() or "full-text" in h.node.get_content() for h in text[:1])


def test_query_engine_with_rerank_keeps_both_scores(embed_model: OgmaEmbedding, tiny_ce_dir: Path) -> None:
    index = VectorStoreIndex.from_documents(
        documents(),
        storage_context=StorageContext.from_defaults(vector_store=OgmaVectorStore()),
        embed_model=embed_model,
        transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=10)],
    )
    rerank = OgmaRerank(model=str(tiny_ce_dir), top_n=2)
    engine = index.as_query_engine(
        llm=MockLLM(max_tokens=10),
        similarity_top_k=6,
        vector_store_query_mode="hybrid",
        node_postprocessors=[rerank],
    )
    response = engine.query("which river flows through paris")
    assert len(response.source_nodes) == 2
    for hit in response.source_nodes:
        assert hit.score is not None and 0.0 <= hit.score <= 1.0  # the cross-encoder's sigmoid score
        assert isinstance(hit.node.metadata["retrieval_score"], float)  # the hybrid score it was retrieved with
    assert response.source_nodes[0].score >= response.source_nodes[1].score
