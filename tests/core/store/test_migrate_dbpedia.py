"""A migrated store answers the nano-dbpedia queries exactly as its SQLite original.

The vectors are precomputed once per run (a seeded random projection of hashed word
counts: cheap, deterministic, and text-dependent, so queries find their documents), the
SQLite original is built from them, migrated with ``ogma migrate``'s core to another
SQLite file and to Milvus Lite, and every query must return the same ids in the same
order: dense float32, binary with float rescoring, and (SQLite to SQLite) lexical.
Skipped when the dataset is not beside the clone (or at ``$OGMA_NANO_DBPEDIA``).
"""

from __future__ import annotations

import os
import re
import zlib
from pathlib import Path

import numpy as np
import pytest

from ogma.evaluate import load_beir
from ogma.store import Store
from ogma.store.migrate import copy_store, destination_options
from ogma.store.uri import open_store
from tests.helpers.milvus_lite import milvus_lite_db, new_collection, requires_milvus_lite

__all__ = ["milvus_lite_db"]  # the session fixture, imported for pytest

NANO = Path(
    os.environ.get("OGMA_NANO_DBPEDIA") or Path(__file__).resolve().parents[3].parent / "shared/datasets/nano-dbpedia"
)
DIM = 256
BUCKETS = 1 << 14

pytestmark = pytest.mark.skipif(not (NANO / "corpus.jsonl").is_file(), reason=f"dataset absent: {NANO}")


def hashed_embeddings(texts: list[str]) -> np.ndarray:
    projection = np.random.default_rng(7).normal(size=(BUCKETS, DIM)).astype(np.float32)
    out = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        buckets = [zlib.crc32(word.encode()) % BUCKETS for word in re.findall(r"\w+", text.lower())]
        if buckets:
            out[row] = projection[buckets].sum(axis=0)
    return out


@pytest.fixture(scope="module")
def dataset() -> tuple[list[str], list[str], np.ndarray, list[str], np.ndarray]:
    data = load_beir(NANO)
    ids, texts = data.document_ids(), data.document_texts()
    queries = list(data.queries.values())
    return ids, texts, hashed_embeddings(texts), queries, hashed_embeddings(queries)


@pytest.mark.slow
@pytest.mark.parametrize("destination", ["sqlite", pytest.param("milvus-lite", marks=requires_milvus_lite)])
@pytest.mark.parametrize("precision", ["float32", "binary"])
def test_migrated_store_answers_like_the_original(
    tmp_path: Path,
    request: pytest.FixtureRequest,
    dataset: tuple[list[str], list[str], np.ndarray, list[str], np.ndarray],
    precision: str,
    destination: str,
) -> None:
    ids, texts, vectors, queries, query_vectors = dataset
    if destination == "sqlite":
        uri = str(tmp_path / "dst.db")
    else:
        uri = f"milvus-lite://{request.getfixturevalue('milvus_lite_db')}?collection={new_collection()}"
    # Milvus takes a fixed ×20 binary candidates; the SQLite store's default depth is adaptive: pin it alike
    oversample = 20.0 if destination == "milvus-lite" else None
    with Store(
        tmp_path / "src.db",
        dim=DIM,
        precision=precision,  # type: ignore[arg-type]
        show_progress=False,
        oversample=oversample,
    ) as src:
        src.add(texts, [{"n": i % 7} for i in range(len(ids))], ids, embeddings=vectors)
        options = destination_options(src)
        with open_store(uri, options.pop("encoder", None), **options) as dst:
            assert copy_store(src, dst, batch_size=1000, show_progress=False) == len(ids)
            for query, vector in zip(queries, query_vectors, strict=True):
                want = src.search(vector=vector, k=10)
                got = dst.search(vector=vector, k=10)
                assert [h.id for h in got] == [h.id for h in want], query
                np.testing.assert_allclose([h.score for h in got], [h.score for h in want], rtol=1e-5, atol=1e-6)
                if destination == "sqlite":  # Milvus' BM25 is its own (see docs/scale.md)
                    lexical = [h.id for h in src.search(query, k=10, mode="lexical")]
                    assert [h.id for h in dst.search(query, k=10, mode="lexical")] == lexical
            filtered = src.search(vector=query_vectors[0], k=10, filter={"n": 3})
            assert [h.id for h in dst.search(vector=query_vectors[0], k=10, filter={"n": 3})] == [
                h.id for h in filtered
            ]
