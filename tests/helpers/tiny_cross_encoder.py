"""Tiny synthetic cross-encoders built with the ``onnx`` helper API (no torch).

The graph has the interface of a BERT sequence classifier (``input_ids``,
``attention_mask``, ``token_type_ids`` -> ``logits``): word + position + token-type
embeddings, ``tanh``, masked mean pooling, and a linear head. A numpy reference
computes the same logits one pair at a time, so batching, padding, sorting and
truncation can be checked exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, processors

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]"]
WORDS = [
    "paris", "is", "the", "capital", "of", "france", "berlin", "germany", "bananas", "are", "yellow",
    "what", "city", "which", "a", "in", "river", "seine", "flows", "through", "fruit", "country",
]  # fmt: skip


@dataclass
class TinyCrossEncoder:
    """A synthetic cross-encoder folder and a numpy reference of its logits."""

    folder: Path
    tokenizer: Tokenizer
    word: np.ndarray
    position: np.ndarray
    token_type: np.ndarray
    head: np.ndarray
    bias: np.ndarray

    def reference(self, query: str, document: str, *, max_length: int | None = None) -> np.ndarray:
        """Logits of one pair, unbatched and unpadded (document-only truncation)."""
        q = self.tokenizer.encode(query, add_special_tokens=False).ids
        d = self.tokenizer.encode(document, add_special_tokens=False).ids
        if max_length is not None:
            d = d[: max(0, max_length - 3 - len(q))]
        ids = [2, *q, 3, *d, 3]
        types = [0] * (len(q) + 2) + [1] * (len(d) + 1)
        x = np.tanh(self.word[ids] + self.position[: len(ids)] + self.token_type[types])
        return x.mean(axis=0) @ self.head + self.bias


def build_tokenizer(max_length: int = 128) -> Tokenizer:
    vocab = {tok: i for i, tok in enumerate(SPECIALS + WORDS + [f"w{i}" for i in range(100)])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.normalizer = normalizers.Lowercase()
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", 2), ("[SEP]", 3)],
    )
    # Like many hub files, ship with truncation and fixed padding switched on:
    # the reranker must override both.
    tok.enable_truncation(max_length)
    tok.enable_padding(length=max_length, pad_id=0, pad_token="[PAD]")
    return tok


def build_cross_encoder(
    folder: Path,
    *,
    num_labels: int = 1,
    hidden: int = 8,
    max_positions: int = 128,
    seed: int = 0,
    onnx_subdir: bool = False,
    int32_inputs: bool = False,
) -> TinyCrossEncoder:
    """Write ``model.onnx`` (or ``onnx/model.onnx``) + ``tokenizer.json`` into ``folder``."""
    rng = np.random.default_rng(seed)
    tokenizer = build_tokenizer(max_positions)
    vocab_size = tokenizer.get_vocab_size()
    word = rng.normal(size=(vocab_size, hidden)).astype(np.float32)
    position = rng.normal(scale=0.5, size=(max_positions, hidden)).astype(np.float32)
    token_type = rng.normal(scale=0.5, size=(2, hidden)).astype(np.float32)
    head = rng.normal(scale=3.0, size=(hidden, num_labels)).astype(np.float32)
    bias = rng.normal(size=(num_labels,)).astype(np.float32)

    int_type = TensorProto.INT32 if int32_inputs else TensorProto.INT64
    names = ("input_ids", "attention_mask", "token_type_ids")
    inputs = [helper.make_tensor_value_info(n, int_type, ["batch", "seq"]) for n in names]
    output = helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", num_labels])
    inits = [
        numpy_helper.from_array(word, "word"),
        numpy_helper.from_array(position, "position"),
        numpy_helper.from_array(token_type, "token_type"),
        numpy_helper.from_array(head, "head"),
        numpy_helper.from_array(bias, "bias"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "one_i"),
        numpy_helper.from_array(np.array(0, dtype=np.int64), "zero_s"),
        numpy_helper.from_array(np.array(1, dtype=np.int64), "one_s"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        numpy_helper.from_array(np.array([2], dtype=np.int64), "axis2"),
    ]
    nodes = [
        helper.make_node("Gather", ["word", "input_ids"], ["e_word"]),
        helper.make_node("Gather", ["token_type", "token_type_ids"], ["e_type"]),
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one_s"], ["seq_len"], axis=0),
        helper.make_node("Cast", ["seq_len"], ["seq_len64"], to=TensorProto.INT64),
        helper.make_node("Range", ["zero_s", "seq_len64", "one_s"], ["positions"]),
        helper.make_node("Gather", ["position", "positions"], ["e_pos"]),
        helper.make_node("Add", ["e_word", "e_type"], ["e_sum"]),
        helper.make_node("Add", ["e_sum", "e_pos"], ["e_all"]),
        helper.make_node("Tanh", ["e_all"], ["x"]),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["mask_f", "axis2"], ["mask3"]),
        helper.make_node("Mul", ["x", "mask3"], ["xm"]),
        helper.make_node("ReduceSum", ["xm", "axis1"], ["xsum"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["msum"], keepdims=0),
        helper.make_node("Div", ["xsum", "msum"], ["pooled"]),
        helper.make_node("MatMul", ["pooled", "head"], ["proj"]),
        helper.make_node("Add", ["proj", "bias"], ["logits"]),
    ]
    graph = helper.make_graph(nodes, "tiny_cross_encoder", inputs, [output], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    target = folder / "onnx" / "model.onnx" if onnx_subdir else folder / "model.onnx"
    target.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(target))
    tokenizer.save(str(folder / "tokenizer.json"))
    (folder / "config.json").write_text(
        json.dumps({"model_type": "bert", "max_position_embeddings": max_positions, "num_labels": num_labels})
    )
    reference_tok = Tokenizer.from_file(str(folder / "tokenizer.json"))
    reference_tok.no_padding()
    reference_tok.no_truncation()
    return TinyCrossEncoder(folder, reference_tok, word, position, token_type, head, bias)
