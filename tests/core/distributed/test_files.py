"""The embeddings Parquet layout: columns, types, bit order, schema record (pyarrow only, no Ray)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ogma.compress import normalize, quantize_binary, unpack_binary
from ogma.distributed.files import BINARY_COLUMN, EMBEDDING_COLUMN, EmbeddingInfo, embedding_table, read_embedding_info

pa = pytest.importorskip("pyarrow")
pq = pytest.importorskip("pyarrow.parquet")

INFO = EmbeddingInfo(model_id="org/model", dim=10, full_dim=12, task="document", task_scheme="symmetric")


def vectors(rows: int, dim: int = 10, seed: int = 0) -> np.ndarray:
    return normalize(np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32))


def test_table_round_trips_through_plain_pyarrow(tmp_path: Path) -> None:
    vecs = vectors(5)
    table = embedding_table({"id": [f"d{i}" for i in range(5)], "text": list("abcde")}, vecs, INFO)
    pq.write_table(table, tmp_path / "part.parquet")
    back = pq.read_table(tmp_path / "part.parquet")
    assert back.schema.field(EMBEDDING_COLUMN).type == pa.list_(pa.float32(), 10)
    assert back.schema.field(BINARY_COLUMN).type == pa.binary(2)
    floats = np.asarray(back.column(EMBEDDING_COLUMN).combine_chunks().flatten()).reshape(5, 10)
    np.testing.assert_array_equal(floats, vecs)
    packed = np.frombuffer(b"".join(back.column(BINARY_COLUMN).to_pylist()), dtype=np.uint8).reshape(5, 2)
    np.testing.assert_array_equal(packed, quantize_binary(vecs))  # sqlite-vec order, LSB first
    np.testing.assert_array_equal(unpack_binary(packed, 10), (vecs > 0).astype(np.uint8))
    assert back.column("id").to_pylist() == [f"d{i}" for i in range(5)]
    assert read_embedding_info(back.schema, source="part") == INFO


def test_int8_and_binary_precisions() -> None:
    vecs = vectors(3)
    ids = {"id": ["a", "b", "c"]}
    int8 = embedding_table(ids, vecs, EmbeddingInfo("m", 10, 10, "query", "none", precision="int8"))
    assert int8.schema.field(EMBEDDING_COLUMN).type == pa.list_(pa.int8(), 10)
    binary = embedding_table(ids, vecs, EmbeddingInfo("m", 10, 10, "query", "none", precision="ubinary"))
    assert binary.column_names == ["id", BINARY_COLUMN]


def test_empty_block_keeps_the_schema() -> None:
    table = embedding_table({"id": pa.array([], pa.string())}, np.zeros((0, 10), np.float32), INFO)
    assert table.num_rows == 0 and table.schema.field(BINARY_COLUMN).type == pa.binary(2)


def test_refuses_input_columns_named_like_outputs() -> None:
    with pytest.raises(ValueError, match="embedding"):
        embedding_table({"id": ["a"], "embedding": [1]}, vectors(1), INFO)


def test_schema_record_is_required_and_checked() -> None:
    with pytest.raises(ValueError, match=r"ogma\.embeddings"):
        read_embedding_info(pa.schema([("id", pa.string())]), source="x.parquet")
    bad = pa.schema([("id", pa.string())], metadata={b"ogma.embeddings": b'{"model_id": "m"}'})
    with pytest.raises(ValueError, match="malformed"):
        read_embedding_info(bad)


def test_missing_ray_names_the_pip_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from ogma.distributed.ray_data import require_ray
    from ogma.errors import MissingExtraError

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'ogma-core\[ray\]'"):
        require_ray()


def test_ray_address_or_input_file() -> None:
    from ogma.distributed.cli import split_ray_args

    assert split_ray_args("auto", ["in.parquet", "out"], None, None) == ("auto", "in.parquet", "out")
    assert split_ray_args("local", [], Path("in.jsonl"), Path("out")) == ("local", "in.jsonl", "out")
    with pytest.raises(SystemExit, match="IN OUT"):
        split_ray_args("in.jsonl", [], None, None)
