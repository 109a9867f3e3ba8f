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
    from ogma.cli.options import UsageError
    from ogma.distributed.cli import split_ray_args

    assert split_ray_args("auto", ["in.parquet", "out"], None, None) == ("auto", "in.parquet", "out")
    assert split_ray_args("local", [], Path("in.jsonl"), Path("out")) == ("local", "in.jsonl", "out")
    with pytest.raises(UsageError, match="IN OUT"):
        split_ray_args("in.jsonl", [], None, None)


# --- JSONL input of ogma embed --ray: ids are strings end to end ---------------------------------

BIG = 2**53 + 1  # a float64 cannot hold it: JSON readers that infer numbers turn it into 9007199254740992


def test_jsonl_ids_keep_their_exact_text(tmp_path: Path) -> None:
    from ogma.distributed.files import jsonl_table

    source = tmp_path / "in.jsonl"
    lines = [
        '{"id": "00123", "text": "a"}',
        '{"id": "7", "text": "b"}',
        '{"id": "1e3", "text": "c"}',
        f'{{"id": "{BIG}", "text": "d"}}',
        f'{{"id": {BIG}, "text": "e"}}',  # a JSON integer: its digits, exactly, as ogma index reads it
        '{"id": 42, "text": "f", "metadata": {"n": 1}}',
        '{"_id": "0x1F", "text": "g"}',
    ]
    source.write_text("\n".join(lines) + "\n\n")
    table = jsonl_table(source)
    assert table.schema.field("id").type == pa.string()
    assert table.column("id").to_pylist() == ["00123", "7", "1e3", str(BIG), str(BIG), "42", "0x1F"]
    assert table.column("metadata").to_pylist() == [None] * 5 + ['{"n": 1}', None]


def test_jsonl_ids_follow_the_rule_of_ogma_index(tmp_path: Path) -> None:
    """One rule for both readers: the ids ogma index keeps, embed --ray keeps; what it refuses, embed --ray refuses."""
    from ogma.distributed.files import EmbeddingFileError, jsonl_table
    from ogma.sources.read import Record, iter_jsonl

    cases = {
        '"00123"': "00123",
        "123": "123",
        f"{BIG}": str(BIG),
        "-5": "-5",
        "1e3": None,
        "1.0": None,
        "true": None,
        '""': None,
        "[1]": None,
    }
    for raw, expected in cases.items():
        line = f'{{"id": {raw}, "text": "x"}}'
        (item,) = iter_jsonl([line])
        source = tmp_path / "one.jsonl"
        source.write_text("\n" + line + "\n")
        if expected is None:
            assert not isinstance(item, Record), raw
            with pytest.raises(EmbeddingFileError, match=r"one\.jsonl:2: 'id'") as caught:
                jsonl_table(source)
            assert item.reason in str(caught.value)
        else:
            assert isinstance(item, Record) and item.doc_id == expected
            assert jsonl_table(source).column("id").to_pylist() == [expected]


def test_a_json_number_id_with_a_fraction_or_exponent_is_refused_with_file_and_line(tmp_path: Path) -> None:
    from ogma.distributed.files import EmbeddingFileError, jsonl_table

    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "x"}\n{"id": 1e3, "text": "y"}\n')
    with pytest.raises(EmbeddingFileError, match=r"in\.jsonl:2: 'id' must be a string or an integer, got float"):
        jsonl_table(source)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ('{"text": "no id"}\n', r":1: no 'id'"),
        ('{"id": "a"}\n', r":1: expected an object with a string 'text'"),
        ('{"id": "a", "text": "x"}\nnot json\n', r":2: not a JSON object"),
        ('{"id": "a", "text": "x", "metadata": [1]}\n', r":1: 'metadata' must be an object"),
        ('{"id": "\\ud800", "text": "x"}\n', r":1: not valid Unicode"),
    ],
)
def test_bad_jsonl_lines_are_named(tmp_path: Path, content: str, match: str) -> None:
    from ogma.distributed.files import EmbeddingFileError, jsonl_table

    source = tmp_path / "in.jsonl"
    source.write_text(content)
    with pytest.raises(EmbeddingFileError, match=r"in\.jsonl" + match):
        jsonl_table(source)


def test_integer_id_columns_become_their_digits_and_floats_are_refused() -> None:
    from ogma.distributed.files import EmbeddingFileError, id_strings

    assert id_strings(pa.array([7, BIG], pa.int64())).to_pylist() == ["7", str(BIG)]
    assert id_strings(pa.array(["00123"], pa.large_string())).to_pylist() == ["00123"]
    with pytest.raises(EmbeddingFileError, match="column 'id' holds double values"):
        id_strings(pa.array([1.0]))
