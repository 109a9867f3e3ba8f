"""Tiny synthetic BERT-family checkpoints and a NumPy reference forward pass.

Nothing here needs torch: weights are random arrays written with ``safetensors.numpy``,
the tokenizer is a tiny WordPiece built with ``tokenizers``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort
import pytest
from safetensors.numpy import save_file

from tests.helpers.tiny_models import bert_wordpiece_tokenizer

WORDS = [
    "the", "a", "cat", "dog", "sat", "on", "mat", "search", "local", "first", "model", "onnx",
    "fast", "small", "query", "document", "vector", "store", "hello", "world",
]  # fmt: skip
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
VOCAB = SPECIALS + WORDS + ["##s", "##ing", "##ed"] + list("abcdefghijklmnopqrstuvwxyz")


@dataclass
class TinyConfig:
    """Options of a synthetic checkpoint (small enough to convert in well under a second)."""

    architecture: str = "BertModel"
    hidden_size: int = 16
    num_heads: int = 2
    num_layers: int = 2
    intermediate_size: int = 32
    max_positions: int = 40
    hidden_act: str = "gelu"
    num_labels: int = 3
    prefix: str = ""
    layer_norm_eps: float = 1e-12
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        return "bert" if self.architecture.startswith("Bert") else "roberta"

    @property
    def pad_token_id(self) -> int:
        return 0 if self.family == "bert" else 1

    @property
    def type_vocab_size(self) -> int:
        return 2 if self.family == "bert" else 1


def make_tokenizer_json(path: Path) -> None:
    """Write a lowercasing WordPiece ``tokenizer.json`` over :data:`VOCAB`."""
    bert_wordpiece_tokenizer({token: i for i, token in enumerate(VOCAB)}).save(str(path))


def make_weights(cfg: TinyConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Random float32 weights keyed the Hugging Face way, without the model prefix."""
    rng = np.random.default_rng(seed)
    h, n = cfg.hidden_size, cfg.intermediate_size

    def rand(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    def layer_norm(key: str) -> dict[str, np.ndarray]:
        return {f"{key}.weight": 1.0 + rand(h, scale=0.1), f"{key}.bias": rand(h, scale=0.1)}

    def dense(key: str, n_out: int, n_in: int) -> dict[str, np.ndarray]:
        return {f"{key}.weight": rand(n_out, n_in, scale=1.0 / math.sqrt(n_in)), f"{key}.bias": rand(n_out, scale=0.1)}

    w: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": rand(len(VOCAB), h, scale=1.0),
        "embeddings.position_embeddings.weight": rand(cfg.max_positions, h, scale=0.5),
        "embeddings.token_type_embeddings.weight": rand(cfg.type_vocab_size, h, scale=0.5),
        **layer_norm("embeddings.LayerNorm"),
    }
    for i in range(cfg.num_layers):
        key = f"encoder.layer.{i}"
        for proj in ("query", "key", "value"):
            w.update(dense(f"{key}.attention.self.{proj}", h, h))
        w.update(dense(f"{key}.attention.output.dense", h, h))
        w.update(layer_norm(f"{key}.attention.output.LayerNorm"))
        w.update(dense(f"{key}.intermediate.dense", n, h))
        w.update(dense(f"{key}.output.dense", h, n))
        w.update(layer_norm(f"{key}.output.LayerNorm"))
    if cfg.family == "bert":
        w.update(dense("pooler.dense", h, h))
    return w


def make_head_weights(cfg: TinyConfig, seed: int = 1) -> dict[str, np.ndarray]:
    """Classifier weights (kept out of the prefix, as Hugging Face stores them)."""
    rng = np.random.default_rng(seed)
    h, k = cfg.hidden_size, cfg.num_labels

    def rand(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape) * 0.3).astype(np.float32)

    if cfg.family == "bert":
        return {"classifier.weight": rand(k, h), "classifier.bias": rand(k)}
    return {
        "classifier.dense.weight": rand(h, h),
        "classifier.dense.bias": rand(h),
        "classifier.out_proj.weight": rand(k, h),
        "classifier.out_proj.bias": rand(k),
    }


def make_config_json(cfg: TinyConfig) -> dict[str, Any]:
    config: dict[str, Any] = {
        "architectures": [cfg.architecture],
        "model_type": "bert" if cfg.family == "bert" else "xlm-roberta",
        "hidden_size": cfg.hidden_size,
        "num_attention_heads": cfg.num_heads,
        "num_hidden_layers": cfg.num_layers,
        "intermediate_size": cfg.intermediate_size,
        "hidden_act": cfg.hidden_act,
        "layer_norm_eps": cfg.layer_norm_eps,
        "max_position_embeddings": cfg.max_positions,
        "type_vocab_size": cfg.type_vocab_size,
        "vocab_size": len(VOCAB),
        "pad_token_id": cfg.pad_token_id,
        "position_embedding_type": "absolute",
    }
    if cfg.architecture.endswith("ForSequenceClassification"):
        config["id2label"] = {str(i): f"LABEL_{i}" for i in range(cfg.num_labels)}
        config["label2id"] = {f"LABEL_{i}": i for i in range(cfg.num_labels)}
    config.update(cfg.extra)
    return config


@dataclass
class TinyCheckpoint:
    """A synthetic checkpoint folder and the weights it holds (un-prefixed keys)."""

    folder: Path
    cfg: TinyConfig
    weights: dict[str, np.ndarray]


def write_checkpoint(folder: Path, cfg: TinyConfig, seed: int = 0) -> TinyCheckpoint:
    """Write ``config.json``, ``model.safetensors``, ``tokenizer.json`` and sentence-transformers files."""
    folder.mkdir(parents=True, exist_ok=True)
    weights = make_weights(cfg, seed)
    if cfg.architecture.endswith("ForSequenceClassification"):
        weights.update(make_head_weights(cfg, seed + 1))
    stored = {(k if k.startswith("classifier.") else cfg.prefix + k): v for k, v in weights.items()}
    stored[f"{cfg.prefix}embeddings.position_ids"] = np.arange(cfg.max_positions, dtype=np.int64)[None, :]
    save_file(stored, str(folder / "model.safetensors"))
    (folder / "config.json").write_text(json.dumps(make_config_json(cfg)), encoding="utf-8")
    make_tokenizer_json(folder / "tokenizer.json")
    (folder / "tokenizer_config.json").write_text(json.dumps({"do_lower_case": True}), encoding="utf-8")
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n", encoding="utf-8")
    (folder / "modules.json").write_text(json.dumps([{"idx": 0, "name": "0", "path": ""}]), encoding="utf-8")
    (folder / "1_Pooling").mkdir(exist_ok=True)
    (folder / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True}), "utf-8")
    return TinyCheckpoint(folder, cfg, weights)


# ---------------------------------------------------------------- NumPy reference


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (max error 1.5e-7), vectorised."""
    sign = np.sign(x)
    a = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _act(x: np.ndarray, name: str) -> np.ndarray:
    if name == "gelu":
        return x * 0.5 * (1.0 + _erf(x / math.sqrt(2.0)))
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x**3)))
    if name == "relu":
        return np.maximum(x, 0.0)
    raise ValueError(name)


def numpy_forward(
    ckpt: TinyCheckpoint, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray | None = None
) -> np.ndarray:
    """Hugging Face BERT / XLM-R forward pass in float64: last_hidden_state or logits."""
    cfg, w = ckpt.cfg, {k: v.astype(np.float64) for k, v in ckpt.weights.items()}
    eps = cfg.layer_norm_eps
    h, nh = cfg.hidden_size, cfg.num_heads
    dh = h // nh
    batch, seq = input_ids.shape
    if cfg.family == "bert":
        positions = np.broadcast_to(np.arange(seq), (batch, seq))
        types = np.zeros_like(input_ids) if token_type_ids is None else token_type_ids
    else:
        not_pad = (input_ids != cfg.pad_token_id).astype(np.int64)
        positions = np.cumsum(not_pad, axis=1) * not_pad + cfg.pad_token_id
        types = np.zeros_like(input_ids)
    x = (
        w["embeddings.word_embeddings.weight"][input_ids]
        + w["embeddings.position_embeddings.weight"][positions]
        + w["embeddings.token_type_embeddings.weight"][types]
    )
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], eps)
    bias = (1.0 - attention_mask[:, None, None, :].astype(np.float64)) * np.finfo(np.float32).min

    def lin(v: np.ndarray, key: str) -> np.ndarray:
        return v @ w[f"{key}.weight"].T + w[f"{key}.bias"]

    for i in range(cfg.num_layers):
        key = f"encoder.layer.{i}"

        def heads(v: np.ndarray) -> np.ndarray:
            return v.reshape(batch, seq, nh, dh).transpose(0, 2, 1, 3)

        q, k, v = (heads(lin(x, f"{key}.attention.self.{p}")) for p in ("query", "key", "value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(dh) + bias
        scores -= scores.max(-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(-1, keepdims=True)
        ctx = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, seq, h)
        x = _layer_norm(
            lin(ctx, f"{key}.attention.output.dense") + x,
            w[f"{key}.attention.output.LayerNorm.weight"],
            w[f"{key}.attention.output.LayerNorm.bias"],
            eps,
        )
        inter = _act(lin(x, f"{key}.intermediate.dense"), cfg.hidden_act)
        x = _layer_norm(
            lin(inter, f"{key}.output.dense") + x,
            w[f"{key}.output.LayerNorm.weight"],
            w[f"{key}.output.LayerNorm.bias"],
            eps,
        )
    if not cfg.architecture.endswith("ForSequenceClassification"):
        return x
    cls = x[:, 0]
    if cfg.family == "bert":
        return lin(np.tanh(lin(cls, "pooler.dense")), "classifier")
    return lin(np.tanh(lin(cls, "classifier.dense")), "classifier.out_proj")


# ---------------------------------------------------------------- running converted models


def run_onnx(
    model: Path, input_ids: np.ndarray, attention_mask: np.ndarray, token_type_ids: np.ndarray | None = None
) -> np.ndarray:
    """Run a converted model file on int64 inputs, feeding only the inputs it declares."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    names = {i.name for i in session.get_inputs()}
    feed = {"input_ids": input_ids.astype(np.int64), "attention_mask": attention_mask.astype(np.int64)}
    if "token_type_ids" in names:
        feed["token_type_ids"] = (np.zeros_like(input_ids) if token_type_ids is None else token_type_ids).astype(
            np.int64
        )
    return np.asarray(session.run(None, feed)[0])


def random_batch(
    cfg: TinyConfig, lengths: list[int], seed: int = 0, seq: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Right-padded ids (``[CLS] ... [SEP]``) with the given unpadded lengths, and the mask."""
    rng = np.random.default_rng(seed)
    seq = seq or max(lengths)
    ids = np.full((len(lengths), seq), cfg.pad_token_id, dtype=np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(len(SPECIALS), len(VOCAB), n)
        ids[row, 0], ids[row, n - 1] = 2, 3
        mask[row, :n] = 1
    return ids, mask


@pytest.fixture
def make_checkpoint(tmp_path: Path) -> Callable[..., TinyCheckpoint]:
    """Factory: ``make_checkpoint(architecture=..., prefix=..., ...)`` writes a tiny checkpoint."""
    counter = iter(range(1000))

    def factory(seed: int = 0, **options: Any) -> TinyCheckpoint:
        return write_checkpoint(tmp_path / f"ckpt{next(counter)}", TinyConfig(**options), seed)

    return factory


@pytest.fixture
def bert_checkpoint(make_checkpoint: Callable[..., TinyCheckpoint]) -> TinyCheckpoint:
    return make_checkpoint()


@pytest.fixture
def helpers() -> Any:
    """The module-level helpers, for tests (conftest modules cannot be imported under importlib mode)."""
    import types

    return types.SimpleNamespace(
        TinyConfig=TinyConfig,
        numpy_forward=numpy_forward,
        run_onnx=run_onnx,
        random_batch=random_batch,
        write_checkpoint=write_checkpoint,
        make_tokenizer_json=make_tokenizer_json,
        VOCAB=VOCAB,
    )
