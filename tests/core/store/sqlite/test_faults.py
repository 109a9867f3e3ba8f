"""A writer killed with SIGKILL mid-ingest leaves a consistent file: no half-written document."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from ogma.store import Store
from ogma.store.sqlite.connect import connect

BATCH = 250
DIM = 16

WRITER = textwrap.dedent(
    """
    import sys
    import numpy as np
    from ogma.store import Store

    path, start = sys.argv[1], int(sys.argv[2])
    store = Store(path, dim=%(dim)d, precision="binary", show_progress=False)
    i = start
    while True:
        ids = [f"doc-{j}" for j in range(i, i + %(batch)d)]
        vecs = np.stack([np.random.default_rng(j).standard_normal(%(dim)d) for j in range(i, i + %(batch)d)])
        texts = [f"document number {j} " + "filler words " * 20 for j in range(i, i + %(batch)d)]
        store.add(texts, [{"j": j} for j in range(i, i + %(batch)d)], ids, embeddings=vecs)
        print(i, flush=True)
        i += %(batch)d
    """
) % {"dim": DIM, "batch": BATCH}


def _expected_vector(j: int) -> np.ndarray:
    return np.random.default_rng(j).standard_normal(DIM).astype(np.float32)


def _check_consistent(path: Path) -> int:
    conn = connect(path)
    try:
        assert conn.scalar("PRAGMA integrity_check") == "ok"
        conn.execute("INSERT INTO ogma_fts (ogma_fts) VALUES ('integrity-check')")  # raises if FTS != documents
        docs = conn.scalar("SELECT count(*) FROM ogma_documents")
        assert conn.scalar("SELECT count(*) FROM ogma_fts_docsize") == docs
        assert conn.scalar("SELECT count(*) FROM ogma_vectors") == docs
        assert conn.scalar("SELECT count(*) FROM ogma_vec") == docs
        orphans = conn.scalar(
            "SELECT count(*) FROM ogma_vectors v LEFT JOIN ogma_documents d ON d.rowid = v.rowid WHERE d.id IS NULL"
        )
        assert orphans == 0
        assert docs % BATCH == 0  # whole transactions only
        return int(docs)
    finally:
        conn.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_sigkill_mid_ingest_leaves_no_half_written_document(tmp_path: Path) -> None:
    path = tmp_path / "killed.db"
    rng = np.random.default_rng(0)
    start = 0
    for _round in range(3):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(start)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        for _ in range(2):  # let at least two batches commit, then kill mid-way through another
            line = proc.stdout.readline()
            assert line, "the writer died on its own"
        time.sleep(float(rng.uniform(0.0, 0.15)))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        start = _check_consistent(path)
        assert start >= 2 * BATCH
    with Store(path) as store:
        assert store.count() == start
        docs = store.get([f"doc-{j}" for j in range(0, start, 97)], include_embeddings=True)
        for doc in docs:
            j = int(doc.id.split("-")[1])
            assert doc.metadata == {"j": j}
            assert np.array_equal(doc.embedding, _expected_vector(j))  # type: ignore[arg-type]
        hit = store.search(vector=_expected_vector(start - 1), k=1)[0]
        assert hit.id == f"doc-{start - 1}"
        assert store.search("number", mode="lexical", k=5)
        store.add(["after the crash"], ids=["after"], embeddings=np.ones((1, DIM)))
        assert store.count() == start + 1


def test_failed_batch_rolls_back_everything(tmp_path: Path) -> None:
    with Store(tmp_path / "r.db", dim=4) as store:
        store.add(["a"], ids=["a"], embeddings=np.ones((1, 4)))
        vectors = np.ones((3, 4))
        from ogma.store.sqlite import writes

        real = writes.write_vectors

        def boom(*args: object, **kwargs: object) -> None:
            raise RuntimeError("disk on fire")

        writes.write_vectors = boom
        try:
            with pytest.raises(RuntimeError, match="disk on fire"):
                store.add(["a2", "b", "c"], ids=["a", "b", "c"], embeddings=vectors)
        finally:
            writes.write_vectors = real
        assert store.count() == 1 and store.get(["a"])[0].text == "a"
        assert [h.id for h in store.search("a2", mode="lexical")] == []
        assert [h.id for h in store.search(vector=np.ones(4), k=5)] == ["a"]
    _ = connect  # keep the import used for the helper above
