"""Fixtures for the reranker tests: tiny synthetic cross-encoders (see tests/helpers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from tokenizers import Tokenizer

from tests.helpers.tiny_cross_encoder import TinyCrossEncoder, build_cross_encoder, build_tokenizer


@pytest.fixture(scope="session")
def tokenizer_builder() -> Callable[[int], Tokenizer]:
    """The synthetic WordLevel tokenizer (BERT-style pair template), as a factory."""
    return build_tokenizer


@pytest.fixture
def make_ce(tmp_path: Path) -> Callable[..., TinyCrossEncoder]:
    """Build a fresh synthetic cross-encoder with custom options."""
    counter = iter(range(1_000))

    def make(**options: object) -> TinyCrossEncoder:
        folder = tmp_path / f"ce{next(counter)}"
        folder.mkdir()
        return build_cross_encoder(folder, **options)  # type: ignore[arg-type]

    return make
