"""The example notebook, executed offline: its code cells run in order in one namespace.

The notebook file is plain JSON; no Jupyter kernel is needed. It runs from ``examples/`` with
the real all-MiniLM-L6-v2 and the tiny synthetic cross-encoder (the hub is unreachable in tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.notebooks import assert_shipped_executed, run_notebook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOK = EXAMPLES / "llamaindex_rag.ipynb"


def test_the_notebook_ships_executed_and_marks_the_llm() -> None:
    printed = assert_shipped_executed(NOTEBOOK, placeholder="# Replace with a real LLM:\nllm = MockLLM()")
    assert "4 documents" in printed and "chunks in Store(" in printed


@pytest.mark.integration
def test_notebook_runs_offline(
    tiny_ce_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("OGMA_RERANKER_MODEL", str(tiny_ce_dir))
    namespace = run_notebook(NOTEBOOK)
    out = capsys.readouterr().out
    assert "4 documents" in out and "chunks in Store(" in out
    response = namespace["response"]
    assert len(response.source_nodes) == 3
    for hit in response.source_nodes:
        assert 0.0 <= hit.score <= 1.0
        assert 0.0 <= hit.node.metadata["retrieval_score"] <= 1.0
        assert "source" in hit.node.metadata
    assert f"Query: {namespace['question']}" in response.response  # MockLLM echoes the prompt it received
    assert all(hit.node.get_content() in response.response for hit in response.source_nodes)
