"""Run an example notebook's code cells in order in one namespace (no Jupyter kernel needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def run_notebook(path: Path) -> dict[str, Any]:
    """Execute the notebook's code cells in order; returns the namespace they ran in."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for index, cell in enumerate(notebook["cells"]):
        if cell["cell_type"] == "code":
            exec(compile("".join(cell["source"]), f"{path.name}[cell {index}]", "exec"), namespace)
    return namespace
