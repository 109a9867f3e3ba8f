"""``ogma convert``: a BERT-family checkpoint folder → an ONNX model folder (no torch)."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``convert`` command."""
    parser = subparsers.add_parser(
        "convert",
        help="convert a checkpoint folder to ONNX",
        description="Convert a BERT-family checkpoint (config.json + model.safetensors + tokenizer.json, "
        "sentence-transformers layout; BertModel or BertForSequenceClassification) into an ONNX model folder "
        "that ogma loads, without torch (a BertForMaskedLM becomes a SPLADE graph with one term weight per "
        "vocabulary entry, for ONNX Runtime directly). With an Ogma checkpoint (ogma_model.py) it exports with PyTorch "
        "instead, which runs the repository's code and so needs --trust-remote-code.",
    )
    parser.add_argument("src", type=Path, help="checkpoint folder")
    parser.add_argument("out", type=Path, help="output folder (must not exist unless --overwrite)")
    parser.add_argument("--int8", action="store_true", help="also write an int8 model (model_int8.onnx)")
    parser.add_argument("--overwrite", action="store_true", help="replace an existing output folder")
    parser.add_argument("--trust-remote-code", action="store_true", help="allow exporting Ogma checkpoints")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``ogma convert``."""
    if (args.src / "ogma_model.py").is_file():
        from ogma.convert.ogma_export import export_ogma_checkpoint

        out = export_ogma_checkpoint(
            args.src, args.out, trust_remote_code=args.trust_remote_code, overwrite=args.overwrite
        )
    else:
        from ogma.convert import convert_checkpoint

        out = convert_checkpoint(args.src, args.out, int8=args.int8, overwrite=args.overwrite)
    print(f"wrote {out}")
    return 0
