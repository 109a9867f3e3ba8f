"""Tokenisation recipes and batch planning."""

from __future__ import annotations

from pathlib import Path

import pytest

from ogma.registry import TaskScheme
from ogma.tokenize import TextTokenizer, plan_batches
from tests.helpers.tiny_models import make_word_tokenizer


@pytest.fixture
def tok_path(tmp_path: Path) -> Path:
    make_word_tokenizer(tmp_path / "tokenizer.json")
    return tmp_path / "tokenizer.json"


def test_ogma_recipe_matches_the_model_card(tok_path: Path) -> None:
    from tokenizers import Tokenizer

    raw = Tokenizer.from_file(str(tok_path))
    enc = raw.encode("paris is the capital")
    assert enc.tokens[0] == "[CLS]" and enc.tokens[-1] == "[SEP]"
    expected = [2] + [i + 7 for i in enc.ids[1:-1]] + [3]
    tok = TextTokenizer.from_file(tok_path, TaskScheme("ogma"), max_length=1024)
    assert tok.token_ids(["paris is the capital"], "query") == [expected]


def test_ogma_truncation_cuts_the_whole_sequence_like_the_card(tok_path: Path) -> None:
    tok = TextTokenizer.from_file(tok_path, TaskScheme("ogma"), max_length=6)
    (ids,) = tok.token_ids(["cat dog river music song team player"], "document")
    assert len(ids) == 6 and ids[0] == 2 and ids[-1] != 3  # EOS falls off, as in ogma_ids[:max_length]
    (short,) = tok.token_ids(["cat dog"], "document")
    assert short[0] == 2 and short[-1] == 3 and len(short) == 4


def test_prefix_scheme_prepends_per_task(tok_path: Path) -> None:
    tok = TextTokenizer.from_file(tok_path, TaskScheme.prefixes("query ", "document "), max_length=32)
    plain = TextTokenizer.from_file(tok_path, TaskScheme("none"), max_length=32)
    assert tok.token_ids(["cat"], "query") == plain.token_ids(["query cat"], "symmetric")
    assert tok.token_ids(["cat"], "document") == plain.token_ids(["document cat"], "symmetric")
    assert tok.token_ids(["cat"], "symmetric") == plain.token_ids(["cat"], "symmetric")


def test_plan_batches_caps_rows_and_tokens() -> None:
    lengths = [10, 200, 12, 11, 190, 5]
    plans = plan_batches(lengths, batch_size=3, max_batch_tokens=400)
    assert sorted(i for p in plans for i in p) == list(range(6))
    for plan in plans:
        assert len(plan) <= 3
        assert len(plan) == 1 or len(plan) * max(lengths[i] for i in plan) <= 400
    assert plans[0] == [5, 0, 3]  # shortest first


def test_plan_batches_keeps_an_oversized_row() -> None:
    assert plan_batches([10_000], batch_size=8, max_batch_tokens=100) == [[0]]


def test_batches_pad_with_the_pad_id(tok_path: Path) -> None:
    tok = TextTokenizer.from_file(tok_path, TaskScheme("none"), max_length=32)
    (batch,) = tok.batches(["cat", "cat dog river"], "symmetric", batch_size=8, max_batch_tokens=1000)
    assert batch.input_ids.shape == (2, 5)
    assert batch.attention_mask.sum() == 3 + 5
    assert batch.input_ids[batch.attention_mask == 0].tolist() == [0, 0]
