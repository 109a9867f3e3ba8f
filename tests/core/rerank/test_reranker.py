"""Reranker behaviour on a synthetic ONNX cross-encoder (fast, torch-free)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ogma.errors import ModelFileError, ModelNotFoundError, OgmaError
from ogma.rerank import Reranker, RerankResult, linear_rescale, sigmoid

DOCS = [
    "Paris is the capital of France",
    "bananas are yellow",
    "Berlin is the capital of Germany",
    "the Seine flows through Paris " + " ".join(f"w{i}" for i in range(40)),
    "a fruit",
    "",
]
QUERY = "what is the capital of France"


@pytest.fixture(scope="module")
def reranker(tiny_ce) -> Reranker:  # type: ignore[no-untyped-def]
    return Reranker(tiny_ce.folder, threads=1, batch_size=2)


def test_scores_match_unbatched_reference(reranker: Reranker, tiny_ce) -> None:  # type: ignore[no-untyped-def]
    scores = reranker.score(QUERY, DOCS)
    assert scores.dtype == np.float32
    assert scores.shape == (len(DOCS),)
    expected = np.array([tiny_ce.reference(QUERY, d)[0] for d in DOCS])
    np.testing.assert_allclose(scores, expected, atol=1e-5)


@pytest.mark.parametrize("batch_size", [1, 3, 64])
def test_batch_size_does_not_change_scores(tiny_ce, batch_size: int) -> None:  # type: ignore[no-untyped-def]
    base = Reranker.from_folder(tiny_ce.folder, batch_size=1).score(QUERY, DOCS)
    other = Reranker.from_folder(tiny_ce.folder, batch_size=batch_size).score(QUERY, DOCS)
    np.testing.assert_allclose(other, base, atol=1e-5)


def test_empty_inputs(reranker: Reranker) -> None:
    assert reranker.score(QUERY, []).shape == (0,)
    assert reranker.rerank(QUERY, []) == []
    # An empty query is allowed (scores carry no query information).
    assert reranker.score("", ["paris"]).shape == (1,)


def test_empty_query_logs_warning(reranker: Reranker, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="ogma.rerank"):
        reranker.score("", ["paris"])
    assert "empty query" in caplog.text


def test_rerank_sorts_and_keeps_indices(reranker: Reranker) -> None:
    raw = reranker.score(QUERY, DOCS)
    results = reranker.rerank(QUERY, DOCS)
    assert [r.index for r in results] == sorted(range(len(DOCS)), key=lambda i: -raw[i])
    for r in results:
        assert isinstance(r, RerankResult)
        assert r.document == DOCS[r.index]
        assert r.raw_score == pytest.approx(float(raw[r.index]))
        assert r.score == pytest.approx(float(sigmoid([raw[r.index]])[0]))
        assert r.blended_score is None
        assert r.final_score == r.score


def test_top_k(reranker: Reranker) -> None:
    assert len(reranker.rerank(QUERY, DOCS, top_k=2)) == 2
    assert len(reranker.rerank(QUERY, DOCS, top_k=100)) == len(DOCS)
    assert reranker.rerank(QUERY, DOCS, top_k=0) == []
    with pytest.raises(ValueError, match="top_k"):
        reranker.rerank(QUERY, DOCS, top_k=-1)


def test_duplicates_get_equal_scores(reranker: Reranker) -> None:
    docs = ["bananas are yellow", "paris", "bananas are yellow"]
    scores = reranker.score(QUERY, docs)
    assert scores[0] == scores[2]
    results = reranker.rerank(QUERY, docs)
    assert sorted(r.index for r in results) == [0, 1, 2]
    dupes = [r.index for r in results if r.document == docs[0]]
    assert dupes == [0, 2]  # ties keep input order


def test_long_documents_are_truncated_not_the_query(make_ce: Callable[..., object]) -> None:
    ce = make_ce(max_positions=16)
    rr = Reranker.from_folder(ce.folder)  # type: ignore[attr-defined]
    assert rr.max_length == 16  # from config.json
    long_doc = " ".join(f"w{i}" for i in range(50))
    query = "capital of france"
    scores = rr.score(query, [long_doc, "paris"])
    expected = ce.reference(query, long_doc, max_length=16)[0]  # type: ignore[attr-defined]
    assert scores[0] == pytest.approx(expected, abs=1e-5)
    pairs = rr._encode_pairs(query, [long_doc])
    assert len(pairs[0].ids) == 16
    # The whole query is present: [CLS] capital of france [SEP] ...
    assert pairs[0].ids[1:4] == ce.tokenizer.encode(query, add_special_tokens=False).ids  # type: ignore[attr-defined]
    # Truncating a document never changes a shorter one.
    assert scores[1] == pytest.approx(ce.reference(query, "paris")[0], abs=1e-5)  # type: ignore[attr-defined]


def test_overlong_query_is_cut_with_warning(make_ce: Callable[..., object], caplog: pytest.LogCaptureFixture) -> None:
    ce = make_ce(max_positions=16)
    rr = Reranker.from_folder(ce.folder)  # type: ignore[attr-defined]
    query = " ".join(f"w{i}" for i in range(30))
    with caplog.at_level(logging.WARNING, logger="ogma.rerank"):
        scores = rr.score(query, ["paris is the capital of france"])
    assert np.isfinite(scores).all()
    assert "too long" in caplog.text
    pair = rr._encode_pairs(query, ["paris is the capital of france"])[0]
    assert len(pair.ids) == 16
    assert sum(1 for t in pair.type_ids if t == 1) >= 2  # the document kept some room


def test_explicit_max_length(tiny_ce) -> None:  # type: ignore[no-untyped-def]
    rr = Reranker.from_folder(tiny_ce.folder, max_length=10)
    doc = " ".join(f"w{i}" for i in range(20))
    assert rr.score("paris", [doc])[0] == pytest.approx(tiny_ce.reference("paris", doc, max_length=10)[0], abs=1e-5)
    with pytest.raises(ValueError, match="max_length"):
        Reranker.from_folder(tiny_ce.folder, max_length=3)


def test_type_errors_name_the_index(reranker: Reranker) -> None:
    with pytest.raises(TypeError, match=r"documents\[1\]"):
        reranker.score(QUERY, ["ok", None])  # type: ignore[list-item]
    with pytest.raises(TypeError, match=r"documents\[0\]"):
        reranker.rerank(QUERY, [3])  # type: ignore[list-item]
    with pytest.raises(TypeError, match="query"):
        reranker.score(None, ["ok"])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="list of strings"):
        reranker.score(QUERY, "a single string")


def test_linear_normalisation_and_blend(tiny_ce) -> None:  # type: ignore[no-untyped-def]
    rr = Reranker.from_folder(tiny_ce.folder, normalize="linear", linear_range=(-4.0, 4.0))
    raw = rr.score(QUERY, DOCS)
    first = [0.1, 0.9, 0.5, 0.3, 0.2, 0.0]
    results = rr.rerank(QUERY, DOCS, first_stage_scores=first, alpha=0.6)
    norm = np.clip((raw.astype(np.float64) + 4.0) / 8.0, 0, 1)
    blended = 0.6 * norm + 0.4 * np.array(first)
    assert [r.index for r in results] == sorted(range(len(DOCS)), key=lambda i: (-blended[i], -raw[i], i))
    for r in results:
        assert r.score == pytest.approx(norm[r.index], abs=1e-6)
        assert r.blended_score == pytest.approx(blended[r.index], abs=1e-6)
        assert r.final_score == r.blended_score


def test_alpha_edges(reranker: Reranker) -> None:
    first = np.linspace(1.0, 0.0, len(DOCS))
    by_first = reranker.rerank(QUERY, DOCS, first_stage_scores=first, alpha=0.0)
    assert [r.index for r in by_first] == list(range(len(DOCS)))
    by_ce = reranker.rerank(QUERY, DOCS, first_stage_scores=first, alpha=1.0)
    assert [r.index for r in by_ce] == [r.index for r in reranker.rerank(QUERY, DOCS)]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"alpha": 0.5}, "first_stage_scores"),
        ({"first_stage_scores": [0.1] * len(DOCS)}, "alpha"),
        ({"first_stage_scores": [0.1], "alpha": 0.5}, "one per document"),
        ({"first_stage_scores": [0.1] * len(DOCS), "alpha": 1.5}, r"\[0, 1\]"),
        ({"first_stage_scores": [float("nan")] * len(DOCS), "alpha": 0.5}, "finite"),
    ],
)
def test_blend_validation(reranker: Reranker, kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        reranker.rerank(QUERY, DOCS, **kwargs)  # type: ignore[arg-type]


def test_normalize_none_returns_raw(tiny_ce) -> None:  # type: ignore[no-untyped-def]
    rr = Reranker.from_folder(tiny_ce.folder, normalize="none")
    raw = rr.score(QUERY, DOCS)
    assert {r.index: r.score for r in rr.rerank(QUERY, DOCS)} == pytest.approx(dict(enumerate(raw.tolist())))


def test_multi_logit_head_uses_last_class_log_odds(make_ce: Callable[..., object]) -> None:
    ce = make_ce(num_labels=2, seed=3)
    rr = Reranker.from_folder(ce.folder)  # type: ignore[attr-defined]
    logits = np.array([ce.reference(QUERY, d) for d in DOCS])  # type: ignore[attr-defined]
    np.testing.assert_allclose(rr.score(QUERY, DOCS), logits[:, 1] - logits[:, 0], atol=1e-5)
    probs = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    by_index = {r.index: r.score for r in rr.rerank(QUERY, DOCS)}
    np.testing.assert_allclose([by_index[i] for i in range(len(DOCS))], probs[:, 1], atol=1e-5)

    ce3 = make_ce(num_labels=3, seed=4)
    rr3 = Reranker.from_folder(ce3.folder)  # type: ignore[attr-defined]
    l3 = np.array([ce3.reference(QUERY, d) for d in DOCS], dtype=np.float64)  # type: ignore[attr-defined]
    expected = l3[:, 2] - np.log(np.exp(l3[:, 0]) + np.exp(l3[:, 1]))
    np.testing.assert_allclose(rr3.score(QUERY, DOCS), expected, atol=1e-4)


def test_onnx_subfolder_and_int32_inputs(make_ce: Callable[..., object]) -> None:
    ce = make_ce(onnx_subdir=True, int32_inputs=True)
    rr = Reranker(ce.folder)  # type: ignore[attr-defined]
    assert rr.onnx_path.parts[-2:] == ("onnx", "model.onnx")
    expected = [ce.reference(QUERY, d)[0] for d in DOCS[:3]]  # type: ignore[attr-defined]
    np.testing.assert_allclose(rr.score(QUERY, DOCS[:3]), expected, atol=1e-5)


def test_quantized_builds_and_caches_int8(make_ce: Callable[..., object]) -> None:
    ce = make_ce(hidden=32)
    rr = Reranker.from_folder(ce.folder, quantized=True)  # type: ignore[attr-defined]
    assert rr.onnx_path.name == "model_int8.onnx"
    assert rr.onnx_path.is_file()
    assert rr.onnx_path.parent != ce.folder and not (ce.folder / "model_int8.onnx").exists()  # type: ignore[attr-defined]
    fp32 = Reranker.from_folder(ce.folder).score(QUERY, DOCS)  # type: ignore[attr-defined]
    int8 = rr.score(QUERY, DOCS)
    assert np.corrcoef(fp32, int8)[0, 1] > 0.9
    mtime = rr.onnx_path.stat().st_mtime_ns
    again = Reranker.from_folder(ce.folder, quantized=True)  # type: ignore[attr-defined]
    assert again.onnx_path.stat().st_mtime_ns == mtime  # reused, not rebuilt


def test_missing_files(tmp_path: Path, tiny_ce) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelNotFoundError):
        Reranker.from_folder(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ModelFileError, match="not a model folder Ogma can load"):
        Reranker.from_folder(empty)
    no_tok = tmp_path / "no-tok"
    no_tok.mkdir()
    (no_tok / "model.onnx").write_bytes((tiny_ce.folder / "model.onnx").read_bytes())
    with pytest.raises(ModelFileError, match=r"tokenizer\.json"):
        Reranker.from_folder(no_tok)
    with pytest.raises(OgmaError):
        Reranker(str(tmp_path / "not-a-model-anywhere"), local_files_only=True)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"normalize": "softmax"}, "normalize must be one of sigmoid, linear, none"),
        ({"batch_size": 0}, "batch_size"),
        ({"linear_range": (6.0, -12.0)}, "linear_range"),
        ({"threads": 0}, "threads"),
    ],
)
def test_option_validation(tiny_ce, kwargs: dict[str, object], match: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=match):
        Reranker.from_folder(tiny_ce.folder, **kwargs)  # type: ignore[arg-type]


def test_normalisation_functions() -> None:
    assert linear_rescale([-12.0, -3.0, 6.0, 100.0, -100.0]).tolist() == [0.0, 0.5, 1.0, 1.0, 0.0]
    np.testing.assert_allclose(sigmoid([-1000.0, 0.0, 1000.0]), [0.0, 0.5, 1.0])
    with pytest.raises(ValueError, match="high > low"):
        linear_rescale([0.0], low=1.0, high=1.0)


def test_repr(reranker: Reranker) -> None:
    assert "Reranker(" in repr(reranker)


def test_reranker_argument_is_one_rule_for_the_adapters(tmp_path: Path) -> None:
    from ogma.rerank import DEFAULT_RERANKER, reranker_argument

    class Loaded:
        def rerank(self, query: str, texts: list[str]) -> list[RerankResult]:
            return []

    loaded = Loaded()
    assert reranker_argument(None, "m") == (None, "m")
    assert reranker_argument(loaded, "m") == (loaded, "m")
    assert reranker_argument("cross-encoder/x", DEFAULT_RERANKER) == (None, "cross-encoder/x")
    assert reranker_argument(tmp_path, DEFAULT_RERANKER) == (None, str(tmp_path))
    assert reranker_argument("cross-encoder/x", "cross-encoder/x", model_arg="model_name") == (None, "cross-encoder/x")
    with pytest.raises(ValueError, match=r"reranker='a' and model_name='b' name two cross-encoders"):
        reranker_argument("a", "b", model_arg="model_name")
    with pytest.raises(TypeError, match=r"reranker must be a loaded ogma\.Reranker .* got dict"):
        reranker_argument({}, "m")
