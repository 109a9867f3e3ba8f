"""Tokenisation recipes and batch planning."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
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
    flat = [i for p in plans for i in p]
    assert sorted(flat) == list(range(6))  # every row exactly once
    assert [lengths[i] for i in flat] == sorted(lengths)  # shortest first
    for plan in plans:
        assert len(plan) <= 3
        assert len(plan) == 1 or len(plan) * max(lengths[i] for i in plan) <= 400


def _plan_cost(lengths: list[int], plans: list[list[int]], overhead: int) -> int:
    return sum(len(p) * max(lengths[i] for i in p) + overhead for p in plans)


def _brute_force_cost(widths: list[int], batch_size: int, cap: int, overhead: int) -> int:
    """Cheapest cut of sorted ``widths`` into contiguous batches, by trying every cut."""
    best = None
    n = len(widths)
    for mask in range(1 << max(n - 1, 0)):
        cuts = [0] + [i + 1 for i in range(n - 1) if mask >> i & 1] + [n]
        cost = 0
        for lo, hi in itertools.pairwise(cuts):
            rows, padded = hi - lo, (hi - lo) * widths[hi - 1]
            if rows > batch_size or (rows > 1 and padded > cap):
                break
            cost += padded + overhead
        else:
            best = cost if best is None else min(best, cost)
    assert best is not None
    return best


@pytest.mark.parametrize("seed", range(20))
def test_plan_batches_is_optimal(seed: int) -> None:
    rng = np.random.default_rng(seed)
    lengths = [int(x) for x in rng.integers(1, 120, size=int(rng.integers(1, 11)))]
    plans = plan_batches(lengths, batch_size=4, max_batch_tokens=300, batch_overhead=16)
    assert _plan_cost(lengths, plans, 16) == _brute_force_cost(sorted(lengths), 4, 300, 16)


def test_plan_batches_groups_equal_lengths_and_isolates_outliers() -> None:
    assert plan_batches([7, 50, 7, 48, 7], batch_size=4) == [[0, 2, 4], [3, 1]]
    assert sorted(len(p) for p in plan_batches([10] * 10, batch_size=4)) == [2, 4, 4]
    plans = plan_batches([30] * 7 + [500], batch_size=8)
    assert plans[-1] == [7]  # the long row does not pad seven short ones to 500
    assert plan_batches([], batch_size=4) == []


def test_plan_batches_rejects_a_bad_batch_size() -> None:
    with pytest.raises(ValueError, match="batch_size"):
        plan_batches([3, 4], batch_size=0)


def test_plan_batches_keeps_an_oversized_row() -> None:
    assert plan_batches([10_000], batch_size=8, max_batch_tokens=100) == [[0]]


def test_batches_pad_with_the_pad_id(tok_path: Path) -> None:
    tok = TextTokenizer.from_file(tok_path, TaskScheme("none"), max_length=32)
    (batch,) = tok.batches(["cat", "cat dog river"], "symmetric", batch_size=8, max_batch_tokens=1000)
    assert batch.input_ids.shape == (2, 5)
    assert batch.attention_mask.sum() == 3 + 5
    assert batch.input_ids[batch.attention_mask == 0].tolist() == [0, 0]
