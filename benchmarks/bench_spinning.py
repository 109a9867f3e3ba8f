"""ONNX Runtime thread spinning on or off: offline encoding and ``ogma serve``, interleaved.

ONNX Runtime's intra-op worker threads busy-wait between operators by default. Ogma turns
that off (``$OGMA_ORT_SPINNING=1`` turns it back on). This benchmark measures both settings
with all-MiniLM-L6-v2, alternating them ``--rounds`` times so a change in the machine's load
hits both:

* **offline**: a fresh process runs ``TextEncoder.encode`` on ``--passages`` NanoDBPedia
  passages (after a warm-up); passages/s and CPU ms per passage;
* **served**: a fresh ``ogma serve`` process, ``--clients`` concurrent clients sending one
  passage per request (the clients of ``bench_serve.py``); passages/s and the server's CPU
  ms per passage.

Run it on an idle machine and on a loaded one (the setting matters most when the cores are
shared)::

    python benchmarks/bench_spinning.py --data path/to/nano-dbpedia --rounds 2

Writes ``benchmarks/results/spinning.json`` (``--out``) and prints a markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

from _common import cpu_flags
from bench_serve import REAL_MODEL, free_port, load_passages, measure

HERE = Path(__file__).resolve().parent

OFFLINE = """
import json, sys, time
from ogma import TextEncoder
texts = json.load(sys.stdin)
encoder = TextEncoder({model!r}, threads={threads}, show_progress=False)
encoder.encode(texts[:32])
started, cpu = time.perf_counter(), time.process_time()
encoder.encode(texts)
print(json.dumps([len(texts) / (time.perf_counter() - started), 1000 * (time.process_time() - cpu) / len(texts)]))
"""


def env_for(spinning: bool) -> dict[str, str]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    env["OGMA_ORT_SPINNING"] = "1" if spinning else "0"
    return env


def offline(texts: list[str], threads: int, spinning: bool) -> dict[str, float]:
    code = OFFLINE.format(model=REAL_MODEL, threads=threads)
    done = subprocess.run(
        [sys.executable, "-c", code],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        env=env_for(spinning),
        check=True,
    )
    rate, cpu = json.loads(done.stdout.strip().splitlines()[-1])
    return {"passages_per_s": rate, "cpu_ms_per_passage": cpu}


def served(texts: list[str], args: argparse.Namespace, spinning: bool) -> dict[str, float]:
    port = free_port()
    cmd = [sys.executable, "-m", "ogma.cli", "serve", "-m", REAL_MODEL, "--port", str(port), "-q"]
    cmd += ["--threads", str(args.threads), "--max-queue", str(max(16384, len(texts)))]
    row = measure(cmd, port, texts, args, env=env_for(spinning))
    return {k: row[k] for k in ("passages_per_s", "server_cpu_ms_per_passage", "client_cpu_ms_per_passage", "p50_ms")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, required=True, help="BEIR-format corpus folder (corpus.jsonl)")
    parser.add_argument("--passages", type=int, default=600)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--out", type=Path, default=HERE / "results" / "spinning.json")
    args = parser.parse_args()
    texts = load_passages(args.data, args.passages)
    load_start = os.getloadavg()
    runs: dict[str, dict[str, list[dict[str, float]]]] = {
        "off": {"offline": [], "served": []},
        "on": {"offline": [], "served": []},
    }
    for r in range(args.rounds):
        for name in ("off", "on") if r % 2 == 0 else ("on", "off"):
            spinning = name == "on"
            runs[name]["offline"].append(offline(texts, args.threads, spinning))
            runs[name]["served"].append(served(texts, args, spinning))
            print(name, runs[name]["offline"][-1], runs[name]["served"][-1], file=sys.stderr, flush=True)
    summary: dict[str, Any] = {}
    for name, kinds in runs.items():
        summary[name] = {
            kind: {key: statistics.median(row[key] for row in rows) for key in rows[0]} for kind, rows in kinds.items()
        }
    report = {
        "machine": {
            "cpu_flags": cpu_flags(),
            "cpus": os.cpu_count(),
            "load_average_start": load_start,
            "load_average_end": os.getloadavg(),
        },
        "settings": {"passages": len(texts), "clients": args.clients, "threads": args.threads, "rounds": args.rounds},
        "runs": runs,
        "median": summary,
        "ratio_off_vs_on": {
            "offline_passages_per_s": summary["off"]["offline"]["passages_per_s"]
            / summary["on"]["offline"]["passages_per_s"],
            "served_passages_per_s": summary["off"]["served"]["passages_per_s"]
            / summary["on"]["served"]["passages_per_s"],
        },
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"CPU flags: {' '.join(cpu_flags())}; load average {load_start} -> {os.getloadavg()}")
    print("\n| spinning | offline passages/s | offline CPU ms/passage | served passages/s | server CPU ms/passage |")
    print("|---|---:|---:|---:|---:|")
    for name in ("off", "on"):
        off, srv = summary[name]["offline"], summary[name]["served"]
        print(
            f"| {name} | {off['passages_per_s']:.1f} | {off['cpu_ms_per_passage']:.1f} | "
            f"{srv['passages_per_s']:.1f} | {srv['server_cpu_ms_per_passage']:.1f} |"
        )


if __name__ == "__main__":
    main()
