"""A tiny BEIR collection plus a fake embedder and store for runner tests."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest

from ogma.evaluate import BeirDataset

DOCS = {
    "d1": ("Paris", "Paris is the capital of France"),
    "d2": ("Berlin", "Berlin is the capital of Germany"),
    "d3": ("Banana", "Bananas are a yellow fruit"),
    "d4": ("Seine", "The Seine flows through Paris"),
    "d5": ("Apple", "Apples are a red or green fruit"),
}
QUERIES = {"q1": "capital of France", "q2": "yellow fruit", "q3": "river in Paris"}
QRELS = {"q1": {"d1": 2, "d2": 0}, "q2": {"d3": 1, "d5": 1}, "q3": {"d4": 2, "d1": 1}}


@dataclass(frozen=True)
class FakeHit:
    id: str
    score: float


class FakeEncoder:
    """Bag-of-words 'embeddings' over a fixed vocabulary; counts calls."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.document_calls = 0
        self.documents_embedded = 0
        self.vocab = sorted({w for t, x in DOCS.values() for w in f"{t} {x}".lower().split()})

    def _vec(self, text: str) -> np.ndarray:
        words = text.lower().split()
        return np.array([words.count(w) for w in self.vocab], dtype=np.float32) + 1e-3

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.document_calls += 1
        self.documents_embedded += len(texts)
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return self._vec(text)


class FakeStore:
    """Implements the slice of the Store API the runner uses."""

    instances: ClassVar[list[FakeStore]] = []

    def __init__(self, path: Path, encoder: Any, dim: int | None, precision: str) -> None:
        self.path = path
        self.encoder = encoder
        self.dim = dim
        self.precision = precision
        self.ids: list[str] = []
        self.texts: list[str] = []
        self.vectors: list[np.ndarray] = []
        self.searches: list[dict[str, Any]] = []
        self.closed = False
        FakeStore.instances.append(self)

    def add(self, texts: list[str], metadatas: Any = None, ids: list[str] | None = None) -> list[str]:
        assert ids is not None and len(ids) == len(texts)
        self.ids += ids
        self.texts += texts
        self.vectors += list(self.encoder.embed_documents(texts))
        self.path.write_bytes(b"x" * (100 * len(self.ids)))
        return ids

    def search(
        self, query: str, *, k: int, mode: str, rerank: Any = None, rerank_k: int | None = None
    ) -> list[FakeHit]:
        self.searches.append({"query": query, "k": k, "mode": mode, "rerank": rerank, "rerank_k": rerank_k})
        if mode == "lexical":
            words = set(query.lower().split())
            scores = [float(len(words & set(t.lower().split()))) for t in self.texts]
        else:
            q = self.encoder.embed_query(query)
            scores = [float(v @ q) for v in self.vectors]
        if rerank is not None:
            scores = list(rerank(query, self.texts, scores))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [FakeHit(self.ids[i], scores[i]) for i in order]

    def close(self) -> None:
        self.closed = True


def reverse_reranker(name: str) -> Any:
    """A 'reranker' that inverts the first-stage order (so it visibly changes metrics)."""

    def rerank(query: str, texts: list[str], scores: list[float]) -> list[float]:
        return [-s for s in scores]

    rerank.model = name  # type: ignore[attr-defined]
    return rerank


@pytest.fixture
def toy_dataset() -> BeirDataset:
    corpus = {d: {"title": t, "text": x} for d, (t, x) in DOCS.items()}
    return BeirDataset("toy", corpus, dict(QUERIES), {q: dict(r) for q, r in QRELS.items()})


@pytest.fixture
def toy_dir(tmp_path: Path) -> Path:
    root = tmp_path / "toy"
    (root / "qrels").mkdir(parents=True)
    (root / "corpus.jsonl").write_text(
        "".join(json.dumps({"_id": d, "title": t, "text": x}) + "\n" for d, (t, x) in DOCS.items())
    )
    (root / "queries.jsonl").write_text("".join(json.dumps({"_id": q, "text": t}) + "\n" for q, t in QUERIES.items()))
    (root / "qrels" / "test.tsv").write_text(
        "query-id\tcorpus-id\tscore\n" + "".join(f"{q}\t{d}\t{g}\n" for q, r in QRELS.items() for d, g in r.items())
    )
    return root


@pytest.fixture
def fake_factories() -> dict[str, Any]:
    FakeStore.instances = []
    encoders: list[FakeEncoder] = []

    def encoder_factory(name: str) -> FakeEncoder:
        encoders.append(FakeEncoder(name))
        return encoders[-1]

    def store_factory(path: Path, encoder: Any, config: Any) -> FakeStore:
        return FakeStore(path, encoder, config.dim, config.precision)

    return {
        "encoder_factory": encoder_factory,
        "store_factory": store_factory,
        "reranker_factory": reverse_reranker,
        "encoders": encoders,
        "store_class": FakeStore,
    }
