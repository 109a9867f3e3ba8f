"""Prefix models with their real weights (bge-small-en-v1.5, e5-small-v2, int8 ONNX): ``model_id=`` on a folder."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma import TextEncoder
from ogma.errors import ModelFileError
from tests.helpers.real_models import require_nano_dbpedia

# The e5-small-v2 model card's example (its bge-small-en-v1.5 card shows only placeholder texts, so
# both models are checked on these two query/passage pairs).
QUERIES = ["how much protein should a female eat", "summit define"]
PASSAGES = [
    "As a general guideline, the CDC's average requirement of protein for women ages 19 to 70 is 46 grams per "
    "day. But, as you can see from this chart, you'll need to increase that if you're expecting or training for "
    "a marathon. Check out the chart below to see how much protein you should be eating each day.",
    "Definition of summit for English Language Learners. : 1  the highest point of a mountain : the top of a "
    "mountain. : 2  the highest level. 3  a meeting or series of meetings between the leaders of two or more "
    "governments.",
]


@pytest.fixture(scope="module")
def e5(real_e5_dir: Path) -> TextEncoder:
    return TextEncoder(real_e5_dir, model_id="intfloat/e5-small-v2", threads=1)


@pytest.fixture(scope="module")
def bge(real_bge_dir: Path) -> TextEncoder:
    return TextEncoder(real_bge_dir, model_id="bge-small-en-v1.5", threads=1)


def test_declared_folder_gets_the_registry_scheme(e5: TextEncoder, bge: TextEncoder) -> None:
    assert e5.model_id == "intfloat/e5-small-v2" and e5.spec.pooling == "mean" and e5.max_length == 512
    assert e5.spec.task_scheme.query_prefix == "query: " and e5.spec.task_scheme.document_prefix == "passage: "
    assert bge.model_id == "BAAI/bge-small-en-v1.5" and bge.spec.pooling == "cls"
    assert bge.spec.task_scheme.query_prefix == "Represent this sentence for searching relevant passages: "
    assert bge.spec.task_scheme.document_prefix == ""


def test_undeclared_folder_is_symmetric_mean_pooling_and_says_so(
    real_bge_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="ogma.model_config"):
        plain = TextEncoder(real_bge_dir, threads=1)
    assert plain.spec.pooling == "mean" and plain.task_scheme_name == "none"
    assert any("not a registry model" in r.message and "model_id=" in r.message for r in caplog.records)


def test_model_id_errors(real_e5_dir: Path, tiny_model_dir: Path) -> None:
    with pytest.raises(ValueError, match="not a registry model"):
        TextEncoder(real_e5_dir, model_id="nobody/nothing")
    with pytest.raises(ModelFileError, match="outputs 16-d vectors but intfloat/e5-small-v2 has 384"):
        TextEncoder(tiny_model_dir, model_id="intfloat/e5-small-v2")
    with pytest.raises(TypeError, match="model_id must be"):
        TextEncoder(real_e5_dir, model_id=5)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "diagonal", "off_diagonal"),
    # What these int8 exports give (cosine, rounded): e5 [[0.922, 0.729], [0.728, 0.904]], bge
    # [[0.897, 0.388], [0.390, 0.890]]. e5's similarities sit in a narrow high band (its card
    # notes scores of 0.7-1.0), bge's spread wider. The bounds allow +-0.05 around these int8
    # values (no fp32 weights are available offline to compare against); the scheme itself is
    # checked by test_declared_folder_gets_the_registry_scheme and the nDCG test below.
    [("e5", (0.87, 0.97), (0.68, 0.78)), ("bge", (0.84, 0.95), (0.33, 0.44))],
)
def test_model_card_pairs(
    name: str, diagonal: tuple[float, float], off_diagonal: tuple[float, float], request: pytest.FixtureRequest
) -> None:
    encoder: TextEncoder = request.getfixturevalue(name)
    sims = encoder.encode_queries(QUERIES) @ encoder.encode_documents(PASSAGES).T
    assert np.argmax(sims, axis=1).tolist() == [0, 1]
    assert all(diagonal[0] < v < diagonal[1] for v in np.diag(sims))
    assert all(off_diagonal[0] < v < off_diagonal[1] for v in sims[~np.eye(2, dtype=bool)])


def test_pads_to_the_longest_text_not_to_512(e5: TextEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    # The e5 export's tokenizer.json pads every input to 512; Ogma pads a batch to its longest text.
    shapes: list[tuple[int, ...]] = []
    backend: Any = e5._backend
    real_run = backend.run

    def recording_run(input_ids: np.ndarray, attention_mask: np.ndarray, **kwargs: Any) -> Any:
        shapes.append(input_ids.shape)
        return real_run(input_ids, attention_mask, **kwargs)

    monkeypatch.setattr(backend, "run", recording_run)
    e5.encode_documents(["a short one", PASSAGES[0]])
    longest = max(e5.count_tokens(["a short one", PASSAGES[0]]))
    # the batch planner may split texts of very different lengths into separate batches
    assert 50 < longest < 100 and max(width for _, width in shapes) == longest and sum(n for n, _ in shapes) == 2


def _small_dbpedia(n_queries: int) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    folder = require_nano_dbpedia()
    qrels: dict[str, dict[str, int]] = {}
    for line in (folder / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        qid, did, grade = line.split("\t")
        qrels.setdefault(qid, {})[did] = int(grade)
    keep = sorted(qrels)[:n_queries]
    judged = {d for q in keep for d in qrels[q]}
    corpus = {}
    for row in map(json.loads, (folder / "corpus.jsonl").read_text(encoding="utf-8").splitlines()):
        if row["_id"] in judged or len(corpus) < 300:
            corpus[row["_id"]] = f"{row.get('title', '')} {row['text']}".strip()
    queries = {q["_id"]: q["text"] for q in map(json.loads, (folder / "queries.jsonl").read_text().splitlines())}
    return corpus, {q: queries[q] for q in keep}, {q: qrels[q] for q in keep}


def _ndcg10(sims: np.ndarray, doc_ids: list[str], qids: list[str], qrels: dict[str, dict[str, int]]) -> float:
    scores = []
    for row, qid in zip(sims, qids, strict=True):
        top = [doc_ids[i] for i in np.argsort(-row)[:10]]
        dcg = sum(qrels[qid].get(d, 0) / np.log2(i + 2) for i, d in enumerate(top))
        ideal = sorted(qrels[qid].values(), reverse=True)[:10]
        scores.append(dcg / sum(g / np.log2(i + 2) for i, g in enumerate(ideal)))
    return float(np.mean(scores))


def test_e5_scheme_against_the_asymmetry_off_on_nano_dbpedia(e5: TextEncoder) -> None:
    # 10 queries over their judged passages plus 300 others; the benchmark (docs/encoder.md) runs the
    # whole set. e5's "query: " marking must not lose to encoding queries as passages, within 0.03.
    corpus, queries, qrels = _small_dbpedia(10)
    doc_ids = list(corpus)
    docs = e5.encode_documents(list(corpus.values()))
    asymmetric = _ndcg10(e5.encode_queries(list(queries.values())) @ docs.T, doc_ids, list(queries), qrels)
    symmetric = _ndcg10(e5.encode_documents(list(queries.values())) @ docs.T, doc_ids, list(queries), qrels)
    assert asymmetric >= symmetric - 0.03 and asymmetric > 0.4
