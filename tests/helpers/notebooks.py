"""Example notebooks in tests: run their code cells (no Jupyter kernel needed) and check how they ship."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def code_cells(path: Path) -> list[dict[str, Any]]:
    """The notebook's code cells, in order."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return [cell for cell in notebook["cells"] if cell["cell_type"] == "code"]


def run_notebook(path: Path) -> dict[str, Any]:
    """Execute the notebook's code cells in order; returns the namespace they ran in."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    for index, cell in enumerate(code_cells(path)):
        exec(compile("".join(cell["source"]), f"{path.name}[code cell {index}]", "exec"), namespace)
    return namespace


def assert_shipped_executed(path: Path, *, placeholder: str) -> str:
    """Check the shipped notebook carries one clean run and marks its stand-in model; returns its printed text.

    One run, in order: execution counts 1..n, no error output, and every cell after the imports
    printed something. ``placeholder`` is the source that tells readers where their real model goes.
    """
    code = code_cells(path)
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    assert all(output["output_type"] != "error" for cell in code for output in cell["outputs"])
    assert all(cell["outputs"] for cell in code[1:])
    assert placeholder in "".join("".join(cell["source"]) for cell in code)
    return "".join("".join(output.get("text", "")) for cell in code for output in cell["outputs"])
