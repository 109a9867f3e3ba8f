"""Haystack's own document-store test suites, every mixin of the installed version, run on OgmaDocumentStore.

The only test written here is ``test_write_documents`` (sync and async): Haystack leaves the
default policy to each store and raises ``NotImplementedError`` until a store states it.
``assert_documents_are_equal`` is Haystack's documented hook for stores that store
embeddings differently: Ogma keeps them as float32, so expected embeddings are rounded to
float32 before the comparison (everything else compares exactly). Both are listed in
``docs/haystack.md``. The suites run against an in-memory store, a file, a document store
wrapping a core store object (``store=``, with the sqlite-vec dense backend), and one wrapping
a ``MilvusStore`` on Milvus Lite (a new collection per test).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest
from haystack.dataclasses import Document
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.testing.document_store import (
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    DocumentStoreBaseExtendedTests,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldUniqueValuesTest,
)
from haystack.testing.document_store_async import (
    CountDocumentsAsyncTest,
    CountDocumentsByFilterAsyncTest,
    CountUniqueMetadataByFilterAsyncTest,
    DeleteAllAsyncTest,
    DeleteByFilterAsyncTest,
    DeleteDocumentsAsyncTest,
    FilterDocumentsAsyncTest,
    GetMetadataFieldMinMaxAsyncTest,
    GetMetadataFieldsInfoAsyncTest,
    GetMetadataFieldUniqueValuesAsyncTest,
    UpdateByFilterAsyncTest,
    WriteDocumentsAsyncTest,
)

from haystack_integrations.document_stores.ogma import OgmaDocumentStore
from ogma.store import Store
from tests.helpers.milvus_lite import MILVUS_LITE, open_milvus


def _rounded(doc: Document) -> Document:
    if doc.embedding is None:
        return doc
    return Document(
        id=doc.id,
        content=doc.content,
        blob=doc.blob,
        meta=doc.meta,
        score=doc.score,
        embedding=[float(v) for v in np.asarray(doc.embedding, dtype=np.float32)],
        sparse_embedding=doc.sparse_embedding,
    )


class _OgmaStoreFixture:
    @pytest.fixture(params=["memory", "file", "store-object", "milvus"])
    def document_store(self, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator:
        """A new store per test: in memory, in a file, wrapping a core store object, and on Milvus Lite."""
        backend = None
        if request.param == "store-object":
            backend = Store(str(tmp_path_factory.mktemp("hs") / "docs.db"), backend="sqlite-vec")
        elif request.param == "milvus":
            if not MILVUS_LITE:
                pytest.skip("needs ogma-core[milvus] (pymilvus and milvus-lite 2.5)")
            # Milvus fixes a collection's dimension when it makes it: the suites' embeddings are 768-d
            backend = open_milvus(request.getfixturevalue("milvus_lite_db"), dim=768)
        if backend is not None:
            store = OgmaDocumentStore(store=backend)
        else:
            path = ":memory:" if request.param == "memory" else str(tmp_path_factory.mktemp("hs") / "docs.db")
            store = OgmaDocumentStore(path)
        yield store
        if request.param == "milvus":
            backend.drop()
        store.close()

    @staticmethod
    def assert_documents_are_equal(received: list[Document], expected: list[Document]) -> None:
        """Ogma stores embeddings as float32: compare with the expected embeddings rounded to float32."""
        assert received == [_rounded(d) for d in expected]


class TestOgmaDocumentStore(
    _OgmaStoreFixture,
    DocumentStoreBaseExtendedTests,
    CountDocumentsByFilterTest,
    CountUniqueMetadataByFilterTest,
    GetMetadataFieldsInfoTest,
    GetMetadataFieldMinMaxTest,
    GetMetadataFieldUniqueValuesTest,
):
    """The base and extended suites plus every opt-in mixin."""

    def test_write_documents(self, document_store: OgmaDocumentStore) -> None:
        """The default policy (NONE) is FAIL: a stored id raises and nothing is written."""
        docs = [Document(id="1", content="one"), Document(id="2", content="two")]
        assert document_store.write_documents(docs) == 2
        with pytest.raises(DuplicateDocumentError):
            document_store.write_documents([Document(id="3", content="three"), Document(id="1", content="uno")])
        assert sorted(d.id for d in document_store.filter_documents()) == ["1", "2"]
        assert document_store.write_documents([Document(id="1", content="uno")], DuplicatePolicy.OVERWRITE) == 1
        assert [d.content for d in document_store.filter_documents()] == ["uno", "two"]  # keeps its place


class TestOgmaDocumentStoreAsync(
    _OgmaStoreFixture,
    CountDocumentsAsyncTest,
    CountDocumentsByFilterAsyncTest,
    CountUniqueMetadataByFilterAsyncTest,
    DeleteAllAsyncTest,
    DeleteByFilterAsyncTest,
    DeleteDocumentsAsyncTest,
    FilterDocumentsAsyncTest,
    GetMetadataFieldMinMaxAsyncTest,
    GetMetadataFieldsInfoAsyncTest,
    GetMetadataFieldUniqueValuesAsyncTest,
    UpdateByFilterAsyncTest,
    WriteDocumentsAsyncTest,
):
    """Every async mixin."""

    @pytest.mark.asyncio
    async def test_write_documents_async(self, document_store: OgmaDocumentStore) -> None:
        """The default policy (NONE) is FAIL, as in the sync API."""
        assert await document_store.write_documents_async([Document(id="1", content="one")]) == 1
        with pytest.raises(DuplicateDocumentError):
            await document_store.write_documents_async([Document(id="1", content="uno")])
        assert [d.content for d in await document_store.filter_documents_async()] == ["one"]
