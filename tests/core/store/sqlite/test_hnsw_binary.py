"""A binary store's HNSW graph (``ogma.store.sqlite.hnsw``, ``indexing``): int8 codes scaled per vector.

Its recall against the exact binary search (and the old Hamming graph's shortfall on the same
data), filters (broad ones through the graph, selective ones exactly as the exact search),
graphs saved before (Hamming graphs of sign bits: stale, with a warning, until rebuilt), an
explicit ``oversample``, and the arrays a graph search returns.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("usearch")

from ogma.compress import quantize_binary
from ogma.store import Store
from ogma.store.filters import matches
from ogma.store.sqlite import binary_graph, hnsw
from ogma.store.sqlite.binary_graph import scaled_int8
from ogma.store.sqlite.hnsw import GraphHits, HnswOptions, index_files
from ogma.store.sqlite.kernels import hamming, pack_columns, query_words, smallest

N, DIM, K = 6000, 64, 10
GRAPH = HnswOptions(exact_below=0)
MARGIN = 0.02
"""The graph's recall@10 may be at most this much below the exact binary search's."""


def _data(seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """Three wide clusters of unit vectors: the nearest 200 by Hamming distance miss most true neighbours."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((3, DIM)).astype(np.float32)
    vectors = centres[rng.integers(0, 3, N)] + 0.35 * rng.standard_normal((N, DIM)).astype(np.float32)
    queries = centres[rng.integers(0, 3, 40)] + 0.35 * rng.standard_normal((40, DIM)).astype(np.float32)
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    return unit.astype(np.float32), (queries / np.linalg.norm(queries, axis=1, keepdims=True)).astype(np.float32)


def _meta(i: int) -> dict[str, Any]:
    return {"b": i % 10, "rare": i % 500 == 0}


def _fill(path: Path, **options: Any) -> tuple[Store, np.ndarray, np.ndarray]:
    vectors, queries = _data()
    store = Store(path, dim=DIM, precision="binary", show_progress=False, **options)
    store.add(
        [f"t{i}" for i in range(N)], [_meta(i) for i in range(N)], ids=[str(i) for i in range(N)], embeddings=vectors
    )
    return store, vectors, queries


def _truth(vectors: np.ndarray, queries: np.ndarray, rows: np.ndarray | None = None) -> list[set[str]]:
    rows = np.arange(N) if rows is None else rows
    return [{str(r) for r in rows[np.argsort(-(vectors[rows] @ q), kind="stable")[:K]]} for q in queries]


def _recall(store: Store, queries: np.ndarray, truth: list[set[str]], **kwargs: Any) -> float:
    found = [{h.id for h in store.search(vector=q, k=K, **kwargs)} for q in queries]
    return sum(len(f & t) for f, t in zip(found, truth, strict=True)) / sum(len(t) for t in truth)


def test_recall_within_a_margin_of_the_exact_binary_search(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    store, vectors, queries = _fill(db, index=GRAPH)
    truth = _truth(vectors, queries)
    with Store(db) as exact:
        exact_recall = _recall(exact, queries, truth)
    assert store.index_is_current() and store._graph is not None and store._graph._dtype == "i8"
    graph_recall = _recall(store, queries, truth)
    assert graph_recall >= exact_recall - MARGIN
    # the margin means something: the old graph's answer (the 200 nearest by Hamming distance, rescored) misses it
    columns = pack_columns(quantize_binary(vectors))
    old = []
    for q in queries:
        chosen = smallest(hamming(columns, query_words(quantize_binary(q[None])[0])), K * 20)
        old.append({str(r) for r in chosen[np.argsort(-(vectors[chosen] @ q), kind="stable")[:K]]})
    old_recall = sum(len(f & t) for f, t in zip(old, truth, strict=True)) / (K * len(queries))
    assert old_recall < exact_recall - MARGIN
    store.close()


def test_the_graph_holds_int8_codes_scaled_per_vector(tmp_path: Path) -> None:
    store, vectors, _ = _fill(tmp_path / "s.ogma", index=GRAPH)
    graph = store._graph
    assert graph is not None and graph._index is not None
    held = np.stack(graph._index.get(np.array([1, 2, 3], dtype=np.uint64)))  # rowids 1..3: documents 0..2
    assert np.array_equal(held, scaled_int8(vectors[:3]))
    assert np.all(np.abs(held).max(axis=1) == 127)
    store.close()


def test_a_graph_search_returns_arrays(tmp_path: Path) -> None:
    store, _, queries = _fill(tmp_path / "s.ogma", index=GRAPH)
    graph = store._graph
    assert graph is not None
    hits = graph.search(queries[0], K)
    assert isinstance(hits, GraphHits) and len(hits) == K
    assert hits.keys.dtype == np.int64 and hits.scores.dtype == np.float64
    assert np.all(np.diff(hits.scores) <= 0)  # best first: cosines of the int8 codes
    assert len(graph.search(queries[0], 0) or GraphHits.empty()) == 0
    store.close()


def test_filters_through_the_graph_and_selective_ones_exactly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "s.ogma"
    store, vectors, queries = _fill(db, index=GRAPH)
    graph = store._graph
    assert graph is not None
    monkeypatch.setattr(hnsw, "BRUTE_FORCE_ROWS", 100)  # this small store's 10% filter goes to the graph
    answers: list[GraphHits | None] = []
    search = graph.search
    monkeypatch.setattr(graph, "search", lambda *a: answers.append(found := search(*a)) or found)
    broad = {"b": 3}  # 10% pass: the graph, oversampled
    rows = np.flatnonzero(np.arange(N) % 10 == 3)
    for q in queries[:10]:
        hits = store.search(vector=q, k=K, filter=broad)
        assert len(hits) == K and all(matches(broad, h.metadata) for h in hits)
    assert answers and all(found is not None for found in answers)
    assert _recall(store, queries[:10], _truth(vectors, queries[:10], rows), filter=broad) >= 0.95
    answers.clear()
    selective = {"rare": True}  # 12 rows pass: at most BRUTE_FORCE_ROWS, the exact search's answer
    with Store(db) as exact:
        for q in queries[:10]:
            walked = store.search(vector=q, k=K, filter=selective)
            assert [(h.id, h.score) for h in walked] == [
                (h.id, h.score) for h in exact.search(vector=q, k=K, filter=selective)
            ]
            assert all(matches(selective, h.metadata) for h in walked)
    assert answers and all(found is None for found in answers)  # the graph declined each
    store.close()


def test_an_explicit_oversample_sets_the_graph_depth(tmp_path: Path) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, index=GRAPH)
    store.close()
    for oversample, depth in ((None, K * binary_graph.BINARY_OVERSAMPLE), (7.0, K * 7)):
        with Store(db, index=HnswOptions(exact_below=0, expansion_search=200), oversample=oversample) as store:
            graph = store._graph
            assert graph is not None and store.index_is_current()
            asked: list[int] = []
            search = graph.search

            def spy(unit: np.ndarray, count: int, *rest: Any, search: Any = search, asked: Any = asked) -> Any:
                asked.append(count)
                return search(unit, count, *rest)

            graph.search = spy  # type: ignore[method-assign]
            assert len(store.search(vector=queries[0], k=K)) == K
            assert asked == [depth]
            assert graph._index.expansion_search == 200


@pytest.mark.parametrize("saved_dtype", ["b1", None])
def test_a_hamming_graph_saved_before_is_stale_until_rebuilt(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, saved_dtype: str | None
) -> None:
    """A graph of sign bits as saved before binary stores' graphs held int8 codes (record ``dtype: "b1"``, or
    no type at all, as written before half-precision graphs)."""
    import usearch.index

    db = tmp_path / "s.ogma"
    store, vectors, queries = _fill(db, index=GRAPH)
    store.close()
    index_path, record_path = index_files(str(db))
    old = usearch.index.Index(ndim=DIM, metric="hamming", dtype="b1")
    old.add(np.arange(1, N + 1, dtype=np.uint64), quantize_binary(vectors))
    old.save(str(index_path))
    record = json.loads(record_path.read_text(encoding="utf-8"))
    record.update(dtype=saved_dtype, metric="hamming", stamp=hnsw._stamp(index_path))
    if saved_dtype is None:
        del record["dtype"]
    record_path.write_text(json.dumps(record), encoding="utf-8")
    caplog.set_level(logging.WARNING, logger="ogma.store.sqlite.binary_graph")
    with Store(db, index=GRAPH) as reopened, Store(db) as exact:
        assert not reopened.index_is_current()
        assert "Hamming graph of sign bits" in caplog.text and "build_index" in caplog.text
        info = reopened.index_info()
        assert info is not None and not info.fresh and "Hamming" in info.reason
        assert info.settings is not None and info.settings["dtype"] == "b1"
        for q in queries[:3]:  # exact meanwhile
            assert [h.id for h in reopened.search(vector=q, k=K)] == [h.id for h in exact.search(vector=q, k=K)]
        info = reopened.build_index()
        assert info is not None and info.fresh and info.settings is not None
        assert (info.settings["dtype"], info.settings["metric"]) == ("i8", "cos")
        assert reopened.index_is_current()


def test_the_graph_checks_its_expansion_and_an_unfit_graph_searches_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "s.ogma"
    store, _, queries = _fill(db, index=GRAPH)
    store.close()
    with Store(db, index=GRAPH) as fit:
        graph = fit._graph
        assert graph is not None and fit.index_is_current()
        assert (
            graph.expansion() == hnsw.BASE_EXPANSION
        )  # clustered: the default expansion finds what the reference finds
        assert graph._checked == (N, hnsw.BASE_EXPANSION)
        assert graph.search(queries[0], K) is not None
    monkeypatch.setattr(binary_graph, "CHECK_RECALL", 1.01)  # no expansion can: the graph counts as unfit
    caplog.set_level(logging.WARNING, logger="ogma.store.sqlite.binary_graph")
    with Store(db, index=GRAPH) as unfit, Store(db) as exact:
        graph = unfit._graph
        assert graph is not None and unfit.index_is_current()
        assert graph.expansion() is None and "searching exactly" in caplog.text
        assert graph.search(queries[0], K) is None
        for q in queries[:3]:
            assert [h.id for h in unfit.search(vector=q, k=K)] == [h.id for h in exact.search(vector=q, k=K)]
    with Store(db, index=HnswOptions(exact_below=0, expansion_search=64)) as chosen:  # an explicit expansion: no check
        assert chosen._graph is not None and chosen._graph.expansion() == 64


def test_a_binary_store_above_five_thousand_vectors_searches_its_graph_by_default(tmp_path: Path) -> None:
    store, _, queries = _fill(tmp_path / "s.ogma", index="hnsw")  # N = 6,000: above EXACT_BELOW["binary"]
    graph = store._graph
    assert graph is not None and graph.exact_below == hnsw.EXACT_BELOW["binary"] == 5_000 < N
    answers: list[GraphHits | None] = []
    search = graph.search
    graph.search = lambda *a: answers.append(found := search(*a)) or found  # type: ignore[method-assign]
    assert len(store.search(vector=queries[0], k=K)) == K
    assert len(answers) == 1 and answers[0] is not None and len(answers[0]) == K * binary_graph.BINARY_OVERSAMPLE
    store.close()
