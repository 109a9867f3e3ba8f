"""``ogma eval`` end to end with the fake store plugged in as the default factories."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import build_parser, main
from ogma.cli.eval import build_configs
from ogma.evaluate import compare


@pytest.fixture
def patched(monkeypatch: pytest.MonkeyPatch, fake_factories: dict[str, Any]) -> dict[str, Any]:
    monkeypatch.setattr(compare, "_default_encoder_factory", fake_factories["encoder_factory"])
    monkeypatch.setattr(compare, "_default_store_factory", fake_factories["store_factory"])
    monkeypatch.setattr(compare, "_default_reranker_factory", fake_factories["reranker_factory"])
    # The command builds its factories from --threads/--device/--trust-remote-code.
    monkeypatch.setattr("ogma.cli.eval.TextEncoderFactory", lambda **options: fake_factories["encoder_factory"])
    monkeypatch.setattr("ogma.cli.eval.CrossEncoderFactory", lambda **options: fake_factories["reranker_factory"])
    return fake_factories


def test_cartesian_product() -> None:
    args = build_parser().parse_args(
        ["eval", "d", "--model", "a", "b", "--mode", "dense", "hybrid", "--dim", "full", "64", "--rerank", "none", "r"]
    )
    configs = build_configs(args)
    assert len(configs) == 2 * 2 * 2 * 2
    assert {(c.model, c.dim) for c in configs} == {("a", None), ("a", 64), ("b", None), ("b", 64)}
    assert {c.rerank for c in configs} == {None, "r"}
    # Configurations sharing an index are adjacent.
    keys = [c.index_key for c in configs]
    assert keys == sorted(keys, key=keys.index)


def test_repeated_options_extend() -> None:
    args = build_parser().parse_args(["eval", "d", "--model", "a", "--mode", "dense", "--mode", "lexical"])
    assert [c.mode for c in build_configs(args)] == ["dense", "lexical"]


def test_table_output(toy_dir: Path, patched: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["eval", str(toy_dir), "--model", "m", "--mode", "dense", "lexical", "--k", "3", "--no-progress"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.strip().splitlines()
    assert lines[0].startswith("toy: 5 documents, 3 queries")
    assert lines[1].split()[:5] == ["model", "mode", "precision", "dim", "rerank"]
    for name in ("ndcg@3", "recall@3", "mrr@3", "map@3", "recall@100", "mean", "p50", "index"):
        assert name in lines[1]
    assert len(lines) == 4 and "lexical" in lines[3]


def test_json_output(toy_dir: Path, patched: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    options = ["--rerank", "none", "rev", "--metrics", "ndcg@5", "p@1", "--json", "--max-queries", "2"]
    code = main(["eval", str(toy_dir), "--model", "m", *options, "--no-progress"])
    rows = json.loads(capsys.readouterr().out)
    assert code == 0
    assert [r["rerank"] for r in rows] == [None, "rev"]
    for row in rows:
        assert row["dataset"] == "toy" and row["num_queries"] == 2
        assert {"ndcg@5", "precision@1", "latency_mean_ms", "latency_p50_ms", "index_bytes"} <= row.keys()


def test_errors(tmp_path: Path, patched: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", str(tmp_path / "missing"), "--model", "m"]) == 2
    assert "Dataset folder not found" in capsys.readouterr().err
    assert main(["eval", str(tmp_path), "--model", "m", "--k", "0"]) == 2
    assert "argument --k: expected a positive integer, got '0'" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "d", "--model", "m", "--mode", "semantic"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "d", "--model", "m", "--metrics", "bleu"])
    with pytest.raises(SystemExit):
        build_parser().parse_args(["eval", "d", "--model", "m", "--dim", "0"])
