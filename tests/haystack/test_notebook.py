"""``examples/haystack_rag.ipynb``, executed offline: its code cells run in order in one namespace.

It runs from ``examples/`` with the real all-MiniLM-L6-v2 and the tiny synthetic cross-encoder
(the hub is unreachable in tests), its store in a temporary file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers.notebooks import assert_shipped_executed, run_notebook
from tests.helpers.tiny_cross_encoder import build_cross_encoder

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOK = EXAMPLES / "haystack_rag.ipynb"


def test_the_notebook_ships_executed_and_marks_the_chat_model() -> None:
    printed = assert_shipped_executed(
        NOTEBOOK, placeholder="# Replace with a real chat model:\nchat_model = MockChatGenerator()"
    )
    assert "same answer after loading: True" in printed


@pytest.mark.integration
def test_notebook_runs_offline(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("OGMA_RERANKER_MODEL", str(build_cross_encoder(tmp_path / "ce").folder))
    monkeypatch.setenv("OGMA_EXAMPLE_DB", str(tmp_path / "rag.db"))
    namespace = run_notebook(NOTEBOOK)
    out = capsys.readouterr().out
    assert "4 documents -> 7 chunks written; the store holds 7" in out
    assert "same answer after loading: True" in out
    assert not (EXAMPLES / "haystack_rag.db").exists()
    reranked = namespace["result"]["ranker"]["documents"]
    assert len(reranked) == 3 and all(0.0 <= d.score <= 1.0 for d in reranked)
    answer = namespace["answer"]
    assert f"Question: {namespace['question']}" in answer  # MockChatGenerator echoes the prompt it received
    assert all(d.content in answer for d in reranked)
    assert namespace["hits"][0].meta["source"] == "reranking.md"  # the real model finds the right file
