"""Finding the files to index: known formats, ``--include``/``--exclude`` globs, ignored folders.

Directories are walked recursively. Hidden files and folders (name starting with ``.``,
so ``.git`` too), ``node_modules``, ``__pycache__``, ``site-packages`` and Python virtual
environments (any folder holding ``pyvenv.cfg``) are never entered. A file found in a
directory is taken when its suffix is a known format (:data:`ogma.sources.formats.FORMATS`),
or, when include globs are given, when it matches one of them (an unknown suffix is then
read as plain text). A file named explicitly is always taken unless an exclude glob
matches it. Everything left out is reported with its reason.

Globs use :mod:`fnmatch` (``*`` also matches ``/``). A glob without ``/`` is matched
against the file or folder name, one with ``/`` against the path relative to the
directory given on the command line.

Example:
    >>> from pathlib import Path
    >>> matches("docs/api/index.rst", ["*.rst"]), matches("docs/api/index.rst", ["api/*"])
    (True, False)
    >>> matches("docs/api/index.rst", ["docs/api/*"])
    True
"""

from __future__ import annotations

import fnmatch
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ogma.errors import OgmaError
from ogma.sources.formats import format_of

__all__ = ["IGNORED_DIRS", "Discovery", "SourceFile", "find_files", "matches"]

logger = logging.getLogger(__name__)

IGNORED_DIRS = frozenset({"node_modules", "__pycache__", "site-packages", "__pypackages__"})
"""Folder names never entered (besides hidden folders and virtual environments)."""


class SourcePathError(OgmaError, FileNotFoundError):
    """A path given to index does not exist."""


@dataclass(frozen=True)
class SourceFile:
    """A file to index.

    Attributes:
        path: The resolved path.
        kind: How it is read: ``"text"``, ``"html"``, ``"jsonl"`` or ``"pdf"``.
        size: Size in bytes when found.

    Example:
        >>> SourceFile(Path("/notes/a.md"), "text", 12).kind
        'text'
    """

    path: Path
    kind: str
    size: int


@dataclass
class Discovery:
    """What :func:`find_files` found: the files to index and what it left out, with reasons.

    Example:
        >>> Discovery().files, Discovery().skipped
        ([], [])
    """

    files: list[SourceFile] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)


def matches(relative: str, globs: Sequence[str]) -> bool:
    """Whether a ``/``-separated relative path matches one of ``globs`` (see the module docs)."""
    name = relative.rsplit("/", 1)[-1]
    return any(fnmatch.fnmatchcase(relative if "/" in glob else name, glob.rstrip("/")) for glob in globs)


def _ignored_dir(path: Path, name: str) -> str | None:
    if name.startswith("."):
        return "hidden folder"
    if name in IGNORED_DIRS:
        return f"ignored folder ({name})"
    if (path / "pyvenv.cfg").is_file():
        return "virtual environment"
    return None


def find_files(paths: Sequence[str | Path], *, include: Sequence[str] = (), exclude: Sequence[str] = ()) -> Discovery:
    """The files to index under ``paths``, in a stable order, each once.

    Args:
        paths: Files and directories.
        include: Globs; when given, only files matching one are taken from directories.
        exclude: Globs; matching files and folders are left out (named files too).

    Returns:
        The files, and ``(path, reason)`` for each file or folder left out.

    Raises:
        SourcePathError: A path does not exist (nothing is indexed then).

    Example:
        >>> find_files(["/no/such/folder"])
        Traceback (most recent call last):
        ...
        ogma.sources.discover.SourcePathError: '/no/such/folder' is not a file or directory; give existing paths ...
    """
    found = Discovery()
    seen: set[Path] = set()

    def take(path: Path, kind: str | None, reason: str) -> None:
        resolved = path.resolve()
        if resolved in seen:
            return
        seen.add(resolved)
        if kind is None:
            found.skipped.append((str(path), reason))
            return
        try:
            size = resolved.stat().st_size
        except OSError as exc:
            found.skipped.append((str(path), f"unreadable ({exc.strerror or exc})"))
            return
        found.files.append(SourceFile(resolved, kind, size))

    for raw in paths:
        path = Path(raw)
        if path.is_file():
            if exclude and matches(path.name, exclude):
                take(path, None, "excluded")
            else:
                take(path, format_of(path) or "text", "")
            continue
        if not path.is_dir():
            raise SourcePathError(f"{str(raw)!r} is not a file or directory; give existing paths to index.")

        def unreadable(exc: OSError) -> None:
            found.skipped.append((f"{exc.filename}/", f"unreadable folder ({exc.strerror or exc})"))

        for folder, dirs, names in os.walk(path, onerror=unreadable):
            here = Path(folder)
            relative_dir = here.relative_to(path).as_posix()
            prefix = "" if relative_dir == "." else relative_dir + "/"
            kept = []
            for name in sorted(dirs):
                reason = _ignored_dir(here / name, name)
                if reason is None and exclude and matches(prefix + name, exclude):
                    reason = "excluded"
                if reason is None:
                    kept.append(name)
                else:
                    found.skipped.append((str(here / name) + "/", reason))
            dirs[:] = kept
            for name in sorted(names):
                file = here / name
                relative = prefix + name
                kind = format_of(file)
                if name.startswith("."):
                    take(file, None, "hidden file")
                elif exclude and matches(relative, exclude):
                    take(file, None, "excluded")
                elif include and not matches(relative, include):
                    take(file, None, "not included")
                elif not include and kind is None:
                    take(file, None, f"unsupported type ({file.suffix.lower() or 'no suffix'})")
                elif file.is_file():
                    take(file, kind or "text", "")
                else:
                    take(file, None, "not a regular file")
    return found
