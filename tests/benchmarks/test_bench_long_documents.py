"""benchmarks/bench_long_documents.py: the text-only segmentation cuts where topics change."""

from __future__ import annotations

import re

import numpy as np

from tests.helpers.benchmark_scripts import load_benchmark

load_benchmark("_common")  # the script imports its sibling as a top-level module
bench = load_benchmark("bench_long_documents")


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


def test_sentence_units_by_line_or_by_punctuation() -> None:
    text = "One two.\nthree four. Five six\nseven.\n\nEight nine. Ten"
    spans = _words(text)
    assert bench.sentence_units(text, spans, lines=True) == [(0, 2), (2, 4), (4, 6), (6, 7), (7, 9), (9, 10)]
    # a wrapped line is no unit by punctuation; a blank line always is
    assert bench.sentence_units(text, spans, lines=False) == [(0, 2), (2, 4), (4, 7), (7, 9), (9, 10)]


def test_depth_cuts_at_the_dips_between_topics() -> None:
    a, b, c = np.eye(3)
    topic = [a, a + 0.1 * b, a, b, b + 0.1 * c, b, c, c]  # three topics: cuts before sentences 3 and 6
    vectors = np.array(topic, dtype=np.float64)
    assert bench.depth_cuts(vectors, c=0.0, block=1) == [3, 6]
    assert bench.depth_cuts(vectors, c=0.0, block=2) == [3, 6]
    assert bench.depth_cuts(np.array([a, a, a, a]), c=0.0, block=1) == []  # no dip, no cut
    assert bench.depth_cuts(np.array([a, b]), c=0.0, block=1) == []  # too short to find a dip
