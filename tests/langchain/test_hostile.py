"""Hostile input to the LangChain adapter: each case has an id, an exception type, and loses no data.

Every case runs against a store holding three documents, on every backend (SQLite and
Milvus Lite). The call must raise the
expected exception (type and a message naming the culprit); afterwards the store must
hold exactly the same documents, and input rejected by ``add_texts`` must not have
cost an embedding call (everything is checked before anything is embedded).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.embeddings import DeterministicFakeEmbedding
from pydantic import ValidationError

from langchain_ogma import OgmaReranker, OgmaRetriever, OgmaVectorStore
from ogma.errors import FilterError, StoreMismatchError
from tests.helpers.backends import BackendStores
from tests.helpers.counting_embeddings import CountingEmbeddings

SEED = [
    ("Paris is the capital of France.", {"topic": "geo", "year": 2019}),
    ("Cats purr when they are content.", {"topic": "pets", "year": 2022}),
    ("Dogs bark at strangers.", {"topic": "pets", "year": 2023}),
]
SEED_IDS = ["paris", "cats", "dogs"]


@dataclass(frozen=True)
class Case:
    id: str
    call: Callable[[OgmaVectorStore], Any]
    error: type[BaseException]
    match: str


def _invoke(retriever: Any, query: Any = "capital") -> Any:
    return retriever.invoke(query)


def _nested(levels: int, operator: str = "$and") -> dict[str, Any]:
    node: dict[str, Any] = {"topic": "geo"}
    for _ in range(levels):
        node = {operator: [node]}
    return node


def _cycle(operator: str) -> dict[str, Any]:
    node: dict[str, Any] = {operator: [{"topic": "geo"}]}
    node[operator].append(node)
    return node


class _NeverReranks:
    def rerank(self, query: str, texts: list[str], top_k: int | None = None) -> list[Any]:
        raise AssertionError("bad input must be refused before the cross-encoder runs")


TOO_DEEP = "nests more than 100 levels deep"
CYCLIC = "contains itself"


def _search(filter: Any) -> Callable[[OgmaVectorStore], Any]:
    return lambda vs: vs.similarity_search("a", filter=filter)


CASES = [
    # -- a single string where a list is expected ------------------------------------
    Case("add_texts-bare-str", lambda vs: vs.add_texts("xyz"), TypeError, "texts must be a list"),
    Case("add_texts-int", lambda vs: vs.add_texts(5), TypeError, "texts must be a list"),
    Case("add_texts-dict", lambda vs: vs.add_texts({"a": 1}), TypeError, "texts must be a list"),
    Case("add_texts-bytes", lambda vs: vs.add_texts(b"xyz"), TypeError, "texts must be a list"),
    Case("add_texts-ids-bare-str", lambda vs: vs.add_texts(["a", "b"], ids="ab"), TypeError, "ids must be a list"),
    Case("get_by_ids-bare-str", lambda vs: vs.get_by_ids("12"), TypeError, "ids must be a list"),
    Case("delete-bare-str", lambda vs: vs.delete("paris"), TypeError, "ids must be a list"),
    Case(
        "add_documents-single-document",
        lambda vs: vs.add_documents(Document(page_content="x")),
        TypeError,
        "single Document",
    ),
    Case("add_documents-strings", lambda vs: vs.add_documents(["x"]), TypeError, r"documents\[0\]"),
    Case("delete-bytes", lambda vs: vs.delete(b"paris"), TypeError, "ids must be a list"),
    Case("delete-dict", lambda vs: vs.delete({"paris": 1}), TypeError, "ids must be a list"),
    Case("get_by_ids-bytes", lambda vs: vs.get_by_ids(b"12"), TypeError, "ids must be a list"),
    Case("adelete-bare-str", lambda vs: asyncio.run(vs.adelete("paris")), TypeError, "ids must be a list"),
    Case("aget_by_ids-bare-str", lambda vs: asyncio.run(vs.aget_by_ids("12")), TypeError, "ids must be a list"),
    Case("metadatas-single-dict", lambda vs: vs.add_texts(["a"], {"topic": "x"}), TypeError, "metadatas must be"),
    # -- wrong types inside lists ----------------------------------------------------
    Case("text-int", lambda vs: vs.add_texts(["ok", 5]), TypeError, r"texts\[1\]"),
    Case("text-none", lambda vs: vs.add_texts([None]), TypeError, r"texts\[0\]"),
    Case("id-int", lambda vs: vs.add_texts(["a"], ids=[7]), TypeError, r"ids\[0\]"),
    Case("get_by_ids-int", lambda vs: vs.get_by_ids([1, "paris"]), TypeError, r"ids\[0\]"),
    Case("get_by_ids-none-entry", lambda vs: vs.get_by_ids([None]), TypeError, r"ids\[0\]"),
    Case("delete-int", lambda vs: vs.delete([1]), TypeError, r"ids\[0\]"),
    Case("metadata-object", lambda vs: vs.add_texts(["a"], [{"when": object()}]), TypeError, r"metadatas\[0\]"),
    Case("metadata-nan", lambda vs: vs.add_texts(["a"], [{"x": float("nan")}]), TypeError, r"metadatas\[0\]"),
    Case("metadata-int-key", lambda vs: vs.add_texts(["a"], [{1: "x"}]), TypeError, r"metadatas\[0\]"),
    Case(
        "add_documents-metadata-object",
        lambda vs: vs.add_documents([Document(page_content="a"), Document(page_content="b", metadata={"o": object()})]),
        TypeError,
        r"documents\[1\]\.metadata is not JSON-serialisable",
    ),
    Case(
        "add_documents-metadata-nan",
        lambda vs: vs.add_documents([Document(page_content="a", metadata={"x": float("nan")})]),
        TypeError,
        r"documents\[0\]\.metadata\['x'\] is nan",
    ),
    # -- invalid Unicode (lone surrogates) never reaches the embeddings or SQLite -----
    Case("text-lone-surrogate", lambda vs: vs.add_texts(["ok", "a\ud800"]), ValueError, r"texts\[1\] is not valid"),
    Case(
        "metadata-lone-surrogate",
        lambda vs: vs.add_texts(["a"], [{"k": "\udfff"}]),
        ValueError,
        r"metadatas\[0\] is not valid",
    ),
    Case("id-lone-surrogate", lambda vs: vs.add_texts(["a"], ids=["\ud800"]), ValueError, r"ids\[0\] is not valid"),
    # -- lengths, duplicates, empty ids ----------------------------------------------
    Case("ids-too-few", lambda vs: vs.add_texts(["a", "b"], ids=["x"]), ValueError, "1 ids for 2 texts"),
    Case("metadatas-too-many", lambda vs: vs.add_texts(["a"], [{}, {}]), ValueError, "2 metadatas for 1 texts"),
    Case("ids-duplicate", lambda vs: vs.add_texts(["a", "b"], ids=["x", "x"]), ValueError, "appears twice"),
    Case("id-empty", lambda vs: vs.add_texts(["a"], ids=[""]), ValueError, "empty"),
    Case("batch-size-zero", lambda vs: vs.add_texts(["a"], batch_size=0), ValueError, "batch_size"),
    # -- keywords nobody reads are errors --------------------------------------------
    Case("add_texts-unknown-kwarg", lambda vs: vs.add_texts(["a"], colour="red"), TypeError, "colour"),
    Case("search-unknown-kwarg", lambda vs: vs.similarity_search("a", colour="red"), TypeError, "colour"),
    Case("mmr-mode", lambda vs: vs.max_marginal_relevance_search("a", mode="hybrid"), TypeError, "mode"),
    Case("by-vector-kwarg", lambda vs: vs.similarity_search_by_vector([0.1] * 6, mode="x"), TypeError, "mode"),
    Case("delete-kwarg", lambda vs: vs.delete(["paris"], cascade=True), TypeError, "cascade"),
    # -- searching ---------------------------------------------------------------------
    Case("delete-everything", lambda vs: vs.delete(), ValueError, "pass the ids"),
    Case("k-negative", lambda vs: vs.similarity_search("a", k=-1), ValueError, "k must be >= 0"),
    Case("k-float", lambda vs: vs.similarity_search("a", k=2.5), TypeError, "k must be an integer"),
    Case("query-int", lambda vs: vs.similarity_search(3), TypeError, "query must be a str"),
    Case("query-none-lexical", lambda vs: vs.similarity_search(None, mode="lexical"), TypeError, "query must be"),
    Case("mode-unknown", lambda vs: vs.similarity_search("a", mode="semantic"), ValueError, "mode must be one of"),
    Case("filter-callable", lambda vs: vs.similarity_search("a", filter=lambda d: True), TypeError, "dict"),
    Case("filter-between-one", lambda vs: vs.similarity_search("a", filter={"y": {"$between": [1]}}), FilterError, "y"),
    Case("filter-unknown-op", lambda vs: vs.similarity_search("a", filter={"y": {"$near": 1}}), FilterError, "near"),
    Case("filter-2000-deep-and", lambda vs: vs.similarity_search("a", filter=_nested(2000)), FilterError, TOO_DEEP),
    Case(
        "filter-2000-deep-nor",
        lambda vs: vs.similarity_search("a", filter=_nested(2000, "$nor")),
        FilterError,
        TOO_DEEP,
    ),
    Case("filter-101-deep-or", lambda vs: vs.similarity_search("a", filter=_nested(101, "$or")), FilterError, TOO_DEEP),
    Case(
        "filter-cycle-and", lambda vs: vs.similarity_search("a", filter=_cycle("$and")), FilterError, "contains itself"
    ),
    Case(
        "filter-cycle-nor", lambda vs: vs.similarity_search("a", filter=_cycle("$nor")), FilterError, "contains itself"
    ),
    Case(
        "retriever-filter-deep",
        lambda vs: _invoke(vs.as_retriever(search_kwargs={"filter": _nested(2000)})),
        FilterError,
        TOO_DEEP,
    ),
    Case("fusion-in-dense", lambda vs: vs.similarity_search("a", mode="dense", fusion="rrf"), ValueError, "hybrid"),
    Case("rerank_k-without-rerank", lambda vs: vs.similarity_search("a", rerank_k=5), ValueError, "rerank_k"),
    Case("rerank-not-reranker", lambda vs: vs.similarity_search("a", rerank="bge"), TypeError, "rerank must be"),
    Case(
        "relevance-mode-unknown",
        lambda vs: vs.similarity_search_with_relevance_scores("a", mode="semantic"),
        ValueError,
        "mode must be one of",
    ),
    # -- retrievers --------------------------------------------------------------------
    Case("as_retriever-search-type", lambda vs: vs.as_retriever(search_type="semantic"), ValueError, "semantic"),
    Case(
        "as_retriever-conflicting-mode",
        lambda vs: _invoke(vs.as_retriever(search_type="hybrid", search_kwargs={"mode": "dense"})),
        ValueError,
        "conflicts",
    ),
    Case(
        "as_retriever-threshold-not-float",
        lambda vs: vs.as_retriever(search_type="similarity_score_threshold", search_kwargs={"score_threshold": 1}),
        ValueError,
        "score_threshold",
    ),
    Case("retriever-store-str", lambda vs: OgmaRetriever(store="db.sqlite"), ValidationError, "store"),
    Case("retriever-query-int", lambda vs: _invoke(OgmaRetriever(store=vs), 5), TypeError, "query must be a str"),
    Case(
        "retriever-mode-per-call",
        lambda vs: OgmaRetriever(store=vs).invoke("a", mode="semantic"),
        ValueError,
        "mode must be one of",
    ),
    # -- construction -------------------------------------------------------------------
    Case(
        "retrieval-mode-unknown",
        lambda vs: OgmaVectorStore(vs.embeddings, retrieval_mode="semantic"),
        ValueError,
        "retrieval_mode",
    ),
    Case(
        "id-strategy-unknown", lambda vs: OgmaVectorStore(vs.embeddings, id_strategy="sha1"), ValueError, "id_strategy"
    ),
    Case("reranker-not-a-reranker", lambda vs: OgmaReranker(reranker=3), TypeError, "reranker must be a loaded"),
    Case("reranker-empty-name", lambda vs: OgmaReranker(reranker=""), ValueError, "empty"),
    Case(
        "compress_documents-bare-str",
        lambda vs: OgmaReranker(reranker=_NeverReranks()).compress_documents("ab", "query"),
        TypeError,
        "documents must be a list of Document",
    ),
    Case(
        "reranker-two-names",
        lambda vs: OgmaReranker(reranker="cross-encoder/a", model_name="cross-encoder/b"),
        ValueError,
        "two cross-encoders",
    ),
]


@pytest.fixture
def embeddings() -> CountingEmbeddings:
    return CountingEmbeddings()


@pytest.fixture
def vs(embeddings: CountingEmbeddings, backend_stores: BackendStores) -> Generator[OgmaVectorStore, None, None]:
    store = OgmaVectorStore(embeddings, store=backend_stores())
    store.add_texts([t for t, _ in SEED], [m for _, m in SEED], ids=SEED_IDS)
    yield store
    store.close()


def _snapshot(vs: OgmaVectorStore) -> list[tuple[str, str, dict[str, Any]]]:
    return [(d.id, d.text, d.metadata) for d in vs.store.iter_documents()]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_hostile_input(case: Case, vs: OgmaVectorStore, embeddings: CountingEmbeddings) -> None:
    before = _snapshot(vs)
    embedded = embeddings.documents_embedded
    with pytest.raises(case.error, match=case.match):
        case.call(vs)
    assert _snapshot(vs) == before
    assert embeddings.documents_embedded == embedded  # rejected before any embedding call


def test_case_ids_are_unique() -> None:
    assert len({c.id for c in CASES}) == len(CASES)


class OtherModel(CountingEmbeddings):
    """Same class family and size, different vectors (another model, as far as the store can tell)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return super().embed_documents([f"other model: {t}" for t in texts])


def test_other_embeddings_on_a_file_are_refused_and_the_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    first = OgmaVectorStore(DeterministicFakeEmbedding(size=6), path=path)
    first.add_texts([t for t, _ in SEED], [m for _, m in SEED], ids=SEED_IDS)
    before = _snapshot(first)
    first.close()
    with pytest.raises(StoreMismatchError, match=r"DeterministicFakeEmbedding\(size=6\).*OtherModel"):
        OgmaVectorStore(OtherModel(), path=path)
    # Another wrapper around the same vectors is the same model: it opens.
    same = OgmaVectorStore(CountingEmbeddings(), path=path)
    assert _snapshot(same) == before
    same.close()


def test_other_embeddings_on_any_backend_are_refused(backend_stores: BackendStores) -> None:
    first = OgmaVectorStore(DeterministicFakeEmbedding(size=6), store=backend_stores(name="shared"))
    first.add_texts([t for t, _ in SEED], [m for _, m in SEED], ids=SEED_IDS)
    before = _snapshot(first)
    first.close()
    with pytest.raises(StoreMismatchError, match=r"DeterministicFakeEmbedding\(size=6\).*OtherModel"):
        OgmaVectorStore(OtherModel(), store=backend_stores(name="shared"))
    same = OgmaVectorStore(CountingEmbeddings(), store=backend_stores(name="shared"))
    assert _snapshot(same) == before


def test_reranker_takes_a_model_name_like_model_name() -> None:
    by_name = OgmaReranker(reranker="cross-encoder/ms-marco-TinyBERT-L-2-v2")
    assert (by_name.model_name, by_name.reranker) == ("cross-encoder/ms-marco-TinyBERT-L-2-v2", None)
    assert OgmaReranker(reranker=Path("/models/ce")).model_name == "/models/ce"


EMBEDDING_CASES = [
    ("embed_documents-bare-str", lambda e: e.embed_documents("xyz"), TypeError, "single str"),
    ("embed_documents-int", lambda e: e.embed_documents(["a", 3]), TypeError, r"texts\[1\]"),
    ("embed_documents-none", lambda e: e.embed_documents(None), TypeError, "texts must be a list"),
    (
        "embed_documents-surrogate",
        lambda e: e.embed_documents(["ok", "\ud800"]),
        ValueError,
        r"texts\[1\] is not valid",
    ),
    ("embed_query-list", lambda e: e.embed_query(["a"]), TypeError, "text must be a str"),
    ("embed_query-surrogate", lambda e: e.embed_query("a\udc00"), ValueError, "not valid Unicode"),
]


@pytest.mark.parametrize(
    ("call", "error", "match"), [c[1:] for c in EMBEDDING_CASES], ids=[c[0] for c in EMBEDDING_CASES]
)
def test_hostile_embeddings_input(tiny_model_dir: Path, call: Any, error: type[BaseException], match: str) -> None:
    from langchain_ogma import OgmaEmbeddings

    with pytest.raises(error, match=match):
        call(OgmaEmbeddings(model_name=str(tiny_model_dir)))
