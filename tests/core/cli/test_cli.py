"""The ``ogma`` CLI: every command has help and docs; embed/models/convert work end to end."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import pytest

from ogma.cli import COMMAND_MODULES, build_parser, main
from tests.helpers.tiny_models import make_tiny_bert_folder

ROOT = Path(__file__).resolve().parents[3]


def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_every_command_module_registers_a_command() -> None:
    assert set(_subcommands()) == set(COMMAND_MODULES)


@pytest.mark.parametrize("name", COMMAND_MODULES)
def test_every_command_has_help_and_docs(name: str) -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    helps = {choice.dest: choice.help for choice in action._choices_actions}
    assert helps.get(name), f"`ogma {name}` has no help text"
    for arg in _subcommands()[name]._actions:
        if not isinstance(arg, argparse._HelpAction) and arg.help != argparse.SUPPRESS:
            assert arg.help, f"`ogma {name}` option {arg.dest} has no help text"
    docs = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "docs").glob("*.md"))
    assert f"ogma {name}" in docs, f"`ogma {name}` is not documented under docs/"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert_folder(tmp_path_factory.mktemp("cli-model"))


def test_embed_args_to_jsonl(model_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", "-m", str(model_dir), "cat", "dog river", "--task", "query", "-q"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["cat", "dog river"]
    assert len(rows[0]["embedding"]) == 16


def test_embed_file_to_npy_with_dim_and_precision(model_dir: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "cat"}\n{"text": "dog"}\n')
    out = tmp_path / "out.npy"
    with pytest.warns(UserWarning, match="Matryoshka"):
        assert main(["embed", "-m", str(model_dir), "-i", str(src), "-o", str(out), "--dim", "8",
                     "--precision", "int8", "-q"]) == 0  # fmt: skip
    array = np.load(out)
    assert array.shape == (2, 8) and array.dtype == np.int8


def test_embed_stdin(model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import io

    monkeypatch.setattr("sys.stdin", io.StringIO("cat\n\ndog\n"))
    assert main(["embed", "-m", str(model_dir), "-q"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["text"] for r in rows] == ["cat", "", "dog"]  # the empty line keeps its row


def test_embed_bad_jsonl_names_the_line(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"text": "cat"}\n{"nope": 1}\n')
    assert main(["embed", "-m", str(model_dir), "-i", str(src)]) == 2
    assert "in.jsonl:2: expected a JSON object with a string 'text'" in capsys.readouterr().err


def test_models_lists_licences(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert "axiotic/ogma-mini" in out and "cc-by-nc-4.0" in out and "non-commercial" in out
    assert main(["models", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {r["model"] for r in data["embedding"]} >= {"axiotic/ogma-mini", "intfloat/e5-small-v2"}


def test_errors_exit_2_with_a_message(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["embed", "-m", "someone/not-cached", "x"]) == 2
    assert "not available offline" in capsys.readouterr().err
