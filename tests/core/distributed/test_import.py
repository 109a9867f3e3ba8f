"""Parquet import into a store: precomputed vectors, no re-encoding, and the model check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from ogma import Store
from ogma.cli import main
from ogma.compress import normalize
from ogma.distributed.files import EmbeddingInfo, embedding_table
from ogma.errors import StoreMismatchError
from ogma.store.migrate import source_config
from ogma.store.parquet import import_parquet
from ogma.store.uri import open_store
from tests.helpers.milvus_lite import new_collection, requires_milvus_lite

pq = pytest.importorskip("pyarrow.parquet")

INFO = EmbeddingInfo(model_id="org/model", dim=12, full_dim=12, task="document", task_scheme="none")


def write_file(path: Path, rows: int, info: EmbeddingInfo = INFO, *, start: int = 0, seed: int = 0) -> np.ndarray:
    vecs = normalize(np.random.default_rng(seed).standard_normal((rows, info.dim)).astype(np.float32))
    columns = {
        "id": [f"d{start + i}" for i in range(rows)],
        "text": [f"text number {start + i}" for i in range(rows)],
        "metadata": [json.dumps({"n": start + i}) for i in range(rows)],
    }
    pq.write_table(embedding_table(columns, vecs, info), path)
    return vecs


def test_import_adds_rows_with_their_vectors(tmp_path: Path) -> None:
    first = write_file(tmp_path / "a.parquet", 30)
    second = write_file(tmp_path / "b.parquet", 20, start=30, seed=1)
    with Store(tmp_path / "s.db", dim=12) as store:
        assert import_parquet(store, [tmp_path], batch_rows=7) == 50
        assert store.count() == 50
        hit = store.search(vector=second[4], k=1)[0]
        assert (hit.id, hit.text, hit.metadata) == ("d34", "text number 34", {"n": 34})
        assert store.search(vector=first[0], k=1)[0].id == "d0"


def test_import_refuses_another_models_vectors(tmp_path: Path) -> None:
    other = EmbeddingInfo(model_id="org/other", dim=12, full_dim=12, task="document", task_scheme="none")
    write_file(tmp_path / "x.parquet", 3, other)
    db = tmp_path / "s.db"
    assert main(["import", str(db), str(tmp_path / "x.parquet"), "-q"]) == 0  # a new store records org/other
    write_file(tmp_path / "y.parquet", 3)
    with Store(db) as store, pytest.raises(StoreMismatchError, match="org/model"):
        import_parquet(store, [tmp_path / "y.parquet"])
    assert main(["import", str(db), str(tmp_path / "y.parquet"), "-q"]) == 2
    with Store(db) as store:
        assert store.config.model_id == "org/other" and store.count() == 3  # nothing of y was written


def test_import_refuses_queries_wrong_dims_and_unknown_files(tmp_path: Path) -> None:
    query = EmbeddingInfo(model_id="org/model", dim=12, full_dim=12, task="query", task_scheme="none")
    write_file(tmp_path / "q.parquet", 2, query)
    small = EmbeddingInfo(model_id="org/model", dim=8, full_dim=12, task="document", task_scheme="none")
    write_file(tmp_path / "small.parquet", 2, small)
    import pyarrow as pa

    pq.write_table(pa.table({"id": ["a"], "text": ["b"]}), tmp_path / "plain.parquet")
    with Store(tmp_path / "s.db", dim=12) as store:
        with pytest.raises(StoreMismatchError, match="query"):
            import_parquet(store, [tmp_path / "q.parquet"])
        with pytest.raises(StoreMismatchError, match="8-d"):
            import_parquet(store, [tmp_path / "small.parquet"])
        with pytest.raises(ValueError, match="not written by"):
            import_parquet(store, [tmp_path / "plain.parquet"])
        with pytest.raises(FileNotFoundError, match="missing"):
            import_parquet(store, [tmp_path / "missing.parquet"])
        assert store.count() == 0


def _with_nulls(path: Path, vector_nulls: list[int], text_nulls: list[int]) -> None:
    """Rewrite an embedding file with null vectors and null texts in the given rows (schema record kept)."""
    import pyarrow as pa

    table = pq.read_table(path)
    vectors = table.column("embedding").combine_chunks()
    rows = len(vectors)
    mask = pa.array([i in vector_nulls for i in range(rows)])
    nulled = pa.FixedSizeListArray.from_arrays(vectors.values, INFO.dim, mask=mask)
    texts = [None if i in text_nulls else t for i, t in enumerate(table.column("text").to_pylist())]
    table = table.set_column(table.schema.get_field_index("embedding"), table.schema.field("embedding"), nulled)
    table = table.set_column(table.schema.get_field_index("text"), "text", pa.array(texts, pa.string()))
    pq.write_table(table, path)


def test_import_keeps_rows_without_a_vector_or_text(tmp_path: Path) -> None:
    vecs = write_file(tmp_path / "a.parquet", 6)
    _with_nulls(tmp_path / "a.parquet", vector_nulls=[1, 3], text_nulls=[4])
    with Store(tmp_path / "s.db", dim=12) as store:
        assert import_parquet(store, [tmp_path / "a.parquet"], batch_rows=4) == 6
        assert store.count() == 6 and store.count_vectors() == 4
        dense = [h.id for h in store.search(vector=vecs[1], k=6)]
        assert sorted(dense) == ["d0", "d2", "d4", "d5"]  # rows 1 and 3 have no vector
        assert store.search(vector=vecs[5], k=1)[0].id == "d5"  # vectors stay on their own rows
        assert [h.id for h in store.search("number 3", mode="lexical", k=1)] == ["d3"]
        assert store.get(["d4"])[0].text is None


def test_a_row_with_neither_vector_nor_text_keeps_its_metadata(tmp_path: Path) -> None:
    write_file(tmp_path / "a.parquet", 3)
    _with_nulls(tmp_path / "a.parquet", vector_nulls=[2], text_nulls=[2])
    with Store(tmp_path / "s.db", dim=12) as store:
        assert import_parquet(store, [tmp_path / "a.parquet"]) == 3
        assert [d.id for d in store.iter_documents(filter={"n": 2})] == ["d2"]  # as Store.add keeps it


@requires_milvus_lite
def test_import_into_milvus_records_the_model_and_checks_it(
    tmp_path: Path, milvus_lite_db: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    vecs = write_file(tmp_path / "a.parquet", 40)
    uri = f"milvus-lite://{milvus_lite_db}?collection={new_collection('imp')}"
    args = ["import", uri, str(tmp_path / "a.parquet"), "--precision", "binary", "--insert-new-ids", "-q"]
    assert main(args) == 0
    assert main(args) == 0  # again: every id is stored now, so replaced (upsert), not doubled
    with open_store(uri) as store:
        assert store.count() == 40 and store.dim == 12 and store.precision == "binary"
        assert source_config(store)["model_id"] == "org/model"
        assert store.search(vector=vecs[7], k=1)[0].id == "d7"
    other = EmbeddingInfo(model_id="org/other", dim=12, full_dim=12, task="document", task_scheme="none")
    write_file(tmp_path / "b.parquet", 3, other, start=100)
    assert main(["import", uri, str(tmp_path / "b.parquet"), "-q"]) == 2
    assert main(["import", str(tmp_path / "s.db"), str(tmp_path / "a.parquet"), "--insert-new-ids"]) == 2
    assert not (tmp_path / "s.db").exists()
    err = capsys.readouterr().err
    assert "holds vectors of model 'org/other', but this store was built with 'org/model'" in err
    assert "--insert-new-ids is for Milvus stores" in err
    with open_store(uri) as store:
        assert store.count() == 40
        store.drop()
