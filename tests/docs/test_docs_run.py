"""Every Python and shell block in the docs and READMEs runs, or says why it cannot.

A fenced ``python`` block is executed; the blocks of one file share a namespace and run in
order, in a scratch folder where ``docs/`` and ``examples/`` of this repository are visible.
A ``bash``/``sh``/``console`` block is run by bash in the same scratch folder with the test
environment's ``bin/`` first on ``PATH`` (so ``ogma`` is the command under test), one block at
a time, failing on the first failing command.

A block that cannot run here (it installs packages, needs the Hugging Face Hub, a GPU or a
data set that is not shipped) carries a marker on the line just above its fence::

    <!-- docs-test: skip (the reason) -->

The reason is required. A block whose output depends on a previous skipped block should be
marked too. Everything else is a test: a doc example that fails is a failing test.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC_FILES = sorted(
    [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "packages").glob("*/README.md")],
    key=lambda p: str(p),
)
FENCE = re.compile(r"^```(\w+)?\s*$")
SKIP = re.compile(r"^<!--\s*docs-test:\s*skip\s*\((?P<reason>[^)]+)\)\s*-->\s*$")
MARKER = re.compile(r"<!--\s*docs-test")
PYTHON = {"python", "py"}
SHELL = {"bash", "sh", "console", "shell"}


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    language: str
    code: str
    skip_reason: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def parse_blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a Markdown file, with their skip markers."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            if MARKER.search(lines[index]) and not SKIP.match(lines[index].strip()):
                raise ValueError(f"{path}:{index + 1}: malformed docs-test marker {lines[index]!r}")
            index += 1
            continue
        language = (match.group(1) or "").lower()
        start = index
        index += 1
        body: list[str] = []
        while index < len(lines) and not lines[index].startswith("```"):
            body.append(lines[index])
            index += 1
        previous = lines[start - 1].strip() if start > 0 else ""
        skip = SKIP.match(previous)
        blocks.append(Block(path, start + 1, language, "\n".join(body) + "\n", skip and skip.group("reason").strip()))
        index += 1
    return blocks


ALL_BLOCKS = [b for path in DOC_FILES for b in parse_blocks(path) if b.language in PYTHON | SHELL]


def test_docs_have_runnable_examples() -> None:
    """The harness finds blocks at all (a parser bug must not turn every test into nothing)."""
    assert len([b for b in ALL_BLOCKS if b.skip_reason is None]) >= 10


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> dict[Path, Path]:
    """One scratch folder per doc file, with the repository's docs/ and examples/ visible."""
    folders: dict[Path, Path] = {}
    for path in DOC_FILES:
        folder = tmp_path_factory.mktemp(re.sub(r"\W", "_", str(path.relative_to(ROOT))))
        for name in ("docs", "examples"):
            (folder / name).symlink_to(ROOT / name)
        folders[path] = folder
    return folders


_NAMESPACES: dict[Path, dict[str, Any]] = {}


@pytest.mark.integration
@pytest.mark.parametrize("block", ALL_BLOCKS, ids=[b.id for b in ALL_BLOCKS])
def test_doc_block_runs(block: Block, scratch: dict[Path, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    if block.skip_reason is not None:
        pytest.skip(f"marked not runnable: {block.skip_reason}")
    folder = scratch[block.path]
    monkeypatch.chdir(folder)
    if block.language in PYTHON:
        namespace = _NAMESPACES.setdefault(block.path, {"__name__": "__main__"})
        exec(compile(block.code, block.id, "exec"), namespace)
        return
    if re.search(r"\bpip\s+install\b", block.code):
        pytest.fail(f"{block.id} installs packages: mark it with a docs-test skip marker (tests never download)")
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block.code],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, (
        f"{block.id} failed:\n{block.code}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
