"""``backend="torch"``: running Ogma checkpoints with their own PyTorch code."""

from __future__ import annotations

import sys
import types
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.backends import TASK_IDS, TorchOgmaBackend
from ogma.backends.ogma_code import isolated_imports
from ogma.errors import ConversionError, MissingExtraError, TrustRemoteCodeError
from tests.core.fixtures.ogma_checkpoint import IMPORT_LOG, card_token_batch, make_ogma_checkpoint

TEXTS = ["The quick brown fox jumps over the lazy dog", "What is knowledge distillation?", "dog"]


@pytest.fixture(scope="module")
def torch_mod() -> Any:
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ogma_checkpoint(tmp_path_factory.mktemp("ogma-ckpt"), d_model=32, d_output=64, layers=1)


@pytest.fixture(scope="module")
def backend(torch_mod: Any, checkpoint: Path) -> TorchOgmaBackend:
    return TorchOgmaBackend(checkpoint, trust_remote_code=True)


@pytest.fixture
def restore_threads(torch_mod: Any) -> Any:
    before = torch_mod.get_num_threads()
    yield
    torch_mod.set_num_threads(before)


# --- torch-free -------------------------------------------------------------------------------------


def test_refused_without_trust_before_any_code_runs(tmp_path: Path) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt")
    with pytest.raises(TrustRemoteCodeError, match=r"trust_remote_code=True"):
        TorchOgmaBackend(ckpt)
    assert not (ckpt / IMPORT_LOG).exists()


def test_missing_torch_gives_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'ogma-core\[torch\]'") as info:
        TorchOgmaBackend(ckpt, trust_remote_code=True)
    assert "backend='torch'" in str(info.value)
    assert not (ckpt / IMPORT_LOG).exists()


def test_importing_the_package_does_not_import_torch() -> None:
    import subprocess

    code = "import sys, ogma.backends, ogma.convert.ogma_export; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"


def test_isolated_imports_restores_modules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "config.py").write_text("WHO = 'checkpoint'\n")
    own = types.ModuleType("config")
    monkeypatch.setitem(sys.modules, "config", own)
    with isolated_imports(tmp_path):
        import config

        assert config.WHO == "checkpoint"
    assert sys.modules["config"] is own
    assert str(tmp_path.resolve()) not in sys.path
    assert not (tmp_path / "__pycache__").exists()


# --- with torch ---------------------------------------------------------------------------------------


@pytest.mark.torch
def test_run_returns_unit_float32_rows(backend: TorchOgmaBackend, checkpoint: Path) -> None:
    ids, mask = card_token_batch(checkpoint / "tokenizer.json", TEXTS)
    out = backend.run(ids, mask, task_id=TASK_IDS["query"])
    assert backend.output_kind == "sentence" and backend.dim == 64 and backend.normalized
    assert out.dtype == np.float32 and out.shape == (3, 64)
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(out, backend.run(ids, mask, task_id=TASK_IDS["query"]))


@pytest.mark.torch
def test_tasks_differ_and_none_means_symmetric(backend: TorchOgmaBackend, checkpoint: Path) -> None:
    ids, mask = card_token_batch(checkpoint / "tokenizer.json", TEXTS)
    out = {task: backend.run(ids, mask, task_id=task_id) for task, task_id in TASK_IDS.items()}
    assert (out["query"] * out["document"]).sum(1).max() < 0.999
    assert (out["document"] * out["symmetric"]).sum(1).max() < 0.999
    np.testing.assert_array_equal(backend.run(ids, mask, token_type_ids=np.zeros_like(ids)), out["symmetric"])


@pytest.mark.torch
def test_matches_the_model_card_usage(torch_mod: Any, backend: TorchOgmaBackend, checkpoint: Path) -> None:
    ids, mask = card_token_batch(checkpoint / "tokenizer.json", TEXTS)
    with isolated_imports(checkpoint):
        from config import TaskToken
        from ogma_model import OgmaModel

        model = OgmaModel.from_checkpoint(str(checkpoint), device="cpu")
        with torch_mod.no_grad():
            want = model.encode(torch_mod.from_numpy(ids), torch_mod.from_numpy(mask), task=TaskToken.DOC).numpy()
    np.testing.assert_allclose(backend.run(ids, mask, task_id=TASK_IDS["document"]), want, atol=1e-6)


@pytest.mark.torch
def test_padding_does_not_change_rows(backend: TorchOgmaBackend, checkpoint: Path) -> None:
    ids, mask = card_token_batch(checkpoint / "tokenizer.json", TEXTS)
    batched = backend.run(ids, mask, task_id=TASK_IDS["document"])
    for row, text in enumerate(TEXTS):
        alone_ids, alone_mask = card_token_batch(checkpoint / "tokenizer.json", [text])
        np.testing.assert_allclose(batched[row], backend.run(alone_ids, alone_mask, task_id=1)[0], atol=1e-5)


@pytest.mark.torch
def test_bad_inputs_are_value_errors(backend: TorchOgmaBackend) -> None:
    ids = np.array([[2, 10, 3]], dtype=np.int64)
    with pytest.raises(ValueError, match=r"task_id must be one of"):
        backend.run(ids, np.ones_like(ids), task_id=7)
    with pytest.raises(ValueError, match=r"one shape"):
        backend.run(ids, np.ones((1, 2), dtype=np.int64), task_id=0)
    assert backend.run(np.zeros((0, 3), np.int64), np.zeros((0, 3), np.int64), task_id=0).shape == (0, 64)


@pytest.mark.torch
@pytest.mark.usefixtures("restore_threads")
def test_threads_are_set(torch_mod: Any, checkpoint: Path) -> None:
    TorchOgmaBackend(checkpoint, threads=1, trust_remote_code=True)
    assert torch_mod.get_num_threads() == 1
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        TorchOgmaBackend(checkpoint, threads=0, trust_remote_code=True)


@pytest.mark.torch
def test_cuda_without_gpu_warns_and_uses_cpu(torch_mod: Any, checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch_mod.cuda, "is_available", lambda: False)
    with pytest.warns(RuntimeWarning, match=r"running on the CPU instead.*CUDA build of PyTorch"):
        backend = TorchOgmaBackend(checkpoint, device="cuda", trust_remote_code=True)
    assert backend.device == "cpu"
    with pytest.raises(ValueError, match="device must be"):
        TorchOgmaBackend(checkpoint, device="tpu", trust_remote_code=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert TorchOgmaBackend(checkpoint, device="cpu", trust_remote_code=True).device == "cpu"


@pytest.mark.torch
def test_loading_leaves_sys_modules_clean(torch_mod: Any, checkpoint: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = types.ModuleType("config")
    monkeypatch.setitem(sys.modules, "config", own)
    monkeypatch.delitem(sys.modules, "ogma_model", raising=False)
    TorchOgmaBackend(checkpoint, trust_remote_code=True)
    assert sys.modules["config"] is own and "ogma_model" not in sys.modules


@pytest.mark.torch
def test_api_mismatch_is_a_conversion_error(torch_mod: Any, tmp_path: Path) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt", d_model=32, d_output=32, layers=1)
    text = (ckpt / "config.py").read_text().replace("    SYM = 6", "    SYMMETRIC = 6")
    (ckpt / "config.py").write_text(text)
    with pytest.raises(ConversionError, match=r"no member\(s\) SYM; found members: QRY, DOC, SYMMETRIC"):
        TorchOgmaBackend(ckpt, trust_remote_code=True)
