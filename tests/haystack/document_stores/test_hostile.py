"""Bad input to OgmaDocumentStore and the retrievers: a clear error naming the field, and nothing half-written.

The store fixture runs on every backend (SQLite and Milvus Lite).
"""

from __future__ import annotations

import asyncio
import dataclasses
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from haystack import component, default_from_dict, default_to_dict
from haystack.core.errors import SerializationError
from haystack.dataclasses import ByteStream, Document, SparseEmbedding
from haystack.document_stores.errors import DuplicateDocumentError
from haystack.document_stores.types import DuplicatePolicy
from haystack.errors import FilterError

from haystack_integrations.components.retrievers.ogma import (
    OgmaBM25Retriever,
    OgmaEmbeddingRetriever,
    OgmaHybridRetriever,
)
from haystack_integrations.document_stores.ogma import OgmaDocumentStore
from ogma.errors import StoreMismatchError
from ogma.store import Store
from ogma.store.fingerprint import read_fingerprint
from tests.helpers.backends import BackendStores, store_in
from tests.helpers.proxy_store import ProxyStore


@pytest.fixture
def store(backend_stores: BackendStores) -> Iterator[OgmaDocumentStore]:
    s = OgmaDocumentStore(store=backend_stores())
    s.write_documents(
        [
            Document(id="a", content="apples and pears", embedding=[1.0, 0.0, 0.0], meta={"k": 1}),
            Document(id="b", content="bananas", embedding=[0.0, 1.0, 0.0], meta={"k": 2}),
        ]
    )
    yield s
    s.close()


def _ids(store: OgmaDocumentStore) -> list[str]:
    return [d.id for d in store.filter_documents()]


E3 = [0.0, 0.0, 1.0]


def _deep(levels: int, operator: str = "NOT") -> dict[str, Any]:
    node: dict[str, Any] = {"field": "meta.k", "operator": "==", "value": 1}
    for _ in range(levels):
        node = {"operator": operator, "conditions": [node]}
    return node


DEEP = _deep(2000, "AND")
CYCLE: dict[str, Any] = {"operator": "OR", "conditions": [{"field": "meta.k", "operator": "==", "value": 1}]}
CYCLE["conditions"].append(CYCLE)
TOO_DEEP = "nests more than 100 levels deep"
CYCLIC = "contains itself"

WRITES: list[tuple[str, Any, type[BaseException], str]] = [
    ("a string", "not a list", ValueError, "documents must be a list"),
    ("None", None, ValueError, "documents must be a list"),
    ("one Document", Document(content="x"), ValueError, "documents must be a list"),
    ("a dict in the list", [Document(id="c", content="c", embedding=E3), {"content": "x"}], ValueError, "documents[1]"),
    (
        "no content, no embedding",
        [Document(id="c", content="c", embedding=E3), Document(id="d")],
        ValueError,
        "documents[1] (id 'd') has neither content nor an embedding",
    ),
    ("blob", [Document(id="c", blob=ByteStream(b"x"), embedding=E3)], ValueError, "documents[0].blob"),
    (
        "sparse embedding",
        [Document(id="c", content="c", sparse_embedding=SparseEmbedding([1], [0.5]))],
        ValueError,
        "documents[0].sparse_embedding",
    ),
    (
        "wrong dimension",
        [Document(id="c", content="c", embedding=[1.0, 2.0])],
        ValueError,
        "documents[0].embedding has 2 values, this store holds 3-d vectors",
    ),
    (
        "dimensions differ in a batch",
        [Document(id="c", content="c", embedding=E3), Document(id="d", content="d", embedding=[1.0])],
        ValueError,
        "documents[1].embedding has 1 values but documents[0].embedding has 3",
    ),
    (
        "NaN in an embedding",
        [Document(id="c", content="c", embedding=[math.nan, 0.0, 1.0])],
        ValueError,
        "documents[0].embedding contains NaN",
    ),
    (
        "text in an embedding",
        [Document(id="c", content="c", embedding=["1", "2", "3"])],
        ValueError,
        "documents[0].embedding must hold only numbers",
    ),  # type: ignore[list-item]
    ("empty embedding", [Document(id="c", content="c", embedding=[])], ValueError, "documents[0].embedding is empty"),
    (
        "meta not JSON",
        [Document(id="c", content="c", embedding=E3, meta={"when": object()})],
        ValueError,
        "documents[0].meta is not JSON-serialisable",
    ),
    (
        "meta not JSON in documents[1]",
        [Document(id="c", content="c", embedding=E3), Document(id="d", content="d", meta={"when": object()})],
        ValueError,
        "documents[1].meta is not JSON-serialisable",
    ),
    (
        "meta NaN in documents[1]",
        [Document(id="c", content="c", embedding=E3), Document(id="d", content="d", meta={"x": math.nan})],
        ValueError,
        "documents[1].meta['x'] is nan",
    ),
    (
        "meta int key",
        [Document(id="c", content="c", embedding=E3, meta={1: "x"})],
        ValueError,
        "documents[0].meta has a non-string key 1",
    ),
    (
        "content lone surrogate in documents[1]",
        [Document(id="c", content="c", embedding=E3), Document(id="d", content="d\ud800")],
        ValueError,
        "documents[1].content is not valid Unicode",
    ),
    (
        "FAIL on a stored id",
        [Document(id="c", content="c", embedding=E3), Document(id="a", content="A", embedding=E3)],
        DuplicateDocumentError,
        "'a'",
    ),
    (
        "FAIL on an id twice",
        [Document(id="c", content="c", embedding=E3), Document(id="c", content="C", embedding=E3)],
        DuplicateDocumentError,
        "appears more than once",
    ),
]


@pytest.mark.parametrize(("case", "documents", "error", "message"), WRITES, ids=[w[0] for w in WRITES])
def test_bad_writes_raise_and_write_nothing(
    store: OgmaDocumentStore, case: str, documents: Any, error: type[BaseException], message: str
) -> None:
    before = store.filter_documents()
    with pytest.raises(error) as info:
        store.write_documents(documents, policy=DuplicatePolicy.FAIL)
    assert message in str(info.value)
    assert store.filter_documents() == before  # all or nothing


def test_duplicate_error_is_haystacks_and_ogmas(store: OgmaDocumentStore) -> None:
    import ogma.errors

    with pytest.raises(ogma.errors.DuplicateDocumentError) as info:
        store.write_documents([Document(id="b", content="again", embedding=E3)])  # NONE means FAIL
    assert isinstance(info.value, DuplicateDocumentError)
    assert info.value.ids == ["b"]
    assert "DuplicatePolicy.OVERWRITE" in str(info.value)


def test_fail_spanning_several_batches_writes_nothing() -> None:
    store = OgmaDocumentStore(batch_size=2)
    store.write_documents([Document(id="x9", content="stored", embedding=E3)])
    batch = [Document(id=f"x{i}", content=f"d{i}", embedding=E3) for i in range(10)]
    with pytest.raises(DuplicateDocumentError):
        store.write_documents(batch)
    assert _ids(store) == ["x9"]


def test_policy_must_be_a_duplicate_policy(store: OgmaDocumentStore) -> None:
    with pytest.raises(ValueError, match="policy must be a DuplicatePolicy"):
        store.write_documents([Document(id="c", content="c", embedding=E3)], policy="skip")  # type: ignore[arg-type]


CALLS: list[tuple[str, Callable[[OgmaDocumentStore], Any], type[BaseException], str]] = [
    ("filter_documents(str)", lambda s: s.filter_documents("meta.k == 1"), FilterError, "filters must be a dict"),  # type: ignore[arg-type]
    ("filter_documents(legacy)", lambda s: s.filter_documents({"k": 1}), FilterError, "no 'operator' key"),
    (
        "count_documents_by_filter(bad)",
        lambda s: s.count_documents_by_filter({"operator": "AND"}),
        FilterError,
        "no 'conditions' key",
    ),
    ("delete_by_filter({})", lambda s: s.delete_by_filter({}), FilterError, "delete_all_documents()"),
    ("update_by_filter(None)", lambda s: s.update_by_filter(None, {"x": 1}), FilterError, "non-empty filter"),  # type: ignore[arg-type]
    (
        "update_by_filter(meta=str)",
        lambda s: s.update_by_filter({"field": "id", "operator": "==", "value": "a"}, "x"),
        TypeError,
        "meta must be a dict",
    ),  # type: ignore[arg-type]
    ("delete_documents(str)", lambda s: s.delete_documents("ab"), TypeError, "document_ids must be a list"),  # type: ignore[arg-type]
    ("delete_documents(bytes)", lambda s: s.delete_documents(b"ab"), TypeError, "document_ids must be a list"),  # type: ignore[arg-type]
    ("delete_documents(int id)", lambda s: s.delete_documents(["a", 3]), TypeError, "document_ids[1] must be a str"),  # type: ignore[list-item]
    (
        "delete_documents_async(str)",
        lambda s: asyncio.run(s.delete_documents_async("ab")),
        TypeError,
        "document_ids must be a list",
    ),  # type: ignore[arg-type]
    ("filter_documents(2000 deep)", lambda s: s.filter_documents(DEEP), FilterError, TOO_DEEP),
    ("count_documents_by_filter(2000 deep)", lambda s: s.count_documents_by_filter(DEEP), FilterError, TOO_DEEP),
    ("delete_by_filter(2000 deep)", lambda s: s.delete_by_filter(DEEP), FilterError, TOO_DEEP),
    ("update_by_filter(2000 deep)", lambda s: s.update_by_filter(DEEP, {"x": 1}), FilterError, TOO_DEEP),
    ("embedding_retrieval(2000 deep)", lambda s: s.embedding_retrieval(E3, filters=DEEP), FilterError, TOO_DEEP),
    ("bm25_retrieval(101 deep)", lambda s: s.bm25_retrieval("apples", filters=_deep(101)), FilterError, TOO_DEEP),
    ("hybrid_retrieval(cycle)", lambda s: s.hybrid_retrieval("apples", E3, filters=CYCLE), FilterError, CYCLIC),
    ("filter_documents(cycle)", lambda s: s.filter_documents(CYCLE), FilterError, CYCLIC),
    ("delete_by_filter(cycle)", lambda s: s.delete_by_filter(CYCLE), FilterError, CYCLIC),
    ("hybrid_retrieval(candidates=0)", lambda s: s.hybrid_retrieval("a", E3, candidates=0), ValueError, "candidates"),
    (
        "min_max('meta.')",
        lambda s: s.get_metadata_field_min_max("meta."),
        ValueError,
        "metadata_field must be a metadata key",
    ),
    ("min_max(None)", lambda s: s.get_metadata_field_min_max(None), ValueError, "metadata_field"),  # type: ignore[arg-type]
    (
        "unique values size=-1",
        lambda s: s.get_metadata_field_unique_values("k", size=-1),
        ValueError,
        "size must be an integer >= 0",
    ),
    (
        "count_unique(str fields)",
        lambda s: s.count_unique_metadata_by_filter({}, "k"),
        TypeError,
        "metadata_fields must be a list",
    ),  # type: ignore[arg-type]
    (
        "embedding_retrieval(None)",
        lambda s: s.embedding_retrieval(None),
        TypeError,
        "query_embedding must be a list of floats",
    ),  # type: ignore[arg-type]
    (
        "embedding_retrieval(str)",
        lambda s: s.embedding_retrieval("0.1 0.2"),
        TypeError,
        "query_embedding must be a list of floats",
    ),  # type: ignore[arg-type]
    (
        "embedding_retrieval(wrong dim)",
        lambda s: s.embedding_retrieval([1.0, 0.0]),
        ValueError,
        "query_embedding has 2 values, this store holds 3-d vectors",
    ),
    (
        "embedding_retrieval(NaN)",
        lambda s: s.embedding_retrieval([math.nan, 0.0, 0.0]),
        ValueError,
        "query_embedding contains NaN",
    ),
    ("embedding_retrieval(zeros)", lambda s: s.embedding_retrieval([0.0, 0.0, 0.0]), ValueError, "all zeros"),
    ("bm25_retrieval(None)", lambda s: s.bm25_retrieval(None), TypeError, "query must be a string"),  # type: ignore[arg-type]
    ("bm25_retrieval('')", lambda s: s.bm25_retrieval("  "), ValueError, "query must be a non-empty string"),
    ("bm25_retrieval(top_k=-1)", lambda s: s.bm25_retrieval("apples", top_k=-1), ValueError, "top_k must be >= 0"),
    (
        "bm25_retrieval(top_k='3')",
        lambda s: s.bm25_retrieval("apples", top_k="3"),
        TypeError,
        "top_k must be an integer",
    ),  # type: ignore[arg-type]
    ("hybrid_retrieval(no embedding)", lambda s: s.hybrid_retrieval("apples", None), TypeError, "query_embedding"),  # type: ignore[arg-type]
    (
        "hybrid_retrieval(bad fusion)",
        lambda s: s.hybrid_retrieval("apples", E3, fusion="best"),
        ValueError,
        "Unknown fusion method 'best'",
    ),
]


@pytest.mark.parametrize(("case", "call", "error", "message"), CALLS, ids=[c[0] for c in CALLS])
def test_bad_calls_raise_clear_errors(
    store: OgmaDocumentStore,
    case: str,
    call: Callable[[OgmaDocumentStore], Any],
    error: type[BaseException],
    message: str,
) -> None:
    before = store.filter_documents()
    with pytest.raises(error) as info:
        call(store)
    assert message in str(info.value)
    assert store.filter_documents() == before


def test_top_k_zero_returns_nothing(store: OgmaDocumentStore) -> None:
    assert store.bm25_retrieval("apples", top_k=0) == []
    assert store.embedding_retrieval(E3, top_k=0) == []
    assert store.hybrid_retrieval("apples", E3, top_k=0) == []


RETRIEVERS: list[tuple[str, Callable[..., Any], dict[str, Any], type[BaseException], str]] = [
    ("top_k=0", OgmaBM25Retriever, {"top_k": 0}, ValueError, "top_k must be greater than 0"),
    ("top_k=-3", OgmaEmbeddingRetriever, {"top_k": -3}, ValueError, "top_k must be greater than 0"),
    ("top_k=True", OgmaHybridRetriever, {"top_k": True}, TypeError, "top_k must be an integer"),
    ("top_k=None", OgmaBM25Retriever, {"top_k": None}, TypeError, "top_k must be an integer"),
    ("candidates=0", OgmaHybridRetriever, {"candidates": 0}, ValueError, "candidates must be greater than 0, got 0"),
    ("candidates=-5", OgmaHybridRetriever, {"candidates": -5}, ValueError, "candidates must be greater than 0"),
    ("candidates='5'", OgmaHybridRetriever, {"candidates": "5"}, TypeError, "candidates must be an integer"),
    ("filters 2000 deep", OgmaBM25Retriever, {"filters": DEEP}, FilterError, TOO_DEEP),
    ("filters cycle", OgmaHybridRetriever, {"filters": CYCLE}, FilterError, CYCLIC),
    (
        "bad filters",
        OgmaEmbeddingRetriever,
        {"filters": {"field": "meta.k", "operator": "like", "value": 1}},
        FilterError,
        "unknown comparison operator 'like'",
    ),
    (
        "bad policy",
        OgmaBM25Retriever,
        {"filter_policy": "union"},
        ValueError,
        "filter_policy must be 'replace' or 'merge'",
    ),
    (
        "bad fusion",
        OgmaHybridRetriever,
        {"fusion": {"method": "rrf", "alpha": 0.3}},
        ValueError,
        "do not apply to method='rrf'",
    ),
]


@pytest.mark.parametrize(("case", "cls", "kwargs", "error", "message"), RETRIEVERS, ids=[r[0] for r in RETRIEVERS])
def test_bad_retriever_arguments_fail_at_init(
    store: OgmaDocumentStore,
    case: str,
    cls: Callable[..., Any],
    kwargs: dict[str, Any],
    error: type[BaseException],
    message: str,
) -> None:
    with pytest.raises(error) as info:
        cls(document_store=store, **kwargs)
    assert message in str(info.value)


@pytest.mark.parametrize("cls", [OgmaBM25Retriever, OgmaEmbeddingRetriever, OgmaHybridRetriever])
def test_retrievers_need_an_ogma_document_store(cls: Callable[..., Any]) -> None:
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    with pytest.raises(TypeError, match="needs an OgmaDocumentStore"):
        cls(document_store=InMemoryDocumentStore())


def test_retriever_run_errors_name_the_input(store: OgmaDocumentStore) -> None:
    with pytest.raises(TypeError, match="query must be a string"):
        OgmaBM25Retriever(document_store=store).run(query=None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="query_embedding must be a list of floats"):
        OgmaEmbeddingRetriever(document_store=store).run(query_embedding="1 0 0")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="top_k must be >= 0"):
        OgmaHybridRetriever(document_store=store).run(query="apples", query_embedding=E3, top_k=-1)
    with pytest.raises(FilterError, match=r"filters\.conditions"):
        asyncio.run(
            OgmaBM25Retriever(document_store=store).run_async(query="a", filters={"operator": "OR", "conditions": [1]})
        )


def test_constructor_errors() -> None:
    with pytest.raises(TypeError, match=r"store must implement ogma\.store\.protocol\.StoreProtocol"):
        OgmaDocumentStore(store=object())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="give path= or store=, not both"):
        OgmaDocumentStore("x.db", store=Store(":memory:"))
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        OgmaDocumentStore(batch_size=0)
    with pytest.raises(ValueError, match="precision must be one of"):
        OgmaDocumentStore(precision="float16")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="path"):
        OgmaDocumentStore(123)  # type: ignore[arg-type]


def test_a_store_that_cannot_name_itself_cannot_be_serialised() -> None:
    store = OgmaDocumentStore(store=ProxyStore())
    with pytest.raises(SerializationError, match=r"no path or URI\. Build the document store with path="):
        store.to_dict()


def test_errors_name_the_position_in_the_callers_list_after_repeated_ids(store: OgmaDocumentStore) -> None:
    docs = [
        Document(id="c", content="c", embedding=E3),
        Document(id="c", content="c again", embedding=E3),
        Document(id="d", content="d", embedding=[math.inf, 0.0, 0.0]),
    ]
    with pytest.raises(ValueError, match=r"documents\[2\]\.embedding contains NaN or infinite values"):
        store.write_documents(docs, policy=DuplicatePolicy.SKIP)
    assert _ids(store) == ["a", "b"]


def test_skip_and_overwrite_with_repeated_ids(store: OgmaDocumentStore) -> None:
    first, second = Document(id="c", content="first", embedding=E3), Document(id="c", content="second", embedding=E3)
    assert store.write_documents([first, second], policy=DuplicatePolicy.SKIP) == 1
    assert store.filter_documents({"field": "id", "operator": "==", "value": "c"})[0].content == "first"
    assert store.write_documents([first, second], policy=DuplicatePolicy.OVERWRITE) == 1
    assert store.filter_documents({"field": "id", "operator": "==", "value": "c"})[0].content == "second"
    assert store.write_documents([first], policy=DuplicatePolicy.SKIP) == 0


def test_write_errors_name_the_callers_position_after_repeated_ids_for_meta(store: OgmaDocumentStore) -> None:
    docs = [
        Document(id="c", content="c", embedding=E3),
        Document(id="c", content="c again", embedding=E3),
        Document(id="d", content="d", meta={"when": object()}),
    ]
    with pytest.raises(ValueError, match=r"documents\[2\]\.meta is not JSON-serialisable"):
        store.write_documents(docs, policy=DuplicatePolicy.SKIP)
    assert _ids(store) == ["a", "b"]


@component
class ToyDocumentEmbedder:
    """A deterministic 3-d document embedder per model name: two names are two models of the same dimension."""

    def __init__(self, model: str, meta_field: str | None = None) -> None:
        self.model = model
        self.meta_field = meta_field  # embedded before the content, as meta_fields_to_embed does

    def _vector(self, text: str) -> list[float]:
        projection = np.random.default_rng(sum(map(ord, self.model))).normal(size=(3, 3))
        counts = np.array([text.count(c) for c in "aeo"], dtype=np.float64) + 1.0
        return [float(x) for x in projection @ counts]

    @component.output_types(documents=list[Document])
    def run(self, documents: list[Document]) -> dict[str, list[Document]]:
        return {"documents": [dataclasses.replace(d, embedding=self._vector(self._text(d))) for d in documents]}

    def _text(self, doc: Document) -> str:
        prefix = str(doc.meta.get(self.meta_field, "")) if self.meta_field else ""
        return f"{prefix}\n{doc.content or ''}"

    def to_dict(self) -> dict[str, Any]:
        return default_to_dict(self, model=self.model, meta_field=self.meta_field)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ToyDocumentEmbedder:
        return default_from_dict(cls, data)


@component
class ToyTextEmbedder:
    """A query embedder: run(text=...) gives one embedding, so it cannot be a store's document embedder."""

    @component.output_types(embedding=list[float])
    def run(self, text: str) -> dict[str, list[float]]:
        return {"embedding": [1.0, 0.0, 0.0]}


def _embedded(embedder: ToyDocumentEmbedder, *texts: str) -> list[Document]:
    docs = [Document(id=f"d{i}", content=t) for i, t in enumerate(texts)]
    return list(embedder.run(documents=docs)["documents"])


@pytest.mark.parametrize("recorded", [True, False], ids=["recorded", "not-recorded"])
def test_reopening_with_another_embedder_of_the_same_dim_is_refused(
    backend_stores: BackendStores, recorded: bool
) -> None:
    a = ToyDocumentEmbedder("toy-a")
    first = OgmaDocumentStore(store=backend_stores(name="shared"), embedder=a if recorded else None)
    first.write_documents(_embedded(a, "paris in france", "cats purr", "a dog barks"))
    assert (read_fingerprint(first.store) is not None) == recorded
    first.close()
    with pytest.raises(StoreMismatchError, match=r"ToyDocumentEmbedder\(model='toy-b'\)"):
        OgmaDocumentStore(store=backend_stores(name="shared"), embedder=ToyDocumentEmbedder("toy-b"))
    again = OgmaDocumentStore(store=backend_stores(name="shared"), embedder=ToyDocumentEmbedder("toy-a"))
    assert sorted(_ids(again)) == ["d0", "d1", "d2"]  # nothing lost; the same model opens
    again.close()


def test_the_recorded_embedder_is_named(tmp_path: Path) -> None:
    a = ToyDocumentEmbedder("toy-a")
    first = OgmaDocumentStore(tmp_path / "s.db", embedder=a)
    first.write_documents(_embedded(a, "paris in france"))
    first.close()
    with pytest.raises(
        StoreMismatchError, match=r"ToyDocumentEmbedder\(model='toy-a'\).*ToyDocumentEmbedder\(model='b'"
    ):
        OgmaDocumentStore(tmp_path / "s.db", embedder=ToyDocumentEmbedder("b"))


def test_an_ogma_embedder_is_recorded_with_its_model_and_serialised(tmp_path: Path, tiny_model_dir: Path) -> None:
    from haystack_integrations.components.embedders.ogma import OgmaDocumentEmbedder

    embedder = OgmaDocumentEmbedder(model=str(tiny_model_dir))
    embedder.warm_up()
    first = OgmaDocumentStore(tmp_path / "s.db", embedder=embedder)
    first.write_documents(embedder.run(documents=[Document(id="a", content="paris in france")])["documents"])
    recorded = read_fingerprint(first.store)
    assert recorded is not None and recorded.model == str(tiny_model_dir)
    data = first.to_dict()
    first.close()
    assert data["init_parameters"]["embedder"]["init_parameters"]["model"] == str(tiny_model_dir)
    again = OgmaDocumentStore.from_dict(data)
    assert isinstance(again.embedder, OgmaDocumentEmbedder) and _ids(again) == ["a"]
    again.close()


def test_the_embedder_must_be_a_document_embedder(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="embedder must be a Haystack document embedder"):
        OgmaDocumentStore(embedder="all-MiniLM-L6-v2")
    a = ToyDocumentEmbedder("toy-a")
    first = OgmaDocumentStore(tmp_path / "s.db")
    first.write_documents(_embedded(a, "paris in france"))
    first.close()
    with pytest.raises(TypeError, match=r"ToyTextEmbedder: a component whose run\(\) takes no documents"):
        OgmaDocumentStore(tmp_path / "s.db", embedder=ToyTextEmbedder())


@pytest.mark.parametrize("folder", ["a?b", "c#d", "50% off", "ü n"])
def test_to_dict_from_dict_reopens_a_store_in_an_awkward_folder(
    tmp_path: Path, adapter_backend: str, folder: str
) -> None:
    (tmp_path / folder).mkdir()
    first = OgmaDocumentStore(store=store_in(tmp_path / folder, adapter_backend))
    first.write_documents([Document(id="a", content="x", embedding=E3)])
    data = first.to_dict()
    first.close()
    again = OgmaDocumentStore.from_dict(data)
    assert _ids(again) == ["a"]
    again.close()


def test_a_store_without_a_record_is_checked_as_the_embedder_embedded_it(backend_stores: BackendStores) -> None:
    # The embedder reads a meta field with the content; the check against stored documents must too,
    # or the right embedder would be refused for a store written without embedder=.
    a = ToyDocumentEmbedder("toy-a", meta_field="title")
    docs = [Document(id="d0", content="cats purr", meta={"title": "o" * 40}), Document(id="d1", content="paris")]
    first = OgmaDocumentStore(store=backend_stores(name="shared"))
    first.write_documents(a.run(documents=docs)["documents"])
    first.close()
    again = OgmaDocumentStore(store=backend_stores(name="shared"), embedder=ToyDocumentEmbedder("toy-a", "title"))
    assert sorted(_ids(again)) == ["d0", "d1"]
    again.close()
    with pytest.raises(StoreMismatchError, match="toy-b"):
        OgmaDocumentStore(store=backend_stores(name="shared"), embedder=ToyDocumentEmbedder("toy-b", "title"))
