"""Checks run inside a clean virtual environment that has only Ogma's built wheels installed.

``python3 dev.py smoke`` (and a full ``python3 dev.py test``) builds every package under
``packages/`` from a clean copy, installs the wheels into a new venv and runs this script there
with the wheel file names as arguments. It checks that each distribution ships its typed
packages (``py.typed``) and its licence, that every typed package imports from the venv (not the
checkout), and that the ``ogma`` command works.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import sysconfig
from pathlib import Path


def distribution_name(wheel: str) -> str:
    return wheel.split("-")[0].replace("_", "-")


def check_distribution(dist_name: str) -> list[str]:
    dist = importlib.metadata.distribution(dist_name)
    files = [str(f) for f in dist.files or []]
    typed = sorted({f.rsplit("/", 1)[0] for f in files if f.endswith("/py.typed")})
    if not typed:
        raise SystemExit(f"{dist_name}: the wheel has no py.typed")
    if not any(Path(f).name.startswith("LICENSE") for f in files):
        raise SystemExit(f"{dist_name}: the wheel ships no LICENSE file")
    if not dist.metadata.get_all("Project-URL"):
        raise SystemExit(f"{dist_name}: no project URLs in the metadata")
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    modules = []
    for folder in typed:
        module = importlib.import_module(folder.replace("/", "."))
        where = Path(module.__file__ or next(iter(module.__path__))).resolve()
        if site not in where.parents:
            raise SystemExit(f"{dist_name}: {module.__name__} imported from {where}, not from the clean venv")
        modules.append(module.__name__)
    return modules


def main(wheels: list[str]) -> int:
    for wheel in wheels:
        print(f"{wheel}: imports {', '.join(check_distribution(distribution_name(wheel)))}")
    for command in (["ogma", "--help"], ["ogma", "doctor"]):
        subprocess.run([str(Path(sys.executable).parent / command[0]), *command[1:]], check=True)
    from ogma import Store

    with Store(":memory:") as store:
        store.add(["SQLite keeps the index in one file.", "Cats sleep a lot."], embeddings=[[1.0, 0.0], [0.0, 1.0]])
        hits = store.search("index file", mode="lexical", k=1)
        if not hits or "SQLite" not in hits[0].text:
            raise SystemExit(f"lexical search in the installed package returned {hits!r}")
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
