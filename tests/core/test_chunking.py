"""Token-aware chunking: limits, overlap, boundaries and offsets."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tokenizers import Tokenizer, models, pre_tokenizers

from ogma.chunking import Chunk, chunk_text, iter_chunks, whitespace_token_count


def _word_piece_tokenizer() -> Tokenizer:
    """A tiny offline tokenizer: every 3 letters of a word (or one punctuation mark) is a token."""
    vocab: dict[str, int] = {"[UNK]": 0}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Whitespace(), pre_tokenizers.Split(pattern=r"\w{1,3}", behavior="isolated")]
    )
    return tok


def _check_invariants(text: str, chunks: list[Chunk], max_tokens: int, count: Callable[[str], int]) -> None:
    for index, chunk in enumerate(chunks):
        assert chunk.index == index
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.text == chunk.text.strip()
        assert chunk.tokens == count(chunk.text)
        assert chunk.tokens <= max_tokens or len(chunk.text.split()) == 1
    for prev, nxt in itertools.pairwise(chunks):
        assert prev.start < nxt.start
        if nxt.start > prev.end:
            assert text[prev.end : nxt.start].isspace()  # nothing but whitespace between chunks
    covered = {i for c in chunks for i in range(c.start, c.end)}
    assert {i for i, ch in enumerate(text) if not ch.isspace()} <= covered


def test_empty_and_whitespace_give_no_chunks() -> None:
    assert chunk_text("") == []
    assert chunk_text("  \n\t ") == []


def test_short_text_is_one_chunk() -> None:
    assert chunk_text("  Hello world.  ") == [Chunk(text="Hello world.", start=2, end=14, index=0, tokens=2)]


def test_prefers_paragraph_then_sentence_boundaries() -> None:
    text = "Alpha beta gamma. Delta epsilon zeta.\n\nEta theta iota kappa. Lambda mu."
    chunks = chunk_text(text, max_tokens=8, overlap=0)
    assert [c.text for c in chunks] == ["Alpha beta gamma. Delta epsilon zeta.", "Eta theta iota kappa. Lambda mu."]
    chunks = chunk_text(text, max_tokens=5, overlap=0)
    assert chunks[0].text == "Alpha beta gamma."
    assert chunks[1].text == "Delta epsilon zeta."


def test_falls_back_to_words_when_no_boundary_is_half_full() -> None:
    text = "A. " + " ".join(f"w{i}" for i in range(20))
    chunks = chunk_text(text, max_tokens=6, overlap=0)
    assert chunks[0].text == "A. w0 w1 w2 w3 w4"  # "A." alone would be less than half full
    assert all(c.tokens <= 6 for c in chunks)


def test_overlap_with_whitespace_counter() -> None:
    text = " ".join(f"w{i}" for i in range(30))
    chunks = chunk_text(text, max_tokens=10, overlap=3)
    assert chunks[0].text.split()[-3:] == chunks[1].text.split()[:3]
    _check_invariants(text, chunks, 10, whitespace_token_count)
    assert chunks[-1].text.endswith("w29")


def test_with_tokenizers_offsets() -> None:
    tok = _word_piece_tokenizer()

    def count(s: str) -> int:
        return len(tok.encode(s, add_special_tokens=False).ids)

    text = "Internationalization matters. Tokenizers split words!\n\nSecond paragraph: short words here. " * 5
    chunks = chunk_text(text, max_tokens=12, overlap=2, tokenizer=tok)
    assert len(chunks) > 5
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.tokens == count(chunk.text) <= 12


def test_tokenizer_with_truncation_is_not_mutated() -> None:
    tok = _word_piece_tokenizer()
    tok.enable_truncation(max_length=4)
    text = "word " * 50
    chunks = chunk_text(text, max_tokens=10, overlap=0, tokenizer=tok)
    assert chunks[-1].end == len(text.rstrip())
    assert tok.truncation is not None and tok.truncation["max_length"] == 4


def test_with_a_callable_counter() -> None:
    def count(s: str) -> int:  # ~ one token per 4 characters, plus two special tokens
        return len(s) // 4 + 2

    text = "The quick brown fox jumps over the lazy dog. " * 20
    chunks = chunk_text(text, max_tokens=20, overlap=4, tokenizer=count)
    _check_invariants(text, chunks, 20, count)
    assert all(c.tokens <= 20 for c in chunks)


def test_long_single_word_with_callable() -> None:
    text = "short " + "x" * 500 + " tail"
    chunks = chunk_text(text, max_tokens=10, overlap=0, tokenizer=len)
    assert [c.text for c in chunks] == ["short", "x" * 500, "tail"]


def test_cjk_without_spaces_is_cut_on_tokens() -> None:
    tok = _word_piece_tokenizer()
    text = "日本語のテキストを分割する" * 4
    chunks = chunk_text(text, max_tokens=5, overlap=1, tokenizer=tok)
    assert "".join(c.text for c in chunks).replace(" ", "").startswith(text[:5])
    assert all(c.tokens <= 5 for c in chunks)


@pytest.mark.parametrize(("max_tokens", "overlap"), [(0, 0), (10, 10), (10, -1), (5, 7)])
def test_invalid_sizes(max_tokens: int, overlap: int) -> None:
    with pytest.raises(ValueError, match=r"max_tokens|overlap"):
        chunk_text("text", max_tokens=max_tokens, overlap=overlap)


def test_bad_tokenizer() -> None:
    with pytest.raises(TypeError, match="tokenizer must be"):
        chunk_text("text", tokenizer=42)  # type: ignore[arg-type]

    class NoOffsets:
        def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
            return [1, 2]

    with pytest.raises(TypeError, match="offsets"):
        chunk_text("text", tokenizer=NoOffsets())


@settings(max_examples=150, deadline=None)
@given(
    words=st.lists(
        st.one_of(st.text(alphabet="abcdefgh", min_size=1, max_size=8), st.sampled_from([".", "\n\n", "!", "\n"])),
        max_size=80,
    ),
    max_tokens=st.integers(min_value=1, max_value=12),
    data=st.data(),
)
def test_chunking_properties(words: list[str], max_tokens: int, data: st.DataObject) -> None:
    text = " ".join(words)
    overlap = data.draw(st.integers(min_value=0, max_value=max_tokens - 1))
    chunks = chunk_text(text, max_tokens=max_tokens, overlap=overlap)
    _check_invariants(text, chunks, max_tokens, whitespace_token_count)
    assert bool(chunks) == bool(text.split())


# -- iter_chunks: bounded windows, same chunks ---------------------------------------------

_STREAM_WORDS = ["alpha", "beta", "gamma.", "delta!", "eps", "\n\n", "zeta,", "internationalisation", "x", '(q)"']
_STREAM_WORDS += ["naïve", "日本語", "a.b.c", "  ", "\n", "supercalifragilistic-expialidocious-word"]


def _pieces(text: str, size: int) -> list[str]:
    return [text[k : k + size] for k in range(0, len(text), size)]


@settings(max_examples=60, deadline=None)
@given(
    words=st.lists(st.sampled_from(_STREAM_WORDS), max_size=400),
    max_tokens=st.integers(2, 40),
    overlap_share=st.floats(0, 0.9),
    piece=st.integers(1, 300),
    window=st.integers(1, 400),
    counter=st.sampled_from(["words", "callable", "tokenizer"]),
)
def test_iter_chunks_equals_chunk_text(
    words: list[str], max_tokens: int, overlap_share: float, piece: int, window: int, counter: str
) -> None:
    text = " ".join(words)
    overlap = min(max_tokens - 1, int(max_tokens * overlap_share))
    tokenizer: object = {"words": None, "callable": whitespace_token_count, "tokenizer": _word_piece_tokenizer()}[
        counter
    ]
    whole = chunk_text(text, max_tokens=max_tokens, overlap=overlap, tokenizer=tokenizer)  # type: ignore[arg-type]
    streamed = list(
        iter_chunks(
            _pieces(text, piece),
            max_tokens=max_tokens,
            overlap=overlap,
            tokenizer=tokenizer,  # type: ignore[arg-type]
            window_chars=window,
        )
    )
    assert streamed == whole


def test_iter_chunks_matches_on_a_mid_size_text_with_a_bert_tokenizer() -> None:
    from tests.helpers.tiny_models import WORDS, bert_wordpiece_tokenizer

    vocab = {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2}
    for word in WORDS:
        vocab.setdefault(word, len(vocab))
        vocab.setdefault("##" + word[-2:], len(vocab))
    tokenizer = bert_wordpiece_tokenizer(vocab)
    paragraph = "The capital of France is Paris. Cats sleep; dogs (mostly) play football!\n\n"
    text = "".join(paragraph.replace("Paris", f"Paris{i}") for i in range(2000))  # about 150k characters
    whole = chunk_text(text, max_tokens=60, overlap=8, tokenizer=tokenizer)
    streamed = list(iter_chunks(_pieces(text, 10_000), max_tokens=60, overlap=8, tokenizer=tokenizer))
    assert len(whole) > 100
    assert streamed == whole


def test_iter_chunks_tokenises_bounded_windows() -> None:
    longest = 0

    class Recording:
        def __init__(self) -> None:
            self.inner = _word_piece_tokenizer()

        def encode(self, text: str, **kwargs: object) -> object:
            nonlocal longest
            longest = max(longest, len(text))
            return self.inner.encode(text, add_special_tokens=False)

    text = "word " * 200_000  # 1 MB
    chunks = iter_chunks(_pieces(text, 4096), max_tokens=50, overlap=5, tokenizer=Recording(), window_chars=8192)
    assert sum(1 for _ in chunks) == 200_000 // 45 + 1
    assert longest <= 8192 + 4096  # a window, plus at most the word it starts in


def test_iter_chunks_bounds_whitespace_runs_and_long_words() -> None:
    text = "a" + " " * 50_000 + "b " + "x" * 20_000 + " c"
    whole = chunk_text(text, max_tokens=3, overlap=0)
    streamed = list(iter_chunks(_pieces(text, 1000), max_tokens=3, overlap=0, window_chars=100))
    assert [c.text for c in streamed] == [c.text for c in whole]
    assert [c.start for c in streamed] == [c.start for c in whole]


def test_iter_chunks_rejects_bad_window() -> None:
    with pytest.raises(ValueError, match="window_chars"):
        list(iter_chunks(["x"], window_chars=0))
