"""OgmaEmbedding(base_url=...): embeddings from an ``ogma serve`` server equal the local model's."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from llama_index.embeddings.ogma import OgmaEmbedding
from ogma import TextEncoder
from ogma.server import create_app
from tests.helpers.serve import running_server


def test_base_url_embeds_through_the_server(tiny_ogma_dir: Path) -> None:
    encoder = TextEncoder(tiny_ogma_dir)
    texts = ["paris is the capital of france", "cats purr", ""]
    with running_server(create_app(encoder=encoder)) as url:
        embed = OgmaEmbedding(base_url=url)
        np.testing.assert_allclose(embed.get_text_embedding_batch(texts), encoder.encode_documents(texts), atol=1e-6)
        np.testing.assert_allclose(embed.get_query_embedding("cats"), encoder.encode_queries(["cats"])[0], atol=1e-6)
        assert embed.model_id == encoder.model_id
        assert embed.max_tokens == encoder.max_tokens  # to size a node parser
