"""Ogma's ranker for Haystack: a local ONNX cross-encoder that reorders retrieved Documents.

Example:
    >>> from haystack_integrations.components.rankers.ogma import OgmaRanker
    >>> OgmaRanker(top_k=5).top_k
    5
"""

from haystack_integrations.components.rankers.ogma.ranker import OgmaRanker

__all__ = ["OgmaRanker"]
