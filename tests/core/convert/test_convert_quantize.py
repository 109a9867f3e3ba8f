"""int8 quantization of converted models stays close to float32."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from ogma.convert import convert_checkpoint, quantize_int8
from ogma.errors import ModelFileError
from ogma.runtime import INT8_FORMAT, INT8_FORMAT_KEY


def _mean_pooled(hidden: np.ndarray, mask: np.ndarray) -> np.ndarray:
    pooled = (hidden * mask[..., None]).sum(1) / mask.sum(1, keepdims=True)
    return pooled / np.linalg.norm(pooled, axis=1, keepdims=True)


@pytest.mark.parametrize("optimize", [True, False])
def test_int8_model_is_close_to_fp32(make_checkpoint: Any, helpers: Any, tmp_path: Path, optimize: bool) -> None:
    ckpt = make_checkpoint(hidden_size=64, num_heads=4, intermediate_size=128)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out", int8=True, optimize=optimize)
    record = json.loads((out / "ogma_conversion.json").read_text())
    assert record["files"] == {"fp32": "model.onnx", "int8": "model_int8.onnx"}
    int8_ops = {n.op_type for n in onnx.load(str(out / "model_int8.onnx")).graph.node}
    assert int8_ops & {"DynamicQuantizeMatMul", "MatMulInteger", "QAttention"}
    ids, mask = helpers.random_batch(ckpt.cfg, [12, 7, 30, 3], seed=4)
    fp32 = _mean_pooled(helpers.run_onnx(out / "model.onnx", ids, mask), mask)
    int8 = _mean_pooled(helpers.run_onnx(out / "model_int8.onnx", ids, mask), mask)
    cosine = (fp32 * int8).sum(1)
    assert cosine.min() > 0.98, cosine


def test_int8_classifier(make_checkpoint: Any, helpers: Any, tmp_path: Path) -> None:
    ckpt = make_checkpoint(architecture="BertForSequenceClassification", hidden_size=64, num_heads=4, num_labels=1)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out", int8=True)
    ids, mask = helpers.random_batch(ckpt.cfg, [12, 7, 30, 3], seed=4)
    fp32 = helpers.run_onnx(out / "model.onnx", ids, mask)
    int8 = helpers.run_onnx(out / "model_int8.onnx", ids, mask)
    assert int8.shape == fp32.shape == (4, 1)
    np.testing.assert_allclose(int8, fp32, atol=0.1 * np.abs(fp32).max())


def test_quantize_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        quantize_int8(tmp_path / "missing.onnx", tmp_path / "out.onnx")


def _int8_format(file: Path) -> str | None:
    return {p.key: p.value for p in onnx.load(str(file)).metadata_props}.get(INT8_FORMAT_KEY)


def test_cached_int8_copies_of_the_old_format_are_not_reused(
    make_checkpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ogma import hub

    monkeypatch.setenv("OGMA_HOME", str(tmp_path / "home"))
    ckpt = make_checkpoint(hidden_size=64, num_heads=4)
    fp32 = convert_checkpoint(ckpt.folder, tmp_path / "out") / "model.onnx"
    from ogma.disk_cache import content_key

    old_key = content_key([("model.onnx", fp32)], salt="int8-1")  # the cache key of the 8-bit format
    stale = hub.ogma_home() / "quantized" / old_key / "model_int8.onnx"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"an int8 model in the old format")
    fresh = hub._quantized_copy(fp32, "m")
    assert fresh != stale and stale.read_bytes() == b"an int8 model in the old format"
    assert _int8_format(fresh) == INT8_FORMAT


def test_reranker_quantizes_to_the_same_format(make_checkpoint: Any, tmp_path: Path) -> None:
    from ogma import hub
    from ogma.rerank import Reranker

    ckpt = make_checkpoint(architecture="BertForSequenceClassification", hidden_size=64, num_heads=4, num_labels=1)
    out = convert_checkpoint(ckpt.folder, tmp_path / "out", int8=False)
    int8 = Reranker.from_folder(out, quantized=True).onnx_path
    assert _int8_format(int8) == INT8_FORMAT
    assert int8.is_relative_to(hub.ogma_home()) and not (out / "model_int8.onnx").exists()  # never in the user's folder
