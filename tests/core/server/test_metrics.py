"""The Prometheus text the server renders."""

from __future__ import annotations

from ogma.batching import BatchStats
from ogma.server.metrics import Histogram, Metrics


def test_histogram_is_cumulative() -> None:
    histogram = Histogram((1, 10))
    for value in (0.5, 5, 50):
        histogram.observe(value)
    assert histogram.lines("h") == [
        'h_bucket{le="1"} 1',
        'h_bucket{le="10"} 2',
        'h_bucket{le="+Inf"} 3',
        "h_sum 55.5",
        "h_count 3",
    ]


def test_render_has_every_series() -> None:
    metrics = Metrics()
    metrics.request_started()
    metrics.observe_request('/v1/"x"', 503, 0.2)
    metrics.observe_batch(BatchStats(rows=3, requests=2, tokens=30, padded_tokens=36, seconds=0.01))
    metrics.observe_inputs(3, 30, 1)
    text = metrics.render(queue_depth=7)
    assert 'ogma_requests_total{route="/v1/\\"x\\"",status="503"} 1' in text
    assert "ogma_queue_depth 7" in text and "ogma_requests_in_flight 0" in text
    assert 'ogma_batch_rows_bucket{le="4"} 1' in text and "ogma_batch_padded_tokens_sum 36" in text
    assert "ogma_truncated_inputs_total 1" in text and "ogma_input_tokens_total 30" in text
    for line in text.splitlines():
        assert line.startswith("#") or len(line.rsplit(" ", 1)) == 2
