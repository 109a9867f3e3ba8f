"""Exporting Ogma checkpoints (PyTorch + their own model code) to one ONNX file."""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from ogma.convert import ogma_export
from ogma.convert.ogma_export import CONVERSION_FILE, MODEL_FILE, TASK_IDS, export_ogma_checkpoint
from ogma.errors import ConversionError, MissingExtraError, TrustRemoteCodeError
from tests.core.fixtures.ogma_checkpoint import IMPORT_LOG, SAMPLE_WORDS, card_token_batch, make_ogma_checkpoint

TEXTS = [
    "The quick brown fox jumps over the lazy dog",
    "What is knowledge distillation?",
    "retrieval",
    "A fast auburn vulpine leaps over an idle canine, and the dog was not amused at all.",
]
TASKS = list(TASK_IDS)


def _long_text(words: int) -> str:
    return " ".join(SAMPLE_WORDS[i % len(SAMPLE_WORDS)] for i in range(words))


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a64, b64 = a.astype(np.float64), b.astype(np.float64)
    return (a64 * b64).sum(-1) / (np.linalg.norm(a64, axis=-1) * np.linalg.norm(b64, axis=-1))


class _Onnx:
    """The exported graph, fed like the encoder feeds it."""

    def __init__(self, path: Path) -> None:
        from ogma.runtime import create_session

        self.session = create_session(path, threads=2)

    def run(self, ids: np.ndarray, mask: np.ndarray, *, task_id: int) -> np.ndarray:
        feed = {"input_ids": ids, "attention_mask": mask, "task": np.full(len(ids), task_id, dtype=np.int64)}
        return np.asarray(self.session.run(["sentence_embedding"], feed)[0])


@pytest.fixture(scope="module")
def torch_mod() -> Any:
    return pytest.importorskip("torch")


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_ogma_checkpoint(tmp_path_factory.mktemp("ogma-ckpt"))


@pytest.fixture(scope="module")
def exported(torch_mod: Any, checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return export_ogma_checkpoint(checkpoint, tmp_path_factory.mktemp("exports") / "onnx", trust_remote_code=True)


@pytest.fixture(scope="module")
def onnx_model(exported: Path) -> _Onnx:
    return _Onnx(exported / MODEL_FILE)


@pytest.fixture(scope="module")
def reference(torch_mod: Any, checkpoint: Path) -> Any:
    from ogma.backends import TorchOgmaBackend

    return TorchOgmaBackend(checkpoint, trust_remote_code=True)


# --- torch-free -------------------------------------------------------------------------------------


def test_refused_without_trust_before_any_code_runs(tmp_path: Path) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt")
    with pytest.raises(TrustRemoteCodeError) as info:
        export_ogma_checkpoint(ckpt, tmp_path / "out")
    message = str(info.value)
    assert "trust_remote_code=True" in message and "ogma_model.py" in message and str(ckpt) in message
    assert not (ckpt / IMPORT_LOG).exists(), "the checkpoint's code ran"
    assert not (tmp_path / "out").exists()


def test_missing_torch_gives_the_install_command(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt")
    monkeypatch.setitem(sys.modules, "torch", None)  # makes `import torch` raise ImportError
    with pytest.raises(MissingExtraError) as info:
        export_ogma_checkpoint(ckpt, tmp_path / "out", trust_remote_code=True)
    assert "Exporting an Ogma checkpoint to ONNX" in str(info.value)
    assert "pip install 'ogma-core[torch]'" in str(info.value)
    assert isinstance(info.value.__cause__, ImportError)
    assert not (ckpt / IMPORT_LOG).exists()


def test_task_ids_match_the_tokenizer_module() -> None:
    tokenize = pytest.importorskip("ogma.tokenize")
    assert TASK_IDS == {"query": 0, "document": 1, "symmetric": 2}
    assert getattr(tokenize, "TASK_IDS", TASK_IDS) == TASK_IDS


# --- export and agreement with torch ----------------------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("task", TASKS)
def test_onnx_matches_torch_for_every_task(task: str, checkpoint: Path, onnx_model: _Onnx, reference: Any) -> None:
    ids, mask = card_token_batch(checkpoint / "tokenizer.json", TEXTS)
    got = onnx_model.run(ids, mask, task_id=TASK_IDS[task])
    want = reference.run(ids, mask, task_id=TASK_IDS[task])
    assert got.dtype == np.float32 and got.shape == want.shape == (len(TEXTS), 64)
    assert _cosines(got, want).min() >= 0.9999
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


@pytest.mark.torch
def test_tasks_give_different_vectors(checkpoint: Path, onnx_model: _Onnx) -> None:
    ids, mask = card_token_batch(checkpoint / "tokenizer.json", TEXTS)
    out = {task: onnx_model.run(ids, mask, task_id=task_id) for task, task_id in TASK_IDS.items()}
    for a, b in [("query", "document"), ("query", "symmetric"), ("document", "symmetric")]:
        assert _cosines(out[a], out[b]).max() < 0.999, (a, b)


@pytest.mark.torch
@pytest.mark.parametrize("dim", [32, 64])
def test_matryoshka_truncation_matches_torch(
    dim: int, checkpoint: Path, exported: Path, onnx_model: _Onnx, reference: Any
) -> None:
    assert dim in json.loads((exported / CONVERSION_FILE).read_text())["matryoshka_dims"]
    ids, mask = card_token_batch(checkpoint / "tokenizer.json", TEXTS)

    def truncate(x: np.ndarray) -> np.ndarray:
        head = x[:, :dim]
        return head / np.linalg.norm(head, axis=1, keepdims=True)

    for task_id in TASK_IDS.values():
        got = truncate(onnx_model.run(ids, mask, task_id=task_id))
        want = truncate(reference.run(ids, mask, task_id=task_id))
        assert _cosines(got, want).min() >= 0.9999
        np.testing.assert_allclose(got, want, atol=1e-4)


@pytest.mark.torch
def test_1024_token_inputs_work_and_longer_ones_are_truncated(
    checkpoint: Path, onnx_model: _Onnx, reference: Any
) -> None:
    tokenizer = checkpoint / "tokenizer.json"
    exact, _ = card_token_batch(tokenizer, [_long_text(1022)])  # BOS + 1022 + EOS
    assert exact.shape == (1, 1024) and exact[0, -1] == 3
    ids, mask = card_token_batch(tokenizer, [_long_text(3000), "the dog"])
    assert ids.shape == (2, 1024) and mask[0].sum() == 1024 and mask[1].sum() == 4
    for task_id in TASK_IDS.values():
        got = onnx_model.run(ids, mask, task_id=task_id)
        want = reference.run(ids, mask, task_id=task_id)
        assert np.isfinite(got).all()
        assert _cosines(got, want).min() >= 0.9999
    cut, _ = card_token_batch(tokenizer, [_long_text(3000)])
    np.testing.assert_array_equal(cut[0], ids[0])  # truncation keeps the first 1024 tokens, EOS dropped


@pytest.mark.torch
def test_padding_does_not_change_rows(checkpoint: Path, onnx_model: _Onnx) -> None:
    tokenizer = checkpoint / "tokenizer.json"
    ids, mask = card_token_batch(tokenizer, TEXTS)
    for task_id in TASK_IDS.values():
        batched = onnx_model.run(ids, mask, task_id=task_id)
        for row, text in enumerate(TEXTS):
            alone_ids, alone_mask = card_token_batch(tokenizer, [text])
            alone = onnx_model.run(alone_ids, alone_mask, task_id=task_id)
            np.testing.assert_allclose(batched[row], alone[0], atol=1e-5)


@pytest.mark.torch
def test_output_folder_and_conversion_record(checkpoint: Path, exported: Path, torch_mod: Any) -> None:
    assert sorted(p.name for p in exported.iterdir()) == sorted(
        ["config.json", MODEL_FILE, CONVERSION_FILE, "tokenizer.json"]
    )
    assert (exported / "tokenizer.json").read_bytes() == (checkpoint / "tokenizer.json").read_bytes()
    record = json.loads((exported / CONVERSION_FILE).read_text())
    assert record["kind"] == "ogma" and record["d_output"] == 64 and record["max_length"] == 1024
    assert record["matryoshka_dims"] == [64, 32]
    assert record["task_ids"] == TASK_IDS and record["task_input"] == "task-constants"
    assert record["source"] == str(checkpoint.resolve()) and record["opset"] == 17
    assert record["torch_version"] == torch_mod.__version__
    assert min(record["verified_min_cosine"].values()) >= 0.9999
    graph = onnx.load(str(exported / MODEL_FILE)).graph
    inputs = {i.name: i.type.tensor_type for i in graph.input}
    assert list(inputs) == ["input_ids", "attention_mask", "task"]
    assert all(t.elem_type == onnx.TensorProto.INT64 for t in inputs.values())
    assert [d.dim_param for d in inputs["input_ids"].shape.dim] == ["batch", "seq"]
    assert [d.dim_param for d in inputs["task"].shape.dim] == ["batch"]
    (output,) = graph.output
    assert output.name == "sentence_embedding" and output.type.tensor_type.elem_type == onnx.TensorProto.FLOAT


@pytest.mark.torch
def test_task_constants_make_one_graph_the_size_of_one_task(checkpoint: Path, exported: Path) -> None:
    graph = onnx.load(str(exported / MODEL_FILE)).graph
    assert "If" not in {n.op_type for n in graph.node}
    assert (exported / MODEL_FILE).stat().st_size < 1.1 * (checkpoint / "model.safetensors").stat().st_size


_TASK_BRANCHING_CODE = (
    "        return F.normalize(self.proj(pooled), p=2, dim=-1)",
    "        if int(task) == int(TaskToken.QRY):\n"
    "            pooled = pooled.flip(-1)\n"
    "        return F.normalize(self.proj(pooled), p=2, dim=-1)",
)


@pytest.mark.torch
def test_structurally_different_tasks_become_if_branches_sharing_weights(torch_mod: Any, tmp_path: Path) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt", d_model=32, d_output=32, layers=1)
    _edit(ckpt / "ogma_model.py", *_TASK_BRANCHING_CODE)  # the query graph gets an extra op
    out = export_ogma_checkpoint(ckpt, tmp_path / "out", trust_remote_code=True)
    assert json.loads((out / CONVERSION_FILE).read_text())["task_input"] == "if-branches"
    model = onnx.load(str(out / MODEL_FILE))
    assert [n.op_type for n in model.graph.node].count("If") == 1  # query | (document | symmetric)
    contents = [onnx.numpy_helper.to_array(t).tobytes() for t in model.graph.initializer if len(t.dims)]
    assert len(contents) == len(set(contents)), "identical initializers were not deduplicated"
    assert (out / MODEL_FILE).stat().st_size < 1.5 * (ckpt / "model.safetensors").stat().st_size  # not 3x
    from ogma.backends import TorchOgmaBackend

    reference = TorchOgmaBackend(ckpt, trust_remote_code=True)
    onnx_model = _Onnx(out / MODEL_FILE)
    ids, mask = card_token_batch(ckpt / "tokenizer.json", TEXTS)
    for task_id in TASK_IDS.values():
        got = onnx_model.run(ids, mask, task_id=task_id)
        assert _cosines(got, reference.run(ids, mask, task_id=task_id)).min() >= 0.9999


@pytest.mark.torch
def test_checkpoint_taking_a_task_tensor_is_traced_once(torch_mod: Any, tmp_path: Path) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt", accepts_task_tensor=True, d_model=32, d_output=32, layers=1)
    out = export_ogma_checkpoint(ckpt, tmp_path / "out", trust_remote_code=True)
    assert json.loads((out / CONVERSION_FILE).read_text())["task_input"] == "tensor"
    assert "If" not in {n.op_type for n in onnx.load(str(out / MODEL_FILE)).graph.node}
    from ogma.backends import TorchOgmaBackend

    reference = TorchOgmaBackend(ckpt, trust_remote_code=True)
    ids, mask = card_token_batch(ckpt / "tokenizer.json", TEXTS[:3])
    session = _Onnx(out / MODEL_FILE).session
    mixed = np.array(list(TASK_IDS.values()), dtype=np.int64)  # one task per row
    (got,) = session.run(["sentence_embedding"], {"input_ids": ids, "attention_mask": mask, "task": mixed})
    want = np.stack([reference.run(ids[i : i + 1], mask[i : i + 1], task_id=int(t))[0] for i, t in enumerate(mixed)])
    assert _cosines(np.asarray(got), want).min() >= 0.9999


# --- API checks ---------------------------------------------------------------------------------------


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.torch
@pytest.mark.parametrize(
    ("file", "old", "new", "found"),
    [
        ("ogma_model.py", "def encode(", "def embed(", "has no method encode()"),
        ("ogma_model.py", "def from_checkpoint(", "def load(", "has no method from_checkpoint()"),
        ("ogma_model.py", "class OgmaModel(", "class OgmaEncoder(", "defines no OgmaModel; found: "),
        ("config.py", "    QRY = 4", "    QUERY = 4", "has no member(s) QRY; found members: QUERY, DOC, SYM"),
        ("config.py", "class TaskToken(", "class Task(", "defines no TaskToken"),
        (
            "ogma_model.py",
            "return F.normalize(self.proj(pooled), p=2, dim=-1)",
            "return {'embedding': F.normalize(self.proj(pooled), p=2, dim=-1)}",
            "returned dict, not a torch.Tensor",
        ),
        (
            "ogma_model.py",
            "return F.normalize(self.proj(pooled), p=2, dim=-1)",
            "return F.normalize(self.proj(x), p=2, dim=-1)",
            "of shape (2, 7, 32) for a batch of 2",
        ),
    ],
)
def test_api_mismatch_names_what_was_expected(
    torch_mod: Any, tmp_path: Path, file: str, old: str, new: str, found: str
) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt", d_model=32, d_output=32, layers=1)
    _edit(ckpt / file, old, new)
    with pytest.raises(ConversionError) as info:
        export_ogma_checkpoint(ckpt, tmp_path / "out", trust_remote_code=True)
    message = str(info.value)
    assert found in message
    assert "Expected the Ogma checkpoint API from the model card" in message
    assert "encode(token_ids, attn_mask, task=TaskToken.SYM)" in message and "QRY, DOC and SYM" in message
    assert not (tmp_path / "out").exists()


@pytest.mark.torch
def test_missing_model_code_is_a_conversion_error(torch_mod: Any, tmp_path: Path) -> None:
    ckpt = make_ogma_checkpoint(tmp_path / "ckpt", d_model=32, d_output=32, layers=1)
    (ckpt / "ogma_model.py").unlink()
    with pytest.raises(ConversionError, match=r"must contain ogma_model\.py"):
        export_ogma_checkpoint(ckpt, tmp_path / "out", trust_remote_code=True)


# --- atomic output and import isolation --------------------------------------------------------------


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


@pytest.mark.torch
def test_failed_export_leaves_nothing_behind(
    torch_mod: Any, checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ogma_export, "MIN_COSINE", 1.5)  # no export can pass verification
    with pytest.raises(ConversionError, match=r"differs from PyTorch for task 'query'"):
        export_ogma_checkpoint(checkpoint, tmp_path / "out", trust_remote_code=True)
    assert not (tmp_path / "out").exists()
    assert _leftovers(tmp_path, "out") == []


@pytest.mark.torch
def test_existing_output_needs_overwrite_and_survives_failures(
    torch_mod: Any, checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("old")
    with pytest.raises(ConversionError, match="overwrite=True"):
        export_ogma_checkpoint(checkpoint, out, trust_remote_code=True)
    with monkeypatch.context() as patch:
        patch.setattr(ogma_export, "MIN_COSINE", 1.5)
        with pytest.raises(ConversionError):
            export_ogma_checkpoint(checkpoint, out, trust_remote_code=True, overwrite=True)
    assert (out / "keep.txt").read_text() == "old"
    export_ogma_checkpoint(checkpoint, out, trust_remote_code=True, overwrite=True)
    assert not (out / "keep.txt").exists() and (out / MODEL_FILE).is_file()
    assert _leftovers(tmp_path, "out") == []


@pytest.mark.torch
def test_sys_modules_and_sys_path_are_left_clean(
    torch_mod: Any, checkpoint: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own_config = types.ModuleType("config")
    monkeypatch.setitem(sys.modules, "config", own_config)
    monkeypatch.delitem(sys.modules, "ogma_model", raising=False)
    path_before = list(sys.path)
    export_ogma_checkpoint(checkpoint, tmp_path / "out", trust_remote_code=True)
    assert sys.modules["config"] is own_config  # the checkpoint's config was used and then dropped
    assert "ogma_model" not in sys.modules
    assert sys.path == path_before
    assert not any(p.name == "__pycache__" for p in checkpoint.iterdir())
