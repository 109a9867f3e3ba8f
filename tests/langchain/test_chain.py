"""A real LCEL RAG chain over Ogma, and the example notebook executed offline.

The notebook is run by exec-ing its code cells in order in one namespace (the notebook
file is plain JSON; no Jupyter kernel is needed), from ``examples/`` as its working folder.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from langchain_core.documents import Document
from langchain_core.language_models.fake_chat_models import FakeListChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompt_values import PromptValue
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_text_splitters import RecursiveCharacterTextSplitter

from langchain_ogma import OgmaEmbeddings, OgmaReranker, OgmaRetriever, OgmaVectorStore
from tests.helpers.notebooks import assert_shipped_executed, run_notebook

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NOTEBOOK = EXAMPLES / "langchain_rag.ipynb"


def format_docs(docs: list[Document]) -> str:
    return "\n\n".join(f"[{d.metadata['source']}] {d.page_content}" for d in docs)


def test_rag_chain_end_to_end(tiny_model_dir: Path, tiny_ce_dir: Path) -> None:
    documents = [
        Document(page_content=(EXAMPLES / "data" / name).read_text(encoding="utf-8"), metadata={"source": name})
        for name in ("models.md", "reranking.md", "storage.md")
    ]
    documents.append(
        Document(
            page_content="paris is the capital of france. the seine flows through paris.", metadata={"source": "x"}
        )
    )
    chunks = RecursiveCharacterTextSplitter(chunk_size=120, chunk_overlap=0).split_documents(documents)
    assert len(chunks) > len(documents)
    vectorstore = OgmaVectorStore.from_documents(chunks, OgmaEmbeddings(model_name=str(tiny_model_dir)))
    retriever = OgmaRetriever(
        store=vectorstore.store, k=2, mode="hybrid", reranker=OgmaReranker(model_name=str(tiny_ce_dir)), rerank_k=10
    )
    prompt = ChatPromptTemplate.from_messages([("system", "Context:\n{context}"), ("human", "{question}")])
    seen: list[PromptValue] = []

    def record(value: PromptValue) -> PromptValue:
        seen.append(value)
        return value

    llm = FakeListChatModel(responses=["The Seine [x]."])
    chain = (
        {"context": retriever | format_docs, "question": RunnablePassthrough()}
        | prompt
        | RunnableLambda(record)
        | llm
        | StrOutputParser()
    )
    assert chain.invoke("which river flows through paris") == "The Seine [x]."
    passages = retriever.invoke("which river flows through paris")
    assert len(passages) == 2
    text = seen[0].to_string()
    assert "which river flows through paris" in text
    assert format_docs(passages) in text
    assert all({"dense", "rerank"} <= set(d.metadata["scores"]) for d in passages)


@pytest.mark.integration
def test_notebook_runs_offline_with_a_reranker(
    tiny_ce_dir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real all-MiniLM-L6-v2 embeds; the reranker is the tiny synthetic one (no hub access in tests).
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OGMA_RERANKER_MODEL", str(tiny_ce_dir))
    namespace = run_notebook(NOTEBOOK)
    out = capsys.readouterr().out
    assert "chunks" in out and "skipped" not in out
    assert namespace["answer"].startswith("A cross-encoder reads the query")
    passages = namespace["passages"]
    assert len(passages) == 3
    assert all("rerank" in d.metadata["scores"] and "source" in d.metadata for d in passages)
    assert "Context:" in out and namespace["question"] in out


@pytest.mark.integration
def test_notebook_runs_offline_without_a_reranker(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What a user without a cached cross-encoder gets: the rerank step says so and is skipped.
    monkeypatch.chdir(EXAMPLES)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("OGMA_RERANKER_MODEL", "cross-encoder/not-in-any-cache")
    namespace = run_notebook(NOTEBOOK)
    out = capsys.readouterr().out
    assert "No reranker available, so this step is skipped (OfflineError" in out
    assert namespace["reranker"] is None
    passages = namespace["passages"]
    assert len(passages) == 3 and all("source" in d.metadata for d in passages)
    assert namespace["answer"].startswith("A cross-encoder reads the query")


def test_notebook_is_saved_executed() -> None:
    # The shipped notebook carries the outputs of one run, in order, with no errors.
    printed = assert_shipped_executed(NOTEBOOK, placeholder="# Replace with a real chat model:\nllm = ")
    assert "files ->" in printed and "chunks" in printed
    assert "passages from" in printed and "Context:" in printed
