from __future__ import annotations

import json

import pytest

from ogma.cli import build_parser, main
from ogma.store.sqlite import connect as connect_module


def test_doctor_reports_driver_and_runtime(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    for label in ("sqlite driver", "sqlite-vec", "fts5", "onnxruntime", "torch"):
        assert label in out


def test_doctor_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["sqlite"]["fts5"] is True
    assert report["onnxruntime"]["installed"] is True


def test_doctor_fails_without_a_driver(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(connect_module, "_stdlib_usable", lambda: (False, "no extension loading"))
    monkeypatch.setattr(connect_module, "_apsw_available", lambda: (False, "apsw is not installed"))
    assert main(["doctor"]) == 1
    assert "pip install apsw" in capsys.readouterr().out


def test_doctor_has_help() -> None:
    parser = build_parser()
    assert "doctor" in parser.format_help()
