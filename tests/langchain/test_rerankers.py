"""OgmaReranker: the document compressor, with a fake and a tiny synthetic cross-encoder."""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.runnables import RunnableLambda
from pydantic import ValidationError

from langchain_ogma import OgmaReranker
from ogma import Reranker
from ogma.blend import DEFAULT_LINEAR_RANGE, DEFAULT_RERANK_ALPHA, linear_rescale


@dataclass(frozen=True)
class _Result:
    index: int
    score: float


class LengthReranker:
    """Scores longer documents higher; same ``rerank`` interface as ``ogma.Reranker``."""

    def rerank(self, query: str, documents: list[str], top_k: int | None = None) -> list[_Result]:
        order = sorted(range(len(documents)), key=lambda i: -len(documents[i]))
        return [_Result(i, len(documents[i]) / 100) for i in order][:top_k]


DOCS = [
    Document(page_content="short", metadata={"n": 1, "nested": {"a": 1}}, id="s"),
    Document(page_content="the longest of them all", metadata={"n": 2}, id="l"),
    Document(page_content="middling text", metadata={"n": 3}, id="m"),
]


def test_reorders_keeps_top_n_and_copies() -> None:
    before = copy.deepcopy(DOCS)
    out = OgmaReranker(reranker=LengthReranker(), top_n=2).compress_documents(DOCS, "q")
    assert [d.id for d in out] == ["l", "m"]
    assert out[0].metadata == {"n": 2, "relevance_score": pytest.approx(0.23)}
    assert before == DOCS  # inputs untouched
    everything = OgmaReranker(reranker=LengthReranker(), top_n=None).compress_documents(DOCS, "q")
    everything[-1].metadata["nested"]["a"] = 99
    assert DOCS[0].metadata["nested"] == {"a": 1}


def test_empty_and_zero() -> None:
    assert OgmaReranker(reranker=LengthReranker()).compress_documents([], "q") == []
    assert OgmaReranker(reranker=LengthReranker(), top_n=0).compress_documents(DOCS, "q") == []
    with pytest.raises(TypeError, match="query must be a str"):
        OgmaReranker(reranker=LengthReranker()).compress_documents(DOCS, None)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        OgmaReranker(top_n=-1)


def test_real_cross_encoder_scores(tiny_ce_dir: Path, fresh_model_cache: None) -> None:
    docs = [
        Document(page_content="bananas are yellow"),
        Document(page_content="paris is the capital of france"),
        Document(page_content="berlin is the capital of germany"),
    ]
    compressor = OgmaReranker(model_name=str(tiny_ce_dir), top_n=3)
    out = compressor.compress_documents(docs, "what is the capital of france")
    reference = Reranker(tiny_ce_dir).rerank("what is the capital of france", [d.page_content for d in docs])
    assert [d.page_content for d in out] == [docs[r.index].page_content for r in reference]
    assert [d.metadata["relevance_score"] for d in out] == pytest.approx([r.score for r in reference])
    assert all(0.0 <= d.metadata["relevance_score"] <= 1.0 for d in out)
    assert compressor.model is OgmaReranker(model_name=str(tiny_ce_dir), top_n=1).model  # shared


def test_blends_with_the_retrievers_score(tiny_ce_dir: Path) -> None:
    # OgmaRetriever puts each hit's score in metadata["score"]: a cosine blends by default
    query = "what is the capital of france"
    texts = ["bananas are yellow", "paris is the capital of france", "berlin is the capital of germany"]
    docs = [Document(page_content=t, metadata={"score": s}) for t, s in zip(texts, [0.9, 0.2, 0.5], strict=True)]
    out = OgmaReranker(model_name=str(tiny_ce_dir), top_n=3).compress_documents(docs, query)
    low, high = DEFAULT_LINEAR_RANGE
    cross = linear_rescale(Reranker(tiny_ce_dir).score(query, texts), low=low, high=high)
    want = {
        t: DEFAULT_RERANK_ALPHA * c + (1 - DEFAULT_RERANK_ALPHA) * d.metadata["score"]
        for t, c, d in zip(texts, cross, docs, strict=True)
    }
    assert {d.page_content: d.metadata["relevance_score"] for d in out} == pytest.approx(want)
    assert [d.page_content for d in out] == sorted(want, key=lambda t: -want[t])
    # raw BM25 (beyond [-1, 1]) or a document without a score: the cross-encoder alone
    for scores in ([12.0, 3.0, 7.5], [0.9, None, 0.5]):
        mixed = [
            Document(page_content=t, metadata={} if s is None else {"score": s})
            for t, s in zip(texts, scores, strict=True)
        ]
        alone = OgmaReranker(model_name=str(tiny_ce_dir), top_n=3).compress_documents(mixed, query)
        reference = Reranker(tiny_ce_dir).rerank(query, texts)
        assert [d.metadata["relevance_score"] for d in alone] == pytest.approx([r.score for r in reference])
    with pytest.raises(ValueError, match="no first-stage score"):
        OgmaReranker(model_name=str(tiny_ce_dir), alpha=0.5).compress_documents(mixed, query)


def test_async_and_pipeline(tiny_ce_dir: Path) -> None:
    compressor = OgmaReranker(model_name=str(tiny_ce_dir), top_n=1)
    docs = [Document(page_content="bananas are yellow"), Document(page_content="the seine flows through paris")]
    sync = compressor.compress_documents(docs, "which river flows through paris")
    assert asyncio.run(compressor.acompress_documents(docs, "which river flows through paris")) == sync

    # A ContextualCompressionRetriever-style pipeline: retrieve, then compress with the query.
    def retrieve_and_rerank(query: str) -> Sequence[Document]:
        return compressor.compress_documents(docs, query)

    pipeline = RunnableLambda(retrieve_and_rerank)
    assert pipeline.invoke("which river flows through paris") == sync


def test_serialisable_settings() -> None:
    reranker = OgmaReranker(model_name="cross-encoder/ms-marco-MiniLM-L-6-v2", top_n=5, normalize="linear")
    dumped = reranker.model_dump()
    assert "reranker" not in dumped
    assert OgmaReranker(**dumped) == reranker


def test_the_trained_cross_encoder_puts_the_answer_first(real_reranker_dir: Path) -> None:
    docs = [
        Document(page_content="New York City is famous for the Metropolitan Museum of Art.", id="ny"),
        Document(page_content="Berlin has a population of 3,520,031 registered inhabitants.", id="berlin"),
        Document(page_content="Bananas are a yellow fruit.", id="banana"),
    ]
    out = OgmaReranker(model_name=str(real_reranker_dir), top_n=2).compress_documents(
        docs, "How many people live in Berlin?"
    )
    assert [d.id for d in out] == ["berlin", out[1].id] and out[0].metadata["relevance_score"] > 0.99
    assert out[1].metadata["relevance_score"] < 0.01
