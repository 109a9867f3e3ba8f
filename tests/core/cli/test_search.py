"""``ogma search`` against a real store built by ``ogma index`` with a fake embedder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ogma.cli import main
from ogma.types import Hit


@pytest.fixture
def db(tmp_path: Path, fake_encoder: Any) -> Path:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "sqlite.md").write_text("SQLite is a small, fast database engine.", encoding="utf-8")
    (folder / "cats.txt").write_text("Cats purr when they are happy.", encoding="utf-8")
    (folder / "dogs.txt").write_text("Dogs bark at the mail carrier.", encoding="utf-8")
    path = tmp_path / "store.ogma"
    assert main(["index", str(folder), "--db", str(path), "-q"]) == 0
    return path


@pytest.mark.parametrize("mode", ["dense", "lexical", "hybrid"])
def test_search_prints_ranked_hits(db: Path, mode: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "fast database", "--db", str(db), "--mode", mode, "-k", "2"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert first.startswith(" 1. ") and "sqlite.md" in first
    assert "[fast] [database]" in out
    assert len([line for line in out.splitlines() if line[:3].strip().rstrip(".").isdigit()]) <= 2


def test_search_json(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "cats purr", "--db", str(db), "--json", "--mode", "hybrid"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits[0]["rank"] == 1
    assert hits[0]["metadata"]["source"].endswith("cats.txt")
    assert set(hits[0]["scores"]) >= {"dense", "lexical", "fused"}
    assert hits[0]["snippet"] == "[Cats] [purr] when they are happy."


def test_search_filter_and_fusion(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    flt = json.dumps({"source": {"$like": "%.txt"}})
    assert main(["search", "database", "--db", str(db), "--filter", flt, "--json", "--fusion", "rrf"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all(h["metadata"]["source"].endswith(".txt") for h in hits)


def test_lexical_search_needs_no_encoder(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(model: str, **options: Any) -> None:
        raise AssertionError("lexical search must not load a model")

    monkeypatch.setattr("ogma.cli.options.load_encoder", refuse)
    assert main(["search", "dogs", "--db", str(db), "--mode", "lexical"]) == 0


def test_no_results(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "zebra", "--db", str(db), "--mode", "lexical"]) == 0
    assert capsys.readouterr().out == "no results\n"
    assert main(["search", "?!", "--db", str(db), "--mode", "lexical", "--json"]) == 0
    assert capsys.readouterr().out == "[]\n"


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--filter", "{not json"], "--filter is not valid JSON"),
        (["--filter", "[1]"], "must be a JSON object"),
        (["--filter", '{"a": {"$bad": 1}}'], "Unknown operator '$bad'"),
    ],
)
def test_bad_filters(db: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "x", "--db", str(db), "--mode", "lexical", *argv]) == 2
    assert message in capsys.readouterr().err


def test_missing_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "x", "--db", str(tmp_path / "nope.ogma")]) == 2
    assert "create one with: ogma index" in capsys.readouterr().err
    assert not (tmp_path / "nope.ogma").exists()


def test_bad_k(db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["search", "x", "--db", str(db), "-k", "0"]) == 2
    assert "argument -k/--k: expected a positive integer, got '0'" in capsys.readouterr().err


def test_format_hits_shows_all_stage_scores() -> None:
    from ogma.cli.search import format_hits

    text = format_hits([Hit("d#0", "alpha beta", {"source": "/x/a.txt"}, 0.9, {"dense": 0.8, "lexical": 2.5})], "beta")
    assert "(dense 0.800, lexical 2.500)" in text
    assert "alpha [beta]" in text


@pytest.fixture
def capitals_db(tmp_path: Path, fake_encoder: Any) -> Path:
    folder = tmp_path / "capitals"
    folder.mkdir()
    texts = {
        "berlin.txt": "berlin is the capital of germany",
        "paris.txt": "paris is the capital of france",
        "bananas.txt": "bananas are a yellow fruit",
        "seine.txt": "the river seine flows through paris",
    }
    for name, text in texts.items():
        (folder / name).write_text(text, encoding="utf-8")
    path = tmp_path / "capitals.ogma"
    assert main(["index", str(folder), "--db", str(path), "-q"]) == 0
    return path


def test_search_rerank_with_a_cross_encoder(
    capitals_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from ogma.rerank import Reranker
    from tests.helpers.tiny_cross_encoder import build_cross_encoder

    model = build_cross_encoder(tmp_path / "xenc").folder
    query = "capital of france"
    argv = ["search", query, "--db", str(capitals_db), "--json", "--rerank", str(model), "-k", "3"]
    assert main([*argv, "--rerank-k", "4", "--threads", "1", "--rerank-alpha", "1"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert len(hits) == 3 and all("rerank" in h["scores"] for h in hits)
    assert [h["score"] for h in hits] == [h["scores"]["rerank"] for h in hits]  # --rerank-alpha 1: reranking alone
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    # The order is the cross-encoder's own order of all four candidates, cut to k.
    texts = [h["text"] for h in hits]
    assert main([*argv[:-2], "-k", "4", "--mode", "dense", "--json"]) == 0
    candidates = [h["text"] for h in json.loads(capsys.readouterr().out)]
    ranked = Reranker.from_folder(model).rerank(query, candidates, top_k=3)
    assert texts == [r.document for r in ranked]
    # by default the hit's score is the blend (Store.search's default rerank_alpha)
    assert main([*argv, "--rerank-k", "4", "--threads", "1"]) == 0
    blended = json.loads(capsys.readouterr().out)
    assert [h["score"] for h in blended] != [h["scores"]["rerank"] for h in blended]
    assert [h["score"] for h in blended] == sorted((h["score"] for h in blended), reverse=True)


def test_search_alpha_weights_dense_against_lexical(capitals_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def ranked(*extra: str) -> list[tuple[str, float]]:
        assert main(["search", "paris capital", "--db", str(capitals_db), "--json", "-k", "4", *extra]) == 0
        return [(h["id"], h["score"]) for h in json.loads(capsys.readouterr().out)]

    dense = [i for i, _ in ranked("--mode", "dense")]
    lexical = dict(ranked("--mode", "lexical"))
    only_dense = ranked("--alpha", "1")
    only_lexical = ranked("--alpha", "0", "--fusion", "convex")
    assert [i for i, _ in only_dense] == dense
    fused = {i: s for i, s in only_lexical if s > 0}  # alpha 0: only the lexical side counts
    assert set(fused) == set(lexical)
    for a in fused:  # in the lexical order (any monotone normalisation keeps it)
        for b in fused:
            if lexical[a] > lexical[b] + 1e-9:
                assert fused[a] >= fused[b]
    cosines = dict(ranked("--mode", "dense"))
    assert only_dense[0][1] == pytest.approx(cosines[only_dense[0][0]])  # weight 1: the hybrid score is the cosine
    assert ranked("--alpha", "0.5") != only_dense


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--mode", "dense", "--fusion", "rrf"], "--fusion applies to hybrid search only, not --mode dense"),
        (["--mode", "lexical", "--alpha", "0.3"], "--alpha applies to hybrid search only, not --mode lexical"),
        (["--mode", "lexical", "--fusion", "rrf", "--alpha", "0.3"], "--fusion and --alpha apply"[:18]),
        (["--fusion", "weighted_rrf", "--alpha", "0.3"], "--fusion weighted_rrf has none"),
    ],
    ids=["fusion-dense", "alpha-lexical", "both-lexical", "alpha-rank-fusion"],
)
def test_fusion_options_refused_where_they_do_not_apply(
    db: Path, argv: list[str], message: str, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_encoder.loaded.clear()
    assert main(["search", "x", "--db", str(db), *argv]) == 2
    assert message in capsys.readouterr().err
    assert fake_encoder.loaded == []  # refused before any model is loaded


# -- the query model: the one the store records, also when an adapter recorded it ------------------


class _OgmaLikeEmbedder:
    """Stands in for one of Ogma's adapter embedders: it names its model through ``ogma_model_attribute``."""

    ogma_model_attribute = "model_name"

    def __init__(self, encoder: Any, model_name: str) -> None:
        self.model_name = model_name
        self.encoder = encoder

    def embed_documents(self, texts: list[str]) -> Any:
        return self.encoder.embed_documents(texts)


def _adapter_store(path: Path, encoder: Any, *, record: str | None, vectors: Any = None) -> None:
    """A store written the way the adapters write one: embeddings given, the model only in the fingerprint."""
    from ogma.store import Store
    from ogma.store.fingerprint import EmbedderGuard

    texts = ["SQLite is a small, fast database engine.", "Cats purr when they are happy."]
    with Store(path) as store:
        store.add(texts, ids=["s", "c"], embeddings=encoder.embed_documents(texts) if vectors is None else vectors)
        if record is not None:
            embedder = _OgmaLikeEmbedder(encoder, record)
            EmbedderGuard(embedder, embedder.embed_documents).recorded(store)
        assert store.config.model_id is None


def test_search_uses_the_model_an_adapter_recorded(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "adapter.db"
    _adapter_store(db, fake_encoder, record="test/recorded-model")
    assert main(["search", "fast database", "--db", str(db), "--mode", "dense", "-k", "1"]) == 0
    assert fake_encoder.loaded == ["test/recorded-model"]
    assert " s" in capsys.readouterr().out.splitlines()[0]


def test_search_refuses_another_model_than_the_recorded_one(
    db: Path, tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["search", "cats", "--db", str(db), "-m", "other/model"]) == 2
    err = capsys.readouterr().err
    assert "-m other/model" in err and "'test/fake-encoder'" in err and "Leave out -m" in err
    adapter = tmp_path / "adapter.db"
    _adapter_store(adapter, fake_encoder, record="test/recorded-model")
    assert main(["search", "cats", "--db", str(adapter), "-m", "other/model"]) == 2
    assert "'test/recorded-model'" in capsys.readouterr().err
    assert main(["search", "cats", "--db", str(db), "-m", "test/fake-encoder", "-k", "1"]) == 0  # the same: fine


def test_a_store_that_records_no_model_takes_m(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bare.db"
    _adapter_store(db, fake_encoder, record=None)
    assert main(["search", "cats", "--db", str(db), "--mode", "dense"]) == 2
    assert "give -m MODEL" in capsys.readouterr().err
    assert main(["search", "cats purr", "--db", str(db), "--mode", "dense", "-m", "test/any", "-k", "1"]) == 0
    assert " c" in capsys.readouterr().out.splitlines()[0]


def test_m_whose_vectors_differ_from_the_stored_ones_is_refused(
    tmp_path: Path, fake_encoder: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np

    db = tmp_path / "other.db"
    vectors = np.random.default_rng(0).normal(size=(2, 32)).astype(np.float32)
    _adapter_store(db, fake_encoder, record=None, vectors=vectors)
    assert main(["search", "cats", "--db", str(db), "--mode", "dense", "-m", "test/any"]) == 2
    err = capsys.readouterr().err
    assert "-m test/any" in err and "cosine" in err
