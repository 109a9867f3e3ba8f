"""The server's counters and histograms, rendered in the Prometheus text format (version 0.0.4).

Written here rather than with ``prometheus_client``: a dozen series do not justify a
dependency, and this keeps one registry per app (two apps in one process never mix).

Example:
    >>> metrics = Metrics()
    >>> metrics.request_started()
    >>> metrics.observe_request("/v1/embeddings", 200, 0.012)
    >>> 'ogma_requests_total{route="/v1/embeddings",status="200"} 1' in metrics.render(queue_depth=0)
    True
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from ogma.batching import BatchStats

__all__ = ["CONTENT_TYPE", "Histogram", "Metrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
TOKEN_BUCKETS = (16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768)


class Histogram:
    """A cumulative histogram with fixed upper bounds.

    Example:
        >>> h = Histogram((1, 2))
        >>> h.observe(1.5)
        >>> h.counts, h.total, h.count
        ([0, 1, 1], 1.5, 1)
    """

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # cumulative; the last is +Inf
        self.total = 0.0
        self.count = 0

    def observe(self, value: float) -> None:
        """Count one value."""
        for i, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[i] += 1
        self.counts[-1] += 1
        self.total += value
        self.count += 1

    def lines(self, name: str, labels: str = "") -> list[str]:
        """The ``_bucket``, ``_sum`` and ``_count`` lines."""
        sep = "," if labels else ""
        out = [
            f'{name}_bucket{{{labels}{sep}le="{_number(bound)}"}} {count}'
            for bound, count in zip(self.bounds, self.counts, strict=False)
        ]
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.counts[-1]}')
        suffix = f"{{{labels}}}" if labels else ""
        out.append(f"{name}_sum{suffix} {_number(self.total)}")
        out.append(f"{name}_count{suffix} {self.count}")
        return out


class Metrics:
    """Everything ``/metrics`` reports; thread-safe (the batcher reports from its worker thread).

    Series: ``ogma_requests_total{route,status}``, ``ogma_request_duration_seconds{route}``,
    ``ogma_requests_in_flight``,
    ``ogma_queue_depth``, ``ogma_batch_rows``, ``ogma_batch_tokens`` (real) and
    ``ogma_batch_padded_tokens``, ``ogma_batch_requests``, ``ogma_batch_duration_seconds``,
    ``ogma_input_texts_total``, ``ogma_input_tokens_total``, ``ogma_truncated_inputs_total``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: dict[tuple[str, int], int] = {}
        self.latency: dict[str, Histogram] = {}
        self.batch_rows = Histogram(ROW_BUCKETS)
        self.batch_requests = Histogram(ROW_BUCKETS)
        self.batch_tokens = Histogram(TOKEN_BUCKETS)
        self.batch_padded = Histogram(TOKEN_BUCKETS)
        self.batch_seconds = Histogram(LATENCY_BUCKETS)
        self.texts = 0
        self.tokens = 0
        self.truncated = 0
        self.in_flight = 0

    def request_started(self) -> None:
        """One more request being answered."""
        with self._lock:
            self.in_flight += 1

    def observe_request(self, route: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        with self._lock:
            self.in_flight -= 1
            key = (route, status)
            self.requests[key] = self.requests.get(key, 0) + 1
            self.latency.setdefault(route, Histogram(LATENCY_BUCKETS)).observe(seconds)

    def observe_batch(self, stats: BatchStats) -> None:
        """Count one model call (the batcher's ``on_batch`` hook)."""
        with self._lock:
            self.batch_rows.observe(stats.rows)
            self.batch_requests.observe(stats.requests)
            self.batch_tokens.observe(stats.tokens)
            self.batch_padded.observe(stats.padded_tokens)
            self.batch_seconds.observe(stats.seconds)

    def observe_inputs(self, texts: int, tokens: int, truncated: int) -> None:
        """Count embedded texts, their tokens and how many were truncated."""
        with self._lock:
            self.texts += texts
            self.tokens += tokens
            self.truncated += truncated

    def render(self, *, queue_depth: int) -> str:
        """The exposition text."""
        with self._lock:
            lines = [
                "# HELP ogma_requests_total Requests answered, by route and HTTP status.",
                "# TYPE ogma_requests_total counter",
            ]
            for (route, status), count in sorted(self.requests.items()):
                lines.append(f'ogma_requests_total{{route="{_label(route)}",status="{status}"}} {count}')
            lines += [
                "# HELP ogma_request_duration_seconds Time from request to answer, by route.",
                "# TYPE ogma_request_duration_seconds histogram",
            ]
            for route, histogram in sorted(self.latency.items()):
                lines += histogram.lines("ogma_request_duration_seconds", f'route="{_label(route)}"')
            lines += [
                "# HELP ogma_requests_in_flight Requests being answered now (this one included).",
                "# TYPE ogma_requests_in_flight gauge",
                f"ogma_requests_in_flight {self.in_flight}",
                "# HELP ogma_queue_depth Texts waiting for a model call.",
                "# TYPE ogma_queue_depth gauge",
                f"ogma_queue_depth {queue_depth}",
            ]
            for name, help_text, histogram in (
                ("ogma_batch_rows", "Texts per embedding model call.", self.batch_rows),
                ("ogma_batch_requests", "Requests merged into one embedding model call.", self.batch_requests),
                ("ogma_batch_tokens", "Real tokens per embedding model call.", self.batch_tokens),
                ("ogma_batch_padded_tokens", "Padded tokens (rows x longest) per model call.", self.batch_padded),
                ("ogma_batch_duration_seconds", "Wall time of one embedding model call.", self.batch_seconds),
            ):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} histogram", *histogram.lines(name)]
            for name, help_text, value in (
                ("ogma_input_texts_total", "Texts embedded.", self.texts),
                ("ogma_input_tokens_total", "Tokens the model read for them.", self.tokens),
                ("ogma_truncated_inputs_total", "Texts cut to the model's window.", self.truncated),
            ):
                lines += [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]
        return "\n".join(lines) + "\n"


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
