"""Hostile input to ``ogma.Store``: every case raises the documented error and loses nothing.

Each case in the tables below is called on a store holding known documents; the test checks
the exception type and message, then that the store's documents (ids, texts, metadata and
vectors, bit for bit) are exactly what they were before.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.errors import FilterError, StoreError, StoreMismatchError
from ogma.store import Store
from ogma.store import validate as validate_module
from ogma.store.sqlite import connect as connect_module
from ogma.store.sqlite.connect import read_only_uri

STDLIB_OK = connect_module._stdlib_usable()[0]

DIM = 4
IDS = ["a", "b", "ab", "é", "last"]
TEXTS = ["alpha apple", "beta banana", "alpha beta", "café crème", "the last one"]
METAS: list[dict[str, Any]] = [
    {"n": 1, "tags": ["x"]},
    {"n": 2, "nested": {"k": [1, 2.5, None, True]}},
    {},
    {"ü": "ß", "big": 2**70},
    {"n": 5, "s": "line\nbreak"},
]
VECTORS = np.random.default_rng(7).standard_normal((len(IDS), DIM)).astype(np.float32)
ONE = np.ones((1, DIM), dtype=np.float32)
QUERY = np.ones(DIM, dtype=np.float32)

Snapshot = tuple[int, list[tuple[str, str, str, bytes]]]


def _fill(store: Store) -> None:
    store.add(TEXTS, METAS, IDS, embeddings=VECTORS)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "hostile.db", dim=DIM) as s:
        _fill(s)
        yield s


def snapshot(store: Store) -> Snapshot:
    docs = [
        (d.id, d.text, json.dumps(d.metadata, sort_keys=True), np.asarray(d.embedding).tobytes())
        for d in store.iter_documents(include_embeddings=True)
    ]
    return store.count(), sorted(docs)


def _deep(levels: int) -> dict[str, Any]:
    meta: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        meta = {"a": meta}
    return meta


def _circular() -> dict[str, Any]:
    meta: dict[str, Any] = {}
    meta["self"] = meta
    return meta


Call = Callable[[Store], Any]

# (call, exception type, message regex)
CASES: list[Any] = [
    # a bare string where a list of ids or texts is expected
    pytest.param(
        lambda s: s.get("ab"),
        TypeError,
        r"ids must be a list of strings, got str \(a single value\); wrap it in a list",
        id="get-bare-str",
    ),
    pytest.param(lambda s: s.get(b"ab"), TypeError, r"ids must be a list of strings", id="get-bare-bytes"),
    pytest.param(lambda s: s.delete("ab"), TypeError, r"ids must be a list of strings", id="delete-bare-str"),
    pytest.param(
        lambda s: s.add("xyz", embeddings=np.ones((3, DIM))), TypeError, r"texts must be a list", id="add-bare-str"
    ),
    pytest.param(
        lambda s: s.add(["x"], ids="x", embeddings=ONE), TypeError, r"ids must be a list", id="add-ids-bare-str"
    ),
    pytest.param(lambda s: s.get({"a": 1}), TypeError, r"ids must be a list of strings, got dict", id="get-dict"),
    pytest.param(lambda s: s.get(5), TypeError, r"got int", id="get-int"),
    pytest.param(lambda s: s.delete({"a": 1}), TypeError, r"got dict", id="delete-dict"),
    # None, bytes and other non-strings inside lists
    pytest.param(lambda s: s.get(["a", None]), TypeError, r"ids\[1\] must be a str, got NoneType", id="get-none"),
    pytest.param(lambda s: s.delete(["a", None]), TypeError, r"ids\[1\] must be a str", id="delete-none"),
    pytest.param(lambda s: s.delete(["a", 1]), TypeError, r"ids\[1\] must be a str, got int", id="delete-int"),
    pytest.param(lambda s: s.get([b"\xff"]), TypeError, r"ids\[0\] must be a str, got bytes \(decode", id="get-bytes"),
    pytest.param(
        lambda s: s.add([b"\xff\xfe"], embeddings=ONE), TypeError, r"texts\[0\] .* got bytes", id="add-bytes-text"
    ),
    pytest.param(lambda s: s.add(["x"], ids=[b"\xff"], embeddings=ONE), TypeError, r"ids\[0\]", id="add-bytes-id"),
    pytest.param(
        lambda s: s.add(["x", 3.5], embeddings=np.ones((2, DIM))), TypeError, r"texts\[1\]", id="add-float-text"
    ),
    pytest.param(
        lambda s: s.add(["x", "y"], ids=["q", None], embeddings=np.ones((2, DIM))),
        TypeError,
        r"ids\[1\]",
        id="add-none-id",
    ),
    # ids: empty, duplicated, lone surrogates
    pytest.param(lambda s: s.add(["x"], ids=[""], embeddings=ONE), ValueError, r"ids\[0\] is empty", id="add-empty-id"),
    pytest.param(
        lambda s: s.add(["x", "y"], ids=["a", "a"], embeddings=np.ones((2, DIM))),
        ValueError,
        r"id 'a' appears twice",
        id="add-duplicate-ids-replacing-existing",
    ),
    pytest.param(
        lambda s: s.add(["x"], ids=["\ud800"], embeddings=ONE),
        ValueError,
        r"ids\[0\] is not valid Unicode",
        id="add-surrogate-id",
    ),
    pytest.param(lambda s: s.get(["a", "\udcff"]), ValueError, r"ids\[1\] is not valid Unicode", id="get-surrogate-id"),
    pytest.param(
        lambda s: s.delete(["\ud800"]), ValueError, r"ids\[0\] is not valid Unicode", id="delete-surrogate-id"
    ),
    # texts: lone surrogates anywhere, checked before any batch is written
    pytest.param(
        lambda s: s.add(["ok", "bad \ud800"], embeddings=np.ones((2, DIM))),
        ValueError,
        r"texts\[1\] is not valid Unicode",
        id="add-surrogate-text",
    ),
    pytest.param(
        lambda s: s.add([f"t{i}" for i in range(9)] + ["\udcff"], embeddings=np.ones((10, DIM)), batch_size=2),
        ValueError,
        r"texts\[9\] is not valid Unicode",
        id="add-surrogate-text-in-last-batch",
    ),
    # metadata
    pytest.param(
        lambda s: s.add(["x"], [{"k": "\ud800"}], embeddings=ONE),
        ValueError,
        r"metadatas\[0\] is not valid Unicode: .* \(in metadatas\[0\]\['k'\]\)",
        id="meta-surrogate-value",
    ),
    pytest.param(
        lambda s: s.add(["x"], [{"\ud800": 1}], embeddings=ONE),
        ValueError,
        r"metadatas\[0\] is not valid Unicode: .* \(in a key of metadatas\[0\]\)",
        id="meta-surrogate-key",
    ),
    pytest.param(
        lambda s: s.add(["x", "y"], [{}, {"x": float("nan")}], embeddings=np.ones((2, DIM))),
        TypeError,
        r"metadatas\[1\] is not JSON-serialisable: metadatas\[1\]\['x'\] is nan; JSON cannot store NaN",
        id="meta-nan",
    ),
    pytest.param(
        lambda s: s.add(["x"], [{"x": {"y": [float("-inf")]}}], embeddings=ONE),
        TypeError,
        r"metadatas\[0\]\['x'\]\['y'\]\[0\] is -inf",
        id="meta-nested-inf",
    ),
    pytest.param(lambda s: s.add(["x"], [{1: "x"}], embeddings=ONE), TypeError, r"non-string key 1", id="meta-int-key"),
    pytest.param(
        lambda s: s.add(["x"], [{"a": {None: 1}}], embeddings=ONE),
        TypeError,
        r"metadatas\[0\]\['a'\] has a non-string key None",
        id="meta-nested-none-key",
    ),
    pytest.param(
        lambda s: s.add(["x"], [_deep(64)], embeddings=ONE),
        ValueError,
        r"nests more than 64 levels",
        id="meta-65-levels",
    ),
    pytest.param(
        lambda s: s.add(["x"], [_deep(5_000)], embeddings=ONE), ValueError, r"nests more than 64", id="meta-deep-5000"
    ),
    pytest.param(
        lambda s: s.add(["x"], [_circular()], embeddings=ONE), ValueError, r"contains itself", id="meta-circular"
    ),
    pytest.param(
        lambda s: s.add(["x"], [{"v": object()}], embeddings=ONE), TypeError, r"not JSON-serialisable", id="meta-object"
    ),
    pytest.param(
        lambda s: s.add(["x"], [{"v": np.float32(1)}], embeddings=ONE), TypeError, r"float32", id="meta-numpy-scalar"
    ),
    pytest.param(
        lambda s: s.add(["x"], ["meta"], embeddings=ONE), TypeError, r"metadatas\[0\] must be a dict", id="meta-str"
    ),
    pytest.param(
        lambda s: s.add(["x"], {"k": 1}, embeddings=ONE), TypeError, r"metadatas must be a list", id="meta-dict"
    ),
    pytest.param(
        lambda s: s.add(["x"], [{}, {}], embeddings=ONE), ValueError, r"2 metadatas for 1 texts", id="meta-count"
    ),
    # vectors
    pytest.param(
        lambda s: s.add(["x"], embeddings=np.ones((1, 3))), StoreMismatchError, r"dimension 3", id="wrong-dim"
    ),
    pytest.param(
        lambda s: s.add(["x"], embeddings=np.ones((2, DIM))), ValueError, r"got 2 embeddings for 1", id="row-count"
    ),
    pytest.param(lambda s: s.add(["x"], embeddings=np.ones((1, 1, DIM))), ValueError, r"2-D", id="three-dims"),
    pytest.param(
        lambda s: s.add(["x"], embeddings=[[np.nan] * DIM]),
        ValueError,
        r"embeddings\[0\] contains NaN",
        id="nan-vector",
    ),
    pytest.param(lambda s: s.add(["x"], embeddings=[["a"] * DIM]), TypeError, r"real numbers", id="text-vector"),
    pytest.param(
        lambda s: s.add(["x"], embeddings=np.ones((1, DIM), dtype=complex)), TypeError, r"complex", id="complex-vector"
    ),
    pytest.param(
        lambda s: s.add(["x", "y"], embeddings=[[1.0] * DIM, [1.0]]), ValueError, r"rectangular", id="ragged-vectors"
    ),
    pytest.param(lambda s: s.search(vector=np.ones(3)), StoreMismatchError, r"query vector", id="query-wrong-dim"),
    pytest.param(lambda s: s.search(vector=np.zeros(DIM)), ValueError, r"all zeros", id="query-zero-vector"),
    pytest.param(lambda s: s.search(vector="abcd"), TypeError, r"array of numbers", id="query-vector-str"),
    pytest.param(lambda s: s.add(["x"]), StoreError, r"no encoder", id="no-encoder-no-embeddings"),
    # counts: k, batch sizes, candidates, fetch_k, rerank_k
    pytest.param(
        lambda s: list(s.iter_documents(batch_size=0)), ValueError, r"batch_size must be >= 1", id="iter-batch-0"
    ),
    pytest.param(
        lambda s: s.iter_documents(batch_size=-1), ValueError, r"batch_size must be >= 1", id="iter-batch-neg"
    ),
    pytest.param(
        lambda s: s.iter_documents(batch_size=True), TypeError, r"batch_size must be an integer", id="iter-batch-bool"
    ),
    pytest.param(lambda s: s.iter_documents(batch_size=2.0), TypeError, r"got float", id="iter-batch-float"),
    pytest.param(lambda s: s.add(["x"], embeddings=ONE, batch_size=0), ValueError, r"batch_size", id="add-batch-0"),
    pytest.param(lambda s: s.add(["x"], embeddings=ONE, batch_size=-3), ValueError, r"batch_size", id="add-batch-neg"),
    pytest.param(lambda s: s.add(["x"], embeddings=ONE, batch_size="8"), TypeError, r"batch_size", id="add-batch-str"),
    pytest.param(lambda s: s.search(vector=QUERY, k=-1), ValueError, r"k must be >= 0", id="k-negative"),
    pytest.param(
        lambda s: s.search("a", mode="lexical", k=-(2**70)), ValueError, r"k must be >= 0", id="k-huge-negative"
    ),
    pytest.param(lambda s: s.search(vector=QUERY, k=True), TypeError, r"k must be an integer, got bool", id="k-bool"),
    pytest.param(lambda s: s.search(vector=QUERY, k=2.0), TypeError, r"k must be an integer, got float", id="k-float"),
    pytest.param(lambda s: s.search(vector=QUERY, k="3"), TypeError, r"k must be an integer", id="k-str"),
    pytest.param(lambda s: s.search(vector=QUERY, k=None), TypeError, r"k must be an integer", id="k-none"),
    pytest.param(
        lambda s: s.search("a", vector=QUERY, mode="hybrid", candidates=-1),
        ValueError,
        r"candidates",
        id="candidates-neg",
    ),
    pytest.param(
        lambda s: s.search("a", vector=QUERY, mode="hybrid", candidates=0),
        ValueError,
        r"candidates must be >= 1",
        id="candidates-zero",
    ),
    pytest.param(
        lambda s: s.max_marginal_relevance_search(vector=QUERY, fetch_k=-1), ValueError, r"fetch_k", id="fetch-k-neg"
    ),
    pytest.param(
        lambda s: s.max_marginal_relevance_search(vector=QUERY, lambda_mult=float("nan")),
        ValueError,
        r"lambda_mult",
        id="lambda-mult-nan",
    ),
    pytest.param(
        lambda s: s.search("a", rerank=object(), rerank_alpha=float("nan")), ValueError, r"rerank_alpha", id="alpha-nan"
    ),
    pytest.param(lambda s: s.search("a", rerank=object(), rerank_k=-1), ValueError, r"rerank_k", id="rerank-k-neg"),
    # queries and modes
    pytest.param(
        lambda s: s.search("\ud800", mode="lexical"), ValueError, r"query is not valid Unicode", id="query-surrogate"
    ),
    pytest.param(lambda s: s.search(b"alpha", mode="lexical"), TypeError, r"query must be a str", id="query-bytes"),
    pytest.param(
        lambda s: s.max_marginal_relevance_search("\udcff"),
        ValueError,
        r"query is not valid Unicode",
        id="mmr-surrogate",
    ),
    pytest.param(lambda s: s.search("a", mode="semantic"), ValueError, r"mode must be one of", id="mode-unknown"),
    pytest.param(lambda s: s.search(mode="lexical"), ValueError, r"needs a query string", id="lexical-no-query"),
    # filters through the store: deletes must never widen
    pytest.param(lambda s: s.delete(filter={}), ValueError, r"non-empty dict", id="delete-empty-filter"),
    pytest.param(lambda s: s.delete(filter="n"), ValueError, r"non-empty dict", id="delete-str-filter"),
    pytest.param(lambda s: s.delete(), ValueError, r"give ids=, filter=", id="delete-nothing"),
    pytest.param(
        lambda s: s.delete(filter={"n": "\ud800"}), FilterError, r"not valid Unicode", id="delete-surrogate-filter"
    ),
    pytest.param(
        lambda s: s.delete(["a"], filter={"n": {"$bad": 1}}), FilterError, r"Unknown operator", id="delete-bad-op"
    ),
    pytest.param(
        lambda s: s.search(vector=QUERY, filter={"\udcff": 1}),
        FilterError,
        r"not valid Unicode",
        id="search-surrogate-key",
    ),
]


@pytest.mark.parametrize(("call", "error", "message"), CASES)
def test_hostile_input_raises_and_loses_nothing(store: Store, call: Call, error: type[Exception], message: str) -> None:
    before = snapshot(store)
    with pytest.raises(error, match=message):
        result = call(store)
        if isinstance(result, Iterator):
            list(result)
    assert snapshot(store) == before
    assert store.count() == len(IDS)


def test_invalid_batch_is_all_or_nothing_even_with_small_batches(store: Store) -> None:
    """A bad entry anywhere in the call is found before the first batch is written."""
    before = snapshot(store)
    texts = [f"new {i}" for i in range(10)]
    metas: list[dict[str, Any] | None] = [None] * 10
    metas[9] = {"x": float("nan")}
    with pytest.raises(TypeError, match=r"metadatas\[9\]"):
        store.add(texts, metas, embeddings=np.ones((10, DIM)), batch_size=1)
    assert snapshot(store) == before


def test_oversized_values_are_refused_before_writing(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """A text or metadata larger than SQLite stores in one value (1 GB) is refused up front (limit lowered here)."""
    monkeypatch.setattr(validate_module, "MAX_VALUE_BYTES", 1_000)
    before = snapshot(store)
    with pytest.raises(ValueError, match=r"texts\[1\] is larger than 1,000 bytes"):
        store.add(["ok", "é" * 600], embeddings=np.ones((2, DIM)))
    with pytest.raises(ValueError, match=r"metadatas\[0\] is larger than 1,000 bytes"):
        store.add(["ok"], [{"blob": "x" * 2_000}], embeddings=ONE)
    with pytest.raises(ValueError, match=r"metadatas\[0\] is larger than 1,000 bytes"):
        store.add(["ok"], [{"nested": {"blob": "x" * 2_000}}], embeddings=ONE)
    assert snapshot(store) == before


# ------------------------------------------------------------------ paths


PATHS: list[Any] = [
    pytest.param("", ValueError, r"path is empty: SQLite would open a private temporary database", id="empty-str"),
    pytest.param(None, TypeError, r"path must be a file path .* got NoneType None", id="none"),
    pytest.param(b"store.db", TypeError, r"got bytes", id="bytes"),
    pytest.param(3, TypeError, r"got int", id="int"),
    pytest.param(".", ValueError, r"is a directory", id="directory"),
    pytest.param(Path(""), ValueError, r"is a directory", id="empty-pathlib"),
    pytest.param("bad\udcff.db", ValueError, r"path is not valid Unicode", id="surrogate"),
    pytest.param("a\x00b.db", ValueError, r"NUL", id="nul"),
]


@pytest.mark.parametrize(("path", "error", "message"), PATHS)
def test_bad_store_paths_are_refused_and_create_no_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: Any, error: type[Exception], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=message):
        Store(path, dim=DIM)
    assert list(tmp_path.iterdir()) == []


OPTIONS: list[Any] = [
    pytest.param({"dim": 0}, ValueError, r"dim must be a positive integer", id="dim-0"),
    pytest.param({"dim": True}, ValueError, r"dim must be a positive integer", id="dim-bool"),
    pytest.param({"dim": 2.0}, ValueError, r"dim must be a positive integer", id="dim-float"),
    pytest.param({"precision": "float16"}, ValueError, r"precision must be one of", id="precision"),
    pytest.param({"backend": "faiss"}, ValueError, r"backend must be one of", id="backend"),
    pytest.param({"driver": "postgres"}, ValueError, r"driver must be one of", id="driver"),
    pytest.param({"oversample": 0.5}, ValueError, r"oversample must be a finite number >= 1", id="oversample-low"),
    pytest.param({"oversample": float("inf")}, ValueError, r"oversample", id="oversample-inf"),
    pytest.param({"oversample": float("nan")}, ValueError, r"oversample", id="oversample-nan"),
    pytest.param({"busy_timeout": -1}, ValueError, r"busy_timeout", id="busy-timeout-negative"),
    pytest.param({"busy_timeout": float("nan")}, ValueError, r"busy_timeout", id="busy-timeout-nan"),
    pytest.param({"busy_timeout": True}, ValueError, r"busy_timeout", id="busy-timeout-bool"),
    pytest.param({"int8_ranges": "wide"}, ValueError, r"int8_ranges", id="int8-ranges"),
]


@pytest.mark.parametrize(("options", "error", "message"), OPTIONS)
def test_bad_store_options_are_refused_and_create_no_files(
    tmp_path: Path, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        Store(tmp_path / "s.db", **options)
    assert list(tmp_path.iterdir()) == []


def test_memory_is_the_in_memory_store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with Store(":memory:", dim=DIM) as s:
        _fill(s)
        assert s.count() == len(IDS)
    assert list(tmp_path.iterdir()) == []


def test_not_a_database_and_settings_mismatch(tmp_path: Path) -> None:
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    with pytest.raises(StoreError, match="is not an SQLite database"):
        Store(text_file)
    assert text_file.read_text() == "hello"
    path = tmp_path / "s.db"
    with Store(path, dim=DIM) as s:
        _fill(s)
        before = snapshot(s)
    for kwargs, message in (({"dim": 8}, "dimension 4"), ({"precision": "binary"}, "precision 'float32'")):
        with pytest.raises(StoreMismatchError, match=message):
            Store(path, **kwargs)

    class OtherModel:
        model_id = "another/model"
        dim = DIM

        def embed_documents(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), DIM))

        def embed_query(self, text: str) -> np.ndarray:
            return np.ones(DIM)

    with Store(path, dim=DIM) as s:  # no encoder: reads the record; an encoder for another model is refused
        assert snapshot(s) == before
    with Store(path, OtherModel()) as s:  # a store built without a model id accepts any model of its dimension
        assert snapshot(s) == before


# ------------------------------------------------------------------ valid but unusual input: defined behaviour


def test_unusual_valid_values_round_trip_exactly(store: Store) -> None:
    texts = ["", "tab \t inside", "😀 emoji", "x" * 100_000]
    ids = ["nul\x00id", " ", "😀", "../../etc/passwd"]
    metas: list[dict[str, Any]] = [
        {"": "empty key", "k\x00": "v\x00"},
        {"big": 2**70, "neg": -(2**63), "tiny": 5e-324, "max": 1.7976931348623157e308, "negzero": -0.0},
        {"list": [[[]]], "obj": {"a": {}}, "deep": _deep(62)},  # 64 levels of dicts: the maximum
        {"tuple": (1, "two")},
    ]
    store.add(texts, metas, ids, embeddings=np.ones((4, DIM)))
    got = {d.id: d for d in store.get(ids)}
    assert [got[i].text for i in ids] == texts
    assert [got[i].metadata for i in ids] == json.loads(json.dumps(metas))  # tuples come back as lists (JSON)
    assert [h.id for h in store.search("inside", mode="lexical")] == [" "]


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
@pytest.mark.parametrize("k", [2**63 - 1, 2**63, 2**100, np.int64(2**62)])
def test_huge_k_is_clamped_the_same_way_in_every_mode(store: Store, mode: str, k: int) -> None:
    hits = store.search("alpha beta apple", vector=QUERY, mode=mode, k=k)  # type: ignore[arg-type]
    expected = len(IDS) if mode != "lexical" else 3  # lexical: only the documents with a query word
    assert len(hits) == expected
    if mode == "hybrid":
        assert len(store.search("alpha", vector=QUERY, mode=mode, k=k, candidates=k)) == len(IDS)


def test_ids_from_any_iterable_but_a_string(store: Store) -> None:
    assert [d.id for d in store.get(("ab", "a"))] == ["ab", "a"]
    assert [d.id for d in store.get(np.array(["a", "zz"]))] == ["a"]
    assert [d.id for d in store.get(i for i in ["b"])] == ["b"]
    assert {d.id for d in store.get({"a", "b"})} == {"a", "b"}
    assert store.delete({"a": 1}.keys()) == 1
    assert store.delete({"b", "missing"}) == 1
    assert store.count() == len(IDS) - 2


def test_huge_counts_elsewhere(store: Store) -> None:
    assert len(store.max_marginal_relevance_search(vector=QUERY, k=2**70, fetch_k=2**80)) == len(IDS)
    assert len(list(store.iter_documents(batch_size=2**70))) == len(IDS)
    assert store.add(["x"], embeddings=ONE, batch_size=2**70)
    assert store.search(vector=QUERY, k=0) == []  # k=0 stays "nothing", as documented


# ------------------------------------------------------------------ read-only stores


def test_read_only_uri_uses_immutable_only_when_the_directory_is_not_writable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "s.db"
    assert read_only_uri(str(path)).endswith("?mode=ro")
    monkeypatch.setattr(connect_module, "_writable_dir", lambda directory: False)
    assert read_only_uri(str(path)).endswith("?mode=ro&immutable=1")
    (tmp_path / "s.db-wal").write_bytes(b"")
    assert read_only_uri(str(path)).endswith("?mode=ro&immutable=1")  # an empty WAL holds nothing
    (tmp_path / "s.db-wal").write_bytes(b"x" * 32)
    with pytest.raises(StoreError, match=r"'s.db-wal' still holds changes that are not in the database file"):
        read_only_uri(str(path))


def test_read_only_open_never_writes(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    with Store(path, dim=DIM) as s:
        _fill(s)
    stat = path.stat()
    with Store(path, read_only=True) as s:
        assert s.count() == len(IDS)
        assert s.search("alpha", mode="lexical")
        with pytest.raises(StoreError, match="read_only=True"):
            s.add(["x"], embeddings=ONE)
        with pytest.raises(StoreError, match="read_only=True"):
            s.delete(["a"])
    assert path.stat().st_mtime_ns == stat.st_mtime_ns
    assert path.stat().st_size == stat.st_size


_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from ogma.store import Store
    out = {}
    try:
        with Store(sys.argv[1], read_only=True, driver=sys.argv[2]) as s:
            out["count"] = s.count()
            out["lexical"] = [h.id for h in s.search("alpha", mode="lexical", k=10)]
            out["dense"] = len(s.search(vector=np.ones(4, dtype=np.float32), k=10))
    except Exception as exc:
        out["read_error"] = [type(exc).__name__, str(exc)]
    try:
        Store(sys.argv[1], driver=sys.argv[2])
    except Exception as exc:
        out["write_error"] = [type(exc).__name__, str(exc)]
    try:
        Store(sys.argv[1] + ".new", dim=4, driver=sys.argv[2])
    except Exception as exc:
        out["create_error"] = [type(exc).__name__, str(exc)]
    print(json.dumps(out))
    """
)


DRIVERS = ["apsw", pytest.param("sqlite3", marks=pytest.mark.skipif(not STDLIB_OK, reason="stdlib sqlite3 unusable"))]


def _open_in_read_only_directory(directory: Path, path: Path, driver: str) -> dict[str, Any]:
    """Open ``path`` from a process that cannot write ``directory``.

    Not root: chmod the directory and run here. Root ignores permissions, so then the check
    runs in a child process as the unprivileged user 65534 ("nobody").
    """
    directory.chmod(0o555)
    try:
        if os.geteuid() != 0:
            result = subprocess.run(
                [sys.executable, "-c", _CHILD, str(path), driver],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
        else:
            try:
                result = subprocess.run(
                    [sys.executable, "-c", _CHILD, str(path), driver],
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                    user=65534,
                    group=65534,
                    env={**os.environ, "HOME": str(directory)},
                )
            except (PermissionError, OSError) as exc:
                pytest.skip(f"cannot run a process as an unprivileged user here: {exc}")
        if result.returncode != 0 and "ModuleNotFoundError" in result.stderr:
            pytest.skip("the unprivileged user cannot import ogma from this environment")
        assert result.returncode == 0, result.stderr
        loaded: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return loaded
    finally:
        directory.chmod(0o755)


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory outside pytest's private temp root, so another user can reach it."""
    directory = Path(tempfile.mkdtemp(prefix="ogma-ro-"))
    directory.chmod(0o755)
    try:
        yield directory
    finally:
        directory.chmod(0o755)
        shutil.rmtree(directory, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.parametrize("driver", DRIVERS)
def test_store_in_a_read_only_directory_can_be_read(shared_dir: Path, driver: str) -> None:
    path = shared_dir / "s.db"
    with Store(path, dim=DIM) as s:
        _fill(s)
    path.chmod(0o644)
    before = path.read_bytes()
    out = _open_in_read_only_directory(shared_dir, path, driver)
    assert "read_error" not in out, out
    assert out["count"] == len(IDS)
    assert sorted(out["lexical"]) == ["a", "ab"]
    assert out["dense"] == len(IDS)
    assert out["write_error"][0] == "StoreError" and "read_only=True" in out["write_error"][1]
    assert out["create_error"][0] == "StoreError" and "not writable" in out["create_error"][1]
    assert path.read_bytes() == before
    assert sorted(p.name for p in shared_dir.iterdir()) == ["s.db"]


@pytest.mark.slow
@pytest.mark.parametrize("driver", DRIVERS)
def test_store_with_pending_wal_in_a_read_only_directory_explains_why(shared_dir: Path, driver: str) -> None:
    path = shared_dir / "s.db"
    writer = Store(path, dim=DIM)
    try:
        _fill(writer)  # the writer stays open: its changes sit in s.db-wal, not yet in s.db
        for name in ("s.db", "s.db-wal", "s.db-shm"):
            (shared_dir / name).chmod(0o644)
        assert (shared_dir / "s.db-wal").stat().st_size > 0
        out = _open_in_read_only_directory(shared_dir, path, driver)
        assert out["read_error"][0] == "StoreError", out
        assert "still holds changes" in out["read_error"][1] and "-wal" in out["read_error"][1]
        assert writer.count() == len(IDS)
    finally:
        writer.close()
