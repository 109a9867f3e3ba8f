"""Fixtures shared by the core tests."""

from __future__ import annotations

from tests.core.fixtures.ogma_checkpoint import ogma_checkpoint, ogma_checkpoint_factory

__all__ = ["ogma_checkpoint", "ogma_checkpoint_factory"]
