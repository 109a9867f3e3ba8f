"""OgmaDocumentStore inside Haystack's own components: a DocumentWriter pipeline saved as YAML and loaded back."""

from __future__ import annotations

from pathlib import Path

from haystack import Document, Pipeline
from haystack.components.writers import DocumentWriter
from haystack.document_stores.types import DuplicatePolicy

from haystack_integrations.document_stores.ogma import OgmaDocumentStore


def test_document_writer_pipeline_round_trips_through_yaml(tmp_path: Path) -> None:
    store = OgmaDocumentStore(str(tmp_path / "docs.db"), precision="binary")
    pipeline = Pipeline()
    pipeline.add_component("writer", DocumentWriter(document_store=store, policy=DuplicatePolicy.OVERWRITE))
    text = pipeline.dumps()
    assert "haystack_integrations.document_stores.ogma.document_store.OgmaDocumentStore" in text
    loaded = Pipeline.loads(text)
    docs = [Document(id=str(i), content=f"text {i}", embedding=[float(i), 1.0]) for i in range(3)]
    assert loaded.run({"writer": {"documents": docs}}) == {"writer": {"documents_written": 3}}
    assert loaded.run({"writer": {"documents": docs[:1]}}) == {"writer": {"documents_written": 1}}  # OVERWRITE
    written = loaded.get_component("writer").document_store
    assert isinstance(written, OgmaDocumentStore) and written.path == store.path
    assert store.filter_documents() == [Document(id=d.id, content=d.content, embedding=d.embedding) for d in docs]
    assert written.store.precision == "binary"
    written.close()
    store.close()
