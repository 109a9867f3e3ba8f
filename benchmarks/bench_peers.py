"""Ogma's SQLite store next to the embedded vector stores a RAG developer would pick instead.

Same vectors, same queries, one run. Every system runs in its own subprocess, so its peak RSS
is its own (``VmHWM`` of that process, which includes the input vectors it was handed: the same
for every system; see :func:`memory_mb`).

Data: seeded synthetic vectors with structure -- Gaussian clusters around random centres,
normalised to unit length -- so that recall@10 of approximate methods means something; the
queries are drawn from the same clusters (not from the stored vectors). Every vector has
metadata ``{"b10": 0..9, "b1000": 0..999, "u": [0, 1)}``, drawn independently of the clusters,
for four filters: equality ``b10 == 3`` (10% pass) and ``b1000 == 7`` (0.1%), range
``u >= 0.9`` (10%) and ``u >= 0.999`` (0.1%).

Per system: ingest/s (vectors + metadata + a short text where the system stores text; no
encoding), query p50/p95 (k=10, warm), recall@10 against exact float search, for each filter
p50 and recall@10 against the exact filtered answer, disk size, peak RSS. How each peer
filters is recorded in its ``filtering`` entry: ``"native"`` (inside its search),
``"post-filter"`` (search a larger candidate list, then keep the rows that pass),
``"id selector"`` (faiss: a mask of the rows that pass, computed per query from the metadata
columns in numpy -- its cost included -- and handed to the search), or ``"no filters"``.

Systems (``--systems``, comma separated, default all): ogma-float32, ogma-binary (Ogma's
public API: ``Store(path, dim=..., precision=...)``, ``add(embeddings=...)``,
``search(vector=..., filter=...)``; the store is closed after ingest and reopened, and one
query warms it before timing), ogma-hnsw, ogma-hnsw-binary (the same with ``index="hnsw"``:
usearch's HNSW graph with its default settings, built while adding, saved on close),
chromadb, lancedb (flat), qdrant (local mode persisted to a folder), qdrant-memory (local mode in memory), faiss-flat
(IndexFlatIP), faiss-hnsw (IndexHNSWFlat, M=32), faiss-binary (IndexBinaryFlat + float rescore
of its top 200), usearch (HNSW defaults), usearch-ef128 (the same with the search expansion
Ogma's graph uses up to 100,000 vectors, for equal recall; Ogma's grows beyond), langchain-sqlitevec, haystack-memory
(InMemoryDocumentStore), llamaindex-simple (SimpleVectorStore). A peer that is not installed or
fails is reported with the reason, never dropped. Peers install from
``benchmarks/requirements-peers.txt``.

Usage::

    python benchmarks/bench_peers.py --sizes 100000x384 --queries 200
    python benchmarks/bench_peers.py --sizes 2000x64 --queries 20      # quick check
    python benchmarks/bench_peers.py --markdown benchmarks/results/peers.json  # print the tables

Writes JSON to ``benchmarks/results/peers.json`` (``--out``).
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
K = 10
SEED = 20261207
CLUSTERS = 100
NOISE = 0.35  # per-dimension spread around a cluster centre, relative to the centre's own spread

FILTERS: dict[str, tuple[str, str, float]] = {
    # name: (kind, field, value) -- "eq": field == value; "gte": field >= value
    "eq 10%": ("eq", "b10", 3),
    "eq 0.1%": ("eq", "b1000", 7),
    "range 10%": ("gte", "u", 0.9),
    "range 0.1%": ("gte", "u", 0.999),
}

SYSTEMS = (
    "ogma-float32",
    "ogma-binary",
    "ogma-hnsw",
    "ogma-hnsw-binary",
    "chromadb",
    "lancedb",
    "qdrant",
    "qdrant-memory",
    "faiss-flat",
    "faiss-hnsw",
    "faiss-binary",
    "usearch",
    "usearch-ef128",
    "langchain-sqlitevec",
    "haystack-memory",
    "llamaindex-simple",
)
OGMA_SYSTEMS = ("ogma-float32", "ogma-binary", "ogma-binary-read-all", "ogma-hnsw", "ogma-hnsw-binary")


# ----------------------------------------------------------------------------- data
def make_data(n: int, dim: int, queries: int, seed: int = SEED) -> dict[str, np.ndarray]:
    """Clustered unit vectors, queries from the same clusters, and metadata columns."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((CLUSTERS, dim)).astype(np.float32)

    def draw(count: int) -> np.ndarray:
        out = np.empty((count, dim), dtype=np.float32)
        for start in range(0, count, 50_000):
            stop = min(count, start + 50_000)
            labels = rng.integers(0, CLUSTERS, stop - start)
            block = centres[labels] + NOISE * rng.standard_normal((stop - start, dim)).astype(np.float32)
            out[start:stop] = block / np.linalg.norm(block, axis=1, keepdims=True)
        return out

    vectors = draw(n)
    query_vectors = draw(queries)
    return {
        "vectors": vectors,
        "queries": query_vectors,
        "b10": rng.integers(0, 10, n).astype(np.int64),
        "b1000": rng.integers(0, 1000, n).astype(np.int64),
        "u": rng.random(n),
    }


def filter_mask(data: dict[str, np.ndarray], name: str) -> np.ndarray:
    kind, field, value = FILTERS[name]
    column = data[field]
    return np.asarray(column == value if kind == "eq" else column >= value)


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int, mask: np.ndarray | None = None) -> np.ndarray:
    """Row numbers of the exact top ``k`` by inner product (unit vectors: cosine), per query."""
    rows = np.arange(len(vectors)) if mask is None else np.flatnonzero(mask)
    out = np.full((len(queries), k), -1, dtype=np.int64)
    if len(rows) == 0:
        return out
    for start in range(0, len(queries), 64):
        scores = queries[start : start + 64] @ vectors[rows].T
        take = min(k, len(rows))
        part = np.argpartition(-scores, take - 1, axis=1)[:, :take]
        order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
        out[start : start + 64, :take] = rows[np.take_along_axis(part, order, axis=1)]
    return out


def recall_at_k(found: Sequence[Sequence[int]], truth: np.ndarray) -> float:
    total = hits = 0
    for got, want in zip(found, truth, strict=True):
        wanted = {int(x) for x in want if x >= 0}
        total += len(wanted)
        hits += len(wanted & {int(x) for x in got[:K]})
    return hits / total if total else 1.0


def metadata_row(data: dict[str, np.ndarray], i: int) -> dict[str, Any]:
    return {"b10": int(data["b10"][i]), "b1000": int(data["b1000"][i]), "u": float(data["u"][i])}


def text_of(i: int) -> str:
    return f"document {i}"


def dir_size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- systems
# Each runner gets the data and a scratch directory and returns a System: ``ingest()`` loads
# everything, ``warm()`` reopens / prepares for queries (not timed as ingest), ``search(q, f)``
# returns row numbers (the ids are the row numbers as strings or ints), ``filtering`` says how
# filters run, ``disk`` the bytes it keeps on disk (None: memory only).
class System:
    filtering = "native"

    def __init__(self, data: dict[str, np.ndarray], workdir: Path) -> None:
        self.data = data
        self.workdir = workdir
        self.n, self.dim = data["vectors"].shape

    def ingest(self) -> None:
        raise NotImplementedError

    def warm(self) -> None:
        """Reopen / prepare after ingest; the first search after this is untimed."""

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        raise NotImplementedError

    def disk(self) -> int | None:
        return dir_size(self.workdir)

    def close(self) -> None:
        """Release files before the disk size is read."""


class OgmaSystem(System):
    precision = "float32"
    index: str | None = None

    def __init__(self, data: dict[str, np.ndarray], workdir: Path) -> None:
        super().__init__(data, workdir)
        self.path = workdir / "ogma.db"
        self.store: Any = None

    def _filter(self, filt: str | None) -> dict[str, Any] | None:
        if filt is None:
            return None
        kind, field, value = FILTERS[filt]
        return {field: value} if kind == "eq" else {field: {"$gte": value}}

    def ingest(self) -> None:
        from ogma import Store

        vectors = self.data["vectors"]
        with Store(self.path, dim=self.dim, precision=self.precision, show_progress=False, index=self.index) as store:
            batch = 8192
            for start in range(0, self.n, batch):
                stop = min(self.n, start + batch)
                store.add(
                    [text_of(i) for i in range(start, stop)],
                    metadatas=[metadata_row(self.data, i) for i in range(start, stop)],
                    ids=[str(i) for i in range(start, stop)],
                    embeddings=vectors[start:stop],
                    batch_size=batch,
                )

    def warm(self) -> None:
        from ogma import Store

        self.store = Store(self.path, show_progress=False, index=self.index)

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        hits = self.store.search(vector=query, k=K, filter=self._filter(filt))
        return [int(h.id) for h in hits]

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


class OgmaBinary(OgmaSystem):
    precision = "binary"


class OgmaBinaryReadAll(OgmaBinary):
    """The binary store as it rescored before its int8 copy: the float vector of every Hamming
    candidate read from SQLite (the mirror's ``int8_copy`` switched off before it loads). Not in
    the default systems: for a before/after comparison in one run."""

    def warm(self) -> None:
        super().warm()
        self.store._mirror.int8_copy = False


class OgmaHnsw(OgmaSystem):
    """``Store(path, index="hnsw")``: the graph follows every add (ingest/s includes building it)."""

    filtering = "native (graph + oversampling, exact below 4096 passing rows)"
    index = "hnsw"


class OgmaHnswBinary(OgmaHnsw):
    precision = "binary"


class Chroma(System):
    def ingest(self) -> None:
        import chromadb
        from chromadb.config import Settings

        self.client = chromadb.PersistentClient(
            path=str(self.workdir / "chroma"), settings=Settings(anonymized_telemetry=False)
        )
        col = self.client.create_collection("bench", embedding_function=None, metadata={"hnsw:space": "cosine"})
        batch = min(5000, self.client.get_max_batch_size())
        vectors = self.data["vectors"]
        for start in range(0, self.n, batch):
            stop = min(self.n, start + batch)
            col.add(
                ids=[str(i) for i in range(start, stop)],
                embeddings=vectors[start:stop],
                metadatas=[metadata_row(self.data, i) for i in range(start, stop)],
                documents=[text_of(i) for i in range(start, stop)],
            )

    def warm(self) -> None:
        self.col = self.client.get_collection("bench", embedding_function=None)

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        where = None
        if filt is not None:
            kind, field, value = FILTERS[filt]
            where = {field: value} if kind == "eq" else {field: {"$gte": value}}
        res = self.col.query(query_embeddings=[query], n_results=K, where=where, include=[])
        return [int(x) for x in res["ids"][0]]


class Lance(System):
    filtering = "native (prefilter)"

    def ingest(self) -> None:
        import lancedb
        import pyarrow as pa

        self.db = lancedb.connect(str(self.workdir / "lance"))
        vectors = self.data["vectors"]
        table = pa.table(
            {
                "id": pa.array(np.arange(self.n, dtype=np.int64)),
                "text": pa.array([text_of(i) for i in range(self.n)]),
                "b10": pa.array(self.data["b10"]),
                "b1000": pa.array(self.data["b1000"]),
                "u": pa.array(self.data["u"]),
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), self.dim),
            }
        )
        self.db.create_table("bench", data=table)

    def warm(self) -> None:
        self.table = self.db.open_table("bench")

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        q = self.table.search(query).metric("cosine").limit(K).select(["id"])
        if filt is not None:
            kind, field, value = FILTERS[filt]
            q = q.where(f"{field} = {value}" if kind == "eq" else f"{field} >= {value}", prefilter=True)
        return [int(x) for x in q.to_arrow().column("id").to_pylist()]


class Qdrant(System):
    """qdrant-client's local mode persisted to a folder (``QdrantClient(path=...)``)."""

    def _client(self) -> Any:
        from qdrant_client import QdrantClient

        return QdrantClient(path=str(self.workdir / "qdrant"))

    def ingest(self) -> None:
        from qdrant_client import models

        self.client = self._client()
        self.client.create_collection(
            "bench", vectors_config=models.VectorParams(size=self.dim, distance=models.Distance.COSINE)
        )
        vectors = self.data["vectors"]
        batch = 2000
        for start in range(0, self.n, batch):
            stop = min(self.n, start + batch)
            self.client.upsert(
                "bench",
                points=models.Batch(
                    ids=list(range(start, stop)),
                    vectors=vectors[start:stop].tolist(),
                    payloads=[{**metadata_row(self.data, i), "text": text_of(i)} for i in range(start, stop)],
                ),
            )
        self.close()  # reopened by warm(), as an application would

    def warm(self) -> None:
        self.client = self._client()

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        from qdrant_client import models

        query_filter = None
        if filt is not None:
            kind, field, value = FILTERS[filt]
            cond = (
                models.FieldCondition(key=field, match=models.MatchValue(value=value))
                if kind == "eq"
                else models.FieldCondition(key=field, range=models.Range(gte=value))
            )
            query_filter = models.Filter(must=[cond])
        res = self.client.query_points("bench", query=query.tolist(), limit=K, query_filter=query_filter)
        return [int(p.id) for p in res.points]

    def close(self) -> None:
        self.client.close()


class QdrantMemory(Qdrant):
    """qdrant-client's local mode in memory (``QdrantClient(":memory:")``): nothing persisted."""

    def _client(self) -> Any:
        from qdrant_client import QdrantClient

        if getattr(self, "client", None) is None:
            self.client = QdrantClient(":memory:")
        return self.client

    def close(self) -> None:
        """Nothing to release: closing would drop the data, which lives only in this client."""

    def disk(self) -> int | None:
        return None


class FaissBase(System):
    filtering = "id selector"

    def __init__(self, data: dict[str, np.ndarray], workdir: Path) -> None:
        import faiss

        super().__init__(data, workdir)
        # Queries come one at a time; on a busy machine OpenMP's threads wait on each other for
        # one query (tens of ms), so faiss searches on one thread, like the others here.
        faiss.omp_set_num_threads(int(os.environ.get("BENCH_FAISS_THREADS", "1")))

    def selector(self, filt: str) -> Any:
        import faiss

        mask = filter_mask(self.data, filt)  # the metadata lives outside faiss: numpy columns
        return faiss.IDSelectorBitmap(np.packbits(mask, bitorder="little"))

    def disk(self) -> int | None:
        import faiss

        path = self.workdir / "faiss.index"
        if isinstance(self.index, faiss.IndexBinary):
            faiss.write_index_binary(self.index, str(path))
        else:
            faiss.write_index(self.index, str(path))
        return dir_size(self.workdir)


class FaissFlat(FaissBase):
    def make(self) -> Any:
        import faiss

        return faiss.IndexFlatIP(self.dim)

    def ingest(self) -> None:
        self.index = self.make()
        self.index.add(self.data["vectors"])

    def params(self, filt: str) -> Any:
        import faiss

        return faiss.SearchParameters(sel=self.selector(filt))

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        params = None if filt is None else self.params(filt)
        _, ids = self.index.search(query[None, :], K, params=params)
        return [int(x) for x in ids[0] if x >= 0]


class FaissHNSW(FaissFlat):
    def make(self) -> Any:
        import faiss

        return faiss.IndexHNSWFlat(self.dim, 32, faiss.METRIC_INNER_PRODUCT)

    def params(self, filt: str) -> Any:
        import faiss

        return faiss.SearchParametersHNSW(sel=self.selector(filt), efSearch=self.index.hnsw.efSearch)


class FaissBinary(FaissBase):
    """IndexBinaryFlat over sign bits, then float rescore of its top ``RESCORE`` candidates
    (``--faiss-rescore``; default 200)."""

    RESCORE = int(os.environ.get("BENCH_FAISS_RESCORE", "200"))

    def ingest(self) -> None:
        import faiss

        self.index = faiss.IndexBinaryFlat(self.dim)
        self.index.add(np.packbits(self.data["vectors"] > 0, axis=1))

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        import faiss

        params = None if filt is None else faiss.SearchParameters(sel=self.selector(filt))
        codes = np.packbits(query[None, :] > 0, axis=1)
        _, ids = self.index.search(codes, self.RESCORE, params=params)
        cand = ids[0][ids[0] >= 0]
        scores = self.data["vectors"][cand] @ query
        return [int(x) for x in cand[np.argsort(-scores, kind="stable")[:K]]]


class USearch(System):
    filtering = "post-filter"

    def ingest(self) -> None:
        from usearch.index import Index

        self.index = Index(ndim=self.dim, metric="cos")
        self.index.add(np.arange(self.n, dtype=np.uint64), self.data["vectors"])
        self.index.save(str(self.workdir / "usearch.index"))

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        if filt is None:
            return [int(x) for x in self.index.search(query, K).keys]
        # No predicate in the Python API: ask for enough candidates that about 2k pass, then filter.
        mask = filter_mask(self.data, filt)
        want = min(self.n, max(K, math.ceil(2 * K * self.n / max(1, int(mask.sum())))))
        keys = self.index.search(query, want).keys
        return [int(x) for x in keys if mask[int(x)]][:K]


class USearchEf128(USearch):
    """usearch at expansion 128 (usearch's default is 64): Ogma's default up to 100,000 vectors, for equal recall."""

    def ingest(self) -> None:
        from usearch.index import Index

        self.index = Index(ndim=self.dim, metric="cos", expansion_search=128)
        self.index.add(np.arange(self.n, dtype=np.uint64), self.data["vectors"])
        self.index.save(str(self.workdir / "usearch.index"))


class LangChainSQLiteVec(System):
    filtering = "no filters"

    def _connection(self) -> Any:
        import sqlite3

        import sqlite_vec

        module: Any = sqlite3
        if not hasattr(sqlite3.Connection, "enable_load_extension"):  # this sqlite3 cannot load extensions
            import pysqlite3.dbapi2 as module  # type: ignore[import-not-found,no-redef]
        conn = module.connect(str(self.workdir / "lc.db"), check_same_thread=False)
        conn.row_factory = module.Row  # what SQLiteVec's own connections use
        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
        return conn

    def _store(self) -> Any:
        from langchain_community.vectorstores import SQLiteVec
        from langchain_core.embeddings import Embeddings

        vectors = self.data["vectors"]

        class Lookup(Embeddings):  # precomputed vectors: "document {i}" -> row i
            def embed_documents(self, texts: list[str]) -> list[list[float]]:
                # SQLiteVec embeds a probe text of its own to learn the dimension: any row will do
                rows = [t.rsplit(" ", 1)[-1] for t in texts]
                return [vectors[int(r) if r.isdigit() else 0].tolist() for r in rows]

            def embed_query(self, text: str) -> list[float]:
                return self.embed_documents([text])[0]

        return SQLiteVec("bench", self._connection(), Lookup(), db_file=str(self.workdir / "lc.db"))

    def ingest(self) -> None:
        store = self._store()
        batch = 5000
        for start in range(0, self.n, batch):
            stop = min(self.n, start + batch)
            store.add_texts(
                [text_of(i) for i in range(start, stop)],
                metadatas=[{**metadata_row(self.data, i), "row": i} for i in range(start, stop)],
            )
        store._connection.close()

    def warm(self) -> None:
        self.store = self._store()

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        if filt is not None:
            raise NotImplementedError
        docs = self.store.similarity_search_by_vector(query.tolist(), k=K)
        return [int(d.metadata["row"]) for d in docs]

    def close(self) -> None:
        self.store._connection.close()


class HaystackMemory(System):
    def ingest(self) -> None:
        from haystack import Document
        from haystack.document_stores.in_memory import InMemoryDocumentStore

        self.store = InMemoryDocumentStore(embedding_similarity_function="cosine")
        vectors = self.data["vectors"]
        self.store.write_documents(
            [
                Document(id=str(i), content=text_of(i), embedding=vectors[i].tolist(), meta=metadata_row(self.data, i))
                for i in range(self.n)
            ]
        )

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        filters = None
        if filt is not None:
            kind, field, value = FILTERS[filt]
            filters = {"field": f"meta.{field}", "operator": "==" if kind == "eq" else ">=", "value": value}
        docs = self.store.embedding_retrieval(query_embedding=query.tolist(), top_k=K, filters=filters)
        return [int(d.id) for d in docs]

    def disk(self) -> int | None:
        return None


class LlamaIndexSimple(System):
    def ingest(self) -> None:
        from llama_index.core.schema import TextNode
        from llama_index.core.vector_stores import SimpleVectorStore

        self.store = SimpleVectorStore()
        vectors = self.data["vectors"]
        self.store.add(
            [
                TextNode(
                    id_=str(i), text=text_of(i), embedding=vectors[i].tolist(), metadata=metadata_row(self.data, i)
                )
                for i in range(self.n)
            ]
        )
        self.store.persist(str(self.workdir / "llama" / "vector_store.json"))

    def search(self, query: np.ndarray, filt: str | None) -> list[int]:
        from llama_index.core.vector_stores import (
            FilterOperator,
            MetadataFilter,
            MetadataFilters,
            VectorStoreQuery,
        )

        filters = None
        if filt is not None:
            kind, field, value = FILTERS[filt]
            op = FilterOperator.EQ if kind == "eq" else FilterOperator.GTE
            filters = MetadataFilters(filters=[MetadataFilter(key=field, value=value, operator=op)])
        res = self.store.query(VectorStoreQuery(query_embedding=query.tolist(), similarity_top_k=K, filters=filters))
        return [int(x) for x in res.ids or []]


RUNNERS: dict[str, Callable[[dict[str, np.ndarray], Path], System]] = {
    "ogma-float32": OgmaSystem,
    "ogma-binary": OgmaBinary,
    "ogma-binary-read-all": OgmaBinaryReadAll,
    "ogma-hnsw": OgmaHnsw,
    "ogma-hnsw-binary": OgmaHnswBinary,
    "chromadb": Chroma,
    "lancedb": Lance,
    "qdrant": Qdrant,
    "qdrant-memory": QdrantMemory,
    "faiss-flat": FaissFlat,
    "faiss-hnsw": FaissHNSW,
    "faiss-binary": FaissBinary,
    "usearch": USearch,
    "usearch-ef128": USearchEf128,
    "langchain-sqlitevec": LangChainSQLiteVec,
    "haystack-memory": HaystackMemory,
    "llamaindex-simple": LlamaIndexSimple,
}

# Imported before the ingest clock starts, so that import time is not counted as ingest.
IMPORTS = {
    "ogma-float32": ("ogma",),
    "ogma-binary": ("ogma",),
    "ogma-binary-read-all": ("ogma",),
    "ogma-hnsw": ("ogma", "onnxruntime", "usearch.index"),
    "ogma-hnsw-binary": ("ogma", "onnxruntime", "usearch.index"),
    "chromadb": ("chromadb",),
    "lancedb": ("lancedb", "pyarrow"),
    "qdrant": ("qdrant_client",),
    "qdrant-memory": ("qdrant_client",),
    "faiss-flat": ("faiss",),
    "faiss-hnsw": ("faiss",),
    "faiss-binary": ("faiss",),
    "usearch": ("usearch.index",),
    "usearch-ef128": ("usearch.index",),
    "langchain-sqlitevec": ("langchain_community.vectorstores", "sqlite_vec"),
    "haystack-memory": ("haystack", "haystack.document_stores.in_memory"),
    "llamaindex-simple": ("llama_index.core.vector_stores",),
}

PACKAGES = {
    "ogma-float32": "ogma-core",
    "ogma-binary": "ogma-core",
    "ogma-binary-read-all": "ogma-core",
    "ogma-hnsw": "ogma-core",
    "ogma-hnsw-binary": "ogma-core",
    "chromadb": "chromadb",
    "lancedb": "lancedb",
    "qdrant": "qdrant-client",
    "qdrant-memory": "qdrant-client",
    "faiss-flat": "faiss-cpu",
    "faiss-hnsw": "faiss-cpu",
    "faiss-binary": "faiss-cpu",
    "usearch": "usearch",
    "usearch-ef128": "usearch",
    "langchain-sqlitevec": "langchain-community",
    "haystack-memory": "haystack-ai",
    "llamaindex-simple": "llama-index-core",
}


# ----------------------------------------------------------------------------- one system (child)
def memory_mb() -> dict[str, float]:
    """Peak RSS of this process (``VmHWM``) and its current anonymous / file-backed parts, in MB.

    ``ru_maxrss`` is not used: on Linux it survives ``execve``, so a child forked from a parent
    that held the data and exact answers (gigabytes at 1M vectors) would report the parent's
    peak. ``VmHWM`` belongs to the child's own address space. The file-backed part is pages of
    memory-mapped files (Ogma maps its SQLite file for reads): page cache the kernel may drop,
    counted in RSS while mapped. Off Linux: ``ru_maxrss`` only.
    """
    status = Path("/proc/self/status")
    if not status.exists():
        return {"peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024}
    fields = {}
    for line in status.read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "RssAnon", "RssFile"):
            fields[key] = int(value.split()[0]) / 1024  # kB
    return {"peak_rss_mb": fields["VmHWM"], "rss_anon_mb": fields["RssAnon"], "rss_file_mb": fields["RssFile"]}


def percentile_ms(samples: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(samples) * 1000.0, q))


MIN_QUERIES = 20


def timed_queries(
    system: System, queries: np.ndarray, filt: str | None, budget: float
) -> tuple[list[list[int]], list[float]]:
    """Run the queries in order; past ``budget`` seconds (and at least MIN_QUERIES), stop early."""
    found: list[list[int]] = []
    times: list[float] = []
    start = time.perf_counter()
    for q in queries:
        t0 = time.perf_counter()
        got = system.search(q, filt)
        times.append(time.perf_counter() - t0)
        found.append(got)
        if len(found) >= MIN_QUERIES and time.perf_counter() - start > budget:
            break
    return found, times


def run_system(name: str, datadir: Path, workdir: Path, budget: float = 120.0) -> dict[str, Any]:
    """Ingest, search and measure one system in this process (the child)."""
    data = {key: np.load(datadir / f"{key}.npy") for key in ("vectors", "queries", "b10", "b1000", "u")}
    truth = np.load(datadir / "truth.npy")
    system = RUNNERS[name](data, workdir)
    n = len(data["vectors"])
    out: dict[str, Any] = {"system": name, "filtering": system.filtering}
    if isinstance(system, FaissBinary):
        out["rescore"] = system.RESCORE
    try:
        from importlib.metadata import version

        out["version"] = version(PACKAGES[name])
    except Exception:
        out["version"] = None
    for module in IMPORTS[name]:
        importlib.import_module(module)
    out["start_rss_mb"] = memory_mb()["peak_rss_mb"]  # the input and imports
    t0 = time.perf_counter()
    system.ingest()
    ingest_s = time.perf_counter() - t0
    out["ingest_peak_rss_mb"] = memory_mb()["peak_rss_mb"]
    out["ingest_s"] = ingest_s
    out["ingest_per_s"] = n / ingest_s
    system.warm()
    queries = data["queries"]
    system.search(queries[0], None)  # warm: loads indexes, caches
    found, times = timed_queries(system, queries, None, budget)
    out["queries_run"] = len(found)
    out["p50_ms"] = percentile_ms(times, 50)
    out["p95_ms"] = percentile_ms(times, 95)
    out["recall"] = recall_at_k(found, truth[: len(found)])
    out["filtered"] = {}
    for filt in FILTERS:
        try:
            system.search(queries[0], filt)
        except NotImplementedError:
            out["filtered"][filt] = None
            continue
        ftruth = np.load(datadir / f"truth-{filt.replace(' ', '_').replace('%', 'pct')}.npy")
        found, times = timed_queries(system, queries, filt, budget)
        out["filtered"][filt] = {
            "queries_run": len(found),
            "p50_ms": percentile_ms(times, 50),
            "p95_ms": percentile_ms(times, 95),
            "recall": recall_at_k(found, ftruth[: len(found)]),
        }
    out.update(memory_mb())  # peak RSS, and the anonymous / file-backed split at the end
    system.close()
    out["disk_mb"] = None if (size := system.disk()) is None else size / 1e6
    if out["filtering"] == "no filters":
        out["filtered"] = None
    return out


# ----------------------------------------------------------------------------- driver (parent)
def parse_size(text: str) -> tuple[int, int]:
    try:
        n, dim = (int(x) for x in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sizes: expected NxDIM such as 100000x384, got {text!r}") from None
    if n < K or dim < 2:
        raise argparse.ArgumentTypeError(f"--sizes: need at least {K} vectors of 2 dimensions, got {text!r}")
    return n, dim


def prepare(datadir: Path, n: int, dim: int, queries: int) -> dict[str, float]:
    data = make_data(n, dim, queries)
    for key, value in data.items():
        np.save(datadir / f"{key}.npy", value)
    np.save(datadir / "truth.npy", exact_top(data["vectors"], data["queries"], K))
    passing = {}
    for filt in FILTERS:
        mask = filter_mask(data, filt)
        passing[filt] = float(mask.mean())
        slug = filt.replace(" ", "_").replace("%", "pct")
        np.save(datadir / f"truth-{slug}.npy", exact_top(data["vectors"], data["queries"], K, mask))
    return passing


def run_child(name: str, datadir: Path, timeout: float, budget: float = 120.0) -> dict[str, Any]:
    workdir = Path(tempfile.mkdtemp(prefix=f"peers-{name}-", dir=datadir))
    outfile = datadir / f"result-{name}.json"
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "HAYSTACK_TELEMETRY_ENABLED": "False"}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", name, "--data", str(datadir)]
    cmd += ["--workdir", str(workdir), "--out", str(outfile), "--query-budget", str(budget)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        return {"system": name, "error": f"did not finish within {timeout:.0f} s"}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if proc.returncode != 0 or not outfile.exists():
        lines = [line for line in proc.stderr.strip().splitlines() if line.strip()]
        return {"system": name, "error": lines[-1] if lines else f"exit code {proc.returncode}"}
    return dict(json.loads(outfile.read_text()))


def run(
    sizes: Sequence[tuple[int, int]],
    queries: int,
    systems: Sequence[str],
    timeout: float = 3600.0,
    budget: float = 120.0,
    out: Path | None = None,
    log: Callable[[str], None] = lambda s: print(s, flush=True),
) -> dict[str, Any]:
    """Run every system at every size; each system in its own subprocess."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from _common import cpu_flags

    report: dict[str, Any] = {
        "k": K,
        "queries": queries,
        "query_budget_s": budget,
        "seed": SEED,
        "data": f"{CLUSTERS} Gaussian clusters, noise {NOISE}, unit length; queries from the same clusters",
        "filters": {name: f"{f} {'==' if kind == 'eq' else '>='} {v}" for name, (kind, f, v) in FILTERS.items()},
        "machine": {
            "platform": platform.platform(),
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "cpu_flags": cpu_flags(),
        },
        "runs": [],
    }
    for n, dim in sizes:
        with tempfile.TemporaryDirectory(prefix="bench-peers-") as tmp:
            datadir = Path(tmp)
            log(f"{n:,} x {dim}: making data and exact answers")
            passing = prepare(datadir, n, dim, queries)
            results = []
            for name in systems:
                t0 = time.perf_counter()
                res = run_child(name, datadir, timeout, budget)
                res["wall_s"] = time.perf_counter() - t0
                log(f"  {name}: " + (res["error"] if "error" in res else f"{res['wall_s']:.1f} s"))
                results.append(res)
                if out is not None:  # written after every system, so that a long run keeps what it measured
                    now = {"n": n, "dim": dim, "pass_fraction": passing, "load_average": list(os.getloadavg())}
                    partial = {**report, "runs": [*report["runs"], {**now, "results": results}]}
                    out.write_text(json.dumps(partial, indent=2) + "\n")
        report["runs"].append(
            {"n": n, "dim": dim, "pass_fraction": passing, "load_average": list(os.getloadavg()), "results": results}
        )
    return report


# ----------------------------------------------------------------------------- markdown
def _ms(x: float | None) -> str:
    return "—" if x is None else (f"{x:.2f} ms" if x < 10 else f"{x:.1f} ms")


def markdown(report: dict[str, Any]) -> str:
    """Tables of a report: one per size."""
    out = []
    for run_ in report["runs"]:
        load = ", ".join(f"{x:.1f}" for x in run_.get("load_average", [])) or "not recorded"
        out.append(
            f"### {run_['n']:,} × {run_['dim']}-d, {report['queries']} queries, k={report['k']} "
            f"(load average after the run: {load})\n"
        )
        out.append(
            "| system | ingest/s | query p50 | p95 | recall@10 | disk | peak RSS | filtering |\n"
            "|---|---:|---:|---:|---:|---:|---:|---|"
        )
        for r in run_["results"]:
            if "error" in r:
                out.append(f"| {r['system']} | not run: {r['error'].replace('|', '/')} | | | | | | |")
                continue
            disk = "memory only" if r["disk_mb"] is None else f"{r['disk_mb']:,.1f} MB"
            out.append(
                f"| {r['system']} | {r['ingest_per_s']:,.0f} | {_ms(r['p50_ms'])} | {_ms(r['p95_ms'])} "
                f"| {r['recall']:.3f} | {disk} | {r['peak_rss_mb']:,.0f} MB | {r['filtering']} |"
            )
        names = list(FILTERS)
        pct = run_.get("pass_fraction", {})
        out.append(
            "\nFiltered search: p50 / recall@10 against the exact filtered answer "
            + "; ".join(f"{f}: {pct[f]:.2%} pass" if f in pct else f for f in names)
            + "\n"
        )
        out.append("| system | " + " | ".join(names) + " |\n|---|" + "---:|" * len(names))
        for r in run_["results"]:
            if "error" in r:
                continue
            if r["filtered"] is None:
                out.append(f"| {r['system']} | " + " | ".join(["no filters"] * len(names)) + " |")
                continue
            cells = []
            for f in names:
                cell = r["filtered"].get(f)
                cells.append("—" if cell is None else f"{_ms(cell['p50_ms'])} / {cell['recall']:.3f}")
            out.append(f"| {r['system']} | " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=lambda s: [parse_size(x) for x in s.split(",")], default=None)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--systems", default=",".join(SYSTEMS), help="comma-separated; default all")
    parser.add_argument("--timeout", type=float, default=3600.0, help="seconds per system and size")
    parser.add_argument("--out", type=Path, default=HERE / "results" / "peers.json")
    parser.add_argument("--markdown", type=Path, metavar="JSON", help="print the tables of a results file")
    parser.add_argument(
        "--query-budget",
        type=float,
        default=120.0,
        help=f"seconds per query set (unfiltered, each filter): a slow system stops there, after at least "
        f"{MIN_QUERIES} queries; the count run is recorded",
    )
    parser.add_argument(
        "--faiss-rescore",
        type=int,
        default=None,
        help="candidates faiss-binary rescores with float vectors (default 200): to compare at equal recall",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.faiss_rescore is not None:
        if args.faiss_rescore < K:
            parser.error(f"--faiss-rescore: need at least {K} candidates, got {args.faiss_rescore}")
        os.environ["BENCH_FAISS_RESCORE"] = str(args.faiss_rescore)  # the children inherit it
    if args.child:
        result = run_system(args.child, args.data, args.workdir, args.query_budget)
        args.out.write_text(json.dumps(result))
        return 0
    if args.markdown:
        print(markdown(json.loads(args.markdown.read_text())))
        return 0
    systems = [s.strip() for s in args.systems.split(",") if s.strip()]
    unknown = [s for s in systems if s not in RUNNERS]
    if unknown:
        parser.error(f"--systems: unknown {', '.join(unknown)}; choose from {', '.join(SYSTEMS)}")
    if args.queries < 1:
        parser.error(f"--queries: need at least 1, got {args.queries}")
    sizes = args.sizes or [(100_000, 384), (1_000_000, 256)]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = run(sizes, args.queries, systems, args.timeout, args.query_budget, args.out)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(markdown(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
