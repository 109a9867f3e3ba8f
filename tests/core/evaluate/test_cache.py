"""Corpus embeddings cached on disk, and an evaluation that loads every model before embedding."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ogma.cli import main
from ogma.encoder import TextEncoder
from ogma.errors import ModelNotFoundError
from ogma.evaluate import BeirDataset, CompareConfig, EmbeddingCache, compare_configs
from ogma.evaluate.cache import corpus_fingerprint, text_encoder_fingerprint
from tests.helpers.tiny_models import make_tiny_bert_folder


# -- EmbeddingCache ----------------------------------------------------------------------------
def test_round_trip_and_row_check(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "c")
    key = cache.key("corpus", "model")
    assert cache.load(key, rows=2) is None
    vectors = np.arange(8, dtype=np.float32).reshape(2, 4)
    path = cache.save(key, vectors, info={"model": "m"})
    assert path.is_file() and path.with_suffix(".json").is_file()
    np.testing.assert_array_equal(cache.load(key, rows=2), vectors)
    assert cache.load(key, rows=3) is None  # another corpus size: unusable, and removed
    assert not path.exists()


@pytest.mark.parametrize(
    "content",
    [b"not a numpy file", b""],
    ids=["garbage", "empty"],
)
def test_broken_entry_is_ignored_and_removed(tmp_path: Path, content: bytes) -> None:
    cache = EmbeddingCache(tmp_path)
    key = cache.key("c", "m")
    cache.path(key).write_bytes(content)
    assert cache.load(key, rows=1) is None
    assert not cache.path(key).exists()


def test_non_finite_entry_is_ignored(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path)
    key = cache.key("c", "m")
    np.save(cache.path(key), np.array([[np.nan, 1.0]], dtype=np.float32))
    assert cache.load(key, rows=1) is None


def test_keys_separate_corpus_model_and_task() -> None:
    keys = {EmbeddingCache.key("c", "m"), EmbeddingCache.key("c2", "m"), EmbeddingCache.key("c", "m2")}
    keys.add(EmbeddingCache.key("c", "m", task="query"))
    assert len(keys) == 4


def test_corpus_fingerprint_sees_ids_texts_and_order() -> None:
    base = corpus_fingerprint(["a", "b"], ["x", "y"])
    assert base == corpus_fingerprint(["a", "b"], ["x", "y"])
    assert base != corpus_fingerprint(["a", "b"], ["x", "z"])
    assert base != corpus_fingerprint(["a", "c"], ["x", "y"])
    assert base != corpus_fingerprint(["b", "a"], ["y", "x"])
    assert corpus_fingerprint(["ab"], [""]) != corpus_fingerprint(["a"], ["b"])  # no ambiguity at the seams


def test_default_root_is_under_ogma_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("OGMA_HOME", str(tmp_path / "home"))
    assert EmbeddingCache().root == tmp_path / "home" / "eval-embeddings"


# -- text_encoder_fingerprint ------------------------------------------------------------------
@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_tiny_bert_folder(tmp_path_factory.mktemp("eval-model") / "tiny")


def test_model_fingerprint_follows_content_not_path(model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "elsewhere"
    shutil.copytree(model_dir, copy)
    first = text_encoder_fingerprint(TextEncoder(model_dir), str(model_dir))
    assert text_encoder_fingerprint(TextEncoder(copy), str(copy)) == first
    (copy / "sentence_bert_config.json").write_text('{"max_seq_length": 32}')  # a shorter window
    assert text_encoder_fingerprint(TextEncoder(copy), str(copy)) != first
    other = make_tiny_bert_folder(tmp_path / "other", pooling="cls")
    assert text_encoder_fingerprint(TextEncoder(other), str(other)) != first


# -- compare_configs with a cache ---------------------------------------------------------------
class Fingerprinted:
    """Wraps the fake encoder factory so its embedders carry a fingerprint."""

    def __init__(self, factories: dict[str, Any]) -> None:
        self.factories = factories

    def __call__(self, name: str) -> Any:
        encoder = self.factories["encoder_factory"](name)
        encoder.fingerprint = f"fake-{name}"
        return encoder


def _run(dataset: BeirDataset, factories: dict[str, Any], encoder_factory: Any, **kw: Any) -> list[Any]:
    return compare_configs(
        dataset,
        [CompareConfig("m1"), CompareConfig("m1", mode="lexical"), CompareConfig("m2", precision="binary")],
        encoder_factory=encoder_factory,
        store_factory=factories["store_factory"],
        reranker_factory=factories["reranker_factory"],
        show_progress=False,
        **kw,
    )


def test_second_run_reuses_the_cached_corpus(
    toy_dataset: BeirDataset, fake_factories: dict[str, Any], tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path / "cache")
    first = _run(toy_dataset, fake_factories, Fingerprinted(fake_factories), cache=cache)
    encoders = fake_factories["encoders"]
    assert [e.documents_embedded for e in encoders] == [5, 5]
    assert len(list(cache.root.glob("*.npy"))) == 2  # one entry per model
    assert all(row.embed_seconds is not None for row in first)

    second = _run(toy_dataset, fake_factories, Fingerprinted(fake_factories), cache=cache)
    assert [e.documents_embedded for e in encoders[2:]] == [0, 0]  # nothing embedded again
    assert [r.metrics for r in second] == [r.metrics for r in first]
    assert all(row.embed_seconds is None for row in second)
    assert second[0].to_dict()["embed_seconds"] is None

    # Another corpus (one text changed) misses.
    corpus = {**toy_dataset.corpus, "d1": {"title": "Paris", "text": "Paris is in France"}}
    changed = BeirDataset("toy", corpus, toy_dataset.queries, toy_dataset.qrels)
    _run(changed, fake_factories, Fingerprinted(fake_factories), cache=cache)
    assert [e.documents_embedded for e in encoders[4:]] == [5, 5]


def test_without_a_fingerprint_nothing_is_cached(
    toy_dataset: BeirDataset, fake_factories: dict[str, Any], tmp_path: Path
) -> None:
    cache = EmbeddingCache(tmp_path / "cache")
    _run(toy_dataset, fake_factories, fake_factories["encoder_factory"], cache=cache)
    _run(toy_dataset, fake_factories, fake_factories["encoder_factory"], cache=cache)
    assert [e.documents_embedded for e in fake_factories["encoders"]] == [5, 5, 5, 5]
    assert not cache.root.exists()


def test_max_queries_shortens_query_work_but_keeps_the_corpus(
    toy_dataset: BeirDataset, fake_factories: dict[str, Any]
) -> None:
    rows = _run(toy_dataset.subset(1), fake_factories, fake_factories["encoder_factory"])
    assert all(row.num_queries == 1 for row in rows)
    assert [e.documents_embedded for e in fake_factories["encoders"]] == [5, 5]
    store = fake_factories["store_class"].instances[0]
    assert len(store.ids) == 5 and len(store.searches) == 2 * 2  # warm-up + one query, two modes


# -- fail fast ----------------------------------------------------------------------------------
def test_missing_reranker_fails_before_any_embedding(toy_dataset: BeirDataset, fake_factories: dict[str, Any]) -> None:
    def missing(name: str) -> Any:
        raise ModelNotFoundError(f"{name} is not available offline")

    with pytest.raises(ModelNotFoundError, match="not available offline"):
        compare_configs(
            toy_dataset,
            [CompareConfig("m1"), CompareConfig("m2", rerank="cross/missing")],
            encoder_factory=fake_factories["encoder_factory"],
            store_factory=fake_factories["store_factory"],
            reranker_factory=missing,
            show_progress=False,
        )
    assert [e.documents_embedded for e in fake_factories["encoders"]] == [0, 0]
    assert fake_factories["store_class"].instances == []


def test_missing_second_model_fails_before_the_first_embeds(
    toy_dataset: BeirDataset, fake_factories: dict[str, Any]
) -> None:
    def factory(name: str) -> Any:
        if name == "missing":
            raise ModelNotFoundError("missing is not available offline")
        return fake_factories["encoder_factory"](name)

    with pytest.raises(ModelNotFoundError):
        compare_configs(
            toy_dataset,
            [CompareConfig("m1"), CompareConfig("missing")],
            encoder_factory=factory,
            store_factory=fake_factories["store_factory"],
            reranker_factory=fake_factories["reranker_factory"],
            show_progress=False,
        )
    assert [e.documents_embedded for e in fake_factories["encoders"]] == [0]


# -- ogma eval end to end with a real (tiny) model and store ------------------------------------
def _count_document_encodes(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = TextEncoder.encode

    def spy(self: TextEncoder, texts: Any, **kwargs: Any) -> Any:
        if kwargs.get("task") == "document":
            calls.append(len(texts))
        return real(self, texts, **kwargs)

    monkeypatch.setattr(TextEncoder, "encode", spy)
    return calls


def test_cli_eval_second_run_does_not_embed_the_corpus(
    toy_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = tmp_path / "home"
    monkeypatch.setenv("OGMA_HOME", str(home))
    calls = _count_document_encodes(monkeypatch)
    argv = ["eval", str(toy_dir), "--model", str(model_dir), "--mode", "dense", "hybrid", "--json", "-q"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert sum(calls) == 5
    entries = list((home / "eval-embeddings").glob("*.npy"))
    assert len(entries) == 1 and np.load(entries[0]).shape == (5, 16)

    calls.clear()
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert calls == []  # the corpus came from the cache
    strip = ("latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "index_seconds", "embed_seconds")

    def metrics(text: str) -> list[dict[str, Any]]:
        return [{k: v for k, v in row.items() if k not in strip} for row in json.loads(text)]

    assert metrics(second) == metrics(first)

    # The same model in another folder (e.g. another environment) still hits: the key is its content.
    copy = tmp_path / "copy-of-model"
    shutil.copytree(model_dir, copy)
    assert main([*argv[:3], str(copy), *argv[4:]]) == 0
    assert calls == []
    capsys.readouterr()

    assert main([*argv, "--no-cache"]) == 0
    assert sum(calls) == 5
    assert len(list((home / "eval-embeddings").glob("*.npy"))) == 1


def test_cli_eval_missing_reranker_fails_before_embedding(
    toy_dir: Path, model_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OGMA_HOME", str(tmp_path / "home"))
    calls = _count_document_encodes(monkeypatch)
    missing = str(tmp_path / "no-such-reranker")
    assert main(["eval", str(toy_dir), "--model", str(model_dir), "--rerank", missing, "-q"]) == 2
    assert "no-such-reranker" in capsys.readouterr().err
    assert calls == []
