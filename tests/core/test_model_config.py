"""Reading model folders: position tables and JSON files of the wrong shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ogma.errors import ModelFileError
from ogma.model_config import position_limit, read_json_object, spec_from_folder


def _config(folder: Path, data: object) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(data))


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"max_position_embeddings": 512, "model_type": "bert"}, 512),
        ({"max_position_embeddings": 514, "model_type": "xlm-roberta"}, 512),
        ({"max_position_embeddings": 514, "model_type": "roberta"}, 512),
        ({"hidden_size": 8}, None),
    ],
    ids=["bert", "xlm-roberta-offset", "roberta-offset", "absent"],
)
def test_position_limit_from_config(tmp_path: Path, config: dict[str, object], expected: int | None) -> None:
    _config(tmp_path, config)
    assert position_limit(tmp_path) == expected


def test_position_limit_from_a_converted_graph(tmp_path: Path) -> None:
    from ogma.convert import convert_checkpoint
    from tests.core.convert.conftest import TinyConfig, write_checkpoint

    src = write_checkpoint(tmp_path / "src", TinyConfig(max_positions=40)).folder
    out = convert_checkpoint(src, tmp_path / "out")
    (out / "config.json").unlink()
    assert position_limit(out, out / "model.onnx") == 40


def test_read_json_object(tmp_path: Path) -> None:
    assert read_json_object(tmp_path / "missing.json") is None
    (tmp_path / "list.json").write_text("[]")
    with pytest.raises(ModelFileError, match=r"list\.json must hold a JSON object"):
        read_json_object(tmp_path / "list.json")


def test_ogma_conversion_file_is_checked(tmp_path: Path) -> None:
    (tmp_path / "ogma_conversion.json").write_text(json.dumps({"kind": "ogma", "max_length": "long"}))
    with pytest.raises(ModelFileError, match=r"ogma_conversion\.json: 'max_length' must be a positive integer"):
        spec_from_folder("m", tmp_path, None, dim=8)
    (tmp_path / "ogma_conversion.json").write_text(json.dumps({"kind": "ogma", "matryoshka_dims": "8"}))
    with pytest.raises(ModelFileError, match="'matryoshka_dims' must be a list"):
        spec_from_folder("m", tmp_path, None, dim=8)
