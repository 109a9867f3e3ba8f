"""The three distributions: public names, and LlamaIndex's namespace-package layout."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

import llama_index.embeddings.ogma as embeddings
import llama_index.postprocessor.ogma_rerank as postprocessor
import llama_index.vector_stores.ogma as vector_stores

PACKAGES = Path(__file__).resolve().parents[2] / "packages"
LAYOUT = {
    "llama-index-embeddings-ogma": ("embeddings", "ogma"),
    "llama-index-vector-stores-ogma": ("vector_stores", "ogma"),
    "llama-index-postprocessor-ogma-rerank": ("postprocessor", "ogma_rerank"),
}


def test_public_names() -> None:
    assert sorted(embeddings.__all__) == ["OgmaEmbedding", "__version__"]
    assert sorted(vector_stores.__all__) == ["OgmaVectorStore", "__version__", "to_ogma_filter"]
    assert sorted(postprocessor.__all__) == ["OgmaRerank", "__version__"]


@pytest.mark.parametrize("dist", sorted(LAYOUT))
def test_namespace_layout(dist: str) -> None:
    kind, name = LAYOUT[dist]
    src = PACKAGES / dist / "src"
    assert not (src / "llama_index" / "__init__.py").exists()
    assert not (src / "llama_index" / kind / "__init__.py").exists()
    package = src / "llama_index" / kind / name
    assert {"__init__.py", "base.py", "py.typed"} <= {p.name for p in package.iterdir()}
    assert [p.name for p in (src / "llama_index").iterdir()] == [kind]
    project = tomllib.loads((PACKAGES / dist / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == dist
    assert project["build-system"]["build-backend"] == "hatchling.build"
    assert any(dep.startswith("llama-index-core>=0.14") for dep in project["project"]["dependencies"])
    readme = (PACKAGES / dist / "README.md").read_text(encoding="utf-8")
    quickstart = readme.split("## Quickstart", 1)[1].split("```python", 1)[1].split("```", 1)[0].strip()
    assert len(quickstart.splitlines()) <= 10
