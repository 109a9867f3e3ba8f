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


# --- hostile files: every check runs before the first row is written -------------------------------


def _store_state(db: Path) -> tuple[int, list[tuple[str, str | None]]]:
    with Store(db) as store:
        return store.count(), sorted((d.id, d.text) for d in store.iter_documents())


def _existing_store(tmp_path: Path) -> tuple[Path, tuple[int, list[tuple[str, str | None]]]]:
    write_file(tmp_path / "good.parquet", 5, start=900)
    db = tmp_path / "existing.db"
    assert main(["import", str(db), str(tmp_path / "good.parquet"), "-q"]) == 0
    return db, _store_state(db)


def _refused_everywhere(
    tmp_path: Path, bad: Path, match: str, capsys: pytest.CaptureFixture[str], *, batch_rows: int = 8192
) -> None:
    """The file is refused by the API and the CLI (exit 2, one line naming it); no store is created or changed."""
    db, before = _existing_store(tmp_path)
    with Store(db) as store, pytest.raises(ValueError, match=match):
        import_parquet(store, [bad], batch_rows=batch_rows)
    assert _store_state(db) == before
    capsys.readouterr()
    assert main(["import", str(db), str(bad), "--batch-rows", str(batch_rows)]) == 2
    assert _store_state(db) == before
    new = tmp_path / "new.db"
    assert main(["import", str(new), str(bad)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("ogma import: error: ") for line in err), err
    assert all(str(bad) in line for line in err), err
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith("new.db")) == []  # nothing created


def _table_with(info: EmbeddingInfo, **columns: object) -> object:
    import pyarrow as pa

    table = pa.table(columns)
    return table.replace_schema_metadata({b"ogma.embeddings": info.to_json()})


def test_a_ragged_embedding_column_is_refused_not_slid_across_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa

    info = EmbeddingInfo(model_id="org/model", dim=8, full_dim=12, task="document", task_scheme="none")
    ragged = pa.array([[0.1] * 7, [0.2] * 9], pa.list_(pa.float32()))
    bad = tmp_path / "ragged.parquet"
    pq.write_table(_table_with(info, id=["a", "b"], text=["x", "y"], embedding=ragged), bad)
    _refused_everywhere(
        tmp_path, bad, r"ragged\.parquet: column 'embedding' is list<float>, but its schema record says 8-d", capsys
    )


def test_a_dimension_unlike_the_record_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa

    info = EmbeddingInfo(model_id="org/model", dim=8, full_dim=12, task="document", task_scheme="none")
    wide = pa.FixedSizeListArray.from_arrays(pa.array([0.5] * 32, pa.float32()), 16)
    bad = tmp_path / "wide.parquet"
    pq.write_table(_table_with(info, id=["a", "b"], text=["x", "y"], embedding=wide), bad)
    _refused_everywhere(tmp_path, bad, r"wide\.parquet: column 'embedding' is fixed_size_list<float>\[16\]", capsys)


def test_string_or_double_vectors_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa

    strings = pa.FixedSizeListArray.from_arrays(pa.array(["0.5"] * 24), 12)
    bad = tmp_path / "strings.parquet"
    pq.write_table(_table_with(INFO, id=["a", "b"], text=["x", "y"], embedding=strings), bad)
    _refused_everywhere(tmp_path, bad, r"strings\.parquet: column 'embedding' is fixed_size_list<string>\[12\]", capsys)
    doubles = pa.FixedSizeListArray.from_arrays(pa.array([0.5] * 24, pa.float64()), 12)
    pq.write_table(_table_with(INFO, id=["a", "b"], text=["x", "y"], embedding=doubles), bad)
    with Store(tmp_path / "s.db", dim=12) as store, pytest.raises(ValueError, match="double"):
        import_parquet(store, [bad])


def test_integer_ids_are_refused_not_turned_into_other_strings(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa

    vectors = pa.FixedSizeListArray.from_arrays(pa.array([0.5] * 24, pa.float32()), 12)
    bad = tmp_path / "ints.parquet"
    pq.write_table(_table_with(INFO, id=pa.array([123, 7]), text=["x", "y"], embedding=vectors), bad)
    _refused_everywhere(tmp_path, bad, r"ints\.parquet: column 'id' holds int64 values, but ids are strings", capsys)


def test_a_text_file_is_named_and_creates_no_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "notes.parquet"
    bad.write_text("id,text\n1,hello\n")
    _refused_everywhere(tmp_path, bad, r"notes\.parquet is not a readable Parquet file", capsys)


def test_a_truncated_file_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_file(tmp_path / "whole.parquet", 50)
    data = (tmp_path / "whole.parquet").read_bytes()
    bad = tmp_path / "cut.parquet"
    bad.write_bytes(data[: len(data) // 2])
    _refused_everywhere(tmp_path, bad, r"cut\.parquet is not a readable Parquet file", capsys)


def test_corrupt_data_pages_are_named_and_change_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa

    rows = 3000
    table = pa.table(
        {
            "id": [f"doc-{i}" for i in range(rows)],
            "text": [f"text {i}" for i in range(rows)],
            "embedding": pa.FixedSizeListArray.from_arrays(pa.array(np.full(rows * 12, 0.25, np.float32)), 12),
        }
    ).replace_schema_metadata({b"ogma.embeddings": INFO.to_json()})
    whole = tmp_path / "whole.parquet"
    pq.write_table(table, whole, compression="snappy", row_group_size=1000)
    data = bytearray(whole.read_bytes())
    footer = pq.ParquetFile(whole).metadata
    # Scramble the compressed bytes of the last row group's id column: the footer stays intact.
    chunk = footer.row_group(2).column(0)
    offset = chunk.data_page_offset + 40
    data[offset : offset + 200] = bytes(range(200))
    bad = tmp_path / "corrupt.parquet"
    bad.write_bytes(bytes(data))
    _refused_everywhere(tmp_path, bad, r"corrupt\.parquet: rows 2000-2999 \(row group 2\) cannot be read", capsys)


@pytest.mark.parametrize("batch_rows", [1, 2, 3, 8192])
def test_a_duplicate_id_in_one_file_is_refused_whatever_the_batch_size(
    tmp_path: Path, batch_rows: int, capsys: pytest.CaptureFixture[str]
) -> None:
    """As Store.add refuses one id twice in a call, an import refuses one id twice in a file."""
    import pyarrow as pa

    vecs = normalize(np.random.default_rng(3).standard_normal((4, 12)).astype(np.float32))
    columns = {"id": ["a", "b", "c", "a"], "text": ["one", "two", "three", "four"]}
    table = embedding_table({k: pa.array(v) for k, v in columns.items()}, vecs, INFO)
    bad = tmp_path / "twice.parquet"
    pq.write_table(table, bad)
    _refused_everywhere(
        tmp_path, bad, r"twice\.parquet: id 'a' appears twice \(rows 0 and 3\)", capsys, batch_rows=batch_rows
    )


def test_null_empty_ids_and_nan_vectors_are_named_by_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa

    vecs = normalize(np.random.default_rng(4).standard_normal((3, 12)).astype(np.float32))
    for name, ids, vectors, match in [
        ("null-id", ["a", None, "c"], vecs, r"row 1 has no id"),
        ("empty-id", ["a", "b", ""], vecs, r"row 2 has an empty id"),
        ("nan", ["a", "b", "c"], np.where(np.arange(12) == 3, np.nan, vecs).astype(np.float32), r"row 0 has a null"),
    ]:
        bad = tmp_path / f"{name}.parquet"
        pq.write_table(embedding_table({"id": pa.array(ids, pa.string()), "text": ["x"] * 3}, vectors, INFO), bad)
        _refused_everywhere(tmp_path, bad, match, capsys)


def test_files_of_two_models_are_refused_together(tmp_path: Path) -> None:
    write_file(tmp_path / "a.parquet", 3)
    other = EmbeddingInfo(model_id="org/other", dim=12, full_dim=12, task="document", task_scheme="none")
    write_file(tmp_path / "b.parquet", 3, other, start=10)
    assert main(["import", str(tmp_path / "new.db"), str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]) == 2
    assert not (tmp_path / "new.db").exists()


def test_usage_errors_exit_2_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_file(tmp_path / "a.parquet", 3)
    assert main(["import", str(tmp_path / "s.db"), str(tmp_path / "a.parquet"), "--batch-rows", "0"]) == 2
    assert main(["import", str(tmp_path / "s.db"), str(tmp_path / "missing.parquet")]) == 2
    assert main(["import", str(tmp_path / "s.db"), str(tmp_path / "empty-folder")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and all(line.startswith("ogma import: error: ") for line in err), err
    assert "--batch-rows" in err[0] and "missing.parquet" in err[1] and "empty-folder" in err[2]
    assert not (tmp_path / "s.db").exists()


def test_import_works_in_a_fresh_process(tmp_path: Path) -> None:
    """``pyarrow.parquet`` is imported where it is used, not left to whatever another module loaded first."""
    import subprocess
    import sys

    write_file(tmp_path / "a.parquet", 4)
    code = (
        "import sys; from ogma import Store; from ogma.store.parquet import import_parquet\n"
        "assert 'pyarrow.parquet' not in sys.modules\n"
        f"store = Store({str(tmp_path / 'api.db')!r}, dim=12)\n"
        f"print(import_parquet(store, [{str(tmp_path / 'a.parquet')!r}]))\n"
    )
    env = {"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert (done.returncode, done.stdout.strip()) == (0, "4"), done.stderr
    cli = [sys.executable, "-m", "ogma.cli", "import", str(tmp_path / "cli.db"), str(tmp_path / "a.parquet"), "-q"]
    done = subprocess.run(cli, capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    with Store(tmp_path / "cli.db") as store:
        assert store.count() == 4


def test_a_row_the_store_itself_refuses_is_named_with_file_and_rows(tmp_path: Path) -> None:
    """A backend's own refusal (e.g. a field limit the file check cannot know) names the file and the rows."""
    from ogma.distributed.files import EmbeddingFileError

    class Picky(Store):
        def add(self, texts, *args, **kwargs):  # type: ignore[no-untyped-def]
            if "text number 5" in texts:
                raise ValueError("texts[1] is longer than this backend stores")
            return super().add(texts, *args, **kwargs)

    write_file(tmp_path / "a.parquet", 8)
    with Picky(tmp_path / "s.db", dim=12) as store:
        with pytest.raises(EmbeddingFileError, match=r"a\.parquet: rows 4-7: texts\[1\] is longer"):
            import_parquet(store, [tmp_path / "a.parquet"], batch_rows=4)
        assert store.count() == 4


def test_metadata_that_is_not_a_json_object_is_refused_before_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa

    vecs = normalize(np.random.default_rng(5).standard_normal((3, 12)).astype(np.float32))
    columns = {"id": ["a", "b", "c"], "text": ["x", "y", "z"], "metadata": ['{"n": 1}', "[1, 2]", "{}"]}
    bad = tmp_path / "meta.parquet"
    pq.write_table(embedding_table({k: pa.array(v) for k, v in columns.items()}, vecs, INFO), bad)
    _refused_everywhere(
        tmp_path, bad, r"meta\.parquet: the metadata of rows 0-2 cannot be stored \(metadatas\[1\]", capsys
    )
