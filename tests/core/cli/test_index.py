"""``ogma index`` against a real store with a fake embedder."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import build_parser, main
from ogma.registry import DEFAULT_MODEL
from ogma.store import Store


def _docs(db: Path) -> dict[str, dict]:
    with Store(str(db), read_only=True) as store:
        return {d.id: {"text": d.text, **d.metadata} for d in store.iter_documents()}


@pytest.fixture
def corpus(tmp_path: Path) -> Path:
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "a.txt").write_text("SQLite stores everything in one file.\n\nIt is small and fast.", encoding="utf-8")
    (folder / "b.md").write_text("# Vectors\n\n" + " ".join(f"word{i}" for i in range(60)), encoding="utf-8")
    (folder / "ignored.bin").write_bytes(b"\x00\x01")
    (folder / "docs.jsonl").write_text(
        "\n".join(
            [
                json.dumps({"id": "d1", "text": "Paris is the capital of France.", "metadata": {"lang": "en"}}),
                json.dumps({"_id": "beir-1", "title": "Berlin", "text": "Berlin is the capital of Germany."}),
                "",
            ]
        ),
        encoding="utf-8",
    )
    return folder


def test_help_texts_exist() -> None:
    parser = build_parser()
    sub_actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    choices = sub_actions[0].choices
    assert choices["index"].description and choices["search"].description
    for sub in ("index", "search"):
        for action in choices[sub]._actions:
            assert action.help, f"{sub} {action.dest} has no help"


def test_index_folder_records_metadata(tmp_path: Path, corpus: Path, fake_encoder: Any) -> None:
    db = tmp_path / "store.ogma"
    assert main(["index", str(corpus), "--db", str(db), "-q"]) == 0
    docs = _docs(db)
    sources = {d["source"] for d in docs.values()}
    assert sources == {str((corpus / n).resolve()) for n in ("a.txt", "b.md", "docs.jsonl")}
    a_chunks = [d for d in docs.values() if d["source"].endswith("a.txt")]
    assert len(a_chunks) == 1
    original = (corpus / "a.txt").read_text(encoding="utf-8")
    chunk = a_chunks[0]
    assert original[chunk["start"] : chunk["end"]] == chunk["text"]
    assert chunk["chunk"] == 0 and chunk["chunks"] == 1 and len(chunk["file_hash"]) == 64
    b_chunks = sorted((d for d in docs.values() if d["source"].endswith("b.md")), key=lambda d: d["chunk"])
    assert len(b_chunks) > 1  # 62 words with 24-token chunks
    assert all(d["chunks"] == len(b_chunks) for d in b_chunks)
    assert docs["d1"]["lang"] == "en" and docs["d1"]["doc_id"] == "d1"
    assert docs["beir-1"]["title"] == "Berlin"
    assert docs["beir-1"]["text"].startswith("Berlin\n\nBerlin is")
    assert fake_encoder.loaded == [DEFAULT_MODEL]


def test_reindex_unchanged_is_a_no_op(tmp_path: Path, corpus: Path, fake_encoder: Any) -> None:
    db = tmp_path / "store.ogma"
    assert main(["index", str(corpus), "--db", str(db), "-q"]) == 0
    calls = fake_encoder.calls
    before = _docs(db)
    assert main(["index", str(corpus), "--db", str(db), "-q"]) == 0
    assert fake_encoder.calls == calls
    assert _docs(db) == before


def test_changed_file_replaces_its_chunks(tmp_path: Path, corpus: Path, fake_encoder: Any) -> None:
    db = tmp_path / "store.ogma"
    main(["index", str(corpus), "--db", str(db), "-q"])
    b = corpus / "b.md"
    b.write_text("Short now.", encoding="utf-8")
    calls = fake_encoder.calls
    assert main(["index", str(corpus), "--db", str(db), "-q"]) == 0
    assert fake_encoder.calls == calls + 1
    b_chunks = [d for d in _docs(db).values() if d["source"] == str(b.resolve())]
    assert [c["text"] for c in b_chunks] == ["Short now."]


def test_changed_chunking_reindexes(tmp_path: Path, corpus: Path, fake_encoder: Any) -> None:
    db = tmp_path / "store.ogma"
    main(["index", str(corpus / "b.md"), "--db", str(db), "-q"])
    main(["index", str(corpus / "b.md"), "--db", str(db), "-q", "--max-tokens", "10", "--overlap", "0"])
    chunks = _docs(db)
    assert all(c["chunking"] == "10/0" for c in chunks.values())
    assert len(chunks) == 7  # 62 words / 10


def test_deleted_files_lose_their_chunks(
    tmp_path: Path, corpus: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.ogma"
    other = tmp_path / "other.txt"
    other.write_text("A file indexed on its own, outside the folder.", encoding="utf-8")
    main(["index", str(corpus), str(other), "--db", str(db), "-q"])
    b_source = str((corpus / "b.md").resolve())
    assert any(d["source"] == b_source for d in _docs(db).values())

    (corpus / "b.md").unlink()
    assert main(["index", str(corpus), "--db", str(db), "--keep-deleted", "-q"]) == 0
    assert any(d["source"] == b_source for d in _docs(db).values())  # kept on request

    assert main(["index", str(corpus), "--db", str(db)]) == 0
    assert "1 deleted" in capsys.readouterr().out
    sources = {d["source"] for d in _docs(db).values()}
    assert b_source not in sources
    assert str(other.resolve()) in sources  # outside the indexed folder: untouched
    assert str((corpus / "a.txt").resolve()) in sources

    other.unlink()  # a deleted file given by name is not an error to prune: the PATH itself is missing
    assert main(["index", str(corpus), "--db", str(db), "-q"]) == 0
    assert str(other.resolve()) in {d["source"] for d in _docs(db).values()}  # not under the given folder


def test_summary_and_existing_store_model(
    tmp_path: Path, corpus: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "store.ogma"
    assert main(["index", str(corpus / "a.txt"), "--db", str(db), "--model", "my/model"]) == 0
    assert "indexed 1 file(s) into 1 chunk(s)" in capsys.readouterr().out
    assert main(["index", str(corpus / "a.txt"), "--db", str(db)]) == 0
    assert "0 file(s) into 0 chunk(s), 1 unchanged" in capsys.readouterr().out
    assert fake_encoder.loaded == ["my/model", "test/fake-encoder"]


def test_bad_inputs(tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "store.ogma"
    assert main(["index", str(tmp_path / "missing.txt"), "--db", str(db)]) == 2
    assert "is not a file or directory" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\nnot json\n', encoding="utf-8")
    good = tmp_path / "good.txt"
    good.write_text("fine", encoding="utf-8")
    assert main(["index", str(bad), str(good), "--db", str(db), "-q"]) == 1  # the bad line fails, the rest is kept
    assert {d["source"] for d in _docs(db).values()} == {str(good.resolve()), str(bad.resolve())}
    assert [d["text"] for d in _docs(db).values() if d["source"] == str(bad.resolve())] == ["ok"]
    assert main(["index", str(good), "--db", str(db), "--max-tokens", "4", "--overlap", "4"]) == 2
    assert main(["index", str(good), "--db", str(db), "--max-tokens", "0"]) == 2  # not "the default"
    assert main(["index", str(good), "--db", str(db), "--batch-size", "0"]) == 2
