"""``ogma`` itself: --version, global options after the command, exit codes of unexpected errors."""

from __future__ import annotations

import argparse
import subprocess
import sys
from importlib.metadata import version
from typing import Any

import pytest

from ogma.cli import EXIT_INTERNAL, EXIT_INTERRUPTED, build_parser, main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"ogma-core {version('ogma-core')}"


def test_help_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "--help"]) == 0
    out = capsys.readouterr().out
    assert "--rerank" in out and "--alpha" in out and "global options" in out


@pytest.mark.parametrize(
    "argv",
    [["-v", "models"], ["models", "-v"], ["models", "--verbose"]],
    ids=["before", "after", "after-long"],
)
def test_verbose_before_or_after_the_command(argv: list[str]) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    assert args.verbose + args.verbose_sub == 1


def test_verbose_counts_both_places() -> None:
    args = build_parser().parse_args(["-v", "models", "-v"])
    assert args.verbose + args.verbose_sub == 2


@pytest.mark.parametrize("argv", [["-q", "models"], ["models", "-q"]], ids=["before", "after"])
def test_quiet_before_or_after_the_command(argv: list[str], monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, Any] = {}

    def run(args: argparse.Namespace) -> int:
        seen["quiet"] = args.quiet
        return 0

    parser = build_parser()
    monkeypatch.setattr("ogma.cli.build_parser", lambda: _with_func(parser, "models", run))
    assert main(argv) == 0
    assert seen["quiet"] is True


def _with_func(parser: argparse.ArgumentParser, name: str, func: Any) -> argparse.ArgumentParser:
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    action.choices[name].set_defaults(func=func)
    return parser


def _failing(monkeypatch: pytest.MonkeyPatch, exc: BaseException) -> None:
    def boom(args: argparse.Namespace) -> int:
        raise exc

    parser = build_parser()
    monkeypatch.setattr("ogma.cli.build_parser", lambda: _with_func(parser, "models", boom))


def test_internal_error_is_one_line_exit_1(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _failing(monkeypatch, RuntimeError("the widget broke\nbadly"))
    assert main(["models"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert err.splitlines() == [
        "ogma models: internal error: RuntimeError: the widget broke badly (run with -v for the traceback)"
    ]


def test_internal_error_traceback_with_v_after_the_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _failing(monkeypatch, RuntimeError("the widget broke"))
    assert main(["models", "-v"]) == EXIT_INTERNAL
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err and "raise exc" in err
    assert err.splitlines()[-1] == "ogma models: internal error: RuntimeError: the widget broke"


@pytest.mark.parametrize(
    ("exc", "needle"),
    [
        (FileNotFoundError(2, "No such file or directory", "/x/y.txt"), "No such file or directory: /x/y.txt"),
        (PermissionError(13, "Permission denied", "/root/z"), "Permission denied: /root/z"),
        (IsADirectoryError(21, "Is a directory", "/tmp"), "Is a directory: /tmp"),
        (ValueError("texts[3] is not valid Unicode"), "texts[3] is not valid Unicode"),
        (TypeError("texts must be a list of str"), "texts must be a list of str"),
        (RecursionError("maximum recursion depth exceeded"), "nested too deeply"),
        (UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte"), "not valid UTF-8"),
    ],
    ids=["file-not-found", "permission", "is-a-directory", "value", "type", "recursion", "unicode"],
)
def test_user_errors_exit_2(
    exc: BaseException, needle: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _failing(monkeypatch, exc)
    assert main(["models"]) == 2
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("ogma models: error: ") and needle in lines[0]


def test_ctrl_c_exits_130(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    _failing(monkeypatch, KeyboardInterrupt())
    assert main(["models"]) == EXIT_INTERRUPTED
    assert capsys.readouterr().err.strip() == "ogma models: interrupted"


def test_console_entry_point_exit_status() -> None:
    """``python -m ogma.cli`` passes main's status to the shell (2 for a usage error)."""
    result = subprocess.run(
        [sys.executable, "-m", "ogma.cli", "search", "q", "--db", "x.ogma", "-k", "0"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "ogma search: error: argument -k/--k: expected a positive integer, got '0' (see 'ogma search --help')"
    ]
