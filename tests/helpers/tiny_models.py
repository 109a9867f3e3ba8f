"""Tiny synthetic embedding models, built by the tests themselves (no downloads).

* :func:`make_word_tokenizer` — a WordPiece-free word-level ``tokenizer.json`` with
  BERT's ``[CLS] … [SEP]`` post-processor.
* :func:`bert_wordpiece_tokenizer` — a lowercasing BERT-style WordPiece tokenizer over
  a given vocabulary (the converter and Ogma-checkpoint fixtures build theirs with it).
* :func:`make_bert_like_onnx` — an ONNX graph with BERT's inputs whose
  ``last_hidden_state`` is an embedding lookup plus a position term, so results
  depend on the order of tokens and on padding handling.
* :func:`make_ogma_like_onnx` — an ONNX graph with the exported Ogma interface
  (``input_ids``, ``attention_mask``, ``task``) → ``sentence_embedding``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

WORDS = (
    "the a of and to in is was for on with as by at from paris france capital city cat cats dog dogs "
    "sleep sleeps purr purrs river rivers mountain music song songs football team player game science "
    "physics chemistry biology computer computers search engine query document tiny model ogma"
).split()


def make_word_tokenizer(path: Path) -> Tokenizer:
    """A word-level tokenizer over :data:`WORDS` with [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3."""
    vocab = {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3}
    for word in WORDS:
        vocab.setdefault(word, len(vocab))
    tok = Tokenizer(models.WordLevel(vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    tok.save(str(path))
    return tok


def bert_wordpiece_tokenizer(vocab: dict[str, int]) -> Tokenizer:
    """BERT's recipe over ``vocab`` (which must hold ``[UNK]``, ``[CLS]`` and ``[SEP]``):
    lowercasing normaliser, BERT pre-tokeniser, WordPiece, ``[CLS] … [SEP]`` wrapping."""
    tokenizer = Tokenizer(models.WordPiece(vocab, unk_token="[UNK]", max_input_chars_per_word=100))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])],
    )
    tokenizer.decoder = decoders.WordPiece()
    return tokenizer


def _graph_inputs(with_types: bool, with_task: bool) -> list[onnx.ValueInfoProto]:
    inputs = [
        helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
        helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"]),
    ]
    if with_types:
        inputs.append(helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["batch", "seq"]))
    if with_task:
        inputs.append(helper.make_tensor_value_info("task", TensorProto.INT64, ["batch"]))
    return inputs


def make_bert_like_onnx(
    path: Path, *, vocab: int, hidden: int = 16, positions: int = 512, seed: int = 0, position_name: str = "pos"
) -> None:
    """``last_hidden_state[b, t] = emb[input_ids[b, t]] + pos[t]`` (padding rows are ignored by pooling).

    ``position_name`` names the ``(positions, hidden)`` table (a converted BERT calls it
    ``position_embeddings``); a sequence longer than ``positions`` fails in ONNX Runtime."""
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(vocab, hidden)).astype(np.float32)
    pos = (0.1 * rng.normal(size=(positions, hidden))).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["emb", "input_ids"], ["tok"]),
        helper.make_node("Shape", ["input_ids"], ["shape"]),
        helper.make_node("Gather", ["shape", "one"], ["seq"], axis=0),
        helper.make_node("Range", ["zero", "seq", "one"], ["pos_ids"]),
        helper.make_node("Gather", [position_name, "pos_ids"], ["pos_vecs"]),
        helper.make_node("Add", ["tok", "pos_vecs"], ["last_hidden_state"]),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-bert",
        _graph_inputs(True, False),
        [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "seq", hidden])],
        initializer=[
            numpy_helper.from_array(emb, "emb"),
            numpy_helper.from_array(pos, position_name),
            numpy_helper.from_array(np.array(0, dtype=np.int64), "zero"),
            numpy_helper.from_array(np.array(1, dtype=np.int64), "one"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def make_ogma_like_onnx(path: Path, *, vocab: int, dim: int = 32, seed: int = 0) -> None:
    """``sentence_embedding = normalize(masked_mean(emb[ids]) + task_emb[task])``."""
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(vocab, dim)).astype(np.float32)
    task_emb = rng.normal(size=(3, dim)).astype(np.float32)
    nodes = [
        helper.make_node("Gather", ["emb", "input_ids"], ["tok"]),
        helper.make_node("Cast", ["attention_mask"], ["maskf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["maskf", "minus1"], ["mask3"]),
        helper.make_node("Mul", ["tok", "mask3"], ["masked"]),
        helper.make_node("ReduceSum", ["masked", "axis1"], ["summed"], keepdims=0),
        helper.make_node("ReduceSum", ["mask3", "axis1"], ["count"], keepdims=0),
        helper.make_node("Div", ["summed", "count"], ["mean"]),
        helper.make_node("Gather", ["task_emb", "task"], ["task_vec"]),
        helper.make_node("Add", ["mean", "task_vec"], ["raw"]),
        helper.make_node("LpNormalization", ["raw"], ["sentence_embedding"], axis=-1, p=2),
    ]
    graph = helper.make_graph(
        nodes,
        "tiny-ogma",
        _graph_inputs(False, True),
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", dim])],
        initializer=[
            numpy_helper.from_array(emb, "emb"),
            numpy_helper.from_array(task_emb, "task_emb"),
            numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus1"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis1"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))


def make_tiny_bert_folder(folder: Path, *, pooling: str = "mean", st_files: bool = True) -> Path:
    """A complete model folder: model.onnx, tokenizer.json and sentence-transformers configs."""
    folder.mkdir(parents=True, exist_ok=True)
    tok = make_word_tokenizer(folder / "tokenizer.json")
    make_bert_like_onnx(folder / "model.onnx", vocab=tok.get_vocab_size())
    (folder / "config.json").write_text(json.dumps({"hidden_size": 16, "max_position_embeddings": 512}))
    if st_files:
        (folder / "1_Pooling").mkdir(exist_ok=True)
        (folder / "1_Pooling" / "config.json").write_text(
            json.dumps({"pooling_mode_cls_token": pooling == "cls", "pooling_mode_mean_tokens": pooling == "mean"})
        )
        (folder / "modules.json").write_text(json.dumps([{"type": "sentence_transformers.models.Normalize"}]))
        (folder / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": 64}))
    return folder


def make_tiny_ogma_folder(folder: Path, *, dim: int = 32) -> Path:
    """A folder shaped like an exported Ogma model (``ogma_conversion.json`` kind ``ogma``)."""
    folder.mkdir(parents=True, exist_ok=True)
    tok = make_word_tokenizer(folder / "tokenizer.json")
    make_ogma_like_onnx(folder / "model.onnx", vocab=tok.get_vocab_size() + 7 + 1, dim=dim)
    (folder / "ogma_conversion.json").write_text(
        json.dumps({"kind": "ogma", "d_output": dim, "matryoshka_dims": [dim, dim // 2, dim // 4], "max_length": 1024})
    )
    return folder
