"""The ``OgmaError`` family.

Every error Ogma raises on purpose subclasses :class:`OgmaError`, and where a
builtin exception has the same meaning it is inherited too, so both
``except OgmaError`` and ``except LookupError`` catch a missing model.

Example:
    >>> from ogma.errors import ModelNotFoundError, OgmaError
    >>> issubclass(ModelNotFoundError, LookupError) and issubclass(ModelNotFoundError, OgmaError)
    True
"""

from __future__ import annotations

__all__ = [
    "ConversionError",
    "DatasetError",
    "DuplicateDocumentError",
    "FilterError",
    "FusionError",
    "LicenseWarning",
    "MissingExtraError",
    "ModelFileError",
    "ModelNotFoundError",
    "OfflineError",
    "OgmaError",
    "SqliteDriverError",
    "StoreError",
    "StoreMismatchError",
    "TrustRemoteCodeError",
    "UnsupportedSearchError",
    "UsageError",
]


class OgmaError(Exception):
    """Base class of every error Ogma raises on purpose."""


class ModelNotFoundError(OgmaError, LookupError):
    """A model name or path could not be resolved to model files."""


class OfflineError(ModelNotFoundError):
    """The model is not cached and the hub cannot (or may not) be reached."""


class ModelFileError(OgmaError, ValueError):
    """A model file is missing, unreadable or malformed."""


class ConversionError(OgmaError, ValueError):
    """A checkpoint could not be converted to ONNX."""


class TrustRemoteCodeError(OgmaError, PermissionError):
    """Running a model repository's own Python code needs ``trust_remote_code=True``."""


class MissingExtraError(OgmaError, ImportError):
    """An optional dependency is not installed; the message gives the ``pip install`` fix."""


class StoreError(OgmaError):
    """A store could not be opened, read or written."""


class StoreMismatchError(StoreError, ValueError):
    """A store was opened with a model, dimension or precision it was not built with."""


class UnsupportedSearchError(StoreError, ValueError):
    """A search mode the store's backend cannot run (lexical or hybrid search on a Milvus server before 2.5)."""


class SqliteDriverError(StoreError, RuntimeError):
    """No SQLite driver that can load sqlite-vec is available."""


class DuplicateDocumentError(StoreError, ValueError):
    """Documents with these ids are stored already and the write was asked to fail on them.

    Attributes:
        ids: The ids that exist (in input order).

    Example:
        >>> error = DuplicateDocumentError.for_ids(["a", "b"])
        >>> error.ids, isinstance(error, ValueError)
        (['a', 'b'], True)
    """

    ids: list[str]

    @classmethod
    def for_ids(cls, ids: list[str]) -> DuplicateDocumentError:
        """The error for these existing ids (the message shows at most five)."""
        shown = ", ".join(repr(i[:80]) for i in ids[:5]) + (f" and {len(ids) - 5} more" if len(ids) > 5 else "")
        error = cls(
            f"{len(ids)} document id(s) already stored: {shown}; nothing was written. "
            'Pass on_conflict="replace" to overwrite them or on_conflict="skip" to keep the stored ones'
        )
        error.ids = list(ids)
        return error


class FilterError(OgmaError, ValueError):
    """A metadata filter is malformed."""


class FusionError(OgmaError, ValueError):
    """A hybrid fusion method or option is unknown, out of range, or given where it does not apply."""


class DatasetError(OgmaError, ValueError):
    """An evaluation data set is missing a file or has a malformed line (the message names both)."""


class LicenseWarning(UserWarning):
    """A loaded model's licence restricts its use (e.g. CC-BY-NC-4.0: non-commercial only).

    Emitted once per model per process. Silence it with the standard warnings filter::

        warnings.filterwarnings("ignore", category=ogma.errors.LicenseWarning)
    """


def missing_extra(package: str, extra: str, purpose: str) -> MissingExtraError:
    """Build the error for an optional dependency that is not installed.

    Args:
        package: The importable package that is missing (e.g. ``"torch"``).
        extra: The ``ogma-core`` extra that installs it (e.g. ``"torch"``).
        purpose: What needs it, for the message.

    Returns:
        A :class:`MissingExtraError` whose message gives the exact fix.
    """
    return MissingExtraError(
        f"{purpose} needs the optional dependency {package!r}, which is not installed. "
        f"Install it with: pip install 'ogma-core[{extra}]'"
    )


class UsageError(OgmaError, ValueError):
    """Command-line options that do not fit together (the message names them and the fix)."""
