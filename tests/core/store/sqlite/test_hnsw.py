"""The opt-in HNSW index of the SQLite store (``ogma.store.sqlite.hnsw``, ``indexing``).

Recall against exact search on clustered data, persistence, staleness (another writer, a
process that dies between its commit and the save, a save cut short), deletes, filters
checked against the pure-Python evaluator, float32 and binary, and bad input.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("usearch")

from ogma.errors import MissingExtraError, StoreError
from ogma.store import Store
from ogma.store.filters import matches
from ogma.store.sqlite import binary_graph, hnsw, indexing
from ogma.store.sqlite import search as search_module
from ogma.store.sqlite.hnsw import HnswOptions, index_files
from ogma.store.sqlite.vectors import VectorCodec

N, DIM, K = 3000, 32, 10
GRAPH = HnswOptions(exact_below=0)  # the graph at any size (the default searches small stores exactly)
PRECISIONS = ["float32", "binary"]


def _data(n: int = N, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Clustered vectors and queries from the same clusters (so nearest neighbours mean something)."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((30, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, 30, n)] + 0.35 * rng.standard_normal((n, DIM)).astype(np.float32)
    queries = centres[rng.integers(0, 30, 40)] + 0.35 * rng.standard_normal((40, DIM)).astype(np.float32)
    return vectors, queries


def _meta(i: int) -> dict[str, Any]:
    return {"b": i % 10, "u": (i * 7919 % 1000) / 1000, "tag": "rare" if i % 250 == 0 else "common"}


def _fill(path: Path | str, precision: str, n: int = N, **options: Any) -> tuple[Store, np.ndarray, np.ndarray]:
    vectors, queries = _data(n)
    store = Store(path, dim=DIM, precision=precision, show_progress=False, **options)  # type: ignore[arg-type]
    ids = [str(i) for i in range(n)]
    store.add([f"t{i}" for i in range(n)], [_meta(i) for i in range(n)], ids=ids, embeddings=vectors)
    return store, vectors, queries


def _ids(store: Store, query: np.ndarray, **kwargs: Any) -> list[str]:
    return [h.id for h in store.search(vector=query, k=K, **kwargs)]


def _recall(store: Store, exact: Store, queries: np.ndarray, **kwargs: Any) -> float:
    found = sum(len(set(_ids(store, q, **kwargs)) & set(_ids(exact, q, **kwargs))) for q in queries)
    wanted = sum(len(_ids(exact, q, **kwargs)) for q in queries)
    return found / wanted


@pytest.mark.parametrize("precision", [*PRECISIONS, "int8"])
def test_recall_against_exact_search(tmp_path: Path, precision: str) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, precision, index=GRAPH)  # a new store: the graph follows every add
    exact = Store(db)
    assert store.index_is_current() and store._graph is not None and store._graph.size == N
    assert _recall(store, exact, queries) >= 0.95
    assert not store._graph.search(queries[0] / np.linalg.norm(queries[0]), 0)
    store.close()
    exact.close()


def test_a_broken_graph_fails_the_recall_threshold(tmp_path: Path) -> None:
    """The threshold above means something: a graph whose vectors are shuffled misses it."""
    db = tmp_path / "s.ogma"
    store, vectors, queries = _fill(db, "float32", index=GRAPH)
    exact = Store(db)
    graph = store._graph
    assert graph is not None and graph._index is not None
    shuffled = np.random.default_rng(1).permutation(N)
    graph._index.remove(np.arange(1, N + 1, dtype=np.uint64))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    graph._index.add(np.arange(1, N + 1, dtype=np.uint64), unit[shuffled])
    assert _recall(store, exact, queries) < 0.5
    store.close()
    exact.close()


@pytest.mark.parametrize("precision", PRECISIONS)
def test_persisted_across_reopen_and_built_on_demand(tmp_path: Path, precision: str) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, precision)  # no index: none is written
    assert store.index_info() is None and not index_files(str(db))[0].exists()
    info = store.build_index()
    assert info is not None and info.fresh and info.vectors == N and info.size_bytes
    exact = [_ids(store, q) for q in queries[:5]]  # this store searches a store this small exactly
    store.close()
    with Store(db, index=GRAPH) as reopened:
        assert reopened.index_is_current()  # loaded from the file, not rebuilt
        walked = [_ids(reopened, q) for q in queries[:5]]
    # the graph's answers are approximate (a threaded build differs from run to run): close to exact
    assert sum(len(set(a) & set(b)) for a, b in zip(walked, exact, strict=True)) >= 0.9 * K * len(exact)
    with Store(db, read_only=True, index=GRAPH) as viewer:  # read-only: the file is memory-mapped
        assert viewer.index_is_current() and [_ids(viewer, q) for q in queries[:5]] == walked  # the same graph
        with pytest.raises(StoreError, match="read_only"):
            viewer.build_index()


def test_a_write_by_another_connection_makes_the_index_stale(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", index=GRAPH)
    store.close()  # saved
    with Store(db, index=GRAPH) as indexed, Store(db) as other:
        assert indexed.index_is_current()
        other.add(["new"], ids=["new"], embeddings=queries[:1] * 10)  # a write this store's graph never sees
        caplog.set_level(logging.WARNING, logger="ogma.store.sqlite.hnsw")
        assert indexed.search(vector=queries[0], k=1)[0].id == "new"  # exact search finds it
        assert not indexed.index_is_current()
        assert "not used" in caplog.text and "build_index" in caplog.text
        info = indexed.index_info()
        assert info is not None and not info.fresh and "another process" in info.reason
        info = indexed.build_index()
        assert info is not None and info.fresh and info.vectors == N + 1
        assert indexed.index_is_current() and indexed.search(vector=queries[0], k=1)[0].id == "new"


def test_a_process_killed_between_commit_and_save_leaves_a_stale_index(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    store, _, _ = _fill(db, "float32", index=GRAPH)
    store.close()
    crash = textwrap.dedent(
        f"""
        import os
        import numpy as np
        from ogma.store import Store
        from ogma.store.sqlite.hnsw import HnswOptions
        store = Store({str(db)!r}, index=HnswOptions(exact_below=0))
        assert store.index_is_current()
        store.add(["late"], ids=["late"], embeddings=np.full((1, {DIM}), 3.0, dtype=np.float32))
        assert store.index_is_current()  # this process's graph followed its own write ...
        os._exit(0)  # ... but it dies before close() saves it
        """
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    subprocess.run([sys.executable, "-c", crash], check=True, env=env, timeout=120)
    with Store(db, index=GRAPH) as reopened:
        info = reopened.index_info()
        assert info is not None and not info.fresh and info.generation == info.store_generation - 1
        assert not reopened.index_is_current()
        assert reopened.search(vector=np.full(DIM, 3.0), k=1)[0].id == "late"


def test_a_save_cut_short_is_never_trusted(tmp_path: Path) -> None:
    """The record names the index file's size, inode and time: a file replaced without its record is stale."""
    db = tmp_path / "s.ogma"
    store, _, _ = _fill(db, "float32", index=GRAPH)
    store.close()
    index_path, _ = index_files(str(db))
    index_path.write_bytes(index_path.read_bytes())  # same bytes, another file (as if renamed in, record not)
    with Store(db, index=GRAPH) as reopened:
        info = reopened.index_info()
        assert info is not None and not info.fresh and "does not match" in info.reason
        assert not reopened.index_is_current()


def test_a_recreated_store_does_not_trust_an_old_index(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    store, _, _ = _fill(db, "float32", n=500, index=GRAPH)
    store.close()
    db.unlink()
    store, _, _ = _fill(db, "float32", n=500)  # the same generation, another store
    info = store.index_info()
    assert info is not None and not info.fresh and "another store" in info.reason
    store.close()


@pytest.mark.parametrize("precision", PRECISIONS)
def test_deleted_documents_are_never_returned(tmp_path: Path, precision: str) -> None:
    db = tmp_path / "s.ogma"
    store, vectors, queries = _fill(db, precision, index=GRAPH)
    gone = [str(i) for i in range(0, N, 3)]
    assert store.delete(gone) == len(gone)
    assert store.delete(filter={"tag": "rare"}) > 0
    assert store.update(filter={"b": 1}, metadata={"seen": True}) > 0  # metadata only: the graph stays current
    assert store.index_is_current()
    removed = set(gone) | {str(i) for i in range(N) if i % 250 == 0}
    for i in range(0, 60, 3):
        assert not set(_ids(store, vectors[i])) & removed
    store.close()
    with Store(db, index=GRAPH) as reopened:  # the saved graph keeps them out too
        assert reopened.index_is_current()
        assert all(not set(_ids(reopened, vectors[i])) & removed for i in range(0, 60, 3))
        reopened.delete_all(confirm=True)
        assert reopened.index_is_current() and reopened.search(vector=queries[0], k=K) == []


def test_upserts_move_a_document(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    store, vectors, _ = _fill(db, "float32", index=GRAPH)
    target = np.full(DIM, -5.0, dtype=np.float32)
    store.add(["moved"], ids=["17"], embeddings=target[None, :])
    assert store.index_is_current()
    assert _ids(store, target)[0] == "17"
    assert "17" not in _ids(store, vectors[17])[:1] or np.allclose(vectors[17], target)
    store.close()


@pytest.mark.parametrize("precision", PRECISIONS)
@pytest.mark.parametrize(
    "flt",
    [
        {"b": 3},  # 10%: a graph search with oversampling
        {"tag": "rare"},  # 0.4%: exact over the passing rows
        {"$and": [{"u": {"$gte": 0.2}}, {"b": {"$in": [1, 2, 5, 7]}}]},  # 32%
        {"b": 42},  # nothing passes
    ],
)
def test_filters_match_the_python_evaluator(
    tmp_path: Path, precision: str, flt: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, precision, index=GRAPH)
    exact = Store(db)
    passing = exact.count(filter=flt)
    monkeypatch.setattr(hnsw, "BRUTE_FORCE_ROWS", 0)  # the graph walk for any filter this small store can give it
    graph = store._graph
    assert graph is not None
    walked = []
    search = graph.search
    monkeypatch.setattr(graph, "search", lambda *a: walked.append(found := search(*a)) or found)
    for q in queries[:10]:
        hits = store.search(vector=q, k=K, filter=flt)
        assert all(matches(flt, h.metadata, id=h.id, content=h.text) for h in hits)
        assert len(hits) == min(K, passing)  # at least k pass: k come back
    if passing:
        assert _recall(store, exact, queries[:10], filter=flt) >= 0.9
    # the graph answers broad filters; one that would need too many candidates goes to the exact scan
    graph_answered = any(found is not None for found in walked)
    wanted = K * (binary_graph.BINARY_OVERSAMPLE if precision == "binary" else 1)  # binary: the int8 graph's candidates
    assert graph_answered == (passing > 0 and wanted * N / passing * hnsw.OVERFETCH <= hnsw.MAX_CANDIDATES)
    store.close()
    exact.close()


def test_small_stores_are_searched_exactly_by_default(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", n=500, index="hnsw")
    assert store.index_is_current()  # kept up to date ...
    assert store._graph_candidates(_conn(store), queries[0], K, (None, []), "memory") is None  # ... but not searched
    assert _graph_used(store, GRAPH, queries[0])
    store.close()


def _conn(store: Store) -> Any:
    with store._pool.connection() as conn:
        return conn


def _graph_used(store: Store, options: HnswOptions, query: np.ndarray) -> bool:
    store._graph_options = options
    assert store._graph is not None
    store._graph.options = options
    return store._graph_candidates(_conn(store), query, K, (None, []), "memory") is not None


def test_hybrid_mmr_and_sqlite_vec_still_work(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    store, vectors, _ = _fill(db, "binary", index=GRAPH)
    assert store.search("t5", vector=vectors[5], mode="hybrid", k=3)[0].id == "5"
    assert len(store.max_marginal_relevance_search(vector=vectors[5], k=3)) == 3
    assert store.search(vector=vectors[5], k=1, backend="sqlite-vec")[0].id == "5"
    store.close()


def test_memory_store_keeps_its_graph_in_process(tmp_path: Path) -> None:
    store, vectors, _ = _fill(":memory:", "float32", index=GRAPH)
    assert store.index_is_current() and store.index_info() is None
    assert _ids(store, vectors[9])[0] == "9"
    store.close()


def test_bad_index_options() -> None:
    with pytest.raises(ValueError, match="index must be None"):
        Store(":memory:", index="annoy")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="connectivity"):
        HnswOptions(connectivity=0)
    with pytest.raises(ValueError, match="exact_below"):
        HnswOptions(exact_below=True)  # type: ignore[arg-type]
    store = Store(":memory:")
    with pytest.raises(StoreError, match="no vectors yet"):
        store.build_index()
    with pytest.raises(ValueError, match="kind"):
        store.build_index("ivf")  # type: ignore[arg-type]


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "usearch.index", None)  # import usearch.index now raises ImportError
    with pytest.raises(MissingExtraError, match=r"pip install 'ogma-core\[hnsw\]'"):
        Store(":memory:", index="hnsw")


def test_one_search_reads_the_change_counter_once_and_the_next_sees_any_write(tmp_path: Path) -> None:
    """Inside a search the graph and the windows share one read of the change counter; a write
    committed by another connection during that search is seen by the next one."""
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", index=GRAPH)
    store.close()
    reads: list[str] = []
    inject: list[Store] = []

    def tracer(sql: str, params: Any) -> None:
        if "'generation'" in sql and sql.lstrip().upper().startswith("SELECT"):
            reads.append(sql)
        if inject and 'FROM "ogma_documents" WHERE "rowid" IN' in sql:  # after the graph walk, before the hits
            inject.pop().add(["new"], ids=["new"], embeddings=queries[:1] * 10)

    with Store(db, index=GRAPH, tracer=tracer) as indexed, Store(db) as other:
        indexed.search(vector=queries[1], k=K)
        reads.clear()
        assert len(indexed.search(vector=queries[1], k=K)) == K
        assert len(reads) == 1  # the graph's check; the windows reuse it
        inject.append(other)
        assert "new" not in _ids(indexed, queries[0])  # written while this search fetched its documents
        assert _ids(indexed, queries[0])[0] == "new"  # the next search reads the counter again: exact
        assert not indexed.index_is_current()


# -- the scalar type of a float32 store's graph (HnswOptions.dtype) ------------------------------
DTYPES = ["f32", "f16", "bf16"]


def _record(db: Path) -> dict[str, Any]:
    return json.loads(index_files(str(db))[1].read_text(encoding="utf-8"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_each_graph_dtype_builds_persists_reloads_and_recalls(tmp_path: Path, dtype: str) -> None:
    db = tmp_path / "s.ogma"
    options = HnswOptions(exact_below=0, dtype=dtype)  # type: ignore[arg-type]
    store, _, queries = _fill(db, "float32", index=options)
    exact = Store(db)
    assert store._graph is not None and store._graph.rescored == (dtype != "f32")
    assert store.oversample == (hnsw.HALF_OVERSAMPLE if dtype != "f32" else 1.0)
    assert _recall(store, exact, queries) >= 0.95
    store.close()
    info = exact.index_info()
    assert info is not None and info.fresh and info.settings is not None and info.settings["dtype"] == dtype
    assert _record(db)["dtype"] == dtype
    for reopen_with in (options, HnswOptions(exact_below=0)):  # dtype=None: the saved graph's own type
        with Store(db, index=reopen_with) as reopened:
            assert reopened.index_is_current() and reopened._graph is not None
            assert reopened._graph._dtype == dtype and reopened._graph.rescored == (dtype != "f32")
            assert _recall(reopened, exact, queries) >= 0.95
    exact.close()


def test_half_precision_graphs_halve_the_file(tmp_path: Path) -> None:
    sizes = {}
    for dtype in DTYPES:
        store, _, _ = _fill(tmp_path / f"{dtype}.ogma", "float32", index=HnswOptions(exact_below=0, dtype=dtype))  # type: ignore[arg-type]
        store.close()
        sizes[dtype] = index_files(str(tmp_path / f"{dtype}.ogma"))[0].stat().st_size
    vector_bytes = N * DIM * 2  # what a half-precision copy of the vectors saves
    assert sizes["f16"] == sizes["bf16"] and sizes["f32"] - sizes["f16"] >= vector_bytes


@pytest.mark.parametrize("dtype", ["f16", "bf16"])
def test_half_precision_results_carry_exact_cosines(tmp_path: Path, dtype: str) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", index=HnswOptions(exact_below=0, dtype=dtype))  # type: ignore[arg-type]
    exact = Store(db)
    assert store._graph is not None
    for q in queries[:10]:
        unit = q / np.linalg.norm(q)
        hits = store._graph.search(unit, K)
        assert hits is not None
        raw = dict(zip(hits.keys.tolist(), hits.scores.tolist()))  # the half-precision graph's own cosines
        walked = store.search(vector=q, k=K)
        truth = {h.id: h.score for h in exact.search(vector=q, k=N)}
        assert [h.score for h in walked] == sorted((h.score for h in walked), reverse=True)
        for hit in walked:
            assert hit.score == pytest.approx(truth[hit.id], abs=1e-6)
        # the rescoring changed something: the graph's own half-precision scores are not exact
        assert any(abs(raw[int(k)] - truth[str(int(k))]) > 1e-6 for k in raw)
    store.close()
    exact.close()


def test_a_half_precision_store_below_exact_below_is_exact(tmp_path: Path) -> None:
    """A half-precision graph that is not walked (a small store): the exact scan's answers, not rescored ones."""
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", index=HnswOptions(dtype="f16"))  # N < EXACT_BELOW["float32"]
    exact = Store(db)
    assert store._graph is not None and store._graph.rescored
    for q in queries[:5]:
        walked = [(h.id, h.score) for h in store.search(vector=q, k=K)]
        assert walked == [(h.id, h.score) for h in exact.search(vector=q, k=K)]
    store.close()
    exact.close()


def test_a_saved_graph_of_another_dtype_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", index=HnswOptions(exact_below=0, dtype="f16"))
    store.close()
    caplog.set_level(logging.WARNING, logger="ogma.store.sqlite.hnsw")
    with Store(db, index=HnswOptions(exact_below=0, dtype="f32")) as other, Store(db) as exact:
        assert not other.index_is_current()
        assert "holds f16 vectors" in caplog.text
        assert [_ids(other, q) for q in queries[:3]] == [_ids(exact, q) for q in queries[:3]]  # exact meanwhile
        info = other.build_index()  # rebuilt in the type asked for
        assert info is not None and info.fresh and info.settings is not None and info.settings["dtype"] == "f32"
        assert other.index_is_current() and other._graph is not None and not other._graph.rescored


def test_records_without_dtype_load_as_f32_and_a_record_that_lies_is_caught(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "s.ogma"
    store, _, _ = _fill(db, "float32", index=HnswOptions(exact_below=0, dtype="f32"))
    store.close()
    record_path = index_files(str(db))[1]
    record = _record(db)
    del record["dtype"]  # as written before half-precision graphs
    record_path.write_text(json.dumps(record), encoding="utf-8")
    with Store(db, index=HnswOptions(exact_below=0)) as reopened:
        assert reopened.index_is_current() and reopened._graph is not None and reopened._graph._dtype == "f32"
    with Store(db, index=HnswOptions(exact_below=0, dtype="bf16")) as other:
        assert not other.index_is_current()
    record["dtype"] = "bf16"  # a record naming another type than the file holds
    record_path.write_text(json.dumps(record), encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="ogma.store.sqlite.hnsw")
    with Store(db, index=HnswOptions(exact_below=0)) as reopened:
        assert not reopened.index_is_current() and "does not hold bf16 vectors" in caplog.text
    record["dtype"] = "i8"  # not a float32 graph's type at all
    record_path.write_text(json.dumps(record), encoding="utf-8")
    with Store(db) as plain:
        info = plain.index_info()
        assert info is not None and not info.fresh and "'i8'" in info.reason


def test_bad_graph_dtype() -> None:
    with pytest.raises(ValueError, match=r"HnswOptions.dtype must be None, 'f32', 'f16' or 'bf16'.*'f8'"):
        HnswOptions(dtype="f8")  # type: ignore[arg-type]


def test_the_default_search_expansion_grows_with_the_graph(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sizes = [1, 100_000, 100_001, 300_000, 1_000_000, 10_000_000]
    expansions = [hnsw.expansion_for(n) for n in sizes]
    assert expansions[:2] == [128, 128] and expansions[3:5] == [256, 512]
    assert expansions == sorted(expansions) and all(e % 32 == 0 for e in expansions)
    db = tmp_path / "s.ogma"
    store, vectors, _ = _fill(db, "float32", index=GRAPH)
    graph = store._graph
    assert graph is not None and graph._index is not None
    _ids(store, vectors[3])
    assert graph._index.expansion_search == 128  # 3,000 vectors
    monkeypatch.setattr(hnsw, "expansion_for", lambda size: 200 if size == N else 1)
    assert _ids(store, vectors[3])[0] == "3"
    assert graph._index.expansion_search == 200  # taken from the graph's size at each search
    graph.options = HnswOptions(exact_below=0, expansion_search=40)
    _ids(store, vectors[3])
    assert graph._index.expansion_search == 40  # an explicit expansion always wins
    store.close()
    reopened = Store(db, index=HnswOptions(exact_below=0, expansion_search=64))
    assert _ids(reopened, vectors[3])[0] == "3"
    assert reopened._graph is not None and reopened._graph._index.expansion_search == 64
    reopened.close()


# -- filters on a float32 graph store without the in-memory float mirror -----------------------------
@pytest.mark.parametrize("dtype", DTYPES)
def test_the_graph_copies_stay_within_their_declared_bound(dtype: str) -> None:
    """What makes the exact filtered search exact: each graph copy is within VECTOR_BOUNDS of its unit vector."""
    rng = np.random.default_rng(3)
    unit = rng.standard_normal((2000, 96)).astype(np.float32)
    unit[:200, :48] *= 1e-6  # tiny components: f16's subnormals
    unit /= np.linalg.norm(unit, axis=1, keepdims=True)
    graph = hnsw.HnswIndex(":memory:", VectorCodec("float32", 96), HnswOptions(dtype=dtype))  # type: ignore[arg-type]
    graph._index, graph._dtype, graph.generation = graph._new(), dtype, 0
    graph._index.add(np.arange(2000, dtype=np.uint64), unit)
    keys, copies = graph.vectors(np.array([*range(2000), 5000], dtype=np.int64))  # 5000: not in the graph
    assert keys.tolist() == list(range(2000))
    errors = np.linalg.norm(copies - unit, axis=1)
    bound = graph.vector_bound
    assert bound is not None and float(errors.max()) <= bound
    assert (float(errors.max()) == 0.0) == (dtype == "f32")


@pytest.mark.parametrize("dtype", DTYPES)
def test_selective_filters_are_exact_without_the_float_mirror(
    tmp_path: Path, dtype: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A filter too selective for the graph is answered from the graph's own vectors (and a few float rows):
    the exact store's answers, scores included, and the in-memory float copy is never loaded."""
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", index=HnswOptions(exact_below=0, dtype=dtype))  # type: ignore[arg-type]
    store.close()
    store = Store(db, index=HnswOptions(exact_below=0))
    exact = Store(db)
    read: list[int] = []
    fetch = search_module.with_float_vectors
    monkeypatch.setattr(
        search_module,
        "with_float_vectors",
        lambda conn, codec, rowids, *a: read.append(len(rowids)) or fetch(conn, codec, rowids, *a),
    )
    for flt, brute in (({"tag": "rare"}, hnsw.BRUTE_FORCE_ROWS), ({"b": 3}, 10_000)):  # 12 and 300 rows pass
        monkeypatch.setattr(hnsw, "BRUTE_FORCE_ROWS", brute)
        for q in queries[:8]:
            read.clear()
            got = [(h.id, h.score) for h in store.search(vector=q, k=K, filter=flt)]
            want = [(h.id, h.score) for h in exact.search(vector=q, k=K, filter=flt)]
            assert [i for i, _ in got] == [i for i, _ in want]
            assert [s for _, s in got] == pytest.approx([s for _, s in want], abs=1e-6)
            if dtype == "f32":
                assert not read  # the graph holds the unit vectors themselves
            elif flt == {"b": 3}:
                assert 0 < sum(read) < 300  # the bound leaves most passing rows unread
    assert store._mirror is not None and not store._mirror.loaded
    store.close()
    exact.close()


def test_rescoring_reads_stay_within_the_map_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Graph searches charge their mapped reads; past the budget the map is dropped, and the answers do not change."""
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, "float32", index=GRAPH)  # a bf16 graph: its candidates are read and rescored
    assert store._graph is not None and store._graph.rescored
    flt = {"b": 3}

    def answer() -> list[list[tuple[str, float]]]:
        searches = [(q, f) for q in queries[:6] for f in (None, flt)]
        return [[(h.id, h.score) for h in store.search(vector=q, k=K, filter=f)] for q, f in searches]

    answers = answer()
    assert store._map_budget is not None and store._map_budget.drops == 0  # 3,000 vectors: far below 256 MiB
    monkeypatch.setattr(indexing, "MAP_MIN", 1)
    store._graph.options = HnswOptions(exact_below=0, mapped_share=0.0)  # one byte: dropped after every search
    assert answer() == answers
    assert store._map_budget.drops == len(answers)
    store._graph.options = HnswOptions(exact_below=0, mapped_share=None)  # no limit: never dropped
    assert answer() == answers
    assert store._map_budget.drops == len(answers)
    store.close()


@pytest.mark.parametrize("share", [-0.1, float("nan"), "half", True])
def test_bad_mapped_share(share: Any) -> None:
    with pytest.raises(ValueError, match=r"HnswOptions.mapped_share must be None \(no limit\) or a number >= 0"):
        HnswOptions(mapped_share=share)
