"""Differential check: OgmaDocumentStore and Haystack's InMemoryDocumentStore select the same documents.

The same 120 documents go into both stores; 400 random filters (seeded) built from every
comparison operator, the three logic operators and the ``meta.*``, ``id`` and ``content``
fields must select the same document ids in both, and count the same.

The generator avoids the two comparisons where the stores differ by design (listed in
``docs/haystack.md``): booleans against numbers (Haystack's Python ``True == 1``; Ogma keeps
JSON types apart), and ordering a field that also holds non-date strings or numbers of the
other kind (Haystack raises ``FilterError`` there; Ogma matches nothing). When Haystack
raises anyway, Ogma must raise too or the case is counted as skipped; at most a few may be.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from haystack.dataclasses import Document
from haystack.document_stores.in_memory import InMemoryDocumentStore
from haystack.errors import FilterError

from haystack_integrations.document_stores.ogma import OgmaDocumentStore

WORDS = ["alpha", "beta", "gamma", "delta", "Alpha", ""]
DATES = ["1969-07-21T20:17:40", "1972-12-11T19:54:58", "1989-11-09T17:53:00", "2001-01-01T00:00:00"]


def _documents(rng: random.Random) -> list[Document]:
    docs = []
    for i in range(120):
        meta: dict[str, Any] = {}
        if rng.random() < 0.8:
            meta["n"] = rng.choice([-10, -2, 0, 1, 2, 3, 100, None])
        if rng.random() < 0.7:
            meta["x"] = rng.choice([-1.5, 0.0, 0.25, 2.0, 3.5])
        if rng.random() < 0.8:
            meta["s"] = rng.choice([*WORDS, None])
        if rng.random() < 0.6:
            meta["b"] = rng.choice([True, False])
        if rng.random() < 0.7:
            meta["d"] = rng.choice(DATES)
        if rng.random() < 0.5:
            meta["nest"] = {"k": rng.choice(["p", "q"]), "v": rng.randint(0, 3)}
        if rng.random() < 0.3:
            meta["tags"] = rng.sample(WORDS[:4], k=2)
        if rng.random() < 0.5:
            meta["m"] = rng.choice([1, 2, "1", "two"])  # a field holding numbers and strings
        content = None if i % 11 == 0 else f"document {i} {rng.choice(WORDS)}"
        embedding = [rng.uniform(-1, 1) for _ in range(4)]
        docs.append(Document(id=f"doc-{i:03d}", content=content, meta=meta, embedding=embedding))
    return docs


FIELDS: dict[str, dict[str, list[Any]]] = {
    # field -> operator kind -> candidate values
    "meta.n": {"eq": [-2, 0, 1, 2, 100, 7, None, 2.0], "order": [-2, 0, 1, 2.5, 100]},
    "meta.x": {"eq": [0.0, 0.25, 2, 9.9, None], "order": [-1.5, 0, 0.25, 2, 3.5]},
    "meta.s": {"eq": [*WORDS, None, "zeta"]},
    "meta.b": {"eq": [True, False, None]},
    "meta.d": {"eq": [*DATES, None], "order": DATES},
    "meta.nest.k": {"eq": ["p", "q", None]},
    "meta.nest.v": {"eq": [0, 1, 3, None], "order": [0, 1, 2, 3]},
    "meta.m": {"eq": [1, 2, "1", "two", None]},
    "meta.missing": {"eq": [None, 1, "a"], "order": [1, 2]},
    "id": {"eq": ["doc-000", "doc-007", "doc-050", "nope"]},
    "content": {"eq": [None, "document 3 alpha", "nothing"]},
}


def _comparison(rng: random.Random) -> dict[str, Any]:
    field = rng.choice(list(FIELDS))
    pools = FIELDS[field]
    kind = rng.choice(list(pools))
    if kind == "order":
        operator = rng.choice([">", ">=", "<", "<="])
        value = rng.choice([*pools["order"], None])
        return {"field": field, "operator": operator, "value": value}
    operator = rng.choice(["==", "!=", "in", "not in"])
    if operator in ("in", "not in"):
        value = rng.sample(pools["eq"], k=rng.randint(0, min(3, len(pools["eq"]))))
        return {"field": field, "operator": operator, "value": value}
    return {"field": field, "operator": operator, "value": rng.choice(pools["eq"])}


def _filter(rng: random.Random, depth: int = 0) -> dict[str, Any]:
    if depth >= 3 or rng.random() < 0.45:
        return _comparison(rng)
    operator = rng.choice(["AND", "OR", "NOT"])
    conditions = [_filter(rng, depth + 1) for _ in range(rng.randint(1, 3))]
    return {"operator": operator, "conditions": conditions}


@pytest.fixture(scope="module")
def stores() -> Iterator[tuple[OgmaDocumentStore, InMemoryDocumentStore]]:
    docs = _documents(random.Random(1234))
    ogma_store = OgmaDocumentStore()
    reference = InMemoryDocumentStore()
    ogma_store.write_documents(docs)
    reference.write_documents(docs)
    yield ogma_store, reference
    ogma_store.close()


def test_random_filters_select_the_same_documents(stores: tuple[OgmaDocumentStore, InMemoryDocumentStore]) -> None:
    ogma_store, reference = stores
    rng = random.Random(20240301)
    compared = skipped = nonempty = 0
    for _ in range(400):
        haystack_filter = _filter(rng)
        try:
            expected = sorted(d.id for d in reference.filter_documents(haystack_filter))
        except FilterError:
            skipped += 1
            continue
        got = sorted(d.id for d in ogma_store.filter_documents(haystack_filter))
        assert got == expected, haystack_filter
        assert ogma_store.count_documents_by_filter(haystack_filter) == len(expected), haystack_filter
        compared += 1
        nonempty += 0 < len(expected) < 120
    assert skipped <= 20, f"{skipped} filters raised in Haystack; the generator should avoid those"
    assert compared >= 380
    assert nonempty >= 200  # the filters discriminate: most select some but not all documents


def test_each_operator_alone_on_each_field(stores: tuple[OgmaDocumentStore, InMemoryDocumentStore]) -> None:
    """Exhaustive over the generator's pools: every (field, operator, value) on its own."""
    ogma_store, reference = stores
    for field, pools in FIELDS.items():
        for value in pools["eq"]:
            for operator in ("==", "!="):
                f = {"field": field, "operator": operator, "value": value}
                expected = sorted(d.id for d in reference.filter_documents(f))
                assert sorted(d.id for d in ogma_store.filter_documents(f)) == expected, f
            for operator in ("in", "not in"):
                f = {"field": field, "operator": operator, "value": [value]}
                expected = sorted(d.id for d in reference.filter_documents(f))
                assert sorted(d.id for d in ogma_store.filter_documents(f)) == expected, f
        for value in [*pools.get("order", []), None]:
            if "order" not in pools:
                break
            for operator in (">", ">=", "<", "<="):
                f = {"field": field, "operator": operator, "value": value}
                expected = sorted(d.id for d in reference.filter_documents(f))
                assert sorted(d.id for d in ogma_store.filter_documents(f)) == expected, f


def test_metadata_facts_agree(stores: tuple[OgmaDocumentStore, InMemoryDocumentStore]) -> None:
    """Distinct values (counts and pages), min/max and field types over the same documents."""
    ogma_store, reference = stores
    rng = random.Random(99)
    fields = ["n", "x", "s", "b", "d", "nest", "tags", "m", "missing"]
    for _ in range(30):
        haystack_filter = _filter(rng)
        try:
            expected = reference.count_unique_metadata_by_filter(haystack_filter, fields)
        except FilterError:
            continue
        assert ogma_store.count_unique_metadata_by_filter(haystack_filter, fields) == expected, haystack_filter
        for field in fields:
            for term in (None, "a", "1"):
                args = {"metadata_field": field, "search_term": term, "from_": 1, "size": 3, "filters": haystack_filter}
                assert ogma_store.get_metadata_field_unique_values(**args) == (
                    reference.get_metadata_field_unique_values(**args)
                ), (field, term, haystack_filter)
    for field in ["n", "x", "s", "d", "missing", "meta.n"]:  # single-type fields ("m" mixes numbers and strings)
        assert ogma_store.get_metadata_field_min_max(field) == reference.get_metadata_field_min_max(field), field
    info = ogma_store.get_metadata_fields_info()
    expected_info = reference.get_metadata_fields_info()
    assert info.keys() == expected_info.keys()
    assert {k: v for k, v in info.items() if k != "m"} == {k: v for k, v in expected_info.items() if k != "m"}
    assert info["m"] == {"type": "keyword"}  # numbers and strings: Haystack reports the last type it saw
