"""A model of ONNX Runtime's int8 matrix kernel on x86 CPUs without VNNI, in NumPy and in ONNX.

ONNX Runtime multiplies u8 activations by s8 weights. With VNNI (``vpdpbusd``) every
product is exact. Without it (AVX2, or AVX-512 without VNNI) the kernel runs
``vpmaddubsw``: it multiplies neighbouring byte pairs ``(k, k+1)`` and adds the two
products into a *saturating* int16, then ``vpmaddwd`` with ones widens those to int32,
where the rest of the sum is exact. The activation zero point is subtracted afterwards
(from row and column sums), so the raw u8 values 0..255 enter the products.

:func:`qgemm_avx2` is that arithmetic in NumPy; :func:`emulate_avx2` rewrites an int8
ONNX graph so that every ``MatMulInteger`` and ``QAttention`` computes it, which lets a
machine with VNNI run a model as a CPU without VNNI would.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INT16_MIN, INT16_MAX = -32768, 32767


def qgemm_exact(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` of raw u8 activations ``(m, k)`` and s8 weights ``(k, n)``, exact (VNNI)."""
    return a.astype(np.int64) @ b.astype(np.int64)


def qgemm_avx2(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a @ b`` as ``vpmaddubsw`` + ``vpmaddwd`` compute it: pair sums saturate at int16."""
    a64, b64 = a.astype(np.int64), b.astype(np.int64)
    if a64.shape[1] % 2:
        a64 = np.pad(a64, ((0, 0), (0, 1)))
        b64 = np.pad(b64, ((0, 1), (0, 0)))
    pairs = a64[:, 0::2, None] * b64[None, 0::2, :] + a64[:, 1::2, None] * b64[None, 1::2, :]
    return np.clip(pairs, INT16_MIN, INT16_MAX).sum(axis=1)


def _const(name: str, array: np.ndarray) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=numpy_helper.from_array(array, name + "_value"))


def _saturating_gemm(
    prefix: str, a_u8: str, a_zero: str, weight: np.ndarray, weight_zero: np.ndarray, out: str
) -> list[onnx.NodeProto]:
    """Nodes computing ``(a - a_zero) @ weight`` with the pair sums saturated as ``vpmaddubsw`` does.

    ``a_u8`` has shape ``(..., k)``; ``out`` gets ``(..., n)`` int32.
    """
    if np.any(weight_zero != 0):
        raise ValueError(f"{prefix}: only symmetric (zero point 0) weights are modelled")
    k, n = weight.shape
    w = weight.astype(np.int32)
    if k % 2:
        w = np.pad(w, ((0, 1), (0, 0)))
    half = w.shape[0] // 2
    p = prefix
    nodes = [
        _const(f"{p}_w_even", w[0::2]),
        _const(f"{p}_w_odd", w[1::2]),
        _const(f"{p}_col_sum", weight.astype(np.int32).sum(axis=0, dtype=np.int32)),
        _const(f"{p}_pad", np.array([0, 0, 0, w.shape[0] - k], dtype=np.int64)),
        _const(f"{p}_pairs_shape", np.array([-1, half, 2], dtype=np.int64)),
        _const(f"{p}_lo", np.array(INT16_MIN, dtype=np.int32)),
        _const(f"{p}_hi", np.array(INT16_MAX, dtype=np.int32)),
        _const(f"{p}_axis1", np.array([1], dtype=np.int64)),
        _const(f"{p}_n", np.array([n], dtype=np.int64)),
        _const(f"{p}_zero", np.array([0], dtype=np.int64)),
        _const(f"{p}_minus1", np.array([-1], dtype=np.int64)),
        _const(f"{p}_one", np.array([1], dtype=np.int64)),
        _const(f"{p}_two", np.array([2], dtype=np.int64)),
        helper.make_node("Cast", [a_u8], [f"{p}_a32"], to=TensorProto.INT32),
        helper.make_node("Shape", [a_u8], [f"{p}_shape"]),
        helper.make_node("Slice", [f"{p}_shape", f"{p}_zero", f"{p}_minus1"], [f"{p}_lead"]),
        helper.make_node("Concat", [f"{p}_lead", f"{p}_n"], [f"{p}_out_shape"], axis=0),
        _const(f"{p}_flat_shape", np.array([-1, k], dtype=np.int64)),
        helper.make_node("Reshape", [f"{p}_a32", f"{p}_flat_shape"], [f"{p}_a2d"]),
        helper.make_node("Pad", [f"{p}_a2d", f"{p}_pad"], [f"{p}_a2d_even"]),
        helper.make_node("Reshape", [f"{p}_a2d_even", f"{p}_pairs_shape"], [f"{p}_a3d"]),
        helper.make_node("Slice", [f"{p}_a3d", f"{p}_zero", f"{p}_one", f"{p}_two"], [f"{p}_a_even"]),
        helper.make_node("Slice", [f"{p}_a3d", f"{p}_one", f"{p}_two", f"{p}_two"], [f"{p}_a_odd"]),
        # (m, k/2, 1) * (k/2, n) -> (m, k/2, n): the two products of each byte pair
        helper.make_node("Mul", [f"{p}_a_even", f"{p}_w_even"], [f"{p}_prod_even"]),
        helper.make_node("Mul", [f"{p}_a_odd", f"{p}_w_odd"], [f"{p}_prod_odd"]),
        helper.make_node("Add", [f"{p}_prod_even", f"{p}_prod_odd"], [f"{p}_pair"]),
        helper.make_node("Max", [f"{p}_pair", f"{p}_lo"], [f"{p}_pair_lo"]),
        helper.make_node("Min", [f"{p}_pair_lo", f"{p}_hi"], [f"{p}_pair_sat"]),
        helper.make_node("ReduceSum", [f"{p}_pair_sat", f"{p}_axis1"], [f"{p}_raw"], keepdims=0),
        # subtract the activation zero point's share: a_zero * column sums of the weights
        helper.make_node("Cast", [a_zero], [f"{p}_zp32"], to=TensorProto.INT32),
        helper.make_node("Mul", [f"{p}_zp32", f"{p}_col_sum"], [f"{p}_zp_term"]),
        helper.make_node("Sub", [f"{p}_raw", f"{p}_zp_term"], [f"{p}_2d"]),
        helper.make_node("Reshape", [f"{p}_2d", f"{p}_out_shape"], [out]),
    ]
    return nodes


def emulate_avx2(src: str | Path, dst: str | Path) -> Path:
    """Rewrite an int8 model so that its integer products saturate as on a CPU without VNNI.

    ``MatMulInteger`` nodes become the saturating product; each ``QAttention`` becomes that
    product (the QKV projection) followed by a float ``Attention`` with identity weights.
    """
    model = onnx.load(str(src))
    graph = model.graph
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    nodes: list[onnx.NodeProto] = []
    for i, node in enumerate(graph.node):
        if node.op_type == "MatMulInteger":
            a, b, a_zero, b_zero = node.input
            nodes += _saturating_gemm(f"emu{i}", a, a_zero, inits[b], inits[b_zero], node.output[0])
        elif node.op_type == "QAttention":
            x, w, bias, x_scale, w_scale, mask, x_zero, w_zero = list(node.input)[:8]
            weight = inits[w]
            p = f"emu{i}"
            nodes += _saturating_gemm(p, x, x_zero, weight, inits[w_zero], f"{p}_qkv_int")
            width = weight.shape[1]
            nodes += [
                helper.make_node("Cast", [f"{p}_qkv_int"], [f"{p}_qkv_f"], to=TensorProto.FLOAT),
                helper.make_node("Mul", [x_scale, w_scale], [f"{p}_scale"]),
                helper.make_node("Mul", [f"{p}_qkv_f", f"{p}_scale"], [f"{p}_qkv"]),
                _const(f"{p}_eye", np.eye(width, dtype=np.float32)),
                helper.make_node(
                    "Attention",
                    [f"{p}_qkv", f"{p}_eye", bias, mask],
                    list(node.output),
                    domain="com.microsoft",
                    **{a.name: helper.get_attribute_value(a) for a in node.attribute},
                ),
            ]
        else:
            nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    used = {name for node in nodes for name in node.input}
    kept = [t for t in graph.initializer if t.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    out = Path(dst)
    onnx.save_model(model, str(out))
    return out
