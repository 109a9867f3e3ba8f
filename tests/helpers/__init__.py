"""Helpers shared by the test suites (tiny models built on the fly)."""
