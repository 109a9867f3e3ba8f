"""``ogma embed`` keeps one output row per input row, and the ids of JSONL input."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from ogma.cli import main
from ogma.cli.embed import EmbedInputError, parse_rows
from ogma.encoder import TextEncoder
from tests.helpers.tiny_models import make_tiny_bert_folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert_folder(tmp_path_factory.mktemp("embed-model"))


def _jsonl(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines()]


@pytest.mark.parametrize(
    ("raw", "fmt", "texts", "ids"),
    [
        ("a\nb\n", "auto", ["a", "b"], None),
        ("a\n\nb\n", "auto", ["a", "", "b"], None),
        ("a\n\n", "auto", ["a", ""], None),
        ("\n", "text", [""], None),
        ("", "auto", [], None),
        ("a\r\nb", "auto", ["a", "b"], None),
        ("  padded  \n", "text", ["  padded  "], None),
        ('{"text": "x", "id": "d1"}\n\n{"text": "y"}\n', "auto", ["x", "y"], ["d1", None]),
        ('{"text": "x", "_id": 5}\n', "auto", ["x"], [5]),
        ('\ufeff{"text": "bom"}\n', "auto", ["bom"], [None]),
        ('{"text": "x"}\nplain line\n', "auto", ['{"text": "x"}', "plain line"], None),
        ('{"title": "no text"}\n', "auto", ['{"title": "no text"}'], None),
        ('{"text": "x", "id": "d1"}\n', "text", ['{"text": "x", "id": "d1"}'], None),
        ('[{"text": "x"}]\n', "auto", ['[{"text": "x"}]'], None),
    ],
    ids=[
        "lines",
        "blank-line-kept",
        "trailing-blank-line-kept",
        "one-empty-line",
        "empty-input",
        "crlf",
        "spaces-kept",
        "jsonl-ids",
        "beir-id",
        "jsonl-bom",
        "mixed-is-text",
        "object-without-text-is-text",
        "forced-text",
        "array-is-text",
    ],
)
def test_parse_rows(raw: str, fmt: str, texts: list[str], ids: list[object] | None) -> None:
    assert parse_rows(raw, fmt=fmt) == (texts, ids)


def test_forced_jsonl_names_the_bad_line() -> None:
    with pytest.raises(EmbedInputError, match=r"<stdin>:3: expected a JSON object"):
        parse_rows('{"text": "a"}\n\nnot json\n', fmt="jsonl")


def test_stdin_jsonl_is_detected_and_ids_kept(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"id": "a", "text": "cat"}\n{"id": "b", "text": "dog"}\n'))
    assert main(["embed", "-m", str(model_dir), "-q"]) == 0
    rows = _jsonl(capsys.readouterr().out)
    assert [(r["id"], r["text"]) for r in rows] == [("a", "cat"), ("b", "dog")]
    expected = TextEncoder(model_dir).encode(["cat", "dog"], task="document")
    np.testing.assert_allclose(np.array([r["embedding"] for r in rows]), expected, atol=1e-6)


def test_input_jsonl_keeps_ids(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "docs.jsonl"
    src.write_text('{"id": "x1", "text": "cat"}\n{"text": "no id"}\n{"_id": 7, "text": "dog"}\n', encoding="utf-8")
    assert main(["embed", "-m", str(model_dir), "-i", str(src), "-q"]) == 0
    rows = _jsonl(capsys.readouterr().out)
    assert [r.get("id") for r in rows] == ["x1", None, 7]
    assert "id" not in rows[1]


def test_npy_rows_match_input_lines(model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lines = ["cat", "", "dog river", "   ", "cat"]
    monkeypatch.setattr("sys.stdin", io.StringIO("\n".join(lines) + "\n"))
    out = tmp_path / "out.npy"
    assert main(["embed", "-m", str(model_dir), "-o", str(out), "-q"]) == 0
    array = np.load(out)
    assert array.shape[0] == len(lines)
    np.testing.assert_allclose(array[0], array[4], atol=1e-6)  # same text, same row content
    expected = TextEncoder(model_dir).encode(lines, task="document")
    np.testing.assert_allclose(array, expected, atol=1e-6)


def test_format_text_embeds_json_lines_verbatim(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "cat"}\n'))
    assert main(["embed", "-m", str(model_dir), "--format", "text", "-q"]) == 0
    assert _jsonl(capsys.readouterr().out)[0]["text"] == '{"text": "cat"}'


def test_jsonl_file_forced_to_text(model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = tmp_path / "notes.jsonl"
    src.write_text('{"text": "cat"}\n', encoding="utf-8")
    assert main(["embed", "-m", str(model_dir), "-i", str(src), "--format", "text", "-q"]) == 0
    assert _jsonl(capsys.readouterr().out)[0]["text"] == '{"text": "cat"}'


def test_no_input_on_a_terminal_is_an_error(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Tty(""))
    assert main(["embed", "-m", str(model_dir)]) == 2
    assert "no texts to embed" in capsys.readouterr().err


def test_model_options_reach_the_encoder(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: dict[str, object] = {}
    real = TextEncoder

    def spy(model: str, **options: object) -> TextEncoder:
        seen.update(options)
        return real(model, **options)  # type: ignore[arg-type]

    monkeypatch.setattr("ogma.encoder.TextEncoder", spy)
    assert main(["embed", "cat", "-m", str(model_dir), "--threads", "1", "--batch-size", "4", "-q"]) == 0
    assert seen["threads"] == 1 and seen["batch_size"] == 4 and seen["trust_remote_code"] is False
