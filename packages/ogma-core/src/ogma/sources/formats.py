"""The file formats ``ogma index`` reads, by suffix.

* ``text``: prose and markup kept as written (``.txt``, ``.md``, ``.rst``, ``.adoc``,
  ``.org``, ``.tex`` …) and source code and configuration (``.py``, ``.js``, ``.ts``,
  ``.go``, ``.rs``, ``.java``, ``.c``, ``.h``, ``.cpp``, ``.rb``, ``.sh``, ``.sql``,
  ``.toml``, ``.yaml``, ``.ini`` …).
* ``html``: ``.html``, ``.htm``, ``.xhtml``, indexed as their visible text.
* ``jsonl``: ``.jsonl``/``.ndjson``, one document per line.
* ``pdf``: ``.pdf``, through the optional ``pypdf`` (``pip install 'ogma-core[pdf]'``).

``.json``, ``.csv``, ``.xml``, ``.ipynb`` and lock files are not taken from folders by
default: they are mostly data, not prose (``--include '*.json'`` takes them as text).

Example:
    >>> from pathlib import Path
    >>> format_of(Path("guide.rst")), format_of(Path("page.HTM")), format_of(Path("photo.png"))
    ('text', 'html', None)
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType
from typing import Final

__all__ = ["CODE_SUFFIXES", "FORMATS", "TEXT_SUFFIXES", "format_of"]

TEXT_SUFFIXES: Final = (
    ".txt", ".text", ".md", ".markdown", ".mdx", ".rst", ".adoc", ".asciidoc", ".org", ".tex",
)  # fmt: skip
CODE_SUFFIXES: Final = (
    ".py", ".pyi", ".js", ".jsx", ".mjs", ".cjs", ".ts", ".tsx", ".go", ".rs", ".java", ".kt", ".scala",
    ".c", ".h", ".cc", ".cpp", ".cxx", ".hpp", ".cs", ".rb", ".php", ".swift", ".m", ".r", ".jl", ".lua",
    ".pl", ".sh", ".bash", ".zsh", ".ps1", ".sql", ".css", ".scss", ".vue", ".svelte",
    ".toml", ".yaml", ".yml", ".ini", ".cfg", ".conf", ".proto", ".graphql",
)  # fmt: skip
FORMATS: Final = MappingProxyType(
    {
        **dict.fromkeys(TEXT_SUFFIXES + CODE_SUFFIXES, "text"),
        **dict.fromkeys((".html", ".htm", ".xhtml"), "html"),
        **dict.fromkeys((".jsonl", ".ndjson"), "jsonl"),
        ".pdf": "pdf",
    }
)
"""Suffix (lower case) -> how the file is read."""


def format_of(path: Path) -> str | None:
    """How a file is read, from its suffix; None for a suffix that is not indexed by default."""
    return FORMATS.get(path.suffix.lower())
