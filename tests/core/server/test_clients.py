"""The official clients, unchanged but for their base URL, against a real ``ogma serve`` app.

openai, LangChain's OpenAIEmbeddings, LlamaIndex's OpenAIEmbedding, Haystack's
OpenAITextEmbedder and HuggingFaceTEIRanker, and cohere's rerank: vectors equal
TextEncoder's (cosine >= 0.9999), rerank order equals Reranker's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ogma import Reranker, TextEncoder
from ogma.server import create_app
from tests.helpers.model_fixtures import REAL_MODEL
from tests.helpers.serve import running_server
from tests.helpers.tiny_cross_encoder import TinyCrossEncoder

TEXTS = ["paris is the capital of france", "cats purr", "", "the river runs by the mountain"]
QUERY = "capital of france"
KEY = "test-key"


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    norms = np.linalg.norm(a, axis=-1) * np.linalg.norm(b, axis=-1)
    return np.sum(a * b, axis=-1) / np.where(norms == 0, 1, norms)


def assert_same(got: object, expected: np.ndarray) -> None:
    array = np.asarray(got, dtype=np.float32)
    assert array.shape == expected.shape
    zero = np.linalg.norm(expected, axis=-1) == 0
    assert np.all(cosines(array, expected)[~zero] >= 0.9999)


@pytest.fixture(scope="module")
def encoder(tiny_model_dir: Path) -> TextEncoder:
    return TextEncoder(tiny_model_dir)


@pytest.fixture(scope="module")
def reranker(tiny_ce: TinyCrossEncoder) -> Reranker:
    return Reranker(tiny_ce.folder)


@pytest.fixture(scope="module")
def url(encoder: TextEncoder, reranker: Reranker) -> Iterator[str]:
    from ogma.server import ServeSettings

    with running_server(create_app(ServeSettings(api_key=KEY), encoder=encoder, reranker=reranker)) as base:
        yield base


def test_openai_client_float_base64_and_dimensions(url: str, encoder: TextEncoder) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)
    default = client.embeddings.create(model="text-embedding-3-small", input=TEXTS)  # base64 under the hood
    assert default.model == encoder.model_id
    assert_same([d.embedding for d in default.data], encoder.encode(TEXTS))
    floats = client.embeddings.create(model="any", input=TEXTS, encoding_format="float")
    assert_same([d.embedding for d in floats.data], encoder.encode(TEXTS))
    half = encoder.dim // 2
    short = client.embeddings.create(model="any", input="cats purr", dimensions=half)
    assert_same([short.data[0].embedding], encoder.encode(["cats purr"], dim=half))
    assert default.usage.prompt_tokens == sum(encoder.count_tokens(TEXTS, task="symmetric"))
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=url + "/v1", api_key="wrong", max_retries=0).embeddings.create(model="m", input="a")


def test_langchain_openai_embeddings(url: str, encoder: TextEncoder) -> None:
    lc = pytest.importorskip("langchain_openai")
    embeddings = lc.OpenAIEmbeddings(
        model="text-embedding-3-small", base_url=url + "/v1", api_key=KEY, check_embedding_ctx_length=False
    )
    assert_same(embeddings.embed_documents(TEXTS), encoder.encode(TEXTS))
    assert_same([embeddings.embed_query("cats purr")], encoder.encode(["cats purr"]))


def test_langchain_default_token_ids_get_the_setting_that_fixes_them(url: str) -> None:
    openai = pytest.importorskip("openai")
    client = openai.OpenAI(base_url=url + "/v1", api_key=KEY, max_retries=0)
    # What OpenAIEmbeddings sends with check_embedding_ctx_length=True: tiktoken ids.
    with pytest.raises(openai.BadRequestError, match="check_embedding_ctx_length=False"):
        client.embeddings.create(model="text-embedding-3-small", input=[[9906, 1917]])


def test_llama_index_openai_embedding(url: str, encoder: TextEncoder) -> None:
    module = pytest.importorskip("llama_index.embeddings.openai")
    embed = module.OpenAIEmbedding(model_name="text-embedding-3-small", api_base=url + "/v1", api_key=KEY)
    assert_same(embed.get_text_embedding_batch(TEXTS), encoder.encode(TEXTS))
    assert_same([embed.get_query_embedding("cats purr")], encoder.encode(["cats purr"]))


def test_haystack_openai_text_embedder_and_tei_ranker(url: str, encoder: TextEncoder, reranker: Reranker) -> None:
    pytest.importorskip("openai")
    from haystack import Document
    from haystack.components.embedders import OpenAITextEmbedder
    from haystack.utils import Secret

    tei = pytest.importorskip("haystack_integrations.components.rankers.huggingface_api")
    HuggingFaceTEIRanker = tei.HuggingFaceTEIRanker

    embedder = OpenAITextEmbedder(api_key=Secret.from_token(KEY), api_base_url=url + "/v1", model="m")
    result = embedder.run("cats purr")
    assert_same([result["embedding"]], encoder.encode(["cats purr"]))
    assert result["meta"]["usage"]["prompt_tokens"] == encoder.count_tokens(["cats purr"], task="symmetric")[0]
    ranker = HuggingFaceTEIRanker(url=url, top_k=3, token=Secret.from_token(KEY))
    docs = [Document(content=t, id=str(i)) for i, t in enumerate(TEXTS)]
    ranked = ranker.run(query=QUERY, documents=docs)["documents"]
    expected = [r.index for r in reranker.rerank(QUERY, TEXTS, top_k=3)]
    assert [d.content for d in ranked] == [TEXTS[i] for i in expected]


def test_cohere_rerank(url: str, reranker: Reranker) -> None:
    cohere = pytest.importorskip("cohere")
    expected = reranker.rerank(QUERY, TEXTS, top_k=3)
    client = cohere.ClientV2(api_key=KEY, base_url=url)
    answer = client.rerank(model="rerank-v3.5", query=QUERY, documents=TEXTS, top_n=3)
    assert [r.index for r in answer.results] == [r.index for r in expected]
    assert [r.relevance_score for r in answer.results] == pytest.approx([r.score for r in expected], abs=1e-5)
    legacy = cohere.Client(api_key=KEY, base_url=url).rerank(
        model="rerank-english-v3.0", query=QUERY, documents=TEXTS, top_n=2
    )
    assert [r.index for r in legacy.results] == [r.index for r in expected[:2]]


@pytest.mark.integration
def test_openai_client_on_the_real_model() -> None:
    openai = pytest.importorskip("openai")
    encoder = TextEncoder(REAL_MODEL)
    passages = ["Paris is the capital and largest city of France.", "The cat sat on the mat.", ""]
    with running_server(create_app(encoder=encoder)) as base:
        client = openai.OpenAI(base_url=base + "/v1", api_key="unused", max_retries=0)
        answer = client.embeddings.create(model="text-embedding-3-small", input=passages)
        assert answer.model == encoder.model_id
        assert_same([d.embedding for d in answer.data], encoder.encode(passages))
        short = client.embeddings.create(model="x", input=passages[:1], dimensions=128, encoding_format="float")
        assert_same([short.data[0].embedding], encoder.encode(passages[:1], dim=128))
