"""Errors of the Ogma document store: each is both Haystack's and Ogma's error of that kind.

Code written for Haystack catches Haystack's classes (``FilterError``,
``DuplicateDocumentError``); code written for Ogma catches Ogma's (``ogma.errors``).
Both work, because the store raises classes that inherit from the two.

Example:
    >>> from haystack.errors import FilterError
    >>> import ogma.errors
    >>> issubclass(OgmaFilterError, FilterError) and issubclass(OgmaFilterError, ogma.errors.FilterError)
    True
"""

from __future__ import annotations

from haystack.document_stores.errors import DuplicateDocumentError as HaystackDuplicateDocumentError
from haystack.errors import FilterError as HaystackFilterError

import ogma.errors

__all__ = ["OgmaDuplicateDocumentError", "OgmaFilterError"]


class OgmaFilterError(HaystackFilterError, ogma.errors.FilterError):
    """A Haystack filter is malformed or asks for something the Ogma filter language cannot express.

    A ``haystack.errors.FilterError`` and an ``ogma.errors.FilterError`` (a ``ValueError``).
    """


class OgmaDuplicateDocumentError(HaystackDuplicateDocumentError, ogma.errors.DuplicateDocumentError):
    """``DuplicatePolicy.FAIL`` met ids that are stored already; nothing was written.

    A ``haystack.document_stores.errors.DuplicateDocumentError`` and an
    ``ogma.errors.DuplicateDocumentError`` (a ``ValueError``).

    Attributes:
        ids: The ids that exist (in input order).
    """
