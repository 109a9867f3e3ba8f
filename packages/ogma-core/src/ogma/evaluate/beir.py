"""Load retrieval test collections in the BEIR layout.

A BEIR folder holds::

    corpus.jsonl        {"_id": ..., "title": ..., "text": ...} per line
    queries.jsonl       {"_id": ..., "text": ...} per line
    qrels/<split>.tsv   query-id <TAB> corpus-id <TAB> score (a header line is optional)

As in BEIR, only the queries judged in the chosen split are kept. Any malformed line
raises :class:`DatasetError` naming the file and the line number.

Example:
    >>> import json, pathlib, tempfile
    >>> root = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (root / "corpus.jsonl").write_text(json.dumps({"_id": "d1", "title": "T", "text": "x"}) + "\\n")
    >>> _ = (root / "queries.jsonl").write_text(json.dumps({"_id": "q1", "text": "what"}) + "\\n")
    >>> (root / "qrels").mkdir()
    >>> _ = (root / "qrels" / "test.tsv").write_text("query-id\\tcorpus-id\\tscore\\nq1\\td1\\t1\\n")
    >>> data = load_beir(root)
    >>> data.queries, data.qrels, data.document_text("d1")
    ({'q1': 'what'}, {'q1': {'d1': 1}}, 'T x')
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ogma.errors import DatasetError

__all__ = ["BeirDataset", "DatasetError", "load_beir"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BeirDataset:
    """A loaded BEIR collection.

    Attributes:
        name: The folder name.
        corpus: ``{doc_id: {"title": ..., "text": ...}}``.
        queries: ``{query_id: text}``, only the queries judged in this split.
        qrels: ``{query_id: {doc_id: grade}}``.

    Example:
        >>> data = BeirDataset("toy", {"d1": {"title": "", "text": "hi"}}, {"q": "hi?"}, {"q": {"d1": 1}})
        >>> data.document_ids(), data.document_texts()
        (['d1'], ['hi'])
    """

    name: str
    corpus: dict[str, dict[str, str]]
    queries: dict[str, str]
    qrels: dict[str, dict[str, int]]

    def document_text(self, doc_id: str) -> str:
        """The text indexed for a document: ``title + " " + text`` (BEIR convention).

        Example:
            >>> BeirDataset("t", {"d": {"title": "Paris", "text": "Capital."}}, {}, {}).document_text("d")
            'Paris Capital.'
        """
        doc = self.corpus[doc_id]
        return f"{doc.get('title', '')} {doc.get('text', '')}".strip()

    def document_ids(self) -> list[str]:
        """Document ids in corpus order."""
        return list(self.corpus)

    def document_texts(self) -> list[str]:
        """Indexed texts in corpus order (see :meth:`document_text`)."""
        return [self.document_text(doc_id) for doc_id in self.corpus]

    def subset(self, max_queries: int) -> BeirDataset:
        """The same corpus with only the first ``max_queries`` queries (for quick runs).

        Example:
            >>> BeirDataset("t", {}, {"a": "x", "b": "y"}, {"a": {}, "b": {}}).subset(1).queries
            {'a': 'x'}
        """
        if isinstance(max_queries, bool) or not isinstance(max_queries, int) or max_queries < 1:
            raise ValueError(f"max_queries must be a positive integer, got {max_queries!r}")
        keep = list(self.queries)[:max_queries]
        return BeirDataset(self.name, self.corpus, {q: self.queries[q] for q in keep}, {q: self.qrels[q] for q in keep})


def _json_lines(file: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as exc:
                raise DatasetError(
                    f"{file}, line {number}: not valid JSON ({exc.msg}). Fix or remove the line."
                ) from exc
            if not isinstance(record, dict):
                raise DatasetError(f"{file}, line {number}: expected a JSON object, got {type(record).__name__}")
            yield number, record


def _record_id(record: dict[str, Any], file: Path, number: int) -> str:
    value = record.get("_id")
    if isinstance(value, bool) or not isinstance(value, str | int) or value == "":
        raise DatasetError(f"{file}, line {number}: missing or invalid '_id' (need a non-empty string)")
    return str(value)


def _field(record: dict[str, Any], key: str, file: Path, number: int, *, required: bool) -> str:
    value = record.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str):
        shown = "missing" if value is None else f"a {type(value).__name__}"
        raise DatasetError(f"{file}, line {number}: field {key!r} must be a string, found {shown}")
    return value


def _load_corpus(file: Path) -> dict[str, dict[str, str]]:
    corpus: dict[str, dict[str, str]] = {}
    for number, record in _json_lines(file):
        doc_id = _record_id(record, file, number)
        if doc_id in corpus:
            raise DatasetError(f"{file}, line {number}: duplicate document id {doc_id!r}")
        title = _field(record, "title", file, number, required=False)
        corpus[doc_id] = {"title": title, "text": _field(record, "text", file, number, required=True)}
    return corpus


def _load_queries(file: Path) -> dict[str, str]:
    queries: dict[str, str] = {}
    for number, record in _json_lines(file):
        query_id = _record_id(record, file, number)
        if query_id in queries:
            raise DatasetError(f"{file}, line {number}: duplicate query id {query_id!r}")
        queries[query_id] = _field(record, "text", file, number, required=True)
    return queries


def _parse_grade(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        try:
            value = float(text)
        except ValueError:
            return None
        return int(value) if value.is_integer() else None


def _load_qrels(file: Path) -> dict[str, dict[str, int]]:
    qrels: dict[str, dict[str, int]] = {}
    first = True
    with file.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            header_allowed, first = first, False
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) == 1:
                parts = line.split()
            if len(parts) == 4:  # TREC layout: query-id, iteration, doc-id, grade
                parts = [parts[0], parts[2], parts[3]]
            if len(parts) != 3:
                raise DatasetError(
                    f"{file}, line {number}: expected 3 tab-separated columns (query-id, corpus-id, score), "
                    f"found {len(parts)}"
                )
            query_id, doc_id, grade_text = (p.strip() for p in parts)
            grade = _parse_grade(grade_text)
            if grade is None:
                if header_allowed:
                    continue  # the optional header line
                raise DatasetError(f"{file}, line {number}: score {grade_text!r} is not an integer grade")
            if not query_id or not doc_id:
                raise DatasetError(f"{file}, line {number}: empty query-id or corpus-id")
            qrels.setdefault(query_id, {})[doc_id] = grade
    return qrels


def _required(folder: Path, name: str, what: str) -> Path:
    file = folder / name
    if not file.is_file():
        raise DatasetError(
            f"{what} file not found: {file}. A BEIR folder holds corpus.jsonl, queries.jsonl and qrels/<split>.tsv."
        )
    return file


def load_beir(data_dir: str | os.PathLike[str], split: str = "test") -> BeirDataset:
    """Load a BEIR-format folder.

    Args:
        data_dir: The folder holding ``corpus.jsonl``, ``queries.jsonl`` and ``qrels/``.
        split: The qrels file to use (``qrels/<split>.tsv``), e.g. ``"test"`` or ``"dev"``.

    Returns:
        The dataset; ``queries`` and ``qrels`` hold only the queries judged in ``split``.

    Raises:
        DatasetError: A missing file or a malformed line (the message names the file
            and the line number), or qrels naming queries that do not exist.

    Example:
        >>> data = load_beir("datasets/nano-dbpedia")  # doctest: +SKIP
        >>> len(data.corpus), len(data.queries)  # doctest: +SKIP
        (5000, 40)
    """
    folder = Path(data_dir).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"Dataset folder not found: {folder}. Pass the folder that holds corpus.jsonl.")
    qrels_dir = folder / "qrels"
    qrels_file = qrels_dir / f"{split}.tsv"
    if not qrels_file.is_file():
        found = sorted(p.stem for p in qrels_dir.glob("*.tsv")) if qrels_dir.is_dir() else []
        hint = f"; available splits: {', '.join(found)}" if found else ""
        raise DatasetError(f"Qrels file not found: {qrels_file} (split={split!r}){hint}")
    corpus = _load_corpus(_required(folder, "corpus.jsonl", "Corpus"))
    all_queries = _load_queries(_required(folder, "queries.jsonl", "Queries"))
    qrels = _load_qrels(qrels_file)
    unknown = [q for q in qrels if q not in all_queries]
    if unknown:
        raise DatasetError(
            f"{qrels_file} judges {len(unknown)} query id(s) that are not in queries.jsonl, e.g. {unknown[0]!r}"
        )
    missing_docs = sum(1 for judged in qrels.values() for doc in judged if doc not in corpus)
    if missing_docs:
        logger.warning("%s: %d judged document(s) are not in the corpus", qrels_file, missing_docs)
    queries = {q: all_queries[q] for q in all_queries if q in qrels}
    logger.info("Loaded %s: %d documents, %d queries (%s)", folder.name, len(corpus), len(queries), split)
    return BeirDataset(folder.name, corpus, queries, {q: qrels[q] for q in queries})
