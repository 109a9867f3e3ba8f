"""The comparison runner against the real ogma.Store (toy corpus, bag-of-words encoder)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.evaluate import BeirDataset, CompareConfig, compare_configs
from ogma.rerank import RerankResult

pytest.importorskip("ogma.store")


class WordOverlapReranker:
    """A stand-in cross-encoder with the Reranker.rerank contract: scores word overlap."""

    def rerank(self, query: str, documents: Sequence[str], top_k: int | None = None, **_: Any) -> list[RerankResult]:
        words = set(query.lower().split())
        raw = [float(len(words & set(d.lower().split()))) for d in documents]
        order = sorted(range(len(documents)), key=lambda i: (-raw[i], i))[:top_k]
        return [RerankResult(i, documents[i], raw[i] / 10, raw[i]) for i in order]


def test_real_store(toy_dataset: BeirDataset, fake_factories: dict[str, Any], tmp_path: Path) -> None:
    encoder = fake_factories["encoder_factory"]("bow")
    encoder.dim = len(encoder.vocab)
    encoder.model_id = "bow"
    configs = [
        CompareConfig("bow", mode=mode, precision=precision)
        for precision in ("float32", "int8", "binary")
        for mode in ("dense", "lexical", "hybrid")
    ]
    configs.append(CompareConfig("bow", mode="dense", rerank="overlap", rerank_k=5))
    rows = compare_configs(
        toy_dataset,
        configs,
        metrics=["ndcg@5", "recall@5", "mrr@5"],
        encoder_factory=lambda name: encoder,
        reranker_factory=lambda name: WordOverlapReranker(),
        workdir=tmp_path,
        show_progress=False,
    )
    assert [r.config for r in rows] == configs
    assert encoder.documents_embedded == len(toy_dataset.corpus)  # embedded once for three indexes
    for row in rows:
        assert row.index_bytes > 0
        assert np.isfinite(row.latency_mean_ms)
        assert all(0.0 <= v <= 1.0 for v in row.metrics.values())
    by_label = {r.config.label: r for r in rows}
    # Lexical search finds the capital-of-France and yellow-fruit documents first.
    assert by_label["bow | lexical | float32 | full | -"].metrics["mrr@5"] > 0.5
    assert rows[-1].metrics["mrr@5"] > 0.5
    assert list(tmp_path.iterdir()) == []
