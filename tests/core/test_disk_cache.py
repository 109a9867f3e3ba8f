"""The on-disk model cache: keyed by content, digests remembered, entries listed and removed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from ogma import hub
from ogma.disk_cache import ENTRY_FILE, content_key, file_digest, list_entries, remove_entries
from ogma.hub import ogma_home, resolve_model
from tests.core.convert.conftest import TinyConfig, write_checkpoint


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("OGMA_HOME", str(tmp_path / "ogma-home"))
    return ogma_home()


def test_digest_is_remembered_by_path_size_and_mtime(tmp_path: Path, home: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"x" * 1000)
    real = file_digest(weights)
    sidecar = home / "fingerprints.json"
    table = json.loads(sidecar.read_text())
    assert table[str(weights.resolve())] == [1000, weights.stat().st_mtime_ns, real]
    # A remembered digest is trusted while path, size and mtime hold: plant a marker to prove it is read.
    table[str(weights.resolve())][2] = "remembered"
    sidecar.write_text(json.dumps(table))
    assert file_digest(weights) == "remembered"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert file_digest(weights) == real  # mtime changed: hashed again


def test_damaged_sidecar_costs_only_a_rehash(tmp_path: Path, home: Path) -> None:
    weights = tmp_path / "w.bin"
    weights.write_bytes(b"abc")
    home.mkdir(parents=True)
    (home / "fingerprints.json").write_bytes(b"\xff not json")
    assert file_digest(weights).startswith("ba7816bf")


def test_content_key_ignores_location_and_follows_bytes_and_salt(tmp_path: Path, home: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for folder in (a, b):
        folder.mkdir()
        (folder / "model.safetensors").write_bytes(b"weights")
    key_a = content_key([("model.safetensors", a / "model.safetensors")])
    assert key_a == content_key([("model.safetensors", b / "model.safetensors")])
    assert key_a != content_key([("model.safetensors", a / "model.safetensors")], salt="graph-2")
    (b / "model.safetensors").write_bytes(b"weightz")
    assert key_a != content_key([("model.safetensors", b / "model.safetensors")])


def test_convert_inputs_cover_every_file_the_converter_reads() -> None:
    from ogma.convert.files import COMPANION_FILES

    assert set(hub._CONVERT_INPUTS) == {"model.safetensors", *COMPANION_FILES}


def test_two_copies_of_a_checkpoint_share_one_conversion(tmp_path: Path, home: Path) -> None:
    """Two environments installing the same weights (different paths, mtimes) convert once."""
    first = write_checkpoint(tmp_path / "venv1" / "model", TinyConfig()).folder
    second = tmp_path / "venv2" / "model"
    shutil.copytree(first, second)  # new mtimes, same bytes
    one = resolve_model(first)
    two = resolve_model(second)
    assert one.source == two.source == "converted"
    assert one.onnx_path == two.onnx_path
    entries = list_entries()
    assert [e.kind for e in entries] == ["converted"]
    assert set(entries[0].sources) == {str(first.resolve()), str(second.resolve())}
    assert entries[0].matches(str(second)) and entries[0].size_bytes > 0
    # A changed tokenizer is a different model: it gets its own conversion.
    tokenizer = second / "tokenizer.json"
    tokenizer.write_text(tokenizer.read_text().replace('"[UNK]"', '"[UNK]" ', 1))
    assert resolve_model(second).onnx_path != one.onnx_path
    assert len(list_entries()) == 2


def test_quantized_copies_are_keyed_by_content(tmp_path: Path, home: Path) -> None:
    from tests.helpers.tiny_models import make_tiny_bert_folder

    one = make_tiny_bert_folder(tmp_path / "one")
    two = tmp_path / "two"
    shutil.copytree(one, two)
    assert resolve_model(one, quantized=True).onnx_path == resolve_model(two, quantized=True).onnx_path
    (entry,) = list_entries()
    assert entry.kind == "quantized" and (entry.path / ENTRY_FILE).is_file()


def test_remove_entries(tmp_path: Path, home: Path) -> None:
    write_checkpoint(tmp_path / "m", TinyConfig())
    resolve_model(tmp_path / "m")
    entries = list_entries()
    assert remove_entries(entries) == entries[0].size_bytes > 0
    assert list_entries() == [] and not (home / "fingerprints.json").exists()
