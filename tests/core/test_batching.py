"""DynamicBatcher: merging, order, splitting, bounded queue, timeouts, failures, cancellation."""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma import TextEncoder
from ogma.batching import (
    BatcherClosedError,
    BatchStats,
    DynamicBatcher,
    InputTooLongError,
    QueueFullError,
    QueueTimeoutError,
)
from tests.helpers.tiny_models import WORDS

TEXTS = [" ".join(WORDS[i : i + 1 + i % 9]) for i in range(40)] + ["", "paris"]


@pytest.fixture(scope="module")
def encoder(tiny_model_dir: Path) -> TextEncoder:
    return TextEncoder(tiny_model_dir, batch_size=8)


@pytest.fixture(scope="module")
def ogma_encoder(tiny_ogma_dir: Path) -> TextEncoder:
    return TextEncoder(tiny_ogma_dir)


class Gated:
    """An encoder whose model calls wait for ``gate`` and fail on rows holding ``poison`` token ids."""

    def __init__(self, encoder: TextEncoder, *, poison: int | None = None) -> None:
        self._encoder = encoder
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.poison = poison
        self.rows_seen: list[list[int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)

    def embed_token_ids(self, rows: Sequence[Sequence[int]], *, task: Any = "symmetric") -> Any:
        self.entered.set()
        self.gate.wait(10)
        self.rows_seen.extend(list(r) for r in rows)
        if self.poison is not None and any(self.poison in r for r in rows):
            raise RuntimeError("poisoned row")
        return self._encoder.embed_token_ids(rows, task=task)


def test_vectors_equal_encoder_for_every_task_and_dim(ogma_encoder: TextEncoder) -> None:
    with DynamicBatcher(ogma_encoder, max_wait_ms=1) as batcher:
        for task in ("query", "document", "symmetric"):
            expected = ogma_encoder.encode(TEXTS, task=task)
            got = batcher.encode(TEXTS, task=task)
            np.testing.assert_allclose(got, expected, atol=1e-5)
        half = ogma_encoder.dim // 2
        np.testing.assert_allclose(
            batcher.encode(TEXTS[:5], task="query", dim=half),
            ogma_encoder.encode(TEXTS[:5], task="query", dim=half),
            atol=1e-5,
        )
    assert batcher.model_id == ogma_encoder.model_id and batcher.dim == ogma_encoder.dim


def test_concurrent_callers_get_their_own_rows_in_merged_batches(encoder: TextEncoder) -> None:
    stats: list[BatchStats] = []
    expected = encoder.encode(TEXTS)
    with (
        DynamicBatcher(encoder, max_wait_ms=50, max_batch_rows=64, on_batch=stats.append) as batcher,
        concurrent.futures.ThreadPoolExecutor(32) as pool,
    ):
        results = list(pool.map(lambda i: batcher.encode([TEXTS[i % len(TEXTS)]])[0], range(64)))
    for i, vector in enumerate(results):
        np.testing.assert_allclose(vector, expected[i % len(TEXTS)], atol=1e-5)
    assert sum(s.rows for s in stats) == 64
    assert max(s.rows for s in stats) > 1 and max(s.requests for s in stats) > 1
    assert all(s.padded_tokens >= s.tokens for s in stats)


def test_a_request_larger_than_a_batch_is_split_and_finishes_first(encoder: TextEncoder) -> None:
    stats: list[BatchStats] = []
    gated = Gated(encoder)
    gated.gate.clear()
    with DynamicBatcher(gated, max_batch_rows=4, max_wait_ms=0, on_batch=stats.append) as batcher:  # type: ignore[arg-type]
        blocker = batcher.submit(["paris"])
        assert gated.entered.wait(10)
        finished: list[str] = []
        big = batcher.submit(TEXTS)
        big.future.add_done_callback(lambda _: finished.append("big"))
        small = [batcher.submit([t]) for t in TEXTS[:10]]
        for job in small:
            job.future.add_done_callback(lambda _: finished.append("small"))
        gated.gate.set()
        got = big.future.result(10).vectors
        for job in small:
            job.future.result(10)
        blocker.future.result(10)
    assert finished[0] == "big"  # first come, first served: later small requests never overtake it
    np.testing.assert_allclose(got, encoder.encode(TEXTS), atol=1e-5)
    assert max(s.rows for s in stats) <= 4


def test_padded_tokens_stay_within_the_budget(encoder: TextEncoder) -> None:
    stats: list[BatchStats] = []
    with DynamicBatcher(encoder, max_batch_tokens=24, max_batch_rows=64, on_batch=stats.append) as batcher:
        batcher.encode(TEXTS)
    assert all(s.padded_tokens <= 24 or s.rows == 1 for s in stats)


def test_a_full_queue_refuses_with_retry_after(encoder: TextEncoder) -> None:
    gated = Gated(encoder)
    gated.gate.clear()
    batcher = DynamicBatcher(gated, max_queue=5, max_wait_ms=0)  # type: ignore[arg-type]
    running = batcher.submit(["a"])
    assert gated.entered.wait(10)
    queued = batcher.submit(["a", "b", "c", "d"])
    assert batcher.queue_depth == 5 - 1 or batcher.queue_depth == 4
    with pytest.raises(QueueFullError, match="queue is full") as info:
        batcher.submit(["x", "y"])
    assert info.value.retry_after >= 1
    with pytest.raises(ValueError, match="more than the queue holds"):
        batcher.submit(["x"] * 6)
    gated.gate.set()
    running.future.result(10)
    queued.future.result(10)
    batcher.close()


def test_a_request_waiting_past_queue_timeout_fails(encoder: TextEncoder) -> None:
    gated = Gated(encoder)
    gated.gate.clear()
    batcher = DynamicBatcher(gated, queue_timeout=0.05, max_wait_ms=0)  # type: ignore[arg-type]
    first = batcher.submit(["a"])
    assert gated.entered.wait(10)
    late = batcher.submit(["b"])
    time.sleep(0.2)
    gated.gate.set()
    first.future.result(10)
    with pytest.raises(QueueTimeoutError, match="queue_timeout") as info:
        late.future.result(10)
    assert info.value.retry_after >= 1
    batcher.close()


def test_one_bad_request_does_not_fail_the_others_in_its_batch(encoder: TextEncoder) -> None:
    poison = encoder.tokenizer.token_ids(["mountain"], "symmetric")[0][1]
    gated = Gated(encoder, poison=poison)
    gated.gate.clear()
    batcher = DynamicBatcher(gated, max_wait_ms=0, max_batch_rows=64)  # type: ignore[arg-type]
    blocker = batcher.submit(["x"])
    assert gated.entered.wait(10)
    good = [batcher.submit([t]) for t in ("paris", "cat", "dog")]
    bad = batcher.submit(["river", "mountain"])
    gated.gate.set()
    blocker.future.result(10)
    for job, text in zip(good, ("paris", "cat", "dog"), strict=True):
        np.testing.assert_allclose(job.future.result(10).vectors[0], encoder.encode([text])[0], atol=1e-5)
    with pytest.raises(RuntimeError, match="poisoned"):
        bad.future.result(10)
    # the server keeps serving
    np.testing.assert_allclose(batcher.encode(["cat"]), encoder.encode(["cat"]), atol=1e-5)
    batcher.close()


def test_a_cancelled_request_is_dropped_before_it_runs(encoder: TextEncoder) -> None:
    gated = Gated(encoder)
    gated.gate.clear()
    batcher = DynamicBatcher(gated, max_wait_ms=0)  # type: ignore[arg-type]
    first = batcher.submit(["paris"])
    assert gated.entered.wait(10)
    dropped = batcher.submit(["music song football"] * 3)
    assert batcher.queue_depth == 3
    dropped.cancel()
    gated.gate.set()
    first.future.result(10)
    batcher.encode(["cat"])
    music = encoder.tokenizer.token_ids(["music song football"], "symmetric")[0]
    assert music not in gated.rows_seen
    assert dropped.future.cancelled() and batcher.queue_depth == 0
    batcher.close()


def test_asyncio_callers_and_cancellation(encoder: TextEncoder) -> None:
    gated = Gated(encoder)

    async def main(batcher: DynamicBatcher) -> None:
        results = await asyncio.gather(*(batcher.encode_async([t]) for t in TEXTS[:16]))
        for text, result in zip(TEXTS[:16], results, strict=True):
            np.testing.assert_allclose(result.vectors[0], encoder.encode([text])[0], atol=1e-5)
        gated.gate.clear()
        gated.entered.clear()
        blocker = asyncio.ensure_future(batcher.encode_async(["paris"]))
        await asyncio.to_thread(gated.entered.wait, 10)
        waiting = asyncio.ensure_future(batcher.encode_async(["chemistry biology"]))
        await asyncio.sleep(0.01)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        gated.gate.set()
        await blocker

    with DynamicBatcher(gated, max_wait_ms=1) as batcher:  # type: ignore[arg-type]
        asyncio.run(main(batcher))
        batcher.encode(["cat"])
    assert encoder.tokenizer.token_ids(["chemistry biology"], "symmetric")[0] not in gated.rows_seen


def test_truncation_is_counted_or_refused(tiny_model_dir: Path) -> None:
    short = TextEncoder(tiny_model_dir, max_length=6)
    long_text = "paris france capital city cat dog river"
    with DynamicBatcher(short) as batcher:
        result = batcher.submit(["paris", long_text, "a b c d"]).future.result(10)
        assert result.truncated == 1
        assert result.tokens == sum(short.count_tokens(["paris", long_text, "a b c d"]))
        cut = short.encode(["paris", long_text, "a b c d"], long_text="truncate")  # the batcher cuts, and counts
        np.testing.assert_allclose(result.vectors, cut, atol=1e-5)
        with pytest.raises(InputTooLongError, match="input 1 is longer") as info:
            batcher.submit(["cat", long_text], truncation="refuse").future.result(10)
        assert info.value.index == 1
        assert batcher.submit(["paris france capital city"]).future.result(10).truncated == 0  # exactly fills


def test_long_text_modes_read_texts_as_the_encoder_does(tiny_model_dir: Path) -> None:
    short = TextEncoder(tiny_model_dir, max_length=6)
    texts = ["paris", "paris france capital city cat dog river", "a b c d"]
    with DynamicBatcher(short) as batcher:
        whole = asyncio.run(batcher.encode_async(texts, task="document", long_text="mean"))
        np.testing.assert_allclose(whole.vectors, short.encode(texts, task="document", long_text="mean"), atol=1e-5)
        assert whole.truncated == 0
        cut = asyncio.run(batcher.encode_async(texts, task="document", long_text="truncate"))
        assert cut.truncated == 1
        assert not np.allclose(cut.vectors[1], whole.vectors[1], atol=1e-3)  # the windows' mean is not the cut
        with pytest.raises(InputTooLongError):
            asyncio.run(batcher.encode_async(texts, long_text="error"))
        with pytest.raises(ValueError, match="long_text"):
            batcher.encode(texts, long_text="sideways")  # type: ignore[arg-type]
        # the encoder face (what a Store calls) reads long texts whole, like TextEncoder's default
        np.testing.assert_allclose(batcher.embed_documents(texts), short.embed_documents(texts), atol=1e-5)


def test_bad_arguments_fail_at_submit(encoder: TextEncoder) -> None:
    with DynamicBatcher(encoder) as batcher:
        with pytest.raises(TypeError):
            batcher.submit("a bare string")  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="1"):
            batcher.submit(["a", 3])  # type: ignore[list-item]
        with pytest.raises(ValueError, match="task"):
            batcher.submit(["a"], task="passage")  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="dim"):
            batcher.submit(["a"], dim=10_000)
        assert batcher.encode([]).shape == (0, encoder.dim)
    with pytest.raises(ValueError, match="max_queue"):
        DynamicBatcher(encoder, max_queue=0)
    with pytest.raises(ValueError, match="max_wait_ms"):
        DynamicBatcher(encoder, max_wait_ms=-1)


def test_close_drains_accepted_work_then_refuses(encoder: TextEncoder) -> None:
    gated = Gated(encoder)
    gated.gate.clear()
    batcher = DynamicBatcher(gated, max_wait_ms=0)  # type: ignore[arg-type]
    jobs = [batcher.submit([t]) for t in TEXTS[:5]]
    assert gated.entered.wait(10)
    closer = threading.Thread(target=batcher.close)
    closer.start()
    time.sleep(0.05)
    with pytest.raises(BatcherClosedError):
        batcher.submit(["late"])
    gated.gate.set()
    closer.join(10)
    assert all(job.future.result(0).vectors.shape == (1, encoder.dim) for job in jobs)


def test_merging_off_runs_one_request_per_call(encoder: TextEncoder) -> None:
    stats: list[BatchStats] = []
    with (
        DynamicBatcher(encoder, merge=False, on_batch=stats.append) as batcher,
        concurrent.futures.ThreadPoolExecutor(8) as pool,
    ):
        list(pool.map(lambda t: batcher.encode([t]), TEXTS[:16]))
    assert all(s.requests == 1 for s in stats)


def test_store_searches_through_the_batcher(encoder: TextEncoder) -> None:
    from ogma import Store

    docs = ["paris is the capital of france", "cats purr", "the river"]
    with DynamicBatcher(encoder) as batcher, Store(":memory:", batcher) as store, Store(":memory:", encoder) as local:
        store.add(docs, ids=["p", "c", "r"])
        local.add(docs, ids=["p", "c", "r"])
        got = store.search("capital city paris", k=3, mode="dense")
        expected = local.search("capital city paris", k=3, mode="dense")
        assert [h.id for h in got] == [h.id for h in expected]
        assert [h.score for h in got] == pytest.approx([h.score for h in expected], abs=1e-5)
        assert store.config.model_id == encoder.model_id
