"""Hostile command lines: every user error is one line on stderr, exit status 2, no traceback, no data change.

Each case is ``(id, argv, needle)``: ``argv`` may use ``{db}`` (a store with three
documents), ``{model}`` (a tiny model folder), ``{tmp}`` (an empty folder) and ``{data}``
(a BEIR folder); ``needle`` must appear in the one-line message (the option or the value
at fault).
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import main, options
from ogma.store import Store
from tests.helpers.fake_encoder import FakeEncoder, patch_loaders
from tests.helpers.tiny_models import make_tiny_bert_folder

DEEP_FILTER = '{"a": ' * 5000 + "1" + "}" * 5000

CASES: list[tuple[str, list[str], str]] = [
    # ogma embed: numbers are checked before a model is loaded
    ("embed-dim-0", ["embed", "x", "-m", "{model}", "--dim", "0"], "--dim"),
    ("embed-dim-negative", ["embed", "x", "-m", "{model}", "--dim", "-3"], "--dim"),
    ("embed-dim-text", ["embed", "x", "-m", "{model}", "--dim", "abc"], "--dim"),
    ("embed-dim-huge", ["embed", "x", "-m", "{model}", "--dim", str(10**23)], "--dim"),
    ("embed-dim-above-model", ["embed", "x", "-m", "{model}", "--dim", "999"], "dim must be"),
    ("embed-threads-0", ["embed", "x", "-m", "{model}", "--threads", "0"], "--threads"),
    ("embed-threads-huge", ["embed", "x", "-m", "{model}", "--threads", str(10**23)], "--threads"),
    ("embed-batch-size-0", ["embed", "x", "-m", "{model}", "--batch-size", "0"], "--batch-size"),
    ("embed-batch-size-float", ["embed", "x", "-m", "{model}", "--batch-size", "1.5"], "--batch-size"),
    ("embed-output-missing-dir", ["embed", "x", "-m", "{model}", "-o", "{tmp}/missing/dir/out.npy"], "--output"),
    ("embed-output-is-dir", ["embed", "x", "-m", "{model}", "-o", "{tmp}"], "--output"),
    ("embed-input-missing", ["embed", "-m", "{model}", "-i", "{tmp}/nope.txt"], "--input"),
    ("embed-input-is-dir", ["embed", "-m", "{model}", "-i", "{tmp}"], "--input"),
    ("embed-input-not-utf8", ["embed", "-m", "{model}", "-i", "{tmp}/latin1.txt"], "not UTF-8"),
    ("embed-input-bad-jsonl", ["embed", "-m", "{model}", "-i", "{tmp}/bad.jsonl"], "bad.jsonl:2"),
    ("embed-input-bad-id", ["embed", "-m", "{model}", "-i", "{tmp}/badid.jsonl"], "'id' must be"),
    ("embed-args-and-input", ["embed", "x", "-m", "{model}", "-i", "{tmp}/bad.jsonl"], "not both"),
    ("embed-format-unknown", ["embed", "x", "--format", "csv"], "--format"),
    ("embed-precision-unknown", ["embed", "x", "--precision", "float16"], "--precision"),
    ("embed-model-missing", ["embed", "x", "-m", "{tmp}/no-such-model"], "no-such-model"),
    ("embed-device-unknown", ["embed", "x", "--device", "tpu"], "--device"),
    # ogma search: checked before the store is read
    ("search-k-0", ["search", "q", "--db", "{db}", "-k", "0"], "-k"),
    ("search-k-negative", ["search", "q", "--db", "{db}", "-k", "-1"], "-k"),
    ("search-k-10e23", ["search", "q", "--db", "{db}", "-k", str(10**23)], "-k"),
    ("search-k-text", ["search", "q", "--db", "{db}", "-k", "ten"], "-k"),
    ("search-width-0", ["search", "q", "--db", "{db}", "--width", "0"], "--width"),
    ("search-filter-deep", ["search", "q", "--db", "{db}", "--mode", "lexical", "--filter", DEEP_FILTER], "--filter"),
    ("search-filter-not-json", ["search", "q", "--db", "{db}", "--filter", "{oops"], "--filter"),
    ("search-filter-array", ["search", "q", "--db", "{db}", "--filter", "[1, 2]"], "--filter"),
    (
        "search-filter-operator",
        ["search", "q", "--db", "{db}", "--filter", '{"a": {"$nope": 1}}'],
        "--filter: ",
    ),
    ("search-fusion-dense", ["search", "q", "--db", "{db}", "--mode", "dense", "--fusion", "rrf"], "--fusion"),
    ("search-fusion-lexical", ["search", "q", "--db", "{db}", "--mode", "lexical", "--fusion", "convex"], "--fusion"),
    ("search-fusion-unknown", ["search", "q", "--db", "{db}", "--fusion", "magic"], "--fusion"),
    ("search-alpha-dense", ["search", "q", "--db", "{db}", "--mode", "dense", "--alpha", "0.5"], "--alpha"),
    ("search-alpha-above-1", ["search", "q", "--db", "{db}", "--alpha", "1.5"], "--alpha"),
    ("search-alpha-nan", ["search", "q", "--db", "{db}", "--alpha", "nan"], "--alpha"),
    ("search-alpha-with-rrf", ["search", "q", "--db", "{db}", "--fusion", "rrf", "--alpha", "0.5"], "--alpha"),
    ("search-rerank-k-alone", ["search", "q", "--db", "{db}", "--rerank-k", "5"], "--rerank-k"),
    ("search-rerank-k-0", ["search", "q", "--db", "{db}", "--rerank", "x", "--rerank-k", "0"], "--rerank-k"),
    ("search-rerank-alpha-alone", ["search", "q", "--db", "{db}", "--rerank-alpha", "0.5"], "--rerank-alpha"),
    (
        "search-rerank-alpha-2",
        ["search", "q", "--db", "{db}", "--rerank", "x", "--rerank-alpha", "2"],
        "--rerank-alpha",
    ),
    ("eval-rerank-alpha-nan", ["eval", "{data}", "--model", "m", "--rerank-alpha", "nan"], "--rerank-alpha"),
    ("search-rerank-missing", ["search", "q", "--db", "{db}", "--rerank", "{tmp}/no-reranker"], "no-reranker"),
    ("search-threads-0", ["search", "q", "--db", "{db}", "--threads", "0"], "--threads"),
    ("search-mode-unknown", ["search", "q", "--db", "{db}", "--mode", "semantic"], "--mode"),
    ("search-db-missing", ["search", "q", "--db", "{tmp}/none.ogma"], "none.ogma"),
    ("search-db-not-a-store", ["search", "q", "--db", "{tmp}/latin1.txt"], "latin1.txt"),
    # ogma eval: checked before anything is loaded
    ("eval-k-0", ["eval", "{data}", "--model", "m", "--k", "0"], "--k"),
    ("eval-max-queries-0", ["eval", "{data}", "--model", "m", "--max-queries", "0"], "--max-queries"),
    ("eval-rerank-k-0", ["eval", "{data}", "--model", "m", "--rerank-k", "0"], "--rerank-k"),
    ("eval-dim-0", ["eval", "{data}", "--model", "m", "--dim", "0"], "--dim"),
    ("eval-threads-0", ["eval", "{data}", "--model", "m", "--threads", "0"], "--threads"),
    ("eval-metric-unknown", ["eval", "{data}", "--model", "m", "--metrics", "bleu"], "--metrics"),
    ("eval-no-model", ["eval", "{data}"], "--model"),
    ("eval-data-missing", ["eval", "{tmp}/nothing", "--model", "m"], "nothing"),
    ("eval-split-missing", ["eval", "{data}", "--model", "m", "--split", "dev"], "dev"),
    ("eval-model-missing", ["eval", "{data}", "--model", "{tmp}/no-such-model"], "no-such-model"),
    # ogma index: the shared model options
    ("index-dim-0", ["index", "{tmp}", "--db", "{db}", "--dim", "0"], "--dim"),
    ("index-threads-0", ["index", "{tmp}", "--db", "{db}", "--threads", "0"], "--threads"),
    ("index-precision-unknown", ["index", "{tmp}", "--db", "{db}", "--precision", "uint4"], "--precision"),
    # the command line itself
    ("no-command", [], "COMMAND"),
    ("unknown-command", ["frobnicate"], "frobnicate"),
    ("unknown-option", ["search", "q", "--db", "{db}", "--colour"], "--colour"),
]


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert_folder(tmp_path_factory.mktemp("hostile-model"))


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_dir: Path) -> dict[str, Any]:
    encoder = FakeEncoder()
    real = options.load_encoder
    patch_loaders(monkeypatch, encoder)

    def load(model: str, **kwargs: Any) -> Any:  # the store's fake model, else the real loader
        return encoder if model == encoder.model_id else real(model, **kwargs)

    monkeypatch.setattr(options, "load_encoder", load)
    docs = tmp_path / "docs"
    docs.mkdir()
    for name, text in {"a.txt": "alpha apples", "b.md": "beta bananas", "c.txt": "gamma grapes"}.items():
        (docs / name).write_text(text, encoding="utf-8")
    db = tmp_path / "store.ogma"
    assert main(["index", str(docs), "--db", str(db), "-q"]) == 0
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    (scratch / "latin1.txt").write_bytes("café\n".encode("latin-1"))
    (scratch / "bad.jsonl").write_text('{"text": "ok"}\n{"txt": "no text field"}\n', encoding="utf-8")
    (scratch / "badid.jsonl").write_text('{"id": [1], "text": "x"}\n', encoding="utf-8")
    data = tmp_path / "beir"
    (data / "qrels").mkdir(parents=True)
    (data / "corpus.jsonl").write_text('{"_id": "d1", "text": "alpha"}\n', encoding="utf-8")
    (data / "queries.jsonl").write_text('{"_id": "q1", "text": "alpha"}\n', encoding="utf-8")
    (data / "qrels" / "test.tsv").write_text("q1\td1\t1\n", encoding="utf-8")
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    return {"db": db, "tmp": scratch, "data": data, "model": model_dir, "encoder": encoder}


def _fill(arg: str, env: dict[str, Any]) -> str:
    for key in ("db", "tmp", "data", "model"):
        arg = arg.replace("{" + key + "}", str(env[key]))
    return arg


def _snapshot(db: Path) -> list[tuple[str, str, str]]:
    with Store(db, read_only=True, show_progress=False) as store:
        return sorted((d.id, d.text, json.dumps(d.metadata, sort_keys=True)) for d in store.iter_documents())


@pytest.mark.parametrize(("argv", "needle"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_user_error_is_one_line_exit_2(
    env: dict[str, Any], argv: list[str], needle: str, capsys: pytest.CaptureFixture[str]
) -> None:
    before = _snapshot(env["db"])
    files_before = sorted(p.name for p in env["tmp"].iterdir())
    code = main([_fill(arg, env) for arg in argv])
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.strip()]
    assert code == 2, captured.err
    assert len(lines) == 1, f"expected one line on stderr, got:\n{captured.err}"
    assert lines[0].startswith("ogma"), lines[0]
    assert ": error: " in lines[0]
    assert needle in lines[0], lines[0]
    assert "Traceback" not in captured.err and "Traceback" not in captured.out
    assert _snapshot(env["db"]) == before  # no data change
    assert sorted(p.name for p in env["tmp"].iterdir()) == files_before  # no stray output files


def test_case_ids_are_unique() -> None:
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))


def test_verbose_shows_the_traceback_of_a_user_error(env: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "q", "--db", str(env["db"]), "--mode", "dense", "--fusion", "rrf", "-v"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" in err and "UsageError" in err
    assert err.rstrip().splitlines()[-1].startswith("ogma search: error: --fusion")
