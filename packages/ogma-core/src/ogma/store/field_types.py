"""Metadata field types, named the same way by every backend.

SQLite's ``json_type`` names (``"integer"``, ``"text"``, ...) map to Python's
(:data:`TYPE_NAMES`); :func:`merge_types` gives each field one type from those seen.

Example:
    >>> merge_types({"n": {"int", "float"}, "s": {"str", "null"}, "x": {"str", "int"}, "z": {"null"}})
    {'n': 'float', 's': 'str', 'x': 'mixed', 'z': 'null'}
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["TYPE_NAMES", "merge_types"]

TYPE_NAMES = {
    "null": "null",
    "true": "bool",
    "false": "bool",
    "integer": "int",
    "real": "float",
    "text": "str",
    "array": "list",
    "object": "dict",
}
"""SQLite ``json_type`` name -> the type name ``metadata_fields`` reports."""


def merge_types(seen: Mapping[str, set[str]]) -> dict[str, str]:
    """Each field's type, by field name: ints and floats make ``float``, other mixes ``mixed``.

    Nulls do not count towards a field's type (``null`` only when nothing else was seen).
    """
    out: dict[str, str] = {}
    for key in sorted(seen):
        kinds = seen[key] - {"null"} or {"null"}
        if kinds == {"int", "float"}:
            out[key] = "float"
        elif len(kinds) == 1:
            out[key] = next(iter(kinds))
        else:
            out[key] = "mixed"
    return out
