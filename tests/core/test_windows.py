"""Windows of long texts: planning, and the encoder's ``long_text`` option and ``encode_windows``."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from ogma import TextEncoder
from ogma.compress import normalize
from ogma.windows import long_indices, mean_of_windows, plan_windows
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
