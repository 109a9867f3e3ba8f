"""Every route over HTTP against a real uvicorn server (tiny models), and the hostile requests."""

from __future__ import annotations

import base64
import concurrent.futures
import json
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from ogma import Reranker, Store, TextEncoder
from ogma.server import ServeSettings, create_app
from tests.helpers.serve import running_server
from tests.helpers.tiny_cross_encoder import TinyCrossEncoder

DOCS = ["paris is the capital of france", "cats purr and sleep", "the river runs by the mountain", "football team"]


@pytest.fixture(scope="module")
def encoder(tiny_ogma_dir: Path) -> TextEncoder:
    return TextEncoder(tiny_ogma_dir)


@pytest.fixture(scope="module")
def reranker(tiny_ce: TinyCrossEncoder) -> Reranker:
    return Reranker(tiny_ce.folder)


@pytest.fixture(scope="module")
def store(encoder: TextEncoder, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path = tmp_path_factory.mktemp("serve-store") / "docs.db"
    with Store(path, encoder) as writer:
        writer.add(DOCS, ids=["paris", "cats", "river", "football"], metadatas=[{"n": i} for i in range(4)])
    with Store(path, encoder, read_only=True) as reader:
        yield reader


@pytest.fixture(scope="module")
def url(encoder: TextEncoder, reranker: Reranker, store: Store) -> Iterator[str]:
    app = create_app(ServeSettings(max_wait_ms=20, max_inputs=2048), encoder=encoder, reranker=reranker, store=store)
    with running_server(app) as base:
        yield base


def post(url: str, path: str, body: Any, **kwargs: Any) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=60, **kwargs)


def metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_health_models_info(url: str, encoder: TextEncoder) -> None:
    assert httpx.get(url + "/health").json() == {"status": "ok"}
    models = httpx.get(url + "/v1/models").json()
    assert models["data"][0]["id"] == encoder.model_id and len(models["data"]) == 2
    info = httpx.get(url + "/info").json()
    assert info["model_id"] == encoder.model_id and info["dim"] == encoder.dim
    assert info["max_input_length"] == encoder.max_length


@pytest.mark.parametrize(
    ("input_type", "task"),
    [
        (None, "symmetric"),
        ("query", "query"),
        ("search_query", "query"),
        ("retrieval.query", "query"),
        ("document", "document"),
        ("search_document", "document"),
        ("retrieval.passage", "document"),
    ],
)
def test_embeddings_match_the_encoder_for_each_input_type(
    url: str, encoder: TextEncoder, input_type: str | None, task: Any
) -> None:
    body: dict[str, Any] = {"input": [*DOCS, ""], "model": "whatever-name"}
    if input_type:
        body["input_type"] = input_type
    answer = post(url, "/v1/embeddings", body).json()
    assert answer["model"] == encoder.model_id and answer["object"] == "list"
    got = np.array([row["embedding"] for row in answer["data"]], dtype=np.float32)
    np.testing.assert_allclose(got, encoder.encode([*DOCS, ""], task=task), atol=1e-5)
    assert [row["index"] for row in answer["data"]] == list(range(5))
    tokens = sum(encoder.count_tokens([*DOCS, ""], task=task))
    assert answer["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens, "truncated_inputs": 0}


def test_embeddings_base64_dimensions_and_a_single_string(url: str, encoder: TextEncoder) -> None:
    half = encoder.dim // 2
    answer = post(url, "/embeddings", {"input": "cats purr", "encoding_format": "base64", "dimensions": half}).json()
    vector = np.frombuffer(base64.b64decode(answer["data"][0]["embedding"]), dtype="<f4")
    np.testing.assert_allclose(vector, encoder.encode(["cats purr"], dim=half)[0], atol=1e-6)


def test_token_id_input_gets_the_langchain_hint(url: str) -> None:
    for body in ({"input": [101, 2023]}, {"input": [[101, 2023], [7]]}):
        response = post(url, "/v1/embeddings", body)
        assert response.status_code == 400
        error = response.json()["error"]
        assert "check_embedding_ctx_length=False" in error["message"] and error["param"] == "input"
        assert response.json()["detail"] == error["message"]


def test_tei_embed_and_truncate_flag(url: str, encoder: TextEncoder) -> None:
    answer = post(url, "/embed", {"inputs": ["cats purr", "paris"]}).json()
    np.testing.assert_allclose(np.array(answer, dtype=np.float32), encoder.encode(["cats purr", "paris"]), atol=1e-5)
    single = post(url, "/embed", {"inputs": "paris"}).json()
    assert len(single) == 1


def test_rerank_shapes_follow_the_reranker(url: str, reranker: Reranker) -> None:
    query = "capital of france"
    expected = [r.index for r in reranker.rerank(query, DOCS)]
    for path in ("/v1/rerank", "/v2/rerank"):
        answer = post(url, path, {"query": query, "documents": [{"text": d} for d in DOCS], "top_n": 3}).json()
        assert [r["index"] for r in answer["results"]] == expected[:3]
        scores = [r["relevance_score"] for r in answer["results"]]
        assert scores == sorted(scores, reverse=True)
    with_docs = post(url, "/v1/rerank", {"query": query, "documents": DOCS, "return_documents": True}).json()
    assert with_docs["results"][0]["document"]["text"] == DOCS[expected[0]]
    tei = post(url, "/rerank", {"query": query, "texts": DOCS, "raw_scores": True, "return_text": True}).json()
    assert [r["index"] for r in tei] == expected
    raw = reranker.score(query, DOCS)
    assert tei[0]["score"] == pytest.approx(float(raw[expected[0]]), abs=1e-5) and tei[0]["text"] == DOCS[expected[0]]


def test_search_returns_hits_with_every_stage(url: str, store: Store, reranker: Reranker) -> None:
    answer = post(url, "/v1/search", {"query": "capital of france", "k": 2, "mode": "hybrid"}).json()
    expected = store.search("capital of france", k=2, mode="hybrid")
    assert [h["id"] for h in answer["hits"]] == [h.id for h in expected]
    assert set(answer["hits"][0]["scores"]) == set(expected[0].scores)
    reranked = post(url, "/v1/search", {"query": "capital", "k": 2, "rerank": True, "filter": {"n": {"$lt": 3}}})
    hits = reranked.json()["hits"]
    assert "rerank" in hits[0]["scores"] and all(h["metadata"]["n"] < 3 for h in hits)
    bad = post(url, "/v1/search", {"query": "x", "filter": {"n": {"$nope": 1}}})
    assert bad.status_code == 400


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/v1/embeddings", {"input": 3}, "input"),
        ("/v1/embeddings", {"input": ["a", None]}, "input[1]"),
        ("/v1/embeddings", {"input": []}, "input"),
        ("/v1/embeddings", {}, "input"),
        ("/v1/embeddings", {"input": "a", "encoding_format": "int8"}, "encoding_format"),
        ("/v1/embeddings", {"input": "a", "dimensions": 0}, "dimensions"),
        ("/v1/embeddings", {"input": "a", "dimensions": "8"}, "dimensions"),
        ("/v1/embeddings", {"input": "a", "input_type": "sideways"}, "input_type"),
        ("/v1/embeddings", [1, 2], None),
        ("/v1/rerank", {"query": 1, "documents": ["a"]}, "query"),
        ("/v1/rerank", {"query": "q", "documents": "a"}, "documents"),
        ("/v1/rerank", {"query": "q", "documents": [{"txt": "a"}]}, "documents[0]"),
        ("/v1/rerank", {"query": "q", "documents": ["a"], "top_n": -1}, "top_n"),
        ("/rerank", {"query": "q"}, "texts"),
        ("/embed", {"input": "a"}, "inputs"),
        ("/v1/search", {"query": "q", "mode": "fuzzy"}, "mode"),
        ("/v1/search", {"query": "q", "k": 0}, "k"),
    ],
)
def test_validation_errors_are_400_with_openai_error_bodies(url: str, path: str, body: Any, param: str | None) -> None:
    response = post(url, path, body)
    assert response.status_code == 400, response.text
    payload = response.json()
    assert set(payload["error"]) == {"message", "type", "param", "code"}
    assert payload["error"]["type"] == "invalid_request_error" and payload["error"]["param"] == param
    assert isinstance(payload["detail"], str) and payload["detail"]


def test_malformed_json_and_surrogates(url: str) -> None:
    response = httpx.post(url + "/v1/embeddings", content=b'{"input": ["a",', timeout=10)
    assert response.status_code == 400 and "not valid JSON" in response.json()["error"]["message"]
    response = httpx.post(url + "/v1/embeddings", content=b"\xff\xfe", timeout=10)
    assert response.status_code == 400
    response = httpx.post(url + "/v1/embeddings", content=b'{"input": ["\\ud800"]}', timeout=10)
    assert response.status_code == 400 and "surrogate" in response.json()["error"]["message"]
    response = httpx.post(url + "/v1/embeddings", content=b"[" * 100_000, timeout=10)
    assert response.status_code == 400


def test_oversized_body_and_too_many_inputs_are_413(url: str) -> None:
    big = {"input": ["x" * 1000] * 10_000}  # about 10 MB
    response = post(url, "/v1/embeddings", big)
    assert response.status_code == 413 and response.json()["error"]["code"] == "body_too_large"
    response = post(url, "/v1/embeddings", {"input": ["a"] * 10_000})
    assert response.status_code == 413 and "at most 2048" in response.json()["error"]["message"]
    response = post(url, "/v1/rerank", {"query": "q", "documents": ["a"] * 10_000})
    assert response.status_code == 413
    assert post(url, "/v1/embeddings", {"input": "still serving"}).status_code == 200


def test_64_concurrent_single_text_requests_share_batches(url: str, encoder: TextEncoder) -> None:
    texts = [f"{DOCS[i % 4]} {' '.join(['cat'] * (i % 7))}" for i in range(64)]
    expected = encoder.encode(texts)
    before = metric(url, "ogma_batch_rows_count")
    with concurrent.futures.ThreadPoolExecutor(64) as pool:
        answers = list(pool.map(lambda t: post(url, "/v1/embeddings", {"input": t}).json(), texts))
    for i, answer in enumerate(answers):
        np.testing.assert_allclose(answer["data"][0]["embedding"], expected[i], atol=1e-5)
    batches = metric(url, "ogma_batch_rows_count") - before
    assert 0 < batches < 64  # some model calls held more than one request
    text = httpx.get(url + "/metrics").text
    assert 'ogma_requests_total{route="/v1/embeddings",status="200"}' in text
    assert "ogma_request_duration_seconds_bucket" in text and "ogma_queue_depth 0" in text


def test_rerank_without_a_reranker_and_search_without_a_store(encoder: TextEncoder) -> None:
    with running_server(create_app(encoder=encoder)) as base:
        response = post(base, "/v1/rerank", {"query": "q", "documents": ["a"]})
        assert response.status_code == 404 and "--reranker" in response.json()["error"]["message"]
        assert post(base, "/v1/search", {"query": "q"}).status_code == 404
        assert httpx.get(base + "/nope").status_code == 404


def test_api_key_guards_every_route_but_health(encoder: TextEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OGMA_API_KEY", raising=False)
    with running_server(create_app(ServeSettings(api_key="s3cret"), encoder=encoder)) as base:
        assert httpx.get(base + "/health").status_code == 200
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic s3cret"}):
            response = httpx.post(base + "/v1/embeddings", json={"input": "a"}, headers=headers)
            assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
            assert httpx.get(base + "/metrics", headers=headers).status_code == 401
        ok = httpx.post(base + "/v1/embeddings", json={"input": "a"}, headers={"Authorization": "Bearer s3cret"})
        assert ok.status_code == 200
        assert "access-control-allow-origin" not in ok.headers
    monkeypatch.setenv("OGMA_API_KEY", "from-env")
    with running_server(create_app(encoder=encoder)) as base:
        assert httpx.post(base + "/v1/embeddings", json={"input": "a"}).status_code == 401
        headers = {"Authorization": "Bearer from-env"}
        assert httpx.post(base + "/v1/embeddings", json={"input": "a"}, headers=headers).status_code == 200


class Gated:
    """An encoder whose model calls wait for ``gate``; records the rows it ran."""

    def __init__(self, encoder: TextEncoder) -> None:
        self._encoder = encoder
        self.gate = threading.Event()
        self.entered = threading.Event()
        self.rows_seen: list[list[int]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._encoder, name)

    def embed_token_ids(self, rows: Sequence[Sequence[int]], *, task: Any = "symmetric") -> Any:
        self.entered.set()
        self.gate.wait(30)
        self.rows_seen.extend(list(r) for r in rows)
        return self._encoder.embed_token_ids(rows, task=task)


def test_flood_past_the_queue_gets_503_with_retry_after(encoder: TextEncoder) -> None:
    gated = Gated(encoder)
    settings = ServeSettings(max_queue=2, max_inputs=2, max_wait_ms=0)
    with running_server(create_app(settings, encoder=gated)) as base, concurrent.futures.ThreadPoolExecutor(4) as pool:
        running = pool.submit(post, base, "/v1/embeddings", {"input": "paris"})
        assert gated.entered.wait(30)
        queued = pool.submit(post, base, "/v1/embeddings", {"input": ["cat", "dog"]})
        deadline = time.monotonic() + 30
        while metric(base, "ogma_queue_depth") < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        flood = [post(base, "/v1/embeddings", {"input": "river"}) for _ in range(5)]
        assert all(r.status_code == 503 for r in flood)
        assert all(int(r.headers["Retry-After"]) >= 1 for r in flood)
        assert flood[0].json()["error"]["code"] == "queue_full"
        gated.gate.set()
        assert running.result(30).status_code == 200 and queued.result(30).status_code == 200
        assert post(base, "/v1/embeddings", {"input": "river"}).status_code == 200


def test_a_request_past_queue_timeout_gets_503(encoder: TextEncoder) -> None:
    gated = Gated(encoder)
    settings = ServeSettings(queue_timeout=0.05, max_wait_ms=0)
    with running_server(create_app(settings, encoder=gated)) as base, concurrent.futures.ThreadPoolExecutor(2) as pool:
        running = pool.submit(post, base, "/v1/embeddings", {"input": "paris"})
        assert gated.entered.wait(30)
        late = pool.submit(post, base, "/v1/embeddings", {"input": "cat"})
        time.sleep(0.3)
        gated.gate.set()
        assert running.result(30).status_code == 200
        response = late.result(30)
        assert response.status_code == 503 and response.json()["error"]["code"] == "queue_timeout"
        assert "Retry-After" in response.headers


def test_a_client_that_disconnects_has_its_queued_work_dropped(encoder: TextEncoder) -> None:
    gated = Gated(encoder)
    with running_server(create_app(ServeSettings(max_wait_ms=0), encoder=gated)) as base:
        port = int(base.rsplit(":", 1)[1])
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            running = pool.submit(post, base, "/v1/embeddings", {"input": "paris"})
            assert gated.entered.wait(30)
            body = json.dumps({"input": "chemistry biology physics"}).encode()
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(
                    b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
                deadline = time.monotonic() + 30
                while metric(base, "ogma_queue_depth") < 1 and time.monotonic() < deadline:
                    time.sleep(0.01)
            # half a body, then gone
            with socket.create_connection(("127.0.0.1", port)) as sock:
                sock.sendall(b'POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"inp')
            deadline = time.monotonic() + 30
            while metric(base, "ogma_queue_depth") > 0 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert metric(base, "ogma_queue_depth") == 0
            gated.gate.set()
            assert running.result(30).status_code == 200
        dropped = encoder.tokenizer.token_ids(["chemistry biology physics"], "symmetric")[0]
        assert dropped not in gated.rows_seen
        assert post(base, "/v1/embeddings", {"input": "cat"}).status_code == 200
        assert 'status="499"' in httpx.get(base + "/metrics").text


def test_health_is_503_while_the_models_load(tiny_ogma_dir: Path) -> None:
    app = create_app(ServeSettings(model=str(tiny_ogma_dir)))
    with running_server(app) as base:
        statuses = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            response = httpx.get(base + "/health")
            statuses.add(response.status_code)
            if response.status_code == 200:
                break
            assert response.json()["status"] == "starting"
            time.sleep(0.005)
        assert 200 in statuses
        assert post(base, "/v1/embeddings", {"input": "a"}).status_code == 200


def test_cors_only_when_asked(encoder: TextEncoder) -> None:
    settings = ServeSettings(cors_origins=("http://app.local",))
    with running_server(create_app(settings, encoder=encoder)) as base:
        response = httpx.post(base + "/v1/embeddings", json={"input": "a"}, headers={"Origin": "http://app.local"})
        assert response.headers["access-control-allow-origin"] == "http://app.local"


def test_refused_truncation_is_400(tiny_model_dir: Path) -> None:
    short = TextEncoder(tiny_model_dir, max_length=6)
    long_text = "paris france capital city cat dog river"
    with running_server(create_app(ServeSettings(truncation="refuse"), encoder=short)) as base:
        response = post(base, "/v1/embeddings", {"input": ["cat", long_text]})
        assert response.status_code == 400 and response.json()["error"]["param"] == "input[1]"
    with running_server(create_app(encoder=short)) as base:
        answer = post(base, "/v1/embeddings", {"input": ["cat", long_text]}).json()
        assert answer["usage"]["truncated_inputs"] == 1
        assert metric(base, "ogma_truncated_inputs_total") == 1
        assert post(base, "/embed", {"inputs": [long_text], "truncate": False}).status_code == 400
        refused = post(base, "/v1/embeddings", {"input": [long_text], "truncate": False})
        assert refused.status_code == 400 and refused.json()["error"]["param"] == "input[0]"
        assert post(base, "/v1/embeddings", {"input": [long_text], "long_text": "error"}).status_code == 400
        bad = post(base, "/v1/embeddings", {"input": [long_text], "long_text": "all"})
        assert bad.status_code == 400 and bad.json()["error"]["param"] == "long_text"
        whole = post(base, "/v1/embeddings", {"input": ["cat", long_text], "long_text": "mean"}).json()
        assert whole["usage"]["truncated_inputs"] == 0
        np.testing.assert_allclose(
            [row["embedding"] for row in whole["data"]], short.encode(["cat", long_text]), atol=1e-5
        )
        assert httpx.get(base + "/info").json()["max_tokens"] == short.max_tokens
