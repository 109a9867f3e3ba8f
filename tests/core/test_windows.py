"""Windows of long texts: planning, and the encoder's ``long_text`` option and ``encode_windows``."""

from __future__ import annotations

import itertools
import logging
import re
from pathlib import Path

import numpy as np
import pytest

from ogma import TextEncoder
from ogma.compress import normalize
from ogma.windows import (
    STORE_FINE_WINDOWS,
    FineWindows,
    long_indices,
    mean_of_windows,
    plan_windows,
    sentence_windows,
)
from tests.helpers.model_fixtures import REAL_MODEL

FILLER = "the a of and to in is was for on with as by at from "  # 15 words of the tiny vocabulary


def test_plan_windows_splits_only_long_texts() -> None:
    plan = plan_windows(["one two", "a b c d e f g h i j"], None, max_tokens=4, overlap=1)
    assert plan.owners[0] == 0 and plan.texts[0] == "one two"
    assert all(o == 1 for o in plan.owners[1:])
    assert plan.long == 1 and plan.first_long() == 1
    # every word of the long text is in some window, windows hold at most 4 words
    words = {w for text in plan.texts[1:] for w in text.split()}
    assert words == set("abcdefghij")
    assert max(len(t.split()) for t in plan.texts) <= 4
    assert long_indices(["one two", "a b c d e"], None, max_tokens=4) == [1]


def test_plan_windows_edge_cases() -> None:
    assert plan_windows([], None, max_tokens=4).texts == []
    assert plan_windows(["", "   "], None, max_tokens=4).texts == ["", "   "]  # no tokens: its own window
    # an overlap as large as the window is lowered rather than looping
    plan = plan_windows(["a b c d e f"], None, max_tokens=2, overlap=5)
    assert plan.long == 1 and len(plan.texts) >= 3
    with pytest.raises(ValueError, match="max_tokens"):
        plan_windows(["a"], None, max_tokens=0)
    with pytest.raises(ValueError, match="overlap"):
        plan_windows(["a"], None, max_tokens=2, overlap=-1)


def test_mean_of_windows() -> None:
    vectors = np.array([[1, 0], [0, 1], [2, 2]], dtype=np.float32)
    assert mean_of_windows(vectors, [0, 0, 1], 2).tolist() == [[0.5, 0.5], [2.0, 2.0]]


@pytest.fixture
def small_window(tiny_model_dir: Path) -> TextEncoder:
    """The tiny BERT-like model with an 8-token window (6 tokens of text)."""
    return TextEncoder(tiny_model_dir, max_length=8)


def test_max_tokens_is_the_window_less_special_tokens(small_window: TextEncoder) -> None:
    assert small_window.max_length == 8
    assert small_window.max_tokens == 6


def test_long_text_modes(small_window: TextEncoder, caplog: pytest.LogCaptureFixture) -> None:
    texts = ["cat dog", FILLER + "music", "paris france", FILLER * 2]
    windows, owners = small_window.encode_windows(texts)
    assert owners[0] == 0 and owners.count(1) > 1 and owners.count(3) > owners.count(1)
    with caplog.at_level(logging.WARNING, logger="ogma.encoder"):
        cut = small_window.encode_documents(texts, long_text="truncate")
    warnings = [r for r in caplog.records if r.name == "ogma.encoder"]
    assert len(warnings) == 1  # once per call, counting the texts cut
    assert "2 of 4 texts" in warnings[0].getMessage() and "6-token window" in warnings[0].getMessage()
    caplog.clear()
    mean = small_window.encode_documents(texts)  # the default reads long texts whole
    assert not [r for r in caplog.records if r.name == "ogma.encoder"]
    index = np.asarray(owners)
    for i in range(len(texts)):
        expected = normalize(windows[index == i].mean(axis=0, keepdims=True))[0]
        np.testing.assert_allclose(mean[i], expected, atol=1e-6)
    # texts that fit embed the same under every mode; long ones differ from their first window
    np.testing.assert_allclose(cut[[0, 2]], mean[[0, 2]], atol=1e-6)
    np.testing.assert_allclose(cut[1], windows[index == 1][0], atol=1e-6)
    assert not np.allclose(cut[1], mean[1], atol=1e-3)
    with pytest.raises(ValueError, match=r"texts\[1\] is longer than the 6-token window .*2 of 4"):
        small_window.encode_documents(texts, long_text="error")
    np.testing.assert_allclose(small_window.encode_documents(texts[:1], long_text="error"), cut[:1], atol=1e-6)
    with pytest.raises(ValueError, match="long_text must be one of mean, truncate, error"):
        small_window.encode(texts, long_text="drop")  # type: ignore[arg-type]


def test_join_windows_is_what_encode_returns(small_window: TextEncoder) -> None:
    texts = ["cat dog", FILLER + "music", FILLER * 2]
    plan = small_window.window_plan(texts, task="document")
    assert plan.long == 2 and len(plan.texts) > len(texts)
    windows = small_window.encode_documents(plan.texts, long_text="truncate")
    joined = small_window.join_windows(windows, plan)
    np.testing.assert_allclose(joined, small_window.encode_documents(texts), atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(joined, axis=1), 1.0, atol=1e-5)
    with pytest.warns(UserWarning, match="Matryoshka"):
        cut = small_window.join_windows(windows, plan, dim=8)
    assert cut.shape == (3, 8)
    rows = small_window.encode_documents(texts[:1])
    assert small_window.join_windows(rows, None) is rows  # one row per text already: unchanged


def test_embed_query_reads_a_long_query_whole(small_window: TextEncoder) -> None:
    query = FILLER + "music song"
    whole = small_window.embed_query(query)
    cut = small_window.embed_query(query, long_text="truncate")
    assert whole.shape == cut.shape == (16,)
    assert not np.allclose(whole, cut, atol=1e-3)


@pytest.mark.integration
def test_real_model_reads_past_token_256() -> None:
    """With all-MiniLM-L6-v2, an answer past token 256 of a long document is found."""
    from ogma.store import Store

    encoder = TextEncoder(REAL_MODEL)
    filler = (
        "The committee met on Tuesday to review the quarterly budget, the hiring plan and the office move. "
        "Members discussed printer maintenance, parking permits and the schedule of the annual picnic. "
    )
    answer = "The secret launch code of the lighthouse project is written on the blue whiteboard in room 42."
    long_doc = filler * 12 + answer
    assert encoder.count_tokens([filler * 12], task="document")[0] == encoder.max_length  # the answer is past it
    others = [filler * 3, "Lighthouses guide ships along rocky coasts at night.", "Room booking opens on Monday."]
    query = "Where is the lighthouse project's launch code written?"
    with Store(":memory:", encoder) as store:
        store.add([long_doc, *others], ids=["long", "a", "b", "c"])
        assert store.search(query, k=1)[0].id == "long"
        assert store.search(query, k=1, mode="hybrid")[0].id == "long"


def test_text_token_ids_counts_past_the_window(small_window: TextEncoder) -> None:
    assert len(small_window.text_token_ids(FILLER * 2)) == 30  # never truncated, no special tokens
    assert len(small_window.text_token_ids("cat dog")) == 2
    with pytest.raises(TypeError, match="text must be a str"):
        small_window.text_token_ids(["cat"])  # type: ignore[arg-type]


def _words(text: str) -> list[tuple[int, int]]:
    return [m.span() for m in re.finditer(r"\S+", text)]


SENTENCES = "One two three. Four five. Six seven eight nine. Ten. Eleven twelve thirteen fourteen fifteen sixteen."


@pytest.mark.parametrize("overlap", [0, 1, 3])
@pytest.mark.parametrize("size", [1, 2, 4, 5, 7, 100])
def test_sentence_windows_cover_the_text_within_the_size(size: int, overlap: int) -> None:
    spans = _words(SENTENCES)
    ranges = sentence_windows(SENTENCES, spans, size=size, overlap=overlap, paragraphs=False)
    assert ranges[0][0] == 0 and ranges[-1][1] == len(spans)
    assert all(0 < j - i <= size for i, j in ranges)
    covered = {k for i, j in ranges for k in range(i, j)}
    assert covered == set(range(len(spans)))  # every token is in a window, none is lost
    for (i0, j0), (i1, j1) in itertools.pairwise(ranges):
        assert i0 < i1 and j0 < j1  # progress: no window repeats or sits inside the previous one
        assert i1 <= j0 and j0 - i1 <= overlap  # shared tokens at most `overlap`, no gap


def test_sentence_windows_pack_whole_sentences() -> None:
    spans = _words(SENTENCES)

    def texts(overlap: int) -> list[str]:
        ranges = sentence_windows(SENTENCES, spans, size=6, overlap=overlap, paragraphs=False)
        return [SENTENCES[spans[i][0] : spans[j - 1][1]] for i, j in ranges]

    # sentences that fit are never cut: as many whole sentences as fit in 6 words
    assert texts(0) == [
        "One two three. Four five.",
        "Six seven eight nine. Ten.",
        "Eleven twelve thirteen fourteen fifteen sixteen.",
    ]
    # an overlap starts the next window at a sentence start among the last 3 words, if there is one
    assert texts(3) == [
        "One two three. Four five.",
        "Four five. Six seven eight nine.",
        "Ten.",
        "Eleven twelve thirteen fourteen fifteen sixteen.",
    ]


def test_sentence_windows_long_sentence_and_paragraphs() -> None:
    text = "a b c d e f g h i j"  # one sentence longer than the window: cut at words
    ranges = sentence_windows(text, _words(text), size=4, overlap=1, paragraphs=False)
    assert ranges == [(0, 4), (3, 7), (6, 10)]
    text = "Alpha beta.\n\nGamma delta. Epsilon."
    spans = _words(text)
    assert sentence_windows(text, spans, size=10, overlap=2, paragraphs=True) == [(0, 2), (2, 5)]
    assert sentence_windows(text, spans, size=10, overlap=2, paragraphs=False) == [(0, 5)]
    assert sentence_windows("", [], size=4, overlap=1, paragraphs=False) == []


def test_fine_windows_options() -> None:
    with pytest.raises(ValueError, match=r"FineWindows.tokens must be a positive integer, got 0"):
        FineWindows(tokens=0)
    with pytest.raises(ValueError, match=r"FineWindows.overlap must be a non-negative integer"):
        FineWindows(tokens=4, overlap=-1)
    with pytest.raises(ValueError, match=r"FineWindows.boundaries must be 'tokens', 'sentences' or 'paragraphs'"):
        FineWindows(tokens=4, boundaries="words")  # type: ignore[arg-type]
    # whole sentences, never across a blank line, at two sizes below the model's window
    assert [(f.tokens, f.overlap, f.boundaries) for f in STORE_FINE_WINDOWS] == [
        (64, 16, "paragraphs"),
        (32, 8, "paragraphs"),
    ]
    with pytest.raises(TypeError, match=r"fine must be an ogma\.windows\.FineWindows, a list or tuple of them"):
        plan_windows(["a b c"], None, max_tokens=2, fine=[FineWindows(1), 1])  # type: ignore[list-item]


def test_several_sizes_of_fine_windows_each_cover_the_text_once() -> None:
    text = "w0 w1. w2 w3 w4. w5.\n\nw6 w7 w8 w9 w10. w11"
    small, large = FineWindows(2, 0, "paragraphs"), FineWindows(4, 1, "paragraphs")
    plan = plan_windows([text, "x"], None, max_tokens=6, overlap=1, fine=(large, small, FineWindows(6)))
    alone = [plan_windows([text], None, max_tokens=6, overlap=1, fine=f).texts[1:] for f in (large, small)]
    windows = [t for t, o in zip(plan.texts, plan.owners, strict=True) if o == 0]
    assert windows[0] == plan_windows([text], None, max_tokens=6, overlap=1).texts[0]  # the document's own
    # the large windows, then the small ones not already there; a size of the full window adds nothing
    assert windows[1:] == alone[0] + [w for w in alone[1] if w not in alone[0]]
    assert set(alone[0]) & set(alone[1]) == {"w0 w1."}  # planned by both sizes, kept once
    assert len(set(windows)) == len(windows)
    assert plan.texts[-1] == "x" and plan.owners[-1] == 1


def test_paragraph_fine_windows_never_span_a_blank_line() -> None:
    text = "w0.\n\nw1 w2. w3 w4 w5.\n\nw6 w7 w8 w9 w10. w11"

    def fine(boundaries: str) -> list[str]:
        plan = plan_windows([text], None, max_tokens=6, overlap=1, fine=FineWindows(4, 1, boundaries))  # type: ignore[arg-type]
        return plan.texts[1:]  # after the first full-width window

    # sentences pack "w0." with the next paragraph's first sentence; paragraphs end a window at the blank line
    assert fine("sentences") == ["w0.\n\nw1 w2.", "w3 w4 w5.", "w6 w7 w8 w9", "w9 w10. w11"]
    assert fine("paragraphs") == ["w0.", "w1 w2.", "w3 w4 w5.", "w6 w7 w8 w9", "w9 w10. w11"]
    # the overlap never reaches back across a blank line, and every word is in a window
    words = {w for window in fine("paragraphs") for w in window.split()}
    assert words == set(text.split())


@pytest.mark.parametrize(
    ("boundaries", "expected"),
    [
        # token windows of 3 words, 1 shared, cut at a sentence end when that keeps them half full
        ("tokens", ["w0 w1 w2", "w2 w3.", "w3. w4 w5.", "w5. w6 w7", "w7 w8. w9"]),
        # whole sentences of at most 3 words; a longer one is cut at words, with a 1-word overlap
        ("sentences", ["w0 w1 w2", "w2 w3.", "w4 w5.", "w6 w7 w8.", "w9"]),
    ],
)
def test_plan_windows_adds_fine_windows_to_long_texts_only(boundaries: str, expected: list[str]) -> None:
    fine = FineWindows(tokens=3, overlap=1, boundaries=boundaries)  # type: ignore[arg-type]
    long = "w0 w1 w2 w3. w4 w5. w6 w7 w8. w9"
    plan = plan_windows(["a b c d e f", long, "", "x y z"], None, max_tokens=6, overlap=2, fine=fine)
    # texts that fit (exactly the window, empty, short) are one window and get no fine windows
    assert [t for t, o in zip(plan.texts, plan.owners, strict=True) if o != 1] == ["a b c d e f", "", "x y z"]
    assert plan.owners == sorted(plan.owners) and plan.long == 1
    windows = [t for t, o in zip(plan.texts, plan.owners, strict=True) if o == 1]
    full = plan_windows([long], None, max_tokens=6, overlap=2).texts
    assert len(full) == 2 and windows[0] == full[0]  # the first full-width window: the document's own
    assert windows[1:] == expected  # then the fine windows over the whole text


def test_plan_windows_one_token_over_the_window(small_window: TextEncoder) -> None:
    tokenizer = small_window._plain_tokenizer()
    budget = small_window.max_tokens
    fits = " ".join(["cat"] * budget)
    over = fits + " dog"
    plan = plan_windows([fits, over], tokenizer, max_tokens=budget, overlap=2, fine=FineWindows(3, 1))
    assert plan.owners.count(0) == 1 and plan.owners.count(1) > 2
    assert all(len(tokenizer.encode(t, add_special_tokens=False).ids) <= budget for t in plan.texts)
    assert plan.texts[-1].endswith("dog")  # the token past the window is in a window


@pytest.mark.parametrize("boundaries", ["tokens", "sentences", "paragraphs"])
def test_plan_windows_unicode(small_window: TextEncoder, boundaries: str) -> None:
    tokenizer = small_window._plain_tokenizer()
    text = "Größe café. 東京は大きい。 Emoji 🙂 here! " * 4 + "naïve end."
    fine = FineWindows(4, 1, boundaries)  # type: ignore[arg-type]
    plan = plan_windows([text], tokenizer, max_tokens=6, overlap=1, fine=fine)
    assert plan.long == 1
    for window in plan.texts:
        assert window in text  # windows are slices of the text: no character is split or re-encoded
        assert len(tokenizer.encode(window, add_special_tokens=False).ids) <= 6
    assert plan.texts[-1].endswith("naïve end.")


def test_encode_windows_fine_windows(small_window: TextEncoder) -> None:
    texts = ["cat dog", FILLER + "music. " + FILLER]
    full, full_owners = small_window.encode_windows(texts, fine=None)
    assert small_window.encode_windows(texts)[1] == full_owners  # 64- and 32-token fine windows: wider than its 6
    both, owners = small_window.encode_windows(texts, fine=FineWindows(3, 1))
    assert owners == sorted(owners) and owners.count(0) == 1 and owners.count(1) > full_owners.count(1)
    np.testing.assert_allclose(both[:2], full[:2], atol=1e-6)  # the short text, the long one's first window
    with pytest.raises(TypeError, match=r"fine must be an ogma\.windows\.FineWindows, a list or tuple of them"):
        small_window.encode_windows(texts, fine=64)  # type: ignore[arg-type]
