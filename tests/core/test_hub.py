"""Model resolution: local folders, the Hugging Face cache offline, clear errors."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from ogma import TextEncoder
from ogma.errors import ModelFileError, ModelNotFoundError, OfflineError
from ogma.hub import hub_is_offline, ogma_home, resolve_model
from tests.helpers.tiny_models import make_tiny_bert_folder


def _fake_hf_cache(cache: Path, repo_id: str, files_from: Path, subdir: str = "") -> Path:
    """Lay out files as huggingface_hub's cache does (blobs, snapshots, refs)."""
    repo = cache / ("models--" + repo_id.replace("/", "--"))
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    for file in files_from.rglob("*"):
        if file.is_file():
            rel = file.relative_to(files_from)
            dest = snapshot / (subdir + "/" + str(rel) if rel.suffix == ".onnx" and subdir else str(rel))
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(file, dest)
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(commit)
    return snapshot


def test_offline_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub_is_offline() is True
    assert hub_is_offline(False) is False
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    assert hub_is_offline() is False


def test_local_folder(tmp_path: Path) -> None:
    folder = make_tiny_bert_folder(tmp_path / "m")
    resolved = resolve_model(folder)
    assert resolved.source == "local" and resolved.onnx_path == folder / "model.onnx"


def test_hub_cache_is_used_offline(tmp_path: Path) -> None:
    src = make_tiny_bert_folder(tmp_path / "src")
    cache = Path(os.environ["HF_HUB_CACHE"])
    snapshot = _fake_hf_cache(cache, "someone/tiny-embedder", src, subdir="onnx")
    resolved = resolve_model("someone/tiny-embedder")
    assert resolved.source == "hub"
    assert resolved.onnx_path.resolve() == (snapshot / "onnx" / "model.onnx").resolve()
    encoder = TextEncoder("someone/tiny-embedder")
    assert encoder.model_id == "someone/tiny-embedder" and encoder.dim == 16


def test_quantized_copy_is_made_once_and_cached(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("onnxruntime.quantization")
    monkeypatch.setenv("OGMA_HOME", str(tmp_path / "ogma-home"))
    folder = make_tiny_bert_folder(tmp_path / "m")
    first = resolve_model(folder, quantized=True)
    assert first.onnx_path.is_file() and ogma_home() in first.onnx_path.parents
    assert resolve_model(folder, quantized=True).onnx_path == first.onnx_path


def test_missing_model_offline_lists_ways_forward() -> None:
    with pytest.raises(OfflineError) as info:
        resolve_model("someone/not-cached-anywhere")
    message = str(info.value)
    assert "not available offline" in message
    assert "HF_HUB_OFFLINE" in message and "local model folder" in message and "ogma convert" in message


def test_ogma_model_offline_error_is_a_lookup_error_and_suggests_hf_download() -> None:
    with pytest.raises(LookupError, match="axiotic/ogma-mini") as info:
        TextEncoder("ogma-mini")
    assert "`hf download axiotic/ogma-mini`" in str(info.value)
    assert "huggingface-cli" not in str(info.value)


def test_not_a_model_folder(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(ModelFileError, match=r"notes\.txt"):
        resolve_model(tmp_path)


def test_bad_names() -> None:
    with pytest.raises(ModelNotFoundError, match="neither an existing folder"):
        resolve_model("./does/not/exist")
    with pytest.raises(ModelNotFoundError, match="ogma models"):
        resolve_model("just-a-name-without-org")


def test_conversion_cache_key_follows_the_converter_graph_version() -> None:
    """A converter that writes a different graph must not reuse conversions cached by an older one."""
    from ogma import hub
    from ogma.convert.bert import GRAPH_VERSION

    assert hub._CONVERTED_GRAPH_VERSION == GRAPH_VERSION
