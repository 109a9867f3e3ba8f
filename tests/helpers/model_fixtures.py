"""Model fixtures shared by every test folder: tiny models built once per run, a clean model cache.

Registered for the whole run in ``tests/conftest.py``. The tiny models are read-only: a test
that needs to change one copies it or builds its own.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pytest

from ogma.model_cache import clear_model_cache
from tests.helpers.tiny_cross_encoder import TinyCrossEncoder, build_cross_encoder
from tests.helpers.tiny_models import make_tiny_bert_folder, make_tiny_ogma_folder

__all__ = ["REAL_MODEL", "fresh_model_cache", "tiny_ce", "tiny_ce_dir", "tiny_model_dir", "tiny_ogma_dir"]

REAL_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The converted all-MiniLM-L6-v2 the real-model tests load (installed from PyPI, never downloaded)."""


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 16-d BERT-like embedding model folder that ``TextEncoder`` loads offline."""
    return make_tiny_bert_folder(tmp_path_factory.mktemp("tiny-bert") / "model")


@pytest.fixture(scope="session")
def tiny_ogma_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 32-d Ogma-like model folder (task tokens: queries and documents embed differently)."""
    return make_tiny_ogma_folder(tmp_path_factory.mktemp("tiny-ogma") / "model")


@pytest.fixture(scope="session")
def tiny_ce(tmp_path_factory: pytest.TempPathFactory) -> TinyCrossEncoder:
    """A synthetic one-logit cross-encoder that ``Reranker`` loads offline, with a numpy reference."""
    return build_cross_encoder(tmp_path_factory.mktemp("tiny-ce"))


@pytest.fixture(scope="session")
def tiny_ce_dir(tiny_ce: TinyCrossEncoder) -> Path:
    """The folder of :func:`tiny_ce`."""
    return tiny_ce.folder


@pytest.fixture
def fresh_model_cache() -> Generator[None, None, None]:
    """Start and end a test with an empty shared-model cache."""
    clear_model_cache()
    yield
    clear_model_cache()
