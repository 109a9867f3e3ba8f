"""The BEIR loader: layout, header handling and errors naming the file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ogma.errors import OgmaError
from ogma.evaluate import BeirDataset, DatasetError, load_beir

NANO = Path(__file__).resolve().parents[3].parent / "shared" / "datasets" / "nano-dbpedia"


def write_dataset(
    root: Path,
    *,
    corpus: list[str] | None = None,
    queries: list[str] | None = None,
    qrels: str = "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t0\nq2\td2\t1\n",
    split: str = "test",
) -> Path:
    corpus = corpus or [
        json.dumps({"_id": "d1", "title": "Paris", "text": "Capital of France."}),
        json.dumps({"_id": "d2", "title": "", "text": "Bananas are yellow."}),
        json.dumps({"_id": "d3", "text": "No title here."}),
    ]
    queries = queries or [
        json.dumps({"_id": "q1", "text": "capital of france"}),
        json.dumps({"_id": "q2", "text": "yellow fruit"}),
        json.dumps({"_id": "q3", "text": "unjudged in this split"}),
    ]
    root.mkdir(parents=True, exist_ok=True)
    (root / "corpus.jsonl").write_text("\n".join(corpus) + "\n", encoding="utf-8")
    (root / "queries.jsonl").write_text("\n".join(queries) + "\n", encoding="utf-8")
    (root / "qrels").mkdir(exist_ok=True)
    (root / "qrels" / f"{split}.tsv").write_text(qrels, encoding="utf-8")
    return root


def test_loads_layout(tmp_path: Path) -> None:
    data = load_beir(write_dataset(tmp_path / "toy"))
    assert isinstance(data, BeirDataset)
    assert data.name == "toy"
    assert data.corpus["d3"] == {"title": "", "text": "No title here."}
    assert data.queries == {"q1": "capital of france", "q2": "yellow fruit"}  # only judged queries
    assert data.qrels == {"q1": {"d1": 2, "d2": 0}, "q2": {"d2": 1}}
    assert data.document_ids() == ["d1", "d2", "d3"]
    assert data.document_texts() == ["Paris Capital of France.", "Bananas are yellow.", "No title here."]
    assert data.subset(1).queries == {"q1": "capital of france"}
    with pytest.raises(ValueError, match="max_queries"):
        data.subset(0)


def test_headerless_trec_layout_and_blank_lines(tmp_path: Path) -> None:
    root = write_dataset(tmp_path / "d", qrels="q1 0 d1 1\n\nq2 0 d2 2\n", split="dev")
    data = load_beir(root, split="dev")
    assert data.qrels == {"q1": {"d1": 1}, "q2": {"d2": 2}}


@pytest.mark.parametrize(
    ("corpus", "queries", "qrels", "file", "line"),
    [
        (['{"_id": "d1", "text": "ok"}', '{"_id": "d2", "text": '], None, None, "corpus.jsonl", 2),
        (['{"_id": "d1", "text": "ok"}', '{"title": "no id", "text": "x"}'], None, None, "corpus.jsonl", 2),
        (['{"_id": "d1", "text": "ok"}', '{"_id": "d1", "text": "again"}'], None, None, "corpus.jsonl", 2),
        (['{"_id": "d1", "text": 5}'], None, None, "corpus.jsonl", 1),
        (['{"_id": "d1", "text": null}'], None, None, "corpus.jsonl", 1),
        (['["a", "list"]'], None, None, "corpus.jsonl", 1),
        (None, ['{"_id": "q1", "text": "a"}', "{oops}"], None, "queries.jsonl", 2),
        (None, ['{"_id": "q1"}'], None, "queries.jsonl", 1),
        (None, None, "query-id\tcorpus-id\tscore\nq1\td1\t1\nq1\td2\n", "test.tsv", 3),
        (None, None, "q1\td1\t1\nq1\td2\thigh\n", "test.tsv", 2),
        (None, None, "q1\td1\t1\nq1\t\t1\n", "test.tsv", 2),
    ],
)
def test_malformed_lines_name_file_and_line(
    tmp_path: Path, corpus: list[str] | None, queries: list[str] | None, qrels: str | None, file: str, line: int
) -> None:
    kwargs = {"qrels": qrels} if qrels is not None else {}
    root = write_dataset(tmp_path / "bad", corpus=corpus, queries=queries, **kwargs)
    with pytest.raises(DatasetError, match=rf"{file}, line {line}:") as info:
        load_beir(root)
    assert isinstance(info.value, OgmaError) and isinstance(info.value, ValueError)


def test_missing_files_and_unknown_queries(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="folder not found"):
        load_beir(tmp_path / "nothing")
    root = write_dataset(tmp_path / "d")
    with pytest.raises(DatasetError, match=r"split='dev'.*available splits: test"):
        load_beir(root, split="dev")
    (root / "queries.jsonl").unlink()
    with pytest.raises(DatasetError, match=r"queries\.jsonl"):
        load_beir(root)
    root2 = write_dataset(tmp_path / "d2", qrels="q1\td1\t1\nq7\td1\t1\n")
    with pytest.raises(DatasetError, match="'q7'"):
        load_beir(root2)


def test_judged_documents_missing_from_corpus_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = write_dataset(tmp_path / "d", qrels="q1\tghost\t1\n")
    data = load_beir(root)
    assert data.qrels == {"q1": {"ghost": 1}}
    assert "not in the corpus" in caplog.text


@pytest.mark.skipif(not NANO.is_dir(), reason="the nano-dbpedia development set is not available")
def test_nano_dbpedia() -> None:
    data = load_beir(NANO)
    assert len(data.corpus) == 5000
    assert len(data.queries) == 40  # 50 queries, 40 of them judged in the test split
    assert set(data.qrels) == set(data.queries)
    assert {g for judged in data.qrels.values() for g in judged.values()} <= {0, 1, 2}
