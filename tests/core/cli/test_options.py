"""The shared model options: every command that loads a model takes them, and they reach the loader."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import build_parser, main
from ogma.cli.options import positive_int, unit_float

MODEL_COMMANDS = ("embed", "index", "search", "eval")


def _parser(name: str) -> argparse.ArgumentParser:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices[name]


@pytest.mark.parametrize("name", MODEL_COMMANDS)
def test_every_model_command_has_the_runtime_options(name: str) -> None:
    options = _parser(name)._option_string_actions
    for flag in ("--trust-remote-code", "--threads", "--device", "-v", "-q"):
        assert flag in options, f"ogma {name} lacks {flag}"


@pytest.mark.parametrize("name", ["embed", "index", "eval"])
def test_model_dim_precision_options(name: str) -> None:
    options = _parser(name)._option_string_actions
    assert {"-m", "--model", "--dim", "--precision"} <= set(options)


def test_index_passes_the_options_to_the_loader(tmp_path: Path, fake_encoder: Any) -> None:
    (tmp_path / "a.txt").write_text("alpha", encoding="utf-8")
    db = tmp_path / "s.ogma"
    argv = ["index", str(tmp_path / "a.txt"), "--db", str(db), "--trust-remote-code", "--threads", "3", "-q"]
    assert main(argv) == 0
    assert fake_encoder.options == {"device": "cpu", "threads": 3, "trust_remote_code": True}


def test_search_passes_the_options_to_the_loader(tmp_path: Path, fake_encoder: Any) -> None:
    (tmp_path / "a.txt").write_text("alpha", encoding="utf-8")
    db = tmp_path / "s.ogma"
    assert main(["index", str(tmp_path / "a.txt"), "--db", str(db), "-q"]) == 0
    assert main(["search", "alpha", "--db", str(db), "--mode", "dense", "--threads", "2", "--trust-remote-code"]) == 0
    assert fake_encoder.options == {"device": "cpu", "threads": 2, "trust_remote_code": True}


@pytest.mark.parametrize(
    ("text", "maximum", "expected"),
    [("1", None, 1), ("1_000", None, 1000), (" 7 ", 10, 7), ("10", 10, 10)],
)
def test_positive_int_accepts(text: str, maximum: int | None, expected: int) -> None:
    assert positive_int(maximum)(text) == expected


@pytest.mark.parametrize(
    ("text", "maximum", "message"),
    [
        ("0", None, "positive integer"),
        ("-1", None, "positive integer"),
        ("1.0", None, "positive integer"),
        ("1e3", None, "positive integer"),
        ("", None, "positive integer"),
        ("11", 10, "from 1 to 10"),
        (str(10**23), 10**9, "from 1 to 1000000000"),
    ],
)
def test_positive_int_refuses(text: str, maximum: int | None, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        positive_int(maximum)(text)


@pytest.mark.parametrize("text", ["-0.1", "1.01", "nan", "inf", "x", ""])
def test_unit_float_refuses(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="from 0 to 1"):
        unit_float(text)
