"""OgmaEmbeddings(base_url=...): embeddings from an ``ogma serve`` server equal the local model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from langchain_ogma import OgmaEmbeddings
from ogma import TextEncoder
from ogma.server import ServeSettings, create_app
from tests.helpers.serve import running_server


def test_base_url_embeds_through_the_server(tiny_ogma_dir: Path) -> None:
    encoder = TextEncoder(tiny_ogma_dir)
    texts = ["paris is the capital of france", "cats purr", ""]
    with running_server(create_app(ServeSettings(api_key="k"), encoder=encoder)) as url:
        embeddings = OgmaEmbeddings(base_url=url, api_key="k", dim=16)
        np.testing.assert_allclose(
            embeddings.embed_documents(texts), encoder.encode_documents(texts, dim=16), atol=1e-6
        )
        np.testing.assert_allclose(
            embeddings.embed_query("cats"), encoder.encode_queries(["cats"], dim=16)[0], atol=1e-6
        )
        assert embeddings.model_id == encoder.model_id
        assert embeddings.max_tokens == encoder.max_tokens  # to size a text splitter
        assert "api_key='k'" not in repr(embeddings)
