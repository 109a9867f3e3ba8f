"""A tiny deterministic embedder standing in for a real model in CLI tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.helpers.fake_encoder import DIM, FakeEncoder, patch_loaders

__all__ = ["DIM", "FakeEncoder"]


@pytest.fixture
def fake_encoder(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeEncoder]:
    encoder = FakeEncoder()
    patch_loaders(monkeypatch, encoder)
    yield encoder
