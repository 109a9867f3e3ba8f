"""The store conformance tests on a real Milvus server (Milvus 2.3.5 standalone, from the ``milvus`` wheel).

Milvus Lite runs the other Milvus tests; this group runs the dense, binary, filter, paging
(above 16,384 rows) and migrate tests of the conformance suite on a server, plus what
only a server has: HNSW and BIN_IVF_FLAT indexes, and no BM25 before Milvus 2.5 (lexical
and hybrid search are refused there, naming the version). The conformance tests are
imported from their modules: pytest runs them here with this module's ``backend`` and
``milvus_uri`` (the server's address).
"""

from __future__ import annotations

import uuid
from typing import Any

import numpy as np
import pytest

from ogma.errors import FilterError, UnsupportedSearchError
from ogma.store.migrate import copy_store, destination_options
from ogma.store.milvus.expressions import compile_expression, non_prefix_like
from tests.core.store.conftest import clustered_unit, exact_top
from tests.core.store.milvus.test_expressions import _cases, _matching, document_rows, metadata_rows  # noqa: F401
from tests.core.store.test_large import (  # noqa: F401
    big,
    test_copy_store_moves_every_document,
    test_delete_by_filter_by_ids_and_all,
    test_enumeration_and_counts_see_every_document,
    test_texts_up_to_65535_bytes_round_trip_and_longer_ones_are_never_cut,
)
from tests.core.store.test_store import (  # noqa: F401
    test_add_get_count_and_generated_ids,
    test_embeddings_come_back_exactly,
    test_iter_documents,
    test_reopening_checks_the_config_record,
)
from tests.core.store.test_store_extensions import (  # noqa: F401
    mixed,
    test_metadata_fields,
    test_metadata_range,
    test_metadata_values,
)

pytestmark = pytest.mark.slow


@pytest.fixture
def backend() -> str:
    return "milvus-server"


@pytest.fixture(scope="session")
def milvus_uri(milvus_server_uri: str) -> str:
    return milvus_server_uri


def test_the_server_reports_its_version_and_has_no_bm25(make: Any) -> None:
    store = make(dim=8)
    assert store.server_version.startswith("v2.3.5")
    store.add(["red apple", "green pear"], ids=["a", "p"], embeddings=np.eye(2, 8))
    assert [h.id for h in store.search(vector=np.eye(1, 8)[0], k=1)] == ["a"]
    for mode in ("lexical", "hybrid"):
        with pytest.raises(UnsupportedSearchError, match=r"Milvus server \(v2\.3\.5.*need Milvus >= 2\.5"):
            store.search("apple", vector=np.eye(1, 8)[0], mode=mode)
    assert store.count() == 2  # nothing changed


@pytest.mark.parametrize(
    ("precision", "index_type"),
    [
        ("float32", "FLAT"),
        ("float32", "HNSW"),
        ("float32", "IVF_FLAT"),
        ("float32", "AUTOINDEX"),
        ("binary", "BIN_FLAT"),
        ("binary", "BIN_IVF_FLAT"),
    ],
)
def test_server_index_types(make: Any, precision: str, index_type: str) -> None:
    vectors = clustered_unit(500, dim=16, seed=5)
    store = make(dim=16, precision=precision, index_type=index_type)
    store.add([f"t{i}" for i in range(500)], ids=[str(i) for i in range(500)], embeddings=vectors)
    assert store.config.index_type == index_type
    for q in (3, 250):
        hits = store.search(vector=vectors[q], k=5, filter={"$id": {"$ne": "never"}})
        assert hits[0].id == str(q)
        assert len({h.id for h in hits} & {str(i) for i in exact_top(vectors, vectors[q], 5)}) >= 4


def test_milvus_lite_to_server_and_back(make: Any, milvus_lite_db: Any) -> None:
    from ogma.store.milvus import MilvusStore

    vectors = clustered_unit(300, dim=8, seed=2)
    ids = [f"d{i}" for i in reversed(range(300))]
    with MilvusStore(str(milvus_lite_db), f"lite_{uuid.uuid4().hex}", dim=8, precision="binary") as lite:
        lite.add([f"text {i}" for i in range(300)], [{"i": i} for i in range(300)], ids, embeddings=vectors)
        options = destination_options(lite)
        server = make(**options)
        assert copy_store(lite, server, batch_size=64, show_progress=False) == 300
        assert [d.id for d in server.iter_documents()] == ids and server.precision == "binary"
        q = vectors[17]
        assert [h.id for h in server.search(vector=q, k=5)] == [h.id for h in lite.search(vector=q, k=5)]
        back = MilvusStore(str(milvus_lite_db), f"back_{uuid.uuid4().hex}", **destination_options(server))
        with back:
            assert copy_store(server, back, show_progress=False) == 300
            docs = list(back.iter_documents(include_embeddings=True))
            assert [d.id for d in docs] == ids
            np.testing.assert_array_equal(np.stack([d.embedding for d in docs]), vectors)
            back.drop()
        lite.drop()


def test_a_binary_store_keeps_its_float_vectors_as_json_before_milvus_2_4(make: Any) -> None:
    """Milvus 2.3 allows one vector field per collection: the bits are the vector field, the floats JSON."""
    vectors = clustered_unit(300, dim=16, seed=4)
    store = make(dim=16, precision="binary")
    store.add([f"t{i}" for i in range(300)], ids=[str(i) for i in range(300)], embeddings=vectors)
    fields = {f["name"]: f["type"].name for f in store._client.describe_collection(store.collection)["fields"]}
    assert (fields["bits"], fields["vector"]) == ("BINARY_VECTOR", "JSON")
    np.testing.assert_array_equal(store.get(["9"], include_embeddings=True)[0].embedding, vectors[9])
    for q in (9, 123):  # the candidates are rescored in Ogma, also when many are asked for
        for k in (10, 200):
            assert [int(h.id) for h in store.search(vector=vectors[q], k=k)][:5] == exact_top(vectors, vectors[q], 5)


def _refused_on_2_3(filter_: dict[str, Any]) -> bool:
    compiled = compile_expression(filter_)
    return isinstance(compiled, str) and non_prefix_like(compiled) is not None


@pytest.mark.parametrize(("filter_", "expected"), _cases("tests.core.store.test_filters"))
def test_the_metadata_table_on_the_server(metadata_rows: Any, filter_: Any, expected: set[str]) -> None:  # noqa: F811
    if _refused_on_2_3(filter_):
        with pytest.raises(FilterError, match=r"\(v2\.3\.5.*\) matches strings by prefix only"):
            _matching(metadata_rows, filter_)
    else:
        assert _matching(metadata_rows, filter_) == expected


@pytest.mark.parametrize(("filter_", "expected"), _cases("tests.core.store.test_filters_documents"))
def test_the_document_field_table_on_the_server(document_rows: Any, filter_: Any, expected: set[str]) -> None:  # noqa: F811
    try:
        refused = _refused_on_2_3(filter_)
    except FilterError:  # refused on every Milvus ($ilike with letters on $content)
        refused = True
    if refused:
        with pytest.raises(FilterError):
            _matching(document_rows, filter_)
    else:
        assert _matching(document_rows, filter_) == expected
