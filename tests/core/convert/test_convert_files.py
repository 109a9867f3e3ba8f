"""Output folder layout, manifest, atomic writes and the errors for bad inputs."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import ogma.convert as convert
from ogma.convert import SUPPORTED_ARCHITECTURES, convert_checkpoint, detect_checkpoint_kind
from ogma.convert.files import OutputExistsError, atomic_output_dir
from ogma.errors import ConversionError, ModelFileError, OgmaError


def _leftovers(parent: Path) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_output_folder_layout_and_manifest(bert_checkpoint: Any, tmp_path: Path) -> None:
    out = convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")
    assert out == tmp_path / "out"
    names = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()}
    assert names == {
        "model.onnx",
        "tokenizer.json",
        "tokenizer_config.json",
        "vocab.txt",
        "config.json",
        "modules.json",
        "1_Pooling/config.json",
        "ogma_conversion.json",
    }
    record = json.loads((out / "ogma_conversion.json").read_text())
    assert record["architecture"] == "BertModel"
    assert record["source"] == str(bert_checkpoint.folder.resolve())
    assert record["opset"] == 17
    assert record["files"] == {"fp32": "model.onnx", "int8": None}
    assert record["inputs"] == ["input_ids", "attention_mask", "token_type_ids"]
    assert record["output"] == "last_hidden_state"
    assert isinstance(record["ogma_version"], str) and record["ogma_version"]
    assert _leftovers(tmp_path) == []


def test_existing_output_needs_overwrite(bert_checkpoint: Any, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(ConversionError, match=r"already exists.*overwrite=True") as info:
        convert_checkpoint(bert_checkpoint.folder, out)
    assert isinstance(info.value, FileExistsError)
    assert (out / "keep.txt").is_file()
    convert_checkpoint(bert_checkpoint.folder, out, overwrite=True)
    assert not (out / "keep.txt").exists()
    assert (out / "model.onnx").is_file()
    assert _leftovers(tmp_path) == []


def test_output_cannot_be_the_source_folder(bert_checkpoint: Any) -> None:
    with pytest.raises(ConversionError, match="checkpoint folder itself"):
        convert_checkpoint(
            bert_checkpoint.folder, bert_checkpoint.folder / ".." / bert_checkpoint.folder.name, overwrite=True
        )
    assert (bert_checkpoint.folder / "model.safetensors").is_file()


def test_failure_mid_conversion_leaves_no_output(
    bert_checkpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def boom(src: Path, dst: Path) -> list[str]:
        assert (dst / "model.onnx").is_file()  # the model was already written into the temp folder
        raise OSError("disk full")

    monkeypatch.setattr(convert, "copy_companion_files", boom)
    with pytest.raises(OSError, match="disk full"):
        convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path) == []


def test_failure_with_overwrite_keeps_the_old_folder(
    bert_checkpoint: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")
    before = (out / "model.onnx").read_bytes()

    def boom(src: Path, dst: Path) -> None:
        raise RuntimeError("quantizer crashed")

    monkeypatch.setattr(convert, "quantize_int8", boom)
    with pytest.raises(RuntimeError, match="quantizer crashed"):
        convert_checkpoint(bert_checkpoint.folder, out, int8=True, overwrite=True)
    assert (out / "model.onnx").read_bytes() == before
    assert not (out / "model_int8.onnx").exists()
    assert _leftovers(tmp_path) == []


def test_atomic_output_dir_refuses_a_folder_that_appeared_meanwhile(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(OutputExistsError), atomic_output_dir(out, overwrite=False) as staging:
        (staging / "a").write_text("mine")
        out.mkdir()
        (out / "b").write_text("theirs")
    assert [p.name for p in out.iterdir()] == ["b"]
    assert _leftovers(tmp_path) == []


def test_missing_files_name_the_file_and_the_fix(bert_checkpoint: Any, tmp_path: Path) -> None:
    src = bert_checkpoint.folder
    with pytest.raises(ModelFileError, match="Checkpoint folder not found"):
        convert_checkpoint(tmp_path / "nope", tmp_path / "out")
    for name, pattern in [
        ("tokenizer.json", r"tokenizer\.json not found"),
        ("config.json", r"config\.json not found"),
        ("model.safetensors", r"model\.safetensors not found"),
    ]:
        copy = tmp_path / f"without-{name}"
        shutil.copytree(src, copy)
        (copy / name).unlink()
        with pytest.raises(ModelFileError, match=pattern) as info:
            convert_checkpoint(copy, tmp_path / "out")
        assert str(copy / name) in str(info.value)
    assert not (tmp_path / "out").exists()


def test_pytorch_bin_only_folder_is_rejected_with_the_fix(bert_checkpoint: Any, tmp_path: Path) -> None:
    folder = bert_checkpoint.folder
    (folder / "model.safetensors").rename(folder / "pytorch_model.bin")
    assert detect_checkpoint_kind(folder) == "pytorch-bin"
    with pytest.raises(ConversionError, match=r"pytorch_model\.bin.*safetensors") as info:
        convert_checkpoint(folder, tmp_path / "out")
    assert "save_file" in str(info.value)


@pytest.mark.parametrize("architecture", ["DistilBertModel", "GPT2LMHeadModel", "RobertaForMaskedLM"])
def test_unsupported_architecture_lists_the_supported_ones(
    bert_checkpoint: Any, tmp_path: Path, architecture: str
) -> None:
    config_file = bert_checkpoint.folder / "config.json"
    config = json.loads(config_file.read_text())
    config["architectures"] = [architecture]
    config_file.write_text(json.dumps(config))
    with pytest.raises(ConversionError, match=architecture) as info:
        convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")
    for name in SUPPORTED_ARCHITECTURES:
        assert name in str(info.value)


def test_config_without_architectures_falls_back_to_model_type(bert_checkpoint: Any, tmp_path: Path) -> None:
    config_file = bert_checkpoint.folder / "config.json"
    config = json.loads(config_file.read_text())
    del config["architectures"]
    config_file.write_text(json.dumps(config))
    out = convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")
    assert json.loads((out / "ogma_conversion.json").read_text())["architecture"] == "BertModel"


def test_corrupt_safetensors(bert_checkpoint: Any, tmp_path: Path) -> None:
    weights = bert_checkpoint.folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:300])
    with pytest.raises(ModelFileError, match=r"model\.safetensors could not be read"):
        convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_corrupt_config(bert_checkpoint: Any, tmp_path: Path) -> None:
    (bert_checkpoint.folder / "config.json").write_text("{not json")
    with pytest.raises(ModelFileError, match=r"config\.json is not valid JSON"):
        convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")


def test_weights_that_do_not_match_the_config(make_checkpoint: Any, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    ckpt = make_checkpoint()
    file = ckpt.folder / "model.safetensors"
    tensors = load_file(str(file))
    tensors["encoder.layer.1.intermediate.dense.weight"] = np.zeros((7, 16), np.float32)
    save_file(tensors, str(file))
    with pytest.raises(ConversionError, match=r"encoder\.layer\.1\.intermediate\.dense\.weight.*shape"):
        convert_checkpoint(ckpt.folder, tmp_path / "out")
    del tensors["encoder.layer.1.intermediate.dense.weight"]
    save_file(tensors, str(file))
    with pytest.raises(ConversionError, match=r"'encoder\.layer\.1\.intermediate\.dense\.weight' is missing"):
        convert_checkpoint(ckpt.folder, tmp_path / "out")


def test_unsupported_options_are_rejected(bert_checkpoint: Any, tmp_path: Path) -> None:
    config_file = bert_checkpoint.folder / "config.json"
    config = json.loads(config_file.read_text())
    for key, value, pattern in [
        ("hidden_act", "swish", "hidden_act 'swish'"),
        ("position_embedding_type", "relative_key", "position_embedding_type"),
        ("num_attention_heads", 3, "not divisible"),
    ]:
        config_file.write_text(json.dumps({**config, key: value}))
        with pytest.raises(ConversionError, match=pattern):
            convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")


def test_float16_weights_are_widened(make_checkpoint: Any, helpers: Any, tmp_path: Path) -> None:
    from safetensors.numpy import load_file, save_file

    ckpt = make_checkpoint()
    file = ckpt.folder / "model.safetensors"
    save_file(
        {k: v.astype(np.float16) if v.dtype == np.float32 else v for k, v in load_file(str(file)).items()}, str(file)
    )
    out = convert_checkpoint(ckpt.folder, tmp_path / "out")
    ids, mask = helpers.random_batch(ckpt.cfg, [5])
    ckpt.weights = {k: v.astype(np.float16).astype(np.float32) for k, v in ckpt.weights.items()}
    np.testing.assert_allclose(
        helpers.run_onnx(out / "model.onnx", ids, mask), helpers.numpy_forward(ckpt, ids, mask), atol=2e-4
    )


def test_detect_checkpoint_kind(bert_checkpoint: Any, tmp_path: Path) -> None:
    assert detect_checkpoint_kind(bert_checkpoint.folder) == "safetensors"
    assert detect_checkpoint_kind(tmp_path / "empty") == "unknown"
    out = convert_checkpoint(bert_checkpoint.folder, tmp_path / "out")
    assert detect_checkpoint_kind(out) == "onnx"


def test_errors_are_ogma_errors() -> None:
    assert issubclass(ConversionError, OgmaError) and issubclass(OutputExistsError, ConversionError)


def test_public_api_is_pinned() -> None:
    assert sorted(convert.__all__) == sorted(
        [
            "FP32_FILE",
            "INT8_FILE",
            "MANIFEST_NAME",
            "SUPPORTED_ARCHITECTURES",
            "CheckpointKind",
            "EncoderSpec",
            "convert_checkpoint",
            "detect_checkpoint_kind",
            "quantize_int8",
        ]
    )


def _write_bf16_safetensors(file: Path, tensors: dict[str, np.ndarray]) -> None:
    """Write float32 arrays as BF16 (truncating the mantissa), the way torch checkpoints ship them."""
    import struct

    header: dict[str, Any] = {}
    blobs, offset = [], 0
    for name, value in tensors.items():
        if value.dtype == np.float32:
            blob = (value.view(np.uint32) >> 16).astype("<u2").tobytes()
            dtype = "BF16"
        else:
            blob, dtype = value.astype("<i8").tobytes(), "I64"
        header[name] = {"dtype": dtype, "shape": list(value.shape), "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    encoded = json.dumps(header).encode()
    file.write_bytes(struct.pack("<Q", len(encoded)) + encoded + b"".join(blobs))


def test_bfloat16_weights_are_widened(make_checkpoint: Any, helpers: Any, tmp_path: Path) -> None:
    from safetensors.numpy import load_file

    ckpt = make_checkpoint()
    file = ckpt.folder / "model.safetensors"
    _write_bf16_safetensors(file, load_file(str(file)))
    out = convert_checkpoint(ckpt.folder, tmp_path / "out")
    ckpt.weights = {k: (v.view(np.uint32) & 0xFFFF0000).view(np.float32) for k, v in ckpt.weights.items()}
    ids, mask = helpers.random_batch(ckpt.cfg, [6])
    np.testing.assert_allclose(
        helpers.run_onnx(out / "model.onnx", ids, mask), helpers.numpy_forward(ckpt, ids, mask), atol=2e-4
    )


def test_bfloat16_reader_without_ml_dtypes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import safetensors.numpy

    from ogma.convert.tensors import read_safetensors

    def no_bf16(path: str) -> dict[str, np.ndarray]:
        raise TypeError("data type 'bfloat16' not understood")

    monkeypatch.setattr(safetensors.numpy, "load_file", no_bf16)
    value = np.array([[1.5, -2.25, 3.0e-3]], dtype=np.float32)
    file = tmp_path / "w.safetensors"
    _write_bf16_safetensors(file, {"w": value, "ids": np.arange(3)})
    tensors = read_safetensors(file)
    np.testing.assert_array_equal(tensors["w"], (value.view(np.uint32) & 0xFFFF0000).view(np.float32))
    assert tensors["w"].dtype == np.float32
    np.testing.assert_array_equal(tensors["ids"], np.arange(3))
