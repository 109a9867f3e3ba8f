"""``--model-id``: a local model folder declared as a registry model, through index, search and embed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ogma.cli import main
from ogma.store import Store


def test_index_and_search_a_declared_folder(
    real_e5_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "summit.txt").write_text("A summit is the highest point of a mountain.", encoding="utf-8")
    (docs / "protein.txt").write_text("Women need about 46 grams of protein a day.", encoding="utf-8")
    db = tmp_path / "s.ogma"
    declared = ["-m", str(real_e5_dir), "--model-id", "intfloat/e5-small-v2", "--threads", "1"]
    assert main(["index", str(docs), "--db", str(db), "-q", *declared]) == 0
    with Store(db, read_only=True) as store:
        assert store.config.model_id == "intfloat/e5-small-v2"
        assert "query: " in store.config.task_scheme
    assert main(["index", str(docs), "--db", str(db), "-q", *declared]) == 0  # the same model again: accepted
    assert main(["search", "summit define", "--db", str(db), "--json", "-k", "1", *declared]) == 0
    (hit,) = json.loads(capsys.readouterr().out)
    assert "summit" in hit["text"]


def test_model_id_needs_a_folder_and_a_registry_model(real_e5_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", "a text", "--model-id", "intfloat/e5-small-v2"]) == 2
    assert "--model-id" in capsys.readouterr().err
    assert main(["embed", "a text", "-m", str(real_e5_dir), "--model-id", "nobody/nothing"]) != 0
    assert "not a registry model" in capsys.readouterr().err
