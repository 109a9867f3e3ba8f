"""Exploration: candidate int8 weight formats for all-MiniLM-L6-v2 (accuracy and speed on this CPU).

Quantizes the float32 graph Ogma's converter writes with ONNX Runtime's dynamic quantizer in
four ways, encodes 600 NanoDBPedia passages with each (cosine to float32), then times them
against float32 in interleaved chunks of 100 passages (two passes, order rotating).

* ``s8_pc`` — 8-bit s8 weights, per channel (Ogma's earlier format);
* ``s8_pc_rr`` — 7-bit s8 weights (``reduce_range``), per channel (Ogma's format now);
* ``u8u8_pc`` / ``u8u8_pt`` — u8 weights per channel / per tensor.

Usage::

    python benchmarks/int8_formats.py WORK_DIR path/to/nano-dbpedia [variant,variant,...]

``WORK_DIR`` must hold the float32 conversion in ``WORK_DIR/minilm`` (``ogma convert``). Output:
``benchmarks/results/int8-formats.txt`` holds one run's printout.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

from onnx import TensorProto
from onnxruntime.quantization import QuantType, quantize_dynamic

from ogma import TextEncoder

W = Path(sys.argv[1])
DATA = Path(sys.argv[2])
src = W / "minilm"
variants = {
    "s8_pc": dict(per_channel=True, reduce_range=False, weight_type=QuantType.QInt8),
    "s8_pc_rr": dict(per_channel=True, reduce_range=True, weight_type=QuantType.QInt8),
    "u8u8_pc": dict(per_channel=True, reduce_range=False, weight_type=QuantType.QUInt8),
    "u8u8_pt": dict(per_channel=False, reduce_range=False, weight_type=QuantType.QUInt8),
}
only = sys.argv[3].split(",") if len(sys.argv) > 3 else list(variants)
for name in only:
    d = W / name
    if (d / "model_int8.onnx").is_file():
        continue
    d.mkdir(exist_ok=True)
    for f in src.iterdir():
        if f.name != "model.onnx" and not (d / f.name).exists():
            os.symlink(f, d / f.name)
    quantize_dynamic(
        src / "model.onnx",
        d / "model_int8.onnx",
        op_types_to_quantize=["MatMul", "Attention"],
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
        **variants[name],
    )
with open(DATA / "corpus.jsonl", encoding="utf-8") as corpus:
    texts = [json.loads(line)["text"] for line in corpus][:600]
encs = {"fp32": TextEncoder(src, threads=2)}
for name in only:
    encs[name] = TextEncoder(W / name, quantized=True, threads=2)
vecs = {k: e.encode_documents(texts[:600]) for k, e in encs.items()}
for k in only:
    c = (vecs[k] * vecs["fp32"]).sum(1)
    print(f"{k}: cosine mean {c.mean():.4f} min {c.min():.4f}")
chunks = [texts[i : i + 100] for i in range(0, 600, 100)]
times: dict[str, list[float]] = {k: [] for k in encs}
order = list(encs)
for _ in range(2):
    for i, ch in enumerate(chunks):
        rot = order[i % len(order) :] + order[: i % len(order)]
        for k in rot:
            time.sleep(0.3)
            t = time.perf_counter()
            encs[k].encode_documents(ch)
            times[k].append(time.perf_counter() - t)
for k in only:
    ratios = [f / q for f, q in zip(times["fp32"], times[k])]
    total = sum(times["fp32"]) / sum(times[k])
    print(f"{k}: speed vs fp32 total {total:.2f} median chunk {statistics.median(ratios):.2f}")
print("fp32 texts/s", 1200 / sum(times["fp32"]))
