"""A text file with a NUL character past the binary sniff (8 KiB): `ogma index` reports the file, indexes the rest."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ogma.cli import main
from ogma.store import Store


def test_a_nul_past_the_sniff_window_fails_that_file_clearly(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_text("hello world " * 1000 + "\x00 after")
    (docs / "b.txt").write_text("a normal file about cats")
    assert main(["index", str(docs), "--db", str(tmp_path / "s.db")]) == 1
    out = capsys.readouterr().out
    assert f"failed: {docs / 'a.txt'}" in out and "holds a NUL character" in out
    with Store(tmp_path / "s.db", read_only=True) as store:
        assert [h.id for h in store.search("cats", mode="lexical")] != []
