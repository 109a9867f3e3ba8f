"""Long documents in a store: every window is searchable, a document scores by its best window."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from ogma.compress import normalize
from ogma.encoder import TextEncoder
from ogma.store import Store
from ogma.store.sqlite import windows as windows_module
from ogma.store.sqlite.connect import connect
from ogma.store.sqlite.schema import SCHEMA_VERSION
from ogma.windows import STORE_FINE_WINDOWS, FineWindows, plan_windows
from tests.core.store.conftest import HashEmbedder, StoreFactory

WINDOW = 6  # words per window of the test embedder

FILLER = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda omicron sigma tau upsilon"


class WindowHashEmbedder(HashEmbedder):
    """The hashing embedder with a 6-word window: long texts come back window by window."""

    def __init__(self) -> None:
        super().__init__()
        self.window_calls = 0

    def encode_windows(self, texts: list[str]) -> tuple[npt.NDArray[np.float32], list[int]]:
        self.window_calls += 1
        plan = plan_windows(texts, None, max_tokens=WINDOW, overlap=1)
        return self.encode_documents(plan.texts), plan.owners


def best_window(embedder: WindowHashEmbedder, text: str, query: str) -> float:
    vectors, _ = embedder.encode_windows([text])
    return float(np.max(vectors @ embedder.encode_queries([query])[0]))


def windows_in(path: Path) -> int:
    """Rows of the extra-window table, read through the store's own SQLite driver.

    Not the stdlib ``sqlite3`` while a store is open: two SQLite libraries in one process do
    not share their POSIX locks on a file (https://sqlite.org/howtocorrupt.html, 2.2.1), and a
    read through the other one could see a snapshot from before the store's last commit.
    """
    conn = connect(path, read_only=True)
    try:
        return int(conn.scalar("SELECT count(*) FROM ogma_windows"))
    finally:
        conn.close()


LONG = FILLER + " zebra giraffe"  # the answer sits in the last window
CORPUS = {
    "long": LONG,
    "short1": "alpha beta gamma",
    "short2": "kappa lambda sigma",
    "short3": "zebra crossing in the city",
}


@pytest.fixture
def windowed() -> WindowHashEmbedder:
    return WindowHashEmbedder()


@pytest.mark.parametrize("precision", ["float32", "int8", "binary"])
@pytest.mark.parametrize("backend", ["memory", "sqlite-vec"])
def test_content_past_the_window_is_found(
    tmp_path: Path, windowed: WindowHashEmbedder, precision: str, backend: str
) -> None:
    with Store(tmp_path / "s.db", windowed, precision=precision, backend=backend) as store:  # type: ignore[arg-type]
        store.add(list(CORPUS.values()), ids=list(CORPUS))
        assert windowed.window_calls == 1
        assert store.count() == 4 and store.count_vectors() == 4  # documents, not windows
        hits = store.search("zebra giraffe", k=2)
        assert hits[0].id == "long"
        assert hits[0].scores["dense"] == pytest.approx(best_window(windowed, LONG, "zebra giraffe"), abs=1e-5)
        hybrid = store.search("zebra giraffe", k=2, mode="hybrid")
        assert hybrid[0].id == "long" and "dense" in hybrid[0].scores
    assert windows_in(tmp_path / "s.db") > 0


def test_first_window_alone_would_miss_it(windowed: WindowHashEmbedder) -> None:
    """The control: with one vector per document (the first window), the long document is not first."""
    with Store(":memory:", dim=windowed.dim) as store:
        first = [windowed.encode_windows([t])[0][0] for t in CORPUS.values()]
        store.add(list(CORPUS.values()), ids=list(CORPUS), embeddings=np.stack(first))
        assert store.search(vector=windowed.encode_queries(["zebra giraffe"])[0], k=1)[0].id != "long"


def test_ranking_is_exact_best_window(tmp_path: Path, windowed: WindowHashEmbedder) -> None:
    rng = np.random.default_rng(3)
    words = FILLER.split() + "zebra giraffe lion tiger bear wolf fox owl".split()
    texts = [" ".join(rng.choice(words, size=int(rng.integers(3, 30)))) for _ in range(60)]
    ids = [f"d{i}" for i in range(len(texts))]
    metas = [{"even": i % 2 == 0} for i in range(len(texts))]
    with Store(tmp_path / "s.db", windowed) as store:
        store.add(texts, metas, ids)
        for query in ("zebra lion", "owl fox bear", "alpha tau"):
            truth = sorted(((best_window(windowed, t, query), i) for i, t in zip(ids, texts)), key=lambda x: -x[0])
            got = store.search(query, k=10)
            assert [round(h.score, 5) for h in got] == [round(s, 5) for s, _ in truth[:10]]
            filtered = store.search(query, k=5, filter={"even": True})
            allowed = [(s, i) for s, i in truth if int(i[1:]) % 2 == 0][:5]
            assert [round(h.score, 5) for h in filtered] == [round(s, 5) for s, _ in allowed]
            assert all(h.metadata["even"] for h in filtered)


class _Miscounted:
    """A connection whose row count is off: rows written (or deleted) between the count and the read."""

    def __init__(self, conn: Any, count: int) -> None:
        self._conn, self._count = conn, count

    def scalar(self, sql: str, *args: Any) -> Any:
        return self._count if "count(*)" in sql else self._conn.scalar(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


@pytest.mark.parametrize("counted", [None, 1, 10_000])
def test_windows_load_in_bounded_batches(
    tmp_path: Path, windowed: WindowHashEmbedder, monkeypatch: pytest.MonkeyPatch, counted: int | None
) -> None:
    """The scorer reads its windows a few rows at a time into one array, whatever the count said."""
    monkeypatch.setattr(windows_module, "WINDOW_BATCH_ROWS", 3)
    rng = np.random.default_rng(4)
    texts = [" ".join(rng.choice(FILLER.split(), size=int(rng.integers(8, 30)))) for _ in range(12)]
    with Store(tmp_path / "s.db", windowed) as store:
        store.add(texts, ids=[f"d{i}" for i in range(len(texts))])
        with store._pool.connection() as conn:
            rows = conn.fetchall("SELECT doc_rowid, vector FROM ogma_windows ORDER BY doc_rowid, position")
            assert len(rows) > 3 * 4  # several batches
            want = normalize(np.frombuffer(b"".join(r[1] for r in rows), dtype="<f4").reshape(len(rows), -1))
            owners, unit = windows_module._read_windows(conn if counted is None else _Miscounted(conn, counted))
        assert owners.tolist() == [r[0] for r in rows]
        np.testing.assert_array_equal(unit, want)


def test_filter_excludes_windows_of_other_documents(windowed: WindowHashEmbedder) -> None:
    with Store(":memory:", windowed) as store:
        store.add([LONG, "zebra crossing"], [{"k": 1}, {"k": 2}], ["long", "other"])
        assert [h.id for h in store.search("zebra giraffe", k=5, filter={"k": 2})] == ["other"]
        assert [h.id for h in store.search("zebra giraffe", k=5, mode="hybrid", filter={"k": 2})] == ["other"]


def test_writes_keep_windows_in_step(tmp_path: Path, windowed: WindowHashEmbedder) -> None:
    path = tmp_path / "s.db"
    with Store(path, windowed) as store:
        store.add([LONG, "short text"], ids=["long", "short"])
        stored = windows_in(path)
        assert stored > 0
        # metadata updates leave the windows alone
        assert store.update(["long"], metadata={"seen": True}) == 1
        assert windows_in(path) == stored and store.search("zebra giraffe", k=1)[0].id == "long"
        # get returns the document's own (first-window) vector
        got = store.get(["long"], include_embeddings=True)[0]
        assert got.embedding is not None
        np.testing.assert_allclose(got.embedding, windowed.encode_windows([LONG])[0][0], atol=1e-6)
        # replacing with a short text drops the old windows
        store.add(["zebra"], ids=["long"])
        assert windows_in(path) == 0
        store.add([LONG], ids=["long"], on_conflict="replace")
        assert windows_in(path) == stored
        # skip keeps the stored document and its windows; new long ones get theirs
        store.add([LONG, LONG + " more words here"], ids=["long", "long2"], on_conflict="skip")
        assert windows_in(path) > stored
        assert store.delete(["long2"]) == 1
        assert windows_in(path) == stored
        assert store.search("zebra giraffe", k=1)[0].id == "long"
        assert store.delete(["long"]) == 1
        assert windows_in(path) == 0
        assert [h.id for h in store.search("zebra giraffe", k=5)] == ["short"]
        store.add([LONG], ids=["again"])
        assert store.delete_all(confirm=True) == 2 and windows_in(path) == 0
        store.add([LONG], ids=["again"])
        assert store.reset(confirm=True) == 1 and windows_in(path) == 0
        assert store.search("zebra giraffe", k=5) == []


def test_another_store_on_the_file_sees_new_windows(tmp_path: Path, windowed: WindowHashEmbedder) -> None:
    path = tmp_path / "s.db"
    with Store(path, windowed) as reader, Store(path, windowed) as writer:
        writer.add(["kappa"], ids=["k"])
        assert [h.id for h in reader.search("zebra giraffe", k=1)] == ["k"]  # loads (no windows yet)
        writer.add([LONG], ids=["long"])
        assert reader.search("zebra giraffe", k=1)[0].id == "long"


def test_given_embeddings_and_plain_embedders_store_one_vector(tmp_path: Path) -> None:
    plain = HashEmbedder()  # no encode_windows: one vector per document, as before
    with Store(tmp_path / "s.db", plain) as store:
        store.add([LONG], ids=["long"])
        store.add(["x"], ids=["x"], embeddings=np.ones((1, plain.dim), dtype=np.float32))
    assert windows_in(tmp_path / "s.db") == 0


def test_schema_migration_adds_the_windows_table(tmp_path: Path, windowed: WindowHashEmbedder) -> None:
    path = tmp_path / "old.db"
    with Store(path, HashEmbedder()) as store:
        store.add(["old text one", "old text two"], ids=["a", "b"])
    with sqlite3.connect(path) as conn:  # make it a version-4 file, as written before windows existed
        conn.execute("DROP TABLE ogma_windows")
        conn.execute("UPDATE ogma_config SET value = '4' WHERE key = 'schema_version'")
    with Store(path, read_only=True) as old:  # read-only opens do not migrate, and still search
        assert [h.id for h in old.search(vector=HashEmbedder().encode_queries(["old text one"])[0], k=1)] == ["a"]
    with Store(path, windowed) as store:
        assert store.read_setting("x") is None
        assert store.count() == 2
        store.add([LONG], ids=["long"])
        assert store.search("zebra giraffe", k=1)[0].id == "long"
    with sqlite3.connect(path) as conn:
        version = conn.execute("SELECT value FROM ogma_config WHERE key = 'schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION == 6
    assert windows_in(path) > 0


def test_one_vector_backends_keep_the_mean_and_say_so(
    store_factory: StoreFactory, backend: str, windowed: WindowHashEmbedder, caplog: pytest.LogCaptureFixture
) -> None:
    """Milvus (and the in-memory backend) keep one vector per document: the windows' mean."""
    if backend == "sqlite":
        pytest.skip("the SQLite Store keeps every window (the tests above)")
    store: Any = store_factory(windowed)
    with caplog.at_level(logging.WARNING, logger="ogma.store.windows"):
        store.add([LONG, "short one", LONG + " " + LONG], ids=["long", "short", "longer"])
    messages = [r.getMessage() for r in caplog.records if r.name == "ogma.store.windows"]
    expected = f"{type(store).__name__} keeps one vector per document: 2 of 3 documents"
    assert len(messages) == 1 and expected in messages[0]
    vectors, _ = windowed.encode_windows([LONG])
    mean = vectors.mean(axis=0)
    got = store.get(["long"], include_embeddings=True)[0].embedding
    np.testing.assert_allclose(got, mean / np.linalg.norm(mean), atol=1e-5)
    assert store.count() == 3


TEST_FINE = FineWindows(tokens=3, overlap=1)


class FineWindowHashEmbedder(WindowHashEmbedder):
    """Full-width windows of 6 words, then fine windows of whole sentences up to 3 words."""

    def encode_windows(
        self, texts: list[str], *, fine: FineWindows | None = TEST_FINE
    ) -> tuple[npt.NDArray[np.float32], list[int]]:
        self.window_calls += 1
        plan = plan_windows(texts, None, max_tokens=WINDOW, overlap=1, fine=fine)
        return self.encode_documents(plan.texts), plan.owners


def test_fine_windows_map_back_to_their_documents(tmp_path: Path) -> None:
    embedder = FineWindowHashEmbedder()
    corpus = {
        "a": "alpha beta gamma. delta epsilon. zebra giraffe. zeta eta theta iota.",
        "b": "kappa lambda. omicron sigma tau upsilon. lion tiger. bear wolf fox owl.",
        "c": "zebra crossing",
        "d": "lion king",
    }
    with Store(tmp_path / "s.db", embedder) as store:
        store.add(list(corpus.values()), ids=list(corpus))
        vectors, owners = embedder.encode_windows(list(corpus.values()))
        assert windows_in(tmp_path / "s.db") == len(owners) - len(corpus)  # every window past each first
        ids = list(corpus)
        for query in ("zebra giraffe", "lion tiger", "bear owl", "kappa"):
            sims = vectors @ embedder.encode_queries([query])[0]
            best: dict[str, float] = {}
            for owner, score in zip(owners, sims.tolist(), strict=True):
                best[ids[owner]] = max(best.get(ids[owner], -2.0), score)
            for mode in ("dense", "hybrid"):
                hits = store.search(query, k=10, mode=mode)
                assert len({h.id for h in hits}) == len(hits) == 4  # one hit per document, never a window
                for hit in hits:
                    assert hit.scores["dense"] == pytest.approx(best[hit.id], abs=1e-5)
            dense = [h.score for h in store.search(query, k=10)]
            assert dense == pytest.approx(sorted(best.values(), reverse=True), abs=1e-5)  # ranked by best window


def test_one_vector_backends_average_the_full_windows_only(store_factory: StoreFactory, backend: str) -> None:
    if backend == "sqlite":
        pytest.skip("the SQLite Store keeps every window")
    embedder = FineWindowHashEmbedder()
    store: Any = store_factory(embedder)
    text = "alpha beta gamma. delta epsilon. zebra giraffe. zeta eta theta iota."
    store.add([text], ids=["a"])
    full, _ = embedder.encode_windows([text], fine=None)
    both, _ = embedder.encode_windows([text])
    assert len(both) > len(full) > 1
    mean = full.mean(axis=0)
    got = store.get(["a"], include_embeddings=True)[0].embedding
    np.testing.assert_allclose(got, mean / np.linalg.norm(mean), atol=1e-5)


def test_store_keeps_the_default_fine_windows_of_a_text_encoder(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A ``TextEncoder``'s store windows are the default planner's: the first full-width window,
    then whole sentences up to 64 tokens that never span a blank line."""
    encoder = TextEncoder(tiny_model_dir, max_length=130)  # 128 tokens of text: wider than the fine windows
    sentence = "alpha beta gamma delta epsilon zeta eta theta."
    paragraphs = [" ".join([sentence] * n) for n in (3, 5, 2, 7, 4)]
    text = "\n\n".join(paragraphs)
    plan = encoder.window_plan([text], fine=STORE_FINE_WINDOWS)
    across = encoder.window_plan([text], fine=FineWindows(64, 16, "sentences"))
    assert plan.texts != across.texts and any("\n\n" in w for w in across.texts[1:])  # the planners differ here
    assert not any("\n\n" in w for w in plan.texts[1:])
    with Store(tmp_path / "s.db", encoder) as store:
        store.add([text, "alpha beta"], ids=["long", "short"])
    expected, owners = encoder.encode_windows([text])
    assert owners == [0] * len(plan.texts)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        rows = conn.execute("SELECT vector FROM ogma_windows ORDER BY doc_rowid, position").fetchall()
    stored = np.stack([np.frombuffer(r[0], dtype="<f4") for r in rows])
    np.testing.assert_allclose(stored, expected[1:], atol=1e-6)  # every window after the first, in order


def test_documents_windowed_by_an_earlier_default_search_unchanged(tmp_path: Path, tiny_model_dir: Path) -> None:
    """A store written with the earlier fine windows (64-token sentences only) opens and searches as
    before; a document added from then on gets the current windows."""
    encoder = TextEncoder(tiny_model_dir, max_length=130)
    sentence = "alpha beta gamma delta epsilon zeta eta theta."
    text = "\n\n".join(" ".join([sentence] * n) for n in (3, 5, 2, 7, 4))
    earlier = FineWindows(64, 16, "sentences")

    class EarlierEncoder:
        """The same model, windowing as the earlier default did."""

        def __getattr__(self, name: str) -> Any:
            return getattr(encoder, name)

        def encode_windows(self, texts: list[str], *, fine: Any = earlier) -> tuple[npt.NDArray[np.float32], list[int]]:
            return encoder.encode_windows(texts, fine=fine)

    with Store(tmp_path / "s.db", EarlierEncoder()) as store:
        store.add([text, "alpha beta"], ids=["old", "short"])
    old_vectors, _ = encoder.encode_windows([text], fine=earlier)
    query = "zeta eta theta alpha"
    with Store(tmp_path / "s.db", encoder) as store:  # opened with today's default
        assert windows_in(tmp_path / "s.db") == len(old_vectors) - 1
        hit = next(h for h in store.search(query, k=2) if h.id == "old")
        best = float(np.max(old_vectors @ encoder.encode_queries([query])[0]))
        assert hit.scores["dense"] == pytest.approx(best, abs=1e-5)  # scored by its earlier windows
        store.add([text], ids=["new"])
    new_vectors, _ = encoder.encode_windows([text])
    assert windows_in(tmp_path / "s.db") == len(old_vectors) - 1 + len(new_vectors) - 1
