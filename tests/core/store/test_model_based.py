"""Random add / upsert / delete sequences: the store (and its in-process index) matches a dict model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.store.conftest import BACKENDS, fresh_store

DIM = 8
IDS = [f"d{i}" for i in range(12)]

operation: st.SearchStrategy[tuple[str, list[str], int]] = st.one_of(
    st.tuples(st.just("add"), st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True), st.integers(0, 99)),
    st.tuples(st.just("delete"), st.lists(st.sampled_from(IDS), min_size=0, max_size=4), st.just(0)),
    st.tuples(st.just("search"), st.just([]), st.integers(0, 99)),
)


def _vectors(ids: list[str], seed: int) -> np.ndarray:
    # One generator per (seed, id): no two documents share a vector, so there are no ties.
    return np.stack(
        [np.random.default_rng([seed, IDS.index(i) if i in IDS else 99]).standard_normal(DIM) for i in ids]
    ).astype(np.float32)


PRECISIONS = {"sqlite": ["float32", "int8", "binary"], "milvus": ["float32", "binary"], "memory": ["float32", "binary"]}


@pytest.mark.parametrize("backend", BACKENDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), ops=st.lists(operation, min_size=1, max_size=25))
def test_store_matches_a_dict_model(
    backend: str, maybe_milvus_uri: str | None, data: st.DataObject, ops: list[tuple[str, list[str], int]]
) -> None:
    precision = data.draw(st.sampled_from(PRECISIONS[backend]), label="precision")
    model: dict[str, np.ndarray] = {}
    with fresh_store(backend, maybe_milvus_uri, dim=DIM, precision=precision, oversample=100) as store:
        for kind, ids, seed in ops:
            if kind == "add":
                vecs = _vectors(ids, seed)
                store.add([f"text {i} {seed}" for i in ids], ids=ids, embeddings=vecs)
                model.update(zip(ids, vecs))
            elif kind == "delete":
                assert store.delete(ids) == len(set(ids) & set(model))
                for i in ids:
                    model.pop(i, None)
            else:
                query = _vectors(["q"], seed)[0]
                hits = store.search(vector=query, k=3)
                unit = {i: v / np.linalg.norm(v) for i, v in model.items()}
                expected = sorted(unit, key=lambda i: -float(unit[i] @ (query / np.linalg.norm(query))))[:3]
                assert [h.id for h in hits] == expected
            assert store.count() == len(model)
        got = {d.id: d.embedding for d in store.iter_documents(include_embeddings=True)}
        assert set(got) == set(model)
        for i, vec in model.items():
            stored = got[i]
            assert stored is not None and np.array_equal(stored, vec)
