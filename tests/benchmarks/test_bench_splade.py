"""benchmarks/bench_splade.py keeps running: SQL postings scoring equals the sparse product, tiny sizes."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from scipy import sparse

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


def _load() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))  # the script imports its neighbours (_common, tune_hybrid)
    try:
        spec = importlib.util.spec_from_file_location("bench_splade", BENCHMARKS / "bench_splade.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules["bench_splade"] = module
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCHMARKS))
    return module


bench = _load()


def _weights(rows: int, vocab: int, density: float, seed: int) -> sparse.csr_matrix:
    matrix = sparse.random(rows, vocab, density=density, format="csr", dtype=np.float32, random_state=seed)
    matrix.data = (matrix.data * 3).astype(np.float32)  # SPLADE weights: positive, a few units at most
    return matrix


def test_sql_postings_rank_as_the_sparse_product(tmp_path: Path) -> None:
    docs = _weights(60, 200, 0.1, seed=1)
    queries = _weights(8, 200, 0.05, seed=2)
    doc_ids = [f"d{i}" for i in range(60)]
    qids = [f"q{i}" for i in range(8)]
    con = bench.postings_db(docs, tmp_path / "postings.db")
    assert con.execute("SELECT count(*) FROM postings").fetchone()[0] == docs.nnz
    got, times = bench.sql_run(con, queries, doc_ids, qids)
    want = bench.sparse_run(docs, queries, doc_ids, qids)
    assert len(times) == len(qids)
    dense_scores = (queries @ docs.T).toarray()
    for row, qid in enumerate(qids):
        assert len(got[qid]) == len(want[qid]) == int((dense_scores[row] > 0).sum())
        assert [s for _, s in got[qid]] == pytest.approx([s for _, s in want[qid]], rel=1e-5)
        for doc, score in got[qid]:
            assert score == pytest.approx(dense_scores[row, doc_ids.index(doc)], rel=1e-5)


def test_metrics_count_an_empty_run_as_zero() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 1}}
    scores = bench.per_query({"q1": [("d1", 2.0), ("d3", 1.0)], "q2": []}, qrels, ["q1", "q2"])
    assert scores["ndcg@10"] == {"q1": 1.0, "q2": 0.0}
    assert scores["recall@100"] == {"q1": 1.0, "q2": 0.0}
