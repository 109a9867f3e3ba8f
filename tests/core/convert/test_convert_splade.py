"""Masked-LM checkpoints convert to SPLADE graphs: term weights match NumPy, PyTorch and a real model."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from safetensors.numpy import load_file, save_file

from ogma import TextEncoder
from ogma.convert import convert_checkpoint
from ogma.convert.bert import SPARSE_OUTPUT
from ogma.errors import ConversionError, ModelFileError

ATOL = 2e-4
HEAD = "cls.predictions"


def _mlm_checkpoint(make_checkpoint: Any, *, tied: bool = True, old_names: bool = True, seed: int = 0) -> Any:
    """A tiny ``BertForMaskedLM`` folder: encoder under ``bert.``, the vocabulary head under ``cls.predictions``.

    ``old_names`` stores every LayerNorm as ``gamma``/``beta`` (as older BERT checkpoints do);
    ``tied`` leaves the decoder out (it reuses the word embeddings), else it is its own matrix.
    """
    options = {"architecture": "BertForMaskedLM", "prefix": "bert.", "extra": {"tie_word_embeddings": tied}}
    ckpt = make_checkpoint(seed=seed, **options)
    rng = np.random.default_rng(seed + 10)
    h, vocab = ckpt.cfg.hidden_size, ckpt.weights["embeddings.word_embeddings.weight"].shape[0]

    def rand(*shape: int, scale: float) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    head = {
        f"{HEAD}.transform.dense.weight": rand(h, h, scale=1 / math.sqrt(h)),
        f"{HEAD}.transform.dense.bias": rand(h, scale=0.1),
        f"{HEAD}.transform.LayerNorm.weight": 1 + rand(h, scale=0.1),
        f"{HEAD}.transform.LayerNorm.bias": rand(h, scale=0.1),
        f"{HEAD}.bias": rand(vocab, scale=0.5),
    }
    if not tied:
        head[f"{HEAD}.decoder.weight"] = rand(vocab, h, scale=1.0)
    ckpt.weights.update(head)
    stored = {**load_file(str(ckpt.folder / "model.safetensors")), **head}
    if old_names:
        renamed = {}
        for key, value in stored.items():
            if "LayerNorm" in key:
                key = key.replace(".weight", ".gamma").replace(".bias", ".beta")
            renamed[key] = value
        stored = renamed
    save_file(stored, str(ckpt.folder / "model.safetensors"))
    return ckpt


def _reference(ckpt: Any, helpers: Any, ids: np.ndarray, mask: np.ndarray, types: np.ndarray | None = None) -> Any:
    """SPLADE in float64: ``max_t mask * log(1 + relu(MLM logits))``."""
    w = {k: v.astype(np.float64) for k, v in ckpt.weights.items()}
    x = helpers.numpy_forward(ckpt, ids, mask, types)
    y = x @ w[f"{HEAD}.transform.dense.weight"].T + w[f"{HEAD}.transform.dense.bias"]
    y = y * 0.5 * (1.0 + np.vectorize(math.erf)(y / math.sqrt(2.0)))
    mean = y.mean(-1, keepdims=True)
    y = (y - mean) / np.sqrt(((y - mean) ** 2).mean(-1, keepdims=True) + ckpt.cfg.layer_norm_eps)
    y = y * w[f"{HEAD}.transform.LayerNorm.weight"] + w[f"{HEAD}.transform.LayerNorm.bias"]
    decoder = w.get(f"{HEAD}.decoder.weight", w["embeddings.word_embeddings.weight"])
    logits = y @ decoder.T + w[f"{HEAD}.bias"]
    return (np.log1p(np.maximum(logits, 0.0)) * mask[:, :, None]).max(axis=1)


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("tied", [True, False])
def test_splade_weights_match_numpy_reference(
    make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool, tied: bool
) -> None:
    ckpt = _mlm_checkpoint(make_checkpoint, tied=tied)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out", optimize=optimize)
    ids, mask = helpers.random_batch(ckpt.cfg, [9, 4, 2], seed=5)
    types = np.zeros_like(ids)
    types[0, 5:] = 1
    got = helpers.run_onnx(out / "model.onnx", ids, mask, types)
    want = _reference(ckpt, helpers, ids, mask, types)
    assert got.shape == (3, len(helpers.VOCAB))
    np.testing.assert_allclose(got, want, atol=ATOL)
    assert (got >= 0).all() and (got == 0).any() and (got > 0).any()
    graph = onnx.load(str(out / "model.onnx"), load_external_data=False).graph
    assert [o.name for o in graph.output] == [SPARSE_OUTPUT]
    if tied:  # the decoder reuses the embedding table: the file holds it once
        assert sum(1 for t in graph.initializer if list(t.dims) == [len(helpers.VOCAB), ckpt.cfg.hidden_size]) == 1
    manifest = json.loads((out / "ogma_conversion.json").read_text(encoding="utf-8"))
    assert (manifest["architecture"], manifest["output"]) == ("BertForMaskedLM", SPARSE_OUTPUT)


def test_padding_never_adds_weight(make_checkpoint: Any, helpers: Any, tmp_path: Path) -> None:
    ckpt = _mlm_checkpoint(make_checkpoint, seed=3)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out")
    ids, mask = helpers.random_batch(ckpt.cfg, [5], seed=2)
    alone = helpers.run_onnx(out / "model.onnx", ids, mask)
    padded_ids, padded_mask = np.pad(ids, ((0, 0), (0, 6))), np.pad(mask, ((0, 0), (0, 6)))
    padded = helpers.run_onnx(out / "model.onnx", padded_ids, padded_mask)
    np.testing.assert_allclose(padded, alone, atol=1e-5)


def test_int8_splade_graph_runs(make_checkpoint: Any, helpers: Any, tmp_path: Path) -> None:
    ckpt = _mlm_checkpoint(make_checkpoint, seed=4)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out", int8=True)
    ids, mask = helpers.random_batch(ckpt.cfg, [6, 3], seed=1)
    got = helpers.run_onnx(out / "model_int8.onnx", ids, mask)
    want = helpers.run_onnx(out / "model.onnx", ids, mask)
    assert got.shape == want.shape
    assert np.corrcoef(got.ravel(), want.ravel())[0, 1] > 0.9


def test_untied_head_without_decoder_is_refused(make_checkpoint: Any, tmp_path: Path) -> None:
    ckpt = _mlm_checkpoint(make_checkpoint, tied=True)
    config = json.loads((ckpt.folder / "config.json").read_text(encoding="utf-8"))
    config["tie_word_embeddings"] = False
    (ckpt.folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(ConversionError, match=r"tie_word_embeddings false.*cls\.predictions\.decoder\.weight"):
        convert_checkpoint(ckpt.folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_missing_head_bias_names_the_tensor(make_checkpoint: Any, tmp_path: Path) -> None:
    ckpt = _mlm_checkpoint(make_checkpoint, old_names=False)
    stored = load_file(str(ckpt.folder / "model.safetensors"))
    del stored[f"{HEAD}.bias"]
    save_file(stored, str(ckpt.folder / "model.safetensors"))
    with pytest.raises(ConversionError, match=r"cls\.predictions\.decoder\.bias"):
        convert_checkpoint(ckpt.folder, tmp_path / "out")


def test_text_encoder_refuses_a_splade_folder(make_checkpoint: Any, tmp_path: Path) -> None:
    ckpt = _mlm_checkpoint(make_checkpoint)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out")
    with pytest.raises(ModelFileError, match=r"SPLADE .*sparse_weights.*dense embedding model"):
        TextEncoder(out).encode(["hello world"])


# ---------------------------------------------------------------- PyTorch references


def _torch_splade(model: Any, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """SPLADE weights of a ``transformers`` masked-LM model (the PyTorch reference)."""
    import torch

    with torch.no_grad():
        logits = model(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).logits
        weights = torch.log1p(torch.relu(logits)) * torch.from_numpy(mask)[:, :, None]
        return np.asarray(weights.amax(dim=1).numpy())


TEXTS = [
    "what is the capital of france?",
    "Paris is the capital and most populous city of France.",
    "os.path.join joins one or more path segments",
    "a",
]


@pytest.mark.torch
@pytest.mark.parametrize("optimize", [True, False])
def test_real_splade_matches_transformers(real_splade_dir: Path, helpers: Any, tmp_path: Path, optimize: bool) -> None:
    """The pinned 2-layer SPLADE checkpoint (gamma/beta names, tied decoder) against PyTorch."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    from tokenizers import Tokenizer

    out = convert_checkpoint(real_splade_dir, tmp_path / "out", optimize=optimize)
    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))
    tokenizer.no_padding()
    encoded = [e.ids for e in tokenizer.encode_batch(TEXTS)]
    ids = np.zeros((len(TEXTS), max(map(len, encoded))), dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, tokens in enumerate(encoded):
        ids[row, : len(tokens)], mask[row, : len(tokens)] = tokens, 1
    torch.manual_seed(0)
    model = transformers.BertForMaskedLM.from_pretrained(real_splade_dir).eval()
    want = _torch_splade(model, ids, mask)
    got = helpers.run_onnx(out / "model.onnx", ids, mask)
    np.testing.assert_allclose(got, want, atol=1e-4)
    # a trained SPLADE model: sparse, and the query's own words weigh most
    assert ((got > 0).sum(axis=1) < 100).all()
    vocab = {i: t for t, i in tokenizer.get_vocab().items()}
    assert {vocab[int(i)] for i in np.argsort(-got[0])[:2]} == {"capital", "france"}
