"""``ogma index`` on real folders: formats, skips, encodings, bad lines, model checks, progress; ``ogma info``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import main
from ogma.store import Store


def _docs(db: Path) -> dict[str, dict]:
    with Store(str(db), read_only=True) as store:
        return {d.id: {"text": d.text, **d.metadata} for d in store.iter_documents()}


def _sources(db: Path) -> set[str]:
    return {Path(d["source"]).name for d in _docs(db).values()}


def test_folder_of_rst_html_and_code(tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    docs = tmp_path / "docs"
    (docs / "api").mkdir(parents=True)
    for i in range(5):
        (docs / f"page{i}.rst").write_text(f"Page {i}\n======\n\nSome reStructuredText.", encoding="utf-8")
    (docs / "api" / "index.html").write_text(
        "<html><head><script>secret()</script></head><body><p>Visible &amp; indexed</p></body></html>",
        encoding="utf-8",
    )
    (docs / "api" / "tool.py").write_text("def main():\n    return 1\n", encoding="utf-8")
    (docs / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    (docs / "blob.txt").write_bytes(b"text with a \x00 byte")
    (docs / ".git").mkdir()
    (docs / ".git" / "HEAD.txt").write_text("ref", encoding="utf-8")
    db = tmp_path / "store.ogma"
    assert main(["index", str(docs), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "indexed 7 file(s)" in out
    assert "skipped 3: " in out
    assert all(part in out for part in ("1 unsupported type (.png)", "1 binary", "1 hidden folder"))
    assert _sources(db) == {f"page{i}.rst" for i in range(5)} | {"index.html", "tool.py"}
    html = [d for d in _docs(db).values() if d["source"].endswith("index.html")]
    assert [d["text"] for d in html] == ["Visible & indexed"]


def test_verbose_lists_skips_and_latin1_is_decoded(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "latin.txt").write_bytes("Crème brûlée à la française".encode("latin-1"))
    (folder / "image.gif").write_bytes(b"GIF89a")
    db = tmp_path / "store.ogma"
    with caplog.at_level("INFO"):
        assert main(["-v", "index", str(folder), "--db", str(db)]) == 0
    assert "1 file(s) were not UTF-8 and were decoded as Windows-1252" in capsys.readouterr().out
    assert "image.gif: unsupported type (.gif)" in caplog.text
    assert "latin.txt: not UTF-8: decoded as Windows-1252" in caplog.text
    assert [d["text"] for d in _docs(db).values()] == ["Crème brûlée à la française"]


def test_include_exclude(tmp_path: Path, fake_encoder: Any) -> None:
    folder = tmp_path / "repo"
    (folder / "drafts").mkdir(parents=True)
    (folder / "a.md").write_text("alpha", encoding="utf-8")
    (folder / "b.txt").write_text("beta", encoding="utf-8")
    (folder / "c.csv").write_text("x,y", encoding="utf-8")
    (folder / "drafts" / "d.md").write_text("delta", encoding="utf-8")
    db = tmp_path / "store.ogma"
    argv = ["index", str(folder), "--db", str(db), "-q", "--include", "*.md", "--include", "*.csv"]
    assert main([*argv, "--exclude", "drafts"]) == 0
    assert _sources(db) == {"a.md", "c.csv"}


def test_bad_lines_do_not_stop_the_run(tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.jsonl"
    lines = [
        json.dumps({"id": "ok1", "text": "first good line"}),
        json.dumps({"id": "", "text": "empty id"}),
        '{"id": "nan", "text": "nan metadata", "metadata": {"x": NaN}}',
        json.dumps({"id": "deep", "text": "deep", "metadata": {"a": json.loads("[" * 200 + "]" * 200)}}),
        json.dumps({"id": "ok1", "text": "duplicate id"}),
        json.dumps({"id": "ok2", "text": "last good line"}),
    ]
    bad.write_text("\n".join(lines) + "\n", encoding="utf-8")
    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps({"id": "g", "text": "good file"}) + "\n", encoding="utf-8")
    db = tmp_path / "store.ogma"
    assert main(["index", str(bad), str(good), "--db", str(db)]) == 1
    out = capsys.readouterr().out
    assert "indexed 2 file(s) into 3 chunk(s)" in out and "4 failed" in out
    for line in (2, 3, 4, 5):
        assert f"failed: {bad.resolve()}:{line}: " in out
    assert set(_docs(db)) == {"ok1", "ok2", "g"}
    assert _docs(db)["ok1"]["text"] == "first good line"


def test_model_flag_must_match_the_store(tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    note = tmp_path / "a.txt"
    note.write_text("hello", encoding="utf-8")
    db = tmp_path / "store.ogma"
    assert main(["index", str(note), "--db", str(db), "-q"]) == 0  # records test/fake-encoder
    assert main(["index", str(note), "--db", str(db), "-q", "-m", "test/fake-encoder"]) == 0
    before = _docs(db)
    assert main(["index", str(note), "--db", str(db), "-m", "other/model"]) == 2
    err = capsys.readouterr().err
    assert "built with model 'test/fake-encoder', not 'other/model'" in err and "Leave out -m" in err
    assert fake_encoder.loaded.count("other/model") == 0  # refused before loading anything
    assert _docs(db) == before


def test_model_mismatch_is_a_store_mismatch_error(tmp_path: Path, fake_encoder: Any) -> None:
    from ogma.cli.index import run
    from ogma.errors import StoreMismatchError

    note = tmp_path / "a.txt"
    note.write_text("hello", encoding="utf-8")
    db = tmp_path / "store.ogma"
    assert main(["index", str(note), "--db", str(db), "-q"]) == 0
    from ogma.cli import build_parser

    args = build_parser().parse_args(["index", str(note), "--db", str(db), "-m", "ogma-small"])
    with pytest.raises(StoreMismatchError):
        run(args)


def test_long_file_is_streamed_in_batches(tmp_path: Path, fake_encoder: Any) -> None:
    big = tmp_path / "big.txt"
    big.write_text("\n\n".join(f"Paragraph {i} has a handful of words." for i in range(3000)), encoding="utf-8")
    db = tmp_path / "store.ogma"
    argv = ["index", str(big), "--db", str(db), "-q", "--batch-size", "7"]
    assert main(argv) == 0
    chunks = sorted(_docs(db).values(), key=lambda d: d["chunk"])
    text = big.read_text(encoding="utf-8")
    assert len(chunks) > 100
    assert all(d["chunks"] == len(chunks) for d in chunks)
    assert all(text[d["start"] : d["end"]] == d["text"] for d in chunks)
    calls = fake_encoder.calls
    assert main(argv) == 0  # unchanged
    assert fake_encoder.calls == calls
    big.write_text("Now short.", encoding="utf-8")
    assert main(argv) == 0
    assert [d["text"] for d in _docs(db).values()] == ["Now short."]


def test_progress_lines_when_not_a_terminal(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("ogma.cli.index.PROGRESS_INTERVAL", 0.0)
    for i in range(3):
        (tmp_path / f"n{i}.md").write_text(f"note {i}", encoding="utf-8")
    assert main(["index", str(tmp_path), "--db", str(tmp_path / "s.ogma")]) == 0
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("indexing: ")]
    assert lines and "3/3 files" in lines[-1] and "chunks/s" in lines[-1]
    assert "\r" not in err  # no bar redrawn into a log
    assert main(["index", str(tmp_path), "--db", str(tmp_path / "s.ogma"), "-q"]) == 0
    assert capsys.readouterr().err == ""


def test_pdf_is_indexed_with_pypdf(tmp_path: Path, fake_encoder: Any) -> None:
    pytest.importorskip("pypdf")
    from tests.core.test_sources import _tiny_pdf

    (tmp_path / "paper.pdf").write_bytes(_tiny_pdf("Local retrieval on a laptop"))
    db = tmp_path / "store.ogma"
    assert main(["index", str(tmp_path), "--db", str(db), "-q"]) == 0
    assert [d["text"] for d in _docs(db).values()] == ["Local retrieval on a laptop"]


def test_pdf_without_pypdf_is_skipped_with_the_fix(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "pypdf", None)
    (tmp_path / "paper.pdf").write_bytes(b"%PDF-1.4\n")
    (tmp_path / "a.md").write_text("markdown", encoding="utf-8")
    assert main(["index", str(tmp_path), "--db", str(tmp_path / "s.ogma")]) == 0
    assert "pip install 'ogma-core[pdf]'" in capsys.readouterr().out


def test_info(tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    for name, words in (("a.md", 10), ("b.md", 100)):
        (tmp_path / name).write_text(" ".join(f"w{i}" for i in range(words)), encoding="utf-8")
    db = tmp_path / "store.ogma"
    assert main(["index", str(tmp_path), "--db", str(db), "-q"]) == 0
    capsys.readouterr()
    assert main(["info", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    count = len(_docs(db))
    assert info["documents"] == count and info["model"] == "test/fake-encoder"
    assert info["dim"] == 32 and info["precision"] == "float32" and info["sources"] == 2
    assert info["top_sources"][0] == [str((tmp_path / "b.md").resolve()), count - 1]
    assert info["size_bytes"] > 0 and info["schema_version"] >= 1
    assert info["without_vector"] == info["without_text"] == 0
    assert main(["info", str(db), "--top", "1"]) == 0
    text = capsys.readouterr().out
    assert "model:          test/fake-encoder" in text and "sources:        2 file(s)" in text
    assert f"documents:      {count}\n" in text  # nothing missing: nothing said
    assert "b.md" in text and "a.md" not in text
    assert main(["info", str(tmp_path / "missing.ogma")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_info_counts_documents_without_a_vector_or_text(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import numpy as np

    db = tmp_path / "mixed.ogma"
    with Store(db, dim=2) as store:
        store.add(["a", "b", "c"], ids=["a", "b", "c"], embeddings=[np.ones(2), None, None])
        store.add([None], ids=["d"], embeddings=[np.ones(2)])  # type: ignore[list-item]
    assert main(["info", str(db), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["documents"], info["without_vector"], info["without_text"]) == (4, 2, 1)
    assert main(["info", str(db)]) == 0
    assert "documents:      4 (2 without a vector, 1 without text)" in capsys.readouterr().out


def test_one_progress_bar_for_the_whole_run_on_a_terminal(
    tmp_path: Path, fake_encoder: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    screen = Terminal()
    monkeypatch.setattr("sys.stderr", screen)
    for i in range(4):
        (tmp_path / f"n{i}.md").write_text(f"note {i} " * 50, encoding="utf-8")
    assert main(["index", str(tmp_path), "--db", str(tmp_path / "s.ogma"), "-q"]) == 0
    assert screen.getvalue() == ""  # -q: nothing
    assert main(["index", str(tmp_path), "--db", str(tmp_path / "t.ogma")]) == 0
    drawn = screen.getvalue()
    assert drawn.count("indexing") >= 1 and "files=4/4" in drawn
    assert len({line.split("indexing")[0] for line in drawn.split("\r") if "indexing" in line}) == 1
    assert drawn.rstrip("\n").count("\n") == 0  # one bar redrawn in place, not one finished bar per file
