"""Fixtures for the LangChain adapter tests: fake embeddings (the tiny models are in tests/helpers/model_fixtures.py).

langchain-tests' standard async tests carry no ``asyncio`` mark and the root config runs
pytest-asyncio in strict mode, so coroutine tests collected under this folder are
marked here (the hook runs inside pytest-asyncio's own collection wrapper).
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Generator[None, Any, None]:
    outcome = yield
    result = outcome.get_result()
    nodes = result if isinstance(result, list) else [] if result is None else [result]
    for node in nodes:
        if isinstance(node, pytest.Function) and inspect.iscoroutinefunction(getattr(node, "obj", None)):
            node.add_marker(pytest.mark.asyncio)


@pytest.fixture
def fake_embeddings() -> DeterministicFakeEmbedding:
    """LangChain's own deterministic fake embeddings (any ``Embeddings`` must work)."""
    return DeterministicFakeEmbedding(size=6)
