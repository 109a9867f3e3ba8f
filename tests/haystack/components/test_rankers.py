"""``OgmaRanker``: order and scores from ``ogma.Reranker``, Haystack's ranker contract, clear errors."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from haystack import Document, Pipeline
from haystack.utils import ComponentDevice

from haystack_integrations.components.rankers.ogma import OgmaRanker
from ogma import Reranker
from ogma.blend import DEFAULT_RERANK_ALPHA, linear_rescale
from ogma.errors import ModelFileError, ModelNotFoundError
from ogma.model_cache import cached_model_count
from ogma.rerank import DEFAULT_RERANKER, sigmoid
from tests.helpers.tiny_cross_encoder import TinyCrossEncoder

QUERY = "what is the capital of france"
TEXTS = ["bananas are yellow", "paris is the capital of france", "berlin is the capital of germany", "a river"]


def documents() -> list[Document]:
    return [
        Document(id=f"d{i}", content=t, meta={"country": c}, score=0.1 * (4 - i))
        for i, (t, c) in enumerate(zip(TEXTS, ["fruit", "france", "germany", None]))
    ]


def logits(ce: TinyCrossEncoder, query: str, texts: list[str]) -> np.ndarray:
    return np.array([float(ce.reference(query, t)[0]) for t in texts])


def test_order_and_scores_are_the_cross_encoders(tiny_ce: TinyCrossEncoder) -> None:
    out = OgmaRanker(model=tiny_ce.folder, top_k=3, alpha=None).run(query=QUERY, documents=documents())["documents"]
    raw = logits(tiny_ce, QUERY, TEXTS)
    order = np.argsort(-raw, kind="stable")[:3]
    assert [d.id for d in out] == [f"d{i}" for i in order]
    np.testing.assert_allclose([d.score for d in out], sigmoid(raw[order]), rtol=1e-5)
    assert [d.content for d in out] == [TEXTS[i] for i in order]


@pytest.mark.parametrize("scale_score", [True, False])
def test_default_blends_with_the_documents_scores(tiny_ce: TinyCrossEncoder, scale_score: bool) -> None:
    # the retriever's scores (0.4 .. 0.1) are in [-1, 1]: the default blend ranks, whatever scale_score
    out = OgmaRanker(model=tiny_ce.folder, scale_score=scale_score).run(query=QUERY, documents=documents())
    raw = logits(tiny_ce, QUERY, TEXTS)
    first = np.array([d.score for d in documents()])
    want = DEFAULT_RERANK_ALPHA * linear_rescale(raw) + (1 - DEFAULT_RERANK_ALPHA) * first
    order = np.argsort(-want, kind="stable")
    assert [d.id for d in out["documents"]] == [f"d{i}" for i in order]
    np.testing.assert_allclose([d.score for d in out["documents"]], want[order], rtol=1e-5)


def test_scores_beyond_one_are_not_blended(tiny_ce: TinyCrossEncoder) -> None:
    # raw BM25 has no sound blend with the cross-encoder: the cross-encoder ranks alone
    docs = [Document(id=d.id, content=d.content, score=10.0 * (d.score or 0.0) + 1.0) for d in documents()]
    out = OgmaRanker(model=tiny_ce.folder).run(query=QUERY, documents=docs)["documents"]
    raw = logits(tiny_ce, QUERY, TEXTS)
    order = np.argsort(-raw, kind="stable")
    np.testing.assert_allclose([d.score for d in out], sigmoid(raw[order]), rtol=1e-5)


def test_scale_score_false_gives_raw_logits_and_overrides_per_call(tiny_ce: TinyCrossEncoder) -> None:
    raw = logits(tiny_ce, QUERY, TEXTS)
    order = np.argsort(-raw, kind="stable")
    unscaled = OgmaRanker(model=tiny_ce.folder, scale_score=False, alpha=None).run(query=QUERY, documents=documents())
    np.testing.assert_allclose([d.score for d in unscaled["documents"]], raw[order], rtol=1e-5)
    scaled = OgmaRanker(model=tiny_ce.folder, scale_score=False, alpha=None).run(
        query=QUERY, documents=documents(), scale_score=True
    )
    np.testing.assert_allclose([d.score for d in scaled["documents"]], sigmoid(raw[order]), rtol=1e-5)


def test_score_threshold_and_top_k(tiny_ce: TinyCrossEncoder) -> None:
    scores = sigmoid(logits(tiny_ce, QUERY, TEXTS))
    cut = float(np.sort(scores)[1])  # keeps the three best
    ranker = OgmaRanker(model=tiny_ce.folder, score_threshold=cut, alpha=None)
    assert len(ranker.run(query=QUERY, documents=documents())["documents"]) == 3
    assert len(ranker.run(query=QUERY, documents=documents(), top_k=2)["documents"]) == 2
    assert ranker.run(query=QUERY, documents=documents(), score_threshold=1.01)["documents"] == []
    every = OgmaRanker(model=tiny_ce.folder, top_k=1).run(query=QUERY, documents=documents(), top_k=10)
    assert len(every["documents"]) == 4


def test_meta_fields_separator_and_prefixes_shape_the_pair(tiny_ce: TinyCrossEncoder) -> None:
    ranker = OgmaRanker(
        model=tiny_ce.folder,
        meta_fields_to_embed=["country"],
        embedding_separator=" in ",
        query_prefix="which ",
        query_suffix=" city",
        document_prefix="the ",
        document_suffix=" fruit",
        scale_score=False,
        alpha=None,
    )
    out = ranker.run(query=QUERY, documents=documents())["documents"]
    texts = [
        "the fruit in bananas are yellow fruit",
        "the france in paris is the capital of france fruit",
        "the germany in berlin is the capital of germany fruit",
        "the a river fruit",
    ]
    raw = logits(tiny_ce, f"which {QUERY} city", texts)
    order = np.argsort(-raw, kind="stable")
    assert [d.id for d in out] == [f"d{i}" for i in order]
    np.testing.assert_allclose([d.score for d in out], raw[order], rtol=1e-5)


def test_inputs_are_not_changed(tiny_ce: TinyCrossEncoder) -> None:
    docs = documents()
    out = OgmaRanker(model=tiny_ce.folder).run(query=QUERY, documents=docs)["documents"]
    assert [d.score for d in docs] == pytest.approx([0.4, 0.3, 0.2, 0.1])
    assert all(o is not d for o in out for d in docs)


def test_duplicate_ids_are_ranked_once_keeping_the_best_scored(tiny_ce: TinyCrossEncoder) -> None:
    docs = documents()
    dup = Document(id="d1", content="paris is the capital of france", meta={"from": "bm25"}, score=0.9)
    out = OgmaRanker(model=tiny_ce.folder).run(query=QUERY, documents=[*docs, dup])["documents"]
    assert sorted(d.id for d in out) == ["d0", "d1", "d2", "d3"]
    assert next(d for d in out if d.id == "d1").meta == {"from": "bm25"}


def test_documents_with_nothing_to_read(tiny_ce: TinyCrossEncoder, caplog: pytest.LogCaptureFixture) -> None:
    docs = [Document(id="x", content=None), *documents(), Document(id="y", content=None, meta={"country": "france"})]
    ranker = OgmaRanker(model=tiny_ce.folder, meta_fields_to_embed=["country"])
    with caplog.at_level(logging.WARNING):
        out = ranker.run(query=QUERY, documents=docs)["documents"]
    assert [d.id for d in out][-1] == "x" and out[-1].score is None
    assert next(d for d in out if d.id == "y").score is not None  # its meta value was read
    assert "1 of 6 documents have no content" in caplog.text
    kept = ranker.run(query=QUERY, documents=docs, score_threshold=0.0)["documents"]
    assert "x" not in [d.id for d in kept] and len(kept) == 5
    only = OgmaRanker(model="never/loaded").run(query=QUERY, documents=[Document(id="z", content=None)])
    assert [(d.id, d.score) for d in only["documents"]] == [("z", None)]


def test_empty_documents_and_run_async(tiny_ce: TinyCrossEncoder) -> None:
    ranker = OgmaRanker(model=tiny_ce.folder, top_k=2)
    assert ranker.run(query=QUERY, documents=[]) == {"documents": []}
    sync = ranker.run(query=QUERY, documents=documents())
    assert asyncio.run(ranker.run_async(query=QUERY, documents=documents())) == sync


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        ({"top_k": 0}, ValueError, "top_k must be >= 1, got 0"),
        ({"top_k": 1.5}, TypeError, "top_k must be an integer"),
        ({"query": None}, TypeError, "query must be a str"),
        ({"documents": "text"}, TypeError, "expects a list of Documents, got str"),
        ({"documents": [Document(content="a"), {"content": "b"}]}, TypeError, r"documents\[1\] is a dict"),
        ({"score_threshold": "high"}, TypeError, "score_threshold must be a finite number"),
        ({"scale_score": 1}, TypeError, "scale_score must be True or False"),
    ],
)
def test_bad_run_arguments(tiny_ce: TinyCrossEncoder, call: dict[str, Any], error: type[Exception], match: str) -> None:
    args: dict[str, Any] = {"query": QUERY, "documents": documents(), **call}
    with pytest.raises(error, match=match):
        OgmaRanker(model=tiny_ce.folder).run(**args)


@pytest.mark.parametrize(
    ("options", "error", "match"),
    [
        ({"top_k": 0}, ValueError, "top_k must be >= 1"),
        ({"batch_size": -1}, ValueError, "batch_size must be >= 1"),
        ({"score_threshold": float("nan")}, TypeError, "score_threshold must be a finite number"),
        ({"meta_fields_to_embed": [1]}, TypeError, r"meta_fields_to_embed\[0\]"),
        ({"document_prefix": 3}, TypeError, "prefix must be a str"),
        ({"device": "mps"}, ValueError, "'mps' is not supported"),
        ({"model": 3}, TypeError, "model must be a model name"),
    ],
)
def test_bad_options(options: dict[str, Any], error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        OgmaRanker(**options)


def test_missing_models_and_embedding_models_are_refused_at_warm_up(tmp_path: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(ModelNotFoundError):
        OgmaRanker(model=tmp_path / "missing", local_files_only=True).warm_up()
    with pytest.raises(ModelFileError, match="is not a cross-encoder"):
        OgmaRanker(model=tiny_model_dir).warm_up()


def test_model_is_loaded_once_and_shared(tiny_ce: TinyCrossEncoder, fresh_model_cache: None) -> None:
    first = OgmaRanker(model=tiny_ce.folder, top_k=1)
    second = OgmaRanker(model=tiny_ce.folder, top_k=5, scale_score=False, meta_fields_to_embed=["country"])
    assert cached_model_count() == 0
    first.warm_up()
    second.warm_up()
    assert first.cross_encoder is second.cross_encoder
    assert isinstance(first.cross_encoder, Reranker)
    assert cached_model_count() == 1


def test_serialisation_round_trip(tiny_ce: TinyCrossEncoder) -> None:
    options: dict[str, Any] = {
        "model": str(tiny_ce.folder),
        "device": ComponentDevice.from_str("cpu"),
        "threads": 1,
        "top_k": 4,
        "query_prefix": "q: ",
        "query_suffix": "?",
        "document_prefix": "d: ",
        "document_suffix": ".",
        "meta_fields_to_embed": ["country"],
        "embedding_separator": " | ",
        "scale_score": False,
        "score_threshold": -1.5,
        "alpha": 0.5,
        "batch_size": 3,
        "quantized": True,
        "max_length": 64,
        "cache_dir": "/tmp/hf",
        "local_files_only": True,
    }
    data = OgmaRanker(**options).to_dict()
    assert data["type"] == "haystack_integrations.components.rankers.ogma.ranker.OgmaRanker"
    again = OgmaRanker.from_dict(data)
    assert again.to_dict() == data
    assert {k: getattr(again, k) for k in options} == options
    assert OgmaRanker().to_dict()["init_parameters"]["model"] == DEFAULT_RERANKER


def test_pipeline_yaml_round_trip(tiny_ce: TinyCrossEncoder) -> None:
    pipe = Pipeline()
    pipe.add_component("ranker", OgmaRanker(model=tiny_ce.folder, top_k=3, meta_fields_to_embed=["country"]))
    loaded = Pipeline.loads(pipe.dumps())
    assert loaded.dumps() == pipe.dumps()
    inputs = {"ranker": {"query": QUERY, "documents": documents()}}
    first = pipe.run(inputs)["ranker"]["documents"]
    again = loaded.run({"ranker": {"query": QUERY, "documents": documents()}})["ranker"]["documents"]
    assert [(d.id, d.score) for d in first] == [(d.id, d.score) for d in again]


def test_the_trained_cross_encoder_puts_the_answer_first(real_reranker_dir: Path) -> None:
    docs = [
        Document(id="ny", content="New York City is famous for the Metropolitan Museum of Art."),
        Document(id="berlin", content="Berlin has a population of 3,520,031 registered inhabitants."),
    ]
    ranker = OgmaRanker(model=real_reranker_dir, top_k=2)
    out = ranker.run(query="How many people live in Berlin?", documents=docs)["documents"]
    assert [d.id for d in out] == ["berlin", "ny"] and out[0].score > 0.99 > 0.01 > out[1].score
