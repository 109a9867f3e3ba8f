"""Ogma for Haystack (being built)."""

__all__: list[str] = []
