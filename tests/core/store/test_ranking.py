"""The rerank depth default: the code's constant, what a search hands the reranker, and what the docs say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ogma.cli import build_parser
from ogma.store.ranking import DEFAULT_RERANK_DEPTH, rerank_depth

ROOT = Path(__file__).resolve().parents[3]
DOCUMENTED = re.compile(r"max\(k, (\d+)\)")  # how every doc, docstring and help text states the default depth
CONTEXT = 80  # characters before it that must name reranking (hybrid's candidate depth is written the same way)


def test_default_depth_is_the_measured_one() -> None:
    # docs/benchmarks.md ("Reranking on real models") chose it by the worst case over five sets
    assert DEFAULT_RERANK_DEPTH == 50


@pytest.mark.parametrize(
    ("k", "rerank_k", "expected"),
    [(10, None, DEFAULT_RERANK_DEPTH), (DEFAULT_RERANK_DEPTH + 7, None, DEFAULT_RERANK_DEPTH + 7), (10, 4, 10)],
)
def test_rerank_depth(k: int, rerank_k: int | None, expected: int) -> None:
    assert rerank_depth(k, rerank_k) == expected


def test_store_hands_the_reranker_the_default_depth() -> None:
    np = pytest.importorskip("numpy")
    from ogma.store import Store

    seen: list[int] = []

    class Counting:
        def rerank(self, query: str, documents: list[str], top_k: int | None = None) -> list[object]:
            from types import SimpleNamespace

            seen.append(len(documents))
            return [SimpleNamespace(index=i, score=1.0 / (i + 1)) for i in range(len(documents))][:top_k]

    def embed(texts: list[str]) -> object:
        return np.array([[1.0, len(t) / 10, t.count("1") + 0.5] for t in texts], dtype=np.float32)

    n = DEFAULT_RERANK_DEPTH + 15
    with Store(":memory:", embed) as store:
        store.add([f"text {i}" for i in range(n)], ids=[str(i) for i in range(n)])
        store.search("text 1", k=5, rerank=Counting())
        store.search("text 1", k=DEFAULT_RERANK_DEPTH + 5, rerank=Counting())
    assert seen == [DEFAULT_RERANK_DEPTH, DEFAULT_RERANK_DEPTH + 5]


def _statements() -> list[tuple[str, int]]:
    files = sorted((ROOT / "docs").glob("*.md")) + sorted((ROOT / "packages").glob("*/src/**/*.py"))
    found = []
    for path in files:
        text = path.read_text(encoding="utf-8")
        for match in DOCUMENTED.finditer(text):
            if "rerank" in text[max(0, match.start() - CONTEXT) : match.start()].lower():
                found.append((str(path.relative_to(ROOT)), int(match.group(1))))
    return found


def test_every_documented_default_depth_is_the_constant() -> None:
    statements = _statements()
    # the store's and the CLI's reference docs state it; if none did, this test would check nothing
    assert {"docs/store.md", "docs/cli.md", "docs/evaluation.md"} <= {path for path, _ in statements}
    assert [(path, n) for path, n in statements if n != DEFAULT_RERANK_DEPTH] == []


@pytest.mark.parametrize("command", ["search", "eval"])
def test_cli_help_states_the_constant(command: str) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[union-attr]
    action = next(a for a in sub._actions if "--rerank-k" in a.option_strings)
    assert DOCUMENTED.search(action.help or "") is not None
    assert DOCUMENTED.search(action.help or "").group(1) == str(DEFAULT_RERANK_DEPTH)  # type: ignore[union-attr]
