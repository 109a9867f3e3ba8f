"""Peak memory of ``ogma index`` as the input grows: one big file, a big folder of mixed files.

Every measurement runs in a fresh child process, which reports its own peak resident set
size (``ru_maxrss``) and wall time; the parent writes them to
``benchmarks/results/memory.json``.

Parts:

* **chunking** -- chunking one text file alone, with the default model's tokenizer:
  :func:`ogma.chunking.chunk_text` on the whole text (what ``ogma index`` did before it
  streamed) against :func:`ogma.chunking.iter_chunks` on blocks read from the file.
* **file** -- ``ogma index`` on one text file of each ``--file-mb`` size. The default model
  is loaded (its tokenizer chunks, its ONNX session is in memory), but documents are
  embedded by a fast hashing stand-in, so the size scaling can be measured in minutes.
* **folder** -- ``ogma index`` on a folder of ``--folder-mb`` of mixed files (.txt, .md,
  .html, .jsonl, .py; 4 KB to 8 MB each), with the hashing stand-in and whitespace-word
  chunking (no model: tokenising a gigabyte with the model's tokenizer alone takes an hour
  on a shared 2-core machine).
* **real** -- ``ogma index`` on one ``--real-mb`` text file with the default model doing
  the embedding, end to end.

Usage::

    python benchmarks/bench_memory.py                                  # the published run
    python benchmarks/bench_memory.py --file-mb 5 --folder-mb 20 --real-mb 0.5 --chunk-mb 2   # quick

Inputs are generated in a temporary folder (``--workdir`` to choose it) and removed.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

RESULTS = Path(__file__).parent / "results" / "memory.json"

_WORDS = (
    "the of and to in is was for on with as by at from that this it be are or an which "
    "store index query vector model token chunk search embedding local file folder sqlite "
    "retrieval document passage paragraph sentence memory stream window batch encoder "
    "lexical dense hybrid fusion rerank score metadata filter source offset overlap "
    "Paris France capital river mountain music science physics chemistry biology computer"
).split()


def _paragraphs(rng: random.Random, n_bytes: int) -> str:
    """Prose-like text: sentences of 5-25 words, paragraphs of 2-8 sentences, some numbers."""
    out: list[str] = []
    size = 0
    while size < n_bytes:
        sentences = []
        for _ in range(rng.randint(2, 8)):
            words = [rng.choice(_WORDS) for _ in range(rng.randint(5, 25))]
            if rng.random() < 0.3:
                words.append(str(rng.randint(0, 10**6)))
            sentences.append(" ".join(words).capitalize() + rng.choice(".!?."))
        paragraph = " ".join(sentences)
        out.append(paragraph)
        size += len(paragraph) + 2
    return "\n\n".join(out)


def _write_text(path: Path, megabytes: float, seed: int) -> None:
    """A text file of about ``megabytes`` MB, written in 1 MB blocks (varied per block)."""
    rng = random.Random(seed)
    block = _paragraphs(rng, 1 << 20)
    target = int(megabytes * 1e6)
    with open(path, "w", encoding="utf-8") as handle:
        written = 0
        index = 0
        while written < target:
            piece = f"Part {index}.\n\n" + block[: min(len(block), target - written)]
            handle.write(piece)
            written += len(piece)
            index += 1


def _write_folder(folder: Path, megabytes: float, seed: int) -> int:
    """Mixed files totalling about ``megabytes`` MB; returns the file count."""
    rng = random.Random(seed)
    block = _paragraphs(rng, 1 << 20)
    target, written, count = int(megabytes * 1e6), 0, 0
    while written < target:
        size = min(int(rng.choice([4e3, 2e4, 1e5, 5e5, 2e6, 8e6])), target - written)
        kind = rng.choice(["txt", "md", "html", "jsonl", "py"])
        sub = folder / f"d{count % 17}"
        sub.mkdir(parents=True, exist_ok=True)
        path = sub / f"f{count}.{kind}"
        start = rng.randrange(0, len(block) - 1000)
        text = (block[start:] + block)[: max(size, 100)]
        with open(path, "w", encoding="utf-8") as handle:
            if kind == "html":
                handle.write("<html><body>" + "".join(f"<p>{p}</p>\n" for p in text.split("\n\n")) + "</body></html>")
            elif kind == "jsonl":
                for i, p in enumerate(text.split("\n\n")):
                    handle.write(json.dumps({"id": f"{count}-{i}", "text": p, "metadata": {"n": i}}) + "\n")
            elif kind == "py":
                handle.write(
                    "".join(f"# {line}\ndef f{i}():\n    return {i}\n" for i, line in enumerate(text.split(". ")))
                )
            else:
                handle.write(text)
        written += path.stat().st_size
        count += 1
    return count


class _HashEmbedder:
    """A fast stand-in for embedding: a deterministic unit vector per text (crc32-seeded)."""

    def __init__(self, dim: int) -> None:
        self.dim = dim

    def __call__(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            out[row] = np.random.default_rng(zlib.crc32(text.encode("utf-8", "replace"))).standard_normal(self.dim)
        return out / np.linalg.norm(out, axis=1, keepdims=True)


class _HashEncoder:
    """The hashing stand-in with no tokenizer (chunks count whitespace-separated words)."""

    model_id = "bench/hash-384"
    dim = 384
    max_length = 256

    def __init__(self) -> None:
        self.embed = _HashEmbedder(self.dim)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self.embed(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed([text])[0]


def _peak_mb() -> float:
    # VmHWM is this process's own high-water mark; Linux's ru_maxrss also counts the parent's
    # resident set at fork time (carried across exec). Both are KiB.
    try:
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024
    except (OSError, StopIteration):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _reset_window_peak() -> None:
    """Start a new peak-RSS window (Linux: writing 5 to clear_refs resets VmHWM)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


class _Sampler:
    """Samples /proc/self/status every 0.2 s: the peaks of anonymous and file-backed resident memory.

    File-backed pages are mostly the store file, memory-mapped by SQLite for reads
    (``mmap_size``): page cache the kernel can drop, counted in RSS all the same.
    """

    def __init__(self) -> None:
        self.peaks = {"RssAnon": 0.0, "RssFile": 0.0}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                status = Path("/proc/self/status").read_text()
            except OSError:
                return
            for key in self.peaks:
                if f"{key}:" in status:
                    value = int(status.split(f"{key}:")[1].split()[0]) / 1024
                    self.peaks[key] = max(self.peaks[key], value)
            self._stop.wait(0.2)

    def __enter__(self) -> _Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def result(self) -> dict[str, float]:
        return {"peak_anon_mb": self.peaks["RssAnon"], "peak_file_backed_mb": self.peaks["RssFile"]}


def _window_peak_mb() -> float | None:
    """Peak RSS since :func:`_reset_window_peak` (VmHWM), or None where /proc is missing."""
    try:
        status = Path("/proc/self/status").read_text()
    except OSError:
        return None
    return int(status.split("VmHWM:")[1].split()[0]) / 1024


def _child(args: argparse.Namespace) -> dict[str, Any]:
    """Run one measurement in this (fresh) process."""
    import ogma.cli.options as cli_options
    from ogma.cli import main

    if args.child == "chunk-whole" or args.child == "chunk-stream":
        from tokenizers import Tokenizer

        from ogma.chunking import chunk_text, iter_chunks
        from ogma.encoder import TextEncoder
        from ogma.sources.read import iter_text

        raw = TextEncoder(args.model).tokenizer.tokenizer
        tokenizer = Tokenizer.from_str(raw.to_str())
        tokenizer.no_truncation()
        tokenizer.no_padding()
        baseline = _peak_mb()
        _reset_window_peak()
        start = time.perf_counter()
        if args.child == "chunk-whole":
            n = len(
                chunk_text(
                    Path(args.input).read_text(encoding="utf-8"), max_tokens=240, overlap=30, tokenizer=tokenizer
                )
            )
        else:
            pieces = iter_text(args.input, "utf-8-sig")
            n = sum(1 for _ in iter_chunks(pieces, max_tokens=240, overlap=30, tokenizer=tokenizer))
        seconds = time.perf_counter() - start
        return {
            "chunks": n,
            "seconds": seconds,
            "peak_rss_mb": _peak_mb(),
            "baseline_mb": baseline,
            "peak_after_setup_mb": _window_peak_mb(),
        }
    if args.child == "index-hash-tokenizer":
        from ogma.encoder import TextEncoder

        encoder = TextEncoder(args.model)
        fast = _HashEmbedder(encoder.dim)
        encoder.encode_documents = fast  # type: ignore[method-assign]
        cli_options.load_encoder = lambda model, **_: encoder  # type: ignore[assignment]
    elif args.child == "index-hash-words":
        words = _HashEncoder()
        cli_options.load_encoder = lambda model, **_: words  # type: ignore[assignment]
    elif args.child == "index-real":
        real = cli_options.load_encoder(args.model)
        cli_options.load_encoder = lambda model, **_: real  # type: ignore[assignment]
    else:
        raise SystemExit(f"unknown child mode {args.child}")
    db = Path(args.workdir) / f"store-{os.getpid()}.ogma"
    baseline = _peak_mb()
    _reset_window_peak()
    start = time.perf_counter()
    with _Sampler() as sampler:
        code = main(["index", args.input, "--db", str(db), "-q", "-m", args.model])
    seconds = time.perf_counter() - start
    during = _window_peak_mb()
    from ogma.store import Store

    with Store(str(db), read_only=True) as store:
        chunks = store.count()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    return {
        "exit": code,
        "chunks": chunks,
        "seconds": seconds,
        "peak_rss_mb": _peak_mb(),
        "baseline_mb": baseline,
        "peak_after_setup_mb": during,
        **sampler.result(),
    }


def _measure(mode: str, path: Path, workdir: Path, model: str) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--child", mode, "--input", str(path), "--workdir", str(workdir), "--model", model]
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode} on {path} failed:\n{done.stderr[-3000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else path.stat().st_size
    result.update(mode=mode, input_mb=round(size / 1e6, 1))
    print(json.dumps(result), flush=True)
    return result


_MODES = {
    "chunk-whole": "chunk one file: `chunk_text` on the whole text",
    "chunk-stream": "chunk one file: `iter_chunks` on 1 MiB blocks",
    "index-hash-tokenizer": "`ogma index` one file (model's tokenizer, hashing embedder)",
    "index-hash-words": "`ogma index` mixed folder (word chunking, hashing embedder)",
    "index-real": "`ogma index` one file, the model embedding",
}


def markdown(report: dict[str, Any]) -> str:
    """A markdown table of a results file."""
    rows = [
        "| run | input MB | chunks | seconds | peak RSS while loading, MB | peak RSS indexing, MB "
        "| of which anonymous / file-backed, MB |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in report["runs"]:
        split = (
            f"{run['peak_anon_mb']:.0f} / {run['peak_file_backed_mb']:.0f}" if "peak_anon_mb" in run else "not sampled"
        )
        rows.append(
            f"| {_MODES[run['mode']]} | {run['input_mb']:g} | {run['chunks']:,} | {run['seconds']:.0f} "
            f"| {run['baseline_mb']:.0f} | {run['peak_rss_mb']:.0f} | {split} |"
        )
    return "\n".join(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chunk-mb", type=float, default=10, help="text size for the chunking part (0: skip)")
    parser.add_argument("--file-mb", type=float, nargs="*", default=[5, 50], help="single-file sizes")
    parser.add_argument("--folder-mb", type=float, nargs="*", default=[100, 1000], help="mixed-folder sizes")
    parser.add_argument("--real-mb", type=float, default=1, help="file size embedded by the real model (0: skip)")
    parser.add_argument("--model", default=None, help="the model (default: ogma.registry.DEFAULT_MODEL)")
    parser.add_argument("--workdir", default=None, help="where inputs are generated (default: a temp dir)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--markdown", type=Path, default=None, help="print a results file as a markdown table")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--input", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args)))
        return
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return
    from ogma.registry import DEFAULT_MODEL

    model = args.model or DEFAULT_MODEL
    work = Path(args.workdir or tempfile.mkdtemp(prefix="ogma-bench-memory-"))
    work.mkdir(parents=True, exist_ok=True)
    runs: list[dict[str, Any]] = []
    try:
        if args.chunk_mb:
            text = work / "chunk.txt"
            _write_text(text, args.chunk_mb, seed=1)
            runs += [_measure("chunk-whole", text, work, model), _measure("chunk-stream", text, work, model)]
            text.unlink()
        for mb in args.file_mb:
            path = work / f"file-{mb:g}MB.txt"
            _write_text(path, mb, seed=2)
            runs.append(_measure("index-hash-tokenizer", path, work, model))
            path.unlink()
        for mb in args.folder_mb:
            folder = work / f"folder-{mb:g}MB"
            files = _write_folder(folder, mb, seed=3)
            result = _measure("index-hash-words", folder, work, model)
            result["files"] = files
            runs.append(result)
            shutil.rmtree(folder)
        if args.real_mb:
            path = work / f"real-{args.real_mb:g}MB.txt"
            _write_text(path, args.real_mb, seed=4)
            runs.append(_measure("index-real", path, work, model))
            path.unlink()
    finally:
        if args.workdir is None:
            shutil.rmtree(work, ignore_errors=True)
    report = {
        "machine": {
            "cpu_flags": cpu_flags(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average_at_end": list(os.getloadavg()),
        },
        "model": model,
        "runs": runs,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()
