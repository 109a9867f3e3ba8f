"""The comparison runner, against a fake store."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from ogma.evaluate import BeirDataset, CompareConfig, CompareRow, compare_configs, evaluate_run


def run_compare(
    dataset: BeirDataset, configs: list[CompareConfig], factories: dict[str, Any], **kw: Any
) -> list[CompareRow]:
    options = {k: v for k, v in factories.items() if k.endswith("_factory")}
    return compare_configs(dataset, configs, show_progress=False, **options, **kw)


def test_rows_in_order_with_metrics_latency_and_size(
    toy_dataset: BeirDataset, fake_factories: dict[str, Any], tmp_path: Path
) -> None:
    FakeStore = fake_factories["store_class"]
    configs = [
        CompareConfig("m1", mode="dense"),
        CompareConfig("m1", mode="lexical"),
        CompareConfig("m1", mode="dense", rerank="rev", rerank_k=3),
        CompareConfig("m1", mode="dense", precision="binary"),
        CompareConfig("m2", mode="dense", dim=8),
    ]
    rows = run_compare(toy_dataset, configs, fake_factories, metrics=["ndcg@3", "recall@5", "mrr@3"], workdir=tmp_path)
    assert [r.config for r in rows] == configs
    # One index per (model, precision, dim); one embedder per model; documents embedded once per model.
    assert len(FakeStore.instances) == 3
    assert all(store.closed for store in FakeStore.instances)
    encoders = fake_factories["encoders"]
    assert [e.name for e in encoders] == ["m1", "m2"]
    assert [e.documents_embedded for e in encoders] == [5, 5]
    for row in rows:
        assert set(row.metrics) == {"ndcg@3", "recall@5", "mrr@3"}
        assert all(0.0 <= v <= 1.0 for v in row.metrics.values())
        assert row.num_queries == 3
        assert row.latency_mean_ms >= 0 and row.latency_p50_ms >= 0 and row.latency_p95_ms >= row.latency_p50_ms
        assert row.index_bytes == 500
    # Searches carry the mode, depth and reranker; one warm-up query per configuration.
    first = FakeStore.instances[0]
    assert [s["mode"] for s in first.searches] == ["dense"] * 4 + ["lexical"] * 4 + ["dense"] * 4
    assert {s["k"] for s in first.searches} == {5}
    reranked = first.searches[8:]
    assert all(s["rerank"] is not None and s["rerank_k"] == 3 for s in reranked)
    assert FakeStore.instances[1].precision == "binary" and FakeStore.instances[2].dim == 8
    assert rows[0].metrics != rows[2].metrics  # the reversing reranker changed the ranking
    assert list(tmp_path.iterdir()) == []  # temporary stores removed


def test_metrics_equal_direct_evaluation(
    toy_dataset: BeirDataset, fake_factories: dict[str, Any], tmp_path: Path
) -> None:
    rows = run_compare(toy_dataset, [CompareConfig("m", mode="lexical")], fake_factories, per_query=True, k=5)
    store = fake_factories["store_class"](tmp_path / "s", fake_factories["encoder_factory"]("m"), None, "float32")
    store.add(toy_dataset.document_texts(), ids=toy_dataset.document_ids())
    run = {
        q: {h.id: 5.0 - rank for rank, h in enumerate(store.search(t, k=5, mode="lexical"))}
        for q, t in toy_dataset.queries.items()
    }
    expected = evaluate_run(run, toy_dataset.qrels)
    assert rows[0].metrics == pytest.approx(expected)
    assert rows[0].per_query is not None and set(rows[0].per_query) == set(toy_dataset.qrels)
    record = rows[0].to_dict()
    json.dumps(record)
    assert record["mode"] == "lexical" and "per_query" in record and "latency_p50_ms" in record


def test_validation(toy_dataset: BeirDataset, fake_factories: dict[str, Any]) -> None:
    with pytest.raises(ValueError, match="configs is empty"):
        run_compare(toy_dataset, [], fake_factories)
    with pytest.raises(ValueError, match="Unknown metric"):
        run_compare(toy_dataset, [CompareConfig("m")], fake_factories, metrics=["bleu"])
    with pytest.raises(ValueError, match="k must be"):
        run_compare(toy_dataset, [CompareConfig("m")], fake_factories, k=0)
    with pytest.raises(ValueError, match="mode must be one of dense, lexical, hybrid"):
        CompareConfig("m", mode="semantic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="dim"):
        CompareConfig("m", dim=0)
    with pytest.raises(ValueError, match="rerank_k"):
        CompareConfig("m", rerank_k=0)


def test_no_queries(toy_dataset: BeirDataset, fake_factories: dict[str, Any]) -> None:
    empty = BeirDataset("e", toy_dataset.corpus, {}, {})
    (row,) = run_compare(empty, [CompareConfig("m")], fake_factories, metrics=["ndcg@10"])
    assert row.num_queries == 0 and row.metrics == {"ndcg@10": 0.0} and math.isnan(row.latency_mean_ms)
