"""The ``ogma embed --ray`` path: argument handling over :func:`embed_to_parquet`.

``--ray`` takes an optional address, so ``ogma embed --ray IN OUT`` would read ``IN``
as the address; :func:`split_ray_args` tells an address from a file by its form.

Example:
    >>> split_ray_args("in.jsonl", ["out/"], None, None)
    ('local', 'in.jsonl', 'out/')
    >>> split_ray_args("ray://head:10001", ["in.jsonl", "out/"], None, None)
    ('ray://head:10001', 'in.jsonl', 'out/')
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ogma.errors import UsageError
from ogma.registry import DEFAULT_MODEL

__all__ = ["check_output_folder", "is_ray_address", "run_ray", "split_ray_args"]

_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-]+:\d+$")


def is_ray_address(value: str) -> bool:
    """``"local"``, ``"auto"``, a ``scheme://`` URI or ``host:port``.

    Example:
        >>> is_ray_address("10.0.0.5:6379"), is_ray_address("corpus.jsonl")
        (True, False)
    """
    return value in ("local", "auto") or "://" in value or bool(_HOST_PORT.match(value))


def split_ray_args(ray: str, texts: list[str], input_path: Path | None, output: Path | None) -> tuple[str, str, str]:
    """Resolve ``(address, IN, OUT)`` from ``--ray [ADDRESS]``, the positionals and ``-i``/``-o``.

    Raises:
        UsageError: IN or OUT is missing, or there are extra arguments.
    """
    address = ray
    rest = list(texts)
    if not is_ray_address(ray):
        address, rest = "local", [ray, *rest]
    paths = ([str(input_path)] if input_path else []) + rest[: 2 - bool(input_path) - bool(output)]
    extra = rest[2 - bool(input_path) - bool(output) :]
    if output:
        paths.append(str(output))
    if len(paths) != 2 or extra:
        raise UsageError(
            "--ray expects one input (JSONL or Parquet) and one output folder: ogma embed --ray [ADDRESS] IN OUT"
        )
    return address, paths[0], paths[1]


def run_ray(args: argparse.Namespace) -> int:
    """Run ``ogma embed --ray``: encode IN on Ray Data, write Parquet files to OUT.

    Everything that needs no Ray is checked first (arguments, the output folder, every
    JSONL line or the Parquet columns), so a mistake is reported before Ray starts.
    """
    from ogma.distributed.ray_data import embed_to_parquet, init_ray, input_dataset, load_input

    address, source, output = split_ray_args(args.ray, list(args.texts), args.input, args.output)
    if args.actors < 1:
        raise UsageError(f"--actors must be a positive integer, got {args.actors}")
    check_output_folder(Path(output))
    try:
        loaded = load_input(source)
    except FileNotFoundError as exc:
        raise UsageError(str(exc)) from exc
    Path(output).mkdir(parents=True, exist_ok=True)  # an unwritable OUT fails here, before Ray starts
    init_ray(address)
    files = embed_to_parquet(
        input_dataset(*loaded),
        output,
        model=args.model or DEFAULT_MODEL,
        task=args.task,
        dim=args.dim,
        precision=args.precision,
        num_actors=args.actors,
        threads_per_actor=args.threads or 1,
        batch_size=args.batch_size,
        quantized=args.quantized,
    )
    if not (getattr(args, "quiet", False) or getattr(args, "quiet_top", False)):
        sys.stdout.write(f"wrote {len(files)} Parquet file(s) to {output}\n")
    return 0


def check_output_folder(output: Path) -> None:
    """Refuse an OUT that is not (or cannot become) a folder of new Parquet files.

    Raises:
        UsageError: OUT looks like a file name, is a file, or already holds Parquet files
            (an import of the folder would mix the two runs).
    """
    if output.suffix in (".npy", ".jsonl", ".json"):
        raise UsageError(f"OUT is a folder of Parquet files, got {str(output)!r}; give a folder name such as vectors/")
    if output.exists() and not output.is_dir():
        raise UsageError(f"OUT {str(output)!r} is a file; give a folder (created if missing)")
    if output.is_dir() and any(output.glob("*.parquet")):
        raise UsageError(
            f"OUT {str(output)!r} already holds Parquet files: choose a new folder or remove them "
            "(ogma import of the folder would mix both runs)"
        )
