"""Dynamic batching: many concurrent callers share one loaded model.

A :class:`DynamicBatcher` owns one worker thread in front of a :class:`~ogma.TextEncoder`.
Callers (threads or asyncio tasks) submit lists of texts; the worker merges the rows of
whatever is queued into model calls bounded by *padded tokens* (``max_batch_tokens``,
rows × longest row) and ``max_batch_rows``, waiting at most ``max_wait_ms`` for more work
to arrive, and cuts each merged set with the padding-optimal planner
(:func:`ogma.tokenize.plan_batches`). Guarantees:

* each caller gets exactly its own rows, in its order (the same vectors as
  :meth:`TextEncoder.encode`: rows are embedded independently);
* rows are served first come, first served, so a request larger than a batch is split
  over several model calls and is never starved by later small ones;
* the queue is bounded (``max_queue`` texts): a submission that does not fit raises
  :class:`QueueFullError` at once, with a ``retry_after`` estimate; a request that waited
  longer than ``queue_timeout`` fails with :class:`QueueTimeoutError`;
* a model call that fails is retried one request at a time, so one bad request never
  fails the others merged with it;
* a cancelled request's queued rows are dropped (:meth:`EncodeJob.cancel`; asyncio
  cancellation of :meth:`DynamicBatcher.encode_async` does it);
* truncation is never silent: :class:`EncodeResult` counts truncated texts, or the
  request is refused with :class:`InputTooLongError` (``truncation="refuse"``).

The batcher quacks like an encoder (``encode_queries``, ``encode_documents``,
``embed_query``, ``embed_documents``, ``model_id``, ``dim``), so a store can search
through it.

Example:
    >>> from ogma import TextEncoder                          # doctest: +SKIP
    >>> from ogma.batching import DynamicBatcher              # doctest: +SKIP
    >>> with DynamicBatcher(TextEncoder(), max_wait_ms=2) as batcher:  # doctest: +SKIP
    ...     batcher.encode(["a query"], task="query").shape
    (1, 384)
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import itertools
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np
import numpy.typing as npt

from ogma.compress import truncate
from ogma.errors import OgmaError
from ogma.tokenize import plan_batches
from ogma.types import Task
from ogma.validation import check_dim, check_encode_inputs, check_texts
from ogma.windows import DEFAULT_LONG_TEXT, LONG_TEXT_MODES, LongText, WindowPlan

if TYPE_CHECKING:
    from ogma.encoder import TextEncoder

__all__ = [
    "BatchStats",
    "BatcherClosedError",
    "DynamicBatcher",
    "EncodeJob",
    "EncodeResult",
    "InputTooLongError",
    "QueueFullError",
    "QueueTimeoutError",
    "Truncation",
]

logger = logging.getLogger(__name__)

FloatArray = npt.NDArray[np.float32]
Truncation = Literal["count", "refuse"]


class QueueFullError(OgmaError, RuntimeError):
    """The batcher's queue cannot take this request now; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class QueueTimeoutError(OgmaError, TimeoutError):
    """A request waited in the queue longer than ``queue_timeout``; retry after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class InputTooLongError(OgmaError, ValueError):
    """A text is longer than the model's window and the batcher was asked to refuse such texts.

    Attributes:
        index: Position of the first such text in the request.
    """

    def __init__(self, message: str, *, index: int) -> None:
        super().__init__(message)
        self.index = index


class BatcherClosedError(OgmaError, RuntimeError):
    """The batcher is closing or closed and takes no new work."""


@dataclass(frozen=True)
class EncodeResult:
    """What one request got back.

    Attributes:
        vectors: ``(n, dim)`` float32, in the request's order.
        tokens: Tokens the model read for this request (after truncation).
        truncated: How many texts were cut to the model's window.
    """

    vectors: FloatArray
    tokens: int
    truncated: int


@dataclass(frozen=True)
class BatchStats:
    """One model call, reported to ``on_batch`` (for metrics).

    Attributes:
        rows: Texts in the call.
        requests: Distinct requests whose rows it held.
        tokens: Real tokens.
        padded_tokens: Rows × longest row.
        seconds: Wall time of the call.
    """

    rows: int
    requests: int
    tokens: int
    padded_tokens: int
    seconds: float


_ids = itertools.count()


class EncodeJob:
    """A submitted request; ``future`` resolves to an :class:`EncodeResult`.

    Example:
        >>> job = batcher.submit(["hello"], task="query")  # doctest: +SKIP
        >>> job.future.result().vectors.shape  # doctest: +SKIP
        (1, 384)
    """

    def __init__(self, texts: list[str], task: Task, dim: int | None, truncation: Truncation) -> None:
        self.id = next(_ids)
        self.texts = texts
        self.task = task
        self.dim = dim
        self.truncation = truncation
        self.future: concurrent.futures.Future[EncodeResult] = concurrent.futures.Future()
        self.enqueued = time.monotonic()
        # Worker-only state (the worker thread alone reads and writes these).
        self.rows: list[list[int]] | None = None
        self.next_row = 0
        self.done_rows = 0
        self.vectors: FloatArray | None = None
        self.tokens = 0
        self.truncated = 0
        self._cancelled = threading.Event()

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`cancel` was called."""
        return self._cancelled.is_set()

    def cancel(self) -> None:
        """Drop this request's queued rows (rows already in a model call finish and are discarded)."""
        self._cancelled.set()
        self.future.cancel()


class DynamicBatcher:
    """Merges concurrent encode requests into token-bounded model calls on one worker thread.

    Args:
        encoder: The :class:`~ogma.TextEncoder` to share. Only the worker thread calls it.
        max_batch_tokens: Padded tokens per model call (rows × longest row; a single
            longer row still runs, alone). Default: the encoder's ``max_batch_tokens``.
        max_batch_rows: Rows per model call. Default: the encoder's ``batch_size``.
        max_wait_ms: How long the oldest queued request may wait for others to join its
            batch (0: never wait; whatever is queued still merges).
        max_queue: Texts that may wait at once; more is refused with :class:`QueueFullError`.
        queue_timeout: Seconds a request may wait before its first model call
            (``None``: no limit); past it the request fails with :class:`QueueTimeoutError`.
        merge: ``False`` turns merging off (one request per model call), to measure
            what batching buys.
        truncation: ``"count"`` (texts longer than the window are cut and counted in
            :attr:`EncodeResult.truncated`) or ``"refuse"`` (:class:`InputTooLongError`).
        on_batch: Called on the worker thread after each model call with its :class:`BatchStats`.

    Raises:
        ValueError: An option is out of range.

    Example:
        >>> batcher = DynamicBatcher(encoder, max_wait_ms=5, max_queue=4096)  # doctest: +SKIP
        >>> batcher.encode(["Paris is in France."], task="document").shape  # doctest: +SKIP
        (1, 384)
        >>> batcher.close()  # doctest: +SKIP
    """

    def __init__(
        self,
        encoder: TextEncoder,
        *,
        max_batch_tokens: int | None = None,
        max_batch_rows: int | None = None,
        max_wait_ms: float = 5.0,
        max_queue: int = 16384,
        queue_timeout: float | None = None,
        merge: bool = True,
        truncation: Truncation = "count",
        on_batch: Callable[[BatchStats], None] | None = None,
    ) -> None:
        tokens = encoder.max_batch_tokens if max_batch_tokens is None else max_batch_tokens
        rows = encoder.batch_size if max_batch_rows is None else max_batch_rows
        for name, value in (("max_batch_tokens", tokens), ("max_batch_rows", rows), ("max_queue", max_queue)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if isinstance(max_wait_ms, bool) or not isinstance(max_wait_ms, (int, float)) or not max_wait_ms >= 0:
            raise ValueError(f"max_wait_ms must be a number of milliseconds >= 0, got {max_wait_ms!r}")
        if queue_timeout is not None and (
            isinstance(queue_timeout, bool) or not isinstance(queue_timeout, (int, float)) or not queue_timeout > 0
        ):
            raise ValueError(f"queue_timeout must be None or a number of seconds > 0, got {queue_timeout!r}")
        if truncation not in ("count", "refuse"):
            raise ValueError(f"truncation must be 'count' or 'refuse', got {truncation!r}")
        self.encoder = encoder
        self.max_batch_tokens = tokens
        self.max_batch_rows = rows
        self.max_wait = float(max_wait_ms) / 1000.0
        self.max_queue = max_queue
        self.queue_timeout = None if queue_timeout is None else float(queue_timeout)
        self.merge = merge
        self.truncation: Truncation = truncation
        self.on_batch = on_batch
        self._cond = threading.Condition()
        self._pending: deque[EncodeJob] = deque()
        self._queued_rows = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._rows_per_second = 0.0

    # -- the encoder face --------------------------------------------------------------
    @property
    def model_id(self) -> str:
        """The shared encoder's model id."""
        return self.encoder.model_id

    @property
    def dim(self) -> int:
        """The shared encoder's output dimension."""
        return self.encoder.dim

    @property
    def matryoshka_dims(self) -> tuple[int, ...]:
        """The shared encoder's Matryoshka dims."""
        return self.encoder.matryoshka_dims

    @property
    def task_scheme_name(self) -> str:
        """The shared encoder's task scheme."""
        return self.encoder.task_scheme_name

    @property
    def queue_depth(self) -> int:
        """Texts waiting (queued rows not yet in a model call)."""
        return self._queued_rows

    def encode_queries(self, texts: Sequence[str], *, dim: int | None = None) -> FloatArray:
        """Embed queries through the batcher (blocking; long texts as :meth:`ogma.TextEncoder.encode` reads them)."""
        return self.encode(texts, task="query", dim=dim, long_text=DEFAULT_LONG_TEXT)

    def encode_documents(self, texts: Sequence[str], *, dim: int | None = None) -> FloatArray:
        """Embed documents through the batcher (blocking; long texts as :meth:`ogma.TextEncoder.encode` reads them)."""
        return self.encode(texts, task="document", dim=dim, long_text=DEFAULT_LONG_TEXT)

    def embed_documents(self, texts: list[str]) -> FloatArray:
        """The embedder protocol: document embeddings."""
        return self.encode(texts, task="document", long_text=DEFAULT_LONG_TEXT)

    def embed_query(self, text: str) -> FloatArray:
        """The embedder protocol: one query embedding."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {type(text).__name__}")
        return self.encode([text], task="query", long_text=DEFAULT_LONG_TEXT)[0]

    # -- submitting ---------------------------------------------------------------------
    def submit(
        self,
        texts: Sequence[str],
        *,
        task: Task = "symmetric",
        dim: int | None = None,
        truncation: Truncation | None = None,
    ) -> EncodeJob:
        """Queue a request and return at once.

        Args:
            texts: A list of strings (empty strings allowed).
            task: ``"query"``, ``"document"`` or ``"symmetric"``.
            dim: Matryoshka truncation of the result (``None``: full dimension).
            truncation: Override the batcher's ``truncation`` for this request.

        Returns:
            An :class:`EncodeJob`; its ``future`` resolves to an :class:`EncodeResult`.

        Raises:
            TypeError: ``texts`` is not a list of strings (the message names the index).
            ValueError: Unknown task, bad ``dim``, a text that is not valid Unicode, or more
                texts than the queue holds.
            QueueFullError: The queue has no room for these texts now.
            BatcherClosedError: The batcher is closing.
        """
        items, _ = check_encode_inputs(check_texts(texts), task)
        check_dim(dim, self.encoder.dim, self.matryoshka_dims)
        return self._enqueue(items, task, dim, truncation)

    def _enqueue(self, items: list[str], task: Task, dim: int | None, truncation: Truncation | None) -> EncodeJob:
        """Queue ``items``, already checked as texts for ``task`` and ``dim`` (:meth:`submit` checks them)."""
        full = self.encoder.dim
        mode = self.truncation if truncation is None else truncation
        if mode not in ("count", "refuse"):
            raise ValueError(f"truncation must be 'count' or 'refuse', got {mode!r}")
        if len(items) > self.max_queue:
            raise ValueError(
                f"{len(items)} texts is more than the queue holds (max_queue={self.max_queue}); send fewer per request"
            )
        job = EncodeJob(items, task, dim, mode)
        if not items:
            job.future.set_result(EncodeResult(np.zeros((0, dim or full), dtype=np.float32), 0, 0))
            return job
        with self._cond:
            if self._closing:
                raise BatcherClosedError("the batcher is shutting down and takes no new requests")
            if self._queued_rows + len(items) > self.max_queue:
                raise QueueFullError(
                    f"the queue is full ({self._queued_rows} of {self.max_queue} texts waiting); retry later",
                    retry_after=self._retry_after(),
                )
            self._queued_rows += len(items)
            self._pending.append(job)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ogma-batcher", daemon=True)
                self._thread.start()
            self._cond.notify_all()
        return job

    def encode(
        self,
        texts: Sequence[str],
        *,
        task: Task = "symmetric",
        dim: int | None = None,
        timeout: float | None = None,
        long_text: LongText | None = None,
    ) -> FloatArray:
        """Submit and wait (blocking); same arguments as :meth:`submit`, ``long_text`` as in :meth:`encode_async`.

        Raises:
            TimeoutError: No answer within ``timeout`` seconds (the request is cancelled).
        """
        job, plan = self._submit_texts(texts, task, dim, None, long_text)
        try:
            result = job.future.result(timeout)
        except concurrent.futures.TimeoutError:
            job.cancel()
            raise
        if result.truncated:
            logger.warning(
                "%d of %d texts were longer than the window of %s and were cut there; pass long_text='mean' to "
                "read them whole",
                result.truncated,
                len(texts),
                self.model_id,
            )
        return self._combine(result, plan, dim).vectors

    async def encode_async(
        self,
        texts: Sequence[str],
        *,
        task: Task = "symmetric",
        dim: int | None = None,
        truncation: Truncation | None = None,
        long_text: LongText | None = None,
    ) -> EncodeResult:
        """Submit and await; cancelling the awaiting task drops the request's queued rows.

        ``long_text`` (``None``: the batcher's ``truncation``) reads a text longer than the
        window as :meth:`ogma.TextEncoder.encode` does: ``"mean"`` embeds its overlapping
        windows and returns their normalised mean (the local encoder's default, same
        vectors), ``"truncate"`` cuts it and counts it, ``"error"`` refuses it
        (:class:`InputTooLongError`).

        Example:
            >>> result = await batcher.encode_async(["hi"], task="query")  # doctest: +SKIP
            >>> result.vectors.shape, result.truncated  # doctest: +SKIP
            ((1, 384), 0)
        """
        job, plan = self._submit_texts(texts, task, dim, truncation, long_text)
        try:
            result = await asyncio.wrap_future(job.future)
        except asyncio.CancelledError:
            job.cancel()
            raise
        return self._combine(result, plan, dim)

    def _submit_texts(
        self,
        texts: Sequence[str],
        task: Task,
        dim: int | None,
        truncation: Truncation | None,
        long_text: LongText | None,
    ) -> tuple[EncodeJob, WindowPlan | None]:
        """Submit ``texts`` (their windows with ``long_text="mean"``); ``(job, plan or None)``."""
        if long_text is None:
            return self.submit(texts, task=task, dim=dim, truncation=truncation), None
        if long_text not in LONG_TEXT_MODES:
            raise ValueError(f"long_text must be one of {', '.join(LONG_TEXT_MODES)}; got {long_text!r}")
        if long_text != "mean":
            mode: Truncation = "refuse" if long_text == "error" else "count"
            return self.submit(texts, task=task, dim=dim, truncation=mode), None
        items, _ = check_encode_inputs(check_texts(texts), task)
        check_dim(dim, self.encoder.dim, self.matryoshka_dims)
        plan = self.encoder.window_plan(items, task=task)
        if not plan.long:
            return self._enqueue(items, task, dim, "count"), None
        return self._enqueue(plan.texts, task, None, "count"), plan

    def _combine(self, result: EncodeResult, plan: WindowPlan | None, dim: int | None) -> EncodeResult:
        """One vector per text from its windows' vectors (the normalised mean, then ``dim``)."""
        if plan is None:
            return result
        return EncodeResult(self.encoder.join_windows(result.vectors, plan, dim=dim), result.tokens, result.truncated)

    # -- shutting down -------------------------------------------------------------------
    def close(self, *, drain: bool = True, timeout: float | None = None) -> None:
        """Stop taking work; with ``drain`` finish what was accepted, else cancel it.

        Returns once the worker has stopped (or ``timeout`` seconds passed).
        """
        with self._cond:
            self._closing = True
            if not drain:
                for job in self._pending:
                    job.cancel()
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> DynamicBatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the worker ------------------------------------------------------------------------
    def _retry_after(self) -> int:
        rate = self._rows_per_second
        return 1 if rate <= 0 else max(1, math.ceil(self._queued_rows / rate))

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closing:
                    self._cond.wait()
                if not self._pending:
                    return
            try:
                self._step()
            except Exception:  # the worker must survive anything a step throws
                logger.exception("the batcher's worker hit an unexpected error; failing the queued requests")
                with self._cond:
                    jobs = list(self._pending)
                    self._pending.clear()
                    self._queued_rows = 0
                for job in jobs:
                    _fail(job, BatcherClosedError("the batcher hit an internal error; see the server log"))

    def _step(self) -> None:
        """Gather one batch's worth of rows (waiting up to max_wait) and run it."""
        while True:
            taken = self._gather()
            if taken is None:
                return
            rows, full = taken
            if full or not self.merge or self.max_wait == 0:
                break
            oldest = rows[0][0].enqueued
            remaining = oldest + self.max_wait - time.monotonic()
            if remaining <= 0:
                break
            with self._cond:
                if not self._closing:
                    self._cond.wait(remaining)
        self._take_and_run(rows)

    def _gather(self) -> tuple[list[tuple[EncodeJob, int]], bool] | None:
        """Plan the next batch from the queue head without taking rows; ``(rows, budget full)``."""
        now = time.monotonic()
        with self._cond:
            jobs = list(self._pending)
        rows: list[tuple[EncodeJob, int]] = []
        longest = 0
        task: str | None = None
        for job in jobs:
            if not self._admit(job, now):
                continue
            if task is None:
                task = job.task
            elif job.task != task:
                continue
            token_rows = job.rows or []
            for position in range(job.next_row, len(token_rows)):
                width = max(longest, len(token_rows[position]))
                if rows and ((len(rows) + 1) * width > self.max_batch_tokens or len(rows) >= self.max_batch_rows):
                    return rows, True
                rows.append((job, position))
                longest = width
            if not self.merge:
                return rows, True
        return (rows, False) if rows else None

    def _admit(self, job: EncodeJob, now: float) -> bool:
        """Drop cancelled, timed-out and refused jobs; tokenise a job on first sight."""
        if job.cancelled:
            self._drop(job)
            return False
        if job.rows is None:
            if self.queue_timeout is not None and now - job.enqueued > self.queue_timeout:
                waited = now - job.enqueued
                self._drop(job)
                _fail(
                    job,
                    QueueTimeoutError(
                        f"the request waited {waited:.1f} s in the queue, longer than queue_timeout="
                        f"{self.queue_timeout:g} s; the server is overloaded, retry later",
                        retry_after=self._retry_after(),
                    ),
                )
                return False
            try:
                self._tokenize(job)
            except Exception as exc:  # a bad request fails alone
                self._drop(job)
                _fail(job, exc)
                return False
        return True

    def _tokenize(self, job: EncodeJob) -> None:
        tokenizer = self.encoder.tokenizer
        rows = tokenizer.token_ids(job.texts, job.task)
        limit = tokenizer.max_length
        for index, row in enumerate(rows):
            if len(row) >= limit and _is_truncated(self.encoder, job.texts[index], job.task):
                if job.truncation == "refuse":
                    raise InputTooLongError(
                        f"input {index} is longer than the model's window of {limit} tokens; shorten it, or let "
                        "the server truncate it (truncation='count')",
                        index=index,
                    )
                job.truncated += 1
        job.rows = rows
        job.tokens = sum(len(row) for row in rows)
        job.vectors = np.zeros((len(rows), self.encoder.dim), dtype=np.float32)

    def _drop(self, job: EncodeJob) -> None:
        with self._cond:
            try:
                self._pending.remove(job)
            except ValueError:
                return
            left = len(job.texts) - job.next_row
            self._queued_rows -= left
        if job.cancelled:
            _fail(job, concurrent.futures.CancelledError())

    def _take_and_run(self, taken: list[tuple[EncodeJob, int]]) -> None:
        jobs: dict[int, EncodeJob] = {}
        for job, position in taken:
            jobs[job.id] = job
            job.next_row = max(job.next_row, position + 1)
        with self._cond:
            self._queued_rows -= len(taken)
            for job in jobs.values():
                if job.rows is not None and job.next_row >= len(job.rows) and job in self._pending:
                    self._pending.remove(job)
        task = taken[0][0].task
        started = time.perf_counter()
        try:
            self._run_rows(taken, task)
        except Exception as exc:
            if len(jobs) == 1:
                for job in jobs.values():
                    self._abandon(job, exc)
            else:  # one request's rows at a time: only the bad one fails
                for job in jobs.values():
                    mine = [(j, p) for j, p in taken if j is job]
                    try:
                        self._run_rows(mine, task)
                    except Exception as one_exc:
                        self._abandon(job, one_exc)
        seconds = time.perf_counter() - started
        if seconds > 0:
            rate = len(taken) / seconds
            self._rows_per_second = rate if self._rows_per_second == 0 else 0.8 * self._rows_per_second + 0.2 * rate
        for job in jobs.values():
            self._finish_if_done(job)

    def _run_rows(self, taken: list[tuple[EncodeJob, int]], task: Task) -> None:
        token_rows = [job.rows[position] for job, position in taken]  # type: ignore[index]
        for plan in plan_batches(
            [len(row) for row in token_rows], batch_size=self.max_batch_rows, max_batch_tokens=self.max_batch_tokens
        ):
            started = time.perf_counter()
            vectors = self.encoder.embed_token_ids([token_rows[i] for i in plan], task=task)
            seconds = time.perf_counter() - started
            for row, i in enumerate(plan):
                job, position = taken[i]
                job.vectors[position] = vectors[row]  # type: ignore[index]
                job.done_rows += 1
            if self.on_batch is not None:
                widths = [len(token_rows[i]) for i in plan]
                stats = BatchStats(
                    rows=len(plan),
                    requests=len({taken[i][0].id for i in plan}),
                    tokens=sum(widths),
                    padded_tokens=len(plan) * max(widths),
                    seconds=seconds,
                )
                try:
                    self.on_batch(stats)
                except Exception:  # a metrics hook must not break serving
                    logger.exception("on_batch hook failed")

    def _abandon(self, job: EncodeJob, exc: BaseException) -> None:
        self._drop(job)
        job.done_rows = -1  # never finishes normally
        _fail(job, exc)

    def _finish_if_done(self, job: EncodeJob) -> None:
        if job.rows is None or job.done_rows != len(job.rows) or job.future.done():
            return
        vectors = job.vectors
        if vectors is None:
            return
        if job.dim is not None and job.dim != vectors.shape[1]:
            vectors = truncate(vectors, job.dim, matryoshka_dims=self.matryoshka_dims, model_id=self.model_id)
        with contextlib.suppress(concurrent.futures.InvalidStateError):  # cancelled while its last rows ran
            job.future.set_result(EncodeResult(vectors, job.tokens, job.truncated))


def _fail(job: EncodeJob, exc: BaseException) -> None:
    if job.future.done():
        return
    try:
        if isinstance(exc, concurrent.futures.CancelledError):
            job.future.cancel()
        else:
            job.future.set_exception(exc)
    except concurrent.futures.InvalidStateError:
        pass


def _is_truncated(encoder: TextEncoder, text: str, task: str) -> bool:
    """Whether ``text`` is longer than the encoder's window (only asked for rows that fill it)."""
    tokenizer = encoder.tokenizer
    limit = tokenizer.max_length
    prefix = tokenizer.scheme.prefix_for(task)
    cap = limit * 32
    if len(text) > cap:
        return True  # far more characters than the window can hold
    encoding = tokenizer.tokenizer.encode(prefix + text if prefix else text)
    if encoding.overflowing:
        return True
    return tokenizer.scheme.kind == "ogma" and len(encoding.ids) > limit
