"""LangChain fake embeddings that count what they embed (tests check that bad input costs no embedding)."""

from __future__ import annotations

from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings


class CountingEmbeddings(Embeddings):
    """LangChain's deterministic fake embeddings, counting the texts embedded."""

    def __init__(self) -> None:
        self.inner = DeterministicFakeEmbedding(size=6)
        self.documents_embedded = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.documents_embedded += len(texts)
        return self.inner.embed_documents(texts)

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)
