"""benchmarks/bench_long_documents.py: the text-only segmentation, late chunking (contextual window vectors)."""

from __future__ import annotations

import re
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from ogma import TextEncoder
from ogma.windows import STORE_FINE_WINDOWS
from tests.helpers.benchmark_scripts import load_benchmark
from tests.helpers.tiny_models import WORDS

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


def test_late_spans_overlap_and_end_at_the_document_end() -> None:
    chunker = SimpleNamespace(width=254, overlap=64)
    spans = bench.LateChunker.spans(chunker, 300, 250)
    assert spans == [(0, 250), (46, 300)]  # the last span is a full one ending at the end
    spans = bench.LateChunker.spans(chunker, 1000, 254)
    assert spans[0] == (0, 254) and spans[-1][1] == 1000
    assert all(b[0] <= a[1] - 64 and b[1] - b[0] == 254 for a, b in pairwise(spans))
    # every window of up to 64 tokens lies whole in some span
    assert all(any(s <= i and i + 64 <= e for s, e in spans) for i in range(0, 1000 - 64))


# sentences and paragraphs over the tiny model's words ("." is a token of its own: [UNK])
LONG = "\n\n".join(
    " ".join(f"{w} {v} {u} {x} city." for w, v, u, x in zip(words, words[1:], words[2:], words[3:], strict=False))
    for words in (WORDS[:14], WORDS[14:28], WORDS[28:42], WORDS[5:19])
)


@pytest.fixture
def late_encoder(tiny_model_dir: Path) -> TextEncoder:
    """The tiny BERT-like model with an 80-token window: 78 tokens of text, so the 64 and 32-token windows apply."""
    return TextEncoder(tiny_model_dir, max_length=80)


def test_late_chunker_pools_every_store_window_in_its_span(late_encoder: TextEncoder, tmp_path: Path) -> None:
    texts = [LONG, "cat dog"]
    plan = late_encoder.window_plan(texts, task="document", fine=STORE_FINE_WINDOWS)
    assert plan.long == 1 and plan.owners.count(0) > 4
    cache = bench.VectorCache(late_encoder, None)
    chunker = bench.LateChunker(late_encoder, None, 64, tmp_path)
    vectors, tokens = chunker.embed(texts, plan, cache)
    assert vectors.shape == (len(plan.texts), late_encoder.dim)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    plain = late_encoder.encode_documents(plan.texts, long_text="truncate")
    # the first window is the first span: the same model input as its plain vector; a short text is its plain vector
    assert np.allclose(vectors[0], plain[0], atol=2e-3)
    assert np.allclose(vectors[-1], plain[-1], atol=1e-6)
    # every other window: the mean of its tokens' states in the span that gives it the most context
    ranges, ids = chunker.document_windows(LONG, plan.texts[:-1])
    spans = chunker.spans(len(ids), ranges[0][1])
    assert tokens == sum(e - s for s, e in spans) + len(late_encoder.text_token_ids("cat dog"))
    cls, sep = late_encoder.tokenizer.token_ids([""], "document")[0]
    for row, (i, j) in enumerate(ranges[1:], start=1):
        s, e = max((x for x in spans if x[0] <= i and j <= x[1]), key=lambda x: min(i - x[0], x[1] - j))
        states = late_encoder._backend.run(np.array([[cls, *ids[s:e], sep]]), np.ones((1, e - s + 2), np.int64))
        expected = states[0, 1 + i - s : 1 + j - s].mean(axis=0)
        assert np.allclose(vectors[row], expected / np.linalg.norm(expected), atol=2e-3)
    # the tiny model's token states depend on position, so a window's vector depends on its span
    assert not np.allclose(vectors[1:-1], plain[1:-1], atol=1e-2)
    # a second run reads every vector from the folder without running the model
    again = bench.LateChunker(late_encoder, None, 64, tmp_path)
    cached, _ = again.embed(texts, plan, cache)
    assert again.tokens == 0 and np.allclose(cached, vectors)


def test_late_chunker_refuses_windows_it_cannot_reproduce(late_encoder: TextEncoder, tmp_path: Path) -> None:
    plan = late_encoder.window_plan([LONG], task="document", fine=STORE_FINE_WINDOWS)
    chunker = bench.LateChunker(late_encoder, None, 64, tmp_path)
    with pytest.raises(AssertionError, match="reproduce"):
        chunker.document_windows(LONG, [plan.texts[0], *plan.texts[2:]])


def test_within_cosine_and_margin() -> None:
    vectors = np.array([[1, 0], [1, 0], [0, 1], [1, 0], [0, 1], [0, 1]], dtype=np.float32)
    owners = np.array([0, 0, 0, 1, 1, 1])
    first = np.array([True, False, False, True, False, False])
    # document 0's fine windows are orthogonal, document 1's equal: the mean is 0.5
    assert bench.within_cosine(vectors, owners, first) == 0.5
    qs = SimpleNamespace(ids=["q"], doc_ids=["a", "b", "c"], qrels={"q": {"b": 1, "c": 0}})
    assert bench.margin(qs, np.array([[0.9, 0.4, 0.2]])) == {"relevant_best": 0.4, "top10_non_relevant": 0.55}
