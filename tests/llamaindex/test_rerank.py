"""``OgmaRerank``: order and scores from ``ogma.Reranker``, first-stage scores kept, no mutation."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.llms import MockLLM
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle, TextNode

from llama_index.embeddings.ogma import OgmaEmbedding
from llama_index.postprocessor.ogma_rerank import OgmaRerank
from llama_index.vector_stores.ogma import OgmaVectorStore
from ogma import Reranker
from ogma.blend import DEFAULT_RERANK_ALPHA, linear_rescale
from ogma.model_cache import cached_model_count

QUERY = "what is the capital of france"
TEXTS = ["bananas are yellow", "paris is the capital of france", "berlin is the capital of germany", "a river"]


def scored_nodes() -> list[NodeWithScore]:
    return [
        NodeWithScore(node=TextNode(id_=f"n{i}", text=t, metadata={"src": f"s{i}"}), score=0.1 * (4 - i))
        for i, t in enumerate(TEXTS)
    ]


def test_order_and_scores_are_the_cross_encoders(tiny_ce_dir: Path, fresh_model_cache: None) -> None:
    rerank = OgmaRerank(model=str(tiny_ce_dir), top_n=3, alpha=None)
    out = rerank.postprocess_nodes(scored_nodes(), query_str=QUERY)
    nodes = scored_nodes()
    texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    want = Reranker(str(tiny_ce_dir)).rerank(QUERY, texts, top_k=3)
    assert [n.node.node_id for n in out] == [nodes[r.index].node.node_id for r in want]
    assert [n.score for n in out] == pytest.approx([r.score for r in want])
    assert [n.node.metadata["retrieval_score"] for n in out] == pytest.approx([nodes[r.index].score for r in want])


def test_inputs_are_not_mutated_and_the_score_is_hidden_from_the_llm(tiny_ce_dir: Path) -> None:
    nodes = scored_nodes()
    out = OgmaRerank(model=str(tiny_ce_dir), top_n=None).postprocess_nodes(nodes, query_str=QUERY)
    assert len(out) == len(nodes)
    assert all("retrieval_score" not in n.node.metadata for n in nodes)
    assert [n.score for n in nodes] == pytest.approx([0.4, 0.3, 0.2, 0.1])
    for node in out:
        assert "retrieval_score" not in node.node.get_content(metadata_mode=MetadataMode.LLM)
        assert "retrieval_score" not in node.node.get_content(metadata_mode=MetadataMode.EMBED)
        assert "src" in node.node.get_content(metadata_mode=MetadataMode.LLM)


def test_alpha_blends_with_the_first_stage(tiny_ce_dir: Path) -> None:
    nodes = scored_nodes()
    out = OgmaRerank(model=str(tiny_ce_dir), top_n=4, alpha=0.3, normalize="linear").postprocess_nodes(
        nodes, query_str=QUERY
    )
    reranker = Reranker(str(tiny_ce_dir), normalize="linear")
    texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    want = reranker.rerank(QUERY, texts, first_stage_scores=[n.score for n in nodes], alpha=0.3)
    assert [n.node.node_id for n in out] == [nodes[r.index].node.node_id for r in want]
    assert [n.score for n in out] == pytest.approx([r.blended_score for r in want])


def test_default_blends_with_the_nodes_scores(tiny_ce_dir: Path) -> None:
    # no alpha given: the default blend, the logit's linear rescale whatever normalize
    nodes = scored_nodes()
    out = OgmaRerank(model=str(tiny_ce_dir), top_n=4).postprocess_nodes(nodes, query_str=QUERY)
    reranker = Reranker(str(tiny_ce_dir))
    texts = [n.node.get_content(metadata_mode=MetadataMode.EMBED) for n in nodes]
    raw = reranker.score(QUERY, texts)
    want = DEFAULT_RERANK_ALPHA * linear_rescale(raw) + (1 - DEFAULT_RERANK_ALPHA) * np.array([n.score for n in nodes])
    assert {n.node.node_id: n.score for n in out} == pytest.approx(
        {n.node.node_id: float(w) for n, w in zip(nodes, want, strict=True)}
    )
    assert [n.score for n in out] == sorted((n.score for n in out), reverse=True)


@pytest.mark.parametrize("scores", [[None, 0.5], [12.0, 3.5]], ids=["a node without a score", "raw BM25"])
def test_default_ranks_by_the_cross_encoder_when_the_scores_cannot_blend(
    tiny_ce_dir: Path, scores: list[float | None]
) -> None:
    nodes = [NodeWithScore(node=TextNode(text=t), score=s) for t, s in zip(["paris", "bananas"], scores, strict=True)]
    out = OgmaRerank(model=str(tiny_ce_dir), top_n=2).postprocess_nodes(nodes, query_str=QUERY)
    want = Reranker(str(tiny_ce_dir)).rerank(QUERY, ["paris", "bananas"])
    assert [n.score for n in out] == pytest.approx([r.score for r in want])


def test_alpha_needs_scores(tiny_ce_dir: Path) -> None:
    nodes = [NodeWithScore(node=TextNode(text="paris"), score=None)]
    with pytest.raises(ValueError, match="no first-stage score"):
        OgmaRerank(model=str(tiny_ce_dir), alpha=0.5).postprocess_nodes(nodes, query_str=QUERY)
    bm25 = [NodeWithScore(node=TextNode(text="paris"), score=12.0)]
    with pytest.raises(ValueError, match=r"not on a \[-1, 1\] scale"):
        OgmaRerank(model=str(tiny_ce_dir), alpha=0.5).postprocess_nodes(bm25, query_str=QUERY)


def test_async_equals_sync(tiny_ce_dir: Path) -> None:
    rerank = OgmaRerank(model=str(tiny_ce_dir), top_n=2)
    sync = rerank.postprocess_nodes(scored_nodes(), query_bundle=QueryBundle(QUERY))
    both = asyncio.run(rerank.apostprocess_nodes(scored_nodes(), query_str=QUERY))
    assert [(n.node.node_id, n.score) for n in both] == [(n.node.node_id, n.score) for n in sync]


def test_empty_top_n_zero_and_missing_query(tiny_ce_dir: Path) -> None:
    rerank = OgmaRerank(model=str(tiny_ce_dir), top_n=0)
    assert rerank.postprocess_nodes([], query_str=QUERY) == []
    assert rerank.postprocess_nodes(scored_nodes(), query_str=QUERY) == []
    with pytest.raises(ValueError, match="query"):
        rerank.postprocess_nodes(scored_nodes())


def test_models_are_shared_and_a_loaded_one_can_be_passed(tiny_ce_dir: Path, fresh_model_cache: None) -> None:
    assert OgmaRerank(model=str(tiny_ce_dir), top_n=1).cross_encoder is OgmaRerank(model=str(tiny_ce_dir)).cross_encoder
    assert cached_model_count() == 1
    loaded = Reranker(str(tiny_ce_dir))
    assert OgmaRerank(reranker=loaded).cross_encoder is loaded
    assert cached_model_count() == 1


def test_in_a_query_engine_and_a_retriever_pipeline(tiny_model_dir: Path, tiny_ce_dir: Path) -> None:
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in TEXTS],
        storage_context=StorageContext.from_defaults(vector_store=OgmaVectorStore()),
        embed_model=OgmaEmbedding(model_name=str(tiny_model_dir)),
    )
    rerank = OgmaRerank(model=str(tiny_ce_dir), top_n=2)
    engine = index.as_query_engine(llm=MockLLM(max_tokens=5), similarity_top_k=4, node_postprocessors=[rerank])
    response = engine.query(QUERY)
    assert len(response.source_nodes) == 2
    assert all("retrieval_score" in n.node.metadata for n in response.source_nodes)
    retrieved = index.as_retriever(similarity_top_k=4).retrieve(QUERY)
    reranked = rerank.postprocess_nodes(retrieved, query_str=QUERY)
    assert [n.node.node_id for n in reranked] == [n.node.node_id for n in response.source_nodes]
    assert [n.node.metadata["retrieval_score"] for n in reranked] == pytest.approx(
        [next(r.score for r in retrieved if r.node.node_id == n.node.node_id) for n in reranked]
    )


def test_serialisation_round_trip() -> None:
    rerank = OgmaRerank(model="some/cross-encoder", top_n=5, alpha=0.4, normalize="linear")
    again = OgmaRerank.from_dict(rerank.to_dict())
    assert (again.model, again.top_n, again.alpha, again.normalize) == ("some/cross-encoder", 5, 0.4, "linear")


def test_reranker_may_be_a_model_name_or_folder(tiny_ce_dir: Path, fresh_model_cache: None) -> None:
    by_folder = OgmaRerank(reranker=str(tiny_ce_dir), top_n=1)
    assert (by_folder.model, by_folder.reranker) == (str(tiny_ce_dir), None)
    assert by_folder.postprocess_nodes(scored_nodes(), query_str=QUERY)  # loads and ranks at the first query
    assert OgmaRerank(reranker=tiny_ce_dir).model == str(tiny_ce_dir)  # a Path too
    assert OgmaRerank.from_dict(by_folder.to_dict()).model == str(tiny_ce_dir)  # and it is serialised as model


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"reranker": 3}, TypeError, "reranker must be a loaded ogma.Reranker"),
        ({"reranker": object()}, TypeError, "reranker must be a loaded ogma.Reranker"),
        ({"reranker": ""}, ValueError, "empty"),
        ({"reranker": "cross-encoder/a", "model": "cross-encoder/b"}, ValueError, "two cross-encoders"),
    ],
)
def test_a_bad_reranker_is_refused_at_construction(
    kwargs: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        OgmaRerank(**kwargs)


def test_postprocess_refuses_a_bare_string_of_nodes() -> None:
    with pytest.raises(TypeError, match="nodes must be a list of NodeWithScore"):
        OgmaRerank(reranker=Reranker.__new__(Reranker)).postprocess_nodes("ab", query_str=QUERY)  # type: ignore[arg-type]


def test_the_trained_cross_encoder_puts_the_answer_first(real_reranker_dir: Path) -> None:
    nodes = [
        NodeWithScore(
            node=TextNode(id_="ny", text="New York City is famous for the Metropolitan Museum of Art."), score=0.9
        ),
        NodeWithScore(
            node=TextNode(id_="berlin", text="Berlin has a population of 3,520,031 registered inhabitants."), score=0.5
        ),
    ]
    query = "How many people live in Berlin?"
    alone = OgmaRerank(model=str(real_reranker_dir), top_n=2, alpha=None).postprocess_nodes(nodes, query_str=query)
    assert [n.node.node_id for n in alone] == ["berlin", "ny"]
    assert alone[0].score is not None and alone[1].score is not None and alone[0].score > 0.99 > 0.01 > alone[1].score
    # the default blend: the answer's logit (about 9.4) rescales to 1, the other's (about -11) to about 0.05
    out = OgmaRerank(model=str(real_reranker_dir), top_n=2).postprocess_nodes(nodes, query_str=query)
    assert [n.node.node_id for n in out] == ["berlin", "ny"]
    assert out[0].score == pytest.approx(DEFAULT_RERANK_ALPHA * 1.0 + (1 - DEFAULT_RERANK_ALPHA) * 0.5)
