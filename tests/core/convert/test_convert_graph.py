"""Converted graphs match a NumPy BERT/XLM-R reference, honour the mask and take any batch/sequence."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from ogma.convert import convert_checkpoint

ATOL = 2e-4


def _convert(ckpt: Any, tmp_path: Path, optimize: bool = True, **options: Any) -> Path:
    return convert_checkpoint(ckpt.folder, tmp_path / f"out-{optimize}", optimize=optimize, **options)


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("prefix", ["", "bert."])
def test_bert_model_matches_numpy_reference(
    make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool, prefix: str
) -> None:
    ckpt = make_checkpoint(prefix=prefix)
    out = _convert(ckpt, tmp_path, optimize)
    ids, mask = helpers.random_batch(ckpt.cfg, [7, 4, 1 + 1], seed=3)
    types = np.zeros_like(ids)
    types[0, 4:7] = 1
    got = helpers.run_onnx(out / "model.onnx", ids, mask, types)
    want = helpers.numpy_forward(ckpt, ids, mask, types)
    assert got.shape == (3, 7, ckpt.cfg.hidden_size)
    valid = mask.astype(bool)
    np.testing.assert_allclose(got[valid], want[valid], atol=ATOL)


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("act", ["gelu_new", "relu"])
def test_other_activations(make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool, act: str) -> None:
    ckpt = make_checkpoint(hidden_act=act)
    out = _convert(ckpt, tmp_path, optimize)
    ids, mask = helpers.random_batch(ckpt.cfg, [6, 3])
    valid = mask.astype(bool)
    got = helpers.run_onnx(out / "model.onnx", ids, mask)
    np.testing.assert_allclose(got[valid], helpers.numpy_forward(ckpt, ids, mask)[valid], atol=ATOL)


@pytest.mark.parametrize("optimize", [True, False])
def test_sequence_classification_logits(make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool) -> None:
    ckpt = make_checkpoint(architecture="BertForSequenceClassification", prefix="bert.", num_labels=3)
    out = _convert(ckpt, tmp_path, optimize)
    ids, mask = helpers.random_batch(ckpt.cfg, [9, 5, 3, 9], seed=7)
    types = np.zeros_like(ids)
    types[0, 5:] = 1
    got = helpers.run_onnx(out / "model.onnx", ids, mask, types)
    assert got.shape == (4, 3)
    np.testing.assert_allclose(got, helpers.numpy_forward(ckpt, ids, mask, types), atol=ATOL)
    session_outputs = [o.name for o in onnx.load(str(out / "model.onnx"), load_external_data=False).graph.output]
    assert session_outputs == ["logits"]


@pytest.mark.parametrize("optimize", [True, False])
@pytest.mark.parametrize("architecture", ["XLMRobertaModel", "XLMRobertaForSequenceClassification"])
def test_xlm_roberta_matches_numpy_reference(
    make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool, architecture: str
) -> None:
    ckpt = make_checkpoint(architecture=architecture, prefix="roberta.", num_labels=1)
    out = _convert(ckpt, tmp_path, optimize)
    graph = onnx.load(str(out / "model.onnx")).graph
    assert [i.name for i in graph.input] == ["input_ids", "attention_mask"]
    ids, mask = helpers.random_batch(ckpt.cfg, [8, 5, 2], seed=5)
    got = helpers.run_onnx(out / "model.onnx", ids, mask)
    want = helpers.numpy_forward(ckpt, ids, mask)
    if architecture.endswith("Model"):
        valid = mask.astype(bool)
        got, want = got[valid], want[valid]
    np.testing.assert_allclose(got, want, atol=ATOL)


@pytest.mark.parametrize("optimize", [True, False])
def test_padding_does_not_change_unpadded_rows(
    make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool
) -> None:
    ckpt = make_checkpoint()
    model = _convert(ckpt, tmp_path, optimize) / "model.onnx"
    lengths = [3, 11, 6, 1 + 1]
    ids, mask = helpers.random_batch(ckpt.cfg, lengths, seed=11, seq=16)
    batched = helpers.run_onnx(model, ids, mask)
    for row, n in enumerate(lengths):
        alone = helpers.run_onnx(model, ids[row : row + 1, :n], mask[row : row + 1, :n])
        np.testing.assert_allclose(batched[row, :n], alone[0], atol=1e-5)


def test_padding_does_not_change_logits(make_checkpoint: Any, helpers: Any, tmp_path: Path) -> None:
    ckpt = make_checkpoint(architecture="BertForSequenceClassification")
    model = _convert(ckpt, tmp_path) / "model.onnx"
    lengths = [4, 12, 2]
    ids, mask = helpers.random_batch(ckpt.cfg, lengths, seed=2)
    batched = helpers.run_onnx(model, ids, mask)
    for row, n in enumerate(lengths):
        alone = helpers.run_onnx(model, ids[row : row + 1, :n], mask[row : row + 1, :n])
        np.testing.assert_allclose(batched[row], alone[0], atol=1e-5)


@pytest.mark.parametrize("optimize", [True, False])
def test_dynamic_batch_and_sequence(make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool) -> None:
    ckpt = make_checkpoint()
    model = _convert(ckpt, tmp_path, optimize) / "model.onnx"
    graph = onnx.load(str(model)).graph
    for value in (*graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim
        assert [d.dim_param for d in dims[:2]] == ["batch", "sequence"] or value.name == "logits"
    for batch, seq in [(1, 1), (1, 2), (3, 5), (2, ckpt.cfg.max_positions)]:
        ids, mask = (
            helpers.random_batch(ckpt.cfg, [seq] * batch, seed=batch * seq)
            if seq > 1
            else (
                np.full((batch, 1), 2, dtype=np.int64),
                np.ones((batch, 1), dtype=np.int64),
            )
        )
        got = helpers.run_onnx(model, ids, mask)
        assert got.shape == (batch, seq, ckpt.cfg.hidden_size)
        np.testing.assert_allclose(got, helpers.numpy_forward(ckpt, ids, mask), atol=ATOL)


def test_optimized_graph_uses_fused_kernels(bert_checkpoint: Any, tmp_path: Path) -> None:
    fused = _convert(bert_checkpoint, tmp_path, True) / "model.onnx"
    plain = _convert(bert_checkpoint, tmp_path, False) / "model.onnx"
    fused_ops = {n.op_type for n in onnx.load(str(fused)).graph.node}
    plain_model = onnx.load(str(plain))
    assert {"Attention", "Gelu", "LayerNormalization"} <= fused_ops
    # slower than the standard ops they replace on CPU (see ogma.runtime.SLOW_CPU_FUSIONS)
    assert not {"SkipLayerNormalization", "BiasGelu"} & fused_ops
    assert {n.domain for n in plain_model.graph.node} <= {""}
    onnx.checker.check_model(plain_model, full_check=True)


def test_sessions_keep_the_slow_fusions_off(bert_checkpoint: Any, tmp_path: Path) -> None:
    """ONNX Runtime would re-fuse Add + LayerNormalization (int8 graphs) unless told not to."""
    from ogma.runtime import create_session

    folder = _convert(bert_checkpoint, tmp_path, True, int8=True)
    optimized = tmp_path / "optimized.onnx"
    session = create_session(folder / "model_int8.onnx", threads=1, optimized_model_path=optimized)
    assert session is not None
    ops = {n.op_type for n in onnx.load(str(optimized)).graph.node}
    assert "LayerNormalization" in ops
    assert not {"SkipLayerNormalization", "BiasGelu"} & ops
