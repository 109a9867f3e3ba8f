"""Fixtures for the LangChain adapter tests: tiny models built on the fly, fake embeddings.

langchain-tests' standard async tests carry no ``asyncio`` mark and the root config runs
pytest-asyncio in strict mode, so coroutine tests collected under this folder are
marked here (the hook runs inside pytest-asyncio's own collection wrapper).
"""

from __future__ import annotations

import inspect
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding

from ogma.model_cache import clear_model_cache
from tests.helpers.tiny_cross_encoder import build_cross_encoder
from tests.helpers.tiny_models import make_tiny_bert_folder

REAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_pycollect_makeitem(collector: pytest.Collector, name: str, obj: object) -> Generator[None, Any, None]:
    outcome = yield
    result = outcome.get_result()
    nodes = result if isinstance(result, list) else [] if result is None else [result]
    for node in nodes:
        if isinstance(node, pytest.Function) and inspect.iscoroutinefunction(getattr(node, "obj", None)):
            node.add_marker(pytest.mark.asyncio)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-d BERT-like embedding model folder that ``TextEncoder`` loads offline."""
    return make_tiny_bert_folder(tmp_path_factory.mktemp("lc-tiny-bert") / "model")


@pytest.fixture(scope="session")
def tiny_ce_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A synthetic one-logit cross-encoder folder that ``Reranker`` loads offline."""
    return build_cross_encoder(tmp_path_factory.mktemp("lc-tiny-ce")).folder


@pytest.fixture
def fake_embeddings() -> DeterministicFakeEmbedding:
    """LangChain's own deterministic fake embeddings (any ``Embeddings`` must work)."""
    return DeterministicFakeEmbedding(size=6)


@pytest.fixture
def fresh_model_cache() -> Generator[None, None, None]:
    """Start and end a test with an empty shared-model cache."""
    clear_model_cache()
    yield
    clear_model_cache()
