"""Haystack ``Document`` to the core store's rows and back, with the checks on written documents.

A Haystack document becomes one core document: ``id``, ``content`` (the text, or ``None``),
``meta`` (the metadata) and ``embedding`` (the vector, or ``None``). Its ``score`` is kept
in the metadata under the reserved key :data:`SCORE_KEY`, which :func:`to_haystack` takes
out again, so a written score comes back from ``filter_documents`` (as Haystack's
in-memory store does) and never shows in ``meta``. The document store hides the key from
its metadata facts and refuses it as a user metadata key.

Example:
    >>> from haystack import Document
    >>> rows = to_core([Document(id="a", content="x", meta={"k": 1}, score=0.5)])
    >>> rows.metadatas
    [{'k': 1, '_haystack_score': 0.5}]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import numpy as np
from haystack.dataclasses import Document

from haystack_integrations.document_stores.ogma.errors import OgmaDuplicateDocumentError
from ogma.store.document import Document as OgmaDocument
from ogma.store.protocol import OnConflict
from ogma.types import Hit

__all__ = [
    "SCORE_KEY",
    "CoreRows",
    "check_documents",
    "check_embedding",
    "dedupe",
    "diagnose",
    "to_core",
    "to_haystack",
]

SCORE_KEY: Final = "_haystack_score"
"""The metadata key under which a written document's ``score`` is stored (reserved: a
document's own ``meta`` may not use it, filters reach it only as the field ``score``)."""


@dataclass(frozen=True)
class CoreRows:
    """The arguments of one core ``add`` call, one entry per document."""

    texts: list[str | None]
    metadatas: list[dict[str, Any]]
    ids: list[str]
    embeddings: list[Any]


def to_core(documents: Sequence[Document]) -> CoreRows:
    """The core rows of checked documents (see :func:`check_documents`)."""
    metadatas = []
    for doc in documents:
        meta = dict(doc.meta)
        if doc.score is not None:
            meta[SCORE_KEY] = float(doc.score)
        metadatas.append(meta)
    return CoreRows(
        texts=[d.content for d in documents],  # None: a document without content (core contract)
        metadatas=metadatas,
        ids=[d.id for d in documents],
        embeddings=[d.embedding for d in documents],  # None rows: documents without a vector
    )


def to_haystack(doc: OgmaDocument | Hit, score: float | None = None, *, retrieved: bool = False) -> Document:
    """The Haystack document of a stored document (``retrieved``: ``score`` is the retrieval score).

    Example:
        >>> from ogma.store.document import Document as OgmaDocument
        >>> to_haystack(OgmaDocument(id="a", text="x", metadata={"k": 1, SCORE_KEY: 0.5})).score
        0.5
    """
    meta = dict(doc.metadata)
    stored = meta.pop(SCORE_KEY, None)
    if stored is not None and (isinstance(stored, bool) or not isinstance(stored, int | float)):
        meta[SCORE_KEY] = stored  # not written by this adapter: leave it where it was, lose nothing
        stored = None
    embedding = None if doc.embedding is None else doc.embedding.tolist()
    return Document(
        id=doc.id,
        content=doc.text,
        meta=meta,
        embedding=embedding,
        score=score if retrieved else (None if stored is None else float(stored)),
    )


def check_embedding(embedding: object, name: str) -> list[float]:
    """``embedding`` as a list of finite floats.

    Raises:
        TypeError: Not a list of numbers.
        ValueError: Empty, or NaN/infinite values.
    """
    if isinstance(embedding, str | bytes | Mapping) or not isinstance(embedding, Sequence | np.ndarray):
        raise TypeError(f"{name} must be a list of floats, got {type(embedding).__name__}: {embedding!r:.80}")
    values = list(embedding)
    if not values:
        raise ValueError(f"{name} is empty; give the query's embedding (a list of floats)")
    if not all(isinstance(v, int | float | np.number) and not isinstance(v, bool) for v in values):
        raise TypeError(f"{name} must hold only numbers")
    if not all(math.isfinite(float(v)) for v in values):
        raise ValueError(f"{name} contains NaN or infinite values")
    return [float(v) for v in values]


def _check_document(doc: object, i: int) -> Document:
    if not isinstance(doc, Document):
        raise ValueError(f"documents[{i}] must be a haystack.Document, got {type(doc).__name__}: {doc!r:.80}")
    if doc.content is not None and not isinstance(doc.content, str):
        raise ValueError(f"documents[{i}].content must be a string or None, got {type(doc.content).__name__}")
    if doc.content is None and doc.embedding is None:
        raise ValueError(
            f"documents[{i}] (id {doc.id!r:.80}) has neither content nor an embedding: nothing could find it. "
            "Give it content (for BM25), an embedding (run a document embedder first), or both"
        )
    if doc.blob is not None:
        raise ValueError(
            f"documents[{i}].blob is set; OgmaDocumentStore stores text, metadata and embeddings, not binary "
            "data. Convert the blob to text first (a converter component) or drop it"
        )
    if doc.sparse_embedding is not None:
        raise ValueError(
            f"documents[{i}].sparse_embedding is set; OgmaDocumentStore computes BM25 itself and does not "
            "store sparse vectors. Drop it, or use OgmaBM25Retriever / OgmaHybridRetriever for lexical search"
        )
    if isinstance(doc.meta, Mapping) and SCORE_KEY in doc.meta:
        raise ValueError(
            f"documents[{i}].meta has the key {SCORE_KEY!r}, which OgmaDocumentStore reserves for the document's "
            "score; rename that metadata key (the score itself goes in Document.score)"
        )
    score = doc.score
    if score is not None and (
        isinstance(score, bool) or not isinstance(score, int | float | np.number) or not math.isfinite(float(score))
    ):
        raise ValueError(f"documents[{i}].score must be a finite number or None, got {score!r:.80}")
    return doc


def check_documents(documents: object) -> list[Document]:
    """The documents as a list, each checked; the message of any error names ``documents[i]``.

    Raises:
        ValueError: Not a list of Documents; a document with neither content nor embedding,
            a blob, a sparse embedding, the reserved metadata key, a score that is not a
            finite number, or embeddings of different lengths.
    """
    if isinstance(documents, str | bytes | Mapping | Document) or not isinstance(documents, Iterable):
        raise ValueError(f"documents must be a list of haystack.Document, got {type(documents).__name__}")
    docs = list(documents)
    first: tuple[int, int] | None = None  # (index, length) of the first embedding
    for i, raw in enumerate(docs):
        doc = _check_document(raw, i)
        if doc.embedding is None:
            continue
        # Cheap checks here; the values themselves are checked by the core in one numpy pass
        # (and diagnosed per document only when that fails, see diagnose).
        if isinstance(doc.embedding, str | bytes) or not isinstance(doc.embedding, Sequence | np.ndarray):
            raise ValueError(f"documents[{i}].embedding must be a list of floats, got {type(doc.embedding).__name__}")
        size = len(doc.embedding)
        if size == 0:
            raise ValueError(f"documents[{i}].embedding is empty; give a list of floats or None")
        if first is None:
            first = (i, size)
        elif size != first[1]:
            raise ValueError(
                f"documents[{i}].embedding has {size} values but documents[{first[0]}].embedding has "
                f"{first[1]}; every embedding in a store has the same dimension (one embedding model)"
            )
    return docs


def dedupe(docs: list[Document], on_conflict: OnConflict) -> list[int]:
    """Positions of the documents to write: each id once (the first with SKIP, the last with OVERWRITE).

    Raises:
        OgmaDuplicateDocumentError: An id repeats and ``on_conflict`` is ``"fail"``.
    """
    by_id: dict[str, int] = {}
    for i, doc in enumerate(docs):
        if doc.id in by_id and on_conflict == "fail":
            error = OgmaDuplicateDocumentError(
                f"id {doc.id!r:.80} appears more than once in documents; nothing was written. Give each document "
                "its own id, or use DuplicatePolicy.OVERWRITE (last wins) or DuplicatePolicy.SKIP (first wins)"
            )
            error.ids = [doc.id]
            raise error
        if doc.id not in by_id or on_conflict == "replace":
            by_id[doc.id] = i
    return list(by_id.values())


def diagnose(docs: list[Document], origin: list[int], exc: Exception) -> None:
    """After the core refused a batch: raise the precise error of the first bad embedding, if one is."""
    for i, doc in zip(origin, docs):
        if doc.embedding is not None:
            try:
                check_embedding(doc.embedding, f"documents[{i}].embedding")
            except (TypeError, ValueError) as precise:
                raise ValueError(str(precise)) from exc  # write_documents promises ValueError
