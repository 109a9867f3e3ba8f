"""Many readers while one writes (threads), and several processes on one file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.store import Store
from ogma.store.sqlite.connect import connect

DIM = 16


def test_readers_run_while_one_thread_writes(tmp_path: Path, vectors: Any) -> None:
    vecs = vectors(2000, DIM, seed=1)
    errors: list[BaseException] = []
    with Store(tmp_path / "t.db", dim=DIM, precision="binary") as store:
        store.add([f"seed {i}" for i in range(100)], ids=[f"s{i}" for i in range(100)], embeddings=vecs[:100])
        done = threading.Event()

        def writer() -> None:
            try:
                for start in range(100, 2000, 100):
                    ids = [f"w{i}" for i in range(start, start + 100)]
                    store.add(
                        [f"written {i}" for i in range(start, start + 100)],
                        ids=ids,
                        embeddings=vecs[start : start + 100],
                    )
            except BaseException as exc:  # collected and re-raised in the main thread
                errors.append(exc)
            finally:
                done.set()

        def reader(seed: int) -> None:
            rng = np.random.default_rng(seed)
            try:
                while not done.is_set():
                    q = vecs[int(rng.integers(0, 100))]
                    hits = store.search(vector=q, k=5)
                    assert len(hits) == 5
                    assert store.search("written seed", mode="lexical", k=5)
                    assert store.count() >= 100
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=writer)] + [threading.Thread(target=reader, args=(s,)) for s in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert store.count() == 2000
        assert store.search(vector=vecs[1999], k=1)[0].id == "w1999"


def test_memory_store_is_shared_across_threads(vectors: Any) -> None:
    vecs = vectors(200, DIM)
    with Store(":memory:", dim=DIM) as store:
        threads = [
            threading.Thread(
                target=lambda s=s: store.add(
                    [f"t{s}-{i}" for i in range(50)],
                    ids=[f"{s}-{i}" for i in range(50)],
                    embeddings=vecs[s * 50 : s * 50 + 50],
                )
            )
            for s in range(4)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert store.count() == 200


WORKER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from ogma.store import Store

    path, name = sys.argv[1], sys.argv[2]
    with Store(path, dim=%(dim)d, precision="int8", busy_timeout=30) as store:
        rng = np.random.default_rng(abs(hash(name)) %% 1000)
        for batch in range(6):
            ids = [f"{name}-{batch}-{i}" for i in range(50)]
            store.add([f"{name} text {i}" for i in range(50)], ids=ids, embeddings=rng.standard_normal((50, %(dim)d)))
            assert len(store.search(vector=rng.standard_normal(%(dim)d), k=5)) == 5
            assert store.search(name, mode="lexical", k=3)
    """
) % {"dim": DIM}


def test_several_processes_write_one_file(tmp_path: Path) -> None:
    path = tmp_path / "p.db"
    Store(path, dim=DIM, precision="int8").close()
    procs = [
        subprocess.Popen([sys.executable, "-c", WORKER, str(path), f"p{n}"], stderr=subprocess.PIPE, text=True)
        for n in range(3)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 0, err
    with Store(path) as store:
        assert store.count() == 3 * 6 * 50
        assert store.get(["p2-5-49"])[0].text == "p2 text 49"
    conn = connect(path)
    assert conn.scalar("PRAGMA integrity_check") == "ok"
    conn.close()


def test_finished_threads_release_their_connections(tmp_path: Path) -> None:
    import gc

    with Store(tmp_path / "c.db", dim=4) as store:
        threads = [threading.Thread(target=store.count) for _ in range(20)]
        for t in threads:
            t.start()
            t.join()
        gc.collect()
        assert len(store._pool._all) <= 2  # the main thread's, maybe one not yet collected


def _mp_worker(path: str, name: str, queue: Any) -> None:
    try:
        with Store(path, busy_timeout=30) as store:
            rng = np.random.default_rng(abs(hash(name)) % 1000)
            for batch in range(4):
                ids = [f"{name}-{batch}-{i}" for i in range(25)]
                store.add([f"{name} {i}" for i in range(25)], ids=ids, embeddings=rng.standard_normal((25, DIM)))
                store.search(vector=rng.standard_normal(DIM), k=3)
        queue.put((name, None))
    except BaseException as exc:  # reported to the parent
        queue.put((name, repr(exc)))


@pytest.mark.skipif(sys.platform == "win32", reason="uses the fork start method")
def test_multiprocessing_writers_and_a_store_inherited_across_fork(tmp_path: Path) -> None:
    import multiprocessing

    path = str(tmp_path / "mp.db")
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    with Store(path, dim=DIM, precision="binary") as parent:
        parent.add(["parent"], ids=["parent"], embeddings=np.ones((1, DIM)))
        assert parent.search(vector=np.ones(DIM), k=1)[0].id == "parent"  # parent holds open connections
        workers = [ctx.Process(target=_mp_worker, args=(path, f"w{n}", queue)) for n in range(3)]

        def inherited(q: Any) -> None:  # the child reuses the parent's Store object: it must open its own connections
            try:
                parent.add(["from child"], ids=["child"], embeddings=-np.ones((1, DIM)))
                q.put(("child", None))
            except BaseException as exc:
                q.put(("child", repr(exc)))

        workers.append(ctx.Process(target=inherited, args=(queue,)))
        for w in workers:
            w.start()
        results = [queue.get(timeout=120) for _ in workers]
        for w in workers:
            w.join(timeout=60)
        assert all(err is None for _, err in results), results
        assert parent.count() == 1 + 3 * 4 * 25 + 1
        assert parent.search(vector=-np.ones(DIM), k=1)[0].id == "child"


def test_a_store_opened_before_the_first_vectors_returns_them(tmp_path: Path) -> None:
    """A second Store on the file, opened while it had no vectors, sees the dimension another one fixed."""
    path = tmp_path / "late.db"
    early, writer = Store(path), Store(path)
    writer.add(["a", "b"], ids=["a", "b"], embeddings=np.array([[0.5, 1.0], [1.0, 0.0]], dtype=np.float32))
    assert [d.embedding.tolist() for d in early.get(["a", "b"], include_embeddings=True)] == [[0.5, 1.0], [1.0, 0.0]]
    assert [d.embedding is not None for d in early.iter_documents(include_embeddings=True)] == [True, True]
    early.close()
    writer.close()
