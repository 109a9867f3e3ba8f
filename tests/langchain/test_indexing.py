"""Re-indexing without duplicates: stable content-hash ids, and LangChain's ``index()`` with record managers."""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from langchain_core.indexing import InMemoryRecordManager, RecordManager, aindex, index

from langchain_ogma import OgmaVectorStore
from langchain_ogma._convert import content_hash_id
from tests.helpers.counting_embeddings import CountingEmbeddings


def _docs() -> list[Document]:
    return [
        Document(page_content="Paris is the capital of France.", metadata={"source": "geo.md"}),
        Document(page_content="Berlin is the capital of Germany.", metadata={"source": "geo.md"}),
        Document(page_content="Cats purr.", metadata={"source": "pets.md"}),
    ]


# -- id_strategy="content_hash" ---------------------------------------------------------
def test_from_documents_twice_keeps_one_copy(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    emb = DeterministicFakeEmbedding(size=6)
    first = OgmaVectorStore.from_documents(_docs(), emb, path=path, id_strategy="content_hash")
    ids = [d.id for d in first.store.iter_documents()]
    first.close()
    second = OgmaVectorStore.from_documents(_docs(), emb, path=path, id_strategy="content_hash")
    assert second.store.count() == 3
    assert [d.id for d in second.store.iter_documents()] == ids
    second.close()


def test_default_ids_duplicate_on_rerun(tmp_path: Path) -> None:
    # The documented contrast: random ids make a second run add a second copy.
    path = tmp_path / "s.db"
    emb = DeterministicFakeEmbedding(size=6)
    OgmaVectorStore.from_documents(_docs(), emb, path=path).close()
    assert OgmaVectorStore.from_documents(_docs(), emb, path=path).store.count() == 6


def test_content_hash_ids_are_stable_and_content_sensitive() -> None:
    vs = OgmaVectorStore(DeterministicFakeEmbedding(size=6), id_strategy="content_hash")
    ids = vs.add_texts(["a", "a", "b", "a"], [{"n": 1}, {"n": 1}, {"n": 1}, {"n": 2}])
    assert ids[0] == ids[1] == content_hash_id("a", {"n": 1})
    assert len(set(ids)) == 3  # the text and the metadata both count
    assert vs.store.count() == 3  # the identical pair is stored once
    # Explicit ids (and Document.id) still win over the hash.
    assert vs.add_texts(["a"], ids=["mine"]) == ["mine"]
    assert vs.add_documents([Document(page_content="a", id="doc-id"), Document(page_content="c")])[0] == "doc-id"
    assert vs.store.count() == 6


def test_content_hash_replaces_instead_of_duplicating_on_reembedding() -> None:
    emb = CountingEmbeddings()
    vs = OgmaVectorStore(emb, id_strategy="content_hash")
    vs.add_documents(_docs())
    vs.add_documents(_docs())
    assert vs.store.count() == 3
    assert emb.documents_embedded >= 6  # upsert re-embeds; index() below is what skips unchanged documents


# -- langchain_core.indexing.index ------------------------------------------------------
@pytest.fixture
def record_manager() -> RecordManager:
    manager = InMemoryRecordManager(namespace="ogma/test")
    manager.create_schema()
    return manager


@pytest.fixture
def counted() -> Generator[tuple[OgmaVectorStore, CountingEmbeddings], None, None]:
    emb = CountingEmbeddings()
    vs = OgmaVectorStore(emb)
    yield vs, emb
    vs.close()


def _contents(vs: OgmaVectorStore) -> list[str]:
    return sorted(d.text for d in vs.store.iter_documents())


def test_index_incremental(record_manager: RecordManager, counted: tuple[OgmaVectorStore, CountingEmbeddings]) -> None:
    vs, emb = counted
    result = index(_docs(), record_manager, vs, cleanup="incremental", source_id_key="source", key_encoder="sha256")
    assert result == {"num_added": 3, "num_updated": 0, "num_skipped": 0, "num_deleted": 0}
    embedded = emb.documents_embedded
    # Re-running is a no-op: nothing added, nothing deleted, nothing embedded.
    again = index(_docs(), record_manager, vs, cleanup="incremental", source_id_key="source", key_encoder="sha256")
    assert again == {"num_added": 0, "num_updated": 0, "num_skipped": 3, "num_deleted": 0}
    assert emb.documents_embedded == embedded and vs.store.count() == 3
    # One changed document of geo.md: the new version replaces the old one; pets.md is untouched.
    changed = _docs()
    changed[1] = Document(page_content="Berlin is Germany's capital.", metadata={"source": "geo.md"})
    result = index(changed, record_manager, vs, cleanup="incremental", source_id_key="source", key_encoder="sha256")
    assert result == {"num_added": 1, "num_updated": 0, "num_skipped": 2, "num_deleted": 1}
    assert emb.documents_embedded == embedded + 1
    assert _contents(vs) == sorted(d.page_content for d in changed)


def test_index_full(record_manager: RecordManager, counted: tuple[OgmaVectorStore, CountingEmbeddings]) -> None:
    vs, _ = counted
    index(_docs(), record_manager, vs, cleanup="full", key_encoder="sha256")
    # The source now has only geo.md: a full cleanup deletes what the loader no longer returns.
    geo_only = [d for d in _docs() if d.metadata["source"] == "geo.md"]
    result = index(geo_only, record_manager, vs, cleanup="full", key_encoder="sha256")
    assert result == {"num_added": 0, "num_updated": 0, "num_skipped": 2, "num_deleted": 1}
    assert _contents(vs) == sorted(d.page_content for d in geo_only)
    assert index(geo_only, record_manager, vs, cleanup="full", key_encoder="sha256")["num_skipped"] == 2
    assert vs.store.count() == 2


async def test_aindex_matches(
    record_manager: RecordManager, counted: tuple[OgmaVectorStore, CountingEmbeddings]
) -> None:
    vs, _ = counted
    result = await aindex(
        _docs(), record_manager, vs, cleanup="incremental", source_id_key="source", key_encoder="sha256"
    )
    assert result["num_added"] == 3
    again = await aindex(
        _docs(), record_manager, vs, cleanup="incremental", source_id_key="source", key_encoder="sha256"
    )
    assert again["num_skipped"] == 3 and vs.store.count() == 3


def test_sql_record_manager_in_the_store_file(tmp_path: Path) -> None:
    # SQLRecordManager (langchain-classic) can keep its records in the store's own SQLite file:
    # Ogma's tables are all prefixed ``ogma_``.
    indexes = pytest.importorskip("langchain_classic.indexes")
    path = tmp_path / "notes.db"
    emb = DeterministicFakeEmbedding(size=6)
    vs = OgmaVectorStore(emb, path=path)
    manager = indexes.SQLRecordManager("ogma/notes", db_url=f"sqlite:///{path}")
    manager.create_schema()
    assert (
        index(_docs(), manager, vs, cleanup="incremental", source_id_key="source", key_encoder="sha256")["num_added"]
        == 3
    )
    vs.close()
    # A later run (new process, same file) skips everything.
    reopened = OgmaVectorStore(emb, path=path)
    again = index(_docs(), manager, reopened, cleanup="incremental", source_id_key="source", key_encoder="sha256")
    assert again == {"num_added": 0, "num_updated": 0, "num_skipped": 3, "num_deleted": 0}
    assert reopened.store.count() == 3
    reopened.close()
