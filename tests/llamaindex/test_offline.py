"""llama-index-core needs no download here: import and first use run with every connection refused.

llama-index-core ships its NLTK data (stopwords, punkt_tab) and tiktoken's encoding files
in its wheel; this runs, in a fresh interpreter with ``NLTK_DATA`` and
``TIKTOKEN_CACHE_DIR`` unset and ``HF_HUB_OFFLINE=1``, everything a first RAG run does
(splitting with the tokenizer and sentence splitter, stopwords, embedding, indexing,
retrieval, reranking, a query engine) while any socket connection or DNS lookup raises.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SCRIPT = textwrap.dedent(
    """
    import socket, sys

    attempts = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access attempted: %r" % (args,))

    socket.socket.connect = refuse
    socket.socket.connect_ex = refuse
    socket.getaddrinfo = refuse
    socket.create_connection = refuse

    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.llms import MockLLM
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.utils import get_tokenizer, globals_helper
    from llama_index.embeddings.ogma import OgmaEmbedding
    from llama_index.postprocessor.ogma_rerank import OgmaRerank
    from llama_index.vector_stores.ogma import OgmaVectorStore

    model_dir, ce_dir = sys.argv[1], sys.argv[2]
    assert len(get_tokenizer()("paris is the capital of france")) > 0
    assert "the" in globals_helper.stopwords
    assert globals_helper.punkt_tokenizer.tokenize("One. Two.") == ["One.", "Two."]
    embed = OgmaEmbedding(model_name=model_dir)
    store = OgmaVectorStore()
    docs = [Document(text="paris is the capital of france. " * 40), Document(text="bananas are yellow. " * 40)]
    nodes = IngestionPipeline(transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=8), embed]).run(
        documents=docs
    )
    store.add(nodes)
    index = VectorStoreIndex.from_vector_store(store, embed_model=embed)
    engine = index.as_query_engine(
        llm=MockLLM(max_tokens=8), similarity_top_k=4, node_postprocessors=[OgmaRerank(model=ce_dir, top_n=2)]
    )
    response = engine.query("what is the capital of france")
    assert len(response.source_nodes) == 2
    assert not attempts, attempts
    print("OFFLINE-OK", len(nodes))
    """
)


def test_import_and_first_use_need_no_download(tiny_model_dir: Path, tiny_ce_dir: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("NLTK_DATA", "TIKTOKEN_CACHE_DIR")}
    env.update(HF_HUB_OFFLINE="1", HOME=str(tmp_path))  # an empty home: no user caches to fall back on
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tiny_model_dir), str(tiny_ce_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "OFFLINE-OK" in done.stdout
    assert "NLTK download error" not in done.stdout + done.stderr
