"""Build keyword/identifier retrieval sets from documentation shipped with Python: BEIR format, offline.

Two corpora, each split into paragraphs, each with two query sets (four BEIR folders):

* ``python``: CPython's own documentation as shipped with the interpreter: the
  language-reference and library topics of ``pydoc_data/topics.py`` and the docstrings
  of the standard library's modules, classes and functions (parsed with ``ast``, never
  imported).
* ``packages``: the docstrings of the third-party packages installed next to this
  script's interpreter (``site-packages``; numpy, onnxruntime, tokenizers, ...).

Query sets, derived mechanically:

* ``-ids``: identifiers that occur in only 1-3 paragraphs of the corpus: dotted names
  (``os.path.join``), snake_case (``max_seq_length``), CamelCase (``ArgumentParser``),
  long options (``--dry-run``) and rare plain words (as a user searching for "proxy").
  The query is the bare identifier; the relevant documents are exactly the paragraphs
  that contain it (whole token, case-sensitive), all with relevance 1.
* ``-nl``: natural-language questions from docstring summaries: for a documented
  object with a summary paragraph and 1-3 further paragraphs in the corpus, the query
  is the summary's first sentence and the relevant documents are the other paragraphs
  (the summary itself is left out of the corpus).

Everything is deterministic for a given interpreter and set of installed packages
(order by SHA-1, no randomness); ``manifest.json`` records the Python version and
every package version the corpus came from.

Usage:
    python benchmarks/build_techdocs.py --out /tmp/techdocs            # writes python-ids/, python-nl/, ...
    python benchmarks/build_techdocs.py --out /tmp/techdocs --source python --paragraphs 3000
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import importlib.metadata
import json
import platform
import re
import sys
import sysconfig
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SKIP_DIRS = {"test", "tests", "idlelib", "lib2to3", "turtledemo", "__pycache__", "site-packages", "testing", "_vendor"}
MIN_CHARS, MAX_CHARS = 80, 2000
IDENTIFIER_KINDS = {
    # kind: (pattern, share of the queries)
    "dotted": (r"(?<![\w.])[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)+(?![\w(])(?!\.\w)", 60),
    "snake_case": (r"(?<![\w.])[a-z][a-z0-9]*(?:_[a-z0-9]+)+(?![\w.])", 60),
    "CamelCase": (r"(?<![\w.])(?:[A-Z][a-z0-9]+){2,}(?![\w.])|(?<![\w.])[a-z]+(?:[A-Z][a-z0-9]+)+(?![\w.])", 40),
    "long option": (r"(?<![\w-])--[a-z][a-z0-9]*(?:-[a-z0-9]+)*(?![\w-])", 30),
    "rare word": (r"(?<![\w.-])[a-z]{7,}(?![\w.-])", 40),
}
NL_QUERIES = 150
_HOST = re.compile(r"^www\.|\.(?:org|com|net|edu|html?)$")  # host names and file names are not identifiers


@dataclass(frozen=True)
class Paragraph:
    source: str  # the object or topic it documents, e.g. "os.path.join" or "topic:assert"
    position: int  # its index within that object's documentation (0 = summary)
    text: str


def _paragraphs(text: str) -> list[str]:
    import inspect

    cleaned = inspect.cleandoc(text)
    return [re.sub(r"[ \t]+\n", "\n", p).strip() for p in re.split(r"\n\s*\n", cleaned) if p.strip()]


def _docstrings(path: Path, module: str) -> Iterator[tuple[str, str]]:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return

    def walk(node: ast.AST, prefix: str) -> Iterator[tuple[str, str]]:
        doc = (
            ast.get_docstring(node, clean=False)
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
            else None
        )
        if doc:
            yield prefix, doc
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                if child.name.startswith("_") and not (child.name.startswith("__") and child.name.endswith("__")):
                    continue
                yield from walk(child, f"{prefix}.{child.name}")

    yield from walk(tree, module)


def _python_files(root: Path, package_prefix: str = "") -> Iterator[tuple[Path, str]]:
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        if any(p in SKIP_DIRS or p.startswith(".") for p in parts[:-1]):
            continue
        name = ".".join((*parts[:-1], path.stem)).removesuffix(".__init__")
        if any(seg.startswith("_") and not seg.startswith("__") for seg in name.split(".")):
            continue
        yield path, package_prefix + name


def python_sources() -> tuple[list[Paragraph], dict[str, str]]:
    """CPython's pydoc topics and the standard library's docstrings."""
    import pydoc_data.topics

    paragraphs: list[Paragraph] = []
    for topic in sorted(pydoc_data.topics.topics):
        for i, text in enumerate(_paragraphs(pydoc_data.topics.topics[topic])):
            paragraphs.append(Paragraph(f"topic:{topic}", i, text))
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path, module in _python_files(stdlib):
        for obj, doc in _docstrings(path, module):
            for i, text in enumerate(_paragraphs(doc)):
                paragraphs.append(Paragraph(obj, i, text))
    return paragraphs, {"python": platform.python_version()}


def package_sources() -> tuple[list[Paragraph], dict[str, str]]:
    """Docstrings of the third-party distributions installed for this interpreter."""
    site = Path(sysconfig.get_paths()["purelib"])
    versions: dict[str, str] = {}
    paragraphs: list[Paragraph] = []
    seen_tops: set[str] = set()
    for dist in sorted(importlib.metadata.distributions(), key=lambda d: (d.metadata["Name"] or "").lower()):
        name = dist.metadata["Name"] or ""
        if name.lower() in {"pip", "setuptools", "wheel", "ogma-core", "langchain-ogma"} or name.lower().startswith(
            "ogma"
        ):
            continue
        tops = (dist.read_text("top_level.txt") or "").split() or [name.replace("-", "_").lower()]
        found = False
        for top in sorted(set(tops)):
            root = site / top
            if top in seen_tops or top.startswith("_") or not root.is_dir():
                continue
            seen_tops.add(top)
            found = True
            for path, module in _python_files(root, f"{top}."):
                for obj, doc in _docstrings(path, module.removesuffix(".")):
                    for i, text in enumerate(_paragraphs(doc)):
                        paragraphs.append(Paragraph(obj, i, text))
        if found:
            versions[name] = dist.version
    return paragraphs, {"python": platform.python_version(), **versions}


def _key(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()


def select_corpus(paragraphs: list[Paragraph], budget: int) -> list[Paragraph]:
    """Whole objects, in SHA-1 order of their names, until ``budget`` usable paragraphs are taken."""
    by_source: dict[str, list[Paragraph]] = defaultdict(list)
    seen_texts: set[str] = set()
    for p in paragraphs:
        if not MIN_CHARS <= len(p.text) <= MAX_CHARS or p.text in seen_texts:
            continue
        seen_texts.add(p.text)
        by_source[p.source].append(p)
    chosen: list[Paragraph] = []
    for source in sorted(by_source, key=_key):
        if len(chosen) >= budget:
            break
        chosen.extend(by_source[source][: budget - len(chosen)])
    return chosen


def identifier_queries(
    corpus: dict[str, Paragraph],
) -> tuple[dict[str, str], dict[str, dict[str, int]], dict[str, str]]:
    """Identifiers found in 1-3 paragraphs; the paragraphs that hold them are the relevant ones."""
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    kinds: dict[str, str] = {}
    lowered = {doc_id: p.text.lower() for doc_id, p in corpus.items()}
    for kind, (pattern, share) in IDENTIFIER_KINDS.items():
        regex = re.compile(pattern)
        where: dict[str, set[str]] = defaultdict(set)
        for doc_id, p in corpus.items():
            for match in regex.findall(p.text):
                where[match].add(doc_id)
        candidates = []
        for token, docs in where.items():
            if len(token) < 6 or token in queries.values() or not 1 <= len(docs) <= 3 or _HOST.search(token):
                continue
            if kind == "rare word" and sum(token in text for text in lowered.values()) > 3:
                continue  # also appears inside longer words or identifiers: not rare
            candidates.append((token, docs))
        for token, docs in sorted(candidates, key=lambda item: _key(item[0]))[:share]:
            qid = f"q{len(queries):04d}"
            queries[qid] = token
            qrels[qid] = {doc_id: 1 for doc_id in sorted(docs)}
            kinds[qid] = kind
    return queries, qrels, kinds


def summary_queries(
    corpus: dict[str, Paragraph], summaries: dict[str, Paragraph]
) -> tuple[dict[str, str], dict[str, dict[str, int]]]:
    """First sentence of a docstring summary -> the object's other paragraphs."""
    by_source: dict[str, list[str]] = defaultdict(list)
    for doc_id, p in corpus.items():
        by_source[p.source].append(doc_id)
    queries: dict[str, str] = {}
    qrels: dict[str, dict[str, int]] = {}
    for source in sorted(summaries, key=_key):
        docs = by_source.get(source, [])
        sentence = re.split(r"(?<=[.!?])\s", " ".join(summaries[source].text.split()), maxsplit=1)[0]
        if not 1 <= len(docs) <= 3 or not 25 <= len(sentence) <= 200 or sentence.count(" ") < 3:
            continue
        qid = f"n{len(queries):04d}"
        queries[qid] = sentence
        qrels[qid] = {doc_id: 1 for doc_id in docs}
        if len(queries) >= NL_QUERIES:
            break
    return queries, qrels


def write_beir(
    folder: Path, corpus: dict[str, Paragraph], queries: dict[str, str], qrels: dict[str, dict[str, int]]
) -> None:
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w", encoding="utf-8") as fh:
        for doc_id, p in corpus.items():
            fh.write(json.dumps({"_id": doc_id, "title": "", "text": p.text, "source": p.source}) + "\n")
    with (folder / "queries.jsonl").open("w", encoding="utf-8") as fh:
        for qid, text in queries.items():
            fh.write(json.dumps({"_id": qid, "text": text}) + "\n")
    with (folder / "qrels" / "test.tsv").open("w", encoding="utf-8") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid, docs in qrels.items():
            for doc_id, rel in docs.items():
                fh.write(f"{qid}\t{doc_id}\t{rel}\n")


def build(source: str, out: Path, budget: int) -> dict[str, object]:
    paragraphs, versions = python_sources() if source == "python" else package_sources()
    summaries = {p.source: p for p in paragraphs if p.position == 0 and not p.source.startswith("topic:")}
    # Summaries become the natural-language queries: keep them out of the corpus.
    body = [p for p in paragraphs if p.position > 0 or p.source.startswith("topic:")]
    chosen = select_corpus(body, budget)
    corpus = {f"{source[:2]}{i:05d}": p for i, p in enumerate(chosen)}
    id_queries, id_qrels, kinds = identifier_queries(corpus)
    nl_queries, nl_qrels = summary_queries(corpus, summaries)
    write_beir(out / f"{source}-ids", corpus, id_queries, id_qrels)
    write_beir(out / f"{source}-nl", corpus, nl_queries, nl_qrels)
    kind_counts: dict[str, int] = defaultdict(int)
    for kind in kinds.values():
        kind_counts[kind] += 1
    return {
        "documents": len(corpus),
        "sources": len({p.source for p in chosen}),
        "ids_queries": len(id_queries),
        "ids_query_kinds": dict(kind_counts),
        "nl_queries": len(nl_queries),
        "versions": versions,
        "corpus_sha1": _key("\n".join(p.text for p in chosen)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="output folder (one BEIR folder per set inside)")
    parser.add_argument("--source", choices=("python", "packages", "all"), default="all")
    parser.add_argument("--paragraphs", type=int, default=3000, help="corpus size per source [3000]")
    args = parser.parse_args()
    sources = ("python", "packages") if args.source == "all" else (args.source,)
    manifest = {"builder": "benchmarks/build_techdocs.py", "interpreter": sys.version.split()[0]}
    for source in sources:
        manifest[source] = build(source, args.out, args.paragraphs)
        sys.stderr.write(f"{source}: {json.dumps(manifest[source])}\n")
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
