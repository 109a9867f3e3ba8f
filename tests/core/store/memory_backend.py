"""A minimal in-memory store backend, written from "Adding a backend" in ``docs/architecture.md`` alone.

The conformance suite runs on it (``store_factory`` in ``conftest.py``), which checks that
the section says everything a new backend needs. Documents live in a dict shared by every
store opened on the same ``location`` (so a test can reopen a store); dense search is exact
cosine (float32) or Hamming candidates rescored by the pipeline (binary); lexical search is
BM25 over lower-cased words; filters are evaluated with ``ogma.store.filters.predicate``.
"""

from __future__ import annotations

import json
import math
import re
import sys
import threading
from collections import Counter
from collections.abc import Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import TracebackType
from typing import Any

import numpy as np
import numpy.typing as npt
from tqdm.auto import tqdm

from ogma.compress import hamming_distance, quantize_binary
from ogma.errors import DuplicateDocumentError, StoreError, StoreMismatchError
from ogma.store.config import check_encoder_dim, check_settings
from ogma.store.document import Document
from ogma.store.encoding import StoreEncoder, as_encoder
from ogma.store.filters import predicate
from ogma.store.milvus import metadata as facts
from ogma.store.pipeline import NOTHING, DenseCandidates, SearchPipeline
from ogma.store.protocol import OnConflict
from ogma.store.settings import check_setting_key
from ogma.store.validate import (
    check_add_args,
    check_field_name,
    check_lookup_ids,
    check_metadatas,
    check_optional_embeddings,
)
from ogma.store.vector_input import embed_texts
from ogma.validation import check_count, check_str

FloatArray = npt.NDArray[np.float32]

PRECISIONS = ("float32", "binary")
_WORD = re.compile(r"\w+")


@dataclass
class MemoryConfig:
    """The store's record: what the first open (or the first vectors) fixed."""

    model_id: str | None = None
    dim: int | None = None
    full_dim: int | None = None
    precision: str = "float32"


@dataclass
class _Row:
    text: str | None
    metadata: dict[str, Any]
    vector: FloatArray | None


@dataclass
class _Shared:
    """Everything stored at one location (what a file or a collection is for the other backends)."""

    config: MemoryConfig
    rows: dict[str, _Row] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_LOCATIONS: dict[str, _Shared] = {}


def forget(prefix: str) -> None:
    """Drop every location under ``prefix`` (a test's folder), as deleting its files would."""
    for location in [loc for loc in _LOCATIONS if loc.startswith(prefix)]:
        del _LOCATIONS[location]


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


class MemoryStore(SearchPipeline):
    """Documents in a Python dict; the store protocol through the shared search pipeline."""

    def __init__(
        self,
        location: str = ":memory:",
        encoder: Any = None,
        *,
        dim: int | None = None,
        precision: str | None = None,
        oversample: float | None = None,
        show_progress: bool | None = None,
    ) -> None:
        if precision is not None and precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}; got {precision!r}")
        if dim is not None and (isinstance(dim, bool) or not isinstance(dim, int) or dim < 1):
            raise ValueError(f"dim must be a positive integer, got {dim!r}")
        if oversample is not None and not (
            isinstance(oversample, (int, float)) and not isinstance(oversample, bool) and 1.0 <= oversample < math.inf
        ):
            raise ValueError(f"oversample must be a finite number >= 1, got {oversample!r}")
        self.location = location
        self.encoder: StoreEncoder | None = None if encoder is None else as_encoder(encoder)
        self.show_progress = show_progress
        self._oversample = oversample
        self._opened_dim = dim
        self._closed = False
        encoder_dim = self.encoder.dim if self.encoder is not None else None
        model_id = self.encoder.model_id if self.encoder is not None else None
        shared = _LOCATIONS.get(location) if location != ":memory:" else None
        if shared is None:
            if dim is not None and encoder_dim is not None and dim > encoder_dim:
                raise ValueError(f"dim {dim} is larger than the encoder's dimension {encoder_dim}")
            config = MemoryConfig(
                model_id=model_id,
                dim=dim if dim is not None else encoder_dim,
                full_dim=encoder_dim if encoder_dim is not None else dim,
                precision=precision or "float32",
            )
            shared = _Shared(config)
            if location != ":memory:":
                _LOCATIONS[location] = shared
        else:
            found = shared.config
            check_settings(
                [
                    ("model id", model_id, found.model_id),
                    ("dimension", dim, found.dim),
                    ("precision", precision, found.precision),
                ],
                container="store",
            )
            check_encoder_dim(found.dim, found.full_dim, encoder_dim, container="store")
        self._shared = shared

    # -- state --------------------------------------------------------------------
    @property
    def config(self) -> MemoryConfig:
        return self._shared.config

    @property
    def dim(self) -> int | None:
        return self.config.dim

    @property
    def precision(self) -> str:
        return self.config.precision

    @property
    def oversample(self) -> float:
        return self._oversample if self._oversample is not None else (20.0 if self._quantized else 1.0)

    @property
    def store_uri(self) -> str | None:
        return None  # there is no URI scheme for it

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("this MemoryStore is closed")

    # -- search primitives ----------------------------------------------------------
    @property
    def _quantized(self) -> bool:
        return self.config.precision == "binary"

    def _pushdown(self, filter: Mapping[str, Any] | None) -> Any:
        if not filter:
            return None
        return predicate(filter)

    def _passing(self, where: Any) -> list[tuple[str, _Row]]:
        rows = list(self._shared.rows.items())
        if where is None or where is NOTHING:
            return rows
        return [(i, r) for i, r in rows if where(r.metadata, id=i, content=r.text)]

    def _dense_candidates(self, ctx: Any, unit: FloatArray, count: int, where: Any, option: Any) -> DenseCandidates:
        found = [(i, r.vector) for i, r in self._passing(where) if r.vector is not None]
        if not found:
            return DenseCandidates([])
        keys = [i for i, _ in found]
        matrix = np.stack([v for _, v in found])
        if self._quantized:
            distances = hamming_distance(quantize_binary(unit[None, :])[0], quantize_binary(matrix))
            scores = -distances.astype(np.float64)
        else:
            scores = matrix @ unit / np.maximum(np.linalg.norm(matrix, axis=1), 1e-12)
        order = sorted(range(len(keys)), key=lambda n: (-float(scores[n]), keys[n]))[:count]
        return DenseCandidates([(keys[n], float(scores[n])) for n in order])

    def _float_vectors(self, ctx: Any, keys: Sequence[Hashable]) -> dict[Hashable, FloatArray]:
        rows = self._shared.rows
        return {k: v for k in keys if isinstance(k, str) and k in rows and (v := rows[k].vector) is not None}

    def _lexical_candidates(self, ctx: Any, query: str, count: int, where: Any) -> list[tuple[Hashable, float]]:
        terms = set(_words(query))
        every = [(i, _words(r.text)) for i, r in self._shared.rows.items() if r.text is not None]
        if not terms or not every:
            return []
        average = sum(len(w) for _, w in every) / len(every) or 1.0
        frequency = Counter(t for _, w in every for t in set(w) if t in terms)
        passing = {i for i, _ in self._passing(where)}
        scored: list[tuple[Hashable, float]] = []
        for doc_id, words in every:
            if doc_id not in passing:
                continue
            counts = Counter(words)
            score = 0.0
            for term in terms:
                tf = counts.get(term, 0)
                if tf:
                    idf = math.log(1 + (len(every) - frequency[term] + 0.5) / (frequency[term] + 0.5))
                    score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(words) / average))
            if score > 0:
                scored.append((doc_id, score))
        scored.sort(key=lambda item: (-item[1], str(item[0])))
        return scored[:count]

    def _documents(self, ctx: Any, keys: Sequence[Hashable], include_embeddings: bool) -> dict[Hashable, Document]:
        rows = self._shared.rows
        return {k: self._document(k, rows[k], include_embeddings) for k in keys if isinstance(k, str) and k in rows}

    @staticmethod
    def _document(doc_id: str, row: _Row, include_embeddings: bool) -> Document:
        vector = row.vector.copy() if include_embeddings and row.vector is not None else None
        return Document(doc_id, row.text, dict(row.metadata), vector)

    # -- writes ---------------------------------------------------------------------------
    def add(
        self,
        texts: Sequence[str | None],
        metadatas: Sequence[Mapping[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        embeddings: Any = None,
        *,
        batch_size: int = 1000,
        on_conflict: OnConflict = "replace",
    ) -> list[str]:
        self._check_open()
        items, metas, doc_ids, batch_size = check_add_args(
            texts, metadatas, ids, batch_size=batch_size, on_conflict=on_conflict
        )
        if not items:
            return []
        if embeddings is not None:
            matrix, positions = check_optional_embeddings(embeddings, len(items), self._accepted_dims())
        elif self.encoder is None:
            raise StoreError("this store has no encoder: pass embeddings= to add(), or open it with an encoder")
        else:
            matrix, positions = embed_texts(
                self.encoder, items, self._accepted_dims(), self.config.dim, store=type(self).__name__
            )
        vectors: list[FloatArray | None] = [None] * len(items)
        if len(matrix):
            with self._shared.lock:
                if self.config.dim is None:  # the first vectors fix the dimension
                    width = int(matrix.shape[1])
                    self._shared.config = replace(self.config, dim=width, full_dim=self.config.full_dim or width)
            fitted = self._fit(np.asarray(matrix, dtype=np.float32))
            if fitted.shape[1] != self.config.dim:
                raise StoreMismatchError(
                    f"embeddings have dimension {fitted.shape[1]}, but this store expects {self.config.dim}"
                )
            for row, position in enumerate(positions if positions is not None else range(len(items))):
                vectors[position] = fitted[row].astype(np.float32)
        rows = self._shared.rows
        with self._shared.lock:
            stored = [i for i in doc_ids if i in rows]
            if on_conflict == "fail" and stored:
                raise DuplicateDocumentError.for_ids(stored)
            written = []
            show = self.show_progress if self.show_progress is not None else sys.stderr.isatty()
            for index in tqdm(range(len(items)), disable=not show, unit="doc"):
                doc_id = doc_ids[index]
                if on_conflict == "skip" and doc_id in rows:
                    continue
                rows[doc_id] = _Row(items[index], json.loads(metas[index]), vectors[index])
                written.append(doc_id)
        return written

    def _selected(self, ids: Sequence[str] | None, filter: Mapping[str, Any] | None, verb: str) -> list[str]:
        if ids is None and filter is None:
            raise ValueError(f"give ids=, filter=, or both to say which documents to {verb}")
        wanted = None if ids is None else set(check_lookup_ids(ids))
        where = None
        if filter is not None:
            if not isinstance(filter, Mapping) or not filter:
                raise ValueError(
                    f"filter must be a non-empty dict (an empty one would {verb} every document), got {filter!r}"
                )
            where = predicate(filter)
        return [i for i, _ in self._passing(where) if wanted is None or i in wanted]

    def delete(self, ids: Sequence[str] | None = None, *, filter: Mapping[str, Any] | None = None) -> int:
        self._check_open()
        with self._shared.lock:
            chosen = self._selected(ids, filter, "delete")
            for doc_id in chosen:
                del self._shared.rows[doc_id]
        return len(chosen)

    def delete_all(self, *, confirm: bool = False) -> int:
        self._check_open()
        if confirm is not True:
            raise ValueError("delete_all() deletes every document: call it as delete_all(confirm=True)")
        with self._shared.lock:
            count = len(self._shared.rows)
            self._shared.rows.clear()
        return count

    def reset(self, *, confirm: bool = False) -> int:
        self._check_open()
        if confirm is not True:
            raise ValueError("reset() deletes every document and the vector index: call it as reset(confirm=True)")
        encoder_dim = self.encoder.dim if self.encoder is not None else None
        dim = self._opened_dim if self._opened_dim is not None else encoder_dim
        with self._shared.lock:
            count = len(self._shared.rows)
            self._shared.rows.clear()
            self._shared.config = replace(
                self.config, dim=dim, full_dim=encoder_dim if encoder_dim is not None else dim
            )
        return count

    def update(
        self,
        ids: Sequence[str] | None = None,
        *,
        metadata: Mapping[str, Any],
        filter: Mapping[str, Any] | None = None,
        replace: bool = False,
    ) -> int:
        self._check_open()
        if not isinstance(metadata, Mapping):
            raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
        check_metadatas([dict(metadata)], 1)
        with self._shared.lock:
            chosen = self._selected(ids, filter, "update")
            for doc_id in chosen:
                row = self._shared.rows[doc_id]
                row.metadata = dict(metadata) if replace else {**row.metadata, **metadata}
        return len(chosen)

    # -- reading --------------------------------------------------------------------
    def get(self, ids: Sequence[str], *, include_embeddings: bool = False) -> list[Document]:
        self._check_open()
        rows = self._shared.rows
        return [self._document(i, rows[i], include_embeddings) for i in check_lookup_ids(ids) if i in rows]

    def iter_documents(
        self,
        *,
        filter: Mapping[str, Any] | None = None,
        batch_size: int = 1000,
        include_embeddings: bool = False,
    ) -> Iterator[Document]:
        self._check_open()
        check_count(batch_size, "batch_size")
        where = self._pushdown(filter)
        chosen = self._passing(where)
        return iter([self._document(i, r, include_embeddings) for i, r in chosen])

    def count(self, *, filter: Mapping[str, Any] | None = None) -> int:
        self._check_open()
        return len(self._passing(self._pushdown(filter)))

    def _metadatas(self, filter: Mapping[str, Any] | None) -> list[dict[str, Any]]:
        return [r.metadata for _, r in self._passing(self._pushdown(filter))]

    def metadata_fields(self, *, filter: Mapping[str, Any] | None = None) -> dict[str, str]:
        return facts.field_types(self._metadatas(filter))

    def metadata_values(self, field: str, *, filter: Mapping[str, Any] | None = None) -> list[tuple[Any, int]]:
        return facts.field_values(self._metadatas(filter), check_field_name(field))

    def metadata_range(self, field: str, *, filter: Mapping[str, Any] | None = None) -> tuple[Any, Any] | None:
        return facts.field_range(self._metadatas(filter), check_field_name(field))

    # -- settings and lifecycle -----------------------------------------------------------
    def read_setting(self, key: str) -> str | None:
        key = check_setting_key(key)
        return self._shared.settings.get(key)

    def write_setting_once(self, key: str, value: str) -> bool:
        key = check_setting_key(key, writing=True)
        check_str(value, "value")
        with self._shared.lock:
            if key in self._shared.settings:
                return False
            self._shared.settings[key] = value
        return True

    def close(self) -> None:
        self._closed = True

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()
