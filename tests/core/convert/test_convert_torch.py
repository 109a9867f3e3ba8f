"""Converted graphs match Hugging Face transformers (PyTorch) on tiny random models."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.convert import convert_checkpoint

pytestmark = pytest.mark.torch

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")


def _save(model: Any, folder: Path, helpers: Any) -> Path:
    model.save_pretrained(folder, safe_serialization=True)
    helpers.make_tokenizer_json(folder / "tokenizer.json")
    return folder


def _common(helpers: Any, **extra: Any) -> dict[str, Any]:
    return dict(
        vocab_size=len(helpers.VOCAB),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=64,
        max_position_embeddings=64,
        **extra,
    )


def _batch(helpers: Any, pad_token_id: int) -> tuple[np.ndarray, np.ndarray]:
    cfg = helpers.TinyConfig(architecture="BertModel" if pad_token_id == 0 else "XLMRobertaModel")
    return helpers.random_batch(cfg, [10, 4, 7], seed=9)


def _torch_run(model: Any, ids: np.ndarray, mask: np.ndarray, **extra: Any) -> Any:
    with torch.no_grad():
        return model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), **extra)


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("hidden_act", ["gelu", "gelu_new"])
def test_bert_model_matches_transformers(helpers: Any, tmp_path: Path, optimize: bool, hidden_act: str) -> None:
    torch.manual_seed(0)
    model = transformers.BertModel(transformers.BertConfig(**_common(helpers, hidden_act=hidden_act))).eval()
    src = _save(model, tmp_path / "ckpt", helpers)
    out = convert_checkpoint(src, tmp_path / "out", optimize=optimize)
    ids, mask = _batch(helpers, 0)
    types = np.zeros_like(ids)
    types[0, 5:] = 1
    want = _torch_run(model, ids, mask, token_type_ids=torch.from_numpy(types)).last_hidden_state.numpy()
    got = helpers.run_onnx(out / "model.onnx", ids, mask, types)
    valid = mask.astype(bool)
    np.testing.assert_allclose(got[valid], want[valid], atol=1e-4)


@pytest.mark.parametrize("num_labels", [1, 2])
def test_bert_cross_encoder_matches_transformers(helpers: Any, tmp_path: Path, num_labels: int) -> None:
    torch.manual_seed(1)
    config = transformers.BertConfig(**_common(helpers, num_labels=num_labels))
    model = transformers.BertForSequenceClassification(config).eval()
    src = _save(model, tmp_path / "ckpt", helpers)
    out = convert_checkpoint(src, tmp_path / "out", int8=True)
    ids, mask = _batch(helpers, 0)
    want = _torch_run(model, ids, mask).logits.numpy()
    np.testing.assert_allclose(helpers.run_onnx(out / "model.onnx", ids, mask), want, atol=1e-4)
    assert helpers.run_onnx(out / "model_int8.onnx", ids, mask).shape == (3, num_labels)


@pytest.mark.parametrize("tied", [True, False])
def test_bert_masked_lm_splade_matches_transformers(helpers: Any, tmp_path: Path, tied: bool) -> None:
    """A masked-LM checkpoint converts to SPLADE weights: ``max_t mask * log(1 + relu(logits))``."""
    torch.manual_seed(3)
    model = transformers.BertForMaskedLM(transformers.BertConfig(**_common(helpers, tie_word_embeddings=tied)))
    src = _save(model.eval(), tmp_path / "ckpt", helpers)
    out = convert_checkpoint(src, tmp_path / "out")
    ids, mask = _batch(helpers, 0)
    with torch.no_grad():
        logits = _torch_run(model, ids, mask).logits
        want = (torch.log1p(torch.relu(logits)) * torch.from_numpy(mask)[:, :, None]).amax(dim=1).numpy()
    np.testing.assert_allclose(helpers.run_onnx(out / "model.onnx", ids, mask), want, atol=1e-4)


@pytest.mark.parametrize("cls_name", ["XLMRobertaModel", "XLMRobertaForSequenceClassification"])
def test_xlm_roberta_matches_transformers(helpers: Any, tmp_path: Path, cls_name: str) -> None:
    torch.manual_seed(2)
    config = transformers.XLMRobertaConfig(**_common(helpers, type_vocab_size=1, pad_token_id=1, num_labels=1))
    model = getattr(transformers, cls_name)(config).eval()
    src = _save(model, tmp_path / "ckpt", helpers)
    out = convert_checkpoint(src, tmp_path / "out")
    ids, mask = _batch(helpers, 1)
    result = _torch_run(model, ids, mask)
    got = helpers.run_onnx(out / "model.onnx", ids, mask)
    if cls_name.endswith("Model"):
        valid = mask.astype(bool)
        np.testing.assert_allclose(got[valid], result.last_hidden_state.numpy()[valid], atol=1e-4)
    else:
        np.testing.assert_allclose(got, result.logits.numpy(), atol=1e-4)
