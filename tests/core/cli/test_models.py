"""``ogma models`` marks the default model and keeps the Ogma family one word away."""

from __future__ import annotations

import json

import pytest

from ogma.cli import main
from ogma.registry import DEFAULT_MODEL, canonical_model_id


def test_default_model_is_marked(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["embedding"]
    (default,) = [r for r in rows if r["default"]]
    assert default["model"] == DEFAULT_MODEL and default["license"] == "apache-2.0"
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    assert f"Default model: {DEFAULT_MODEL}" in out and "-m ogma-mini" in out
    assert canonical_model_id("ogma-mini") == "axiotic/ogma-mini"
