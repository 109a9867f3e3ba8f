"""``ogma embed --ray``: mistakes are one line and exit 2, found before Ray starts (no Ray needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogma.cli import main

pytest.importorskip("pyarrow")


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if the command would start (or join) Ray."""
    import ogma.distributed.ray_data as ray_data

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("Ray was started before the input was checked")

    monkeypatch.setattr(ray_data, "init_ray", refuse)


@pytest.mark.parametrize(
    ("args", "content", "message"),
    [
        (["missing.jsonl", "out"], None, "input 'missing.jsonl' does not exist"),
        (["in.jsonl", "out"], '{"id": "a", "text": "x"}\n{"id": 1e3, "text": "y"}\n', "in.jsonl:2: 'id' must be"),
        (["in.jsonl", "out"], '{"text": "no id"}\n', "in.jsonl:1: no 'id'"),
        (["in.jsonl", "out"], "", "no records to embed"),
        (["in.csv", "out"], "a,b\n", "input must be .jsonl/.json or .parquet"),
        (["in.jsonl"], '{"id": "a", "text": "x"}\n', "--ray expects one input"),
        (["in.jsonl", "out.npy"], '{"id": "a", "text": "x"}\n', "OUT is a folder of Parquet files"),
        (["in.jsonl", "out", "--actors", "0"], '{"id": "a", "text": "x"}\n', "--actors must be a positive integer"),
        (["in.parquet", "out"], "not parquet", "in.parquet is not a readable Parquet file"),
    ],
)
def test_embed_ray_mistakes_exit_2_before_ray_starts(
    no_ray: None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    content: str | None,
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    if content is not None:
        Path(args[0]).write_text(content)
    assert main(["embed", "--ray", *args]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("ogma embed: error: ") and message in err[0], err


def test_embed_ray_refuses_an_output_folder_that_holds_parquet(
    no_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text('{"id": "a", "text": "x"}\n')
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "old.parquet").write_bytes(b"")
    assert main(["embed", "--ray", str(source), str(tmp_path / "out")]) == 2
    assert "already holds Parquet files" in capsys.readouterr().err


def test_parquet_input_without_an_id_column_is_named_before_ray(
    no_ray: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.table({"key": ["a"], "text": ["x"]}), tmp_path / "in.parquet")
    pq.write_table(pa.table({"id": [1.5], "text": ["x"]}), tmp_path / "floats.parquet")
    assert main(["embed", "--ray", str(tmp_path / "in.parquet"), str(tmp_path / "out")]) == 2
    assert main(["embed", "--ray", str(tmp_path / "floats.parquet"), str(tmp_path / "out2")]) == 2
    err = capsys.readouterr().err
    assert "in.parquet has no column 'id'" in err and "column 'id' holds double values" in err
