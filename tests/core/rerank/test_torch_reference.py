"""ONNX reranker logits equal a PyTorch BertForSequenceClassification on the same weights."""

from __future__ import annotations

import shutil
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ogma.rerank import Reranker

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

pytestmark = pytest.mark.torch

PAIRS_QUERY = "what is the capital of france"
DOCS = [
    "paris is the capital of france",
    "bananas are yellow",
    "the seine flows through paris " + " ".join(f"w{i}" for i in range(80)),
    "",
    "berlin",
]


def _torch_export(src: Path, out: Path, model: object) -> None:
    """A plain torch.onnx export (the reference path, independent of ogma.convert)."""
    out.mkdir()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    example = tuple(torch.ones((1, 4), dtype=torch.long) for _ in names)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            example,
            str(out / "model.onnx"),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    for name in ("tokenizer.json", "config.json"):
        shutil.copy(src / name, out / name)


def _ogma_convert(src: Path, out: Path, model: object) -> None:
    convert = pytest.importorskip("ogma.convert")
    convert.convert_checkpoint(src, out)


@pytest.mark.parametrize("converter", [_torch_export, _ogma_convert], ids=["torch.onnx", "ogma.convert"])
@pytest.mark.parametrize("num_labels", [1, 2])
def test_onnx_matches_torch(
    tmp_path: Path,
    tokenizer_builder: Callable[[int], object],
    num_labels: int,
    converter: Callable[[Path, Path, object], None],
) -> None:
    torch.manual_seed(0)
    tokenizer = tokenizer_builder(64)
    config = transformers.BertConfig(
        vocab_size=tokenizer.get_vocab_size(),  # type: ignore[attr-defined]
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        num_labels=num_labels,
    )
    model = transformers.BertForSequenceClassification(config).eval()
    src = tmp_path / "checkpoint"
    model.save_pretrained(src, safe_serialization=True)
    tokenizer.save(str(src / "tokenizer.json"))  # type: ignore[attr-defined]
    out = tmp_path / "onnx"
    converter(src, out, model)

    reranker = Reranker.from_folder(out, batch_size=2)
    assert reranker.max_length == 64
    scores = reranker.score(PAIRS_QUERY, DOCS)

    expected = []
    for doc in DOCS:
        (pair,) = reranker._encode_pairs(PAIRS_QUERY, [doc])  # same document-only truncation
        with torch.no_grad():
            logits = (
                model(
                    input_ids=torch.tensor([pair.ids]),
                    attention_mask=torch.tensor([pair.attention_mask]),
                    token_type_ids=torch.tensor([pair.type_ids]),
                )
                .logits[0]
                .numpy()
            )
        expected.append(logits[0] if num_labels == 1 else logits[1] - logits[0])
    np.testing.assert_allclose(scores, np.array(expected), atol=1e-4)


def test_checkpoint_folder_is_converted_on_load(
    tmp_path: Path, tokenizer_builder: Callable[[int], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A safetensors BertForSequenceClassification folder works directly (converted and cached)."""
    pytest.importorskip("ogma.hub")
    monkeypatch.setenv("OGMA_HOME", str(tmp_path / "home"))
    torch.manual_seed(1)
    tokenizer = tokenizer_builder(64)
    config = transformers.BertConfig(
        vocab_size=tokenizer.get_vocab_size(),  # type: ignore[attr-defined]
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        num_labels=1,
    )
    model = transformers.BertForSequenceClassification(config).eval()
    src = tmp_path / "checkpoint"
    model.save_pretrained(src, safe_serialization=True)
    tokenizer.save(str(src / "tokenizer.json"))  # type: ignore[attr-defined]
    reranker = Reranker(src)
    assert (tmp_path / "home") in reranker.onnx_path.parents
    (pair,) = reranker._encode_pairs(PAIRS_QUERY, [DOCS[0]])
    with torch.no_grad():
        expected = model(
            input_ids=torch.tensor([pair.ids]),
            attention_mask=torch.tensor([pair.attention_mask]),
            token_type_ids=torch.tensor([pair.type_ids]),
        ).logits[0, 0]
    assert reranker.score(PAIRS_QUERY, [DOCS[0]])[0] == pytest.approx(float(expected), abs=1e-4)
