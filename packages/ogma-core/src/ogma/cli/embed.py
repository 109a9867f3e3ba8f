"""``ogma embed``: texts (arguments, stdin or a file) → JSONL or .npy."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ogma.registry import DEFAULT_MODEL
from ogma.types import PRECISIONS, TASKS

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``embed`` command."""
    parser = subparsers.add_parser(
        "embed",
        help="embed texts to JSONL or .npy",
        description="Embed texts given as arguments, read from a file (one text per line, or JSONL with a "
        "'text' field) or from standard input. Writes one JSON object per text, or a .npy matrix.",
    )
    parser.add_argument("texts", nargs="*", help="texts to embed (default: read --input or standard input)")
    parser.add_argument("-i", "--input", type=Path, help="file with one text per line (.txt) or JSONL with 'text'")
    parser.add_argument("-o", "--output", type=Path, help="write here (.npy for a matrix, else JSONL); default stdout")
    parser.add_argument("-m", "--model", default=DEFAULT_MODEL, help=f"model id or folder (default {DEFAULT_MODEL})")
    parser.add_argument("--task", choices=TASKS, default="document", help="how to encode (default document)")
    parser.add_argument("--dim", type=int, help="Matryoshka dimension to truncate to")
    parser.add_argument("--precision", choices=PRECISIONS, default="float32", help="output precision")
    parser.add_argument("--quantized", action="store_true", help="run the int8 model")
    parser.add_argument("--threads", type=int, help="inference threads (default: all cores)")
    parser.add_argument("--batch-size", type=int, default=32, help="texts per forward pass")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow exporting Ogma checkpoints")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--ray",
        nargs="?",
        const="local",
        metavar="ADDRESS",
        help="encode on Ray Data: 'ogma embed --ray [ADDRESS] IN OUT' reads JSONL or Parquet (id, text) and "
        "writes a folder of Parquet; ADDRESS is 'auto', 'ray://host:10001' or 'host:6379' (default: a local Ray)",
    )
    parser.add_argument("--actors", type=int, default=1, help="with --ray: encoder actors (default 1)")
    parser.set_defaults(func=run)


def _read_texts(args: argparse.Namespace) -> list[str]:
    if args.texts:
        return list(args.texts)
    if args.input:
        try:
            raw = args.input.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise SystemExit(f"ogma embed: cannot read {args.input}: {exc}") from exc
    else:
        raw = sys.stdin.read()
    lines = [line for line in raw.splitlines() if line.strip()]
    if args.input and args.input.suffix == ".jsonl":
        texts = []
        for number, line in enumerate(lines, 1):
            try:
                texts.append(str(json.loads(line)["text"]))
            except (json.JSONDecodeError, KeyError, TypeError) as exc:
                raise SystemExit(f"ogma embed: {args.input}:{number}: expected a JSON object with 'text'") from exc
        return texts
    return lines


def run(args: argparse.Namespace) -> int:
    """Run ``ogma embed``."""
    if args.ray is not None:
        from ogma.distributed.cli import run_ray

        return run_ray(args)
    from ogma.encoder import TextEncoder

    texts = _read_texts(args)
    encoder = TextEncoder(
        args.model,
        quantized=args.quantized,
        threads=args.threads,
        batch_size=args.batch_size,
        trust_remote_code=args.trust_remote_code,
        show_progress=False if args.quiet else None,
    )
    vectors = encoder.encode(texts, task=args.task, dim=args.dim, precision=args.precision)
    if args.output and args.output.suffix == ".npy":
        np.save(args.output, vectors)
        return 0
    out = args.output.open("w", encoding="utf-8") if args.output else sys.stdout
    try:
        for text, vector in zip(texts, vectors, strict=True):
            out.write(json.dumps({"text": text, "embedding": vector.tolist()}) + "\n")
    finally:
        if args.output:
            out.close()
    return 0
