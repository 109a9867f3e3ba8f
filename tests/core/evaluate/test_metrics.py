"""Metrics agree with pytrec_eval (trec_eval) and ranx, ties and unjudged cases included."""

from __future__ import annotations

import math
import random

import pytest

from ogma.evaluate import evaluate_run, evaluate_run_per_query, parse_metric, rank_documents
from ogma.evaluate.metrics import Metric

pytrec_eval = pytest.importorskip("pytrec_eval")

# ogma name -> pytrec_eval measure and result key
TREC = {
    "ndcg@10": ("ndcg_cut.10", "ndcg_cut_10"),
    "ndcg@3": ("ndcg_cut.3", "ndcg_cut_3"),
    "recall@10": ("recall.10", "recall_10"),
    "recall@100": ("recall.100", "recall_100"),
    "map@10": ("map_cut.10", "map_cut_10"),
    "map@100": ("map_cut.100", "map_cut_100"),
    "precision@5": ("P.5", "P_5"),
    "mrr": ("recip_rank", "recip_rank"),
    "ndcg": ("ndcg", "ndcg"),
    "map": ("map", "map"),
}


def make_case(seed: int, *, ties: bool) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, int]]]:
    """Random graded qrels (0/1/2) and a run; some queries have no relevant document."""
    rng = random.Random(seed)
    docs = [f"doc{i:03d}" for i in range(120)]
    qrels: dict[str, dict[str, int]] = {}
    run: dict[str, dict[str, float]] = {}
    for q in range(40):
        qid = f"q{q}"
        if q % 9 == 0:
            qrels[qid] = dict.fromkeys(rng.sample(docs, 6), 0)  # judged, nothing relevant
        else:
            qrels[qid] = {d: rng.choice([0, 0, 1, 1, 2]) for d in rng.sample(docs, 25)}
        sample = rng.sample(docs, 110)
        run[qid] = {d: float(rng.randint(0, 8)) if ties else rng.random() for d in sample}
    return run, qrels


@pytest.mark.parametrize("ties", [True, False])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_pytrec_eval_per_query(seed: int, ties: bool) -> None:
    run, qrels = make_case(seed, ties=ties)
    evaluator = pytrec_eval.RelevanceEvaluator(qrels, {m for m, _ in TREC.values()})
    expected = evaluator.evaluate(run)
    ours = evaluate_run_per_query(run, qrels, list(TREC))
    assert set(ours) == set(expected)
    for qid, row in expected.items():
        for name, (_, key) in TREC.items():
            assert ours[qid][name] == pytest.approx(row[key], abs=1e-9), (qid, name)
    means = evaluate_run(run, qrels, list(TREC))
    for name, (_, key) in TREC.items():
        reference = math.fsum(r[key] for r in expected.values()) / len(expected)
        assert round(means[name], 4) == round(reference, 4)


def test_mrr_at_k_matches_trec_eval_on_cut_run() -> None:
    run, qrels = make_case(3, ties=True)
    cut = {q: {d: run[q][d] for d in rank_documents(docs)[:10]} for q, docs in run.items()}
    expected = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(cut)
    ours = evaluate_run_per_query(run, qrels, ["mrr@10"])
    for qid in expected:
        assert ours[qid]["mrr@10"] == pytest.approx(expected[qid]["recip_rank"], abs=1e-9)


@pytest.mark.slow  # ranx compiles its kernels with numba on first use (~10 s)
def test_matches_ranx_without_ties() -> None:
    ranx = pytest.importorskip("ranx")
    run, qrels = make_case(5, ties=False)
    names = ["ndcg@10", "recall@100", "mrr@10", "map@100", "precision@5"]
    expected = ranx.evaluate(ranx.Qrels(qrels), ranx.Run(run), names)
    ours = evaluate_run(run, qrels, names)
    for name in names:
        assert round(ours[name], 4) == round(float(expected[name]), 4), name


def test_tie_breaking_is_doc_id_descending() -> None:
    # Equal scores: trec_eval ranks "b" before "a"; only "a" is relevant.
    run = {"q": {"a": 1.0, "b": 1.0}}
    qrels = {"q": {"a": 1}}
    assert rank_documents(run["q"]) == ["b", "a"]
    assert evaluate_run(run, qrels, ["mrr@10", "recall@1"]) == {"mrr@10": 0.5, "recall@1": 0.0}
    expected = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"}).evaluate(run)
    assert expected["q"]["recip_rank"] == 0.5


def test_missing_and_unjudged_queries() -> None:
    qrels = {"q1": {"d1": 1}, "q2": {"d2": 2}, "q3": {"d3": 0}}
    run = {"q1": {"d1": 1.0}, "q9": {"d1": 1.0}}  # q2 missing from the run, q9 unjudged
    per_query = evaluate_run(run, qrels, ["ndcg@10"], per_query=True)
    assert per_query == {"q1": {"ndcg@10": 1.0}, "q2": {"ndcg@10": 0.0}, "q3": {"ndcg@10": 0.0}}
    assert evaluate_run(run, qrels, ["ndcg@10"]) == {"ndcg@10": pytest.approx(1 / 3)}
    assert evaluate_run(run, {}, ["ndcg@10", "mrr@5"]) == {"ndcg@10": 0.0, "mrr@5": 0.0}


def test_graded_ndcg_by_hand() -> None:
    run = {"q": {"a": 3.0, "b": 2.0, "c": 1.0}}
    qrels = {"q": {"a": 1, "b": 0, "c": 2}}
    dcg = 1 / math.log2(2) + 2 / math.log2(4)
    idcg = 2 / math.log2(2) + 1 / math.log2(3)
    assert evaluate_run(run, qrels, ["ndcg@3"])["ndcg@3"] == pytest.approx(dcg / idcg)


def test_parse_metric() -> None:
    assert parse_metric("NDCG@10") == Metric("ndcg", 10)
    assert parse_metric("p@5") == Metric("precision", 5)
    assert parse_metric("recip_rank") == Metric("mrr", None)
    assert parse_metric("map").name == "map"
    for bad in ("ndcg@0", "bleu@4", "ndcg@", ""):
        with pytest.raises(ValueError):
            parse_metric(bad)


def test_validation() -> None:
    with pytest.raises(ValueError, match="Unknown metric 'foo@1'"):
        evaluate_run({}, {}, ["foo@1"])
    with pytest.raises(ValueError, match="at least one"):
        evaluate_run({}, {}, [])
    with pytest.raises(ValueError, match=r"run\['q'\]\['d'\]"):
        evaluate_run({"q": {"d": float("nan")}}, {"q": {"d": 1}}, ["mrr@10"])
    with pytest.raises(TypeError, match="run must be"):
        evaluate_run([], {}, ["mrr@10"])  # type: ignore[call-overload]
    # A single metric name is accepted as a string; duplicates collapse.
    assert evaluate_run({"q": {"d": 1.0}}, {"q": {"d": 1}}, "mrr@10") == {"mrr@10": 1.0}
    assert list(evaluate_run({}, {"q": {}}, ["mrr@10", "MRR@10"])) == ["mrr@10"]
