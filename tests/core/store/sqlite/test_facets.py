"""The facets table: written with the documents on every write path, and migrated into older files."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.errors import DuplicateDocumentError
from ogma.store import Store
from ogma.store.filters import field_key, matches
from ogma.store.migrate import copy_store
from ogma.store.sqlite.connect import connect
from ogma.store.sqlite.facets import FACETS, FACETS_SINCE
from ogma.store.sqlite.schema import MIGRATIONS, SCHEMA_VERSION

Facet = tuple[int, str, int, Any]

METADATA: list[dict[str, Any]] = [
    {"year": 2020, "score": 0.5, "lang": "en", "draft": False, "tags": ["a", "b"]},
    {"year": 2021.0, "score": 1, "lang": "de", "draft": True, "author": {"name": "Ada"}},
    {"year": "2021", "lang": None, "ünï": "ok", 'q"uote': "x", "a.b": 1, "$weird": 2},
    {},
    {"obj": {}, "tags": [], "big": 2**63 - 1, "neg": -0.25, "empty": ""},
]
FILTERS: list[dict[str, Any]] = [
    {"year": 2021},
    {"year": {"$gte": 2020, "$lt": 2021}},
    {"lang": None},
    {"lang": {"$nin": ["en", None]}},
    {"draft": True},
    {"tags": {"$exists": True}},
    {"ünï": "ok", field_key("a.b"): 1},
    {"$or": [{"score": {"$gt": 0.6}}, {"$not": {"year": {"$exists": True}}}]},
    {"big": {"$gt": 2**62}},
    {"x": {"$in": [1, "y"]}},
]


def _kind_value(value: Any) -> tuple[int, Any]:
    if value is None:
        return 0, None
    if isinstance(value, bool):
        return 3, int(value)
    if isinstance(value, int | float):
        return 1, value
    if isinstance(value, str):
        return 2, value
    return (4 if isinstance(value, list) else 5), None


def _facets(path: Path) -> tuple[set[Facet], set[Facet]]:
    """The facets table as stored, and as the documents' metadata says it should be."""
    conn = connect(path)
    try:
        stored = set(conn.fetchall(f"SELECT doc, field, kind, value FROM {FACETS}"))
        expected = {
            (rowid, key, *_kind_value(value))
            for rowid, meta in conn.fetchall("SELECT rowid, metadata FROM ogma_documents")
            for key, value in json.loads(meta).items()
        }
    finally:
        conn.close()
    return stored, expected


def _check(store: Store, path: Path, *, search: bool = True) -> None:
    stored, expected = _facets(path)
    assert stored == expected
    documents = {d.id: d.metadata for d in store.iter_documents()}
    query = np.array([1.0, 0.5], dtype=np.float32)
    for filter_ in FILTERS:
        want = {doc_id for doc_id, meta in documents.items() if matches(filter_, meta)}
        assert store.count(filter=filter_) == len(want), filter_
        if search:
            assert {h.id for h in store.search(vector=query, k=100, filter=filter_)} == want, filter_


def _vectors(count: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, 2)).astype(np.float32)


def test_every_write_path_keeps_the_facets(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, dim=2) as store:
        store.search(vector=np.ones(2, np.float32), k=1)  # the in-process index follows the writes below
        ids = [f"d{i}" for i in range(len(METADATA))]
        store.add([f"text {i}" for i in ids], METADATA, ids=ids, embeddings=_vectors(len(ids), 0))
        _check(store, path)
        # upsert: two replaced (new metadata), one new
        store.add(
            ["x", "y", "z"], [{"year": 1999}, None, {"lang": "en"}], ids=["d0", "d3", "new"], embeddings=_vectors(3, 1)
        )
        _check(store, path)
        store.add(["s"], [{"year": 2021}], ids=["d1"], embeddings=_vectors(1, 2), on_conflict="skip")
        with pytest.raises(DuplicateDocumentError):
            store.add(["f"], [{"year": 2021}], ids=["d2"], embeddings=_vectors(1, 3), on_conflict="fail")
        _check(store, path)
        store.update(["d1", "new"], metadata={"x": 1, "lang": None})
        store.update(filter={"year": "2021"}, metadata={"x": "y"}, replace=True)
        _check(store, path)
        store.delete(["d0"])
        store.delete(filter={"x": "y"})
        _check(store, path)
        copy = Store(tmp_path / "copy.db", dim=2)
        with copy:
            copy_store(store, copy, show_progress=False)
            _check(copy, tmp_path / "copy.db")
        store.delete_all(confirm=True)
        assert _facets(path) == (set(), set())
        store.add(["again"], [{"year": 2020}], ids=["a"], embeddings=_vectors(1, 4))
        _check(store, path)
        store.reset(confirm=True)
        assert _facets(path) == (set(), set())


def test_documents_without_vectors_or_text_have_facets(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path) as store:
        store.add([None, "t"], [{"year": 2020}, {"year": 2021}], ids=["a", "b"], embeddings=[None, None])
        _check(store, path, search=False)  # no vectors: no dense search
        assert [d.id for d in store.iter_documents(filter={"year": {"$lt": 2021}})] == ["a"]
        assert [h.id for h in store.search("t", mode="lexical", filter={"year": {"$gt": 2020}})] == ["b"]


def _make_old(path: Path) -> None:
    """A store file as the previous schema wrote it: no facets table."""
    with Store(path, dim=2) as store:
        ids = [f"d{i}" for i in range(len(METADATA))]
        store.add([f"text {i}" for i in ids], METADATA, ids=ids, embeddings=_vectors(len(ids), 0))
    conn = connect(path)
    conn.execute(f"DROP TABLE {FACETS}")
    conn.execute("UPDATE ogma_config SET value = ? WHERE key = 'schema_version'", (str(FACETS_SINCE - 1),))
    conn.close()


def _has_facets(path: Path) -> bool:
    conn = connect(path)
    try:
        return conn.scalar("SELECT 1 FROM sqlite_master WHERE name = ?", (FACETS,)) is not None
    finally:
        conn.close()


def test_an_old_file_is_migrated_and_filled(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    _make_old(path)
    with Store(path, read_only=True) as old:  # read-only opens do not migrate: filters read the JSON
        assert old.config.schema_version == FACETS_SINCE - 1
        assert old.count(filter={"year": {"$gte": 2020, "$lt": 2021}}) == 1
        assert [h.id for h in old.search(vector=np.ones(2, np.float32), k=5, filter={"lang": "de"})] == ["d1"]
    assert not _has_facets(path)
    with Store(path) as store:
        assert store.config.schema_version == SCHEMA_VERSION == FACETS_SINCE
        _check(store, path)


def test_a_failed_migration_leaves_no_facets_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "old.db"
    _make_old(path)
    original = MIGRATIONS[FACETS_SINCE]

    def broken(conn: Any) -> None:
        original(conn)
        raise RuntimeError("disk on fire")

    monkeypatch.setitem(MIGRATIONS, FACETS_SINCE, broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        Store(path)
    assert not _has_facets(path)
    monkeypatch.setitem(MIGRATIONS, FACETS_SINCE, original)
    with Store(path) as store:
        _check(store, path)
