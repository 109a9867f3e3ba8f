"""The rerank defaults (depth and blend): the code's constants, what a search does, and what the docs and CLI say."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from ogma import blend, rerank
from ogma.cli import build_parser
from ogma.evaluate.compare import CompareConfig
from ogma.store.pipeline import SearchPipeline
from ogma.store.protocol import StoreProtocol
from ogma.store.ranking import DEFAULT_RERANK_ALPHA, DEFAULT_RERANK_DEPTH, rerank_depth, rerank_hits

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


# ---------------------------------------------------------------------- the blend weight

ALPHA_STATED = re.compile(r"rerank_alpha=(\d\.\d+)|rerank.{0,40}?alpha[^.]{0,60}?\(default (\d\.\d+)")
"""How the docs state the default blend: ``rerank_alpha=0.3`` or "... alpha ... (default 0.3"."""


def test_default_alpha_is_the_measured_one() -> None:
    # docs/benchmarks.md ("Reranking on real models") chose it by the worst case over five sets
    assert DEFAULT_RERANK_ALPHA == blend.DEFAULT_RERANK_ALPHA == rerank.DEFAULT_RERANK_ALPHA == 0.3


@pytest.mark.parametrize(
    "function",
    [SearchPipeline.search, StoreProtocol.search, rerank_hits],
    ids=["SearchPipeline.search", "StoreProtocol.search", "rerank_hits"],
)
def test_every_search_defaults_to_the_constant(function: object) -> None:
    name = "alpha" if function is rerank_hits else "rerank_alpha"
    assert inspect.signature(function).parameters[name].default == DEFAULT_RERANK_ALPHA  # type: ignore[arg-type]


def test_sqlite_store_and_eval_default_to_the_constant() -> None:
    from ogma.store import Store

    assert inspect.signature(Store.search).parameters["rerank_alpha"].default == DEFAULT_RERANK_ALPHA
    assert CompareConfig("m").rerank_alpha == DEFAULT_RERANK_ALPHA


def _alpha_statements() -> list[tuple[str, float]]:
    found = []
    for path in [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]:
        text = path.read_text(encoding="utf-8")
        for match in ALPHA_STATED.finditer(text):
            line = text[text.rfind("\n", 0, match.start()) + 1 : text.find("\n", match.end())]
            if "default" in line.lower():
                found.append((str(path.relative_to(ROOT)), float(match.group(1) or match.group(2))))
    return found


def test_every_documented_default_alpha_is_the_constant() -> None:
    statements = _alpha_statements()
    # the store's, the CLI's and the benchmarks' docs state it; if none did, this test would check nothing
    assert {"docs/store.md", "docs/cli.md", "docs/benchmarks.md"} <= {path for path, _ in statements}
    assert [(path, a) for path, a in statements if a != DEFAULT_RERANK_ALPHA] == []


@pytest.mark.parametrize("command", ["search", "eval"])
def test_cli_help_states_the_default_alpha(command: str) -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]  # type: ignore[union-attr]
    action = next(a for a in sub._actions if "--rerank-alpha" in a.option_strings)
    assert f"(default {DEFAULT_RERANK_ALPHA};" in (action.help or "")
    if command == "eval":
        assert action.default == DEFAULT_RERANK_ALPHA


def test_store_search_blends_by_default_and_pure_on_request() -> None:
    np = pytest.importorskip("numpy")
    from types import SimpleNamespace

    from ogma.store import Store

    class Fixed:
        """A reranker without logits: its score (in [0, 1]) is the cross-encoder side of the blend."""

        def rerank(self, query: str, documents: list[str], top_k: int | None = None) -> list[object]:
            scores = [0.9 if "1" in d else 0.1 for d in documents]
            order = sorted(range(len(documents)), key=lambda i: -scores[i])
            return [SimpleNamespace(index=i, score=scores[i]) for i in order][:top_k]

    def embed(texts: list[str]) -> object:
        return np.array([[1.0, 3.0 * t.count("2"), i / 100] for i, t in enumerate(texts)], dtype=np.float32)

    with Store(":memory:", embed) as store:
        store.add([f"text {i}" for i in range(10)], ids=[str(i) for i in range(10)])
        default = store.search("text 2", k=5, rerank=Fixed())
        pure = store.search("text 2", k=5, rerank=Fixed(), rerank_alpha=1.0)
        unset = store.search("text 2", k=5, rerank=Fixed(), rerank_alpha=None)
    for hit in default:
        want = DEFAULT_RERANK_ALPHA * hit.scores["rerank"] + (1 - DEFAULT_RERANK_ALPHA) * hit.scores["dense"]
        assert hit.score == pytest.approx(want)
    assert [h.score for h in pure] == [h.scores["rerank"] for h in pure] and pure == unset
    assert pure[0].id == "1" and default[0].id == "2"  # the blend keeps the first stage's say
