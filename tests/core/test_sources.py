"""Finding and reading source files: formats, ignored folders, globs, encodings, HTML, JSONL, PDF."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from ogma.errors import MissingExtraError
from ogma.sources import SourcePathError, find_files
from ogma.sources.read import (
    MAX_METADATA_DEPTH,
    Record,
    RecordError,
    SourceReadError,
    fingerprint,
    html_text,
    iter_jsonl,
    iter_pdf_text,
    iter_text,
)


def _tree(root: Path, files: dict[str, bytes | str]) -> None:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)


def _names(root: Path, paths: list[Path]) -> list[str]:
    return sorted(p.relative_to(root.resolve()).as_posix() for p in paths)


def test_find_files_formats_and_ignored_folders(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "guide.rst": "Title\n=====",
            "page.HTML": "<p>x</p>",
            "main.py": "print(1)",
            "notes.md": "# n",
            "data.jsonl": '{"text": "x"}',
            "paper.pdf": b"%PDF-1.4",
            "photo.png": b"\x89PNG",
            "package.json": "{}",
            "Makefile": "all:",
            ".hidden.md": "secret",
            ".git/config.txt": "x",
            "node_modules/lib/readme.md": "x",
            "env/pyvenv.cfg": "home = /usr",
            "env/lib/site.py": "x",
            "sub/deeper/more.txt": "x",
        },
    )
    found = find_files([tmp_path])
    assert _names(tmp_path, [f.path for f in found.files]) == [
        "data.jsonl",
        "guide.rst",
        "main.py",
        "notes.md",
        "page.HTML",
        "paper.pdf",
        "sub/deeper/more.txt",
    ]
    kinds = {f.path.name: f.kind for f in found.files}
    assert kinds["page.HTML"] == "html" and kinds["data.jsonl"] == "jsonl" and kinds["paper.pdf"] == "pdf"
    reasons = {Path(p).name: r for p, r in found.skipped}
    assert reasons == {
        "photo.png": "unsupported type (.png)",
        "package.json": "unsupported type (.json)",
        "Makefile": "unsupported type (no suffix)",
        ".hidden.md": "hidden file",
        ".git": "hidden folder",
        "node_modules": "ignored folder (node_modules)",
        "env": "virtual environment",
    }


def test_include_and_exclude_globs(tmp_path: Path) -> None:
    _tree(tmp_path, {"a.md": "a", "b.txt": "b", "data.json": "{}", "drafts/c.md": "c", "docs/api/d.md": "d"})
    found = find_files([tmp_path], include=["*.md", "*.json"], exclude=["drafts", "docs/api/*"])
    assert _names(tmp_path, [f.path for f in found.files]) == ["a.md", "data.json"]
    assert {f.path.name: f.kind for f in found.files}["data.json"] == "text"  # included: read as text
    reasons = {Path(p).name: r for p, r in found.skipped}
    assert reasons == {"b.txt": "not included", "drafts": "excluded", "d.md": "excluded"}


def test_named_files_are_taken_unless_excluded(tmp_path: Path) -> None:
    _tree(tmp_path, {"NOTES": "plain text without a suffix", "skip.md": "x"})
    found = find_files([tmp_path / "NOTES", tmp_path / "skip.md", tmp_path / "NOTES"], exclude=["skip.*"])
    assert [(f.path.name, f.kind) for f in found.files] == [("NOTES", "text")]
    assert [r for _, r in found.skipped] == ["excluded"]
    with pytest.raises(SourcePathError, match="is not a file or directory") as info:
        find_files([tmp_path / "missing"])
    assert isinstance(info.value, FileNotFoundError)


@pytest.mark.parametrize(
    ("data", "encoding", "text"),
    [
        ("héllo wörld".encode(), "utf-8-sig", "héllo wörld"),
        (b"\xef\xbb\xbfwith BOM", "utf-8-sig", "with BOM"),
        ("caf\u00e9 \u20ac".encode("cp1252"), "windows-1252", "café €"),
        (b"undefined \x81 byte", "windows-1252", "undefined \x81 byte"),
        ("utf-16 text".encode("utf-16"), "utf-16", "utf-16 text"),
        (b"bin\x00ary", None, None),
        (b"", "utf-8-sig", ""),
    ],
)
def test_fingerprint_finds_the_encoding(tmp_path: Path, data: bytes, encoding: str | None, text: str | None) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(data)
    facts = fingerprint(path, block_size=3)  # blocks split multi-byte characters
    assert facts.encoding == encoding and facts.size == len(data) and len(facts.sha256) == 64
    if encoding is not None:
        assert "".join(iter_text(path, encoding, block_size=3)) == text


def test_iter_text_reads_blocks_and_reports_bytes(tmp_path: Path) -> None:
    path = tmp_path / "f.txt"
    path.write_text("ä" * 10_000, encoding="utf-8")
    seen: list[int] = []
    pieces = list(iter_text(path, "utf-8-sig", block_size=4097, on_bytes=seen.append))
    assert "".join(pieces) == "ä" * 10_000
    assert sum(seen) == 20_000 and max(seen) == 4097 and len(pieces) == len(seen)


def test_html_text_keeps_visible_text_only() -> None:
    html = (
        "<!doctype html><html><head><title>The  Title</title><style>p {color: red}</style>"
        "<script>var x = '<p>no</p>';</script></head><body><nav>Menu</nav><h1>Head&amp;ing</h1>"
        "<p>First   para\ngraph with <a href='#'>a link</a>.</p><pre>  keep\n  spacing</pre>"
        "<noscript>enable js</noscript><ul><li>one</li><li>two</li></ul></body></html>"
    )
    pieces = [html[k : k + 7] for k in range(0, len(html), 7)]  # tags split across pieces
    text = "".join(html_text(pieces))
    assert "The Title" in text and "Head&ing" in text and "First para graph with a link." in text
    assert "  keep\n  spacing" in text and "one\n" in text
    for hidden in ("color", "var x", "<p>", "enable js"):
        assert hidden not in text
    assert "\n\n" in text  # block elements break paragraphs, which chunking prefers


def test_jsonl_records_and_line_errors() -> None:
    deep = '{"text": "x", "metadata": {"a": ' + "[" * (MAX_METADATA_DEPTH + 5) + "]" * (MAX_METADATA_DEPTH + 5) + "}}"
    very_deep = '{"text": "x", "metadata": {"a": ' + "[" * 100_000 + "]" * 100_000 + "}}"
    lines = [
        '{"id": "a", "text": "fine", "metadata": {"k": 1}}',
        '{"id": "", "text": "empty id"}',
        '{"id": "n", "text": "nan", "metadata": {"score": NaN}}',
        deep,
        very_deep,
        '{"id": "s", "text": "lone \\ud800 surrogate"}',
        "not json",
        '{"text": 5}',
        '{"id": [1], "text": "list id"}',
        '{"text": "x", "metadata": [1]}',
        "",
        '{"_id": 7, "title": "T", "text": "beir"}',
        '{"id": "z", "text": "nul \\u0000 inside"}',
    ]
    items = list(iter_jsonl(["\n".join(lines)[k : k + 50] for k in range(0, len("\n".join(lines)), 50)]))
    records = [i for i in items if isinstance(i, Record)]
    errors = {i.line: i.reason for i in items if isinstance(i, RecordError)}
    assert [(r.doc_id, r.text, r.metadata, r.line) for r in records] == [
        ("a", "fine", {"k": 1}, 1),
        ("7", "T\n\nbeir", {"title": "T"}, 12),
    ]
    assert sorted(errors) == [2, 3, 4, 5, 6, 7, 8, 9, 10, 13]
    assert "'id' is empty" in errors[2]
    assert "NaN" in errors[3]
    assert f"deeper than {MAX_METADATA_DEPTH}" in errors[4]
    assert "too deep" in errors[5] or "deeper than" in errors[5]
    assert "not valid Unicode" in errors[6]
    assert "invalid JSON" in errors[7]
    assert "string 'text'" in errors[8]
    assert "'id' must be a string or an integer" in errors[9]
    assert "'metadata' must be an object" in errors[10]
    assert "NUL character" in errors[13]


def _tiny_pdf(text: str) -> bytes:
    """A one-page PDF showing ``text`` in Helvetica, written by hand (with a correct xref table)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def test_pdf_text_with_pypdf(tmp_path: Path) -> None:
    pytest.importorskip("pypdf")
    path = tmp_path / "paper.pdf"
    path.write_bytes(_tiny_pdf("Ogma reads PDF pages"))
    assert "".join(iter_pdf_text(path)).strip() == "Ogma reads PDF pages"
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\nthis is not a pdf")
    with pytest.raises(SourceReadError, match="not a readable PDF"):
        list(iter_pdf_text(broken))


def test_pdf_without_pypdf_names_the_extra(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pypdf", None)  # import pypdf now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'ogma-core\[pdf\]'"):
        list(iter_pdf_text(tmp_path / "any.pdf"))


def test_unreadable_folder_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    locked = tmp_path / "locked"
    locked.mkdir()
    (locked / "a.md").write_text("x", encoding="utf-8")
    real_scandir = os.scandir

    def scandir(path: object = ".") -> object:  # what a folder without read permission does
        if Path(str(path)) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", scandir)
    found = find_files([tmp_path])
    assert found.files == []
    assert found.skipped == [(f"{locked}/", "unreadable folder (Permission denied)")]
