"""Haystack document store: ``filter_documents`` with one equality filter, Ogma vs ``InMemoryDocumentStore``.

Both stores hold the same documents (``--docs``, default 20,000, each with a
``--dim``-d embedding, default 384, and metadata ``category`` / ``tag`` / ``year``).
Each round times, in alternating order, one ``filter_documents`` call per store for each
filter; the figures are medians over ``--rounds`` rounds. The filters are equalities on a
metadata field with 10 values (about 10 % of the documents match) and with 1,000 values
(about 0.1 %). Every call returns the matching documents whole, embeddings included, and
the script checks that both stores return the same ids in the same order. A third timing,
interleaved too, is the core call underneath (``Store.iter_documents(filter=...,
include_embeddings=True)``), which separates the SQL and vector reads from the conversion
to Haystack ``Document`` objects.

``OgmaDocumentStore.filter_documents`` compiles the filter to SQL in the core
(``iter_documents(filter=...)``); Haystack's in-memory store evaluates it in Python over
every document.

Run:
    python benchmarks/bench_haystack_store.py --rounds 15
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import cpu_flags

ROOT = Path(__file__).resolve().parents[1]


def make_documents(n: int, dim: int, seed: int) -> list[Any]:
    from haystack.dataclasses import Document

    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return [
        Document(
            id=f"doc-{i}",
            content=f"document {i} about topic {i % 97}",
            meta={"category": f"cat-{i % 10}", "tag": f"tag-{i % 1000}", "year": 1990 + i % 35},
            embedding=[float(v) for v in vectors[i]],
        )
        for i in range(n)
    ]


def timed(fn: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=20_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "haystack-store.json")
    args = parser.parse_args()

    import haystack
    from haystack.document_stores.in_memory import InMemoryDocumentStore

    import ogma
    from haystack_integrations.document_stores.ogma import OgmaDocumentStore, convert_filters

    docs = make_documents(args.docs, args.dim, args.seed)
    filters = {
        "category (10 values)": {"field": "meta.category", "operator": "==", "value": "cat-3"},
        "tag (1,000 values)": {"field": "meta.tag", "operator": "==", "value": "tag-123"},
    }
    with tempfile.TemporaryDirectory() as tmp:
        ours = OgmaDocumentStore(str(Path(tmp) / "bench.db"))
        memory = InMemoryDocumentStore()
        write_ogma, _ = timed(lambda: ours.write_documents(docs))
        write_memory, _ = timed(lambda: memory.write_documents(docs))
        core = ours.store
        times: dict[str, dict[str, list[float]]] = {name: {"ogma": [], "in_memory": [], "core": []} for name in filters}
        matched: dict[str, int] = {}
        for name, where in filters.items():  # warm-up, and the two stores must agree
            a, b = ours.filter_documents(where), memory.filter_documents(where)
            if [d.id for d in a] != [d.id for d in b]:
                raise SystemExit(f"{name}: the stores returned different documents")
            matched[name] = len(a)
        for round_ in range(args.rounds):
            for name, where in filters.items():
                calls = {
                    "ogma": lambda where=where: ours.filter_documents(where),
                    "in_memory": lambda where=where: memory.filter_documents(where),
                    "core": lambda where=where: list(
                        core.iter_documents(filter=convert_filters(where), include_embeddings=True)
                    ),
                }
                order = list(calls)
                if round_ % 2:
                    order.reverse()
                for label in order:
                    seconds, _ = timed(calls[label])
                    times[name][label].append(seconds)
        ours.close()

    rows = []
    for name in filters:
        ogma_ms = statistics.median(times[name]["ogma"]) * 1000
        memory_ms = statistics.median(times[name]["in_memory"]) * 1000
        core_ms = statistics.median(times[name]["core"]) * 1000
        rows.append(
            {
                "filter": name,
                "matching_documents": matched[name],
                "ogma_ms": round(ogma_ms, 2),
                "in_memory_ms": round(memory_ms, 2),
                "speedup": round(memory_ms / ogma_ms, 2),
                "core_iter_documents_ms": round(core_ms, 2),
                "ogma_ms_all": [round(t * 1000, 2) for t in times[name]["ogma"]],
                "in_memory_ms_all": [round(t * 1000, 2) for t in times[name]["in_memory"]],
                "core_iter_documents_ms_all": [round(t * 1000, 2) for t in times[name]["core"]],
            }
        )
    result = {
        "benchmark": "haystack filter_documents, one equality filter",
        "documents": args.docs,
        "dim": args.dim,
        "rounds": args.rounds,
        "ogma_store": "OgmaDocumentStore on a file (SQLite), default options",
        "write_seconds": {"ogma": round(write_ogma, 2), "in_memory": round(write_memory, 2)},
        "rows": rows,
        "cpu_flags": cpu_flags(),
        "cpu_count": os.cpu_count(),
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "haystack_ai": haystack.__version__ if hasattr(haystack, "__version__") else "unknown",
        "ogma_core": ogma.__version__,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: result[k] for k in ("write_seconds", "cpu_flags")}, indent=2))
    for row in rows:
        print({k: v for k, v in row.items() if not k.endswith("_all")})
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
