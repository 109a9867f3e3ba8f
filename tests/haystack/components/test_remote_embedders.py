"""The Ogma Haystack embedders with ``base_url``: an ``ogma serve`` server instead of a local model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from haystack import Document
from haystack.utils import Secret

from haystack_integrations.components.embedders.ogma import OgmaDocumentEmbedder, OgmaTextEmbedder
from ogma import TextEncoder
from ogma.server import ServeSettings, create_app
from tests.helpers.serve import running_server


def test_base_url_embeds_through_the_server(tiny_ogma_dir: Path) -> None:
    encoder = TextEncoder(tiny_ogma_dir)
    texts = ["paris is the capital of france", "cats purr"]
    with running_server(create_app(ServeSettings(api_key="k"), encoder=encoder)) as url:
        text = OgmaTextEmbedder(base_url=url, api_key=Secret.from_token("k"))
        np.testing.assert_allclose(text.run("cats")["embedding"], encoder.encode_queries(["cats"])[0], atol=1e-6)
        documents = OgmaDocumentEmbedder(base_url=url, api_key=Secret.from_token("k"), truncate_dim=16)
        embedded = documents.run([Document(content=t) for t in texts])["documents"]
        expected = encoder.encode_documents(texts, dim=16)
        np.testing.assert_allclose([d.embedding for d in embedded], expected, atol=1e-6)
        assert documents.max_tokens == text.max_tokens == encoder.max_tokens  # to size a DocumentSplitter


def test_base_url_and_env_key_round_trip() -> None:
    embedder = OgmaTextEmbedder(base_url="http://127.0.0.1:9")
    data = embedder.to_dict()
    assert data["init_parameters"]["base_url"] == "http://127.0.0.1:9"
    assert data["init_parameters"]["api_key"]["type"] == "env_var"
    again = OgmaTextEmbedder.from_dict(data)
    assert again.base_url == "http://127.0.0.1:9" and isinstance(again.api_key, Secret)
