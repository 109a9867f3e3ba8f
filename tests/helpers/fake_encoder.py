"""A tiny deterministic embedder standing in for a real model in CLI tests (no model files)."""

from __future__ import annotations

import hashlib
import re
from typing import Any

import numpy as np

DIM = 32


class FakeEncoder:
    """Bag-of-words hashing embedder with the parts of TextEncoder the CLI uses."""

    model_id = "test/fake-encoder"
    dim = DIM
    max_length = 40  # -> default chunks of 24 tokens

    def __init__(self) -> None:
        self.calls = 0
        self.loaded: list[str] = []
        self.options: dict[str, Any] = {}

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(DIM, dtype=np.float32)
        for word in re.findall(r"\w+", text.lower()):
            vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % DIM] += 1.0
        norm = float(np.linalg.norm(vec))
        return vec / norm if norm else vec + 1.0 / np.sqrt(DIM)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        return np.stack([self._vector(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vector(text)

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def load(self, model: str, **options: Any) -> FakeEncoder:
        """Stands in for ``ogma.cli.options.load_encoder`` (records what was asked)."""
        self.loaded.append(model)
        self.options = options
        return self


def patch_loaders(monkeypatch: Any, encoder: FakeEncoder) -> None:
    """Make every CLI command load ``encoder`` instead of a model."""
    monkeypatch.setattr("ogma.cli.options.load_encoder", encoder.load)
