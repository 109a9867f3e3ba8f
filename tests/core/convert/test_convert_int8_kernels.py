"""Ogma's int8 models compute the same integers with and without VNNI.

CPUs without VNNI add neighbouring u8 x s8 products into saturating int16 sums
(``vpmaddubsw``). ``avx2_int8`` models that arithmetic; these tests run converted int8
models through it, so the failure such CPUs show is reproduced on any machine.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, numpy_helper

from ogma.convert import convert_checkpoint
from ogma.convert.quantize import QUANTIZED_OP_TYPES, WEIGHT_LIMIT
from ogma.runtime import INT8_FORMAT, INT8_FORMAT_KEY
from tests.core.convert.avx2_int8 import emulate_avx2, qgemm_avx2, qgemm_exact


def test_saturation_model_clips_pair_sums() -> None:
    a = np.array([[255, 255, 1, 2]], dtype=np.uint8)
    b = np.array([[127], [127], [3], [-4]], dtype=np.int8)
    assert qgemm_exact(a, b).tolist() == [[2 * 255 * 127 + 3 - 8]]
    assert qgemm_avx2(a, b).tolist() == [[32767 + 3 - 8]]
    assert qgemm_avx2(a, -b).tolist() == [[-32768 - 3 + 8]]


def test_saturation_model_is_exact_below_the_limit() -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, (7, 33), dtype=np.uint8)  # odd k: the kernel pads with zeros
    b = rng.integers(-WEIGHT_LIMIT, WEIGHT_LIMIT + 1, (33, 5)).astype(np.int8)
    a[:, :2], b[:2] = 255, WEIGHT_LIMIT  # the worst pair: 2 * 255 * 64 = 32640
    np.testing.assert_array_equal(qgemm_avx2(a, b), qgemm_exact(a, b))
    b[:2] = WEIGHT_LIMIT + 1  # one step more and the pair sum overflows
    assert (qgemm_avx2(a, b) != qgemm_exact(a, b)).any()


def _quantized_weights(model: onnx.ModelProto) -> dict[str, np.ndarray]:
    """The int8 weight of every integer matrix product in the graph."""
    inits = {t.name: t for t in model.graph.initializer}
    out = {}
    for node in model.graph.node:
        if node.op_type in ("MatMulInteger", "QAttention", "DynamicQuantizeMatMul"):
            weight = inits[node.input[1]]
            assert weight.data_type == TensorProto.INT8, node.name
            out[node.input[1]] = numpy_helper.to_array(weight)
    return out


def _old_int8(fp32: Path, dst: Path) -> Path:
    """The int8 format Ogma wrote before: 8-bit per-channel weights (ORT's default range)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(
        fp32,
        dst,
        op_types_to_quantize=list(QUANTIZED_OP_TYPES),
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
    )
    return dst


@pytest.fixture
def classifier(make_checkpoint: Any, helpers: Any, tmp_path: Path) -> tuple[Path, np.ndarray, np.ndarray]:
    """The tiny classifier of ``test_int8_classifier``, converted with int8, and its batch."""
    ckpt = make_checkpoint(architecture="BertForSequenceClassification", hidden_size=64, num_heads=4, num_labels=1)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out", int8=True)
    ids, mask = helpers.random_batch(ckpt.cfg, [12, 7, 30, 3], seed=4)
    return out, ids, mask


def test_written_int8_weights_cannot_saturate(classifier: tuple[Path, np.ndarray, np.ndarray]) -> None:
    out, _, _ = classifier
    model = onnx.load(str(out / "model_int8.onnx"))
    assert {p.key: p.value for p in model.metadata_props}[INT8_FORMAT_KEY] == INT8_FORMAT
    weights = _quantized_weights(model)
    assert {n.op_type for n in model.graph.node} >= {"MatMulInteger", "QAttention"}
    assert len(weights) == 2 * 4 + 2  # per layer: QKV, attention output, two FFN; pooler and classifier
    for name, w in weights.items():
        assert np.abs(w.astype(np.int32)).max() <= WEIGHT_LIMIT, name
        assert 2 * 255 * WEIGHT_LIMIT <= 32767


def test_int8_classifier_without_vnni(
    classifier: tuple[Path, np.ndarray, np.ndarray], helpers: Any, tmp_path: Path
) -> None:
    """``test_int8_classifier`` on a CPU without VNNI: the same logits as with it, same tolerance."""
    out, ids, mask = classifier
    fp32 = helpers.run_onnx(out / "model.onnx", ids, mask)
    int8 = helpers.run_onnx(out / "model_int8.onnx", ids, mask)
    avx2 = helpers.run_onnx(emulate_avx2(out / "model_int8.onnx", tmp_path / "avx2.onnx"), ids, mask)
    np.testing.assert_allclose(avx2, int8, rtol=1e-5, atol=1e-6)  # the same integers, whatever the kernel
    np.testing.assert_allclose(avx2, fp32, atol=0.1 * np.abs(fp32).max())


def test_old_int8_format_fails_without_vnni(
    classifier: tuple[Path, np.ndarray, np.ndarray], helpers: Any, tmp_path: Path
) -> None:
    """8-bit weights saturate the pair sums: the classifier test's failure on AVX2-only CPUs."""
    out, ids, mask = classifier
    old = _old_int8(out / "model.onnx", tmp_path / "old_int8.onnx")
    assert max(np.abs(w.astype(np.int32)).max() for w in _quantized_weights(onnx.load(str(old))).values()) > 64
    fp32 = helpers.run_onnx(out / "model.onnx", ids, mask)
    avx2 = helpers.run_onnx(emulate_avx2(old, tmp_path / "old_avx2.onnx"), ids, mask)
    error = np.abs(avx2 - fp32).max()
    assert error > 0.1 * np.abs(fp32).max(), (avx2.ravel(), fp32.ravel())
