"""LlamaIndex node postprocessor that reranks with a local Ogma cross-encoder.

Example:
    >>> from llama_index.postprocessor.ogma_rerank import OgmaRerank
    >>> OgmaRerank(top_n=2).top_n
    2
"""

from __future__ import annotations

from llama_index.postprocessor.ogma_rerank.base import OgmaRerank

__version__ = "0.1.0"
__all__ = ["OgmaRerank", "__version__"]
